"""The answer checker: a student's values against a derivation's declared answers.

For every element given: right or wrong within the declared tolerance (or right as the expected
value rounded to the figures typed); when wrong, a "rounding slip" apart from a method error,
the named mistake whose answer it matches (the derivation's catalogue run on these parameters)
with the first step where the two derivations part, or "follows from your h_1" where an earlier
wrong value was carried forward correctly. Nothing here re-derives anything: every value comes
from running the declared derivation, as itself or as a student making a declared mistake.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation, localcontext
from typing import Any

from dlexam.check.typed import Leaf, TypedError, from_json, parse
from dlexam.derivations.contract import (
    Answer,
    Precision,
    Tolerance,
    element,
    format_ref,
    leaves,
    outline,
    parse_ref,
)
from dlexam.derivations.core import Derivation, Result, Step, to_plain
from dlexam.derivations.params import numeric_inputs
from dlexam.errors import InputError, Said, echo
from dlexam.notation import display
from dlexam.plans import Planner, Values

MAX_GIVEN = 1_000  # answers per request


@dataclass(frozen=True)
class Verdict:
    """One element's verdict (the JSON object of ``dlexam check --json``)."""

    answer: str
    index: tuple[int, ...] | None
    given: float | str
    expected: Any
    correct: bool
    tolerance: Tolerance
    note: str | None = None  # "rounded" (right as rounded), "rounding-slip" (wrong last figure)
    mistake: str | None = None
    departs_at: int | None = None  # which step with a value (0-based) parts the derivations
    follows_from: tuple[str, tuple[int, ...] | None] | None = None

    @property
    def ref(self) -> str:
        """``y[2]``."""
        return format_ref(self.answer, self.index)


VIEWS: dict[str, Callable[[Any], str]] = {}
"""How a :class:`Report` displays in Jupyter: ``html``, registered by :mod:`dlexam.check.report`."""


@dataclass(repr=False)
class Report:
    """All verdicts of one request, with the values they were judged against."""

    derivation: Derivation
    values: Values  # the right derivation's
    verdicts: list[Verdict]
    params: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"<check of {self.derivation.name}: {self.correct} of {self.total} right>"

    @property
    def right(self) -> Result:
        """The right derivation, every step (derived on first need, for display)."""
        if "_right" not in self.__dict__:
            self.__dict__["_right"] = self.derivation.run(self.params)
        return self.__dict__["_right"]

    @property
    def correct(self) -> int:
        """How many verdicts are right."""
        return sum(v.correct for v in self.verdicts)

    @property
    def total(self) -> int:
        """How many verdicts there are."""
        return len(self.verdicts)

    # Jupyter's display protocol, through the view dlexam.check.report registers
    def _repr_html_(self) -> str | None:
        view = VIEWS.get("html")
        return None if view is None else view(self)

    def _repr_markdown_(self) -> str | None:
        return self._repr_html_()

    def parting_steps(self, verdict: Verdict) -> tuple[int, Step, Step] | None:
        """Where the mistaken derivation parts, as the student sees it: (the step's number
        among the steps the layout shows, counted from 1, as ``solve`` numbers them; the right
        step; the mistaken one, both as the layout shows them), derived exactly for display
        (the verdicts came from the faster numeric values).

        ``departs_at`` counts every step with a value, those the layout leaves out too (the
        checker compares complete derivations). When the parting step is one the layout leaves
        out (an attention row past those shown), the right derivation's next step it shows is
        named, beside the mistaken step at the same place when the two derivations have the
        same steps there, else beside the mistaken step where they part.
        """
        if verdict.mistake is None or verdict.departs_at is None:
            return None
        shown = {position: (number, step) for number, (position, step) in
                 enumerate(display.shown_steps(self.right.steps), start=1)}
        right = [k for k, s in enumerate(self.right.steps) if s.value is not None]
        theirs = [s for s in self.derivation.run(self.params, mistake=verdict.mistake).steps
                  if s.value is not None]
        at = verdict.departs_at
        for k in range(at, len(right)):
            if right[k] not in shown:
                continue
            number, mine = shown[right[k]]
            same_place = k < len(theirs) and theirs[k].key == mine.key
            other = theirs[k] if same_place else theirs[min(at, len(theirs) - 1)]
            return number, mine, display.LAYOUT.shown(other) or other
        return None

    def departs_key(self, verdict: Verdict) -> str | None:
        """The catalog key of the step where the mistaken derivation parts from the right one."""
        if verdict.departs_at is None:
            return None
        return self.values.valued_steps[verdict.departs_at][0]


