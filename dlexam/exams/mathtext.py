"""Untrusted exam text: ``{param}`` fields, ``$...$`` mathematics, and the rest literal.

The mathematics is TeX as people write it, read by the grammar of
:mod:`dlexam.notation.texmath` (a tokenizer and parser of our own, a whitelist of commands) into a
tree that is printed again as TeX or as plain text: nothing of it is passed through to TeX as
written, and an unknown command is refused. All other text is LaTeX-escaped, so
``\\input``, ``\\write18``, ``^^5c`` or ``\\catcode`` print as the characters
they are.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from typing import Any

from pylatex import NoEscape
from pylatex.utils import escape_latex

from dlexam.errors import InputError, Said, echo
from dlexam.notation.display import Phrase
from dlexam.notation.texmath import TexMathError, parse, to_tex, to_text

_MATH = re.compile(r"\$(?P<math>[^$]+)\$")


def _notation() -> dict[str, tuple[str, str]]:
    """The notation table's symbols a word may name (``softmax``, ``vocab``): keys of letters
    only, longer than one letter (a single letter is the letter, as TeX sets it)."""
    import dlexam.derivations  # noqa: F401  (every topic registers its symbols)
    from dlexam.notation import SYMBOLS

    return {key: forms for key, forms in SYMBOLS.items() if key.isalpha() and len(key) > 1}


def masked(source: str) -> str:
    """``source`` with each ``$...$`` formula's characters replaced by ``x``: what the text
    fonts must set (a formula's ``β`` or ``⊙`` is typeset as TeX mathematics, and the
    grammar refuses a character it does not know), its positions unchanged."""
    return _MATH.sub(lambda m: "$" + "x" * (len(m.group()) - 2) + "$", source)


def check_math(path: str, source: str, names: Sequence[str] = ()) -> None:
    """Checks every ``$...$`` of an exam text.

    Raises:
        InputError: naming ``path``, the formula and why it is refused.
    """
    notation = _notation()
    for match in _MATH.finditer(source):
        try:
            parse(match.group("math"), names, notation)
        except TexMathError as err:
            raise InputError(path, Said("authoring.math"),
                             Said("authoring.formula", formula=echo(match.group("math")),
                                  why=err.said)) from None


def _math_out(source: str, names: Sequence[str], as_tex: bool) -> str:
    tree = parse(source, names, _notation())
    return to_tex(tree) if as_tex else to_text(tree)


def _pieces(source: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    last = 0
    for match in _MATH.finditer(source):
        out.append(("text", source[last:match.start()]))
        out.append(("math", match.group("math")))
        last = match.end()
    out.append(("text", source[last:]))
    return [p for p in out if p[1]]


_FIELD = re.compile(r"\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)\}")


def render(source: str, data: Mapping[str, Any], as_tex: bool,
           names: Sequence[str] = (), as_html: bool = False) -> str:
    """An exam text with its fields filled and its mathematics printed.

    A ``{name}`` naming a field of ``data`` is the value, typeset; any other brace is literal
    text. Text is LaTeX-escaped (``as_tex``), HTML-escaped with its mathematics as TeX between
    ``\\(`` and ``\\)`` for MathJax (``as_html``), or kept as it is.
    """
    from dlexam.notation.display import quotes_tex
    from dlexam.render.prose import MATHJAX_INLINE, _value_html, _value_tex, _value_text

    def literal(text: str) -> str:
        if as_tex:
            return quotes_tex(escape_latex(text), parts[-1] if parts else "")
        return html.escape(text) if as_html else text

    def value_of(value: Any) -> str:
        if as_html:
            return _value_html(value, MATHJAX_INLINE)
        return _value_tex(value) if as_tex else _value_text(value)

    parts: list[str] = []
    for kind, piece in _pieces(source):
        if kind == "math":
            shown = _math_out(piece, [*names, *data], as_tex or as_html)
            parts.append(f"${shown}$" if as_tex else html.escape(
                MATHJAX_INLINE[0] + shown + MATHJAX_INLINE[1]) if as_html else shown)
            continue
        last = 0
        for match in _FIELD.finditer(piece):
            if match.group("name") not in data:
                continue
            parts.append(literal(piece[last:match.start()]))
            parts.append(value_of(data[match.group("name")]))
            last = match.end()
        parts.append(literal(piece[last:]))
    return NoEscape("".join(parts)) if as_tex else "".join(parts)


def asked_labels(question: Any, asked: Sequence[Mapping[str, Any]]) -> list[Phrase]:
    """The labels of the items a question asks, in the file's order (``asked``: the variant's
    key entries, whose values say whether a position picks an entry, a row or a part)."""
    from dlexam.render.labels import answer_label

    return [answer_label(question.spec, item.answer, item.index, entry["expected"])
            for item, entry in zip(question.items, asked, strict=True)]


def statements(question: Any, params: Mapping[str, Any], langs: Sequence[str],
               as_tex: bool = False, as_html: bool = False,
               asked: Sequence[Mapping[str, Any]] | None = None) -> dict[str, str]:
    """A question's statement in each language with the variant's numbers: the file's ``text``
    when it gives one (untrusted: fields filled, mathematics parsed, the rest escaped), else the
    derivation's own statement from the catalogs, whose task sentence names exactly the items
    the file asks (``asked``: the variant's key entries; None: every answer, the derivation's
    own task); as LaTeX, as HTML for MathJax (``\\(`` and ``\\)``, as Moodle's filter reads it)
    or as plain text. The statement's fields are worked out once for all the languages."""
    from dlexam.render.prose import MATHJAX_INLINE, prose_html, prose_tex, prose_text, worded
    from dlexam.render.question import keyed

    derivation = question.spec
    if question.text is None:
        key, data = keyed(derivation, params,
                          None if asked is None else asked_labels(question, asked))
        if as_html:
            return {lang: prose_html(lang, key, data, MATHJAX_INLINE) for lang in langs}
        fill = prose_tex if as_tex else prose_text
        return {lang: fill(lang, key, data) for lang in langs}
    # the file's fields are the question's values; the derivation's own sentences (a Phrase,
    # such as the mask's) are its statement's, not the file's: such a brace stays literal
    data = {k: v for k, v in derivation.question_data(params).items()
            if not isinstance(v, Phrase)}
    backend = "html" if as_html else "latex" if as_tex else "text"
    # a piecewise value's words in the text's language (render's values are language-free)
    return {lang: _same_kind(worded(lang, render(
        question.text.get(lang) or next(iter(question.text.values())), data, as_tex,
        as_html=as_html), backend), as_tex) for lang in langs}


def _same_kind(text: str, as_tex: bool) -> str:
    return NoEscape(text) if as_tex else text

