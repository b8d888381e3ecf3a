"""The unchanged-rebuild shortcut: answer from the cache before importing SymPy.

A build records a fingerprint of everything its LaTeX source depends on (dlexam's own source
files, templates, catalogs and exam files, the versions of the libraries that shape the output,
the language and the exam). When the fingerprint, the ``.tex`` and the PDF are all as recorded,
nothing is derived, rendered or compiled.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from importlib import metadata
from pathlib import Path

from dlexam.build.files import (
    BOOK_NAME,
    DEFAULT_EXAM,
    BuildReport,
    cache_dir,
    file_digest,
    output_lock,
    read_stamp,
    write_stamp,
)

PACKAGE_DIR = Path(__file__).resolve().parents[1]
_SOURCE_SUFFIXES = (".py", ".toml", ".j2")
_LIBRARIES = ("sympy", "jinja2", "pylatex", "numpy", "markupsafe", "mpmath")


def input_fingerprint(lang: str, exam: str) -> str:
    """A hash of every input of the answer book's LaTeX source."""
    h = hashlib.sha256()
    h.update(f"lang={lang}\nexam={exam}\n".encode())
    for lib in _LIBRARIES:
        try:
            h.update(f"{lib}={metadata.version(lib)}\n".encode())
        except metadata.PackageNotFoundError:
            h.update(f"{lib}=absent\n".encode())
    xelatex = shutil.which("xelatex")
    if xelatex is not None:
        st = Path(xelatex).resolve().stat()
        h.update(f"xelatex={xelatex}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    for path in sorted(PACKAGE_DIR.rglob("*")):
        if path.suffix in _SOURCE_SUFFIXES and "__pycache__" not in path.parts:
            h.update(str(path.relative_to(PACKAGE_DIR)).encode() + b"\0")
            h.update(path.read_bytes())
    return h.hexdigest()


def _stamp_path(out_dir: Path, name: str) -> Path:
    return cache_dir(out_dir) / f"{name}.inputs"


def _current(out_dir: Path, name: str, fingerprint: str) -> str:
    return " ".join(
        [fingerprint, file_digest(out_dir / f"{name}.tex"), file_digest(out_dir / f"{name}.pdf")]
    )


def is_unchanged(out_dir: Path, name: str, fingerprint: str) -> bool:
    """True when the last build had these inputs and its outputs are untouched.

    A stamp or an output that cannot be read (damaged, a folder, a dangling link) means no.
    """
    if file_digest(out_dir / f"{name}.pdf") == "-":
        return False
    return read_stamp(_stamp_path(out_dir, name)) == _current(out_dir, name, fingerprint)


def record(out_dir: Path, name: str, fingerprint: str) -> None:
    """Records the inputs of the build now in ``out_dir``."""
    write_stamp(_stamp_path(out_dir, name), _current(out_dir, name, fingerprint))


def build_book_cached(
    out_dir: Path, lang: str = "bilingual", exam: str = DEFAULT_EXAM
) -> BuildReport:
    """Builds the answer book, or returns at once when nothing it depends on has changed.

    The output folder is locked for the whole build, check included: a second build into the
    same folder waits, so the ``.tex``, the PDF and their stamps always belong together.
    """
    start = time.perf_counter()
    fingerprint = input_fingerprint(lang, exam)
    with output_lock(out_dir):
        if is_unchanged(out_dir, BOOK_NAME, fingerprint):
            return BuildReport(out_dir / f"{BOOK_NAME}.pdf", out_dir / f"{BOOK_NAME}.tex", False,
                               0, time.perf_counter() - start)
        from dlexam.book.build import build_book

        report = build_book(out_dir, lang=lang, exam=exam)
        record(out_dir, BOOK_NAME, fingerprint)
        return report
