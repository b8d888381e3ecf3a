"""Untrusted exam text: ``{param}`` fields, ``$...$`` mathematics, and the rest literal.

The mathematics is read with the checker's token grammar (:func:`dlexam.check.typed.tokenize`:
numbers, ``+ - * / ^ ( ) { }``, its functions and LaTeX words, nothing else), built into a SymPy
expression by the small parser below over the names a question may use (its parameters and
dimension names, the notation table's symbols, single letters, the functions the checker knows)
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

from dlexam.check.typed import MAX_DEPTH, TypedError, _Token, tokenize
from dlexam.errors import InputError
from dlexam.notation import lookup, sym, tex, text

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


class _MathParser:
    """Recursive descent over the checker's tokens, building unevaluated SymPy expressions."""

    def __init__(self, tokens: list[_Token], names: Sequence[str]) -> None:
        self.tokens = tokens
        self.i = 0
        self.depth = 0
        self.names = set(names)

    def peek(self) -> _Token:
        return self.tokens[min(self.i, len(self.tokens) - 1)]

    def take(self) -> _Token:
        token = self.peek()
        self.i += 1
        return token

    def is_op(self, *texts: str) -> bool:
        token = self.peek()
        return token.kind == "op" and token.text in texts

    def expect(self, op: str) -> None:
        if not self.is_op(op):
            raise TypedError(f"expected {op!r} at character {self.peek().position + 1}")
        self.take()

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise TypedError(f"nesting deeper than {MAX_DEPTH}")

    def items(self) -> list[sp.Basic]:
        out = [self.expr()]
        while self.is_op(","):
            self.take()
            out.append(self.expr())
        return out

    def expr(self) -> sp.Basic:
        self.enter()
        terms = [self.term()]
        while self.is_op("+", "-"):
            sign = self.take().text
            right = self.term()
            terms.append(right if sign == "+" else sp.Mul(-1, right, evaluate=False))
        self.depth -= 1
        return terms[0] if len(terms) == 1 else sp.Add(*terms, evaluate=False)

    def term(self) -> sp.Basic:
        value = self.unary()
        while True:
            token = self.peek()
            if token.kind == "op" and token.text in "*/":
                self.take()
                right = self.unary()
                if token.text == "/":
                    right = sp.Pow(right, -1, evaluate=False)
                value = sp.Mul(value, right, evaluate=False)
            elif token.kind in ("name", "frac", "number") or self.is_op("(", "{"):
                value = sp.Mul(value, self.unary(), evaluate=False)
            else:
                return value

    def unary(self) -> sp.Basic:
        if self.is_op("-", "+"):
            sign = self.take().text
            self.enter()
            value = self.unary()
            self.depth -= 1
            return sp.Mul(-1, value, evaluate=False) if sign == "-" else value
        base = self.primary()
        if self.is_op("^", "**"):
            self.take()
            self.enter()
            exponent = self.unary()
            self.depth -= 1
            return sp.Pow(base, exponent, evaluate=False)
        return base

    def group(self) -> sp.Basic:
        if self.is_op("{"):
            self.take()
            value = self.expr()
            self.expect("}")
            return value
        return self.primary()

    def primary(self) -> sp.Basic:
        token = self.take()
        if token.kind == "number":
            return sp.Integer(token.text) if token.text.isdigit() else \
                sp.Float(token.text, max(len(token.text), 15))
        if token.kind == "frac":
            self.enter()
            top, bottom = self.group(), self.group()
            self.depth -= 1
            return sp.Mul(top, sp.Pow(bottom, -1, evaluate=False), evaluate=False)
        if token.kind == "op" and token.text in "({":
            value = self.expr()
            self.expect(")" if token.text == "(" else "}")
            return value
        if token.kind == "name":
            return self.name(token.text)
        if token.kind == "end":
            raise TypedError("the formula ends too early")
        raise TypedError(f"unexpected {token.text!r} at character {token.position + 1}")

    def name(self, name: str) -> sp.Basic:
        if name in _FUNCTIONS:
            self.enter()
            argument = self.group() if name == "sqrt" else self._argument(name)
            self.depth -= 1
            return _FUNCTIONS[name](argument, evaluate=False)
        if name in _CONSTANTS:
            return _CONSTANTS[name]
        if _registered(name):
            return sym(name)
        base = name.split("_", 1)[0]
        if name.endswith("_") and self.is_op("{"):  # h_{t-1}: a subscript in braces
            sub = self.group()
            return sp.Symbol(f"{base}_{{{tex(sub)}}}") if self._known(base) else \
                self._unknown(base)
        if self._known(name) or (self._known(base) and re.fullmatch(r"[A-Za-z0-9]+", name[
                len(base) + 1:] or "")):
            return sp.Symbol(name)
        return self._unknown(name)

    def _known(self, name: str) -> bool:
        return name in self.names or (len(name) == 1 and name.isalpha())

    def _unknown(self, name: str) -> sp.Basic:
        raise TypedError(f"{name!r} is neither a parameter of the question, a symbol of the "
                         "notation, a single letter nor a function dlexam reads")

    def _argument(self, name: str) -> sp.Basic:
        if self.is_op("(", "{"):
            return self.primary()
        raise TypedError(f"{name} needs its argument in brackets, as {name}(2)")


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
        parser = _MathParser(tokens, names)
        try:
            items = parser.items()
        except RecursionError:
            raise TypedError(f"nesting deeper than {MAX_DEPTH}") from None
        if parser.peek().kind != "end":
            token = parser.peek()
            raise TypedError(f"unexpected {token.text!r} at character {token.position + 1}")
        sides.append((rel, items))
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
            raise InputError(path, "$...$ mathematics over numbers, the question's parameters "
                             "and the notation's symbols", f"${match.group('math')}$ ({err})"
                             ) from None


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
    data = derivation.question_data(params)
    return {lang: render(question.text.get(lang) or next(iter(question.text.values())), data,
                         as_tex, as_html=as_html) for lang in langs}

