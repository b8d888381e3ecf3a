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

from dlexam.check.typed import Leaf, TypedError, from_json, one_element, parse
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
    also: tuple[str, ...] = ()  # the other mistakes of a combination that explains the item
    item: str | None = None  # the asked item (the reference as given) this entry belongs to

    @property
    def mistakes(self) -> tuple[str, ...]:
        """The named mistakes: one, or the two of a combination; () when none."""
        return () if self.mistake is None else (self.mistake, *self.also)

    @property
    def carried(self) -> bool:
        """Right as carried forward: the value follows from the student's own earlier one."""
        return self.follows_from is not None

    @property
    def ref(self) -> str:
        """``y[2]``."""
        return format_ref(self.answer, self.index)


VIEWS: dict[str, Callable[..., str]] = {}
"""How a :class:`Report` displays: ``html`` (Jupyter) and ``text`` (``print``), registered by
:mod:`dlexam.check.report`; each takes the report and a language."""


@dataclass(repr=False)
class Report:
    """All verdicts of one request, with the values they were judged against."""

    derivation: Derivation
    values: Values  # the right derivation's
    verdicts: list[Verdict]
    params: dict[str, Any] = field(default_factory=dict)
    lang: str = "en"  # the language str() and Jupyter show it in

    def __repr__(self) -> str:
        return f"<check of {self.derivation.name}: {self.correct} of {self.total} right>"

    def __str__(self) -> str:
        """The full text report (``print(report)``), in the report's language."""
        view = VIEWS.get("text")  # registered by dlexam.check.report (dlexam.check loads it)
        return repr(self) if view is None else view(self, self.lang)

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
        return None if view is None else view(self, self.lang)

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


PAIR_MIN_ENTRIES = 2
"""The fewest entries an item needs for combinations of two mistakes to be tried on it."""

Candidate = tuple[tuple[str, ...], list[Any]]
"""A mistake (one id) or a combination (two), with its values of an item's elements."""


def explains(leaves_: list[Leaf], expected: list[Any], values: list[Any],
             tolerance: Tolerance, exact: bool) -> bool:
    """Whether a mistake's values explain a whole typed item: every element matches the
    mistake's value, and the mistake's values are not the right ones (somewhere told apart)."""
    apart = False
    for leaf, right, theirs in zip(leaves_, expected, values, strict=True):
        try:
            theirs_number = _number(theirs)
        except (TypeError, ValueError):
            return False
        if not _matches(leaf, theirs_number, tolerance, exact):
            return False
        if not apart and not _matches(Leaf(theirs_number), _number(right), tolerance, exact):
            apart = True
    return apart


def _moves(right: list[Any], values: list[Any], tolerance: Tolerance, exact: bool) -> bool:
    """Whether a mistake's values of an item differ from the right ones somewhere."""
    try:
        return any(not _matches(Leaf(_number(v)), _number(r), tolerance, exact)
                   for v, r in zip(values, right, strict=True))
    except (TypeError, ValueError):
        return False


def judge_item(name: str, elements: list[tuple[tuple[int, ...], Leaf | str, Any]],
               tolerance: Tolerance, kind: str, singles: Iterable[Candidate] = (),
               pairs: Callable[[set[str]], Iterable[Candidate]] | None = None,
               item: str | None = None) -> list[Verdict]:
    """The verdicts of one asked item (a number, a vector, a matrix), one per element.

    Each element is judged right (within the tolerance, or rounded) or wrong (perhaps a
    rounding slip). When some element is wrong, a named mistake is looked for that explains the
    WHOLE item: every element typed matches that mistake's value. The first single mistake that
    does is named on the item's wrong elements; when none does, on an item of two entries or
    more, the combinations ``pairs`` gives (two mistakes made at once) are tried. A mistake
    that matches only some elements (by coincidence) is not named.

    Args:
        name: the answer's name.
        elements: (full 1-based index, typed leaf or text, right value) per element.
        tolerance: the tolerance the elements are judged with.
        kind: the answer's kind.
        singles: (mistake ids, values per element), in the order tried.
        pairs: made on first need: the same for combinations of two of the mistakes given
            (those that change the item).
        item: the item's reference as given (kept on each verdict).
    """
    verdicts = [replace(judge_element(name, index, leaf, expected, tolerance, kind), item=item)
                for index, leaf, expected in elements]
    if all(v.correct for v in verdicts) or any(isinstance(leaf, str) for _i, leaf, _e in
                                               elements):
        return verdicts
    exact = kind in ("integer", "integers")
    typed = [leaf for _i, leaf, _e in elements]
    right = [expected for _i, _l, expected in elements]
    assert all(isinstance(leaf, Leaf) for leaf in typed)
    found: tuple[str, ...] | None = None
    moving: set[str] = set()  # the mistakes that change this item (alone)
    for ids, values in singles:
        if len(values) != len(typed):
            continue
        if explains(typed, right, values, tolerance, exact):  # type: ignore[arg-type]
            found = ids
            break
        if _moves(right, values, tolerance, exact):
            moving.update(ids)
    # two mistakes at once only for an item of several entries (one number matched by one of
    # the many combinations is too likely a coincidence to be named), and only mistakes that
    # each change the item: a combination with one that does not is that one mistake alone
    if found is None and pairs is not None and len(typed) >= PAIR_MIN_ENTRIES \
            and len(moving) >= 2:
        for ids, values in pairs(moving):
            if len(values) == len(typed) and explains(typed, right, values,  # type: ignore[arg-type]
                                                      tolerance, exact):
                found = ids
                break
    if found is None:
        return verdicts
    return [v if v.correct else replace(v, note=None, mistake=found[0], also=found[1:])
            for v in verdicts]


