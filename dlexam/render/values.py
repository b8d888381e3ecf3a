"""Values in LaTeX templates: a step's equation in parts, values through the one renderer
(:mod:`dlexam.notation.display`), shapes and figure numbers."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import sympy as sp
from pylatex import NoEscape

from dlexam.derivations.core import Step
from dlexam.notation import tex
from dlexam.notation.display import DIGITS, LAYOUT, breakable_tex, displayed, is_number, render


def top_level_terms(latex: str) -> list[str]:
    """A formula's LaTeX (our printer's) cut before each operator outside every group (braces,
    ``\\left...\\right``, environments): ``a + b - \\frac{c}{d}`` -> ``a``, ``+ b``,
    ``- \\frac{c}{d}``. The places where a display too wide for the line may break."""
    pieces: list[str] = []
    depth = 0
    start = 0
    i = 0
    n = len(latex)
    while i < n:
        ch = latex[i]
        if ch == "\\":
            word = re.match(r"\\([A-Za-z]+|.)", latex[i:])
            name = word.group(1) if word else ""
            if name in ("left", "begin"):
                depth += 1
            elif name in ("right", "end"):
                depth -= 1
            elif depth == 0 and name in ("cdot", "times", "approx") and i > start:
                pieces.append(latex[start:i].strip())
                start = i
            i += 1 + len(name)
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif (depth == 0 and ch in "+-=" and i > start and latex[i - 1] == " "
              and i + 1 < n and latex[i + 1] == " " and latex[start:i].strip()):
            pieces.append(latex[start:i].strip())
            start = i
        i += 1
    pieces.append(latex[start:].strip())
    return [p for p in pieces if p]


def _display_pieces(lhs: str, parts: list[tuple[str, str, bool]]) -> str:
    """The pieces of an equation, each measured and shrunk only when wider than the line on its
    own, with a break allowed between pieces (preferred before a relation)."""
    out = [rf"\dlxshrink{{$\displaystyle {lhs}$}}"] if lhs else []
    for p, (rel, part, optional) in enumerate(parts):
        # a piece of the numbers put in that is wider than the line is left out and named
        # (the value follows; --json has the numbers), not shrunk out of legibility
        box = r"\dlxdrop" if optional else r"\dlxshrink"
        for k, term in enumerate(top_level_terms(part)):
            lead = f"{{}}{rel} {term}" if k == 0 and rel else f"{{}}{term}"
            # the formula stays beside its name when it can; later relations start a line
            out.append(rf"\dlxbreak{{{-100 if k == 0 and p > 0 else 0}}}"
                       rf"{box}{{$\displaystyle {lead}$}}")
    return "".join(out)


def equation_parts(step: Step, digits: int = DIGITS["formula"]) -> dict[str, Any]:
    """The typeset parts of a step's equation: lhs, formula, numbers put in, value, and
    ``display``: the whole equation as ``\\dlxdisplay`` (one line, stacked, or broken into
    pieces, whichever TeX measures to fit the line).

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
    parts = [("=", symbolic, False)] + ([("=", substituted, bool(value))] if substituted else [])
    parts += [(rel, value, False)] if value else []
    one_line = lhs + "".join(f" {r} {p}" for r, p, _ in parts)
    stacked = (r"\begin{aligned}" + lhs
               + r" \\ ".join(f" &{r} {p}" for r, p, _ in parts) + r"\end{aligned}")
    display = rf"\dlxdisplay{{{one_line}}}{{{stacked}}}{{{_display_pieces(lhs, parts)}}}"
    return {
        "lhs": NoEscape(lhs),
        "symbolic": NoEscape(symbolic),
        "substituted": NoEscape(substituted),
        "value": NoEscape(value),
        "rel": NoEscape(rel),
        "display": NoEscape(display),
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
