"""What a derivation promises: its gradable answers, with tolerances, and its named mistakes.

The checker, the exam builder and grading read these declarations; none of them re-derives
anything. An answer is addressed as exams write it, 1-based: ``y`` (the whole answer), ``y[2]``
(its second entry), ``h[2][1]`` (the first entry of the second state).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from dlexam.errors import InputError, Said

Shape = tuple[str | int, ...]

DEFAULT_REL = 5e-4
DEFAULT_ABS = 1e-12

# kind -> how deeply its value nests (None: any depth given by its shapes)
ANSWER_KINDS: dict[str, int | None] = {
    "integer": 0,  # exact
    "number": 0,
    "integers": None,  # whole numbers, each exact: one, a list, or lists as its shapes say
    "vector": 1,
    "matrix": 2,
    "vectors": None,  # a list of vectors (or of numbers, where each step gives one number)
    "matrices": 3,  # a list of matrices
    "layers": None,  # one vector or matrix per layer, each of its own size (shapes: ("L",))
    "text": 0,  # a word or a formula written as text: compared exactly
}
EXACT_KINDS = frozenset({"integer", "integers", "text"})
RAGGED_KINDS = frozenset({"layers"})
"""Kinds whose items differ in size (a network's layers): addressed item by item, ``z[2]``."""
ANY = "*"
"""A declared dimension of any size, which may differ from one item to the next (ragged)."""

_KEBAB = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_REF = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<index>(?:\[\s*\d+\s*\])*)$")


@dataclass(frozen=True)
class Precision:
    """The precision a question states: ``sig_figs`` significant figures or ``decimals``
    decimal places (exactly one of them)."""

    sig_figs: int | None = None
    decimals: int | None = None

    def __post_init__(self) -> None:
        if (self.sig_figs is None) == (self.decimals is None):
            raise ValueError("a precision states sig_figs or decimals, exactly one")
        if self.sig_figs is not None and not 1 <= self.sig_figs <= MAX_FIGURES:
            raise ValueError(f"sig_figs from 1 to {MAX_FIGURES}")
        if self.decimals is not None and not 0 <= self.decimals <= MAX_FIGURES:
            raise ValueError(f"decimals from 0 to {MAX_FIGURES}")

    def exponent(self, expected: float) -> int:
        """The power of ten of the last place kept around ``expected`` (0.1192 at 2 figures:
        -2)."""
        if self.decimals is not None:
            return -self.decimals
        assert self.sig_figs is not None
        if expected == 0:
            return 0
        return math.floor(math.log10(abs(expected))) - self.sig_figs + 1

    def rounded(self, expected: float) -> tuple[Decimal, ...]:
        """The values ``expected`` rounds to at this precision: one, or the two neighbours
        when it lies halfway between them (within 1e-12 relative: a tie is rounded up or down
        by the student's rule, both accepted)."""
        exact = Decimal(repr(float(expected)))
        nudge = abs(exact) * Decimal("1e-12")
        out: list[Decimal] = []
        for value in (exact - nudge, exact, exact + nudge):
            place = Decimal(1).scaleb(self.exponent(float(value)))
            r = value.quantize(place, rounding=ROUND_HALF_EVEN)
            if r not in out:
                out.append(r)
        return tuple(out)

    def as_dict(self) -> dict[str, int]:
        """``{"sig_figs": n}`` or ``{"decimals": n}``."""
        return ({"sig_figs": self.sig_figs} if self.sig_figs is not None
                else {"decimals": int(self.decimals or 0)})


MAX_FIGURES = 15  # a double holds about 15 significant decimal figures


def precision_of(sig_figs: Any, decimals: Any,
                 names: tuple[str, str] = ("sig_figs", "decimals")) -> Precision | None:
    """The precision stated by ``sig_figs`` or ``decimals`` (None when neither is given).

    Args:
        sig_figs, decimals: the values given (None when absent).
        names: how the two are named in errors (``("questions[2].sig_figs", ...)``,
            ``("--sig-figs", "--decimals")``).

    Raises:
        InputError: both given, or one that is not a whole number in range.
    """
    if sig_figs is not None and decimals is not None:
        raise InputError(names[0], Said("check.errors.not_both", a=names[0], b=names[1]),
                         Said("errors.both"))
    for name, field_name, value, low in ((names[0], "sig_figs", sig_figs, 1),
                                         (names[1], "decimals", decimals, 0)):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not (
                low <= value <= MAX_FIGURES):
            raise InputError(name, Said("inputs.a_whole_from_to", low=low, high=MAX_FIGURES),
                             repr(value)[:60])
        return Precision(**{field_name: value})
    return None


