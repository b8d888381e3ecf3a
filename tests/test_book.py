"""The answer book as a reader gets it: the PDF read back per language, checked independently.

Expected numbers are computed here with NumPy (or are the exam's and the literature's published
values), not taken from dlexam's output.
"""

from __future__ import annotations

import math
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from dlexam.build.book import build_book, render_book

pytestmark = pytest.mark.tex

GOLDEN = Path(__file__).parent / "golden"


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def rnn_outputs(x: list[float], b: list[float], row: bool) -> list[float]:
    u, v, c = np.array([0.5, 0.6]), np.array([1.0, 2.0]), 0.1
    w = np.array([[0.1, 0.2], [0.3, 0.4]])
    h = np.zeros(2)
    ys = []
    for xt in x:
        h = np.tanh(u * xt + (h @ w if row else w @ h) + np.array(b))
        ys.append(float(v @ h + c))
    return ys


def fmt(value: float, digits: int = 4) -> str:
    return f"{value:.{digits}f}".rstrip("0").rstrip(".")


@pytest.fixture(scope="module")
def books(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, str]]:
    out = {}
    for lang in ("bilingual", "en", "zh-Hant"):
        folder = tmp_path_factory.mktemp(lang)
        report = build_book(folder, lang=lang)
        out[lang] = (pdf_text(report.pdf), (folder / "answer-book.log").read_text("utf-8"))
    return out


def test_every_question_is_answered_with_its_numbers(books: dict[str, tuple[str, str]]) -> None:
    text = books["bilingual"][0]
    # Q1: the gates by name, both languages
    for word in ["forget gate", "input gate", "output gate", "遺忘門", "輸入門", "輸出門"]:
        assert word in text
    # Q2: the exam's W has sigma_max ~0.5465; the terms of the notes
    sigma = np.linalg.svd(np.array([[0.1, 0.2], [0.3, 0.4]]), compute_uv=False)[0]
    assert fmt(sigma) in text
    for word in ["梯度消失", "梯度爆炸", "梯度截斷"]:
        assert word in text
    # Q3: the example's tokens and weights
    for word in ["湯姆", "追逐", "傑瑞", "Tom", "Jerry", "注意力"]:
        assert word in text
    # Q4: both conventions, and the textbook's published outputs 1.56128 and 2.72707
    column = rnn_outputs([2, 3], [1.0, -1.0], row=False)
    row = rnn_outputs([2, 3], [1.0, -1.0], row=True)
    assert abs(column[0] - row[0]) < 1e-12 and abs(column[1] - row[1]) > 0.01
    for value in [column[0], column[1], row[1], 1.56128, 2.72707]:
        assert fmt(value) in text, value
    # Q5: Keras and PyTorch counts
    for number in ["3840", "7320", "11191", "3960", "7440"]:
        assert number in text
    # Q6: 112 and 96 over sqrt(64) = 8 -> 14 and 12 -> softmax 0.8808 / 0.1192
    weight = math.exp(2) / (1 + math.exp(2))
    assert fmt(weight) in text and fmt(1 - weight) in text
    # beyond: the exam table's shapes
    assert "5 × 12" in text and "自注意力" in text
    # the derivations typeset their shapes: 5 × 12, the times sign of the math font
    assert "5 × 12" in text


def test_no_overfull_lines_or_missing_glyphs(books: dict[str, tuple[str, str]]) -> None:
    for lang, (_text, log) in books.items():
        assert "Overfull \\hbox" not in log, lang
        assert "Missing character" not in log, lang


def test_single_language_books_hold_one_language(books: dict[str, tuple[str, str]]) -> None:
    en, zh = books["en"][0], books["zh-Hant"][0]
    assert "Answer" in en and "解答" not in en and "遺忘門" not in en
    assert "解答" in zh and "遺忘門" in zh and "Answer /" not in zh


@pytest.mark.parametrize("lang", ["en", "zh-Hant", "bilingual"])
def test_golden_tex(lang: str) -> None:
    """The whole document's LaTeX, per language. Regenerate after a deliberate change with
    DLEXAM_UPDATE_GOLDEN=1 and read the diff before committing it."""
    golden = GOLDEN / f"answer-book.{lang}.tex"
    source = render_book(lang)
    if os.environ.get("DLEXAM_UPDATE_GOLDEN") == "1":
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(source, encoding="utf-8")
    assert source == golden.read_text(encoding="utf-8")
