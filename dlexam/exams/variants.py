"""Seeded variants of an exam: each question's numbers drawn per variant, kept only when they are
worth giving (new parameters and, within a few draws, new asked answers; every asked item tells
the right value and each applicable mistake apart, their tolerance intervals disjoint).

A question whose asked item has the same value in every draw (the first row of causal attention
weights, [1, 0]) is refused: every student would give the same answer.

:func:`build_variants` gives the whole key as plain data (what ``key.json`` holds) and the
results the keys' PDFs typeset; the same exam and seed give the same variants on any machine
(seeds derived with SHA-256, draws built on ``random.random`` alone).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dlexam.derivations.contract import Tolerance, element, leaves
from dlexam.derivations.core import to_plain
from dlexam.errors import InputError, Said
from dlexam.exams.model import Exam, Question, Structure, _derive_seed, structure_of
from dlexam.exams.parallel import fork_map, tick
from dlexam.notation import display
from dlexam.plans import Planner, Values

MAX_VARIANTS = 1000
_SAME = Tolerance(rel=1e-9, abs=1e-12)  # a mistake this close leaves the item as it was
MAX_SEED = 2**63 - 1
REDRAWS = 40  # draws per variant and question before it is declared unsatisfiable
# draws of a variant refused for repeating another variant's asked answers: past these, a
# question whose answers take few values (a choice of models) repeats one rather than fail
ANSWER_REDRAWS = 3
PROBES = 6  # draws that look for an asked item whose value never changes
_CODE_ALPHABET = "ACDEFGHJKLMNPQRTUVWXY34679"  # no look-alikes (0/O, 1/I, 2/Z, 5/S, 8/B)


@dataclass
class QuestionVariant:
    """One question of one variant: its parameters and the key's entry (the asked items'
    values, right and under each mistake)."""

    question: Question
    params: dict[str, Any]
    asked: list[dict[str, Any]]
    attempt: int = 0  # the draw kept (0 the first)


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

    def fairness(self) -> list[dict[str, Any]]:
        """Per question: how many variants have asked answers no other variant has the same,
        the range of the asked numbers over the variants, and the draws refused."""
        out = []
        for index, question in enumerate(self.exam.questions):
            asked = [v.questions[index].asked for v in self.variants]
            prints = Counter(answers_print([i["expected"] for i in a]) for a in asked)
            numbers = [float(x) for a in asked for item in a
                       for _pos, x in leaves(item["expected"]) if not isinstance(x, str)]
            redraws = sum(n for reason, n in self.redrawn.items()
                          if reason.split(": ", 1)[0] == question.id)
            out.append({"id": question.id, "variants": len(asked), "distinct": len(prints),
                        "low": min(numbers, default=None), "high": max(numbers, default=None),
                        "redrawn": redraws})
        return out

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
                     **({"partial": dict(qv.question.partial)} if qv.question.partial else {}),
                     # the credit of a rounding slip (the exam file's policy; default 0)
                     **({"rounding_slip": qv.question.rounding_slip}
                        if qv.question.rounding_slip else {})}
                    for qv in v.questions]}
                for v in self.variants],
        }


def fairness_line(row: dict[str, Any], lang: str = "en") -> str:
    """One question's fairness: distinct answers, their range, the draws refused (in ``lang``)."""
    fields = {"id": row["id"], "distinct": row["distinct"], "variants": row["variants"],
              "redrawn": row["redrawn"], "draws": _plural("draw", row["redrawn"]),
              "variants_word": _plural("variant", row["variants"])}
    if row["low"] is None:
        return Said("exam.summary.fairness", **fields).said_in(lang)
    return Said("exam.summary.fairness_spread", **fields,
                low=display.plain_number(row["low"], "spread"),
                high=display.plain_number(row["high"], "spread")).said_in(lang)


def redrawn_key(qid: str, reason: str) -> Said:
    """The key of :attr:`Drawn.redrawn`: ``"q1: <reason>"`` (a :class:`Said`, said in any
    language by :func:`redrawn_line`)."""
    return Said("exam.summary.redrawn_key", id=qid, reason=reason)