def carried(verdict: Verdict, source: tuple[str, tuple[int, ...] | None]) -> Verdict:
    """A wrong value that follows correctly from the student's own earlier value ``source``:
    right as carried forward (its rounding-slip note, if any, was not a slip)."""
    return replace(verdict, correct=True, note=None, mistake=None, also=(), departs_at=None,
                   follows_from=source)


def item_credit(verdicts: list[Verdict], partial: Mapping[str, float],
                rounding_slip: float = 0.0) -> float:
    """An asked item's credit (0..1 of its points), the one rule of grading and of checking an
    exam: a named mistake on the item earns that mistake's ``partial`` credit for the whole
    item (the smaller of the two for a combination; entries that agree with the right values
    by coincidence earn nothing more); else each entry counts alike: right (or carried forward)
    1, a rounding slip ``rounding_slip``, anything else 0."""
    named = next((v for v in verdicts if v.mistake is not None), None)
    if named is not None:
        return min(partial.get(m, 0.0) for m in named.mistakes)
    if not verdicts:
        return 0.0
    credits = [1.0 if v.correct else rounding_slip if v.note == "rounding-slip" else 0.0
               for v in verdicts]
    return sum(credits) / len(credits)


def _overlay(value: Any, index: tuple[int, ...], number: float) -> Any:
    """A plain value with the entry at a full 1-based index replaced (a copy)."""
    if not index:
        return number
    if not isinstance(value, list) or not 1 <= index[0] <= len(value):
        raise IndexError(index)
    out = list(value)
    out[index[0] - 1] = _overlay(value[index[0] - 1], index[1:], number)
    return out


def student_answers(right: Mapping[str, Any],
                    given: Mapping[tuple[str, tuple[int, ...]], Leaf]) -> dict[str, Any]:
    """The student's answers as plain data: their typed entries where given, the right values
    elsewhere."""
    out = dict(right)
    for (name, index), leaf in given.items():
        if name in out:
            try:
                out[name] = _overlay(out[name], index, leaf.value)
            except IndexError:
                continue
    return out


