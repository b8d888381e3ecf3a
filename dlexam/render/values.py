"""Values in LaTeX templates: a step's equation in parts, values through the one renderer
(:mod:`dlexam.notation.display`), shapes and figure numbers."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
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


WIDE_DECIMALS = 2
"""The decimals of a step's inexact matrix value set again when it is too wide for the line."""
BLOCK_COLUMNS = 8
"""The most columns of one block when a wide matrix value is set in blocks of columns."""


@dataclass(frozen=True)
class WideForms:
    """The other forms of a matrix for a line too narrow for it (:func:`wide_forms`)."""

    fewer: str  # with fewer decimals (an inexact value; else as it is)
    blocks: tuple[str, ...]  # its columns in blocks, each labelled, set one under another
    transposed: str  # transposed, with a note

    def args(self, full: str, lead: str = "", display: bool = False) -> str:
        """The arguments of ``\\dlxwide`` after its name: each form as inline math, ``lead``
        (a relation) before it and before the first block."""
        style = r"\displaystyle " if display else ""

        def math(body: str, first: bool = True) -> str:
            return f"${style}{lead if first else ''}{body}$"

        blocks = "%\n".join(rf"\dlxblock{{{math(b, k == 0)}}}"
                             for k, b in enumerate(self.blocks))
        # one form a line: TeX reads a source line of at most 200,000 characters
        return "%\n".join(f"{{{part}}}" for part in (
            math(full), math(self.fewer), math(self.blocks[0]), blocks, math(self.transposed)))


def wide_forms(value: sp.MatrixBase, exact: bool, digits: int) -> WideForms | None:
    """The other forms of a matrix (a step's value, an answer) for a line too narrow for it,
    ``\\dlxwide`` choosing among them by measured width: with fewer decimals (an inexact value),
    its columns in blocks of at most :data:`BLOCK_COLUMNS`, and transposed with a note (these two
    with all the decimals again: the narrower form did not fit); None for a value of one
    column."""
    if value.cols < 2:
        return None
    places = digits if exact else min(digits, WIDE_DECIMALS)
    count = -(-value.cols // BLOCK_COLUMNS) if value.cols > BLOCK_COLUMNS else 2
    width = -(-value.cols // count)
    blocks = tuple(
        r"\begin{array}{@{}l@{}}" + rf"\text{{\dlxcolumns{{{first + 1}}}"
        rf"{{{min(first + width, value.cols)}}}}} \\ "
        + tex(value[:, first:first + width], digits=digits) + r"\end{array}"
        for first in range(0, value.cols, width))
    transposed = (r"\begin{array}{@{}l@{}}" + tex(value.T, digits=digits) + r"^{\top}"
                  r" \\ \text{\dlxtransposed}\end{array}")
    return WideForms(tex(value, digits=places), blocks, transposed)


def _display_pieces(lhs: str, parts: list[tuple[str, str, bool]],
                    wide: Mapping[str, WideForms] | None = None) -> str:
    """The pieces of an equation, each measured and shrunk only when wider than the line on its
    own, with a break allowed between pieces (preferred before a relation); a matrix value with
    other forms (``wide``: its LaTeX -> :func:`wide_forms`) is set by ``\\dlxwide``."""
    out = [rf"\dlxshrink{{$\displaystyle {lhs}$}}"] if lhs else []
    for p, (rel, part, optional) in enumerate(parts):
        if wide and part in wide and not optional:
            out.append(rf"\dlxbreak{{{-100 if p > 0 else 0}}}\dlxwide"
                       + wide[part].args(part, f"{{}}{rel} ", display=True))
            continue
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
    wide: dict[str, WideForms] = {}
    if step.value is not None:
        exact, shown = displayed(step.value, digits)
        value = tex(shown, digits=digits)
        rel = "=" if exact else r"\approx"
        if value in (substituted, symbolic):
            value = ""
        forms = wide_forms(shown, exact, digits) if value and isinstance(
            shown, sp.MatrixBase) else None
        if forms is not None:
            wide[value] = forms
    parts = [("=", symbolic, False)] + ([("=", substituted, bool(value))] if substituted else [])
    parts += [(rel, value, False)] if value else []
    one_line = lhs + "".join(f" {r} {p}" for r, p, _ in parts)
    stacked = (r"\begin{aligned}" + lhs
               + r" \\ ".join(f" &{r} {p}" for r, p, _ in parts) + r"\end{aligned}")
    display = (rf"\dlxdisplay{{{one_line}}}{{{stacked}}}"
               rf"{{{_display_pieces(lhs, parts, wide)}}}")
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
    shown = render(value, "latex", "prose", digits=digits, lists="tuple" if long else "matrix")
    matrix = _matrix_of(value) if wrap else None
    if matrix is not None and matrix.rows > 1 and shown.startswith(r"\dlxfit{$"):
        # a matrix answer too wide for the line: fewer decimals, blocks of columns or
        # transposed, as TeX measures (\dlxwide), rather than shrunk out of legibility
        places = DIGITS["prose"] if digits is None else digits
        exact, matrix = displayed(matrix, places)
        forms = wide_forms(matrix, exact, places)
        if forms is not None:  # \dlxwide places it as \dlxfit would
            body = shown[len(r"\dlxfit{$"):-len("$}")]
            return NoEscape(r"\dlxwide" + forms.args(body))
    return NoEscape(shown)


def _matrix_of(value: Any) -> sp.MatrixBase | None:
    """A matrix of numbers (a SymPy matrix or a list of equal rows of numbers), or None."""
    if isinstance(value, sp.MatrixBase):
        return value
    if (isinstance(value, (list, tuple)) and value
            and all(isinstance(r, (list, tuple)) and r for r in value)
            and len({len(r) for r in value}) == 1
            and all(is_number(v) for r in value for v in r)):
        return sp.Matrix([[v if isinstance(v, sp.Basic) else sp.Integer(v) if isinstance(
            v, int) else sp.Float(v) for v in r] for r in value])
    return None


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
