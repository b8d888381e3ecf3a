"""A check report at the issue's sizes fits in each language (issue 18): the self-attention
question of X 6 x 5 and 5 x 5 weights, every entry of Z answered with a named mistake's value,
so that the report holds each verdict, the mistake's explanation and both derivations (the
right one and the student's) with their 6 x 5 matrices. The suite's TeX record (tests/texfit.py,
from tests/conftest.py) holds the PDF to TeX's verdict and to the text block; here the report is
read back in its language."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from test_fit import _W55, _X65

from dlexam import derivations
from dlexam.cli import main
from dlexam.derivations.core import to_plain

pytestmark = pytest.mark.tex

PARAMS = {"X": _X65, "W_Q": _W55, "W_K": _W55, "W_V": _W55}
WORDS = {"en": ("The right derivation", "正確"), "zh-Hant": ("正確的推導", "The right"),
         "zh-Hans": ("正确的推导", "The right")}


@pytest.mark.parametrize("lang", sorted(WORDS))
def test_check_report_of_the_issue_s_attention_fits(lang: str, tmp_path: Path) -> None:
    exam = tmp_path / "exam.toml"
    exam.write_text(
        'title = { en = "Fit", zh-Hant = "版面", zh-Hans = "版面" }\n[[questions]]\n'
        'id = "q1"\nderivation = "self-attention"\npoints = 10\nask = ["Z"]\n'
        "[questions.params]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in PARAMS.items()),
        encoding="utf-8")
    wrong = to_plain(derivations.solve("self-attention", PARAMS,
                                       mistake="no-scaling").answers["Z"])
    answers = tmp_path / "answers.toml"
    answers.write_text(f"[q1]\nZ = {json.dumps(json.dumps(wrong))}\n", encoding="utf-8")
    pdf = tmp_path / "report.pdf"
    assert main(["check", "--exam", str(exam), str(answers), "--pdf", str(pdf),
                 "--lang", lang]) == 1
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    said, other = WORDS[lang]
    assert said in text and other not in text