def redrawn_line(key: str, n: int, lang: str = "en") -> str:
    """``q1: 3 draws redrawn: <reason>`` in ``lang``."""
    qid, reason = (key.fields["id"], key.fields["reason"]) if isinstance(key, Said) \
        else key.split(": ", 1)
    return Said("exam.summary.redrawn", id=qid, n=n, draws=_plural("draw", n),
                reason=reason).said_in(lang)


def _plural(word: str, n: int) -> Said:
    """``draw`` or ``draws`` (a language without plurals says neither)."""
    return Said(f"exam.summary.{word}" if n == 1 else f"exam.summary.{word}s")


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
        raise InputError("--variants", Said("exam.errors.whole_from", low=1, high=MAX_VARIANTS),
                         str(count))
    if not 0 <= seed <= MAX_SEED:
        raise InputError("--seed", Said("exam.errors.whole_from", low=0, high=MAX_SEED),
                         str(seed))
    for q in exam.questions:
        bound = q.distinct_bound()
        if bound is not None and bound < count:
            raise InputError(q.path, Said("exam.errors.variants_allowed", count=count,
                                          id=q.id, bound=bound),
                             Said("exam.errors.variants_asked", count=count))


def check_fixed(exam: Exam, count: int, seed: int) -> None:
    """Refuses, before any derivation runs, more than one variant of a question whose draws
    (the file's and the sampler's, a few tried) all give the same parameters: its numbers are
    fixed. Drawing parameters derives nothing, so a file whose values do not fit is refused
    here too.

    Raises:
        InputError: naming the question.
    """
    if count < 2:
        return
    for q in exam.questions:
        if q.distinct_bound() is not None:
            continue  # check_counts has counted its draws
        first = None
        for attempt in range(REDRAWS):
            fingerprint = _fingerprint(q.draw(_derive_seed(seed, q.id, attempt)))
            if first is None:
                first = fingerprint
            elif fingerprint != first:
                break
        else:
            raise InputError(q.path, Said("exam.errors.variants_fixed", count=count, id=q.id),
                             Said("exam.errors.variants_asked", count=count))


def _differ(a: Any, b: Any, tol: Tolerance) -> bool:
    """Whether two plain values are told apart: some element whose tolerance intervals (each
    around its own value, as Moodle and the grader accept it, reaching the values rounded to a
    stated precision) do not meet, and which a student rounding as asked would not confuse."""
    la, lb = leaves(a), leaves(b)
    if len(la) != len(lb):
        return True
    for (_pa, x), (_pb, y) in zip(la, lb, strict=True):
        if isinstance(x, str) or isinstance(y, str):
            if x != y:
                return True
            continue
        fx, fy = float(x), float(y)
        if math.isinf(fx) or math.isinf(fy):
            if fx != fy:
                return True
            continue
        if abs(fx - fy) > tol.interval(fx) + tol.interval(fy) and tol.tells_apart(fx, fy):
            return True
    return False


def answers_print(expected: list[Any]) -> str:
    """The asked answers (each item's expected value) to 4 significant figures, as a student
    gives them: two variants with the same print give every student the same answers."""
    return "answers " + json.dumps([[x if isinstance(x, str) else f"{float(x):.4g}"
                                     for _pos, x in leaves(value)] for value in expected])


def _expected(question: Question, item: Any, plain: dict[str, Any]) -> Any:
    """An asked item's value in a run's answers.

    Raises:
        InputError: the item's position is past what the draw's sizes give.
    """
    try:
        return element(plain[item.answer], item.index)
    except IndexError:
        from dlexam.exams.model import _shape_of

        raise InputError(f"{question.path}.ask", Said("exam.errors.position_as_drawn",
                                                      answer=item.answer, id=question.id),
                         Said("exam.errors.ref_of_shape", ref=item.ref,
                              shape=_shape_of(plain[item.answer]))) from None


