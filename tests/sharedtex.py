"""TeX builds shared by the tests of a session (see the ``answer_book`` fixture in conftest.py).

A TeX run costs seconds; a test that only reads a built document asks for the shared one
instead of building its own. Under ``pytest -n 2 --dist loadgroup`` the test files that use it
run in one worker (the group ``SHARED``), which builds each document once; a file that declares
a module-scoped fixture (an exam built once for the module) runs in one worker too; every other
test goes to whichever worker is free.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Book:
    """An answer book built for the whole test session: its folder (answer-book.pdf, .tex,
    .log) and the build's report. Tests read it; a test that changes files builds its own."""

    folder: Path
    report: Any
    renders: tuple[Any, ...] = ()
    """The ``pages`` given to each rendering of the book's source during the build (``None``:
    the shipped page table): a cold build that matched the table renders it once."""

    @property
    def pdf(self) -> Path:
        return self.folder / "answer-book.pdf"


SHARED = "shared-tex"
"""The worker group of every test file that uses a shared TeX build (``answer_book``)."""

LARGEST = "largest-exam"
"""The worker group of the test files that read the shared build of bench/exams/largest.toml
(``largest_exam``)."""


@dataclass(frozen=True)
class Exam:
    """An exam built for the whole test session (see the ``largest_exam`` fixture): its exam
    file, its output folder, the CLI's exit status and the overflows TeX's record showed."""

    source: Path
    out: Path
    code: int
    overflows: tuple[str, ...] = ()

def overflows_of(build: Callable[[], T]) -> tuple[T, tuple[str, ...]]:
    """Runs ``build`` (a TeX build of a session- or module-scoped fixture, made before the
    per-test check of conftest.py's ``_every_pdf_fits`` looks) and what the suite's TeX record
    shows of the PDFs it made: each overflow (TeX's ``Overfull \\hbox``, a word outside the text
    block), the record's files removed as that check removes them."""
    from texfit import problems

    from dlexam.build.tex import RECORD_ENV

    record = Path(os.environ[RECORD_ENV])
    before = set(record.glob("*.log"))
    value = build()
    found: list[str] = []
    for log in sorted(set(record.glob("*.log")) - before):
        found += [f"{log.stem}: {p}" for p in problems(log)]
        log.with_suffix(".pdf").unlink(missing_ok=True)
        log.unlink()
    return value, tuple(found)


_MODULE_FIXTURE = re.compile(r"@pytest\.fixture\(scope=\"(?:module|class)\"")


def file_groups(tests: Path) -> dict[str, str]:
    """Each test file that must run in one worker, and its group: ``SHARED`` for the files that
    use ``answer_book``, ``LARGEST`` for those that use ``largest_exam``, the file itself for
    one that declares a module-scoped fixture."""
    groups: dict[str, str] = {}
    for path in sorted(tests.glob("test_*.py")):
        source = path.read_text("utf-8")
        name = f"{tests.name}/{path.name}"
        if "answer_book" in source:
            groups[name] = SHARED
        elif "largest_exam" in source:
            groups[name] = LARGEST
        elif _MODULE_FIXTURE.search(source):
            groups[name] = name
    return groups


BY_DERIVATION = {"tests/test_contract.py", "tests/test_plans.py"}
"""Files whose tests of one derivation share that derivation's runs (a cache in the module):
they run in one worker, which runs the derivation once per sample."""


BY_DOCUMENT = re.compile(r"\[(sheets\d+)-")
"""A test that reads one document of several (tests/test_fit.py's sheets, typeset a few
derivations to a document): its id begins with the document's name, and the tests of one
document run in one worker, which typesets it once."""


def scope_of(nodeid: str, groups: dict[str, str]) -> str:
    """The scheduling scope of a test: its file's group, its file and derivation (the
    parameter of a test of :data:`BY_DERIVATION`), its file and document
    (:data:`BY_DOCUMENT`), or the test itself."""
    path = nodeid.split("::", 1)[0]
    if path in BY_DERIVATION and nodeid.endswith("]"):
        return f"{path}::[{nodeid.rsplit('[', 1)[1]}"
    document = BY_DOCUMENT.search(nodeid)
    if document is not None:
        return f"{path}::{document[1]}"
    return groups.get(path, nodeid)
