"""A derivation's question statement, as an exam prints it, with the numbers filled in."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dlexam.render.prose import prose_text


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