def _missing(question: Question, values: Values) -> str | None:
    """Why a draw gives no value for an asked item (an optional answer these parameters do not
    give: mlp's W_new without a learning rate), or None; such a draw is refused."""
    if all(item.answer in values.answers for item in question.items):
        return None
    return Said("exam.reasons.missing")


def asked_items(question: Question, values: Values,
                mistakes: dict[str, Values]) -> tuple[list[dict[str, Any]], str | None]:
    """The key's asked items, and why the draw does not discriminate (None when it does)."""
    plain = values.answers
    wrong = {mid: v.answers for mid, v in mistakes.items()}
    out: list[dict[str, Any]] = []
    problem: str | None = None
    for item in question.items:
        if item.answer not in plain:
            return [], Said("exam.reasons.of_item", ref=item.ref,
                            reason=_missing(question, values))
        tol = question.tolerance_for(item)
        expected = _expected(question, item, plain)
        # (a mistake whose run has no such answer, e.g. no mask and so no masked scores,
        # cannot be named for it)
        mistaken = {mid: element(w[item.answer], item.index) for mid, w in wrong.items()
                    if item.answer in w}
        # only the mistakes that change this item are named for it
        named = {mid: v for mid, v in mistaken.items() if _differ(expected, v, _SAME)}
        for mid, v in named.items():
            if problem is None and not _differ(expected, v, tol):
                problem = Said("exam.reasons.of_item", ref=item.ref,
                               reason=Said("exam.reasons.within", mistake=mid))
        names = list(named)
        for i, m1 in enumerate(names):
            for m2 in names[i + 1:]:
                if problem is None and not _differ(named[m1], named[m2], tol):
                    problem = Said("exam.reasons.of_item", ref=item.ref,
                                   reason=Said("exam.reasons.too_close", first=m1, second=m2))
        out.append({
            "answer": item.answer,
            "index": list(item.index) if item.index else None,
            "expected": expected,
            "tolerance": tol.as_dict(),
            "mistakes": named,
        })
    return out, problem


def _fingerprint(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True)


SAME_PARAMS = Said("exam.reasons.same_params")
SAME_ANSWERS = Said("exam.reasons.same_answers")


def repeats(seen: set[str], params: dict[str, Any], asked: list[dict[str, Any]],
            attempt: int) -> str | None:
    """Why a draw repeats an earlier variant (None when it does not): the same parameters,
    or, within :data:`ANSWER_REDRAWS` draws, the same asked answers."""
    if _fingerprint(params) in seen:
        return SAME_PARAMS
    if attempt < ANSWER_REDRAWS and answers_print([i["expected"] for i in asked]) in seen:
        return SAME_ANSWERS
    return None


def check_varies(question: Question, first: QuestionVariant, seed: int,
                 structure: Structure | None, planner: Planner) -> None:
    """Refuses a question one of whose asked items has the same value in every draw.

    Raises:
        InputError: naming the question's ``ask`` and the item.
    """
    moving: set[int] = set()
    answers = {item.answer for item in question.items}
    for k in range(PROBES):
        params = question.draw(_derive_seed(seed, question.id, "probe", k), structure)
        eager, planner.eager = planner.eager, False  # (a probe's new shape: see build_variants)
        try:
            (values,) = planner.values_of(question.spec, params, [None], answers=answers)
        finally:
            planner.eager = eager
        for i, (item, asked) in enumerate(zip(question.items, first.asked, strict=True)):
            tol = question.tolerance_for(item)
            if _differ(asked["expected"], element(values.answers[item.answer], item.index), tol):
                moving.add(i)
        if len(moving) == len(question.items):
            return
    still = next(i for i in range(len(question.items)) if i not in moving)
    item = question.items[still]
    raise InputError(f"{question.path}.ask", Said("exam.errors.changes_with_draw", id=question.id),
                     Said("exam.errors.same_in_every_draw", ref=item.ref,
                          value=json.dumps(first.asked[still]["expected"])))


FIRST_REDRAWS = 8  # first draws tried whose structure fixes an asked item in every draw


