"""The Jinja environment for LaTeX templates: LaTeX-safe delimiters, strict, escaping by type.

Every value printed by a template is LaTeX-escaped unless it is a :class:`pylatex.NoEscape`
produced by our own printer, catalogs or macros.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

import jinja2
from markupsafe import Markup
from pylatex import NoEscape
from pylatex.utils import escape_latex

from dlexam.langs import cjk_fonts, language
from dlexam.notation import sym, tex
from dlexam.notation.display import displayed, laid_out
from dlexam.render.prose import prose_tex
from dlexam.render.values import (
    equation_parts,
    matrix_rows,
    shape_text,
    short_values,
    value_tex,
)


class TemplateUsageError(ValueError):
    """A template called a macro with parameters it cannot draw (a bug in the calling template)."""


def _raise_error(message: str) -> None:
    raise TemplateUsageError(message)


def _finalize(value: Any) -> Markup:
    """Jinja's output hook: everything not marked as trusted LaTeX is LaTeX-escaped.

    Trusted LaTeX is a :class:`pylatex.NoEscape` (our printer, our catalogs after escaping) or a
    macro's output. The result is a ``Markup`` so that Jinja's own (HTML) autoescape, which is on
    only to make macro output trusted, leaves it alone.
    """
    if isinstance(value, (NoEscape, Markup)):
        return Markup(value)
    if value is None:
        raise ValueError("a template printed None")
    return Markup(escape_latex(str(value)))


def _message(lang: str, key: str, data: Mapping[str, Any] | None = None) -> NoEscape:
    """A catalog message as LaTeX; a field given one value per language (a question's label,
    ``{"en": "Q4", "zh-Hant": "第四題"}``) takes the message's language's."""
    if data:
        data = {k: v[lang] if isinstance(v, Mapping) and lang in v else v
                for k, v in data.items()}
    return prose_tex(lang, key, data)


@cache
def latex_env() -> jinja2.Environment:
    """The Jinja environment for LaTeX templates: LaTeX-safe delimiters, strict, escaping."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("dlexam", "templates/latex"),
        block_start_string="((*",
        block_end_string="*))",
        variable_start_string="(((",
        variable_end_string=")))",
        comment_start_string="((=",
        comment_end_string="=))",
        line_comment_prefix="%#",
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        finalize=_finalize,
    )
    env.globals.update(
        t=_message,
        m=lambda expr, digits=4, numbers=False: NoEscape(tex(expr, digits=digits, numbers=numbers)),
        raw=NoEscape,
        shown=displayed,
        eq=equation_parts,
        shape_text=shape_text,
        value_tex=value_tex,
        sym=sym,
        short=short_values,
        rows=matrix_rows,
        raise_error=_raise_error,
        language=language,
        cjk_fonts=cjk_fonts,
        # a language's text in a document: opened and closed by its record's wrapper (``\zh{``
        # ... ``}``), nothing for a language without one
        lopen=lambda lang: NoEscape(language(lang).wrapper + "{" if language(lang).wrapper else ""),
        lclose=lambda lang: NoEscape("}" if language(lang).wrapper else ""),
    )
    # a derivation's steps as the layout shows them: every template loops over ``r.steps|laid_out``
    env.filters["laid_out"] = laid_out
    return env


def render(template: str, **context: Any) -> NoEscape:
    """Renders one LaTeX template; the result is trusted LaTeX."""
    body = latex_env().get_template(template).render(**context)
    return NoEscape(f"% dlexam-template: {template}\n{body}")
