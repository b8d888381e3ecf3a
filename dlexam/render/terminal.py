"""A derivation's steps and answers for the terminal, in one language."""

from __future__ import annotations

from typing import Any

import sympy as sp

from dlexam.notation import text
from dlexam.notation.display import (
    DIGITS,
    displayed,
    entries,
    is_number,
    laid_out,
    render,
    rows_entries,
)
from dlexam.notation.printers import shared_places
from dlexam.render.prose import prose_text, worded

SUMMARY_ROWS = 8
"""A matrix with more rows or columns than this is shown by its shape and corner entries."""
SUMMARY_ITEMS = 16
"""A list longer than this is shown by its length and first and last items."""


def _corners(value: sp.MatrixBase, digits: int) -> str:
    """A large matrix by its shape and corner entries, which share the whole matrix's
    decimals."""
    shown = displayed(value, digits)[1]
    places = shared_places(list(shown), digits)

    def cell(i: int, j: int) -> str:
        x = shown[i, j]
        return text(x, digits=digits, places=places) if isinstance(x, sp.Basic) else str(x)

    def row(i: int) -> str:
        cols = shown.cols
        if cols <= 4:
            return "[" + ", ".join(cell(i, j) for j in range(cols)) + "]"
        return f"[{cell(i, 0)}, {cell(i, 1)}, ..., {cell(i, cols - 2)}, {cell(i, cols - 1)}]"

    rows = [row(0), row(1), "...", row(shown.rows - 2), row(shown.rows - 1)] if (
        shown.rows > 4) else [row(i) for i in range(shown.rows)]
    return f"({shown.rows} x {shown.cols}, corners) [" + ", ".join(rows) + "]"


def _large(value: Any) -> bool:
    return isinstance(value, sp.MatrixBase) and (value.rows > SUMMARY_ROWS
                                                 or value.cols > SUMMARY_ROWS)


def _answer_text(value: Any) -> str:
    """An answer for the terminal: large matrices and long lists summarised, the rest through
    the one renderer."""
    if _large(value):
        return _corners(value, DIGITS["terminal"])
    if isinstance(value, (list, tuple)) and len(value) > SUMMARY_ITEMS:
        head = ", ".join(_answer_text(v) for v in value[:3])
        tail = ", ".join(_answer_text(v) for v in value[-2:])
        return f"({len(value)} items) [{head}, ..., {tail}]"
    if isinstance(value, (list, tuple)) and value and all(is_number(v) for v in value):
        return "[" + ", ".join(entries(list(value), "text", DIGITS["terminal"])) + "]"
    if (isinstance(value, (list, tuple)) and value
            and all(isinstance(r, (list, tuple)) and r and all(is_number(v) for v in r)
                    for r in value)):
        rows = rows_entries([list(r) for r in value], "text", DIGITS["terminal"])
        return "[" + ", ".join("[" + ", ".join(r) + "]" for r in rows) + "]"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_answer_text(v) for v in value) + "]"
    return render(value, "text", "terminal")


def step_lines(step: Any, lang: str = "en") -> list[str]:
    """A step's equation for the terminal (formula = numbers put in = value), or nothing; its
    words in ``lang``."""
    if step.symbolic is None:
        return []
    parts = [text(step.lhs)] if step.lhs is not None else []
    digits = DIGITS["terminal"]
    if _large(step.symbolic):
        parts.append(_corners(step.symbolic, digits))
        return [" = ".join(parts)]
    parts.append(text(step.symbolic))
    if step.substituted is not None and text(step.substituted) != parts[-1]:
        parts.append(text(step.substituted))
    rel = " = "
    if _large(step.value):
        parts.append(_corners(step.value, digits))
        return [" ≈ ".join(parts) if len(parts) > 1 else parts[0]]
    if step.value is not None:
        exact, shown = displayed(step.value, digits)
        value_text = text(shown, digits=digits)
        if value_text != parts[-1]:
            parts.append(value_text)
            rel = " = " if exact else " ≈ "
    return [worded(lang, " = ".join(parts[:-1]) + (rel if len(parts) > 1 else "") + parts[-1],
                   "text")]


def render_text(result: Any, lang: str) -> str:
    """A derivation's steps and answers for the terminal, in one language."""
    summary = prose_text(lang, result.derivation.replace("-", "_") + ".summary")
    lines = [result.derivation + prose_text(lang, "show.colon") + summary]
    lines.append("")
    lines.append(prose_text(lang, "terminal.steps"))
    for number, step in enumerate(laid_out(result.steps), start=1):
        lines.append(f"{number:3}. {prose_text(lang, step.key, step.data)}")
        lines += [f"     {line}" for line in step_lines(step, lang)]
    lines.append("")
    lines.append(prose_text(lang, "terminal.answers"))
    for name, value in result.answers.items():
        lines.append(f"  {name} = {_answer_text(value)}")
    return "\n".join(lines)
