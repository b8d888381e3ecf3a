"""Running XeLaTeX safely: no shell escape, paranoid file access, a timeout, a fresh directory.

:func:`compile_pdf` turns LaTeX source into PDF bytes or raises :class:`BuildError` with the first
error line of the log and the template the failing line came from.
"""

from __future__ import annotations

import errno
import functools
import os
import queue
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from dlexam.build.files import atomic_write, output_lock
from dlexam.errors import BuildError, Said, raise_if_stopped
from dlexam.lifetime import child_preexec
from dlexam.outfolder import replace_files

# A fixed date for reproducible PDFs when SOURCE_DATE_EPOCH is not set (2026-01-01T00:00:00Z).
DEFAULT_EPOCH = "1767225600"
TIMEOUT_S = 180
"""How long XeLaTeX may go without shipping out a page (its log and PDF not growing) before it
is stopped: a runaway loop writes nothing. A long document (the keys of a thousand variants)
keeps shipping pages, so it may take longer, up to :func:`time_cap`."""
_CAP_S_PER_MB = 600  # the most time a megabyte of source may take, whatever the progress
_PROGRESS_EVERY_S = 1.0


def time_cap(timeout: float, source_bytes: int) -> float:
    """The most a pass over ``source_bytes`` of source may take in all: ``timeout`` and
    :data:`_CAP_S_PER_MB` seconds a megabyte (about 50 times what a pass takes on a busy core),
    so that no input can keep TeX running for ever."""
    return timeout + _CAP_S_PER_MB * source_bytes / 1e6
MAX_PASSES = 3


def system_packages() -> tuple[str, ...]:
    """The Debian packages dlexam needs, from ``dlexam/system-packages.txt``.

    The one list: ``scripts/ensure-system.sh`` installs the same words (outside ``#`` comments).
    """
    text = resources.files("dlexam").joinpath("system-packages.txt").read_text(encoding="utf-8")
    return tuple(word for line in text.splitlines() for word in line.split("#", 1)[0].split())


INSTALL_HINT = "apt-get install --no-install-recommends " + " ".join(system_packages())


@dataclass(frozen=True)
class TexRun:
    """The outcome of a successful compile."""

    pdf: bytes
    log: str
    passes: int


def tex_environment() -> dict[str, str]:
    """The environment every TeX run gets: paranoid file access and a fixed date."""
    env = dict(os.environ)
    env.update(
        {
            "openin_any": "p",
            "openout_any": "p",
            "shell_escape": "f",
            "SOURCE_DATE_EPOCH": os.environ.get("SOURCE_DATE_EPOCH", DEFAULT_EPOCH),
            "FORCE_SOURCE_DATE": "1",
            # one log line per message, so errors can be read back whole
            "max_print_line": "100000",
            "error_line": "254",
            "half_error_line": "238",
        }
    )
    return env


def xelatex_command(jobname: str) -> list[str]:
    """The XeLaTeX command line used for every pass."""
    return [
        "xelatex",
        "-no-shell-escape",
        "-interaction=nonstopmode",
        "-halt-on-error",
        "-file-line-error",
        # the first line is not read twice (once for a %&format line): a source streamed
        # through a pipe can be read only once (see TexStream)
        "-no-parse-first-line",
        f"-jobname={jobname}",
        f"{jobname}.tex",
    ]


def require_xelatex() -> str:
    """The path of xelatex.

    Raises:
        BuildError: xelatex is not installed, with the command that installs it.
    """
    path = shutil.which("xelatex")
    if path is None:
        raise BuildError(Said("build.errors.no_xelatex", command=INSTALL_HINT))
    return path


def _run(cmd: list[str], cwd: Path, timeout: float, jobname: str, source_bytes: int) -> int:
    return _wait(_start(cmd, cwd), timeout, _Progress(cwd, jobname, timeout, source_bytes))


class _Progress:
    """Whether a pass still ships pages: the sizes of its log and PDF, read once a second."""

    def __init__(self, workdir: Path, jobname: str, timeout: float, source_bytes: int) -> None:
        self.files = [workdir / f"{jobname}.log", workdir / f"{jobname}.pdf"]
        self.cap = time.monotonic() + time_cap(timeout, source_bytes)
        self.sizes = self._sizes()
        self.looked = time.monotonic()

    def _sizes(self) -> tuple[int, ...]:
        out = []
        for path in self.files:
            try:
                out.append(path.stat().st_size)
            except OSError:
                out.append(-1)
        return tuple(out)

    def moved(self) -> bool:
        """True when the log or the PDF grew since the last look (at most one a second)."""
        now = time.monotonic()
        if now - self.looked < _PROGRESS_EVERY_S:
            return False
        self.looked = now
        sizes = self._sizes()
        grew, self.sizes = sizes != self.sizes, sizes
        return grew


