"""A piecewise formula in the reader's language (issue 18): ELU's definition says "for x > 0 ...
otherwise" in English, 若 ... 其他 in Chinese, on sheets (read back from the PDF), in the
terminal, on the web page and in Moodle's HTML; a formula set once for a whole document takes
the words of the paragraph around it (the preamble's macros)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from dlexam import derivations
from dlexam.build.sheet import render_sheet
from dlexam.build.tex import compile_pdf
from dlexam.langs import messages
from dlexam.render.prose import prose_html, prose_tex, prose_text
from dlexam.render.terminal import render_text

ELU = {"name": "elu", "x": [-1, 2], "alpha": 0.5}
WORDS = {lang: (messages(lang)["piecewise.for"], messages(lang)["piecewise.otherwise"])
         for lang in ("en", "zh-Hant", "zh-Hans")}


def _statement(lang: str, fill):  # type: ignore[no-untyped-def]
    step = derivations.solve("activation", ELU).steps[0]
    assert step.key == "activation.given_elu"
    return fill(lang, step.key, step.data)


def test_the_words_are_the_language_s() -> None:
    assert WORDS["en"] == ("for", "otherwise")
    assert WORDS["zh-Hant"] == ("若", "其他") and WORDS["zh-Hans"] == ("若", "其他")


@pytest.mark.parametrize("lang", ["en", "zh-Hant", "zh-Hans"])
def test_each_output_says_them_in_its_language(lang: str) -> None:
    said_for, said_otherwise = WORDS[lang]
    other = [w for code, words in WORDS.items() if code != lang and words != WORDS[lang]
             for w in words]
    text = _statement(lang, prose_text)
    assert f"x {said_for} x > 0" in text and f"{said_otherwise}}}" in text, text
    latex = str(_statement(lang, prose_tex))
    assert rf"\text{{{said_for}}}\: x > 0" in latex and rf"\text{{{said_otherwise}}}" in latex
    page = _statement(lang, prose_html)
    assert rf"\text{{{said_for}}}" in page and rf"\text{{{said_otherwise}}}" in page
    for shown in (text, latex, page):
        assert r"\dlx" not in shown and not any(w in shown for w in other), shown
    terminal = render_text(derivations.solve("activation", ELU), lang)
    assert "Piecewise" not in terminal and f" {said_otherwise}}}" in terminal


def _pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


# a formula set once for the document (as a step's display is), in English and in a \zh paragraph
_DISPLAYS = (r"\[ f = \begin{cases} a & \dlxfor q \\ b & \dlxotherwise \end{cases} \]"
             r"\zh{\[ f = \begin{cases} c & \dlxfor r \\ d & \dlxotherwise \end{cases} \]}")


@pytest.mark.tex
@pytest.mark.parametrize("lang", ["zh-Hans", "bilingual", "en+zh-Hans", "en"])
def test_sheets_read_back_in_each_language(lang: str, tmp_path: Path) -> None:
    source = render_sheet(derivations.solve("activation", ELU), lang)
    source = source.replace(r"\end{document}", _DISPLAYS + "\n" + r"\end{document}")
    text = _pdf_text(compile_pdf(source, jobname="sheet").pdf, tmp_path)
    tight = "".join(text.split())
    # "otherwise" words: the statement in each language, the English display, the \zh display
    # (in the document's Chinese, else in its only language)
    expected = {"en": {"en": 3}, "zh-Hans": {"zh-Hans": 3}, "bilingual": {"en": 2, "zh-Hant": 2},
                "en+zh-Hans": {"en": 2, "zh-Hans": 2}}[lang]
    for code, times in expected.items():
        word_for, word_otherwise = WORDS[code]
        assert tight.count(word_otherwise) == times, (code, text)
        assert tight.count(word_for + "x>0") == 1, (code, text)
    display_zh = "zh-Hant" if lang == "bilingual" else "zh-Hans" if "zh" in lang else "en"
    display_en = "zh-Hans" if lang == "zh-Hans" else "en"
    assert WORDS[display_en][0] + "q" in tight and WORDS[display_zh][0] + "r" in tight, text
    if lang == "zh-Hans":  # the Chinese sheet says no English word of the formula
        assert "for" not in text.split() and "otherwise" not in text, text
