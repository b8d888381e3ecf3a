"""Grading a class: every student's cells judged against the key, scored, mistakes counted.

Right, wrong and which named mistake come from the key alone (its expected values and each
applicable mistake's value), through the checker's one judging rule
(:func:`dlexam.check.verdicts.judge_element`). Only follow-through credit runs a derivation:
from the student's own wrong state, for students who have one, once per (variant, question,
step, state).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dlexam.check.typed import Leaf, TypedError, one_element, parse
from dlexam.check.verdicts import (
    Verdict,
    follow_answers,
    follow_through,
    item_credit,
    judge_element,
    judge_item,
    rerun_answers,
)
from dlexam.derivations.contract import element, leaves, outline, plain_shape
from dlexam.derivations.core import Derivation
from dlexam.errors import Said
from dlexam.grade.key import Key, KeyItem, KeyQuestion
from dlexam.grade.overrides import Override
from dlexam.grade.submissions import MAX_CELL_CHARS, Submission
from dlexam.notation.display import plain_number
from dlexam.plans import Planner

NO_ANSWER = "no-answer"
UNREADABLE = "unreadable"


@dataclass
class ItemGrade:
    """One asked item of one student: its verdicts (one per element), credit and mistakes."""

    column: str
    verdicts: list[Verdict]
    credit: float  # 0..1 of the item's points
    mistakes: list[str]  # named mistakes among its verdicts, each once, in order
    reason: str | None = None  # why an empty or refused cell scored nothing
    text: str = ""  # what was typed
    override: Override | None = None  # the instructor's decision, which sets the credit


@dataclass
class QuestionGrade:
    """One question of one student."""

    id: str
    derivation: Derivation
    score: float
    items: list[ItemGrade]


@dataclass
class StudentGrade:
    """One student's grades."""

    student: str
    variant: str
    total: float
    questions: list[QuestionGrade]


@dataclass
class Grades:
    """The class's grades, with the mistake counts.

    Attributes:
        mistakes: question id -> mistake id -> how many answers carry it (one per answer).
        mistake_students: question id -> mistake id -> how many students made it there.
    """

    key: Key
    students: list[StudentGrade]
    mistakes: dict[str, dict[str, int]] = field(default_factory=dict)
    mistake_students: dict[str, dict[str, int]] = field(default_factory=dict)


def _score(value: float) -> float:
    """Scores to 6 decimals: sums of shares like 20/3 print without float noise."""
    rounded = round(value, 6)
    return 0.0 if rounded == 0 else rounded


def _typed_shape(value: Any) -> tuple[int, ...]:
    if isinstance(value, list):
        return (len(value), *(_typed_shape(value[0]) if value else ()))
    return ()


def _shape_words(shape: tuple[int, ...] | None) -> Said:
    if not shape:
        return Said("grade.reasons.single")
    if len(shape) == 1:
        return Said("grade.reasons.list_of", n=shape[0])
    return Said("grade.reasons.array_of", shape=" x ".join(str(s) for s in shape))


