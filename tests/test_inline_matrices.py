"""A matrix too wide for a paragraph goes on a line of its own with its name and its punctuation
(issue 18): the issue's self-attention question (X 6 x 5, 5 x 5 weights) on exam papers in
zh-Hant and zh-Hans left "X =" at the end of the line above each matrix and began a line with
the full stop after the last one ("。求注意力權重與 Z。"). Read back from the PDF: each name sits
beside its matrix (entries above and below it, to its right), and no line starts with a comma
or a full stop; a key's small tolerance is written 8.21 · 10^-5."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from test_fit import _W55, _X65

from dlexam.exams.build import build_exam

pytestmark = pytest.mark.tex

_NUMBER = re.compile(r"[−-]?\d+\.\d+[,，。.]?")


def _exam(path: Path, lang: str) -> Path:
    rows = lambda m: "[" + ", ".join("[" + ", ".join(map(str, r)) + "]" for r in m) + "]"  # noqa: E731
    path.write_text(
        'title = { en = "A", zh-Hant = "甲", zh-Hans = "甲" }\n'
        f'lang = "{lang}"\n[[questions]]\nid = "q1"\nderivation = "self-attention"\n'
        'points = 10\nask = ["Q", "weights[2]"]\n[questions.params]\n'
        f"X = {rows(_X65)}\nW_Q = {rows(_W55)}\nW_K = {rows(_W55)}\nW_V = {rows(_W55)}\n",
        encoding="utf-8")
    return path


def _words(pdf: Path) -> list[tuple[str, float, float, float, float]]:
    """(word, xMin, yMin, xMax, yMax) of the first page."""
    out = subprocess.run(["pdftotext", "-bbox", "-f", "1", "-l", "1", str(pdf), "-"],
                         capture_output=True, text=True, check=True).stdout
    return [(w, float(a), float(b), float(c), float(d)) for a, b, c, d, w in re.findall(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>',
        out)]


@pytest.mark.parametrize("lang", ["zh-Hant", "zh-Hans", "en"])
def test_a_matrix_on_its_own_line_keeps_its_name_and_punctuation(lang: str,
                                                                 tmp_path: Path) -> None:
    build_exam(str(_exam(tmp_path / "exam.toml", lang)), 1, 7, tmp_path / "out",
               formats="papers,keys")
    pdf = tmp_path / "out" / "papers.pdf"
    words = _words(pdf)
    def named(eq: tuple[str, float, float, float, float]) -> bool:
        # an "=" with X or W just left of it on its line (the name of a matrix)
        return eq[0] == "=" and any(
            w[0] in ("X", "W") and 0 <= eq[1] - w[3] < 15 and abs(w[4] - eq[4]) < 3
            for w in words)

    signs = [w for w in words if named(w)]
    beside_rows = 0
    for _, _, top, right, bottom in signs:
        beside = [w for w in words if _NUMBER.fullmatch(w[0]) and right < w[1] < right + 40]
        if any(w[4] < top for w in beside) and any(w[2] > bottom for w in beside):
            beside_rows += 1
    # X, W^Q, W^K, W^V: each name with its matrix's rows above and below it, to its right
    assert beside_rows == 4, [(w[0], round(w[1]), round(w[2])) for w in signs]
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    starts = [line for line in text.splitlines() if line[:1] in ("。", "，", ",", ".")]
    assert starts == [], starts
    # the key's tolerance of a weight (8.21e-05) in TeX's notation, not "8.21e − 05"
    key = subprocess.run(["pdftotext", str(tmp_path / "out" / "keys.pdf"), "-"],
                         capture_output=True, text=True, check=True).stdout
    assert "· 10" in key and not re.search(r"\de\s*[−-]\s*0", key), key