def _start(cmd: list[str], cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        cmd,
        cwd=cwd,
        env=tex_environment(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=functools.partial(child_preexec, os.getpid()),  # dies with dlexam
    )


def _wait(proc: subprocess.Popen[bytes], timeout: float,
          progress: _Progress | None = None) -> int:
    """TeX's exit status, once it ends; stopped when it has shipped nothing for ``timeout``
    seconds (or, with no ``progress`` to watch, after ``timeout``) or passed its cap."""
    began = time.monotonic()
    deadline = began + timeout
    try:
        while True:  # in steps: a stop signal whose exception was swallowed still stops TeX
            raise_if_stopped()
            try:
                return proc.wait(timeout=max(0.0, min(0.1, deadline - time.monotonic())))
            except subprocess.TimeoutExpired:
                now = time.monotonic()
                if progress is not None and progress.moved():
                    deadline = min(now + timeout, progress.cap)
                if now >= deadline:
                    raise
    except subprocess.TimeoutExpired:
        _stop(proc)
        raise BuildError(Said("build.errors.timeout",
                              seconds=round(time.monotonic() - began))) from None
    except BaseException:  # Ctrl-C, SIGTERM (the command line turns it into an exception), ...
        _stop(proc)
        raise


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Kills xelatex and everything it started (its own session), and reaps it."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


_ERROR_LINE = re.compile(
    r"^(?:\./)?(?P<file>[^:\n]+\.(?:tex|sty|cls)):(?P<line>\d+): (?P<msg>.*)$", re.M
)
_MISSING = re.compile(
    r"Missing character: There is no (?P<ch>.) \((?P<code>U\+[0-9A-F]+)\) in font "
    r"(?P<font>[^\n:;!]+)"
)


def _template_at(source: str, line: int) -> str | None:
    lines = source.splitlines()
    for text in reversed(lines[: max(line, 0)]):
        if text.startswith("% dlexam-template: "):
            return text.removeprefix("% dlexam-template: ").strip()
    return None


def explain_failure(log: str, source: str, jobname: str) -> str:
    """One line saying what went wrong in a failed TeX run, and which template it came from."""
    missing = _MISSING.search(log)
    if missing:
        return Said("build.errors.glyph", char=repr(missing["ch"]), code=missing["code"],
                    font=missing["font"].strip())
    match = _ERROR_LINE.search(log)
    if match:
        if Path(match["file"]).name == f"{jobname}.tex":
            template = _template_at(source, int(match["line"]))
            if template:
                return Said("build.errors.tex_template", message=match["msg"].strip(),
                            line=match["line"], template=template)
            return Said("build.errors.tex_line", message=match["msg"].strip(),
                        line=match["line"])
        return Said("build.errors.tex", message=match["msg"].strip())
    bang = re.search(r"^! (.*)$", log, re.M)
    if bang:
        return Said("build.errors.tex", message=bang.group(1).strip())
    # the last few lines of the log say where TeX stopped (e.g. "Emergency stop", a capacity)
    last = [line.strip() for line in log.splitlines() if line.strip()][-_TAIL_LINES:]
    tail = " | ".join(last)
    if len(tail) > _TAIL_CHARS:
        tail = "..." + tail[-_TAIL_CHARS:]
    if not tail:
        return Said("build.errors.no_log")
    return Said("build.errors.log_ends", tail=tail)


def keep_log(err: BuildError, log_path: Path) -> BuildError:
    """Writes a failed run's log to ``log_path``; the same error, now naming the log.

    When TeX left no log, nothing is written and the error is returned as it was; a log that
    cannot be written is not named.
    """
    if not err.log:
        return err
    try:
        atomic_write(log_path, err.log.encode("utf-8"))
    except OSError:
        return err
    return BuildError(Said("build.errors.with_log", error=err.args[0], log=str(log_path)),
                      log=err.log)


_TAIL_LINES = 3
_TAIL_CHARS = 300

_RERUN = re.compile(r"Rerun to get|Label\(s\) may have changed|There were undefined references")


def needs_rerun(log: str) -> bool:
    """True when LaTeX says another pass would change the output (references, contents)."""
    return bool(_RERUN.search(log))


def compile_pdf(source: str, jobname: str = "document", timeout: float = TIMEOUT_S) -> TexRun:
    """Compiles LaTeX source with XeLaTeX in a fresh temporary directory.

    One pass is enough for our documents (their contents list uses links, not page references,
    and bookmarks come from the ``bookmark`` package in the same pass); another pass runs only
    when LaTeX asks for one, at most three in all.

    Raises:
        BuildError: xelatex is missing, failed, timed out, or gave a PDF that does not open.
    """
    require_xelatex()
    with tempfile.TemporaryDirectory(prefix="dlexam-tex-") as tmp:
        workdir = Path(tmp)
        (workdir / f"{jobname}.tex").write_text(source, encoding="utf-8")
        log = _checked_log(_run(xelatex_command(jobname), workdir, timeout, jobname,
                                len(source.encode("utf-8"))), workdir, jobname, source)
        return _finish(workdir, jobname, source, log, timeout)


def _checked_log(code: int, workdir: Path, jobname: str, source: str) -> str:
    """The log of a pass that ended with ``code``; a BuildError saying why when it failed."""
    log_path = workdir / f"{jobname}.log"
    log = log_path.read_text("utf-8", errors="replace") if log_path.exists() else ""
    if code != 0:
        raise BuildError(explain_failure(log, source, jobname), log=log)
    return log


def _finish(workdir: Path, jobname: str, source: str, log: str, timeout: float) -> TexRun:
    """After a successful first pass: more passes while LaTeX asks (at most three in all, from
    ``jobname.tex`` in ``workdir``), then the PDF, checked."""
    passes = 1
    while passes < MAX_PASSES and needs_rerun(log):
        passes += 1
        log = _checked_log(_run(xelatex_command(jobname), workdir, timeout, jobname,
                                len(source.encode("utf-8"))), workdir, jobname, source)
    pdf_path = workdir / f"{jobname}.pdf"
    if not pdf_path.exists():
        raise BuildError(Said("build.errors.no_pdf"))
    pdf = pdf_path.read_bytes()
    problem = pdf_problem(pdf)
    if problem is not None:
        raise BuildError(Said("build.errors.damaged", problem=problem), log=log)
    _record(jobname, log, pdf)
    return TexRun(pdf=pdf, log=log, passes=passes)


_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


class TexStream:
    """One XeLaTeX pass that starts before its source is complete: TeX loads its format,
    packages and fonts while the caller still derives and renders the rest.

    The source goes to TeX through a named pipe in TeX's fresh folder, written by a thread as
    :meth:`write` is given it, so a caller is never held up by TeX reading slowly. The PDF is
    the one a file holding the whole source gives (the same bytes: TeX reads the same
    characters; a byte-order mark first in the pipe makes XeTeX read it from the start without
    the rewind a pipe cannot do). When LaTeX asks for another pass, it reads the source from a
    file. :meth:`finish` gives the run, :meth:`abort` stops TeX; use it as a context manager so
    that an error or a signal never leaves TeX running.
    """

    def __init__(self, jobname: str = "document", timeout: float = TIMEOUT_S) -> None:
        require_xelatex()
        self.jobname = jobname
        self.timeout = timeout
        self.parts: list[str] = []
        self._tmp = tempfile.TemporaryDirectory(prefix="dlexam-tex-")
        self.workdir = Path(self._tmp.name)
        self._pipe = self.workdir / f"{jobname}.tex"
        os.mkfifo(self._pipe, 0o600)
        self._queue: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._queue.put("\ufeff".encode())
        self._stopped = threading.Event()
        proc = None
        try:
            # a stop signal waits while TeX starts (it would leave a TeX this object never
            # held running) and arrives just after, here, where TeX is stopped
            held = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
            try:
                proc = _start(xelatex_command(jobname), self.workdir)
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, held)
            self.proc = proc
            self._writer = threading.Thread(target=self._feed, name="dlexam-tex-feed",
                                            daemon=True)
            self._writer.start()
        except BaseException:
            self._stopped.set()
            if proc is not None:
                _stop(proc)
            self._tmp.cleanup()
            raise

    def __enter__(self) -> TexStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.abort()

    @property
    def source(self) -> str:
        """The source written so far."""
        return "".join(self.parts)

    def write(self, text: str) -> None:
        """Appends ``text`` to the source (TeX reads it when it gets there)."""
        raise_if_stopped()
        self.parts.append(text)
        self._queue.put(text.encode("utf-8"))

    def failed(self) -> bool:
        """True when TeX has already stopped with an error (the rest need not be made)."""
        code = self.proc.poll()
        return code is not None and code != 0

    def _feed(self) -> None:
        fd = -1
        try:
            while fd < 0:  # TeX opens the pipe once its format is loaded
                try:
                    fd = os.open(self._pipe, os.O_WRONLY | os.O_NONBLOCK)
                except OSError as err:
                    if err.errno != errno.ENXIO:  # ENXIO: not opened by TeX yet
                        _stop(self.proc)  # it would wait for the pipe forever
                        return
                    if self.proc.poll() is not None or self._stopped.is_set():
                        return
                    time.sleep(0.002)
            os.set_blocking(fd, True)
            while (data := self._queue.get()) is not None:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
        except OSError:  # TeX stopped reading (an error, or stopped by abort): it says why
            pass
        finally:
            if fd >= 0:
                os.close(fd)

    def finish(self) -> TexRun:
        """Ends the source, waits for TeX and returns its run.

        Raises:
            BuildError: TeX failed, timed out, or gave a PDF that does not open.
        """
        self._queue.put(None)
        import pypdf  # noqa: F401  (for pdf_problem: imported while TeX still works)

        source = self.source
        code = _wait(self.proc, self.timeout,
                     _Progress(self.workdir, self.jobname, self.timeout,
                               len(source.encode("utf-8"))))
        self._writer.join()
        log = _checked_log(code, self.workdir, self.jobname, source)
        self._pipe.unlink()
        self._pipe.write_text(source, encoding="utf-8")  # for another pass, if LaTeX asks
        return _finish(self.workdir, self.jobname, source, log, self.timeout)

    def abort(self) -> None:
        """Stops TeX (when running) and removes its folder."""
        self._stopped.set()
        if self.proc.returncode is None:
            _stop(self.proc)
        self._queue.put(None)
        self._writer.join()
        self._tmp.cleanup()



