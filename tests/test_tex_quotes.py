"""ASCII double quotes as TeX sets them (issue 18): XeLaTeX's TeX ligatures turn a bare " into a
closing quote, so a sheet's JSON parameter read ”a”: [0.6, ...] and a quoted word ”the”. In
prose a quote opens or closes by its place; in code and JSON it stays straight."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from dlexam.notation.display import quotes_tex
from dlexam.render.prose import prose_tex
from dlexam.render.values import value_tex


def test_prose_quotes_open_and_close_by_their_place() -> None:
    assert quotes_tex('the word "the" here') == "the word \u201cthe\u201d here"
    assert quotes_tex('"a"') == "\u201ca\u201d"
    assert quotes_tex('": kept.', before="a b") == "\u201d: kept."  # after a filled-in value
    said = prose_tex("en", "decoding.candidate_kept", {"seq": "a b"})
    assert said == "\u201ca b\u201d: kept."


def test_code_and_json_keep_straight_quotes() -> None:
    shown = value_tex({"a": [0.6, {}]})
    assert '"' not in shown and shown.count(r"\textquotedbl{}") == 2
    code = prose_tex("en", "decoding.expects.tree")
    assert r"\texttt{" in code and '"' not in code and "\u201c" not in code


@pytest.mark.tex
def test_a_sheet_prints_json_with_straight_quotes(tmp_path: Path) -> None:
    from dlexam.cli import main

    pdf = tmp_path / "sheet.pdf"
    tree = '{"a": [0.6, {"<eos>": [1, {}]}], "b": [0.4, {"<eos>": [1, {}]}]}'
    assert main(["solve", "decoding", f"tree={tree}", "method=greedy", "--lang", "en",
                 "--pdf", str(pdf)]) == 0
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert '{"a": [0.6' in text.replace("\n", " "), text
    assert "\u201da\u201d" not in text and "\u201d<eos>\u201d" not in text