class Grader:
    """Grades submissions against one key; what it derives (right states, reruns) is cached."""

    def __init__(self, key: Key,
                 overrides: dict[tuple[str, str], Override] | None = None) -> None:
        from dlexam import derivations

        self.key = key
        self.overrides = overrides or {}
        self.derivations: dict[str, Derivation] = {}
        for variant in key.variants.values():
            for q in variant.questions:
                if q.derivation not in self.derivations:
                    self.derivations[q.derivation] = derivations.get(q.derivation)
        self._right: dict[tuple[str, str], dict[str, Any]] = {}
        self.planner = Planner()  # shapes seen twice are compiled (dlexam.plans)
        self._reruns: dict[tuple[str, str, int, tuple[float, ...]], dict[str, Any] | None] = {}
        self.reruns = 0  # derivation runs for follow-through (for tests and the benchmark)
        self._pairs: dict[tuple[str, str, str, str], dict[str, Any] | None] = {}

    def grade(self, submissions: list[Submission]) -> Grades:
        """Every student graded; mistakes counted per question."""
        grades = Grades(self.key, [self.grade_one(s) for s in submissions])
        for qid in self.key.question_ids:
            answers: Counter[str] = Counter()
            students: Counter[str] = Counter()
            for sg in grades.students:
                made: set[str] = set()
                for qg in sg.questions:
                    if qg.id != qid:
                        continue
                    for item in qg.items:
                        answers.update(item.mistakes)
                        made.update(item.mistakes)
                students.update(made)
            grades.mistakes[qid] = dict(sorted(answers.items(), key=lambda kv: (-kv[1], kv[0])))
            grades.mistake_students[qid] = dict(sorted(students.items(),
                                                       key=lambda kv: (-kv[1], kv[0])))
        return grades

    def grade_one(self, submission: Submission) -> StudentGrade:
        """One student's questions, scored."""
        variant = self.key.variants[submission.variant]
        questions = [self._question(submission, q) for q in variant.questions]
        total = _score(sum(q.score for q in questions))
        return StudentGrade(submission.student, submission.variant, total, questions)

    # --- one question ---
    def _question(self, submission: Submission, question: KeyQuestion) -> QuestionGrade:
        derivation = self.derivations[question.derivation]
        items: list[tuple[str, list[Verdict], str | None]] = []
        given: dict[tuple[str, tuple[int, ...]], Leaf] = {}
        for item in question.asked:
            column = f"{question.id}.{item.ref}"
            cell = submission.cells.get(column, "")
            try:
                verdicts, reason = self._item(
                    derivation, item, cell, given,
                    lambda moving: self._combined(submission.variant, question, derivation,
                                                  moving))
            except (ArithmeticError, ValueError, TypeError, IndexError, RecursionError) as err:
                # one cell that cannot be judged scores zero; the class is still graded
                verdicts = self._blank(item, cell.strip()[:80], UNREADABLE)
                reason = Said("grade.reasons.not_judged", error=type(err).__name__)
            items.append((column, verdicts, reason))
        flat = [v for _c, vs, _r in items for v in vs]
        if derivation.carry is not None and any(
                v.answer == derivation.carry.answer and not v.correct and v.index
                and v.note not in (NO_ANSWER, UNREADABLE) for v in flat):
            flat = self._follow(submission.variant, question, derivation, flat, given)
        if derivation.follows and not all(v.correct for v in flat):
            flat = follow_answers(
                derivation, flat, given,
                lambda: self._right_answers(submission.variant, question, derivation),
                derivation.shown_params(question.params))
        graded: list[ItemGrade] = []
        position = 0
        for column, verdicts, reason in items:
            mine = flat[position:position + len(verdicts)]
            position += len(verdicts)
            mistakes = list(dict.fromkeys(m for v in mine for m in v.mistakes))
            credit = self.item_credit(mine, question)
            decided = self.overrides.get((submission.student, column))
            if decided is not None:
                share = question.points / len(question.asked)
                credit = decided.points / share if share else 0.0
            graded.append(ItemGrade(column, mine, credit, mistakes, reason,
                                    submission.cells.get(column, "").strip(), decided))
        share = question.points / len(question.asked)
        score = _score(sum(share * g.credit for g in graded))
        return QuestionGrade(question.id, derivation, score, graded)

    @staticmethod
    def item_credit(verdicts: list[Verdict], question: KeyQuestion) -> float:
        """An item's credit (0..1 of its points): :func:`dlexam.check.verdicts.item_credit`."""
        return item_credit(verdicts, question.partial, question.rounding_slip)

    def _item(self, derivation: Derivation, item: KeyItem, cell: str,
              given: dict[tuple[str, tuple[int, ...]], Leaf],
              combined: Callable[[set[str]], list[tuple[tuple[str, str], dict[str, Any]]]]
              = lambda _moving: []) -> tuple[list[Verdict], str | None]:
        """The verdicts of one cell, one per element of the item; and why it scored nothing when
        it was empty or refused."""
        typed = cell.strip()
        try:
            kind = derivation.answer(item.answer).kind
            ragged = derivation.answer(item.answer).ragged
        except KeyError:
            kind, ragged = "number", False
        if not typed:
            return self._blank(item, "", NO_ANSWER), Said("typed.nothing")
        if len(typed) > MAX_CELL_CHARS:
            return (self._blank(item, typed[:80] + "...", UNREADABLE),
                    Said("grade.reasons.too_long", n=f"{MAX_CELL_CHARS:,}",
                         length=f"{len(typed):,}"))
        if kind == "text":
            return [judge_element(item.answer, item.index, typed, item.expected, item.tolerance,
                                  kind)], None
        try:
            value = parse(typed, ragged=ragged)
        except TypedError as err:
            return self._blank(item, typed, UNREADABLE), (
                err.args[0] if err.args and isinstance(err.args[0], Said) else str(err))
        if ragged and outline(value) != outline(item.expected):
            return (self._blank(item, typed, UNREADABLE),
                    Said("grade.reasons.ragged"))
        expected_shape = plain_shape(item.expected)
        if not ragged:
            value = one_element(value, expected_shape)  # 0.5 for [0.5]
        if not ragged and expected_shape is None:  # a key whose lists this answer cannot have
            return self._blank(item, typed, UNREADABLE), Said("grade.reasons.key_ragged")
        if not ragged and _typed_shape(value) != expected_shape:
            return (self._blank(item, typed, UNREADABLE),
                    Said("grade.reasons.shape", typed=_shape_words(_typed_shape(value)),
                         answer=_shape_words(expected_shape)))
        elements = []
        positions = []
        for position, leaf in leaves(value):
            index = (*item.index, *position)
            given[(item.answer, index)] = leaf
            positions.append(position)
            elements.append((index, leaf, element(item.expected, position)))

        def pairs(moving: set[str]) -> list[tuple[tuple[str, ...], list[Any]]]:
            out: list[tuple[tuple[str, ...], list[Any]]] = []
            for ids, answers in combined(moving):
                try:
                    whole = element(answers[item.answer], item.index)
                    out.append((ids, [element(whole, p) for p in positions]))
                except (KeyError, IndexError, TypeError):
                    continue
            return out

        return judge_item(item.answer, elements, item.tolerance, kind,
                          _mistake_values(item, positions), pairs, item=item.ref), None

    @staticmethod
    def _blank(item: KeyItem, given: str, note: str) -> list[Verdict]:
        return [Verdict(item.answer, (*item.index, *position) or None, given, value, False,
                        item.tolerance, note)
                for position, value in leaves(item.expected)]

    # --- follow-through: the only derivation runs, cached ---
    def _follow(self, code: str, question: KeyQuestion, derivation: Derivation,
                verdicts: list[Verdict],
                given: dict[tuple[str, tuple[int, ...]], Leaf]) -> list[Verdict]:
        params = derivation.shown_params(question.params)

        def state(name: str, t: int) -> list[float]:
            row = _key_state(question, name, t)
            if row is None:  # the key does not hold the whole right state: derive it once
                row = element(self._right_answers(code, question, derivation)[name], (t,))
            entries = row if isinstance(row, list) else [row]
            return [given[(name, (t, j))].value if (name, (t, j)) in given else float(x)
                    for j, x in enumerate(entries, start=1)]

        def rerun(t: int, student_state: list[float]) -> dict[str, Any] | None:
            cache_key = (code, question.id, t, tuple(student_state))
            if cache_key not in self._reruns:
                self.reruns += 1
                self._reruns[cache_key] = rerun_answers(derivation, params, t, student_state,
                                                        self.planner)
            return self._reruns[cache_key]

        return follow_through(derivation, verdicts, given, state, rerun)

    def _combined(self, code: str, question: KeyQuestion, derivation: Derivation,
                  moving: set[str]) -> list[tuple[tuple[str, str], dict[str, Any]]]:
        """The answers of every combination of two of the ``moving`` mistakes (those that
        change the item) for this question, each derived once per variant and question, only
        for a student whose item no single mistake explains."""
        ids = [m for item in question.asked for m in item.mistakes if m in moving]
        ids = list(dict.fromkeys(ids))
        found = []
        for k, first in enumerate(ids):
            for second in ids[k + 1:]:
                cache_key = (code, question.id, first, second)
                if cache_key not in self._pairs:
                    values = self.planner.values_combined(derivation, question.params, first,
                                                          second)
                    self._pairs[cache_key] = None if values is None else values.answers
                answers = self._pairs[cache_key]
                if answers is not None:
                    found.append(((first, second), answers))
        return found

    def _right_answers(self, code: str, question: KeyQuestion,
                       derivation: Derivation) -> dict[str, Any]:
        cache_key = (code, question.id)
        if cache_key not in self._right:
            self._right[cache_key] = self.planner.values(derivation, question.params).answers
        return self._right[cache_key]


