"""Seeded variants of an exam: each question's numbers drawn per variant, kept only when they are
worth giving (new, and every asked item tells the right value and each applicable mistake apart).

:func:`build_variants` gives the whole key as plain data (what ``key.json`` holds) and the
results the keys' PDFs typeset; the same exam and seed give the same variants on any machine
(seeds derived with SHA-256, draws built on ``random.random`` alone).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from dlexam.derivations.contract import Tolerance, element, leaves
from dlexam.derivations.core import to_plain
from dlexam.derivations.plans import Planner, Values
from dlexam.errors import InputError
from dlexam.exams.model import Exam, Question, Structure, _derive_seed, structure_of

MAX_VARIANTS = 1000
_SAME = Tolerance(rel=1e-9, abs=1e-12)  # a mistake this close leaves the item as it was
MAX_SEED = 2**63 - 1
REDRAWS = 40  # draws per variant and question before it is declared unsatisfiable
_CODE_ALPHABET = "ACDEFGHJKLMNPQRTUVWXY34679"  # no look-alikes (0/O, 1/I, 2/Z, 5/S, 8/B)


@dataclass
class QuestionVariant:
    """One question of one variant: its parameters, its values, and the key's entry."""

    question: Question
    params: dict[str, Any]
    values: Values
    asked: list[dict[str, Any]]
    mistakes: dict[str, Values] = field(default_factory=dict)


@dataclass
class Variant:
    """One variant: its code, its seed, its questions."""

    code: str
    seed: int
    questions: list[QuestionVariant]


@dataclass
class Drawn:
    """Every variant, and how many draws were refused, by reason."""

    exam: Exam
    seed: int
    variants: list[Variant]
    redrawn: Counter[str]

    def key(self) -> dict[str, Any]:
        """The key as ``key.json`` holds it."""
        return {
            "title": dict(self.exam.title),
            "seed": self.seed,
            "variants": [
                {"code": v.code, "seed": v.seed, "questions": [
                    {"id": qv.question.id, "derivation": qv.question.derivation,
                     "params": qv.params, "points": qv.question.points, "asked": qv.asked,
                     # the exam file's credit for named mistakes (read by dlexam grade)
                     **({"partial": dict(qv.question.partial)} if qv.question.partial else {})}
                    for qv in v.questions]}
                for v in self.variants],
        }


