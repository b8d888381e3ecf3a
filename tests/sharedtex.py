"""TeX builds shared by the tests of a session (see the ``answer_book`` fixture in conftest.py).

A TeX run costs seconds; a test that only reads a built document asks for the shared one
instead of building its own. The fixture marks every test that uses it with the xdist group
``SHARED``, so that under ``pytest -n 2 --dist loadgroup`` they run in one worker, which builds
each document once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Book:
    """An answer book built for the whole test session: its folder (answer-book.pdf, .tex,
    .log) and the build's report. Tests read it; a test that changes files builds its own."""

    folder: Path
    report: Any

    @property
    def pdf(self) -> Path:
        return self.folder / "answer-book.pdf"


SHARED = "shared-tex"
"""The xdist group of every test that uses a shared TeX build (``answer_book``): with
``-n 2 --dist loadgroup`` they run in one worker, which builds each book once."""