def _key_state(question: KeyQuestion, name: str, t: int) -> Any:
    """The right state ``name[t]`` from the key's expected values, when its asked items hold
    all of it (``h`` or ``h[t]`` asked whole), else None."""
    for item in question.asked:
        if item.answer != name:
            continue
        try:
            if item.index == ():
                return element(item.expected, (t,))
            if item.index == (t,):
                return item.expected
        except IndexError:
            return None
    return None


def _mistake_values(item: KeyItem, positions: list[tuple[int, ...]]
                    ) -> list[tuple[tuple[str, ...], list[Any]]]:
    out: list[tuple[tuple[str, ...], list[Any]]] = []
    for mistake_id, value in item.mistakes.items():
        try:
            out.append(((mistake_id,), [element(value, p) for p in positions]))
        except IndexError:
            continue
    return out


def grade(key: Key, submissions: list[Submission],
          overrides: dict[tuple[str, str], Override] | None = None) -> Grades:
    """The class graded against the key (with the instructor's decisions, when given)."""
    return Grader(key, overrides).grade(submissions)


def review_rows(grades: Grades) -> list[tuple[str, str, str, str]]:
    """(student, item, text typed, reason) of every answer that was unreadable or wrong
    without a named mistake (and not decided by an override): what an instructor reviews."""
    out = []
    for sg in grades.students:
        for q in sg.questions:
            for item in q.items:
                if item.override is not None or not item.verdicts:
                    continue
                if any(v.note == UNREADABLE for v in item.verdicts):
                    out.append((sg.student, item.column, item.text, item.reason or UNREADABLE))
                elif any(v.note == NO_ANSWER for v in item.verdicts) or item.mistakes:
                    continue
                elif any(not v.correct for v in item.verdicts):
                    wrong = [v for v in item.verdicts if not v.correct]
                    slip = all(v.note == "rounding-slip" for v in wrong)
                    expected = ", ".join(f"{v.ref} = {_plain(v.expected)}" for v in wrong[:4])
                    out.append((sg.student, item.column, item.text, Said(
                        "grade.reasons.slip" if slip else "grade.reasons.wrong",
                        expected=expected + (", ..." if len(wrong) > 4 else ""))))
    return out


def _plain(value: Any) -> str:
    return plain_number(value, "echo") if isinstance(value, float) else str(value)


MessageFn = Callable[[str], str]