@dataclass(frozen=True)
class Tolerance:
    """Closeness for numbers: v is within tolerance of e when |v - e| <= max(abs, rel * |e|).

    With a stated ``precision``, a value is also accepted when it equals e rounded to that
    precision (:meth:`rounded_right`), however far that is from e.
    """

    rel: float = DEFAULT_REL
    abs: float = DEFAULT_ABS
    precision: Precision | None = None

    def allowed(self, expected: float) -> float:
        """The largest difference accepted around ``expected`` by the tolerance alone."""
        return max(self.abs, self.rel * abs(expected))

    def within(self, value: float, expected: float) -> bool:
        """Whether ``value`` is accepted for ``expected`` (infinities only match themselves)."""
        if math.isinf(expected) or math.isinf(value):
            return value == expected
        return abs(value - expected) <= self.allowed(expected)

    def rounded_right(self, typed: Decimal, expected: float) -> bool:
        """Whether a typed number is ``expected`` rounded to the stated precision (numerically:
        0.120 and 0.12 alike; a whole number such as 3 for 3.0 too)."""
        if self.precision is None or math.isinf(expected) or math.isnan(expected):
            return False
        return any(typed == r for r in self.precision.rounded(expected))

    def tells_apart(self, expected: float, other: float) -> bool:
        """Whether ``other`` (a mistake's value) is told apart from ``expected``: outside the
        tolerance, and, with a stated precision, rounding to none of the values ``expected``
        rounds to (a student who rounds it as asked is not marked right)."""
        if self.within(other, expected):
            return False
        if self.precision is None or not (math.isfinite(other) and math.isfinite(expected)):
            return True
        return not set(self.precision.rounded(other)) & set(self.precision.rounded(expected))

    def interval(self, expected: float) -> float:
        """The half-width of the one interval around ``expected`` that holds every value the
        tolerance takes and the rounded values (what Moodle, whose tolerances are
        absolute, is given): the tolerance, widened to reach the rounded values."""
        allowed = self.allowed(expected)
        if self.precision is None or not math.isfinite(expected):
            return allowed
        reach = max(abs(float(r) - expected) for r in self.precision.rounded(expected))
        return max(allowed, reach * (1 + 1e-9))

    def stating(self, precision: Precision | None) -> Tolerance:
        """This tolerance with a stated precision (None: as it is)."""
        return self if precision is None else replace(self, precision=precision)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Tolerance:
        """The inverse of :meth:`as_dict` (the data already checked)."""
        stated = {k: int(data[k]) for k in ("sig_figs", "decimals") if data.get(k) is not None}
        return cls(rel=float(data["rel"]), abs=float(data["abs"]),
                   precision=Precision(**stated) if stated else None)

    def as_dict(self) -> dict[str, float]:
        """``{"rel", "abs"}``, with ``sig_figs`` or ``decimals`` when a precision is stated."""
        out: dict[str, float] = {"rel": self.rel, "abs": self.abs}
        if self.precision is not None:
            out.update(self.precision.as_dict())
        return out


EXACT = Tolerance(rel=0.0, abs=0.0)


@dataclass(frozen=True)
class Answer:
    """A gradable answer.

    Attributes:
        name: its name in ``Result.answers`` (``"y"``).
        kind: one of :data:`ANSWER_KINDS`.
        shapes: the shapes allowed, in dimension names (bound by the parameters where they share
            a name) or fixed sizes; ``()`` for a single value. Several shapes are alternatives.
            :data:`ANY` for a dimension whose size may differ from item to item (one shape per
            layer: ``("L", ANY)``).
        rel, abs: the default tolerance (integers and text are exact).
        optional: present only for some parameters (``loss`` only when a target is given).
        asked: the question statement asks for it (``dlexam practice`` asks these in turn);
            False for values worked out on the way or reported beside (the other convention's).
    """

    name: str
    kind: str
    shapes: tuple[Shape, ...] = ((),)
    rel: float = DEFAULT_REL
    abs: float = DEFAULT_ABS
    optional: bool = False
    asked: bool = True

    def __post_init__(self) -> None:
        if self.kind not in ANSWER_KINDS:
            raise ValueError(f"answer {self.name!r}: unknown kind {self.kind!r}")
        depth = ANSWER_KINDS[self.kind]
        for shape in self.shapes:
            if depth is not None and len(shape) != depth:
                raise ValueError(f"answer {self.name!r}: a {self.kind} has {depth} dimension(s), "
                                 f"declared {shape}")

    @property
    def ragged(self) -> bool:
        """Whether its lists may differ in length (a dimension declared :data:`ANY`)."""
        return any(ANY in shape for shape in self.shapes)

    @property
    def tolerance(self) -> Tolerance:
        """The declared tolerance (exact for integers and text)."""
        return EXACT if self.kind in EXACT_KINDS else Tolerance(self.rel, self.abs)

    def describe_shape(self) -> str:
        """The shapes in words (``T x H``), alternatives joined by ``or``."""
        alts = [" x ".join(str(d) for d in s) if s else "one value" for s in self.shapes]
        return " or ".join(alts)


