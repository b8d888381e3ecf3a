"""A derivation's steps and answers for the terminal, in one language."""

from __future__ import annotations

from typing import Any

import sympy as sp

from dlexam.derivations.notation import text
from dlexam.templates.prose import _value_text, prose_text
from dlexam.templates.values import shown_value


def _answer_text(value: Any, digits: int = 6) -> str:
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_answer_text(v, digits) for v in value) + "]"
    if isinstance(value, sp.Basic):
        _exact, shown = shown_value(value, digits)
        return text(shown, digits=digits)
    return _value_text(value, digits)


def render_text(result: Any, lang: str) -> str:
    """A derivation's steps and answers for the terminal, in one language."""
    summary = prose_text(lang, result.derivation.replace("-", "_") + ".summary")
    lines = [f"{result.derivation}: {summary}"]
    lines.append("")
    lines.append(prose_text(lang, "terminal.steps"))
    for number, step in enumerate(result.steps, start=1):
        lines.append(f"{number:3}. {prose_text(lang, step.key, step.data)}")
        if step.symbolic is not None:
            parts = [text(step.lhs)] if step.lhs is not None else []
            parts.append(text(step.symbolic))
            if step.substituted is not None and text(step.substituted) != parts[-1]:
                parts.append(text(step.substituted))
            rel = " = "
            if step.value is not None:
                exact, shown = shown_value(step.value, 6)
                value_text = text(shown, digits=6)
                if value_text != parts[-1]:
                    parts.append(value_text)
                    rel = " = " if exact else " ≈ "
            line = " = ".join(parts[:-1]) + (rel if len(parts) > 1 else "") + parts[-1]
            lines.append(f"     {line}")
    lines.append("")
    lines.append(prose_text(lang, "terminal.answers"))
    for name, value in result.answers.items():
        lines.append(f"  {name} = {_answer_text(value)}")
    return "\n".join(lines)
