"""A derivation's question statement, as an exam prints it, with the numbers filled in."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from pylatex import NoEscape

from dlexam.templates.prose import prose_tex, prose_text


def _data(derivation: Any, params: Mapping[str, Any] | None) -> dict[str, Any]:
    return derivation.question_data(params)


def question_text(derivation: Any, params: Mapping[str, Any] | None, lang: str) -> str:
    """The statement for the terminal (math as plain text)."""
    return prose_text(lang, derivation.question_key, _data(derivation, params))


def question_tex(derivation: Any, params: Mapping[str, Any] | None, lang: str) -> NoEscape:
    """The statement as LaTeX (text escaped, values typeset)."""
    return prose_tex(lang, derivation.question_key, _data(derivation, params))


def question_html(derivation: Any, params: Mapping[str, Any] | None, lang: str) -> str:
    """The statement as text safe to put into HTML (every character escaped)."""
    return html.escape(question_text(derivation, params, lang), quote=True)
