"""Output files: their names, checks, atomic writes, the build lock and the content-hash cache.

Kept free of SymPy and templates, so that bad output paths are refused and the unchanged-rebuild
shortcut answers before anything expensive is imported.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dlexam.errors import InputError, Said, stderr_lang

BOOK_NAME = "answer-book"
DEFAULT_EXAM = "final2023"
# what a book build writes in its output folder, besides the hidden cache
BOOK_SUFFIXES = (".pdf", ".tex", ".log")


@dataclass(frozen=True)
class BuildReport:
    """What a build did."""

    pdf: Path
    tex: Path
    ran_tex: bool
    passes: int
    seconds: float


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _clear_empty_folder(path: Path) -> None:
    """Removes an empty folder standing where a file is to be written (a non-empty one stays)."""
    if path.is_dir() and not path.is_symlink():
        path.rmdir()


def atomic_write(path: Path, data: bytes) -> None:
    """Writes ``data`` to ``path`` so that readers see the old file or the new one, never half.

    The file gets the mode a plain ``open()`` would give it (0666 less the umask), not the
    0600 of the temporary file it is written through.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    _clear_empty_folder(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), 0o666 & ~_umask())
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# --- output paths, checked before any work ---------------------------------------------------


def _nearest_existing(path: Path) -> Path:
    """``path`` or its closest ancestor that exists (or is a link, even a dangling one)."""
    for candidate in (path, *path.parents):
        if candidate.exists() or candidate.is_symlink():
            return candidate
    return Path(".")


def _check_folder(path: Path, param: str) -> None:
    """Raises InputError unless ``path`` is, or can be made, a folder dlexam can write in."""
    existing = _nearest_existing(path)
    if existing.is_symlink() and not existing.exists():
        raise InputError(param, Said("files.folder"), Said("files.dangling", path=str(existing)))
    if not existing.is_dir():
        raise InputError(param, Said("files.folder"), Said("files.a_file", path=str(existing)))
    if not os.access(existing, os.W_OK | os.X_OK):
        raise InputError(param, Said("files.writable_folder"),
                         Said("files.read_only", path=str(existing)))


def check_output_folder(text: str, param: str = "--out") -> Path:
    """The output folder named by ``text``, checked before any work.

    Raises:
        InputError: the name is empty, names a file, or a folder that cannot be written.
    """
    if not text.strip():
        raise InputError(param, Said("files.folder_name"), Said("files.empty_name"))
    path = Path(text)
    _check_folder(path, param)
    return path


def check_book_outputs(out_dir: Path, name: str = BOOK_NAME, param: str = "--out") -> None:
    """Refuses a build whose outputs would replace a folder that holds something.

    Raises:
        InputError: ``name.pdf``, ``.tex`` or ``.log`` in ``out_dir`` is a non-empty folder.
    """
    for suffix in BOOK_SUFFIXES:
        target = out_dir / f"{name}{suffix}"
        if target.is_dir() and not target.is_symlink() and any(target.iterdir()):
            raise InputError(param, Said("files.replaceable", path=str(target)),
                             Said("files.full_folder"))


def check_pdf_file(text: str, param: str = "--pdf") -> Path:
    """The PDF file named by ``text``, checked before any work.

    Raises:
        InputError: the name is empty, is a folder, does not end in ``.pdf``, or its folder
            is a file or cannot be written.
    """
    if not text.strip():
        raise InputError(param, Said("files.pdf_name"), Said("files.empty_name"))
    path = Path(text)
    if path.is_dir() or text.endswith(("/", os.sep)):
        raise InputError(param, Said("files.pdf_name"), Said("files.the_folder", path=text))
    if path.suffix.lower() != ".pdf":
        raise InputError(param, Said("files.pdf_suffix"), text)
    _check_folder(path.parent, param)
    return path


# --- one build at a time per output folder ----------------------------------------------------

_HELD: dict[str, int] = {}


@contextlib.contextmanager
def output_lock(folder: Path) -> Iterator[None]:
    """Holds an exclusive lock on ``folder`` for one build (``flock`` on the folder itself).

    A second dlexam building into the same folder waits, saying so on stderr, so that the
    ``.tex``, the PDF and the cache stamps always come from one build. The lock is re-entrant
    within a process and leaves no file behind; it is released when the process ends.
    """
    folder.mkdir(parents=True, exist_ok=True)
    key = str(folder.resolve())
    if key in _HELD:
        _HELD[key] += 1
        try:
            yield
        finally:
            _HELD[key] -= 1
        return
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(Said("files.waiting", folder=str(folder)).said_in(stderr_lang()),
                  file=sys.stderr, flush=True)
            fcntl.flock(fd, fcntl.LOCK_EX)
        _HELD[key] = 1
        try:
            yield
        finally:
            del _HELD[key]
    finally:
        os.close(fd)  # closing the last descriptor releases the lock


# --- the cache: stamps in out/.cache, any of which may be damaged ------------------------------


def cache_dir(out_dir: Path) -> Path:
    """``out_dir/.cache``."""
    return out_dir / ".cache"


def read_stamp(path: Path) -> str | None:
    """A stamp's text, or None when it is missing or cannot be read (a cache miss)."""
    try:
        return path.read_bytes().decode("ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None


def write_stamp(path: Path, text: str) -> None:
    """Writes a stamp, first repairing a cache folder that is a file, a dangling link, or a
    stamp that is a folder."""
    folder = path.parent
    if folder.is_symlink() and not folder.exists():
        folder.unlink()
    elif folder.exists() and not folder.is_dir():
        folder.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    atomic_write(path, text.encode("ascii"))


def file_digest(path: Path) -> str:
    """The SHA-256 of a file, or ``-`` when it is missing or cannot be read."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return "-"


def content_key(source: str, **options: Any) -> str:
    """A hash of everything a PDF depends on: the LaTeX source and the build options."""
    h = hashlib.sha256()
    h.update(source.encode("utf-8"))
    h.update(json.dumps(options, sort_keys=True).encode("utf-8"))
    return h.hexdigest()


class BuildCache:
    """Remembers which content hash produced the PDF now at a path (``out/.cache/``).

    A stamp that cannot be read is a cache miss; the next record repairs it.
    """

    def __init__(self, out_dir: Path) -> None:
        self.dir = cache_dir(out_dir)

    def _stamp(self, target: Path) -> Path:
        return self.dir / f"{target.name}.key"

    def is_fresh(self, target: Path, key: str) -> bool:
        """True when ``target`` exists, untouched, and was built from content with this key."""
        digest = file_digest(target)
        if digest == "-":
            return False
        return read_stamp(self._stamp(target)) == f"{key} {digest}"

    def holds_a_build(self, target: Path) -> bool:
        """True when ``target`` exists, untouched since a build recorded it (of any key)."""
        stamp = read_stamp(self._stamp(target))
        return stamp is not None and stamp.endswith(f" {file_digest(target)}")

    def record(self, target: Path, key: str) -> None:
        """Records that ``target`` now holds the build of ``key``."""
        write_stamp(self._stamp(target), f"{key} {file_digest(target)}")