@dataclass(frozen=True)
class WrongShape:
    """A given answer of another shape than the expected one, which a named mistake gives."""

    value: Any
    mistake: str


ROUNDING_MAX_FIGURES = 17
"""A value typed with more significant figures is judged by the tolerance only."""


def significant(literal: str) -> tuple[int, int] | None:
    """(significant figures, exponent of the last figure) of a typed decimal numeral, or None.

    ``"2.74"`` -> (3, -2); ``"-0.0239"`` -> (3, -4); ``"1.50e-3"`` -> (3, -5). Whole numbers
    without a decimal point count every digit but leading zeros (``"270"`` -> (3, 0)).
    """
    try:
        number = Decimal(literal)
    except InvalidOperation:
        return None
    if not number.is_finite() or number == 0:
        return None
    _sign, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)
    figures = len(digits)
    # leading zeros of the digit tuple (Decimal drops them) are never significant
    return figures, exponent


def _rounded(expected: float, figures: int) -> Decimal:
    """The expected value rounded to ``figures`` significant figures."""
    if expected == 0:
        return Decimal(0)
    exponent = math.floor(math.log10(abs(expected))) - figures + 1
    return Decimal(repr(expected)).quantize(Decimal(1).scaleb(exponent), rounding=ROUND_HALF_EVEN)


def judge_number(leaf: Leaf, expected: float, tolerance: Tolerance,
                 exact: bool) -> tuple[bool, str | None]:
    """Whether a typed number is right, and the rounding note.

    Right: within the tolerance; or the expected value rounded to the precision the question
    states (the tolerance's ``precision``); or rounded to the three or more significant figures
    typed. Whole-number answers (``exact``) are compared exactly.
    """
    if exact:
        return leaf.value == expected, None
    if tolerance.within(leaf.value, expected):
        return True, None
    if math.isinf(expected) or not math.isfinite(leaf.value):
        return False, None
    try:
        typed_value = Decimal(leaf.literal if leaf.literal is not None else repr(leaf.value))
    except InvalidOperation:
        return False, None
    if tolerance.rounded_right(typed_value, expected):
        return True, "rounded"
    if leaf.literal is None:
        return False, None
    sig = significant(leaf.literal)
    if sig is None:
        return False, None
    figures, last = sig
    # past 17 figures (all a double holds) the tolerance alone decides: the rounded value
    # would be the expected value itself, padded with zeros
    if 3 <= figures <= ROUNDING_MAX_FIGURES:
        with localcontext() as ctx:  # exact: no operation here may round or trap
            ctx.prec = 2 * ROUNDING_MAX_FIGURES + 20
            target = _rounded(expected, figures)
            typed = Decimal(leaf.literal)
            if typed == target:
                return True, "rounded"
            if abs(typed - target) == Decimal(1).scaleb(last):
                return False, "rounding-slip"
    return False, None


def _matches(leaf: Leaf, value: Any, tolerance: Tolerance, exact: bool) -> bool:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    return judge_number(leaf, float(value), tolerance, exact)[0]


def _number(value: Any) -> float:
    if value == "inf":
        return math.inf
    if value == "-inf":
        return -math.inf
    return float(value)


