"""Sentences a question statement takes from the drawn parameters, shared by several topics.

A statement says only what applies to the question drawn: one time step is not told about
``t = 1, ..., T``, an unmasked attention not about masks, a base is said in words. Each is a
:class:`~dlexam.notation.display.Phrase` naming its catalog sentence (``statement.*``), filled
in the statement's language; :data:`NOTHING` where a choice says nothing.
"""

from __future__ import annotations

from typing import Any

from dlexam.notation.display import Phrase

NOTHING = Phrase("statement.nothing")
"""A field that says nothing for this question."""


def inputs_phrase(x: Any, steps: int) -> Phrase:
    """The inputs over time: ``x_1`` for one step, ``x`` with ``t = 1, ..., T`` for several."""
    return Phrase("statement.inputs_one" if steps == 1 else "statement.inputs_many",
                  {"x": x, "T": steps})


def mask_phrase(mask: Any) -> Phrase:
    """The mask as a sentence (a causal one), nothing without one."""
    return Phrase("statement.causal") if str(mask) == "causal" else NOTHING


def base_phrase(base: Any) -> Phrase:
    """A logarithm's base in words, with its unit: natural logarithms (nats), base 2 (bits),
    base 10 (hartleys)."""
    return Phrase(f"statement.base_{base}")
