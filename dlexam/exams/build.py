"""``dlexam exam``: an exam file -> variants -> key.json, moodle.xml, papers and keys (PDF).

Everything is computed first (variants, both TeX runs, the per-variant PDFs); only then are the
files written, each atomically, under the output folder's lock, so a refused or failed build
writes nothing.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from dlexam.build.files import atomic_write, output_lock
from dlexam.exams.model import load_exam
from dlexam.exams.variants import Drawn, build_variants, check_counts


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
    outputs: dict[Path, bytes] = {out / "key.json": key_json(drawn),
                                  out / "moodle.xml": moodle_xml(drawn)}
    if pdf:
        import io

        from pypdf import PdfReader

        from dlexam.exams.papers import compile_both, split_pdf, variant_pages

        codes = [v.code for v in drawn.variants]
        for kind, (run, _src) in compile_both(drawn).items():
            pages = len(PdfReader(io.BytesIO(run.pdf)).pages)
            ranges = variant_pages(run.log, codes, pages)
            outputs[out / f"{kind}s.pdf"] = run.pdf
            for code, data in split_pdf(run.pdf, ranges).items():
                outputs[out / f"{kind}s" / f"{kind}-{code}.pdf"] = data
    out.mkdir(parents=True, exist_ok=True)
    with output_lock(out):
        for path, data in outputs.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(path, data)
    return ExamReport(sorted(outputs), drawn, time.perf_counter() - start)
