"""What a person calls an answer, or one item of it, on a paper: "the norm of g before clipping",
"row 3 of the output Z", "the hidden state at time step 2".

The words are catalog data (``<derivation>.label.<answer>``, ``<derivation>.item.<answer>``,
``answer_item.*``), so every language, and a language added later, names every answer from its
own catalogs; ``<derivation>.cell.<answer>`` names one entry of a table in the answer's own
terms (``{row}``, ``{column}``, counted from 1, ``{row0}``, ``{column0}`` from 0: the encoding
of position 14, dimension 0). A label is returned as a
:class:`~dlexam.notation.display.Phrase`, filled by any of the prose renderers (LaTeX for
papers, HTML for Moodle, plain text for the terminal).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dlexam.notation.display import Phrase
from dlexam.render.prose import catalog

_KEYS_FROM = "en"  # every language has the same keys (tests/test_templates.py)


def label_key(derivation: Any, answer: str) -> str:
    """The catalog key of an answer's label."""
    return f"{derivation.key}.label.{answer}"


def meaning_key(derivation: Any, answer: str) -> str:
    """The catalog key of an answer's meaning (one sentence with its convention)."""
    return f"{derivation.key}.meaning.{answer}"


def ordinal(n: int) -> Phrase:
    """``n`` as an ordinal in the reader's language ("2nd", "第 2 個")."""
    key = f"answer_item.ordinal.{n}"
    if key in catalog(_KEYS_FROM):
        return Phrase(key)
    return Phrase("answer_item.ordinal.other", {"n": n})


def _depth(value: Any) -> int:
    depth = 0
    while isinstance(value, list) and value:
        depth, value = depth + 1, value[0]
    return depth


def answer_label(derivation: Any, answer: str, index: Sequence[int] = (),
                 value: Any = None) -> Phrase:
    """The label of ``answer`` or of its item at the 1-based ``index``, whose value is
    ``value`` (its nesting says whether a position picks an entry, a row or a part)."""
    label = Phrase(label_key(derivation, answer))
    index = tuple(index)
    if not index:
        return label
    depth = _depth(value)
    cell = f"{derivation.key}.cell.{answer}"
    if len(index) == 2 and depth == 0 and cell in catalog(_KEYS_FROM):  # its own words for one
        return Phrase(cell, {"label": label, "row": index[0], "column": index[1],  # entry
                             "row0": index[0] - 1, "column0": index[1] - 1})
    special = f"{derivation.key}.item.{answer}"
    if special in catalog(_KEYS_FROM):  # the answer's own words for its first position
        first = index[0]
        label = Phrase(special, {"label": label, "index": first, "index0": first - 1,
                                 "ordinal": ordinal(first)})
        index = index[1:]
    while index:
        left = len(index) - 1  # positions after this one
        if left == 1 and depth == 0:  # two positions into a table of numbers: one cell
            return Phrase("answer_item.cell", {"label": label, "row": index[0],
                                             "column": index[1]})
        below = depth + left  # how deep the value at this position is
        if below == 0:
            label = Phrase("answer_item.entry", {"label": label, "ordinal": ordinal(index[0])})
        else:
            kind = "row" if below == 1 else "part"
            label = Phrase(f"answer_item.{kind}", {"label": label, "index": index[0]})
        index = index[1:]
    return label
