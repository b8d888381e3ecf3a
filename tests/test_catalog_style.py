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

_I18N = resources.files("dlexam").joinpath("templates", "i18n", "en")
_DERIVATION_SOURCES = "\n".join(
    f.read_text("utf-8") for f in resources.files("dlexam.derivations").iterdir()
    if f.name.endswith(".py"))
_TOOL_CATALOGS = {"cli", "check"}  # the command line's own messages, not answer-book prose


def _tables(name: str) -> list[str]:
    return list(tomllib.loads(_I18N.joinpath(f"{name}.toml").read_text("utf-8")))


# every catalog on disk (found, not listed: a new derivation's catalog is checked as it lands)
CATALOGS = sorted(f.name.removesuffix(".toml") for f in _I18N.iterdir()
                  if f.name.endswith(".toml") and f.name.removesuffix(".toml")
                  not in _TOOL_CATALOGS)

# the derivations' catalogs: those whose every table prefixes the step keys of a derivation
# module (the book's own catalogs have other owners and table headers)
DERIVATION_CATALOGS = [
    name for name in CATALOGS
    if all(re.search(rf"[\"']{t}[.\"']", _DERIVATION_SOURCES) for t in _tables(name))
]


def test_catalog_lists_are_found() -> None:
    """The discovered lists hold what the hand-kept lists held (and may grow)."""
    assert {"rnn", "lstm", "gru", "recurrent", "gradients", "attention", "transformer",
            "information", "gan"} <= set(DERIVATION_CATALOGS)
    assert {"book", "questions", "book_param_count", "param_count"} <= set(CATALOGS)
    assert not {"book", "questions", "book_param_count"} & set(DERIVATION_CATALOGS)


def _messages(lang: str, names: list[str] = CATALOGS) -> dict[str, str]:
    out: dict[str, str] = {}
    folder = resources.files("dlexam").joinpath("templates", "i18n", lang)
    for name in names:
        table = tomllib.loads(folder.joinpath(f"{name}.toml").read_text("utf-8"))
        _flatten("", table, out)
    return out


def _flatten(prefix: str, table: dict, out: dict[str, str]) -> None:
    for key, value in table.items():
        full = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            _flatten(full, value, out)
        else:
            out[full] = value


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


def test_traditional_chinese_terms_of_the_derivations() -> None:
    """One Taiwan term per idea in the derivations' catalogs."""
    for key, message in _messages("zh-Hant", DERIVATION_CATALOGS).items():
        for wrong, right in [
            ("記憶狀態", "記憶單元狀態"),
            ("門檻", "閾值"),
            ("欄", "行 (a matrix column; a row is 列)"),
            ("價值", "目標函數 (價值函數 is reinforcement learning's)"),
            ("identity", "恆等函數, or the formula itself"),
        ]:
            assert wrong not in message, f"{key}: {right}, not {wrong}"
    zh = _messages("zh-Hant", DERIVATION_CATALOGS)
    assert "閾值" in zh["clip_gradient.rule"] and "行" in zh["positional_encoding.even"]
    assert "目標函數" in zh["gan_optimum.value"]
    # a simple RNN has no memory cell
    assert "記憶單元" not in zh["bptt.jacobian"] + zh["bptt.jacobian_two_units"]


@pytest.mark.parametrize("lang", LANGS)
def test_kl_divergences_lead_with_their_symbol(lang: str) -> None:
    """D_KL(p || q) is the divergence of p from q: the message names it by its symbol first."""
    messages = _messages(lang, DERIVATION_CATALOGS)
    for key, symbol in [("information.kl_pq", "{=KL_pq}"), ("information.kl_qp", "{=KL_qp}"),
                        ("information.kl_pm", "{=KL_pm}"), ("information.kl_qm", "{=KL_qm}"),
                        ("gan_optimum.kl_data_mixture", "{=KL_dm}"),
                        ("gan_optimum.kl_g_mixture", "{=KL_gm}")]:
        assert messages[key].startswith(symbol), f"{lang}:{key}"
        assert "of the mixture from" not in messages[key], f"{lang}:{key}"
        assert "混合分布相對於" not in messages[key], f"{lang}:{key}"
