"""A derivation's question statement, as an exam prints it, with the numbers filled in."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from pylatex import NoEscape

from dlexam.templates.prose import prose_tex, prose_text


def keyed(derivation: Any, params: Mapping[str, Any] | None) -> tuple[str, dict[str, Any]]:
    """The statement's catalog key and fields. A derivation whose question takes another form
    for some parameters (bptt with a target asks for the gradients) names it in the field
    ``statement``: the key is then ``<key>.question_<statement>``."""
    data = derivation.question_data(params)
    variant = data.pop("statement", None)
    key = derivation.question_key + (f"_{variant}" if variant else "")
    return key, data


def question_text(derivation: Any, params: Mapping[str, Any] | None, lang: str) -> str:
    """The statement for the terminal (math as plain text)."""
    return prose_text(lang, *keyed(derivation, params))


def question_tex(derivation: Any, params: Mapping[str, Any] | None, lang: str) -> NoEscape:
    """The statement as LaTeX (text escaped, values typeset)."""
    return prose_tex(lang, *keyed(derivation, params))


def question_html(derivation: Any, params: Mapping[str, Any] | None, lang: str) -> str:
    """The statement as text safe to put into HTML (every character escaped)."""
    return html.escape(question_text(derivation, params, lang), quote=True)
