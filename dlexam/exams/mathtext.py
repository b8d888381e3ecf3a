"""Untrusted exam text: ``{param}`` fields, ``$...$`` mathematics, and the rest literal.

The mathematics is read by the checker's grammar (:mod:`dlexam.check.typed`: numbers,
``+ - * / ^ ( ) { }``, its functions and LaTeX words, nothing else) in the dialect of exam text
(:data:`EXAM_TEXT`: the names a question may use, its parameters and dimension names, the
notation table's symbols, single letters), built into a SymPy expression by :func:`to_sympy`
and printed by our own printer. Nothing of it is passed through to TeX; all other text is
LaTeX-escaped, so ``\\input``, ``\\write18``, ``^^5c`` or ``\\catcode`` print as the characters
they are.
"""

from __future__ import annotations

import html
import re
import string
from collections.abc import Mapping, Sequence
from typing import Any

import sympy as sp
from pylatex import NoEscape
from pylatex.utils import escape_latex

from dlexam.check.typed import (
    Call,
    Constant,
    Dialect,
    Fraction_,
    Node,
    Number,
    Power,
    Product,
    Signed,
    Sum,
    Symbol,
    TypedError,
    parse_items,
    tokenize,
)
from dlexam.errors import InputError, Said
from dlexam.notation import lookup, sym, tex, text
from dlexam.notation.display import Phrase

_MATH = re.compile(r"\$(?P<math>[^$]+)\$")
_RELATION = re.compile(r"\\(?:approx|leq?|geq?|neq?)(?![A-Za-z])|[=<>≈≤≥≠]")
_REL_TEX = {"=": "=", "<": "<", ">": ">", "≈": r"\approx", "≤": r"\le", "≥": r"\ge",
            "≠": r"\ne", r"\approx": r"\approx", r"\le": r"\le", r"\leq": r"\le",
            r"\ge": r"\ge", r"\geq": r"\ge", r"\ne": r"\ne", r"\neq": r"\ne"}
_REL_TEXT = {r"\approx": "≈", r"\le": "≤", r"\ge": "≥", r"\ne": "≠"}
_FUNCTIONS: dict[str, Any] = {
    "sqrt": sp.sqrt, "exp": sp.exp, "log": sp.log, "ln": sp.log, "tanh": sp.tanh,
    "sin": sp.sin, "cos": sp.cos, "abs": sp.Abs,
    "sigmoid": sp.Function("sigma"), "sigma": sp.Function("sigma"), "σ": sp.Function("sigma"),
    "log2": sp.Function("log_2"), "log10": sp.Function("log_10"),
}
_CONSTANTS = {"e": sp.E, "pi": sp.pi, "π": sp.pi}


def _registered(name: str) -> bool:
    """True for a symbol of the notation (the registry loads the topics' symbols first)."""
    try:
        lookup(name)
    except KeyError:
        return False
    return True
_FORMATTER = string.Formatter()


def _name(parser: Any, name: str) -> Node:
    """A name that is neither a function nor a constant, in exam text: a symbol of the
    notation, a parameter or dimension of the question, a single letter, or one of those with
    a subscript (``h_t``, ``h_{t-1}``)."""
    if _registered(name):
        return Symbol(name)
    names = parser.dialect_names
    base = name.split("_", 1)[0]

    def known(n: str) -> bool:
        return n in names or (len(n) == 1 and n.isalpha())

    if name.endswith("_") and parser.peek().kind == "op" and parser.peek().text == "{":
        sub = parser.group()  # h_{t-1}: a subscript in braces
        if known(base):
            return Symbol(base, sub)
        _unknown(base)
    if known(name) or (known(base) and re.fullmatch(r"[A-Za-z0-9]+", name[len(base) + 1:] or "")):
        return Symbol(name)
    _unknown(name)
    raise AssertionError  # _unknown raises


def _unknown(name: str) -> None:
    raise TypedError(Said("exam.errors.unknown_symbol", name=repr(name)))


EXAM_TEXT = Dialect(percent=False, frac_digits=False, implicit_before_number=True,
                    missing="expected {text!r} at character {position}",
                    ends_early="the formula ends too early", name=_name)
"""The grammar as exam text reads it: 2 3 is a product, no percentages, names of the
question and the notation."""


