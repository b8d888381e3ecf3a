"""``dlexam exam``: an exam file -> variants -> key.json, moodle.xml, papers and keys (PDF).

Everything is computed first (variants, both TeX runs, the per-variant PDFs); only then are the
files written, into a temporary folder swapped in for the output folder as a whole, so a refused
or failed build writes nothing and a rebuild leaves nothing of the previous one.
"""

from __future__ import annotations

import json
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
"""What ``dlexam exam`` writes in its folder (the folder is replaced as a whole)."""


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


def key_json(drawn: Drawn) -> bytes:
    """``key.json``: UTF-8, keys in the documented order, one trailing newline."""
    return (json.dumps(drawn.key(), ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def build_exam(source: str, variants: int, seed: int, out: Path, pdf: bool = True,
               progress: Callable[[int], None] | None = None) -> ExamReport:
    """Builds an exam's outputs into ``out``.

    Raises:
        InputError: the exam file, the count or the seed is refused (nothing written).
        BuildError: TeX failed (nothing written).
    """
    from dlexam.exams.moodle import moodle_xml

    start = time.perf_counter()
    exam = load_exam(source)
    check_counts(exam, variants, seed)
    drawn = build_variants(exam, variants, seed, progress)
    outputs: dict[str, bytes] = {"key.json": key_json(drawn), "moodle.xml": moodle_xml(drawn)}
    if pdf:
        import io

        from pypdf import PdfReader

        from dlexam.exams.papers import compile_both, split_pdf, variant_pages

        codes = [v.code for v in drawn.variants]
        for kind, (run, _src) in compile_both(drawn).items():
            pages = len(PdfReader(io.BytesIO(run.pdf)).pages)
            ranges = variant_pages(run.log, codes, pages)
            outputs[f"{kind}s.pdf"] = run.pdf
            for code, data in split_pdf(run.pdf, ranges).items():
                outputs[f"{kind}s/{kind}-{code}.pdf"] = data
    written = output_folder(out).write(outputs)
    return ExamReport(written, drawn, time.perf_counter() - start)