def variant_code(seed: int, number: int, taken: set[str]) -> str:
    """A short code for a variant (five letters and digits that cannot be misread), unique."""
    attempt = 0
    while True:
        n = _derive_seed(seed, "code", number, attempt)
        code = "".join(_CODE_ALPHABET[(n // len(_CODE_ALPHABET) ** i) % len(_CODE_ALPHABET)]
                       for i in range(5))
        if code not in taken:
            return code
        attempt += 1


def check_counts(exam: Exam, count: int, seed: int) -> None:
    """Refuses a variant count or seed out of range, or more variants than a question's draws
    allow, before any work.

    Raises:
        InputError: naming --variants, --seed or the question.
    """
    if isinstance(count, bool) or not 1 <= count <= MAX_VARIANTS:
        raise InputError("--variants", f"a whole number from 1 to {MAX_VARIANTS}", str(count))
    if not 0 <= seed <= MAX_SEED:
        raise InputError("--seed", f"a whole number from 0 to {MAX_SEED}", str(seed))
    for q in exam.questions:
        bound = q.distinct_bound()
        if bound is not None and bound < count:
            raise InputError(q.path, f"draws that allow {count} different variants "
                             f"({q.id} allows {bound})", f"{count} variants asked")


def _differ(a: Any, b: Any, tol: Tolerance) -> bool:
    """Whether two plain values are told apart: some element further apart than the tolerance
    around ``a`` (the value graded against)."""
    la, lb = leaves(a), leaves(b)
    if len(la) != len(lb):
        return True
    for (_pa, x), (_pb, y) in zip(la, lb, strict=True):
        if isinstance(x, str) or isinstance(y, str):
            if x != y:
                return True
            continue
        if not tol.within(float(y), float(x)):
            return True
    return False


def asked_items(question: Question, values: Values,
                mistakes: dict[str, Values]) -> tuple[list[dict[str, Any]], str | None]:
    """The key's asked items, and why the draw does not discriminate (None when it does)."""
    plain = values.answers
    wrong = {mid: v.answers for mid, v in mistakes.items()}
    out: list[dict[str, Any]] = []
    problem: str | None = None
    for item in question.items:
        tol = question.tolerance_for(item)
        expected = element(plain[item.answer], item.index)
        values = {mid: element(w[item.answer], item.index) for mid, w in wrong.items()}
        # only the mistakes that change this item are named for it
        named = {mid: v for mid, v in values.items() if _differ(expected, v, _SAME)}
        for mid, v in named.items():
            if problem is None and not _differ(expected, v, tol):
                problem = (f"{item.ref} the value under {mid} was within the tolerance of the "
                           "right value")
        names = list(named)
        for i, m1 in enumerate(names):
            for m2 in names[i + 1:]:
                if problem is None and not (_differ(named[m1], named[m2], tol)
                                            and _differ(named[m2], named[m1], tol)):
                    problem = (f"{item.ref} the values under {m1} and {m2} were too close to "
                               "tell apart")
        out.append({
            "answer": item.answer,
            "index": list(item.index) if item.index else None,
            "expected": expected,
            "tolerance": tol.as_dict(),
            "mistakes": named,
        })
    return out, problem


def draw_question(question: Question, seed: int, seen: set[str],
                  redrawn: Counter[str], planner: Planner | None = None,
                  structure: Structure | None = None) -> QuestionVariant:
    """A variant of one question worth giving, drawn from ``seed`` (again when refused), of
    the given structure (the first variant's) when there is one.

    Raises:
        InputError: naming the question when no draw is worth giving within the bound.
    """
    spec = question.spec
    reasons: Counter[str] = Counter()
    for attempt in range(REDRAWS):
        params = question.draw(_derive_seed(seed, question.id, attempt), structure)
        fingerprint = json.dumps(params, sort_keys=True)
        if fingerprint in seen:
            reasons["the same parameters as another variant's"] += 1
            continue
        # answers and mistakes to 30 digits, from the derivation prepared once per shape: the
        # same values, far faster; the key's worked steps are derived exactly when typeset
        planner = planner or Planner(eager=True)
        ids = [m.id for m in spec.applicable_mistakes(params)]
        values, *wrong = planner.values_of(spec, params, [None, *ids],
                                           answers={item.answer for item in question.items})
        mistakes = dict(zip(ids, wrong, strict=True))
        asked, problem = asked_items(question, values, mistakes)
        if problem is not None:
            reasons[problem.split(" ", 1)[1]] += 1
            continue
        seen.add(fingerprint)
        for reason, n in reasons.items():
            redrawn[f"{question.id}: {reason}"] += n
        return QuestionVariant(question, to_plain(params), values, asked, mistakes)
    common = reasons.most_common(1)[0][0] if reasons else "no draw"
    raise InputError(question.path, f"draws whose variants differ and tell every applicable "
                     f"mistake apart ({question.id}, {question.derivation})",
                     f"{REDRAWS} refused draws in a row, the most often: {common}")


def iter_variants(exam: Exam, count: int, seed: int,
                  redrawn: Counter[str]) -> Iterator[Variant]:
    """The variants one by one (for a progress bar)."""
    check_counts(exam, count, seed)
    planner = Planner(eager=True)  # the variants share their shapes: each is compiled at once
    seen: dict[str, set[str]] = {q.id: set() for q in exam.questions}
    codes: set[str] = set()
    # the first variant's structure (input form, sizes, choices the sampler drew) holds for
    # the others: one question, other numbers
    structures: dict[str, Structure | None] = {}
    for number in range(1, count + 1):
        vseed = _derive_seed(seed, "variant", number)
        code = variant_code(seed, number, codes)
        codes.add(code)
        questions = [draw_question(q, vseed, seen[q.id], redrawn, planner,
                                   structures.get(q.id)) for q in exam.questions]
        if number == 1:
            structures = {qv.question.id: structure_of(qv.question, qv.params)
                          for qv in questions}
        yield Variant(code, vseed, questions)


def build_variants(exam: Exam, count: int, seed: int,
                   progress: Callable[[int], None] | None = None) -> Drawn:
    """Every variant of the exam.

    Raises:
        InputError: a count out of range, or a question that cannot be satisfied (naming it).
    """
    redrawn: Counter[str] = Counter()
    variants = []
    for variant in iter_variants(exam, count, seed, redrawn):
        variants.append(variant)
        if progress is not None:
            progress(1)
    return Drawn(exam, seed, variants, redrawn)


def question_params(question: Question, seed: int) -> dict[str, Any]:
    """The concrete parameters of a question drawn from a seed (no discrimination check)."""
    return question.draw(seed)
