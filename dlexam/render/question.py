"""A derivation's question statement, as an exam prints it, with the numbers filled in.

A statement is its catalog message (``<key>.question``, the setup: what is given and how it is
computed) with one field, ``{task}``, for the sentence that says what to give. Where every
answer is asked (the terminal, practice, the web page) the task is the derivation's own
``<key>.task``; an exam asks some items only, and its task names exactly those, by their labels
(``<key>.ask`` where a derivation words it its own way, else ``statement.ask``: "Compute the
norm of g before clipping and the clipped gradient.").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dlexam.notation.display import Phrase
from dlexam.render.prose import catalog, prose_text

_KEYS_FROM = "en"  # every language has the same keys (tests/test_templates.py)


def joined(items: Sequence[Phrase]) -> Phrase:
    """Items one after another as a sentence lists them ("A, B and C", "A、B 與 C")."""
    if len(items) == 1:
        return items[0]
    if len(items) == 2:
        return Phrase("statement.pair", {"a": items[0], "b": items[1]})
    return Phrase("statement.series", {"a": items[0], "rest": joined(items[1:])})


def keyed(derivation: Any, params: Mapping[str, Any] | None,
          asked: Sequence[Phrase] | None = None) -> tuple[str, dict[str, Any]]:
    """The statement's catalog key and fields. A derivation whose question takes another form
    for some parameters (bptt with a target asks for the gradients) names it in the field
    ``statement``: the key is then ``<key>.question_<statement>``, its task
    ``<key>.task_<statement>``. With ``asked`` (the labels of the items an exam asks), the task
    names those items only."""
    data = derivation.question_data(params)
    variant = data.pop("statement", None)
    suffix = f"_{variant}" if variant else ""
    if asked is None:
        data["task"] = Phrase(f"{derivation.key}.task{suffix}", dict(data))
    else:
        known = catalog(_KEYS_FROM)
        ask = next(k for k in (f"{derivation.key}.ask{suffix}", f"{derivation.key}.ask",
                               "statement.ask") if k in known)
        data["task"] = Phrase(ask, {**data, "items": joined(list(asked))})
    return derivation.question_key + suffix, data


def question_text(derivation: Any, params: Mapping[str, Any] | None, lang: str) -> str:
    """The statement for the terminal (math as plain text)."""
    return prose_text(lang, *keyed(derivation, params))
