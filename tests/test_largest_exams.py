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

from dlexam.cli import main

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


def test_simplified_chinese_papers_and_keys_at_the_largest_sizes_fit(tmp_path: Path) -> None:
    """The same exam in zh-Hans alone (a document of one language: its own headers, words and
    widths), held to the same record; every matrix three rows tall or more on a line of its
    own, so no line of the paper opens with a full stop or a comma."""
    source = LARGEST.read_text("utf-8").replace(
        'zh-Hant = "基準：最大的尺寸" }',
        'zh-Hant = "基準：最大的尺寸", zh-Hans = "基准：最大的尺寸" }',
    ).replace('zh-Hant = "深度學習" }', 'zh-Hant = "深度學習", zh-Hans = "深度学习" }')
    exam = tmp_path / "largest.toml"
    exam.write_text(source, encoding="utf-8")
    out = tmp_path / "o"
    assert main(["exam", str(exam), "--variants", "1", "--seed", "1", "--out", str(out),
                 "--formats", "papers,keys", "--lang", "zh-Hans"]) == 0
    papers, keys = _text(out / "papers.pdf"), _text(out / "keys.pdf")
    questions = len(re.findall(r"^\[\[questions\]\]", source, re.M))
    for n in range(1, questions + 1):
        assert f"第 {n} 题" in papers and "Question" not in papers, n
    assert "57 到第 64 列" in keys and "columns" not in keys
    # a word at the left edge of the text block (a line's start) that opens with punctuation
    bbox = subprocess.run(["pdftotext", "-bbox", str(out / "papers.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout
    words = re.findall(r'<word xMin="([\d.]+)"[^>]*>([^<]*)</word>', bbox)
    left = min(float(x) for x, _ in words)
    opening = [w for x, w in words if float(x) < left + 2 and w[:1] in ("。", "，", "、", ",")]
    assert opening == [], opening
