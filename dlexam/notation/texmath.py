"""The ``$...$`` mathematics of the catalogs and of exam text, read by one small grammar.

Two dialects of one grammar: the catalogs' formulas are TeX as TeX reads it (``strict``: a word
is its letters, ``*`` an asterisk, ``||`` two bars), read to print them as terminal text
(:func:`text_of_tex`; their TeX is the catalog's as written); an exam file's are TeX as people
write it (words such as ``beta``, ``sqrt(x)``, ``<=`` and ``||g||`` too). An exam file is
untrusted, so its mathematics never reaches XeLaTeX as written. This module
splits a formula into tokens (one regular expression), reads them with a recursive-descent
parser into a small tree (:data:`Node`), and prints the tree again: as TeX (the papers, keys and
MathJax in Moodle and the web page) and as plain text (the terminal). Every piece of TeX it
prints comes from the tables below or is made of digits and ASCII letters; anything else is
refused with a one-line error (:class:`TexMathError`, a :class:`~dlexam.errors.Said` message),
never passed through. Nothing is evaluated: no ``eval``, ``sympify`` or ``parse_expr``.

Accepted (the README's "Mathematics in exam text" lists the same):

- numbers, ASCII letters (``x``, ``Wx``: letters as TeX sets them), the Greek letters as
  commands (``\\beta``), as words (``beta``) or as characters (``β``);
- words: a function (``log``, ``exp``, ``tanh``, ``softmax``, ``sigmoid``, ``relu``, ``max``,
  ``argmax`` ...; ``sqrt(x)``, ``abs(x)``, ``norm(g)`` take their argument in brackets), a
  symbol of the notation table (``softmax``, ``vocab``) or a parameter of the question
  (``logits``), each set upright or as a word; other words are letters, as TeX reads them;
- sub- and superscripts (``x_t``, ``h_{t-1}``, ``W^\\top``, ``Wᵀ``, ``x^2``, ``x²``, ``e^{x}``,
  primes ``f'``), ``\\frac{a}{b}`` (``\\dfrac``, ``\\tfrac``), ``\\sqrt{x}``, ``\\sqrt[3]{x}``;
- norms and bars: ``\\|g\\|``, ``||g||``, ``‖g‖``, ``|x|``, ``\\left( ... \\right)`` and
  ``\\big(`` sizes with the delimiters ``( ) [ ] | \\| \\{ \\} \\langle \\rangle`` ...;
- the operators, relations and symbols of :data:`COMMANDS` (``\\cdot``, ``\\odot``, ``\\sum``,
  ``\\log``, ``\\le``, ``\\to``, ``\\infty``, ...) and their Unicode characters (:data:`UNICODE`);
- fonts and accents on a group (``\\mathbf{x}``, ``\\hat{y}``, ``\\tilde{h}``), ``\\text{...}``
  and ``\\operatorname{...}`` of plain characters, and the spaces ``\\, \\; \\quad``;
- matrices: ``\\begin{pmatrix} a & b \\\\ c & d \\end{pmatrix}`` (``matrix``, ``pmatrix``,
  ``bmatrix``, ``vmatrix``, ``smallmatrix``); ``&`` and ``\\\\`` only there.

Limits: :data:`MAX_CHARS` characters and :data:`MAX_DEPTH` levels of nesting; the tokenizer and
parser are linear in the formula's length (a function word's bracket is found by one scan).
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from dlexam.errors import Said, echo

MAX_CHARS = 2_000
"""The most characters of one ``$...$`` formula."""
MAX_DEPTH = 30
"""The deepest nesting of braces, fractions, roots, scripts and ``\\left ... \\right``."""


class TexMathError(ValueError):
    """The formula is refused; the message (a :class:`~dlexam.errors.Said`) says why."""

    def __init__(self, said: Said) -> None:
        super().__init__(said)
        self.said = said


_GREEK_LOWER = ("alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa "
                "lambda mu nu xi pi varpi rho varrho sigma varsigma tau upsilon phi varphi chi "
                "psi omega").split()
_GREEK_UPPER = "Gamma Delta Theta Lambda Xi Pi Sigma Upsilon Phi Psi Omega".split()
_GREEK_CHARS = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "varepsilon": "ε",
    "zeta": "ζ", "eta": "η", "theta": "θ", "vartheta": "ϑ", "iota": "ι", "kappa": "κ",
    "lambda": "λ", "mu": "μ", "nu": "ν", "xi": "ξ", "pi": "π", "varpi": "ϖ", "rho": "ρ",
    "varrho": "ϱ", "sigma": "σ", "varsigma": "ς", "tau": "τ", "upsilon": "υ", "phi": "ϕ",
    "varphi": "φ", "chi": "χ", "psi": "ψ", "omega": "ω", "Gamma": "Γ", "Delta": "Δ",
    "Theta": "Θ", "Lambda": "Λ", "Xi": "Ξ", "Pi": "Π", "Sigma": "Σ", "Upsilon": "Υ",
    "Phi": "Φ", "Psi": "Ψ", "Omega": "Ω",
}
# (the terminal writes ε for \\epsilon as for \\varepsilon: the lunate ϵ reads as ∈ in many fonts)

# command -> (class, plain text). Classes: ord (a symbol), bin (a binary operator), rel (a
# relation), open / close (a delimiter), punct, func (an operator name such as log), big (a
# large operator with limits such as sum), space.
COMMANDS: dict[str, tuple[str, str]] = {
    **{g: ("ord", _GREEK_CHARS[g]) for g in (*_GREEK_LOWER, *_GREEK_UPPER)},
    "infty": ("ord", "∞"), "partial": ("ord", "∂"), "nabla": ("ord", "∇"),
    "top": ("ord", "T"), "intercal": ("ord", "T"), "prime": ("ord", "'"), "ell": ("ord", "ℓ"),
    "ldots": ("ord", "..."), "cdots": ("ord", "⋯"), "dots": ("ord", "..."),
    "vdots": ("ord", "⋮"), "emptyset": ("ord", "∅"), "forall": ("ord", "∀"),
    "exists": ("ord", "∃"), "neg": ("ord", "¬"), "%": ("ord", "%"), "_": ("ord", "_"),
    "cdot": ("bin", "·"), "times": ("bin", "×"), "div": ("bin", "÷"), "pm": ("bin", "±"),
    "mp": ("bin", "∓"), "odot": ("bin", "⊙"), "otimes": ("bin", "⊗"), "oplus": ("bin", "⊕"),
    "circ": ("bin", "∘"), "ast": ("bin", "∗"), "star": ("bin", "⋆"), "setminus": ("bin", "∖"),
    "cap": ("bin", "∩"), "cup": ("bin", "∪"), "wedge": ("bin", "∧"), "vee": ("bin", "∨"),
    "le": ("rel", "≤"), "leq": ("rel", "≤"), "ge": ("rel", "≥"), "geq": ("rel", "≥"),
    "ne": ("rel", "≠"), "neq": ("rel", "≠"), "approx": ("rel", "≈"), "sim": ("rel", "∼"),
    "simeq": ("rel", "≃"), "equiv": ("rel", "≡"), "propto": ("rel", "∝"), "to": ("rel", "→"),
    "rightarrow": ("rel", "→"), "leftarrow": ("rel", "←"), "gets": ("rel", "←"),
    "Rightarrow": ("rel", "⇒"), "Leftarrow": ("rel", "⇐"), "Leftrightarrow": ("rel", "⇔"),
    "leftrightarrow": ("rel", "↔"), "mapsto": ("rel", "↦"), "in": ("rel", "∈"),
    "notin": ("rel", "∉"), "subset": ("rel", "⊂"), "subseteq": ("rel", "⊆"),
    "supset": ("rel", "⊃"), "ll": ("rel", "≪"), "gg": ("rel", "≫"), "mid": ("rel", "|"),
    "|": ("ord", "||"), "{": ("open", "{"), "}": ("close", "}"), "vert": ("ord", "|"),
    "Vert": ("ord", "||"), "lvert": ("open", "|"), "rvert": ("close", "|"),
    "lVert": ("open", "||"), "rVert": ("close", "||"), "langle": ("open", "⟨"),
    "rangle": ("close", "⟩"), "lfloor": ("open", "⌊"), "rfloor": ("close", "⌋"),
    "lceil": ("open", "⌈"), "rceil": ("close", "⌉"),
    **{f: ("func", f) for f in ("log", "ln", "lg", "exp", "sin", "cos", "tan", "tanh", "sinh",
                                "cosh", "max", "min", "sup", "inf", "lim", "det", "arg", "dim",
                                "ker", "Pr", "gcd")},
    "sum": ("big", "Σ"), "prod": ("big", "Π"), "int": ("big", "∫"), "bigcup": ("big", "⋃"),
    "bigcap": ("big", "⋂"),
    ",": ("space", " "), ";": ("space", " "), ":": ("space", " "), "!": ("space", ""),
    " ": ("space", " "), "quad": ("space", "  "), "qquad": ("space", "    "),
}
_FRACTIONS = ("frac", "dfrac", "tfrac")
_FONTS = ("mathbf", "mathit", "mathrm", "mathsf", "mathtt", "mathcal", "mathbb", "boldsymbol")
_ACCENTS = {"hat": "\u0302", "widehat": "\u0302", "bar": "\u0304", "overline": "\u0305",
            "tilde": "\u0303", "widetilde": "\u0303", "vec": "\u20d7", "dot": "\u0307",
            "ddot": "\u0308", "underline": "\u0332"}
_SIZES = ("big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr", "biggl", "biggr",
          "Biggl", "Biggr")
_MATRICES = {"matrix": ("", ""), "pmatrix": ("(", ")"), "bmatrix": ("[", "]"),
             "vmatrix": ("|", "|"), "smallmatrix": ("", "")}
"""The matrix environments: their delimiters in TeX (the text prints every matrix as rows)."""
_STRUCTURE = ("frac", "dfrac", "tfrac", "sqrt", "left", "right", "text", "operatorname",
              "begin", "end", "\\", *_FONTS, *_ACCENTS, *_SIZES)
KNOWN_COMMANDS = tuple(sorted({*COMMANDS, *_STRUCTURE} - {"%", "_", "|", "{", "}", ",", ";",
                                                          ":", "!", " ", "\\"}))
"""Every command by its name (``\\beta`` is ``beta``), for the error message and the README."""

# a delimiter after \left, \right or \big: its TeX and text
_DELIMITERS = {"(": "(", ")": ")", "[": "[", "]": "]", "|": "|", ".": "", r"\|": "||",
               r"\{": "{", r"\}": "}", r"\langle": "⟨", r"\rangle": "⟩", r"\lfloor": "⌊",
               r"\rfloor": "⌋", r"\lceil": "⌈", r"\rceil": "⌉", r"\vert": "|", r"\Vert": "||",
               r"\lvert": "|", r"\rvert": "|", r"\lVert": "||", r"\rVert": "||"}

# words (without a backslash): function words and Greek names
FUNCTION_WORDS: dict[str, tuple[str, str]] = {
    "log": (r"\log", "log"), "ln": (r"\ln", "ln"), "exp": (r"\exp", "exp"),
    "tanh": (r"\tanh", "tanh"), "sin": (r"\sin", "sin"), "cos": (r"\cos", "cos"),
    "max": (r"\max", "max"), "min": (r"\min", "min"),
    "sigmoid": (r"\sigma", "σ"), "softmax": (r"\operatorname{softmax}", "softmax"),
    "relu": (r"\operatorname{ReLU}", "ReLU"), "ReLU": (r"\operatorname{ReLU}", "ReLU"),
    "argmax": (r"\operatorname{arg\,max}", "argmax"),
    "argmin": (r"\operatorname{arg\,min}", "argmin"),
}
BRACKET_WORDS = ("sqrt", "abs", "norm")
"""Words whose argument follows in brackets: ``sqrt(x)`` is √x, ``abs(x)`` |x|, ``norm(g)`` ‖g‖."""

# Unicode characters typed in a formula, as the tokens they stand for
UNICODE: dict[str, str] = {
    **{c: "\\" + g for g, c in _GREEK_CHARS.items() if g not in ("epsilon", "phi")},
    "ϵ": r"\epsilon", "ϕ": r"\phi", "ε": r"\varepsilon", "φ": r"\varphi", "ο": "o",
    "−": "-", "–": "-", "·": r"\cdot", "⋅": r"\cdot", "×": r"\times", "÷": r"\div",
    "⊙": r"\odot", "⊗": r"\otimes", "⊕": r"\oplus", "∘": r"\circ", "±": r"\pm", "∓": r"\mp",
    "≤": r"\le", "≥": r"\ge", "≠": r"\ne", "≈": r"\approx", "∼": r"\sim", "≡": r"\equiv",
    "∝": r"\propto", "→": r"\to", "←": r"\leftarrow", "⇒": r"\Rightarrow", "↦": r"\mapsto",
    "∈": r"\in", "∉": r"\notin", "⊂": r"\subset", "⊆": r"\subseteq", "∞": r"\infty",
    "∂": r"\partial", "∇": r"\nabla", "∑": r"\sum", "∏": r"\prod", "∫": r"\int",
    "√": "sqrt", "‖": r"\|", "⊤": r"\top", "ᵀ": r"^\top", "′": "'", "…": r"\ldots",
    "⋯": r"\cdots", "⟨": r"\langle", "⟩": r"\rangle", "ℓ": r"\ell", "∅": r"\emptyset",
    "∀": r"\forall", "∃": r"\exists", "¬": r"\neg", "（": "(", "）": ")", "，": ",",
    "²": "^2", "³": "^3", "¹": "^1", "⁻¹": "^{-1}",
    **{chr(0x2080 + d): f"_{d}" for d in range(10)},
}

_TOKEN = re.compile(
    r"(?P<space>[ \t\r\n]+)"
    r"|(?P<text>\\(?:text|operatorname\*?|mathrm)\s*\{[^{}\\$]*\})"
    r"|(?P<command>\\(?:[A-Za-z]+|[,;:! |{}%_\\]))"
    r"|(?P<number>[0-9]+(?:\.[0-9]+)?|\.[0-9]+)"
    r"|(?P<word>[A-Za-z]+)"
    r"|(?P<bars>\|\|)"
    r"|(?P<ascii><=|>=|!=|->)"
    r"|(?P<char>[-+*/=<>()\[\],;:!|'^_{}.%&])"
)
_ASCII = {"<=": r"\le", ">=": r"\ge", "!=": r"\ne", "->": r"\to"}
_TEXT_CHARS = re.compile(r"[A-Za-z0-9 .,;:!?'()\-]*")
_CHAR_CLASS = {"+": "bin", "-": "bin", "*": "bin", "/": "ord", "=": "rel", "<": "rel",
               ">": "rel", ":": "rel", "(": "open", "[": "open", ")": "close", "]": "close",
               "!": "close", ",": "punct", ";": "punct", "|": "ord", ".": "ord", "%": "ord"}
_CHAR_TEX = {"*": r"\cdot", "%": r"\%", "<": "<", ">": ">"}
_CHAR_TEXT = {"*": "·"}  # strict: the asterisk, * (:meth:`_Parser.atom`)


@dataclass
class _Token:
    kind: str  # space-free: text, command, number, word, char, end
    text: str
    at: int  # 1-based character position in the formula
    space_before: bool


def tokenize(source: str, strict: bool = False) -> list[_Token]:
    """The formula's tokens (Unicode characters replaced by what they stand for); ``strict``:
    ``||``, ``<=``, ``>=``, ``!=`` and ``->`` are their characters, as TeX reads them.

    Raises:
        TexMathError: too long, or a character no token starts with.
    """
    if len(source) > MAX_CHARS:
        raise TexMathError(Said("authoring.too_long", n=f"{MAX_CHARS:,}"))
    tokens: list[_Token] = []
    position, space = 0, False
    while position < len(source):
        char = source[position]
        if ord(char) > 0x7F:
            pair = source[position:position + 2]
            replacement = UNICODE.get(pair) if pair in UNICODE else UNICODE.get(char)
            if replacement is None:
                raise TexMathError(Said("authoring.unexpected", char=echo(repr(char)),
                                        at=position + 1))
            width = 2 if pair in UNICODE else 1
            for token in _plain_tokens(replacement, position + 1):
                token.space_before = space
                tokens.append(token)
                space = False
            position += width
            continue
        match = _TOKEN.match(source, position)
        if match is None:
            if source.startswith(("\\text", "\\operatorname", "\\mathrm"), position):
                raise TexMathError(Said("authoring.text_chars"))
            raise TexMathError(Said("authoring.unexpected", char=echo(repr(char)),
                                    at=position + 1))
        kind = match.lastgroup
        assert kind is not None
        if kind == "space":
            space = True
        else:
            piece = match.group()
            if kind == "command" and piece[1:] not in COMMANDS and piece[1:] not in _STRUCTURE:
                raise TexMathError(Said("authoring.unknown_command", command=echo(piece),
                                        known=_known_near(piece[1:])))
            if strict and kind in ("bars", "ascii"):  # as TeX reads them: one by one
                for k, char in enumerate(piece):
                    tokens.append(_Token("char", char, position + 1 + k, space and not k))
                space = False
                position = match.end()
                continue
            if kind == "bars":
                kind, piece = "command", r"\|"
            if kind == "ascii":  # a <= b, as people type it
                kind, piece = "command", _ASCII[piece]
            if kind == "text" and not _TEXT_CHARS.fullmatch(_inside(piece)):
                raise TexMathError(Said("authoring.text_chars"))
            tokens.append(_Token(kind, piece, position + 1, space))
            space = False
        position = match.end()
    tokens.append(_Token("end", "", len(source) + 1, space))
    return tokens


def _plain_tokens(text: str, at: int) -> list[_Token]:
    out = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        assert kind is not None
        out.append(_Token("command" if kind == "bars" else kind,
                          r"\|" if kind == "bars" else match.group(), at, False))
    return out


def _inside(text_token: str) -> str:
    return text_token[text_token.index("{") + 1:-1]


def _known_near(name: str) -> str | Said:
    near = difflib.get_close_matches(name, KNOWN_COMMANDS, n=4, cutoff=0.6)
    if near:
        return ", ".join("\\" + n for n in near) + ", ..."
    return Said("authoring.commands_summary")


# --- the tree


@dataclass(frozen=True)
class Atom:
    """One symbol: a letter or word, a number, an operator, a relation, a delimiter."""

    cls: str  # ord, bin, rel, open, close, punct, func, big, space
    tex: str
    text: str


@dataclass(frozen=True)
class Group:
    """A list of nodes: the whole formula, or ``{...}`` (``braced``)."""

    items: tuple[Node, ...]
    spaces: tuple[bool, ...]  # a space before each item in the source
    braced: bool = False


@dataclass(frozen=True)
class Scripts:
    base: Node | None  # None: a script with nothing before it
    sub: Node | None
    sup: Node | None
    primes: int = 0


@dataclass(frozen=True)
class Frac:
    command: str  # frac, dfrac, tfrac
    top: Node
    bottom: Node


@dataclass(frozen=True)
class Sqrt:
    index: Node | None
    body: Node


@dataclass(frozen=True)
class Delimited:
    """``\\left( ... \\right)``, or ``abs(x)`` and ``norm(g)``."""

    left: str  # the delimiters as written after \left and \right
    body: Group
    right: str


@dataclass(frozen=True)
class Styled:
    """A font or an accent over a group: ``\\mathbf{x}``, ``\\hat{y}``."""

    command: str
    body: Node


@dataclass(frozen=True)
class Text:
    """``\\text{...}``, ``\\operatorname{...}``, ``\\mathrm{...}``: plain characters."""

    command: str
    content: str


@dataclass(frozen=True)
class Matrix:
    """``\\begin{pmatrix} a & b \\\\ c & d \\end{pmatrix}``: rows of cells."""

    env: str  # a key of _MATRICES
    rows: tuple[tuple[Group, ...], ...]


Node = Atom | Group | Scripts | Frac | Sqrt | Delimited | Styled | Text | Matrix

_STAR = Atom("ord", r"\ast", "*")
"""``x^*``, ``y^{*}_t``: a star in a script is the asterisk, not a product."""


class _Parser:
    def __init__(self, tokens: list[_Token], names: frozenset[str],
                 notation: dict[str, tuple[str, str]], strict: bool = False) -> None:
        self.tokens = tokens
        self.i = 0
        self.depth = 0
        self.names = names
        self.notation = notation
        self.strict = strict

    def peek(self) -> _Token:
        return self.tokens[self.i]

    def take(self) -> _Token:
        token = self.tokens[self.i]
        if token.kind != "end":
            self.i += 1
        return token

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise TexMathError(Said("authoring.too_deep", n=MAX_DEPTH))

    def leave(self) -> None:
        self.depth -= 1

    def sequence(self, stop: str | tuple[str, ...] = "", braced: bool = False) -> Group:
        """Nodes up to a token of ``stop`` (not taken; the last one is the closing one, a
        matrix cell's is ``\\end``) or the end."""
        stops = (stop,) if isinstance(stop, str) else stop
        items: list[Node] = []
        spaces: list[bool] = []
        while True:
            token = self.peek()
            if token.kind == "end" or (stop and token.kind != "text" and token.text in stops):
                if stop and token.kind == "end":
                    raise TexMathError(Said("authoring.unclosed", opening=_OPENING[stops[-1]],
                                            closing=stops[-1]))
                return Group(tuple(items), tuple(spaces), braced)
            if token.kind == "char" and token.text == "}":
                raise TexMathError(Said("authoring.unopened", closing="}", opening="{",
                                        at=token.at))
            if token.kind == "command" and token.text in (r"\right", r"\end"):
                raise TexMathError(Said("authoring.unopened", closing=token.text,
                                        opening=_OPENING[token.text], at=token.at))
            spaces.append(token.space_before)
            items.append(self.scripted())

    def scripted(self) -> Node:
        token = self.peek()
        base = None if token.kind == "char" and token.text in "^_'" else self.atom()
        sub = sup = None
        primes = 0
        while True:
            token = self.peek()
            if token.kind != "char" or token.text not in "^_'":
                break
            self.take()
            if token.text == "'":
                if sup is not None:
                    raise TexMathError(Said("authoring.double_script", at=token.at))
                primes += 1
                continue
            if (sub if token.text == "_" else sup) is not None:
                raise TexMathError(Said("authoring.double_script", at=token.at))
            self.enter()
            argument = _STAR if token.text == "^" and self.star() else self.argument(token.text)
            self.leave()
            if token.text == "_":
                sub = argument
            else:
                sup = argument
        if sub is None and sup is None and not primes:
            assert base is not None
            return base
        return Scripts(base, sub, sup, primes)

    def star(self) -> bool:
        """A superscript ``*`` or ``{*}`` next (taken): the asterisk."""
        ahead = [(t.kind, t.text) for t in self.tokens[self.i:self.i + 3]]
        for pattern in ([("char", "*")], [("char", "{"), ("char", "*"), ("char", "}")]):
            if ahead[:len(pattern)] == pattern:
                self.i += len(pattern)
                return True
        return False

    def argument(self, after: str) -> Node:
        """One argument as TeX takes it: ``{...}``, or one digit, letter or command."""
        token = self.peek()
        if token.kind == "end" or (token.kind == "char" and token.text in "}^_'"):
            raise TexMathError(Said("authoring.missing_argument", command=after, at=token.at))
        if token.kind in ("number", "word") and len(token.text) > 1:
            # x^23 is x^{2} 3, as TeX reads it: the rest stays for the next token
            self.tokens[self.i] = _Token(token.kind if token.kind == "word" or
                                         token.text[1:2].isdigit() else "char",
                                         token.text[1:], token.at + 1, False)
            if token.kind == "number" and token.text[1:2] == ".":
                self.tokens[self.i] = _Token("char", ".", token.at + 1, False)
                self.tokens.insert(self.i + 1, _Token("number", token.text[2:], token.at + 2,
                                                      False))
            first = token.text[0]
            return Atom("ord", first, first)
        if token.kind == "command" and (token.text in (r"\left", r"\right") or
                                        COMMANDS.get(token.text[1:], ("",))[0] == "space"):
            raise TexMathError(Said("authoring.missing_argument", command=after, at=token.at))
        return self.atom()

    def atom(self) -> Node:
        token = self.take()
        kind, piece = token.kind, token.text
        if piece in ("&", "\\\\", r"\end") and kind in ("char", "command"):  # outside a matrix
            if piece == r"\end":
                raise TexMathError(Said("authoring.unopened", closing=piece, opening=r"\begin",
                                        at=token.at))
            raise TexMathError(Said("authoring.unexpected", char=echo(repr(piece[0])),
                                    at=token.at))
        if kind == "number":
            return Atom("ord", piece, piece)
        if kind == "word":
            return self.word(token)
        if kind == "text":
            command = piece[1:piece.index("{")].strip()
            return Text(command, _inside(piece))
        if kind == "char":
            if piece == "{":
                self.enter()
                group = self.sequence("}", braced=True)
                self.take()
                self.leave()
                return group
            if self.strict and piece == "*":  # as TeX reads it: an asterisk
                return Atom("bin", "*", "*")
            return Atom(_CHAR_CLASS[piece], _CHAR_TEX.get(piece, piece),
                        _CHAR_TEXT.get(piece, piece))
        if kind == "command":
            return self.command(token)
        raise TexMathError(Said("authoring.ends_early"))

    def command(self, token: _Token) -> Node:
        name = token.text[1:]
        if name in COMMANDS:
            cls, shown = COMMANDS[name]
            return Atom(cls, token.text, shown)
        self.enter()
        try:
            if name in _FRACTIONS:
                top = self.argument(token.text)
                bottom = self.argument(token.text)
                return Frac(name, top, bottom)
            if name == "sqrt":
                index = None
                if self.peek().kind == "char" and self.peek().text == "[":
                    self.take()
                    index = self.sequence("]")
                    self.take()
                return Sqrt(index, self.argument(token.text))
            if name == "left":
                left = self.delimiter(token)
                body = self.sequence(r"\right")
                right_token = self.take()
                return Delimited(left, body, self.delimiter(right_token))
            if name == "begin":
                return self.matrix(token)
            if name in ("text", "operatorname"):  # plain characters only (the text token)
                raise TexMathError(Said("authoring.text_chars"))
            if name in _SIZES:
                shown = self.delimiter(token)
                cls = ("open" if _DELIMITERS[shown] in "([{⟨⌊⌈" else "close"
                       if _DELIMITERS[shown] in ")]}⟩⌋⌉" else "ord")
                return Atom(cls, f"\\{name}{shown}", _DELIMITERS[shown])
            # a font or an accent
            return Styled(name, self.argument(token.text))
        finally:
            self.leave()

    def environment(self, command: _Token) -> str:
        """The name in braces after ``\\begin`` or ``\\end``: a matrix's."""
        pieces = [self.take() for _ in range(3)]
        if ([t.kind for t in pieces] != ["char", "word", "char"] or pieces[0].text != "{"
                or pieces[2].text != "}" or pieces[1].text not in _MATRICES):
            shown = command.text + "".join(t.text for t in pieces if t.kind != "end")
            raise TexMathError(Said("authoring.unknown_command", command=echo(shown),
                                    known=", ".join(f"\\begin{{{m}}}" for m in _MATRICES)))
        return pieces[1].text

    def matrix(self, begin: _Token) -> Matrix:
        env = self.environment(begin)
        rows: list[tuple[Group, ...]] = []
        cells: list[Group] = []
        while True:
            cells.append(self.sequence(("&", "\\\\", r"\end")))
            token = self.take()
            if token.text == "&":
                continue
            rows.append(tuple(cells))
            cells = []
            if token.text == r"\end":
                if self.environment(token) != env:
                    raise TexMathError(Said("authoring.unclosed", opening=f"\\begin{{{env}}}",
                                            closing=f"\\end{{{env}}}"))
                return Matrix(env, tuple(rows))

    def delimiter(self, after: _Token) -> str:
        token = self.take()
        shown = token.text
        if token.kind in ("char", "command") and shown in _DELIMITERS:
            return shown
        raise TexMathError(Said("authoring.delimiter", command=after.text,
                                got=echo(shown) or Said("errors.nothing")))

    def word(self, token: _Token) -> Node:
        word = token.text
        if self.strict:
            return Atom("ord", word, word)  # letters, as TeX sets them
        if word in BRACKET_WORDS:
            return self.bracket_word(token)
        if word == "log" and self.peek().kind == "number" and self.peek().text in ("2", "10") \
                and not self.peek().space_before:
            base = self.take().text
            return Scripts(Atom("func", r"\log", "log"), Atom("ord", base, base), None)
        if word in FUNCTION_WORDS:
            tex, text = FUNCTION_WORDS[word]
            return Atom("func", tex, text)
        if word in _GREEK_CHARS:
            return Atom("ord", "\\" + word, _GREEK_CHARS[word])
        if word in ("inf", "infty", "infinity"):
            return Atom("ord", r"\infty", "∞")
        if len(word) > 1 and word in self.notation:
            tex, text = self.notation[word]
            return Atom("ord", "{" + tex + "}", text)
        if len(word) > 1 and word in self.names:
            return Atom("ord", r"\mathit{" + word + "}", word)
        return Atom("ord", word, word)  # letters, as TeX sets them

    def bracket_word(self, token: _Token) -> Node:
        opening = self.peek()
        if token.text == "sqrt" and not (opening.kind == "char" and opening.text in "({"):
            return Sqrt(None, self.argument(token.text))  # √2, sqrt x: one argument as TeX takes it
        if not (opening.kind == "char" and opening.text in "({"):
            raise TexMathError(Said("authoring.bracket_word", name=token.text))
        closing = ")" if opening.text == "(" else "}"
        self.take()
        self.enter()
        # the matching bracket, found by one scan: the body reads up to it
        level, end = 0, None
        for index in range(self.i, len(self.tokens)):
            t = self.tokens[index]
            if t.kind == "char" and t.text == opening.text:
                level += 1
            elif t.kind == "char" and t.text == closing:
                if level == 0:
                    end = index
                    break
                level -= 1
        if end is None:
            raise TexMathError(Said("authoring.unclosed", opening=opening.text, closing=closing))
        self.tokens[end] = _Token("stop", "\0", self.tokens[end].at, False)
        body = self.sequence("\0")
        self.take()
        self.leave()
        if token.text == "sqrt":
            return Sqrt(None, body)
        bar = "|" if token.text == "abs" else r"\|"
        return Delimited(bar, body, bar)


_OPENING = {"}": "{", "]": "[", r"\right": r"\left", "\0": "(", r"\end": r"\begin"}


def parse(source: str, names: Iterable[str] = (),
          notation: dict[str, tuple[str, str]] | None = None, strict: bool = False) -> Group:
    """A formula (the text between ``$`` and ``$``) as a tree.

    Args:
        names: the question's parameters and dimensions (words set as words).
        notation: symbols of the notation table by key (words set as the notation writes them).
        strict: TeX as TeX reads it (the catalogs): a word is its letters, ``*`` an asterisk,
            ``||`` and ``<=`` their characters; ``names`` and ``notation`` are not used.

    Raises:
        TexMathError: the formula is refused; the message says why.
    """
    parser = _Parser(tokenize(source, strict), frozenset(names), notation or {}, strict)
    try:
        return parser.sequence()
    except RecursionError:
        raise TexMathError(Said("authoring.too_deep", n=MAX_DEPTH)) from None


# --- printers


def to_tex(node: Node) -> str:
    """The tree as TeX for math mode: only the tables' commands, digits and ASCII letters."""
    if isinstance(node, Atom):
        return node.tex
    if isinstance(node, Group):
        inner = " ".join(to_tex(item) for item in node.items)
        return "{" + inner + "}" if node.braced else inner
    if isinstance(node, Scripts):
        out = "{}" if node.base is None else to_tex(node.base)
        if node.sub is not None:
            out += "_{" + _tex_inner(node.sub) + "}"
        if node.sup is not None or node.primes:
            sup = "" if node.sup is None else _tex_inner(node.sup)
            out += "^{" + r"\prime " * node.primes + sup + "}"
        return out
    if isinstance(node, Frac):
        return f"\\{node.command}{{{_tex_inner(node.top)}}}{{{_tex_inner(node.bottom)}}}"
    if isinstance(node, Sqrt):
        index = "" if node.index is None else f"[{_tex_inner(node.index)}]"
        return f"\\sqrt{index}{{{_tex_inner(node.body)}}}"
    if isinstance(node, Delimited):
        return f"\\left{node.left} {to_tex(node.body)} \\right{node.right}"
    if isinstance(node, Styled):
        return f"\\{node.command}{{{_tex_inner(node.body)}}}"
    if isinstance(node, Text):
        if node.command.startswith("operatorname"):
            return r"\operatorname{" + node.content.strip() + "}"
        return f"\\{node.command}{{{node.content}}}"
    if isinstance(node, Matrix):
        rows = r" \\ ".join(" & ".join(_tex_inner(cell) for cell in row) for row in node.rows)
        return f"\\begin{{{node.env}}} {rows} \\end{{{node.env}}}"
    raise TypeError(node)


def _tex_inner(node: Node) -> str:
    if isinstance(node, Group):
        return " ".join(to_tex(item) for item in node.items)
    return to_tex(node)


_WORD = re.compile(r"(?:[^\W_]|[\u0300-\u036f])+")  # letters and digits (accents on them too)
_OPERATOR = re.compile(r"[\s+\-−·×÷/=<>≤≥≠≈±∓⊙⊗⊕∘,;:|→←]")
_BRACKETED = re.compile(r"\([^()]*\)|\{[^{}]*\}|\[[^\[\]]*\]")


def to_text(node: Node) -> str:
    """The tree as plain text for a terminal, in the notation of the terminal's equations
    (:class:`~dlexam.notation.printers.DlexamTextPrinter` and the symbol table's text forms):
    ``h_{t-1}``, ``W^T``, ``||g||^2``, ``(a + b)/c``, ``(1/2) Σ_t``, ``sqrt(σ^2 + ε)``,
    ``2^(H_2)``, ``y*_t``, ``h~_t``, ``x̂``, ``J_ij``, ``[[1, 2], [3, 4]]``."""
    if isinstance(node, Atom):
        return node.text
    if isinstance(node, Group):
        return _join(node)
    if isinstance(node, Scripts):
        out = "" if node.base is None else to_text(node.base)
        out += "'" * node.primes
        if node.sup is _STAR:  # y*_t: the star is part of the name, as the symbol table's
            out += "*"
        if node.sub is not None:
            sub = _tight(node.sub)
            out += "_" + (sub if _WORD.fullmatch(sub) else "{" + sub + "}")
        if node.sup is not None and node.sup is not _STAR:
            sup = _tight(node.sup)
            out += "^" + (sup if _WORD.fullmatch(sup) else "(" + sup + ")")
        return out
    if isinstance(node, Frac):
        top, bottom = to_text(node.top), to_text(node.bottom)
        top = top if _atomic(top) else "(" + top + ")"
        bottom = bottom if _atomic(bottom) else "(" + bottom + ")"
        return f"{top}/{bottom}"
    if isinstance(node, Sqrt):
        body = to_text(node.body)
        if node.index is None:
            return f"sqrt({body})"
        return (body if _atomic(body) else f"({body})") + f"^(1/{_tight(node.index)})"
    if isinstance(node, Delimited):
        items = node.body.items
        if len(items) == 1 and isinstance(items[0], Matrix):  # its rows are bracketed
            return to_text(items[0])
        return _DELIMITERS[node.left] + to_text(node.body) + _DELIMITERS[node.right]
    if isinstance(node, Styled):
        body = to_text(node.body)
        mark = _ACCENTS.get(node.command)
        if mark is None:
            return body
        if len(body) == 1:  # h~ as the symbol table writes it, else the accent on the letter
            return body + "~" if mark == "\u0303" else unicodedata.normalize("NFC", body + mark)
        return f"{node.command}({body})"
    if isinstance(node, Text):
        return node.content.strip() if node.command.startswith("operatorname") else node.content
    if isinstance(node, Matrix):  # as the terminal writes a matrix's value: rows in brackets
        return "[" + ", ".join("[" + ", ".join(to_text(cell) for cell in row) + "]"
                               for row in node.rows) + "]"
    raise TypeError(node)


def _atomic(text: str) -> bool:
    """One factor: no space or operator outside brackets (``∂h_{t-1}``, ``σ(x)``, ``2π``)."""
    inner = text
    while True:
        cut = _BRACKETED.sub("", inner)
        if cut == inner:
            break
        inner = cut
    return bool(text) and _OPERATOR.search(inner) is None


def _tight(node: Node) -> str:
    """A script's text: its operators unspaced (``h_{t-1}``)."""
    return _join(node, tight=True) if isinstance(node, Group) else to_text(node)


def _cls(node: Node | None) -> str | None:
    """How an item spaces: an atom's class (a scripted one's base's: ``‖g‖²`` closes), a
    fraction's ``frac``, anything else ``ord``."""
    if node is None:
        return None
    if isinstance(node, Scripts) and isinstance(node.base, Atom):
        return node.base.cls if node.base.cls in ("close", "func") else "ord"
    if isinstance(node, Atom):
        return node.cls
    return "frac" if isinstance(node, Frac) else "ord"


def _join(group: Group, tight: bool = False) -> str:
    parts: list[str] = []
    previous: Node | None = None
    solid = [item for item in group.items if _cls(item) != "space"]
    for item, space in zip(group.items, group.spaces, strict=True):
        shown = to_text(item)
        cls, before = _cls(item), _cls(previous)
        if cls == "frac" and len(solid) > 1:  # beside a factor: (1/2) Σ_t, (1/2)(p + q)
            at = solid.index(item) if item in solid else -1
            left = _cls(solid[at - 1]) if at > 0 else None
            right = _cls(solid[at + 1]) if 0 <= at < len(solid) - 1 else None
            if (left not in (None, "bin", "rel", "punct", "open")
                    or right not in (None, "bin", "rel", "punct", "close")):
                shown = "(" + shown + ")"
        if cls == "rel":
            parts.append(shown if tight else f" {shown} ")
        elif cls == "bin" and before not in (None, "bin", "rel", "open", "punct"):
            parts.append(shown if tight else f" {shown} ")
        elif cls == "punct":
            parts.append(shown + ("" if tight else " "))
        elif cls in ("space", "close"):
            parts.append(shown)
        else:
            needs = space and before not in ("bin", "rel", "punct", "open", None) and not (
                isinstance(previous, Atom) and previous.text in ("∂", "∇"))  # ∂L, ∇_W L
            # x^2 3 (TeX's x^23): a bare script is not run into the next word or number
            needs = needs or (isinstance(previous, Scripts) and bool(parts) and bool(
                _WORD.fullmatch(parts[-1][-1:] + shown[:1])))
            parts.append((" " if needs else "") + shown)
        previous = item
    return re.sub(" {2,}", " ", "".join(parts)).strip() if parts else ""


@lru_cache(maxsize=4096)
def text_of_tex(source: str) -> str:
    """A formula written in TeX (a catalog's, read ``strict``) as terminal text; cached, as
    the terminal prints the same messages many times.

    Raises:
        TexMathError: the formula is outside the grammar (a catalog's: a test reads them all).
    """
    return to_text(parse(source, strict=True))