RECORD_ENV = "DLEXAM_TEX_RECORD"
"""When this names a folder, every successful compile leaves a copy of its log and PDF there
(``<jobname>-<pid>-<n>.log`` / ``.pdf``): the test suite reads back every document it makes
(overfull lines in the log, text outside the text block on the pages)."""

_recorded = 0


def _record(jobname: str, log: str, pdf: bytes) -> None:
    global _recorded
    folder = os.environ.get(RECORD_ENV)
    if not folder:
        return
    _recorded += 1
    stem = Path(folder) / f"{jobname}-{os.getpid()}-{threading.get_ident()}-{_recorded}"
    stem.with_suffix(".pdf").write_bytes(pdf)
    stem.with_suffix(".log").write_text(log, encoding="utf-8")  # last: the pair is complete


def pdf_problem(pdf: bytes) -> str | None:
    """Why ``pdf`` would not open in a reader, or None when it opens and has pages.

    A header and an ``%%EOF`` are not enough: a PDF can have both and a cross-reference table
    pointing nowhere. pypdf reads it the way a viewer would (the trailer, the catalogue, the
    page tree); its own complaints about repairable details are not errors here.
    """
    if not pdf.startswith(b"%PDF-") or b"%%EOF" not in pdf[-1024:]:
        return Said("build.errors.no_header")
    import io
    import logging

    from pypdf import PdfReader

    logger = logging.getLogger("pypdf")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        pages = len(PdfReader(io.BytesIO(pdf), strict=False).pages)
    except Exception as err:  # pypdf raises many kinds of error for a damaged file
        return Said("build.errors.does_not_open", kind=type(err).__name__)
    finally:
        logger.setLevel(level)
    return None if pages > 0 else Said("build.errors.no_pages")


def write_document(source: str, pdf_path: Path, jobname: str) -> Path:
    """Compiles a standalone document and writes its PDF atomically to ``pdf_path``, the folder
    locked meanwhile. When TeX fails, its log is kept beside where the PDF would have gone
    (``x.pdf`` -> ``x.log``) and the error names it; a previous PDF is left as it was.

    Raises:
        BuildError: TeX failed.
    """
    with output_lock(pdf_path.parent):
        try:
            run = compile_pdf(source, jobname=jobname)
        except BuildError as err:
            raise keep_log(err, pdf_path.with_suffix(".log")) from None
        replace_files(pdf_path.parent, {pdf_path.name: run.pdf})  # a full disk: the old one kept
    return pdf_path
