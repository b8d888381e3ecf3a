"""Every answer of every derivation has a readable label and a meaning in every language
(issue 18 item 3, issue 21 item 2), and a printed paper names what it asks by them."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from dlexam import derivations
from dlexam.langs import codes
from dlexam.render.labels import answer_label, label_key, meaning_key
from dlexam.render.prose import catalog, prose_text

ROOT = Path(__file__).resolve().parents[1]


def _answers() -> list[tuple[str, str]]:
    return [(name, a.name) for name in derivations.names()
            for a in derivations.get(name).answers]


@pytest.mark.parametrize("lang", codes())
def test_every_answer_has_a_label_and_a_meaning_in_every_language(lang: str) -> None:
    missing = []
    for name, answer in _answers():
        spec = derivations.get(name)
        for key in (label_key(spec, answer), meaning_key(spec, answer)):
            if not catalog(lang).get(key, "").strip():
                missing.append(key)
    assert not missing, f"{lang}: no text for {missing}"


def test_labels_are_noun_phrases_and_meanings_sentences() -> None:
    for name, answer in _answers():
        spec = derivations.get(name)
        label = catalog("en")[label_key(spec, answer)]
        assert len(label) <= 80 and not label.endswith("."), label
        assert "_" not in re.sub(r"\$[^$]*\$", "", label), label  # no internal name
        meaning = catalog("en")[meaning_key(spec, answer)]
        assert meaning.endswith(".") and (meaning[0].isupper() or meaning[0] in "$\""), meaning
        assert catalog("zh-Hant")[meaning_key(spec, answer)].endswith("。")


@pytest.mark.parametrize(("name", "answer", "index", "value", "lang", "expected"), [
    ("clip-gradient", "norm_before", (), 2.0, "en", "the norm of g before clipping"),
    ("self-attention", "Z", (3,), [0.1, 0.2], "en", "row 3 of the output Z"),
    ("self-attention", "Z", (3,), [0.1, 0.2], "zh-Hant", "輸出 Z的第 3 列"),
    ("self-attention", "Z", (3,), [0.1, 0.2], "zh-Hans", "输出 Z的第 3 行"),
    ("self-attention", "weights", (2, 1), 0.5, "en",
     "the entry in row 2, column 1 of the attention weights A"),
    ("activation", "value", (2,), 0.5, "en", "the 2nd entry of the value f(x)"),
    ("activation", "value", (12,), 0.5, "en", "the 12th entry of the value f(x)"),
    ("activation", "value", (2,), 0.5, "zh-Hant", "函數值 f(x)的第 2 個元素"),
    ("rnn-forward", "h", (2,), [0.1, 0.2], "en", "the hidden state at time step 2"),
    ("rnn-forward", "y", (2, 1), 0.5, "en", "the 1st entry of the output at time step 2"),
    ("rnn-forward", "h", (2,), [0.1, 0.2], "zh-Hant", "第 2 個時間步長的隱藏狀態"),
    ("encoder-layer", "heads", (1, 2, 3), 0.5, "en",
     "the entry in row 2, column 3 of the output of head 1"),
    ("gru-forward", "z", (1,), [0.5], "en", "the update gate at time step 1"),
    ("lstm-forward", "f", (), [[0.5]], "en", "the forget gate f_t"),
    # as a person says it, not "the 1st entry of row 15 ... (row 1 is position 0)"
    ("positional-encoding", "PE", (15, 1), 0.5, "en",
     "the encoding of position 14, dimension 0"),
    ("positional-encoding", "PE", (15, 1), 0.5, "zh-Hant", "位置 14、維度 0 的編碼"),
    ("positional-encoding", "PE", (3,), [0.1, 0.2], "en", "the encoding of position 2"),
    ("conv2d", "Y", (2,), [1, 2], "en", "row 2 of the output Y"),
])
def test_an_item_is_named_in_words(name: str, answer: str, index: tuple[int, ...],
                                   value: object, lang: str, expected: str) -> None:
    said = answer_label(derivations.get(name), answer, index, value)
    assert prose_text(lang, said.key, said.data) == expected


def test_show_prints_each_answers_meaning() -> None:
    from dlexam.render.describe import show_text

    text = show_text(derivations.get("lstm-forward"), "en")
    assert "The forget gate $f_t" not in text  # plain text in the terminal
    assert "The forget gate f_t = σ(W_f [h_{t-1}, x_t] + b_f), one row per time step." in text
    assert "遺忘門" in show_text(derivations.get("lstm-forward"), "zh-Hant")


def _squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text).replace("\u2019", "'")


@pytest.mark.tex
@pytest.mark.parametrize("lang", ["en", "zh-Hant", "zh-Hans"])
def test_a_paper_with_every_derivation_names_items_by_their_labels(
        tmp_path: Path, lang: str) -> None:
    """bench/exams/every.toml in one language: each asked item's label words are on the paper
    and in the key, and no item is introduced by its internal name."""
    from dlexam.exams.build import build_exam
    from dlexam.exams.model import load_exam

    source = (ROOT / "bench/exams/every.toml").read_text(encoding="utf-8")
    exam_file = tmp_path / "every.toml"
    exam_file.write_text(source.replace('lang = "bilingual"', f'lang = "{lang}"'),
                         encoding="utf-8")
    build_exam(str(exam_file), 1, 3, tmp_path / "out", formats="papers,keys")
    for pdf in ("papers.pdf", "keys.pdf"):
        text = subprocess.run(["pdftotext", str(tmp_path / "out" / pdf), "-"],
                              capture_output=True, text=True, check=True).stdout
        squeezed = _squeezed(text)
        for question in load_exam(str(exam_file)).questions:
            for item in question.items:
                # an item's label, as the paper prints it: its words outside the mathematics
                said = answer_label(question.spec, item.answer, item.index,
                                    0.0 if not item.index else None)
                words = re.split(r"\$[^$]*\$|\{[^}]*\}", catalog(lang)[said.key])
                for piece in words:
                    assert _squeezed(piece) in squeezed, (pdf, question.id, piece)
                # the old form: "• norm_before:" (the internal name as the label)
                assert not re.search(rf"•\s*{re.escape(item.ref)}\s*[:=]", text), (pdf, item.ref)
                if "_" in item.answer:
                    assert item.answer not in text, (pdf, item.answer)
