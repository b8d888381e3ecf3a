"""Values in LaTeX templates: a step's equation in parts, values through the one renderer
(:mod:`dlexam.notation.display`), shapes and figure numbers."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import sympy as sp
from pylatex import NoEscape

from dlexam.derivations.core import Step
from dlexam.notation import tex
from dlexam.notation.display import DIGITS, LAYOUT, breakable_tex, displayed, is_number, render

# an equation wider than this (in characters of LaTeX source) is stacked, one part per line
_WIDE = 110


def equation_parts(step: Step, digits: int = DIGITS["formula"]) -> dict[str, Any]:
    """The typeset parts of a step's equation: lhs, formula, numbers put in, value.

    Parts that would repeat the previous one are left out; an inexact value gets ``\\approx``.
    """
    lhs = tex(step.lhs) if step.lhs is not None else ""
    symbolic = tex(step.symbolic, digits=digits) if step.symbolic is not None else ""
    substituted = (
        tex(step.substituted, digits=digits, numbers=True) if step.substituted is not None else ""
    )
    if substituted == symbolic:
        substituted = ""
    value = ""
    rel = "="
    if step.value is not None:
        exact, shown = displayed(step.value, digits)
        value = tex(shown, digits=digits)
        rel = "=" if exact else r"\approx"
        if value in (substituted, symbolic):
            value = ""
    wide = len(lhs) + len(symbolic) + len(substituted) + len(value) > _WIDE
    return {
        "lhs": NoEscape(lhs),
        "symbolic": NoEscape(symbolic),
        "substituted": NoEscape(substituted),
        "value": NoEscape(value),
        "rel": NoEscape(rel),
        "wide": wide,
    }


def value_tex(value: Any, digits: int | None = None, wrap: bool = False) -> NoEscape:
    """A parameter or answer value as LaTeX (the display rule's LaTeX back-end; lists of
    numbers as matrices, JSON data as its JSON text, text escaped with break points). With
    ``wrap``, a list of more numbers than the layout writes out in a formula is a tuple that
    breaks across lines (a line of its own, as the answer sheet's items)."""
    if isinstance(value, Mapping):
        return breakable_tex(json.dumps(value, ensure_ascii=False))
    long = wrap and isinstance(value, (list, tuple)) and len(value) > LAYOUT.terms and all(
        is_number(v) for v in value)
    return NoEscape(render(value, "latex", "prose", digits=digits,
                           lists="tuple" if long else "matrix"))


def short_values(values: Any, digits: int | None = None) -> list[NoEscape]:
    """Each value as short inline LaTeX for a figure: vectors as (a, b) whose entries share
    their decimals."""
    return [NoEscape(render(v, "latex", "figure", lists="tuple", digits=digits))
            for v in values]


def matrix_rows(value: Any) -> list[list[float]]:
    """A SymPy matrix (or nested list) as rows of floats, for figures that draw numbers."""
    if isinstance(value, sp.MatrixBase):
        return [[float(value[i, j]) for j in range(value.cols)] for i in range(value.rows)]
    return [[float(v) for v in row] for row in value]


def shape_text(shape: list[int | None]) -> str:
    """A Keras-style shape: ``(None, 3, 30)``; an unknown sequence length shows as ``T``."""
    parts = ["None" if i == 0 else ("T" if d is None else str(d)) for i, d in enumerate(shape)]
    return "(" + ", ".join(parts) + ")"
