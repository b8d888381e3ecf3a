"""One path for displaying values: one display configuration and one value renderer with a
LaTeX and a text back-end.

The rule (the printers apply it, :func:`~dlexam.notation.printers.shared_places` says it for
numbers side by side):

- an exact integer, or an exact decimal of at most ``digits`` places, is written as it is;
- an inexact number (a decimal approximation, a rational no short decimal writes) shows all of
  its context's ``digits`` decimals: 0.0210 beside 0.0239, 1.0000 rather than "≈ 1";
- the entries of one vector or matrix share their number of decimals (0.50, 0.00, 0.80 beside
  two-decimal entries), so that columns line up;
- a small non-zero number keeps two significant digits instead of showing as 0 (in a matrix,
  when every entry would otherwise show as 0), and below 1e-9 goes to scientific notation.

Rounding is for display only: answers keep their exact or full-precision values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, TypeVar

import sympy as sp
from pylatex import NoEscape
from pylatex.utils import escape_latex

from dlexam.notation.forms import one_form
from dlexam.notation.printers import shared_places, tex, text
from dlexam.numbers import is_exact_short

DIGITS: dict[str, int] = {
    "formula": 4,  # a step's equation: formula, numbers put in, value
    "prose": 4,  # a value inside a sentence or a parameter table
    "figure": 3,  # a number drawn in a figure
    "terminal": 6,  # the command line's steps and answers
    "web": 4,  # a value inside a sentence of HTML, typeset by MathJax in a browser
}
"""The one display configuration: decimals shown per context."""

S = TypeVar("S")


@dataclass(frozen=True)
class Layout:
    """The one layout configuration: how much of a long derivation is shown.

    Derivations do not choose what to show. They build every step in full (every row of an
    attention matrix, a sum written out term by term, a product with its matrices written out)
    and mark on a step where a run can be shortened
    (:class:`dlexam.derivations.core.Elidable`); every renderer (LaTeX templates, terminal,
    notebook, the checker's messages) shows the steps through :func:`laid_out`, which asks this
    configuration. Values listed in a sentence are the prose templates' choice
    (:func:`dlexam.render.prose.form`). Answers are never shortened; only the steps are.

    The one exception is a long sequence of time steps (bptt, up to T = 1,000): building every
    time step's formulas would cost more than the rest of the run, so the derivation asks
    :meth:`sequence` which time steps to build (in one place, :func:`dlexam.derivations.
    gradients.bptt`) and names the others as left out.

    Attributes:
        first: time steps written out at the start of a long sequence.
        last: time steps written out at its end (the ones between are named, not written).
        rows: rows of an attention matrix given their own softmax and weighted-sum steps, when
            the weights are exact (or given as scores).
        rows_inexact: the same when the weights are floats worked out from the tokens (one row
            shows the method).
        rows_per_head: the same for each head of multi-head attention (its matrices are shown
            whole).
        terms: a sum (or a vector of fractions) is written out term by term up to this many
            terms; a longer one is shown in its general form and its value.
        matrix: a matrix is written out inside a product up to this many rows and columns.
        listed: values listed in a sentence (a sequence's inputs) up to this many.
    """

    first: int = 2
    last: int = 1
    rows: int = 4
    rows_inexact: int = 1
    rows_per_head: int = 0
    terms: int = 4
    matrix: int = 4
    listed: int = 12

    def sequence(self, count: int) -> tuple[list[int], tuple[int, int] | None]:
        """The 1-based positions of a sequence of ``count`` steps written out, and the range
        (first, last) left out between them, or None when every step is written out."""
        if count <= self.first + self.last + 1:
            return list(range(1, count + 1)), None
        shown = [*range(1, self.first + 1), *range(count - self.last + 1, count + 1)]
        return shown, (self.first + 1, count - self.last)

    def keeps(self, elidable: Any) -> bool:
        """Whether a step marked :class:`~dlexam.derivations.core.Elidable` is shown in full:
        its size (row number, terms, matrix size) is at most this layout's measure."""
        return bool(elidable.size <= getattr(self, elidable.measure))

    def shown(self, step: S) -> S | None:
        """The step as this layout shows it: itself, its shorter form, or None (left out)."""
        mark = getattr(step, "elidable", None)
        if mark is None or self.keeps(mark):
            return step
        if mark.instead is None:
            return None
        return replace(step, **mark.instead, elidable=None)  # type: ignore[type-var]

    def lists(self, count: int) -> bool:
        """Whether this many values are listed in a sentence."""
        return count <= self.listed


LONG_ROW = 8
"""A list of more numbers than this is written as a tuple that breaks across lines, not as a
one-row matrix (LaTeX)."""

LAYOUT = Layout()
"""The layout the renderers use (tests swap it to check that the shown steps follow it)."""


def shown_steps(steps: Iterable[S], layout: Layout | None = None
                ) -> list[tuple[int | None, S]]:
    """(position among all the steps, from 0; the step as shown) of every step the layout
    shows, in order: the one filter of a derivation's steps, which every renderer uses. Where
    a run of steps is left out, a note naming it takes its place (position None; key
    ``layout.left_out``: rows ``first`` to ``last`` of ``of``; ``layout.left_out_one``: row
    ``first``), so that every renderer says what it does not show."""
    layout = LAYOUT if layout is None else layout
    out: list[tuple[int | None, S]] = []
    run: list[Any] = []  # the left-out steps since the last one shown

    def close() -> None:
        if run:
            sizes = [s.elidable.size for s in run]
            key = "layout.left_out" if len(set(sizes)) > 1 else "layout.left_out_one"
            note = replace(run[0], key=key, lhs=None, symbolic=None, substituted=None,
                           value=None, elidable=None,
                           data={"first": min(sizes), "last": max(sizes),
                                 "of": run[0].elidable.of or max(sizes), "count": len(sizes)})
            out.append((None, note))
            run.clear()

    for position, step in enumerate(steps):
        shown = layout.shown(step)
        if shown is None:
            run.append(step)
            continue
        close()
        out.append((position, shown))
    close()
    # one exact value, one written form across the shown steps (dlexam.notation.forms)
    written = one_form(step for _position, step in out)
    return [(position, step) for (position, _old), step in zip(out, written, strict=True)]


def laid_out(steps: Iterable[S], layout: Layout | None = None) -> list[S]:
    """The steps as the layout (:data:`LAYOUT` unless given) shows them: those it leaves out
    replaced by a note naming them, those it shortens in their shorter form."""
    return [step for _position, step in shown_steps(steps, layout)]


Backend = Literal["latex", "text"]

BREAK_EVERY = 16
"""A run of this many characters without a space gets a break point (``\\hspace{0pt}``)."""


def displayed(value: Any, digits: int) -> tuple[bool, Any]:
    """Whether a value is shown exactly, and the value to print (rounded only for display).

    Numbers no short decimal writes (1/3, tanh(2)) become Floats, which the printers show with
    all ``digits`` decimals.
    """
    if isinstance(value, sp.MatrixBase):
        exact = all(is_exact_short(x, digits) or x.is_Integer for x in value)
        return exact, value if exact else value.applyfunc(lambda x: x.evalf(15))
    if isinstance(value, sp.Basic) and value.is_number:
        if value.is_Integer or is_exact_short(value, digits) or value in (sp.oo, -sp.oo, sp.zoo):
            return True, value
        return False, value.evalf(15)
    return True, value


def number(value: int | float | sp.Basic) -> sp.Basic:
    """A Python number as SymPy's (an int stays exact, a float is inexact)."""
    if isinstance(value, sp.Basic):
        return value
    return sp.Integer(value) if isinstance(value, int) else sp.Float(value)


def is_number(v: Any) -> bool:
    """True for a Python or SymPy number (not a bool)."""
    return (isinstance(v, (int, float)) and not isinstance(v, bool)) or (
        isinstance(v, sp.Basic) and v.is_number)


STRAIGHT_QUOTE = r"\textquotedbl{}"
"""ASCII ``"`` as TeX sets it where it must stay straight (code, JSON): XeLaTeX's TeX
ligatures would set a bare ``"`` as a closing quote."""


def code_tex(escaped: str) -> str:
    """Escaped text of code or data with its ASCII double quotes kept straight."""
    return escaped.replace('"', STRAIGHT_QUOTE)


_OPENS_AFTER = frozenset(" \t\n([{/-\u2014\u2013")


def quotes_tex(escaped: str, before: str = "") -> str:
    """Escaped prose with each ASCII ``"`` as the quotation mark it stands for: opening (“)
    at the start or after a space or an opening bracket, else closing (”). ``before``: the text
    set just before this piece (a quote after a filled-in value closes it). XeLaTeX's TeX
    ligatures would set every bare ``"`` as a closing quote."""
    if '"' not in escaped:
        return escaped
    out: list[str] = []
    last = before[-1:] if before else ""
    for ch in escaped:
        if ch == '"':
            ch = "\u201c" if last == "" or last in _OPENS_AFTER else "\u201d"
        out.append(ch)
        last = ch
    return "".join(out)


def breakable_tex(value: str) -> NoEscape:
    """Text escaped for LaTeX, with a break point inside every long word, so that a long model
    string or label wraps instead of running into the margin (or stalling the line breaker);
    its double quotes stay straight (JSON, code)."""
    out: list[str] = []
    for word in value.split(" "):
        chunks = [word[i:i + BREAK_EVERY] for i in range(0, len(word), BREAK_EVERY)] or [""]
        out.append(r"\hspace{0pt}".join(code_tex(escape_latex(c)) for c in chunks))
    return NoEscape(" ".join(out))


def _print(expr: Any, backend: Backend, digits: int, places: int | None = None) -> str:
    return tex(expr, digits=digits, places=places) if backend == "latex" else text(
        expr, digits=digits, places=places)


def entries(values: list[Any], backend: Backend, digits: int) -> list[str]:
    """Numbers set side by side, each printed with the decimals they share."""
    shown = [displayed(number(v), digits)[1] for v in values]
    places = shared_places(shown, digits)
    return [_print(v, backend, digits, places) for v in shown]


def rows_entries(rows: list[list[Any]], backend: Backend, digits: int) -> list[list[str]]:
    """Rows of numbers (of any lengths), every entry printed with the decimals they all
    share."""
    flat = entries([v for r in rows for v in r], backend, digits)
    out: list[list[str]] = []
    for r in rows:
        out.append(flat[:len(r)])
        flat = flat[len(r):]
    return out


def tuple_form(values: list[Any], backend: Backend, digits: int, breakable: bool = True
               ) -> str:
    """A vector inside a sentence: (a, b, c), whose LaTeX line may break after each comma
    (``breakable``; a figure's label keeps one line)."""
    if backend == "latex":
        comma = r",\allowbreak\ " if breakable else ", "
        return "$(" + comma.join(entries(values, backend, digits)) + ")$"
    return "(" + ", ".join(entries(values, backend, digits)) + ")"


@dataclass(frozen=True)
class Listed:
    """Items a sentence lists one after another (words, outcome or class numbers, activations,
    sizes): data in a step, not text. Each item is a word or a whole number, written as it is;
    the prose renderer joins them with its language's separator (the catalogs'
    ``book.list_sep``), JSON gives them as a list."""

    items: tuple[str | int, ...]

    def __init__(self, items: Iterable[str | int]) -> None:
        object.__setattr__(self, "items", tuple(items))

    def joined(self, separator: str = ", ") -> str:
        """The items as text, one after another."""
        return separator.join(str(i) for i in self.items)


def _conditional(item: tuple[str, str, Any]) -> str:
    token, path, p = item
    given = f" | {path}" if path else ""
    return f"p({token}{given}) = {plain_number(float(p), 'given')}"


def _clipped(item: tuple[Any, ...]) -> str:
    gram, count, most, counted = item
    return f"{gram} {count} (max {most}) -> {counted}"


def _unclipped(item: tuple[Any, ...]) -> str:
    gram, count, _most, counted = item
    return f"{gram} {count} -> {counted}"


SERIES: dict[str, tuple[str, Any]] = {
    "axes": (" × ", str),  # a size per axis: 28 × 28
    "sizes": (", ", str),  # sizes (each a Series of axes) one after another: 5 × 5, 3 × 3
    "widths": ("-", str),  # a network's layer widths, inputs first: 3-4-2
    # a tree's next-token probabilities, (token, path before it, p) each: p(b | a) = 0.4
    "conditionals": (", ", _conditional),
    "names": (", ", str),  # names given to tokens (Tom, chase, Jerry)
    "words": (" ", str),  # a sentence's tokens
    "references": (" | ", str),  # reference sentences, each a Series of words or a text
    "counts": (", ", lambda item: f"{item[0]}: {item[1]}"),  # (token, count): the: 3
    # an n-gram's (text, count, most in a reference, counted) as BLEU's precision clips it,
    # or does not
    "clipped": ("; ", _clipped),
    "unclipped": ("; ", _unclipped),
    # a layer's output shape as Keras prints it, the batch axis first: (None, 10, 32)
    "shape": (", ", str),
    # sizes as a Python tuple, as code writes them: input_shape=(28, 28, 1), (8,)
    "tuple": (", ", str),
}
"""How each kind of :class:`Series` is written: the separator and how an item is written."""

_ENCLOSED: dict[str, tuple[str, str, bool]] = {"shape": ("(", ")", False),
                                               "tuple": ("(", ")", True)}
"""The kinds written between brackets: opening, closing, and whether one item is followed by a
comma (Python's tuple of one)."""


class Series(str):
    """Items written one after another in the notation of their kind (:data:`SERIES`): a
    layer's size per axis, a stack's sizes, a network's widths, a tree's probabilities. A
    derivation gives the items and their kind (``items``, ``kind``), never the text; the text
    is made here, and the value reads as that text wherever text is read (a catalog's field,
    JSON, an exam's template), so every output keeps its form. Unlike :class:`Listed`, whose
    separator is the language's, these are notation, the same in every language."""

    items: tuple[Any, ...]
    kind: str

    def __new__(cls, kind: str, items: Iterable[Any]) -> Series:
        items = tuple(items)
        separator, write = SERIES[kind]
        text = separator.join(write(i) for i in items)
        if kind in _ENCLOSED:
            opening, closing, comma = _ENCLOSED[kind]
            text = opening + text + ("," if comma and len(items) == 1 else "") + closing
        made = super().__new__(cls, text)
        made.items, made.kind = items, kind
        return made

    def __getnewargs__(self) -> tuple[str, tuple[Any, ...]]:  # type: ignore[override]
        # pickled (a worker process's result) as its kind and items, not its text
        return self.kind, self.items


@dataclass(frozen=True)
class Phrase:
    """Another catalog message as the value of a field (a label, a sentence chosen by a
    parameter): data in a step or a statement, not text. The prose renderer fills it in the
    same language and form as the message around it; ``data`` fills its own fields."""

    key: str
    data: Mapping[str, Any] = field(default_factory=dict)


# contexts whose LaTeX keeps a vector on one line: a figure's label, and HTML for MathJax
# (whose version 2, Moodle's and Jupyter's, has no \allowbreak; the browser wraps the text
# between the formulas)
_UNBROKEN = frozenset({"figure", "web"})


def render(value: Any, backend: Backend = "latex", context: str = "prose", *,
           lists: Literal["matrix", "tuple"] = "matrix", digits: int | None = None) -> str:
    """A value as shown in a context, by the display rule, as LaTeX or as plain text.

    Args:
        value: a number, a SymPy matrix (a vector is written as a tuple), a list of numbers
            or a list of equal rows (written as a matrix, or as a tuple with ``lists="tuple"``),
            other lists (item by item), a bool, None or text (escaped for LaTeX).
        backend: ``"latex"`` (inline math between dollar signs) or ``"text"``.
        context: a key of :data:`DIGITS`.
        lists: how a flat list of numbers is written.
        digits: the context's decimals overridden (a template's layout choice).
    """
    digits = DIGITS[context] if digits is None else digits
    latex = backend == "latex"
    if latex and isinstance(value, NoEscape):
        return value
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return "--"
    if isinstance(value, Listed):  # no language here: the English separator
        value = value.joined()
    if isinstance(value, Plain):
        value = plain_number(value.value, value.context)
    if isinstance(value, (list, tuple)) and value and all(is_number(v) for v in value):
        if lists == "tuple" or (latex and len(value) > LONG_ROW and context not in _UNBROKEN):
            # a long row (a count per layer of a deep model) breaks across lines as a tuple
            return tuple_form(list(value), backend, digits, breakable=context not in _UNBROKEN)
        value = sp.Matrix([[number(v) for v in value]])
    elif (isinstance(value, (list, tuple)) and value
          and all(isinstance(r, (list, tuple)) and r for r in value)
          and len({len(r) for r in value}) == 1
          and all(is_number(v) for r in value for v in r)):
        value = sp.Matrix([[number(v) for v in r] for r in value])
    elif isinstance(value, (list, tuple)):  # items of different lengths: tuples, one by one
        items = [render(v, backend, context, lists="tuple", digits=digits) for v in value]
        # a comma after a matrix's box goes inside it (as for Names below)
        return " ".join(item[:-2] + ",$}" if item.endswith("$}") and k < len(items) - 1
                        else item + ("," if k < len(items) - 1 else "")
                        for k, item in enumerate(items))
    if (latex and context not in _UNBROKEN and isinstance(value, sp.NDimArray)
            and value.rank() >= 3):
        # a tensor (channels first) as its slices, each a matrix TeX measures (\dlxfit), not
        # one unbreakable formula wider than the page
        slices = [render(value[i], backend, context, lists=lists, digits=digits)
                  for i in range(value.shape[0])]
        box, end = r"\dlxfit{$", "$}"
        if all(s.startswith(box) and s.endswith(end) for s in slices):
            # the tensor's brackets and commas inside its slices' boxes (a slice of a
            # tensor of rank 4 is itself several boxes): a box set on a line of its own takes
            # them along (a bracket or comma alone on a line otherwise); each box's own
            # \left ... \right pair balanced, an invisible one where it opens or closes nothing
            bodies = [s[len(box):-len(end)].split(end + " " + box) for s in slices]
            out = []
            for k, parts in enumerate(bodies):
                for j, body in enumerate(parts):
                    first = k == 0 and j == 0
                    last = k == len(bodies) - 1 and j == len(parts) - 1
                    comma = "," if j == len(parts) - 1 and not last else ""
                    out.append(box + (r"\left[" if first else r"\left.") + body
                               + (r"\right]" if last else r"\right.") + comma + end)
            return " ".join(out)
        return r"$\big[${}" + ", ".join(slices) + r"{}$\big]$"
    if latex and context not in _UNBROKEN and isinstance(value, sp.NDimArray) \
            and value.rank() == 2:
        value = sp.Matrix(value.tolist())
    if isinstance(value, sp.MatrixBase) and 1 in value.shape and lists == "tuple":
        return tuple_form(list(value), backend, digits, breakable=context not in _UNBROKEN)
    kind = type(value).__name__  # the notation's own classes, by name as the printers do
    if latex and context not in _UNBROKEN and kind in ("Names", "Is") and any(
            isinstance(a, sp.MatrixBase) for a in sp.preorder_traversal(value)):
        # a statement's matrices one by one, each measured by TeX (not one unbreakable formula)
        if kind == "Names":
            items = [render(a, backend, context, lists=lists, digits=digits)
                     for a in value.args]
            # a comma after a matrix goes inside its box, so that a matrix set on a line of its
            # own keeps its comma instead of starting the next line with it
            return " ".join(item[:-2] + ",$}" if item.endswith("$}") and k < len(items) - 1
                            else item + ("," if k < len(items) - 1 else "")
                            for k, item in enumerate(items))
        name, shown_value = value.args
        shown = render(shown_value, backend, context, lists=lists, digits=digits)
        if shown.startswith(r"\dlxfit{$") and shown.endswith("$}"):
            # the name inside the matrix's box: a matrix set on a line of its own takes its
            # name along, instead of leaving "X =" at the end of the line before
            return rf"\dlxfit{{${_print(name, backend, digits)} = " + shown[len(r"\dlxfit{$"):]
        return f"${_print(name, backend, digits)} =$ " + shown
    if isinstance(value, sp.MatrixBase) or is_number(value):
        shown = displayed(number(value) if not isinstance(value, sp.MatrixBase) else value,
                          digits)[1]
        body = _print(shown, backend, digits)
        if latex and isinstance(value, sp.MatrixBase) and context not in _UNBROKEN:
            # measured by TeX: moved to a line of its own, or shrunk to the line (\dlxfit)
            return rf"\dlxfit{{${body}$}}"
        return f"${body}$" if latex else body
    if isinstance(value, sp.Basic):
        body = _print(value, backend, digits)
        return f"${body}$" if latex else body
    return breakable_tex(str(value)) if latex else str(value)


PLAIN: dict[str, str] = {
    "score": ".6f",  # grades.csv and the grade report: at most 6 decimals, no trailing zeros
    "points": "g",  # an exam's points and a checked exam's score: 20, 12.5
    "echo": ".6g",  # a value the checker or practice mode shows beside the student's own
    "tolerance": ".3g",  # the half-width of what is accepted: ±0.00137
    "moodle": ".10g",  # a number in moodle.xml, as Moodle reads it
    "near_one": ".12g",  # a sum near 1 written in full (0.999999), where 4 decimals read 1
    "gap": ".2g",  # its distance from 1 (1e-06), where 4 decimals read 0
    "spread": ".4g",  # the range of a question's answers over an exam's variants
    "given": "g",  # a probability a question gives as it was given (a decoding tree's 0.45)
}
"""The display rule of the numbers a person reads outside a derivation's steps (scores,
points, tolerances, values echoed back, Moodle's numbers): a format per named context.
A derivation's own values go through :func:`render` and the printers instead."""


@dataclass(frozen=True)
class Plain:
    """A number a sentence writes by a named context of :data:`PLAIN` instead of the display
    rule's decimals (a sum near 1 in full): data in a step (JSON: the number), written by
    :func:`render`."""

    value: float
    context: str


def plain_number(value: float, context: str = "score") -> str:
    """A plain float in a context of :data:`PLAIN`: ``12.5``, ``20``, ``6.666667``. A score
    drops trailing zeros; whole points print without a decimal point; a score or a Moodle
    number is never ``-0``."""
    if context == "points" and float(value).is_integer():
        return str(int(value))
    text = f"{float(value):{PLAIN[context]}}"
    if context == "score":
        text = text.rstrip("0").rstrip(".") or "0"
    return "0" if text == "-0" and context in ("score", "moodle") else text
