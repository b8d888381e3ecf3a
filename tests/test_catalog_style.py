"""The derivations' catalogs read as an answer book should: math typeset, one term per idea.

These check every catalog, the derivations' and the book's: the
prose outside inline math holds no LaTeX-looking text, no "(s)" plurals, no tool names, and the
Traditional Chinese uses one term for each idea.
"""

from __future__ import annotations

import re
import tomllib
from importlib import resources

import pytest

from dlexam.langs import LANGS

CATALOGS = ["rnn", "lstm", "gru", "recurrent", "gradients", "attention", "transformer",
                       "param_count", "questions", "q5", "book",
                       "information", "gan"]


def _messages(lang: str) -> dict[str, str]:
    out: dict[str, str] = {}
    folder = resources.files("dlexam.templates").joinpath("i18n", lang)
    for name in CATALOGS:
        table = tomllib.loads(folder.joinpath(f"{name}.toml").read_text("utf-8"))
        for section, messages in table.items():
            out.update({f"{section}.{key}": text for key, text in messages.items()})
    return out


def _prose(message: str) -> str:
    """The message without its inline math, code and fields: the text that is set as text."""
    no_math = re.sub(r"\$[^$]+\$|`[^`]+`", "", message)
    return re.sub(r"\{=?[A-Za-z_][A-Za-z_0-9]*\}", "", no_math)


@pytest.mark.parametrize("lang", LANGS)
def test_no_math_as_plain_text(lang: str) -> None:
    for key, message in _messages(lang).items():
        prose = _prose(message)
        # subscripts, powers and backslashes belong in math: c_t, h_t^2, \sigma
        assert not re.search(r"[_^\\]", prose), f"{lang}:{key}: {message}"
        # a shape is typeset: {rows} $\times$ {cols}, not {rows} x {cols}
        assert not re.search(r"\} x \{|\d x \d", message), f"{lang}:{key}: {message}"
        assert "D*" not in prose and "log 4" not in prose, f"{lang}:{key}"


@pytest.mark.parametrize("lang", LANGS)
def test_student_facing_words(lang: str) -> None:
    for key, message in _messages(lang).items():
        assert "(s)" not in _prose(message), f"{lang}:{key}: choose singular or plural"
        assert "SymPy" not in message, f"{lang}:{key}: name the mathematics, not the tool"
        assert "clip-gradient" not in message, f"{lang}:{key}"


def test_traditional_chinese_terms() -> None:
    for key, message in _messages("zh-Hant").items():
        for wrong, right in [("語境", "上下文向量"), ("激活", "活化"), ("變壓器", "Transformer"),
                             ("候選狀態", "候選值")]:
            assert wrong not in message, f"{key}: {right}, not {wrong}"
        # time step is 時間步長 throughout
        assert not re.search(r"時間步(?!長)", message), f"{key}: 時間步長"
    zh = _messages("zh-Hant")
    assert "梯度截斷" in zh["bptt.verdict_exploding"]
    assert "上下文向量" in zh["attention_context.difference"]