def judge_element(name: str, index: tuple[int, ...], leaf: Leaf | str, expected: Any,
                  tolerance: Tolerance, kind: str,
                  mistakes: Iterable[tuple[str, Any]] = ()) -> Verdict:
    """One element's verdict against its expected value and the named mistakes' values.

    The one judging rule, used by :class:`Checker` (which derives the mistakes' values) and by
    grading (which reads them from ``key.json``): right within the tolerance or as the expected
    value rounded to the figures typed; else a rounding slip; else the first named mistake whose
    value the typed number matches while the right value does not.

    Args:
        name: the answer's name (``"y"``).
        index: the element's full 1-based position (``()`` for a single value).
        leaf: the typed number, or the typed text of a text answer.
        expected: the right value of this element (a JSON number, ``"inf"``, or text).
        tolerance: the tolerance it is judged with.
        kind: the answer's kind (integers are exact, text is compared as words).
        mistakes: (mistake id, that mistake's value of this element), in the order tried.
    """
    shown_index = index if index else None
    if isinstance(leaf, str):
        right = _normal(leaf) == _normal(str(expected))
        return Verdict(name, shown_index, leaf, expected, right, tolerance)
    exact = kind in ("integer", "integers")
    right, note = judge_number(leaf, _number(expected), tolerance, exact)
    verdict = Verdict(name, shown_index, leaf.value, expected, right, tolerance, note)
    if right or note == "rounding-slip":
        return verdict
    for mistake_id, value in mistakes:
        if _matches(leaf, value, tolerance, exact) and not _matches(
                Leaf(_number(value)), expected, tolerance, exact):
            return Verdict(name, shown_index, leaf.value, expected, False, tolerance, None,
                           mistake_id)
    return verdict


def rerun_answers(derivation: Derivation, params: Mapping[str, Any], t: int,
                  state: list[float], planner: Planner | None = None) -> dict[str, Any] | None:
    """The plain answers of the derivation restarted from a student's state at step t, or
    None when nothing follows step t or the restarted parameters are refused."""
    carry = derivation.carry
    if carry is None:
        return None
    rerun = carry.rerun(params, t, state)
    if rerun is None:
        return None
    try:
        return (planner or Planner()).values(derivation, rerun).answers
    except InputError:
        return None


def follow_through(derivation: Derivation, verdicts: list[Verdict],
                   given: Mapping[tuple[str, tuple[int, ...]], Leaf],
                   state: Callable[[str, int], list[float]],
                   rerun: Callable[[int, list[float]], dict[str, Any] | None]) -> list[Verdict]:
    """Marks later wrong values computed correctly from an earlier wrong state.

    Args:
        derivation: the derivation (its ``carry`` says which answer is the state).
        verdicts: the verdicts so far; those right, with a named mistake or without a position
            are left as they are.
        given: the typed numbers by (answer, full index).
        state: (state answer, t) -> the student's state at step t.
        rerun: (t, state) -> the answers of the derivation restarted from that state (step 1
            being step t + 1), or None; callers may cache it.
    """
    carry = derivation.carry
    if carry is None:
        return verdicts
    out = list(verdicts)
    wrong_states = sorted({v.index[0] for v in verdicts
                           if v.answer == carry.answer and not v.correct and v.index})
    for t in wrong_states:
        if not any(v.index and v.index[0] > t and not (v.correct or v.mistake or v.follows_from)
                   for v in out):
            continue  # nothing later is left to explain: no need to derive again
        again = rerun(t, state(carry.answer, t))
        if again is None:
            continue
        for k, v in enumerate(out):
            if v.correct or v.mistake or v.follows_from or not v.index:
                continue
            step = v.index[0] - t
            if step < 1 or v.answer not in again:
                continue
            try:
                value = element(again[v.answer], (step, *v.index[1:]))
            except IndexError:
                continue
            leaf = given.get((v.answer, v.index))
            if leaf is not None and _matches(leaf, value, v.tolerance,
                                             derivation.answer(v.answer).kind
                                             in ("integer", "integers")):
                out[k] = Verdict(v.answer, v.index, v.given, v.expected, False, v.tolerance,
                                 v.note, None, None, (carry.answer, (t,)))
    return out