def to_sympy(node: Node) -> sp.Basic:
    """The SymPy back-end (exam text): a tree as an unevaluated expression, printed as written."""
    if isinstance(node, Number):
        text = node.text
        return sp.Integer(text) if text.isdigit() else sp.Float(text, max(len(text), 15))
    if isinstance(node, Sum):
        terms = [to_sympy(t) if sign == "+" else sp.Mul(-1, to_sympy(t), evaluate=False)
                 for sign, t in node.terms]
        return sp.Add(*terms, evaluate=False)
    if isinstance(node, Product):
        right = to_sympy(node.right)
        if node.op == "/":
            right = sp.Pow(right, -1, evaluate=False)
        return sp.Mul(to_sympy(node.left), right, evaluate=False)
    if isinstance(node, Signed):
        value = to_sympy(node.operand)
        return sp.Mul(-1, value, evaluate=False) if node.sign == "-" else value
    if isinstance(node, Power):
        return sp.Pow(to_sympy(node.base), to_sympy(node.exponent), evaluate=False)
    if isinstance(node, Fraction_):
        return sp.Mul(to_sympy(node.top), sp.Pow(to_sympy(node.bottom), -1, evaluate=False),
                      evaluate=False)
    if isinstance(node, Call):
        return _FUNCTIONS[node.name](to_sympy(node.argument), evaluate=False)
    if isinstance(node, Constant):
        return _CONSTANTS[node.name]
    if isinstance(node, Symbol):
        if node.subscript is not None:
            return sp.Symbol(f"{node.name}_{{{tex(to_sympy(node.subscript))}}}")
        return sym(node.name) if _registered(node.name) else sp.Symbol(node.name)
    raise TypedError(Said("exam.errors.not_exam_text", node=repr(node)))  # a percentage


def parse_math(source: str, names: Sequence[str] = ()) -> list[tuple[str, list[sp.Basic]]]:
    """``$...$`` content -> its sides: (relation before it, or "", comma-separated items).

    Raises:
        TypedError: the formula is refused (the message says why).
    """
    sides: list[tuple[str, list[sp.Basic]]] = []
    last, relation = 0, ""
    pieces = []
    for match in _RELATION.finditer(source):
        pieces.append((relation, source[last:match.start()]))
        relation, last = _REL_TEX[match.group()], match.end()
    pieces.append((relation, source[last:]))
    for rel, piece in pieces:
        tokens = tokenize(piece)
        if len(tokens) == 1:
            sides.append((rel, []))
            continue
        items = parse_items(piece, EXAM_TEXT, names=names)
        sides.append((rel, [to_sympy(item) for item in items]))
    return sides


def check_math(path: str, source: str, names: Sequence[str] = ()) -> None:
    """Checks every ``$...$`` of an exam text.

    Raises:
        InputError: naming ``path`` and why the formula is refused.
    """
    for match in _MATH.finditer(source):
        try:
            parse_math(match.group("math"), names)
        except TypedError as err:
            raise InputError(path, Said("exam.errors.math"), Said(
                "exam.errors.formula", math=f"${match.group('math')}$",
                why=err.args[0] if err.args else "")) from None


def _math_out(source: str, names: Sequence[str], as_tex: bool) -> str:
    parts: list[str] = []
    for rel, items in parse_math(source, names):
        if rel:
            parts.append(f" {rel} " if as_tex else f" {_REL_TEXT.get(rel, rel)} ")
        printed = [tex(e) if as_tex else text(e) for e in items]
        parts.append(", ".join(printed))
    return "".join(parts).strip()


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
    from dlexam.render.prose import MATHJAX_INLINE, _value_html, _value_tex, _value_text

    def literal(text: str) -> str:
        return escape_latex(text) if as_tex else html.escape(text) if as_html else text

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


def statements(question: Any, params: Mapping[str, Any], langs: Sequence[str],
               as_tex: bool = False, as_html: bool = False) -> dict[str, str]:
    """A question's statement in each language with the variant's numbers: the file's ``text``
    when it gives one (untrusted: fields filled, mathematics parsed, the rest escaped), else the
    derivation's own statement from the catalogs; as LaTeX, as HTML for MathJax (``\\(`` and
    ``\\)``, as Moodle's filter reads it) or as plain text. The statement's fields are worked
    out once for all the languages."""
    from dlexam.render.prose import MATHJAX_INLINE, prose_html, prose_tex, prose_text
    from dlexam.render.question import keyed

    derivation = question.spec
    if question.text is None:
        key, data = keyed(derivation, params)
        if as_html:
            return {lang: prose_html(lang, key, data, MATHJAX_INLINE) for lang in langs}
        fill = prose_tex if as_tex else prose_text
        return {lang: fill(lang, key, data) for lang in langs}
    # the file's fields are the question's values; the derivation's own sentences (a Phrase,
    # such as the mask's) are its statement's, not the file's: such a brace stays literal
    data = {k: v for k, v in derivation.question_data(params).items()
            if not isinstance(v, Phrase)}
    return {lang: render(question.text.get(lang) or next(iter(question.text.values())), data,
                         as_tex, as_html=as_html) for lang in langs}

