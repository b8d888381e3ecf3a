"""What a student types for an answer, read by a grammar of our own and evaluated in floats.

Accepted: numbers (``2.7371``, ``-1e-3``, ``3/4``, ``75%``), lists and matrices written as JSON
(``[[1, 2], [3, 4]]``) or as MATLAB writes them (``[1 2; 3 4]``), and expressions with
``+ - * / ^ ** ( )``, the functions sqrt, exp, log / ln (natural), log2, log10, tanh, sigmoid /
sigma / σ, sin, cos, abs, the constants e and pi, an infinity as a whole entry (``-inf``), and
the same in LaTeX (``\\frac{e^{2}}{1+e^{2}}``,
``\\sqrt{64}``, ``\\tanh(2.05)``, ``\\cdot``, ``\\times``, ``\\left( \\right)``).

Nothing typed is ever run as code: no ``eval``, ``sympify`` or ``parse_expr``. The text is split
into tokens by one regular expression and read by a recursive-descent parser that knows only the
names above, so an unknown name, attribute access or a call of anything else is a syntax error.
Everything is refused before it can cost time or memory: more than 10,000 characters, nesting
deeper than 50, a power whose result would have more than 10^4 digits, and any value that is
not finite or passes 1e300 in size (``exp(exp(exp(100)))``).

The parser builds a small tree (:data:`Node`), which :func:`evaluate` turns into a float. (The
``$...$`` of exam text is presentation, not a value: :mod:`dlexam.notation.texmath` reads it.)
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from dlexam.errors import Said

MAX_CHARS = 10_000
MAX_DEPTH = 50
MAX_POWER_DIGITS = 10_000
MAX_MAGNITUDE = 1e300


class TypedError(ValueError):
    """The typed text is refused; the message says why, in a few words."""


@dataclass(frozen=True)
class Leaf:
    """One typed number: its value, and its literal when it was typed as a plain decimal
    numeral (``"2.74"``: what significant-figure verdicts read), else None."""

    value: float
    literal: str | None = None


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def _positive(name: str, fn: Any) -> Any:
    def checked(x: float) -> float:
        if x <= 0:
            raise TypedError(Said("typed.log_nonpositive", name=name))
        return fn(x)

    return checked


def _sqrt(x: float) -> float:
    if x < 0:
        raise TypedError(Said("typed.sqrt_negative"))
    return math.sqrt(x)


FUNCTIONS: dict[str, Any] = {
    "sqrt": _sqrt,
    "exp": math.exp,
    "log": _positive("log", math.log),
    "ln": _positive("ln", math.log),
    "log2": _positive("log2", math.log2),
    "log10": _positive("log10", math.log10),
    "tanh": math.tanh,
    "sigmoid": _sigmoid,
    "sigma": _sigmoid,
    "σ": _sigmoid,
    "sin": math.sin,
    "cos": math.cos,
    "abs": abs,
}
CONSTANTS: dict[str, float] = {"e": math.e, "pi": math.pi, "π": math.pi}
INFINITY = ("inf", "∞", "infinity", "Infinity")  # only as a whole entry: -inf, [1, -inf]
# LaTeX commands and what they stand for
_LATEX_WORDS = {
    r"\cdot": "*", r"\times": "*", r"\div": "/", r"\pi": "pi", r"\left": "", r"\right": "",
    r"\sqrt": "sqrt", r"\exp": "exp", r"\log": "log", r"\ln": "ln", r"\tanh": "tanh",
    r"\sigma": "sigma", r"\sin": "sin", r"\cos": "cos", r"\frac": r"\frac",
    r"\dfrac": r"\frac", r"\tfrac": r"\frac", r"\,": "", r"\;": "", r"\!": "", r"\ ": "",
    r"\infty": "inf", r"\infinity": "inf",
}
_UNICODE = {"−": "-", "·": "*", "×": "*", "÷": "/", "（": "(", "）": ")", "，": ","}

_TOKEN = re.compile(
    r"(?P<space>\s+)"
    r"|(?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"
    r"|(?P<latex>\\(?:[A-Za-z]+|[,;! ]))"
    r"|(?P<name>[A-Za-z_σπ∞][A-Za-z0-9_]*)"
    r"|(?P<op>\*\*|[-+*/^%()\[\]{},;])"
)


@dataclass(frozen=True)
class _Token:
    kind: str  # number, name, op, frac, end
    text: str
    space_before: bool
    position: int


def tokenize(text: str) -> list[_Token]:
    """The tokens of typed text (LaTeX commands mapped to their plain meaning).

    Raises:
        TypedError: a character no token starts with, a LaTeX command not on the list, or
            text past the length limit.
    """
    if len(text) > MAX_CHARS:
        raise TypedError(Said("typed.too_long", n=f"{MAX_CHARS:,}"))
    for char in text:
        if (ord(char) < 32 and char not in "\t\n\r") or 0x7F <= ord(char) < 0xA0:
            raise TypedError(Said("typed.control", code=f"U+{ord(char):04X}"))
    text = "".join(_UNICODE.get(c, c) for c in text)
    tokens: list[_Token] = []
    position, space = 0, False
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise TypedError(Said("typed.unexpected", text=repr(text[position]), at=position + 1))
        kind = match.lastgroup
        piece = match.group()
        if kind == "space":
            space = True
        elif kind == "latex":
            meaning = _LATEX_WORDS.get(piece)
            if meaning is None:
                raise TypedError(Said("typed.latex_command", command=piece))
            if meaning == r"\frac":
                tokens.append(_Token("frac", piece, space, position))
            elif meaning in ("*", "/"):
                tokens.append(_Token("op", meaning, space, position))
            elif meaning:
                tokens.append(_Token("name", meaning, space, position))
            space = space or not meaning
        else:
            assert kind is not None
            tokens.append(_Token(kind, piece, space, position))
            space = False
        position = match.end()
    tokens.append(_Token("end", "", space, len(text)))
    return tokens


def _finite(value: float) -> float:
    if math.isnan(value) or math.isinf(value) or abs(value) > MAX_MAGNITUDE:
        raise TypedError(Said("typed.too_large_or_infinite"))
    return value


# --- the tree one grammar builds, for two back-ends: floats (evaluate, the checker) and SymPy
# (dlexam.exams.mathtext, exam text)


@dataclass(frozen=True)
class Number:
    text: str  # the numeral as typed


@dataclass(frozen=True)
class Sum:
    terms: tuple[tuple[str, Node], ...]  # (sign, term), the first sign "+"


@dataclass(frozen=True)
class Product:
    op: str  # "*" (written or implied) or "/"
    left: Node
    right: Node


@dataclass(frozen=True)
class Signed:
    sign: str  # a unary "+" or "-"
    operand: Node


@dataclass(frozen=True)
class Power:
    base: Node
    exponent: Node


@dataclass(frozen=True)
class Percent:
    operand: Node


@dataclass(frozen=True)
class Fraction_:  # noqa: N801  (not the standard library's Fraction)
    top: Node
    bottom: Node


@dataclass(frozen=True)
class Call:
    name: str  # one of FUNCTIONS
    argument: Node


@dataclass(frozen=True)
class Constant:
    name: str  # one of CONSTANTS


Node = Number | Sum | Product | Signed | Power | Percent | Fraction_ | Call | Constant


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.i = 0
        self.depth = 0
        self.matlab = [False]  # inside a bracket whose entries are separated by spaces

    # --- helpers ---
    def peek(self, ahead: int = 0) -> _Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def take(self) -> _Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def expect(self, text: str) -> None:
        token = self.take()
        if token.text != text or token.kind not in ("op",):
            raise TypedError(Said("typed.missing", text=repr(text), position=token.position + 1))

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise TypedError(Said("typed.too_deep", n=MAX_DEPTH))

    def leave(self) -> None:
        self.depth -= 1

    # --- values ---
    def value(self) -> Any:
        """A number or a (nested) list of numbers: ``[...]``, or a tuple ``( , )``."""
        token = self.peek()
        if token.kind == "op" and token.text == "[":
            return self.bracket()
        if token.kind == "op" and token.text == "(" and self._tuple_ahead():
            return self.bracket("(", ")")
        return self.number_leaf()

    def _tuple_ahead(self) -> bool:
        """Whether the ``(`` here opens a tuple (a comma at its own level), not a bracket of an
        expression."""
        depth = 0
        for token in self.tokens[self.i + 1:]:
            if token.kind == "op" and token.text in "([{":
                depth += 1
            elif token.kind == "op" and token.text in ")]}":
                if depth == 0:
                    return False
                depth -= 1
            elif depth == 0 and token.kind == "op" and token.text == ",":
                return True
        return False

    def number_leaf(self) -> Leaf:
        # an infinity stands alone as an entry (a masked attention score is -inf)
        sign = 1.0
        ahead = 0
        if self.peek().kind == "op" and self.peek().text in "+-":
            sign, ahead = (-1.0 if self.peek().text == "-" else 1.0), 1
        word = self.peek(ahead)
        follower = self.peek(ahead + 1)
        if word.kind == "name" and word.text in INFINITY and (
                follower.kind == "end" or (follower.kind == "op" and follower.text in ",;]")
                or (self.matlab[-1] and follower.space_before)):
            self.i += ahead + 1
            return Leaf(sign * math.inf)
        start = self.i
        value = evaluate(self.expr())
        literal = None
        if self.i - start <= 2:  # a plain numeral, perhaps signed
            pieces = self.tokens[start:self.i]
            if pieces[-1].kind == "number" and (len(pieces) == 1 or pieces[0].text in "+-"):
                literal = "".join(p.text for p in pieces)
        return Leaf(_finite(value), literal)

    def bracket(self, opening: str = "[", closing: str = "]") -> list[Any]:
        self.enter()
        self.expect(opening)
        # MATLAB style when a ';' or a space separates entries at this level with no comma
        depth, commas, semis = 0, False, False
        for token in self.tokens[self.i:]:
            if token.kind == "op" and token.text in "([{":
                depth += 1
            elif token.kind == "op" and token.text in ")]}":
                if depth == 0:
                    break
                depth -= 1
            elif depth == 0 and token.kind == "op" and token.text == ",":
                commas = True
            elif depth == 0 and token.kind == "op" and token.text == ";":
                semis = True
        self.matlab.append(not commas)
        rows: list[list[Any]] = [[]]
        while not (self.peek().kind == "op" and self.peek().text == closing):
            if self.peek().kind == "end":
                raise TypedError(Said("typed.unclosed", opening=opening))
            rows[-1].append(self.value())
            token = self.peek()
            if token.kind == "op" and token.text == ",":
                self.take()
            elif token.kind == "op" and token.text == ";":
                self.take()
                rows.append([])
            elif token.kind == "op" and token.text == closing:
                break
            elif token.kind == "end":
                raise TypedError(Said("typed.unclosed", opening=opening))
            elif not (self.matlab[-1] and token.space_before):
                raise TypedError(Said("typed.missing_comma", closing=closing,
                                      at=token.position + 1))
        self.take()
        self.matlab.pop()
        self.leave()
        if semis or (len(rows) > 1):
            rows = [r for r in rows if r] if rows[-1] == [] else rows
            if any(len(r) != len(rows[0]) for r in rows):
                raise TypedError(Said("typed.ragged"))
            return rows
        if not rows[0]:
            raise TypedError(Said("errors.empty_list"))
        return rows[0]

    # --- expressions: a small tree (see Node), evaluated by a back-end ---
    def expr(self) -> Node:
        self.enter()
        terms: list[tuple[str, Node]] = [("+", self.term())]
        while True:
            token = self.peek()
            if token.kind != "op" or token.text not in "+-":
                break
            # inside [1 -2], a sign after a space and before a number starts a new entry
            if (self.matlab[-1] and token.space_before
                    and not self.peek(1).space_before):
                break
            self.take()
            terms.append((token.text, self.term()))
        self.leave()
        return terms[0][1] if len(terms) == 1 else Sum(tuple(terms))

    def _starts_primary(self, token: _Token) -> bool:
        if token.kind in ("name", "frac"):
            return True
        return token.kind == "op" and token.text in "({"

    def term(self) -> Node:
        value = self.unary()
        while True:
            token = self.peek()
            if token.kind == "op" and token.text in "*/":
                self.take()
                value = Product(token.text, value, self.unary())
            elif self._starts_primary(token) and not (self.matlab[-1] and token.space_before):
                value = Product("*", value, self.unary())  # 2\pi, 2(3 + 1), 3e^{2}
            else:
                return value

    def unary(self) -> Node:
        token = self.peek()
        if token.kind == "op" and token.text in "+-":
            self.take()
            self.enter()
            value = self.unary()
            self.leave()
            return Signed(token.text, value)
        return self.power()

    def power(self) -> Node:
        base = self.postfix()
        token = self.peek()
        if token.kind == "op" and token.text in ("^", "**"):
            self.take()
            self.enter()
            exponent = self.unary()  # right-associative: 2^3^2 = 2^(3^2)
            self.leave()
            return Power(base, exponent)
        return base

    def postfix(self) -> Node:
        value = self.primary()
        token = self.peek()
        if token.kind == "op" and token.text == "%":
            self.take()
            value = Percent(value)
        return value

    def group(self) -> Node:
        """A LaTeX argument: ``{...}`` or a single digit/name (``\\frac12``)."""
        token = self.peek()
        if token.kind == "op" and token.text == "{":
            self.take()
            value = self.expr()
            self.expect("}")
            return value
        if (token.kind == "number" and len(token.text) > 1
                and token.text[:2].isdigit()):
            # \frac12: each argument is one digit
            self.tokens[self.i] = _Token("number", token.text[1:], False, token.position + 1)
            return Number(token.text[0])
        return self.primary()

    def _grouped(self, token: _Token) -> _Token:
        """A whole number written in groups of three digits apart (``5 058``, ``1 234 567.5``)
        as one numeral, outside a list whose entries spaces separate: the groups are joined in
        the tokens, so the numeral reads as typed (its significant figures too)."""
        if self.matlab[-1] or not THOUSANDS_HEAD.fullmatch(token.text):
            return token
        end = self.i
        while (end < len(self.tokens) and self.tokens[end].kind == "number"
               and self.tokens[end].space_before
               and THOUSANDS_GROUP.fullmatch(self.tokens[end].text)):
            end += 1
            if "." in self.tokens[end - 1].text:
                break
        if end == self.i:
            return token
        joined = _Token("number", token.text + "".join(t.text for t in self.tokens[self.i:end]),
                        token.space_before, token.position)
        self.tokens[self.i - 1:end] = [joined]
        return joined

    def primary(self) -> Node:
        token = self.take()
        if token.kind == "number":
            return Number(self._grouped(token).text)
        if token.kind == "frac":
            self.enter()
            top = self.group()
            bottom = self.group()
            self.leave()
            return Fraction_(top, bottom)
        if token.kind == "op" and token.text in "({":
            closing = ")" if token.text == "(" else "}"
            self.matlab.append(False)
            value = self.expr()
            self.matlab.pop()
            self.expect(closing)
            return value
        if token.kind == "name":
            name = token.text
            if name in FUNCTIONS:
                self.enter()
                argument = self.group() if name == "sqrt" else self._argument(name)
                self.leave()
                return Call(name, argument)
            if name in CONSTANTS:
                return Constant(name)
            raise TypedError(Said("typed.unknown_name", name=repr(name),
                                  known=", ".join([*FUNCTIONS, *CONSTANTS])))
        if token.kind == "end":
            raise TypedError(Said("typed.ends_early"))
        raise TypedError(Said("typed.unexpected", text=repr(token.text), at=token.position + 1))

    def _argument(self, name: str) -> Node:
        token = self.peek()
        if token.kind == "op" and token.text in "({":
            return self.primary()
        raise TypedError(Said("typed.brackets", name=name))


THOUSANDS_HEAD = re.compile(r"\d{1,3}")
THOUSANDS_GROUP = re.compile(r"\d{3}(?:\.\d+)?")
_COMMA_THOUSANDS = re.compile(r"[+\-−]?\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_MATH_ENVIRONMENT = re.compile(r"\\(begin|end)\{\s*([pbBvV]?matrix|array)\s*\}(\{[lcr|]*\})?")


def unwrap(text: str) -> str:
    """The forms of an answer as students write it, put in the grammar's own form: ``$...$``
    and ``$$...$$`` around it dropped; a number with thousands separators (``5,058``: the
    whole answer, a comma elsewhere separates entries) without them; LaTeX matrices
    (``\\begin{bmatrix} 1 & 2 \\\\ 3 & 4 \\end{bmatrix}``, ``pmatrix``) as ``[1, 2; 3, 4]``.
    Text only: nothing is evaluated here."""
    stripped = text.strip()
    for fence in ("$$", "$"):
        if len(stripped) > 2 * len(fence) and stripped.startswith(fence) and \
                stripped.endswith(fence):
            stripped = stripped[len(fence):-len(fence)].strip()
            break
    if _COMMA_THOUSANDS.fullmatch(stripped):
        return stripped.replace(",", "")
    if "\\begin" in stripped or "\\end" in stripped:
        stripped = _MATH_ENVIRONMENT.sub(lambda m: "[" if m.group(1) == "begin" else "]",
                                         stripped)
        stripped = stripped.replace("\\\\", ";").replace("&", ",")
    return stripped


def _power(base: float, exponent: float) -> float:
    if base == 0 and exponent < 0:
        raise TypedError(Said("typed.division_by_zero"))
    if base < 0 and not float(exponent).is_integer():
        raise TypedError(Said("typed.fractional_power"))
    if abs(base) > 1 and exponent * math.log10(abs(base)) > MAX_POWER_DIGITS:
        raise TypedError(Said("typed.power_digits", n=f"{MAX_POWER_DIGITS:,}"))
    try:
        return _finite(math.pow(base, exponent))
    except OverflowError:
        raise TypedError(Said("typed.too_large")) from None


def evaluate(node: Node) -> float:
    """The float back-end (the checker): a tree's value, each operation checked against the
    limits (a division by zero, a power past 10^4 digits, a value past 1e300 or not finite).

    Raises:
        TypedError: naming the limit.
    """
    if isinstance(node, Number):
        return _finite(float(node.text))
    if isinstance(node, Sum):
        value = evaluate(node.terms[0][1])
        for sign, term in node.terms[1:]:
            right = evaluate(term)
            value = _finite(value + right if sign == "+" else value - right)
        return value
    if isinstance(node, Product):
        left, right = evaluate(node.left), evaluate(node.right)
        if node.op == "*":
            return _finite(left * right)
        if right == 0:
            raise TypedError(Said("typed.division_by_zero"))
        return _finite(left / right)
    if isinstance(node, Signed):
        value = evaluate(node.operand)
        return -value if node.sign == "-" else value
    if isinstance(node, Power):
        return _power(evaluate(node.base), evaluate(node.exponent))
    if isinstance(node, Percent):
        return evaluate(node.operand) / 100
    if isinstance(node, Fraction_):
        top, bottom = evaluate(node.top), evaluate(node.bottom)
        if bottom == 0:
            raise TypedError(Said("typed.division_by_zero"))
        return _finite(top / bottom)
    if isinstance(node, Call):
        argument = evaluate(node.argument)
        try:
            return _finite(float(FUNCTIONS[node.name](argument)))
        except OverflowError:
            raise TypedError(Said("typed.call_too_large", name=node.name)) from None
    if isinstance(node, Constant):
        return CONSTANTS[node.name]
    raise TypedError(Said("typed.no_value", node=repr(node)))


def parse(text: str, ragged: bool = False) -> Any:
    """Typed text -> a :class:`Leaf`, or nested lists of them (of different lengths only when
    ``ragged``: an answer such as one shape per layer).

    Raises:
        TypedError: the text is refused (the message says why).
    """
    if len(text) > MAX_CHARS:
        raise TypedError(Said("typed.too_long", n=f"{MAX_CHARS:,}"))
    tokens = tokenize(unwrap(text))
    if len(tokens) == 1:
        raise TypedError(Said("typed.nothing"))
    parser = _Parser(tokens)
    try:
        value = parser.value()
    except RecursionError:
        raise TypedError(Said("typed.too_deep", n=MAX_DEPTH)) from None
    if parser.peek().kind != "end":
        token = parser.peek()
        raise TypedError(Said("typed.unexpected", text=repr(token.text), at=token.position + 1))
    if not ragged:
        _rectangular(value)
    return value


def one_element(value: Any, shape: tuple[int, ...] | None) -> Any:
    """A single typed number given for an answer of one element (a list of 1, a 1 x 1
    matrix), nested as that answer is; anything else as it is."""
    if isinstance(value, Leaf) and shape and all(d == 1 for d in shape):
        for _d in shape:
            value = [value]
    return value


def _rectangular(value: Any) -> tuple[int, ...]:
    """The shape of nested lists; ragged ones are refused."""
    if not isinstance(value, list):
        return ()
    shapes = {_rectangular(v) for v in value}
    if len(shapes) != 1:
        raise TypedError(Said("typed.not_rectangular"))
    return (len(value), *shapes.pop())


def from_json(value: Any, depth: int = 0, ragged: bool = False) -> Any:
    """A JSON number or (nested) list of numbers, as the batch format allows, as leaves (lists
    of different lengths only when ``ragged``).

    Raises:
        TypedError: not a finite number or list of them.
    """
    if depth > MAX_DEPTH:
        raise TypedError(Said("typed.too_deep", n=MAX_DEPTH))
    if isinstance(value, bool):
        raise TypedError(Said("typed.bool"))
    if isinstance(value, (int, float)):
        number = float(value)
        return Leaf(_finite(number), repr(value) if isinstance(value, float) else str(value))
    if isinstance(value, list) and value:
        out = [from_json(v, depth + 1, ragged) for v in value]
        if depth == 0 and not ragged:
            _rectangular(out)
        return out
    if isinstance(value, str):
        if value in ("inf", "-inf"):  # JSON has no infinity: dlexam writes it as a string
            return Leaf(math.inf if value == "inf" else -math.inf)
        return parse(value, ragged)
    raise TypedError(Said("typed.what"))