class Checker:
    """Checks given answers against one derivation on one set of parameters.

    The right values and each mistake's are computed once, on first need, by ``planner``
    (30-digit numbers: they agree with the exact ones far below any tolerance,
    tests/test_contract.py and tests/test_plans.py); the full right derivation only when a step
    is shown.
    """

    def __init__(self, derivation: Derivation, params: Mapping[str, Any] | None,
                 tolerance: Tolerance | None = None, planner: Planner | None = None,
                 precision: Precision | None = None) -> None:
        self.derivation = derivation
        self.tolerance = tolerance  # an exam's override for inexact answers, or None
        self.precision = precision  # the precision the question states, or None
        self.params = dict(params or {})
        self.planner = planner or Planner()
        self.values = self.planner.values(derivation, self.params)
        self.expected = self.values.answers
        self._mistaken: dict[str, Values] = {}

    @property
    def right(self) -> Result:
        """The right derivation with every step (derived on first need, for display)."""
        if "_right" not in self.__dict__:
            with numeric_inputs():
                self.__dict__["_right"] = self.derivation.run(self.params)
        return self.__dict__["_right"]

    def mistaken(self, mistake_id: str) -> Values:
        """The values of a student making this mistake from start to end."""
        if mistake_id not in self._mistaken:
            self._mistaken[mistake_id] = self.planner.values(self.derivation, self.params,
                                                             mistake_id)
        return self._mistaken[mistake_id]

    def mistaken_answers(self, mistake_id: str) -> dict[str, Any]:
        """The plain answers of a student making this mistake."""
        return self.mistaken(mistake_id).answers

    # --- reading what was given ---
    def read(self, ref: str, typed: Any
             ) -> list[tuple[Answer, tuple[int, ...], Any, Leaf | str | WrongShape]]:
        """A given answer as (declaration, full 1-based index, expected, typed leaf) per element.

        Raises:
            InputError: naming the answer: unknown name, position out of range, text that the
                parser refuses, or a shape that does not fit.
        """
        try:
            name, index = parse_ref(ref)
        except ValueError as err:
            raise InputError(echo(ref), str(err)) from None
        try:
            answer = self.derivation.answer(name)
        except KeyError:
            known = ", ".join(a.name for a in self.derivation.answers)
            raise InputError(echo(name), Said("check.errors.an_answer_of",
                                              name=self.derivation.name, known=known),
                             Said("check.errors.unknown_answer")) from None
        if name not in self.expected:
            raise InputError(name, Said("check.errors.this_question"),
                             Said("check.errors.none_called", name=name))
        try:
            expected = element(self.expected[name], index)
        except IndexError as err:
            raise InputError(echo(ref), Said("check.errors.position",
                                             shape=_shape_text(self.expected[name])),
                             str(err)) from None
        if answer.kind == "text":
            given_text = typed if isinstance(typed, str) else json_text(typed)
            return [(answer, index, expected, given_text.strip())]
        try:
            value = from_json(typed, ragged=answer.ragged) if not isinstance(typed, str) else \
                parse(typed, ragged=answer.ragged)
        except TypedError as err:
            raise InputError(echo(ref), Said("check.errors.readable"),
                             err.args[0]) from None
        if answer.ragged and outline(value) != outline(expected):
            # lists of different lengths (one shape per layer): each as long as the answer's
            lengths = [len(v) if isinstance(v, list) else 1 for v in value] \
                if isinstance(value, list) else "one number"
            raise InputError(echo(ref), Said("check.errors.ragged"),
                             f"lengths {lengths}")
        out = []
        expected_shape = _shape(expected)
        given_shape = _shape(value)
        if given_shape != expected_shape and _same_vector(given_shape, expected_shape):
            value = _reshape(value, expected_shape)  # [a, b] for a 1 x 2 (or 2 x 1) matrix
            given_shape = expected_shape
        if given_shape != expected_shape:
            mistake = self._shape_mistake(answer, index, value)
            if mistake is None:
                raise InputError(echo(ref), Said("check.errors.as_the_answer",
                                                 shape=_shape_words(expected_shape)),
                                 _shape_words(given_shape))
            return [(answer, index, expected, WrongShape(value, mistake))]
        for position, leaf in leaves(value):
            out.append((answer, (*index, *position), element(expected, position), leaf))
        return out

    def _shape_mistake(self, answer: Answer, index: tuple[int, ...], value: Any) -> str | None:
        """The mistake whose answer has the given (other) shape and values, if one does."""
        exact = answer.kind in ("integer", "integers")
        for mistake in self.derivation.applicable_mistakes(self.params):
            if answer.name not in mistake.changes:
                continue
            try:
                theirs = element(self.mistaken_answers(mistake.id).get(answer.name), index)
            except (IndexError, TypeError):
                continue
            if _shape(theirs) != _shape(value):
                continue
            pairs = zip(leaves(value), leaves(theirs), strict=True)
            if all(_matches(leaf, x, answer.tolerance, exact) for (_p, leaf), (_q, x) in pairs):
                return mistake.id
        return None

    # --- judging ---
    def check(self, given: Mapping[str, Any]) -> Report:
        """Verdicts for every element given, in the order given.

        Raises:
            InputError: a given answer is malformed (nothing is judged then).
        """
        if len(given) > MAX_GIVEN:
            raise InputError("answers", Said("check.errors.at_most", n=MAX_GIVEN),
                             str(len(given)))
        elements = [e for ref, typed in given.items() for e in self.read(ref, typed)]
        verdicts: list[Verdict] = []
        for answer, index, expected, leaf in elements:
            verdicts.append(self._judge(answer, index, expected, leaf))
        verdicts = self._follow_through(verdicts, elements)
        return Report(self.derivation, self.values, verdicts, self.values.params)

    def _judge(self, answer: Answer, index: tuple[int, ...], expected: Any,
               leaf: Leaf | str | WrongShape) -> Verdict:
        tolerance = answer.tolerance
        if answer.kind not in ("integer", "integers", "text"):
            tolerance = (self.tolerance or tolerance).stating(self.precision)
        if isinstance(leaf, WrongShape):  # another shape, which a named mistake gives
            given: Any = _leaf_values(leaf.value)
            return Verdict(answer.name, index if index else None, given, expected, False,
                           tolerance, None, leaf.mistake, self._departs(leaf.mistake))
        verdict = judge_element(answer.name, index, leaf, expected, tolerance,
                                answer.kind, self._mistake_values(answer.name, index))
        if verdict.mistake is None:
            return verdict
        return replace(verdict, departs_at=self._departs(verdict.mistake))

    def _mistake_values(self, name: str, index: tuple[int, ...]) -> Iterator[tuple[str, Any]]:
        """(mistake id, that mistake's value of this element), each derived on first need."""
        for mistake in self.derivation.applicable_mistakes(self.params):
            if name not in mistake.changes:
                continue
            theirs = self.mistaken_answers(mistake.id).get(name)
            if theirs is None:
                continue
            try:
                yield mistake.id, element(theirs, index)
            except IndexError:
                continue

    def _departs(self, mistake_id: str) -> int | None:
        """The first step with numbers where the mistaken derivation parts from the right one
        (counted among the steps with a value, from 0).

        Prose-only steps are passed over (a step that names the other convention differs in its
        words, not yet in its numbers); steps are matched in order among those with a value.
        """
        mine = self.values.valued_steps
        theirs = self.mistaken(mistake_id).valued_steps
        for position, ((key, value), (other_key, other)) in enumerate(
                zip(mine, theirs, strict=False)):
            if key != other_key or not _same(value, other):
                return position
        return None

    def _follow_through(self, verdicts: list[Verdict], elements: list[Any]) -> list[Verdict]:
        """Marks later wrong values computed correctly from an earlier wrong one."""
        given: dict[tuple[str, tuple[int, ...]], Leaf] = {
            (a.name, idx): leaf for a, idx, _e, leaf in elements if isinstance(leaf, Leaf)}

        def state(name: str, t: int) -> list[float]:
            return self._student_state(given, name, t)

        def rerun(t: int, student_state: list[float]) -> dict[str, Any] | None:
            return rerun_answers(self.derivation, self.values.params, t, student_state,
                                 self.planner)

        return follow_through(self.derivation, verdicts, given, state, rerun)

    def _student_state(self, given: Mapping[tuple[str, tuple[int, ...]], Leaf], name: str,
                       t: int) -> list[float]:
        """The student's state at step t: their entries where given, the right ones elsewhere."""
        right = element(self.expected[name], (t,))
        return [given[(name, (t, j))].value if (name, (t, j)) in given else _number(x)
                for j, x in enumerate(right, start=1)]


