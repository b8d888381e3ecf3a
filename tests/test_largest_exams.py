"""Exam papers and keys at the largest sizes an exam file may draw (bench/exams/largest.toml: an
RNN of 20 steps, a 3-channel 8 x 8 convolution, attention over 10 tokens, 6 x 64 logits, an MLP
8 wide), built as `dlexam exam` builds them and read back. The suite's TeX record
(tests/texfit.py, from tests/conftest.py) holds both PDFs to TeX's verdict (no Overfull \\hbox
over 1 pt) and to the text block (every word inside it): the build is the session's
(``largest_exam``), checked where it is built."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from sharedtex import Exam

# left out of the fast lane (make check): make test runs it
pytestmark = pytest.mark.slow

LARGEST = Path(__file__).resolve().parents[1] / "bench" / "exams" / "largest.toml"


def _text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout


def test_papers_and_keys_at_the_largest_sizes_fit(largest_exam: Exam) -> None:
    """The session's build of the file (``largest_exam`` in conftest.py: two variants of seed 1,
    every writer, the build test_bench.py reads too)."""
    out = largest_exam.out
    assert largest_exam.code == 0
    assert largest_exam.overflows == ()  # TeX's verdict and the text block, on both PDFs
    papers, keys = _text(out / "papers.pdf"), _text(out / "keys.pdf")
    questions = len(re.findall(r"^\[\[questions\]\]", LARGEST.read_text("utf-8"), re.M))
    for n in range(1, questions + 1):
        assert f"Question {n} " in papers and f"第 {n} 題" in papers, n
    # the 6 x 64 gradient of the softmax question is set in blocks of columns, not shrunk
    assert "columns 57 to 64:" in keys and "第 57 到第 64 行" in keys
