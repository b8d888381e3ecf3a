"""An output folder replaced as a whole, or not at all.

A build (``dlexam exam``, ``dlexam grade``) makes every output in memory, writes them into a
hidden temporary folder beside the target (``.<name>.dlexam-XXXXXX``, on the same disk) and
only then swaps it in: one ``renameat2(RENAME_EXCHANGE)`` where Linux has it, two renames
otherwise, with SIGTERM, SIGINT and SIGHUP held back meanwhile; the previous build, now in the
temporary folder, is removed. A full disk, a signal or any error before the swap removes the
temporary folder and leaves the previous outputs complete and untouched, and the message says
so. A folder holds one build: nothing of an earlier build survives beside a new one.

The target must be empty, missing, or hold only what this command writes (so that replacing
it cannot delete anything else); anything else in it is refused before work starts. Two builds
into the same folder swap one after the other (the lock is ``flock`` on the parent folder): the
folder always holds one whole build, the later one.

Only the standard library: this is the lowest layer.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import fcntl
import os
import re
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from dlexam.errors import BuildError, InputError, Said, Terminated, stderr_lang
from dlexam.safeio import os_reason

_HIDDEN_TMP = re.compile(r"^\.[^/]*\.tmp$")  # an interrupted atomic write of an older version
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """SIGTERM, SIGINT and SIGHUP held back (delivered on leaving) in this thread."""
    try:
        old = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    except (AttributeError, OSError, ValueError):  # pragma: no cover - other platforms
        yield
        return
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """An exclusive ``flock`` on ``folder`` (a second process waits, saying so on stderr)."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(Said("files.waiting_beside", folder=str(folder)).said_in(stderr_lang()),
                  file=sys.stderr, flush=True)
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _exchange(a: Path, b: Path) -> bool:
    """Swaps two paths in one step (Linux ``renameat2``); False where that is not available."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (38, 22, 95):  # ENOSYS, EINVAL (the file system cannot), EOPNOTSUPP
        return False
    raise OSError(err, os.strerror(err), str(b))


class OutputFolder:
    """The output folder of one build, checked before work and replaced as a whole at the end.

    Args:
        target: the folder.
        owned: the names (files and folders at the top) this command writes.
        param: the option that named the folder, for messages.
    """

    def __init__(self, target: Path, owned: Iterable[str], param: str = "--out") -> None:
        self.target = Path(target)
        self.owned = frozenset(owned)
        self.param = param

    def foreign(self) -> list[str]:
        """What the target holds that this command did not write (empty when missing)."""
        if not self.target.is_dir() or self.target.is_symlink():
            return []
        return sorted(entry.name for entry in os.scandir(self.target)
                      if entry.name not in self.owned and not _HIDDEN_TMP.match(entry.name))

    def check(self) -> None:
        """Refuses, before any work, a target this build may not replace.

        Raises:
            InputError: the target is a link, the current folder (or holds it), or holds
                something this command did not write.
        """
        target = self.target
        if target.is_symlink():
            raise InputError(self.param, Said("files.not_a_link"),
                             Said("files.a_link", path=str(target)))
        if target.exists() and not target.is_dir():
            raise InputError(self.param, Said("files.folder"),
                             Said("files.a_file", path=str(target)))
        resolved = target.resolve()
        if resolved.parent == resolved:
            raise InputError(self.param, Said("files.not_root"), str(target))
        cwd = Path.cwd().resolve()
        if cwd == resolved or resolved in cwd.parents:
            raise InputError(self.param, Said("files.not_current"), str(target))
        others = self.foreign()
        if others:
            raise InputError(self.param, Said("files.ours"), Said(
                "files.holds_more" if len(others) > 1 else "files.holds", path=str(target),
                name=repr(others[0]), more=len(others) - 1))

    def kept(self) -> str:
        """What the failure left: the previous outputs, or nothing."""
        if self.target.is_dir() and any(self.target.iterdir()):
            return Said("files.kept", folder=str(self.target))
        return Said("files.nothing_written", folder=str(self.target))

    def _stage_and_swap(self, staging: Path, parent: Path, files: dict[str, bytes]) -> None:
        for rel, data in files.items():
            path = staging / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        mask = os.umask(0o022)
        os.umask(mask)
        os.chmod(staging, 0o777 & ~mask)
        with folder_lock(parent), signals_held():
            self.check()
            final = parent / self.target.name
            if not final.exists():
                os.rename(staging, final)
            elif not _exchange(staging, final):
                old = Path(tempfile.mkdtemp(prefix=f".{final.name}.dlexam-old-", dir=parent))
                os.rmdir(old)
                os.rename(final, old)
                try:
                    os.rename(staging, final)
                except BaseException:
                    os.rename(old, final)
                    raise
                os.rename(old, staging)  # removed with the staging folder
            _fsync_folder(parent)

    def write(self, files: dict[str, bytes]) -> list[Path]:
        """Writes ``files`` (paths relative to the folder -> bytes) as the folder's new content.

        Raises:
            BuildError: the disk is full or a file cannot be written (the previous outputs
                kept, and the message says so).
            InputError: the folder changed meanwhile into one this build may not replace.
        """
        target = self.target
        parent = target.resolve().parent
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.dlexam-", dir=parent))
        try:
            self._stage_and_swap(staging, parent, files)
        except OSError as err:
            raise BuildError(Said("files.cannot_write", path=str(err.filename or target),
                                  reason=os_reason(err), kept=self.kept())) from None
        except BaseException as stop:  # Ctrl-C, SIGTERM (raised by the command line)
            if isinstance(stop, (KeyboardInterrupt, Terminated)):
                print(Said("files.stopped", kept=self.kept()).said_in(stderr_lang()),
                      file=sys.stderr, flush=True)
            raise
        finally:
            with signals_held():
                shutil.rmtree(staging, ignore_errors=True)
        return [target / rel for rel in sorted(files)]


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def replace_files(folder: Path, files: dict[str, bytes]) -> list[Path]:
    """Replaces several files of a shared folder together (``dlexam book``'s ``.tex``, PDF and
    log): each is written in full to a temporary file beside its target first; the renames
    come only when all are complete, with SIGTERM, SIGINT and SIGHUP held back.

    Raises:
        BuildError: a file cannot be written (the disk is full): the previous files are kept.
    """
    folder.mkdir(parents=True, exist_ok=True)
    staged: list[tuple[str, Path]] = []
    mask = os.umask(0o022)
    os.umask(mask)
    try:
        try:
            for name, data in files.items():
                fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
                staged.append((tmp, folder / name))
                with os.fdopen(fd, "wb") as fh:
                    os.fchmod(fh.fileno(), 0o666 & ~mask)
                    fh.write(data)
                    fh.flush()
                    os.fsync(fh.fileno())
            with signals_held():
                for tmp, target in staged:
                    if target.is_dir() and not target.is_symlink():
                        target.rmdir()  # an empty folder where the file goes
                    os.replace(tmp, target)
        except OSError as err:
            raise BuildError(Said("files.cannot_write", path=str(err.filename or folder),
                                  reason=os_reason(err),
                                  kept=Said("files.kept_files", folder=str(folder)))) from None
    finally:
        for tmp, _target in staged:
            Path(tmp).unlink(missing_ok=True)
    return [target for _tmp, target in staged]