def check(derivation: Derivation, params: Mapping[str, Any] | None,
          answers: Mapping[str, Any], precision: Precision | None = None) -> Report:
    """Checks a student's answers (ref -> typed text or JSON value) against a derivation;
    with ``precision``, a value rounded to it is right too.

    Raises:
        InputError: the parameters or a given answer are malformed.
    """
    return Checker(derivation, params, precision=precision).check(answers)


def _same(a: Any, b: Any) -> bool:
    """Whether two step values hold the same numbers (a row and a column alike)."""
    la = [x for _p, x in leaves(to_plain(a))]
    lb = [x for _p, x in leaves(to_plain(b))]
    if len(la) != len(lb):
        return False
    for x, y in zip(la, lb, strict=True):
        if isinstance(x, (int, float)) and isinstance(y, (int, float)):
            if not math.isclose(x, y, rel_tol=1e-12, abs_tol=1e-15):
                return False
        elif x != y:
            return False
    return True


def _normal(text: str) -> str:
    return " ".join(text.replace(" ", " ").split()).casefold()


def _shape(value: Any) -> tuple[int, ...]:
    if isinstance(value, list):
        return (len(value), *(_shape(value[0]) if value else ()))
    return ()


def _same_vector(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    """Whether two shapes are the same vector written flat or as one row / one column."""
    def flat(shape: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(d for d in shape if d != 1) if len(shape) <= 2 else shape
    return len(a) <= 2 and len(b) <= 2 and a != () and b != () and flat(a) == flat(b) and \
        len(flat(a)) == 1


def _reshape(value: Any, shape: tuple[int, ...]) -> Any:
    flat = [leaf for _p, leaf in leaves(value)]
    if len(shape) == 1:
        return flat
    rows, cols = shape
    return [flat[r * cols:(r + 1) * cols] for r in range(rows)]


def _shape_text(value: Any) -> str:
    return _shape_words(_shape(value))


def _shape_words(shape: tuple[int, ...]) -> str:
    if not shape:
        return Said("check.errors.single")
    if len(shape) == 1:
        return Said("check.errors.list_of", n=shape[0])
    return Said("show.kind.array", shapes=" x ".join(str(s) for s in shape))


def json_text(value: Any) -> str:
    """A JSON value as compact text."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


class CheckerCache:
    """Checkers by (derivation, parameters), so that students who share a variant share its
    right answers and its mistakes' answers (computed once, on first need)."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._items: dict[str, Checker] = {}
        self.planner = Planner()  # shapes seen twice are compiled: their values come fast

    def get(self, derivation: Derivation, params: Mapping[str, Any] | None,
            precision: Precision | None = None) -> Checker:
        """The checker of this derivation on these parameters (with a stated precision).

        Raises:
            InputError: the parameters are malformed.
        """
        key = derivation.name + "\0" + json_text(to_plain(dict(params or {}))) + "\0" + \
            json_text(precision.as_dict() if precision else None)
        checker = self._items.pop(key, None)
        if checker is None:
            checker = Checker(derivation, params, planner=self.planner, precision=precision)
        self._items[key] = checker  # most recently used last
        while len(self._items) > self.size:
            self._items.pop(next(iter(self._items)))
        return checker


def _leaf_values(value: Any) -> Any:
    """Typed leaves (nested lists of them, at any depth) as their values."""
    if isinstance(value, list):
        return [_leaf_values(v) for v in value]
    return value.value
