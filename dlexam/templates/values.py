"""Numbers and arrays as they are shown: rounded for display only, typeset for LaTeX."""

from __future__ import annotations

from typing import Any

import sympy as sp
from pylatex import NoEscape
from pylatex.utils import escape_latex

from dlexam.derivations.core import Step
from dlexam.notation import tex
from dlexam.numbers import is_exact_short


def shown_value(value: Any, digits: int = 4) -> tuple[bool, Any]:
    """Whether a value is shown exactly, and the value to print (rounded only for display)."""
    if isinstance(value, sp.MatrixBase):
        exact = all(is_exact_short(x, digits) or (x.is_Integer) for x in value)
        return exact, value if exact else value.applyfunc(lambda x: x.evalf(15))
    if isinstance(value, sp.Basic) and value.is_number:
        if value.is_Integer or is_exact_short(value, digits) or value in (sp.oo, -sp.oo, sp.zoo):
            return True, value
        return False, value.evalf(15)
    return True, value


# an equation wider than this (in characters of LaTeX source) is stacked, one part per line
_WIDE = 110


def equation_parts(step: Step, digits: int = 4) -> dict[str, Any]:
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
        exact, shown = shown_value(step.value, digits)
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


def value_tex(value: Any, digits: int = 4) -> NoEscape:
    """A parameter or answer value as LaTeX: numbers and arrays typeset, text escaped."""
    if isinstance(value, NoEscape):
        return value
    if isinstance(value, (list, tuple)) and value and all(
        isinstance(v, (int, float, sp.Basic)) and not isinstance(v, bool) for v in value
    ):
        row = sp.Matrix([[v if isinstance(v, sp.Basic) else _number(v) for v in value]])
        return NoEscape("$" + tex(shown_value(row, digits)[1], digits=digits) + "$")
    if (
        isinstance(value, (list, tuple))
        and value
        and all(isinstance(r, (list, tuple)) and r for r in value)
        and len({len(r) for r in value}) == 1
        and all(isinstance(v, (int, float, sp.Basic)) and not isinstance(v, bool)
                for r in value for v in r)
    ):
        mat = sp.Matrix([[v if isinstance(v, sp.Basic) else _number(v) for v in r] for r in value])
        return NoEscape("$" + tex(shown_value(mat, digits)[1], digits=digits) + "$")
    if isinstance(value, (list, tuple)):
        return NoEscape(", ".join(value_tex(v, digits) for v in value))
    if isinstance(value, sp.Basic) or (isinstance(value, (int, float)) and
                                      not isinstance(value, bool)):
        num = value if isinstance(value, sp.Basic) else _number(value)
        return NoEscape("$" + tex(shown_value(num, digits)[1], digits=digits) + "$")
    if value is None:
        return NoEscape("--")
    return breakable_tex(str(value))


BREAK_EVERY = 16
"""A run of this many characters without a space gets a break point (``\\hspace{0pt}``)."""


def breakable_tex(value: str) -> NoEscape:
    """Text escaped for LaTeX, with a break point inside every long word, so that a long model
    string or label wraps instead of running into the margin (or stalling the line breaker)."""
    out: list[str] = []
    for word in value.split(" "):
        chunks = [word[i:i + BREAK_EVERY] for i in range(0, len(word), BREAK_EVERY)] or [""]
        out.append(r"\hspace{0pt}".join(escape_latex(c) for c in chunks))
    return NoEscape(" ".join(out))


def short_values(values: Any, digits: int = 3) -> list[NoEscape]:
    """Each value as short inline LaTeX for a figure: numbers rounded, vectors as (a, b) whose
    inexact entries share their number of decimals."""
    out: list[NoEscape] = []
    for value in values:
        if isinstance(value, (list, tuple)):
            row = sp.Matrix([[v if isinstance(v, sp.Basic) else _number(v) for v in value]])
            shown = shown_value(row, digits)[1]
            inner = ", ".join(tex(v, digits=digits, fixed=True) for v in shown)
            out.append(NoEscape(f"$({inner})$"))
        else:
            num = value if isinstance(value, sp.Basic) else _number(value)
            out.append(NoEscape("$" + tex(shown_value(num, digits)[1], digits=digits) + "$"))
    return out


def matrix_rows(value: Any) -> list[list[float]]:
    """A SymPy matrix (or nested list) as rows of floats, for figures that draw numbers."""
    if isinstance(value, sp.MatrixBase):
        return [[float(value[i, j]) for j in range(value.cols)] for i in range(value.rows)]
    return [[float(v) for v in row] for row in value]


def _number(value: int | float) -> sp.Basic:
    return sp.Integer(value) if isinstance(value, int) else sp.Float(value)


def shape_text(shape: list[int | None]) -> str:
    """A Keras-style shape: ``(None, 3, 30)``; an unknown sequence length shows as ``T``."""
    parts = ["None" if i == 0 else ("T" if d is None else str(d)) for i, d in enumerate(shape)]
    return "(" + ", ".join(parts) + ")"