@dataclass(frozen=True)
class Mistake:
    """A common wrong method, computed consistently from start to end.

    Attributes:
        id: a stable kebab-case id (``"row-convention"``).
        changes: the answers it changes (the others are what the right method gives).
        params: raw parameters -> the raw parameters the mistaken student effectively uses
            (``convention=row``), or None; the derivation then runs as usual on them.
        formula: the derivation function computes it itself when called with ``mistake=id``.
        applies: raw parameters (defaults filled in) -> whether the mistake can be made on this
            question (``keras-biases`` only on a PyTorch question); None: always.
    """

    id: str
    changes: tuple[str, ...]
    params: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    formula: bool = False
    applies: Callable[[Mapping[str, Any]], bool] | None = None

    def __post_init__(self) -> None:
        if not _KEBAB.match(self.id):
            raise ValueError(f"mistake id {self.id!r} is not kebab-case")
        if self.params is None and not self.formula:
            raise ValueError(f"mistake {self.id!r}: give params, formula=True, or both")
        if not self.changes:
            raise ValueError(f"mistake {self.id!r} changes no answer")

    def applies_to(self, params: Mapping[str, Any]) -> bool:
        """Whether the mistake can be made on a question with these raw parameters."""
        return True if self.applies is None else bool(self.applies(params))


