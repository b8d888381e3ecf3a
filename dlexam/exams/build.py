"""``dlexam exam``: an exam file -> variants -> the writers' outputs (papers and keys as PDF,
key.json, moodle.xml: :mod:`dlexam.exams.writers`).

Everything is computed first (variants, both TeX runs, the per-variant PDFs); only then are the
files written, into a temporary folder swapped in for the output folder as a whole, so a refused
or failed build writes nothing and a rebuild leaves nothing of the previous one.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from dlexam.exams.model import load_exam
from dlexam.exams.variants import Drawn, build_variants, check_counts
from dlexam.outfolder import OutputFolder

OWNED = ("key.json", "moodle.xml", "papers.pdf", "keys.pdf", "papers", "keys")
"""What the exam writers write in their folder (the folder is replaced as a whole; a new
writer's files are named here too)."""


def output_folder(out: Path) -> OutputFolder:
    """The exam's output folder, replaced as a whole (see :mod:`dlexam.outfolder`)."""
    return OutputFolder(out, OWNED)


@dataclass
class ExamReport:
    """What a build wrote and how long it took."""

    files: list[Path]
    drawn: Drawn
    seconds: float


class Progress:
    """A progress bar on a terminal's stderr, nothing when stderr is not a terminal.

    A dozen lines of our own: a dependency (tqdm, rich) would be the only place dlexam needs one.
    """

    def __init__(self, total: int, label: str, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.on = hasattr(self.stream, "isatty") and self.stream.isatty() and total > 1
        self.total, self.label, self.done = total, label, 0

    def __call__(self, step: int) -> None:
        self.done += step
        if self.on:
            filled = int(30 * self.done / self.total)
            self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (30 - filled)}] "
                              f"{self.done}/{self.total}")
            if self.done >= self.total:
                self.stream.write("\n")
            self.stream.flush()


def build_exam(source: str, variants: int, seed: int, out: Path, pdf: bool = True,
               progress: Callable[[int], None] | None = None,
               formats: str | None = None, lang: str | None = None) -> ExamReport:
    """Builds an exam's outputs into ``out``: those of the writers ``formats`` names
    (comma-separated, :data:`~dlexam.exams.writers.WRITERS`), by default all of them, or
    without ``pdf`` those that run no TeX; ``lang`` replaces the exam file's languages.

    Raises:
        InputError: the exam file, the count, the seed or a format is refused (nothing
            written).
        BuildError: TeX failed (nothing written).
    """
    from dlexam.exams.writers import chosen, write_all

    start = time.perf_counter()
    writers = chosen(formats, pdf)
    exam = load_exam(source, lang)
    check_counts(exam, variants, seed)
    if isinstance(progress, Progress):  # the bar covers every phase: variants, then each
        progress.total += 2 * len(writers)  # writer's rendering and its TeX run or file
    drawn = build_variants(exam, variants, seed, progress)
    files = dict(write_all(drawn, writers, progress))
    written = output_folder(out).write(files)  # the folder replaced as a whole
    return ExamReport(written, drawn, time.perf_counter() - start)
