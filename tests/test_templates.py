"""Templates and catalogs: escaping by type, strict variables, the same keys in every language."""

from __future__ import annotations

import re

import jinja2
import pytest
from pylatex import NoEscape

from dlexam import render
from dlexam.render import LANGS, catalog, fields, latex_env, prose_tex, prose_text

SPECIALS = "\\ { } $ & # ^ _ % ~"


def test_values_are_escaped_on_output() -> None:
    out = latex_env().from_string("((( v )))").render(v=SPECIALS)
    for raw in ["$", "&", "#", "_", "%"]:
        assert f"\\{raw}" in out
    assert "\\textbackslash{}" in out
    assert "\\textasciitilde{}" in out
    assert "\\^{}" in out
    assert "\\{" in out and "\\}" in out
    # nothing unescaped is left: remove the escapes and no special remains
    stripped = re.sub(r"\\(textbackslash|textasciitilde)\{\}|\\\^\{\}|\\[{}$&#_%]", "", out)
    assert not set(stripped) & set("\\{}$&#^_%~")


def test_trusted_latex_passes_through() -> None:
    out = latex_env().from_string("((( v )))").render(v=NoEscape(r"\alpha_1"))
    assert out == r"\alpha_1"


def test_missing_variable_fails() -> None:
    with pytest.raises(jinja2.UndefinedError):
        latex_env().from_string("((( nothing )))").render()


def test_prose_values_escaped_and_math_typeset() -> None:
    out = prose_tex("en", "param_count.dense",
                    {"index": 1, "units": 3, "width_in": "50% & $5_x"})
    assert "50\\% \\& \\$5\\_x" in out
    assert "$3$" in out


def test_every_key_in_every_language_with_the_samefields() -> None:
    en = catalog("en")
    for lang in LANGS[1:]:
        other = catalog(lang)
        assert set(other) == set(en), f"{lang}: keys differ: {set(other) ^ set(en)}"
        for key, message in en.items():
            assert fields(other[key]) == fields(message), f"{lang}:{key} fields differ"


def test_chinese_catalog_is_traditional() -> None:
    # simplified forms that must not appear (their traditional forms are used instead)
    simplified = "门参数层输记忆权态络递归损鉴习练选择"
    for key, message in catalog("zh-Hant").items():
        assert not set(message) & set(simplified), f"{key}: simplified characters in {message}"


def test_every_derivation_has_a_summary_in_every_language() -> None:
    from dlexam import derivations

    for name in derivations.names():
        for lang in LANGS:
            assert render.prose_text(lang, derivations.get(name).summary_key)


def test_inline_math_in_catalogs() -> None:
    assert r"$\partial C_t / \partial C_{t-1} = \mathrm{diag}(f_t)$" in prose_tex(
        "en", "book_rnn_gradients.remedy_gating"
    )
    assert "∂C_t / ∂C_{t-1} = diag(f_t)" in prose_text("en", "book_rnn_gradients.remedy_gating")


def test_every_message_renders_its_math_balanced() -> None:
    for lang in LANGS:
        for key, message in catalog(lang).items():
            assert message.count("$") % 2 == 0, f"{lang}:{key}: unbalanced $"


def test_code_names_in_typewriter() -> None:
    assert r"\texttt{np.dot(state, W)}" in prose_tex("en", "book_rnn_forward.conventions_text")
    assert "np.dot(state, W)" in prose_text("en", "book_rnn_forward.conventions_text")
    assert "`" not in prose_text("en", "book_rnn_forward.conventions_text")