def with_params(**overrides: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A mistake's parameter rule that sets fixed values (``with_params(convention="row")``)."""

    def rule(params: dict[str, Any]) -> dict[str, Any]:
        return {**params, **overrides}

    return rule


def parse_ref(ref: str) -> tuple[str, tuple[int, ...]]:
    """``"h[2][1]"`` -> ``("h", (2, 1))``; positions are 1-based.

    Raises:
        ValueError: not a name followed by bracketed positive whole numbers.
    """
    match = _REF.match(ref.strip())
    if not match:
        raise ValueError(Said("check.errors.reference"))
    index = tuple(int(i) for i in re.findall(r"\d+", match.group("index")))
    if any(i < 1 for i in index):
        raise ValueError(Said("check.errors.from_one"))
    return match.group("name"), index


def format_ref(name: str, index: Sequence[int] | None) -> str:
    """``("h", [2, 1])`` -> ``"h[2][1]"``."""
    return name + "".join(f"[{i}]" for i in (index or ()))


def element(value: Any, index: Sequence[int]) -> Any:
    """The entry of a plain (JSON) value at 1-based positions.

    Raises:
        IndexError: a position past the end, or indexing into a single value.
    """
    for depth, i in enumerate(index):
        if not isinstance(value, list):
            raise IndexError(Said("check.errors.single_value", position=depth + 1))
        if not 1 <= i <= len(value):
            raise IndexError(Said("check.errors.position_of", position=i, n=len(value)))
        value = value[i - 1]
    return value


def leaves(value: Any, prefix: tuple[int, ...] = ()) -> list[tuple[tuple[int, ...], Any]]:
    """Every single value of a plain (JSON) value with its 1-based position."""
    if isinstance(value, list):
        out: list[tuple[tuple[int, ...], Any]] = []
        for i, item in enumerate(value, start=1):
            out += leaves(item, (*prefix, i))
        return out
    return [(prefix, value)]


def outline(value: Any) -> Any:
    """The nesting of lists, without their numbers: two values of the same outline hold their
    numbers at the same positions (also for ragged lists, whose :func:`plain_shape` is None)."""
    return [outline(v) for v in value] if isinstance(value, list) else None


def plain_shape(value: Any) -> tuple[int, ...] | None:
    """The shape of nested plain lists, or None when they are ragged."""
    if not isinstance(value, list):
        return ()
    if not value:
        return (0,)
    inner = [plain_shape(v) for v in value]
    if any(s is None or s != inner[0] for s in inner):
        return None
    first = inner[0]
    assert first is not None
    return (len(value), *first)


def shape_problem(answer: Answer, value: Any, dims: dict[str, int]) -> str | None:
    """Why a plain value does not fit the declaration, or None (binding new dimension names)."""
    if answer.kind == "text":
        return None if isinstance(value, str) else f"{answer.name}: text expected"
    if answer.kind in RAGGED_KINDS:
        return _layers_problem(answer, value, dims)
    if any(ANY in decl for decl in answer.shapes):
        return _ragged_problem(answer, value, dims)
    shape = plain_shape(value)
    if shape is None:
        return f"{answer.name}: ragged lists"
    problems = []
    for decl in answer.shapes:
        if len(decl) != len(shape):
            problems.append(f"{len(shape)} dimension(s) for {decl}")
            continue
        trial = dict(dims)
        bad = None
        for dname, size in zip(decl, shape, strict=True):
            if isinstance(dname, int):
                if dname != size:
                    bad = f"size {size} for {dname}"
                    break
            elif trial.setdefault(dname, size) != size:
                bad = f"{dname} = {trial[dname]} but size {size}"
                break
        if bad is None:
            dims.update(trial)
            break
        problems.append(bad)
    else:
        return f"{answer.name}: shape {shape} fits none of {answer.shapes} ({'; '.join(problems)})"
    return _leaf_problem(answer, value)


def _ragged_problem(answer: Answer, value: Any, dims: dict[str, int]) -> str | None:
    """:func:`shape_problem` for declarations with an :data:`ANY` dimension."""

    def fits(item: Any, decl: Shape, trial: dict[str, int]) -> bool:
        if not decl:
            return not isinstance(item, list)
        if not isinstance(item, list):
            return False
        name = decl[0]
        if isinstance(name, int) and name != len(item):
            return False
        if isinstance(name, str) and name != ANY and trial.setdefault(name, len(item)) != len(
                item):
            return False
        return all(fits(x, decl[1:], trial) for x in item)

    for decl in answer.shapes:
        trial = dict(dims)
        if fits(value, decl, trial):
            dims.update(trial)
            return _leaf_problem(answer, value)
    return f"{answer.name}: fits none of the shapes {answer.shapes}"


def _leaf_problem(answer: Answer, value: Any) -> str | None:
    for _pos, leaf in leaves(value):
        if answer.kind in ("integer", "integers"):
            if isinstance(leaf, bool) or not isinstance(leaf, int):
                return f"{answer.name}: whole numbers expected, got {leaf!r}"
        elif isinstance(leaf, bool) or not (isinstance(leaf, (int, float)) or leaf in ("inf",
                                                                                         "-inf")):
            return f"{answer.name}: numbers expected, got {leaf!r}"
    return None


def _layers_problem(answer: Answer, value: Any, dims: dict[str, int]) -> str | None:
    """Why a list of per-layer arrays does not fit: the number of items binds the declared
    dimension; each item is a rectangular array of numbers of its own size."""
    if not isinstance(value, list) or not value:
        return f"{answer.name}: a list with one array per item expected"
    (dname,) = answer.shapes[0]
    if isinstance(dname, str) and dims.setdefault(dname, len(value)) != len(value):
        return f"{answer.name}: {dname} = {dims[dname]} but {len(value)} items"
    for item in value:
        if plain_shape(item) is None:
            return f"{answer.name}: ragged lists inside an item"
        for _pos, leaf in leaves(item):
            if isinstance(leaf, bool) or not isinstance(leaf, (int, float)):
                return f"{answer.name}: numbers expected, got {leaf!r}"
    return None


@dataclass(frozen=True)
class Carry:
    """How a state answer is carried forward, for follow-through credit.

    Attributes:
        answer: the state answer (``"h"``) whose entry at step t starts step t + 1.
        rerun: (raw parameters with defaults, t, the student's state at t as a list of floats)
            -> the raw parameters of the same derivation started from that state, whose step 1
            is step t + 1 of the question; or None when nothing follows step t.
    """

    answer: str
    rerun: Callable[[Mapping[str, Any], int, list[float]], dict[str, Any] | None]


@dataclass(frozen=True)
class Follow:
    """Later answers computed from earlier ones of the same run, for follow-through credit: a
    value that follows correctly from the student's own (wrong) earlier value is right as
    carried forward.

    Attributes:
        sources: the answers the later ones are computed from (``("weights",)``).
        targets: the answers computed from them (``("Z",)``).
        compute: (raw parameters with defaults, the student's answers: their typed entries
            where given, the right ones elsewhere, as plain data) -> the targets' plain values
            computed from them (by the derivation's own code), or None when they cannot be.
    """

    sources: tuple[str, ...]
    targets: tuple[str, ...]
    compute: Callable[[Mapping[str, Any], Mapping[str, Any]], Mapping[str, Any] | None]
    by_step: bool = False  # target[t] follows from source[t] (y_t from h_t): named so