def first_draw(question: Question, variant_seed: int, seed: int, seen: set[str],
               redrawn: Counter[str], planner: Planner, count: int) -> QuestionVariant:
    """The first variant of a question, whose structure the others keep: its first draw, or,
    when that structure leaves an asked item the same in every draw (a sampler's choice of
    the standard initialisation, whose weights always have variance 1) and the file draws the
    structure itself, the next draw whose structure does not, within :data:`FIRST_REDRAWS`.

    Raises:
        InputError: naming the question's ``ask`` when no structure tried lets it vary.
    """
    qv = draw_question(question, variant_seed, seen, redrawn, planner)
    if count == 1:
        return qv
    refused: InputError | None = None
    for _ in range(FIRST_REDRAWS):
        structure = structure_of(question, qv.params)
        try:
            check_varies(question, qv, seed, structure, planner)
            return qv
        except InputError as err:
            if structure is None:  # the file fixes the structure: nothing to redraw
                raise
            refused = refused or err
        seen.clear()  # the refused first draw is not a variant
        redrawn[redrawn_key(question.id, Said("exam.reasons.fixed_item"))] += 1
        try:
            qv = draw_question(question, variant_seed, seen, redrawn, planner,
                               start=qv.attempt + 1)
        except InputError:
            break
    assert refused is not None
    raise refused


def draw_question(question: Question, seed: int, seen: set[str],
                  redrawn: Counter[str], planner: Planner | None = None,
                  structure: Structure | None = None, start: int = 0) -> QuestionVariant:
    """A variant of one question worth giving, drawn from ``seed`` (again when refused, from
    draw number ``start``), of the given structure (the first variant's) when there is one.

    Raises:
        InputError: naming the question when no draw is worth giving within the bound.
    """
    spec = question.spec
    reasons: Counter[str] = Counter()
    for attempt in range(start, REDRAWS):
        params = question.draw(_derive_seed(seed, question.id, attempt), structure)
        fingerprint = _fingerprint(params)
        if fingerprint in seen:
            reasons[SAME_PARAMS] += 1
            continue
        # answers and mistakes to 30 digits, from the derivation prepared once per shape: the
        # same values, far faster; the key's worked steps are derived exactly when typeset
        planner = planner or Planner(eager=True)
        ids = [m.id for m in spec.applicable_mistakes(params)]
        wanted = {item.answer for item in question.items}
        if attempt < ANSWER_REDRAWS:  # the right answers first: a repeat needs no mistakes
            (values,) = planner.values_of(spec, params, [None], answers=wanted)
            missing = _missing(question, values)
            if missing is not None:
                reasons[missing] += 1
                continue
            answers = answers_print([_expected(question, item, values.answers)
                                     for item in question.items])
            if answers in seen:
                reasons[SAME_ANSWERS] += 1
                continue
            wrong = planner.values_of(spec, params, ids, answers=wanted) if ids else []
        else:
            values, *wrong = planner.values_of(spec, params, [None, *ids], answers=wanted)
        asked, problem = asked_items(question, values, dict(zip(ids, wrong, strict=True)))
        if problem is not None:
            reasons[problem.fields["reason"] if isinstance(problem, Said)
                    else problem.split(" ", 1)[1]] += 1
            continue
        seen.add(fingerprint)
        seen.add(answers_print([item["expected"] for item in asked]))
        for reason, n in reasons.items():
            redrawn[redrawn_key(question.id, reason)] += n
        return QuestionVariant(question, to_plain(params), asked, attempt)
    common = reasons.most_common(1)[0][0] if reasons else Said("exam.reasons.no_draw")
    raise InputError(question.path, Said("exam.errors.draws_differ", id=question.id,
                                         name=question.derivation),
                     Said("exam.errors.refused_draws", n=REDRAWS, common=common))


CHUNKS = 2  # a large exam's variants after the first are drawn in this many chunks
CHUNKED_FROM = 64  # variants from which they are
# (both fixed: the same chunks on every machine, however many cores run them)


