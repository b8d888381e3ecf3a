"""The answer book as a reader gets it: the PDF read back per language, checked independently.

Expected numbers are computed here with NumPy (or are the exam's and the literature's published
values), not taken from dlexam's output.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from sharedtex import Book

from dlexam.book.build import render_book

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
def books(answer_book: Callable[[str], Book]) -> dict[str, tuple[str, str]]:
    out = {}
    for lang in ("bilingual", "en", "zh-Hant"):
        book = answer_book(lang)
        out[lang] = (pdf_text(book.pdf), (book.folder / "answer-book.log").read_text("utf-8"))
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


# --- the review of the book: each item read back from the PDF ---------------------------------

NUMBER = r"-?\d+\.\d{4}"


def layout_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout


def matrix_after(text: str, marker: str, rows: int, cols: int) -> np.ndarray:
    """The matrix typeset after ``marker`` in pdftotext's layout text: tokens are put into
    columns by their horizontal position (a row's entries may sit on two text lines)."""
    import re

    before, after = text[:text.index(marker)].splitlines(), text[text.index(marker):]
    # a matrix set beside its name has rows above the name's line too: start where the lines
    # of numbers (or blank ones) above it begin
    start = len(before) - 1
    filler = r"[\s\x00-\x1f\uf8e0-\uf8ff]*"  # spaces and the pieces of tall brackets
    while start > 0 and re.fullmatch(rf"{filler}(?:{NUMBER}{filler})*", before[start - 1]):
        start -= 1
    lines = [*before[start:-1], before[-1] + after[len(marker):].split("\n", 1)[0],
             *after.split("\n")[1:]]
    positions: list[int] | None = None
    out: list[list[float]] = []
    row: dict[int, float] = {}
    for line in lines:
        tokens = [(m.start(), float(m.group())) for m in re.finditer(NUMBER, line)]
        if positions is None:
            if len(tokens) != cols:
                continue
            positions = [p for p, _ in tokens]
        if len(tokens) == cols and not row:  # a whole row on one text line: in order
            out.append([value for _pos, value in tokens])
            if len(out) == rows:
                return np.array(out)
            continue
        for pos, value in tokens:
            col = min(range(cols), key=lambda c: abs(positions[c] - pos))
            assert col not in row, (marker, line)
            row[col] = value
        if len(row) == cols:
            out.append([row[c] for c in range(cols)])
            row = {}
            if len(out) == rows:
                return np.array(out)
    raise AssertionError(f"no {rows} x {cols} matrix after {marker!r}")


@pytest.fixture(scope="module")
def layouts(answer_book: Callable[[str], Book]) -> dict[str, tuple[str, list[str]]]:
    out = {}
    for lang in ("bilingual", "en", "zh-Hant", "zh-Hans", "en+zh-Hans"):
        book = answer_book(lang)
        assert book.report.passes == 1, "the shipped page table is stale (regenerate, see below)"
        out[lang] = (layout_text(book.pdf), pdf_text(book.pdf).split("\f"))
    return out


def test_attention_weights_sum_to_one_and_give_z1(layouts: dict) -> None:
    text = layouts["en"][0]
    a1 = matrix_after(text, "A1 = softmax", 5, 5)
    # printed to 4 decimals, each row of weights sums to 1 within its rounding
    assert np.all(np.abs(a1.sum(axis=1) - 1) <= 5 * 0.5e-4 + 1e-12), a1.sum(axis=1)
    v1 = matrix_after(text, "V1 = XW1V", 5, 4)
    z1 = matrix_after(text, "Z1 = A1 V1", 5, 4)
    # Z1 recomputed from the printed numbers agrees within what their rounding allows
    slack = 0.5e-4 * np.abs(v1).sum(axis=0) + 0.5e-4 * a1.sum(axis=1)[:, None] + 0.5e-4
    assert np.all(np.abs(a1 @ v1 - z1) <= slack + 0.5e-4)


_SIMPLIFIED = {"第五題": "第五题", "六題之外": "六题之外", "多頭注意力": "多头注意力",
               "隱藏表示": "隐藏表示"}


def test_contents_lists_every_part_with_its_page(layouts: dict) -> None:
    import re

    for lang, (layout, pages) in layouts.items():
        first = layout.split("\f")[0]
        headings = {"Q5. Parameter counts": "第五題", "Beyond the six questions": "六題之外",
                    "Multi-head attention": "多頭注意力", "GAN: the objective": "GAN",
                    "Entropy, cross-entropy": "KL 散度", "Three words to a hidden": "隱藏表示"}
        for en, zh in headings.items():
            name = {"zh-Hant": zh, "zh-Hans": _SIMPLIFIED.get(zh, zh)}.get(lang, en)
            line = next((ln for ln in first.splitlines() if name in ln), None)
            assert line is not None, (lang, name)
            found = re.search(r"(\d+)\s*$", line)
            assert found, (lang, line)
            page = int(found.group(1))
            # the heading is on that page (its first line, or the one after a page break)
            assert name.split(":")[0] in pages[page - 1], (lang, name, page)


def test_review_items_are_in_the_text(books: dict[str, tuple[str, str]]) -> None:
    import re

    def flat(value: str) -> str:  # pdftotext spaces math unevenly: compare without spaces
        return re.sub(r"\s+", "", value)

    text, en, zh = (flat(books[lang][0]) for lang in ("bilingual", "en", "zh-Hant"))
    # Q5: a paragraph for layer 2, whose input is 30 wide; no command-line text
    assert flat("Layer 2: another LSTM") in en and flat("its input width is m = 30") in en
    assert "第2層" in zh
    assert "framework=pytorch" not in text
    # notation: the output bias is not c; the entries of h_t are h_{t,1}; sigma_max of 3W
    assert "y=Wyh3+by" in en and "Vh3+c" not in en
    assert "ht,1andht,2" in en and "σmax(3W)=1.6395" in en
    # the GRU's direct path, and the LSTM's diag(f_t) called the direct path
    assert "itsdirectpathisdiag(zt)" in en and "Jacobianofthisdirectpath" in en
    # Q3: the rule that tells the lost figures apart; Q4: the exam's formulas
    assert "onesharedcontextC" in en and "C1,C2,C3" in en
    assert "leaveoutthebiasesbandc" in en and "identity" in en
    # Q6: word i against word j in both languages
    assert "詞i對每個詞j" in zh
    # wording
    for word in ["佔", "驚訝程度", "甩得很遠"]:
        assert word not in text
    # L_D: two batch means added; one BCE over the six pooled samples is another number
    logs = [np.log(0.9), np.log(0.8), np.log(0.7), np.log(0.7), np.log(0.9), np.log(0.6)]
    loss_d = -(np.mean(logs[:3]) + np.mean(logs[3:]))
    pooled = -np.mean(logs)
    assert fmt(loss_d) in text and fmt(pooled) in text
    assert "binarycross-entropywithlabel1" not in text
    # headings of the parts that had none
    assert "Positionalencoding" in en and "Softmaxandcross-entropyloss" in en


def test_shipped_page_table_is_current(layouts: dict) -> None:
    """Every build above ran one TeX pass: the page table matched. After a change that moves a
    heading, regenerate it (DLEXAM_UPDATE_GOLDEN=1 does, with the golden files) and commit."""
    assert layouts  # the fixture asserts one pass per language


def test_a_cold_build_renders_the_book_once(answer_book: Callable[[str], Book]) -> None:
    """The contents list pages for its top entries only: sub-headings the log also reports
    (beyond-gan-heading, ...) must not send the book to be rendered a second time. The shared
    bilingual book was built cold, into an empty folder, with its renderings recorded
    (conftest.py's ``answer_book``)."""
    shared = answer_book("bilingual")
    assert shared.report.passes == 1
    assert shared.renders == (None,)


@pytest.mark.parametrize("lang", ["bilingual", "en", "zh-Hant", "zh-Hans", "en+zh-Hans"])
def test_the_book_begins_with_the_lines_tex_gets_first(lang: str) -> None:
    """A cold build writes the class and every package to TeX before SymPy is imported, from
    the exam file's [book] layout read unchecked; every book begins with them (else the build
    would fall back to typesetting the whole source at the end)."""
    from dlexam.book.build import _expected_packages
    from dlexam.build.document import document_start

    start = document_start(_expected_packages("final2023"))
    assert render_book(lang).startswith(start)
    assert r"\usepackage{pgfplots}" in start and r"\begin{document}" not in start
    assert start.endswith("\\usepackage{bookmark}%\n")


def test_starting_a_book_build_imports_no_sympy() -> None:
    """TeX starts on its format and packages before the derivations are imported."""
    code = ("import sys; from dlexam.book.build import _expected_packages; "
            "from dlexam.build.document import document_start; "
            "document_start(_expected_packages('final2023')); "
            "print(sorted(m for m in ('sympy', 'numpy', 'dlexam.render', 'dlexam.derivations') "
            "if m in sys.modules))")
    root = str(Path(__file__).resolve().parents[1])
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={**os.environ, "PYTHONPATH": root}).stdout
    assert out.strip() == "[]"
