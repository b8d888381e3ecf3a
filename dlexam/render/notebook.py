"""Rich displays for Jupyter: a derivation's steps and a check report as typeset mathematics.

A front end shows the richest of them: HTML (math between dollar signs, typeset by MathJax),
Markdown (the same), or one LaTeX block of equations.
"""

from __future__ import annotations

import html
from typing import Any

from dlexam.derivations.core import VIEWS
from dlexam.notation.display import laid_out
from dlexam.render.prose import prose_html, prose_text, worded
from dlexam.render.values import equation_parts, value_tex


def equation_line(step: Any, lang: str = "en") -> str | None:
    """A step's equation as one line of LaTeX (formula = numbers put in = value), its words in
    ``lang``."""
    if step.symbolic is None:
        return None
    parts = equation_parts(step)
    pieces = [p for p in (parts["lhs"], parts["symbolic"], parts["substituted"]) if p]
    text = " = ".join(pieces)
    if parts["value"]:
        text += f" {parts['rel']} {parts['value']}"
    return worded(lang, text)


def result_html(result: Any, lang: str = "en") -> str:
    """The steps and answers as HTML with MathJax math."""
    summary = prose_html(lang, result.derivation.replace("-", "_") + ".summary")
    rows = [f"<p><strong>{html.escape(result.derivation)}</strong>: {summary}</p>", "<ol>"]
    for step in laid_out(result.steps):
        rows.append(f"<li>{prose_html(lang, step.key, step.data)}")
        equation = equation_line(step, lang)
        if equation:
            rows.append(f"<br>$${html.escape(equation)}$$")
        rows.append("</li>")
    rows.append("</ol>")
    rows.append(f"<p><strong>{html.escape(prose_text(lang, 'terminal.answers'))}</strong></p>")
    rows.append("<ul>")
    for name, value in result.answers.items():
        rows.append(f"<li><code>{html.escape(name)}</code> = "
                    f"{html.escape(_inline(value))}</li>")
    rows.append("</ul>")
    return "\n".join(rows)


def result_markdown(result: Any, lang: str = "en") -> str:
    """The steps and answers as Markdown with math (the same content as the HTML)."""
    return result_html(result, lang)


def result_latex(result: Any) -> str:
    """The equations of the steps as one LaTeX display."""
    lines = [e for e in (equation_line(s) for s in laid_out(result.steps)) if e]
    return "$$\\begin{aligned}" + " \\\\ ".join("&" + line for line in lines) + \
        "\\end{aligned}$$"


def _inline(value: Any) -> str:
    rendered = str(value_tex(list(value) if isinstance(value, tuple) else value))
    return rendered


VIEWS.update(html=result_html, markdown=result_markdown, latex=result_latex)