def build_variants(exam: Exam, count: int, seed: int,
                   progress: Callable[[int], None] | None = None) -> Drawn:
    """Every variant of the exam.

    The first variant is drawn first: its structure holds for the others. The others are
    drawn in :data:`CHUNKS` chunks of consecutive variants, in parallel over the cores
    (:func:`~dlexam.exams.parallel.fork_map`), each chunk with its own copy of the first
    variant's planner; then, in order, a variant whose parameters another chunk already gave
    an earlier variant is drawn again from its next draw. That is exactly the variant a
    one-by-one build keeps (every draw a chunk refuses, it refuses too), so the outputs are the
    same however many cores there are.

    Raises:
        InputError: a count out of range, or a question that cannot be satisfied (naming it).
    """
    check_counts(exam, count, seed)
    check_fixed(exam, count, seed)
    redrawn: Counter[str] = Counter()
    planner = Planner(eager=True)  # the variants share their shapes: each is compiled at once
    seen: dict[str, set[str]] = {q.id: set() for q in exam.questions}
    codes: list[str] = []
    taken: set[str] = set()
    for number in range(1, count + 1):
        codes.append(variant_code(seed, number, taken))
        taken.add(codes[-1])
    seeds = [_derive_seed(seed, "variant", number) for number in range(1, count + 1)]
    first = Variant(codes[0], seeds[0], [
        first_draw(q, seeds[0], seed, seen[q.id], redrawn, planner, count)
        for q in exam.questions])
    # the first variant's structure (input form, sizes, choices the sampler drew) holds for
    # the others: one question, other numbers
    structures = {qv.question.id: structure_of(qv.question, qv.params) for qv in first.questions}
    # from here a new shape is traced at first sight only for a derivation whose plans serve
    # twice each on average (Planner.made, .served), else when seen a second time: the first
    # variant's shapes are traced (most questions keep them), but one whose sizes or untraced
    # parameters (a label, a word list) change with each draw is seen about once, and its
    # ordinary run costs a fifth to a half of a trace
    planner.eager = False
    if progress is not None:
        progress(1)
    rest = list(range(1, count))
    size = -(-len(rest) // CHUNKS) if count >= CHUNKED_FROM else max(len(rest), 1)
    chunks = [rest[i:i + size] for i in range(0, len(rest), size)]

    def chunk(c: int) -> tuple[list[list[tuple[dict[str, Any], list[Any], int]]],
                                Counter[str], tuple[str, str, str | None] | None]:
        own = planner.copy()
        local = {qid: set(fps) for qid, fps in seen.items()}
        counted: Counter[str] = Counter()
        out = []
        try:
            for i in chunks[c]:
                out.append([(qv.params, qv.asked, qv.attempt) for qv in (
                    draw_question(q, seeds[i], local[q.id], counted, own, structures[q.id])
                    for q in exam.questions)])
                tick()
        except InputError as err:  # handed back as data: the exception itself may not pickle
            return out, counted, (err.param, err.expected, err.got)
        return out, counted, None

    # each chunk is large: forking pays; each variant drawn ticks the progress bar
    done = fork_map(chunk, len(chunks), least=2, progress=progress)
    variants = [first]
    for c, (drawn, counted, failed) in enumerate(done):
        redrawn.update(counted)
        for i, questions in zip(chunks[c], drawn, strict=False):
            kept = []
            for q, (params, asked, attempt) in zip(exam.questions, questions, strict=True):
                # another chunk's earlier variant has these parameters or answers: the draw a
                # one-by-one build refuses too
                why = repeats(seen[q.id], params, asked, attempt)
                if why is not None:
                    redrawn[redrawn_key(q.id, why)] += 1
                    kept.append(draw_question(q, seeds[i], seen[q.id], redrawn, planner,
                                              structures[q.id], start=attempt + 1))
                else:
                    seen[q.id].update((_fingerprint(params),
                                       answers_print([i["expected"] for i in asked])))
                    kept.append(QuestionVariant(q, params, asked, attempt))
            variants.append(Variant(codes[i], seeds[i], kept))
        if failed is not None:
            raise InputError(*failed)
    return Drawn(exam, seed, variants, redrawn)