def follow_answers(derivation: Derivation, verdicts: list[Verdict],
                   given: Mapping[tuple[str, tuple[int, ...]], Leaf],
                   right: Callable[[], Mapping[str, Any]],
                   params: Mapping[str, Any]) -> list[Verdict]:
    """Marks wrong values of later answers computed correctly from the student's own earlier
    answers (the derivation's ``follows``: h -> y, weights -> Z, layers -> total) as right,
    carried forward.

    Args:
        derivation: the derivation.
        verdicts: the verdicts so far.
        given: the typed numbers by (answer, full index).
        right: () -> the right answers as plain data (called on first need).
        params: the raw parameters with the defaults.
    """
    out = list(verdicts)
    for follow in derivation.follows:
        open_ = [k for k, v in enumerate(out)
                 if v.answer in follow.targets and not v.correct and v.note not in (
                     "no-answer", "unreadable") and not isinstance(v.given, (str, list))]
        # only from an earlier answer of the student's own (wrong, or itself carried forward):
        # from right ones the right values follow, judged already
        if not open_ or not any(v.answer in follow.sources and (not v.correct or v.carried)
                                for v in out):
            continue
        mine = student_answers(right(), given)
        try:
            computed = follow.compute(params, mine)
        except (ArithmeticError, ValueError, TypeError, IndexError, InputError):
            computed = None
        if not computed:
            continue
        exact_kinds = ("integer", "integers")
        own = [name for name in follow.sources
               if any(v.answer == name and (not v.correct or v.carried) for v in out)]
        source = own[0] if own else follow.sources[0]  # the earlier answer that was the student's
        for k in open_:
            v = out[k]
            leaf = given.get((v.answer, tuple(v.index or ())))
            if leaf is None or v.answer not in computed:
                continue
            try:
                value = element(computed[v.answer], tuple(v.index or ()))
            except (IndexError, TypeError):
                continue
            if _matches(leaf, _number(value), v.tolerance,
                        derivation.answer(v.answer).kind in exact_kinds):
                step = (v.index[0],) if follow.by_step and v.index else None
                out[k] = carried(v, (source, step))
    return out


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
                           if v.answer == carry.answer and (not v.correct or v.carried)
                           and v.index})
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
                out[k] = carried(v, (carry.answer, (t,)))
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
        self._mistaken: dict[str, Values] = {}  # by mistake id, or "first+second"

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
            raise InputError(echo(ref), err.args[0]) from None
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
                             err.args[0]) from None
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
            raise InputError(echo(ref), Said("check.errors.ragged"), Said(
                "check.errors.lengths", lengths=", ".join(
                    str(len(v) if isinstance(v, list) else 1) for v in value))
                if isinstance(value, list) else Said("inputs.one_number"))
        out = []
        expected_shape = _shape(expected)
        value = one_element(value, expected_shape)  # 0.5 for [0.5]
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
        groups = [(ref, self.read(ref, typed)) for ref, typed in given.items()]
        elements = [e for _ref, group in groups for e in group]
        verdicts: list[Verdict] = []
        for ref, group in groups:
            verdicts += self._judge_item(ref, group)
        verdicts = self._follow_through(verdicts, elements)
        return Report(self.derivation, self.values, verdicts, self.values.params)

    def _tolerance(self, answer: Answer) -> Tolerance:
        tolerance = answer.tolerance
        if answer.kind not in ("integer", "integers", "text"):
            tolerance = (self.tolerance or tolerance).stating(self.precision)
        return tolerance

    def _judge_item(self, ref: str, group: list[Any]) -> list[Verdict]:
        """The verdicts of one given item (a reference and its typed value), judged whole."""
        if not group:
            return []
        answer = group[0][0]
        tolerance = self._tolerance(answer)
        if len(group) == 1 and isinstance(group[0][3], WrongShape):
            # another shape, which a named mistake gives
            _a, index, expected, leaf = group[0]
            given: Any = _leaf_values(leaf.value)
            return [Verdict(answer.name, index if index else None, given, expected, False,
                            tolerance, None, leaf.mistake, self._departs(leaf.mistake),
                            item=ref)]
        indices = [index for _a, index, _e, _l in group]
        verdicts = judge_item(
            answer.name, [(index, leaf, expected) for _a, index, expected, leaf in group],
            tolerance, answer.kind, self._mistake_values(answer.name, indices),
            lambda moving: self._pair_values(answer.name, indices, moving), item=ref)
        departs: dict[str, int | None] = {}
        out = []
        for v in verdicts:
            if v.mistake is not None and not v.also:
                if v.mistake not in departs:
                    departs[v.mistake] = self._departs(v.mistake)
                v = replace(v, departs_at=departs[v.mistake])
            out.append(v)
        return out

    @property
    def applicable(self) -> list[Any]:
        """The mistakes a student can make on this question (worked out once)."""
        if "_applicable" not in self.__dict__:
            self.__dict__["_applicable"] = self.derivation.applicable_mistakes(self.params)
        return self.__dict__["_applicable"]

    def _mistake_values(self, name: str, indices: list[tuple[int, ...]]
                        ) -> Iterator[tuple[tuple[str, ...], list[Any]]]:
        """((mistake id,), that mistake's values of these elements), each derived on first
        need."""
        for mistake in self.applicable:
            if name not in mistake.changes:
                continue
            theirs = self.mistaken_answers(mistake.id).get(name)
            if theirs is None:
                continue
            try:
                yield (mistake.id,), [element(theirs, index) for index in indices]
            except IndexError:
                continue

    def _pair_values(self, name: str, indices: list[tuple[int, ...]], moving: set[str]
                     ) -> Iterator[tuple[tuple[str, ...], list[Any]]]:
        """((first id, second id), the combination's values of these elements), for every two
        of the ``moving`` mistakes (those that change the item), each derived on first need."""
        changing = [m for m in self.applicable if name in m.changes and m.id in moving]
        for k, first in enumerate(changing):
            for second in changing[k + 1:]:
                key = f"{first.id}+{second.id}"
                if key not in self._mistaken:
                    self._mistaken[key] = self.planner.values_combined(  # type: ignore[assignment]
                        self.derivation, self.params, first.id, second.id)
                values = self._mistaken[key]
                if values is None:
                    continue
                theirs = values.answers.get(name)
                if theirs is None:
                    continue
                try:
                    yield (first.id, second.id), [element(theirs, index) for index in indices]
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

        verdicts = follow_through(self.derivation, verdicts, given, state, rerun)
        return follow_answers(self.derivation, verdicts, given, lambda: self.expected,
                              self.values.params)

    def _student_state(self, given: Mapping[tuple[str, tuple[int, ...]], Leaf], name: str,
                       t: int) -> list[float]:
        """The student's state at step t: their entries where given, the right ones elsewhere."""
        right = element(self.expected[name], (t,))
        return [given[(name, (t, j))].value if (name, (t, j)) in given else _number(x)
                for j, x in enumerate(right, start=1)]


def check(derivation: Derivation, params: Mapping[str, Any] | None,
          answers: Mapping[str, Any], precision: Precision | None = None,
          lang: str = "en") -> Report:
    """Checks a student's answers (ref -> typed text or JSON value) against a derivation;
    with ``precision``, a value rounded to it is right too; ``lang``: the language the report
    prints in.

    Raises:
        InputError: the parameters or a given answer are malformed.
    """
    return replace_lang(Checker(derivation, params, precision=precision).check(answers), lang)


def replace_lang(report: Report, lang: str) -> Report:
    """The report, to be shown in ``lang``."""
    report.lang = lang
    return report


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
