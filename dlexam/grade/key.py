"""``key.json`` (written by ``dlexam exam``) read and checked for grading.

The shape is issue 12's: ``{"title", "seed", "variants": [{"code", "seed", "questions": [{"id",
"derivation", "params", "points", "asked": [{"answer", "index", "expected", "tolerance": {"rel",
"abs"}, "mistakes": {"<mistake id>": value}}]}]}]}``. One optional field is read beside it: a
question's ``"partial": {"<mistake id>": credit}``, the exam file's partial credit for a named
mistake (a fraction from 0 to 1 of the item's points; mistakes it leaves out earn 0).

Every value grading needs is in the key, so grading derives nothing to say right, wrong or which
mistake; only follow-through credit re-runs a derivation, from a student's own state.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dlexam.derivations.contract import Tolerance, format_ref, plain_shape, precision_of
from dlexam.errors import InputError, Said
from dlexam.langs import codes

MAX_KEY_BYTES = 64 * 1024 * 1024
MAX_VARIANTS = 10_000
MAX_ASKED = 200  # asked items in one variant, all questions together
MAX_TEXT_CHARS = 10_000  # a text answer's expected value


@dataclass(frozen=True)
class KeyItem:
    """One asked item of one variant's question."""

    answer: str
    index: tuple[int, ...]
    expected: Any
    tolerance: Tolerance
    mistakes: dict[str, Any]

    @property
    def ref(self) -> str:
        """``y[2]``, as the exam file asks it."""
        return format_ref(self.answer, self.index)


@dataclass(frozen=True)
class KeyQuestion:
    """One variant's question: its derivation, parameters, points and asked items."""

    id: str
    derivation: str
    params: dict[str, Any]
    points: float
    asked: tuple[KeyItem, ...]
    partial: dict[str, float] = field(default_factory=dict)
    rounding_slip: float = 0.0  # the credit of a rounding slip (the exam file's policy)


@dataclass(frozen=True)
class KeyVariant:
    """One variant: its code and its questions, in exam order."""

    code: str
    seed: Any
    questions: tuple[KeyQuestion, ...]


@dataclass(frozen=True)
class Key:
    """The whole key: every variant by code; the questions' ids and the answer columns."""

    title: dict[str, str]
    seed: Any
    variants: dict[str, KeyVariant]
    question_ids: tuple[str, ...]
    points: dict[str, float]
    columns: tuple[str, ...]  # "<question id>.<ref>", in exam order

    @property
    def total_points(self) -> float:
        """The exam's points."""
        return sum(self.points.values())


def _got(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _need(data: Any, kind: type | tuple[type, ...], path: str, expected: Said) -> Any:
    if not isinstance(data, kind) or (isinstance(data, bool) and kind is not bool):
        raise InputError(path, expected, _got(data))
    return data


def _number(value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InputError(path, Said("grade.errors.finite"), _got(value))
    return float(value)


def _plain_value(value: Any, path: str) -> None:
    """Refuses a value that is not a number, ``"inf"``/``"-inf"``, text, or lists of numbers
    (rectangular, or of different lengths for an answer such as one shape per layer)."""
    if isinstance(value, str):
        if len(value) > MAX_TEXT_CHARS:
            raise InputError(path, Said("grade.errors.text_at_most", n=f"{MAX_TEXT_CHARS:,}"),
                             f"{len(value):,}")
        return
    if isinstance(value, list):
        if not value:
            raise InputError(path, Said("grade.errors.numbers"), Said("errors.empty_list"))
        stack = list(value)
        while stack:
            item = stack.pop()
            if isinstance(item, list):
                stack.extend(item)
            elif not (item in ("inf", "-inf") or (isinstance(item, (int, float))
                                                  and not isinstance(item, bool)
                                                  and math.isfinite(item))):
                raise InputError(path, Said("grade.errors.finite_in_lists"), _got(item))
        return
    _number(value, path)


def _item(data: Any, path: str) -> KeyItem:
    _need(data, dict, path, Said("grade.errors.object",
                                 keys='{"answer", "index", "expected", "tolerance", "mistakes"}'))
    answer = _need(data.get("answer"), str, f"{path}.answer", Said("grade.errors.answer_name"))
    index = data.get("index")
    if index is None:
        index = []
    _need(index, list, f"{path}.index", Said("grade.errors.index"))
    if any(isinstance(i, bool) or not isinstance(i, int) or i < 1 for i in index):
        raise InputError(f"{path}.index", Said("grade.errors.index"), _got(index))
    if "expected" not in data:
        raise InputError(f"{path}.expected", Said("grade.errors.right_value"))
    _plain_value(data["expected"], f"{path}.expected")
    tol = _need(data.get("tolerance"), dict, f"{path}.tolerance",
                Said("grade.errors.object", keys='{"rel", "abs"}'))
    rel = _number(tol.get("rel"), f"{path}.tolerance.rel")
    abs_ = _number(tol.get("abs"), f"{path}.tolerance.abs")
    if rel < 0 or abs_ < 0:
        raise InputError(f"{path}.tolerance", Said("grade.errors.tolerances"), _got(tol))
    precision = precision_of(tol.get("sig_figs"), tol.get("decimals"),
                             (f"{path}.tolerance.sig_figs", f"{path}.tolerance.decimals"))
    mistakes = _need(data.get("mistakes", {}), dict, f"{path}.mistakes",
                     Said("grade.errors.object", keys='{"<mistake id>": value}'))
    for mid, value in mistakes.items():
        _plain_value(value, f"{path}.mistakes.{mid}")
    return KeyItem(answer, tuple(index), data["expected"],
                   Tolerance(rel, abs_, precision), dict(mistakes))


def _question(data: Any, path: str) -> KeyQuestion:
    _need(data, dict, path, Said("grade.errors.object",
                                 keys='{"id", "derivation", "params", "points", "asked"}'))
    qid = _need(data.get("id"), str, f"{path}.id", Said("grade.errors.question_id"))
    if not qid or "." in qid or len(qid) > 40:
        raise InputError(f"{path}.id", Said("grade.errors.question_id_chars"), _got(qid))
    derivation = _need(data.get("derivation"), str, f"{path}.derivation",
                       Said("grade.errors.derivation_name"))
    params = _need(data.get("params", {}), dict, f"{path}.params", Said("grade.errors.params"))
    points = _number(data.get("points"), f"{path}.points")
    if points < 0:
        raise InputError(f"{path}.points", Said("grade.errors.points"), _got(points))
    asked_raw = _need(data.get("asked"), list, f"{path}.asked", Said("grade.errors.asked"))
    if not asked_raw:
        raise InputError(f"{path}.asked", Said("grade.errors.one_asked"),
                         Said("exam.errors.none"))
    asked = tuple(_item(a, f"{path}.asked[{k}]") for k, a in enumerate(asked_raw))
    partial_raw = _need(data.get("partial", {}), dict, f"{path}.partial",
                        Said("grade.errors.object", keys='{"<mistake id>": credit}'))
    partial: dict[str, float] = {}
    for mid, credit in partial_raw.items():
        value = _number(credit, f"{path}.partial.{mid}")
        if not 0 <= value <= 1:
            raise InputError(f"{path}.partial.{mid}", Said("grade.errors.credit"), _got(credit))
        partial[mid] = value
    slip = _number(data.get("rounding_slip", 0), f"{path}.rounding_slip")
    if not 0 <= slip <= 1:
        raise InputError(f"{path}.rounding_slip", Said("grade.errors.credit"), _got(slip))
    return KeyQuestion(qid, derivation, dict(params), points, asked, partial, slip)


def _value_fits(answer: Any, value: Any, index: tuple[int, ...], path: str) -> None:
    """Refuses an expected value (or a mistake's value) of another kind or depth than the
    answer declares at that index (a text for a number, a list for one value, ...)."""
    from dlexam.derivations.contract import ANSWER_KINDS

    if answer.kind == "text":
        if not isinstance(value, str):
            raise InputError(path, Said("grade.errors.text_answer", name=answer.name),
                             _got(value))
        return
    if isinstance(value, str) and value not in ("inf", "-inf"):
        raise InputError(path, Said("grade.errors.numbers_answer", name=answer.name,
                                    kind=answer.kind), _got(value))
    depth = ANSWER_KINDS.get(answer.kind)
    shape = plain_shape(value) if isinstance(value, list) else ()
    if depth is not None and shape is not None and len(shape) + len(index) != depth:
        raise InputError(path, Said("grade.errors.levels", n=depth - len(index),
                                    ref=f"{answer.name}{''.join(f'[{i}]' for i in index)}",
                                    kind=answer.kind), f"{len(shape)}")


def _check_declared(q: KeyQuestion, path: str) -> None:
    """The key against its derivation's declaration: a known derivation, answers it declares,
    values of their kinds and depths, mistakes it names, partial credit for those mistakes.

    Raises:
        InputError: naming the JSON path.
    """
    from dlexam import derivations
    from dlexam.errors import UnknownDerivationError

    try:
        spec = derivations.get(q.derivation)
    except UnknownDerivationError:
        raise InputError(f"{path}.derivation", Said("grade.errors.derivation_known"),
                         _got(q.derivation)) from None
    known = {m.id for m in spec.mistakes}
    for k, item in enumerate(q.asked):
        where = f"{path}.asked[{k}]"
        try:
            answer = spec.answer(item.answer)
        except KeyError:
            names = ", ".join(a.name for a in spec.answers)
            raise InputError(f"{where}.answer", Said("grade.errors.answer_of", name=spec.name,
                                                     names=names), _got(item.answer)) from None
        _value_fits(answer, item.expected, item.index, f"{where}.expected")
        for mid, value in item.mistakes.items():
            if mid not in known:
                raise InputError(f"{where}.mistakes", _mistakes_of(spec.name, known), _got(mid))
            if (answer.kind == "text") != isinstance(value, str) or value in ("inf", "-inf"):
                if not (answer.kind != "text" and value in ("inf", "-inf")):
                    raise InputError(f"{where}.mistakes.{mid}", Said(
                        "grade.errors.text" if answer.kind == "text" else "grade.errors.numbers"),
                        _got(value))
    for mid in q.partial:
        if mid not in known:
            raise InputError(f"{path}.partial", _mistakes_of(spec.name, known), _got(mid))


def _mistakes_of(name: str, known: set[str]) -> Said:
    return Said("grade.errors.mistakes_of", name=name,
                known=", ".join(sorted(known)) if known else Said("exam.errors.none"))


def parse_key(data: Any, name: str = "key.json") -> Key:
    """A key from its JSON data, checked, with every variant asking the same items.

    Raises:
        InputError: naming the JSON path (``key.json: variants[3].questions[1].points``).
    """
    _need(data, dict, name, Said("grade.errors.json_object",
                                 keys='{"title", "seed", "variants"}'))
    title_raw = data.get("title", "")
    if isinstance(title_raw, str):
        title = {code: title_raw for code in codes()}
    else:
        _need(title_raw, dict, f"{name}: title", Said("grade.errors.title"))
        title = {k: str(v) for k, v in title_raw.items() if isinstance(v, str)}
        fallback = title.get("en") or next(iter(title.values()), "")
        title = {code: title.get(code, fallback) for code in codes()}
    variants_raw = _need(data.get("variants"), list, f"{name}: variants",
                         Said("grade.errors.variants"))
    if not variants_raw:
        raise InputError(f"{name}: variants", Said("grade.errors.one_variant"),
                         Said("exam.errors.none"))
    if len(variants_raw) > MAX_VARIANTS:
        raise InputError(f"{name}: variants", Said("grade.errors.at_most_variants",
                                                   n=f"{MAX_VARIANTS:,}"),
                         f"{len(variants_raw):,}")
    variants: dict[str, KeyVariant] = {}
    layout: list[tuple[str, tuple[str, ...]]] | None = None
    for v, raw in enumerate(variants_raw):
        path = f"{name}: variants[{v}]"
        _need(raw, dict, path, Said("grade.errors.object", keys='{"code", "seed", "questions"}'))
        code = _need(raw.get("code"), str, f"{path}.code", Said("grade.errors.variant_code"))
        if not code.strip() or len(code) > 40:
            raise InputError(f"{path}.code", Said("grade.errors.variant_code_chars"), _got(code))
        if code in variants:
            raise InputError(f"{path}.code", Said("grade.errors.code_once"),
                             Said("grade.errors.again", what=repr(code)))
        questions_raw = _need(raw.get("questions"), list, f"{path}.questions",
                              Said("grade.errors.questions"))
        questions = tuple(_question(q, f"{path}.questions[{k}]")
                          for k, q in enumerate(questions_raw))
        if sum(len(q.asked) for q in questions) > MAX_ASKED:
            raise InputError(f"{path}.questions", Said("grade.errors.at_most_asked", n=MAX_ASKED))
        this = [(q.id, tuple(item.ref for item in q.asked)) for q in questions]
        ids = [q.id for q in questions]
        if len(set(ids)) != len(ids):
            raise InputError(f"{path}.questions", Said("grade.errors.id_once"), ", ".join(ids))
        for q in questions:
            refs = [item.ref for item in q.asked]
            if len(set(refs)) != len(refs):
                raise InputError(f"{path}.questions", Said("grade.errors.item_once", id=q.id),
                                 ", ".join(refs))
        if layout is None:
            layout = this
        elif this != layout:
            raise InputError(f"{path}.questions", Said("grade.errors.same_layout"),
                             ", ".join(f"{q}: {' '.join(r)}" for q, r in this))
        variants[code] = KeyVariant(code, raw.get("seed"), questions)
    assert layout is not None
    for v, variant in enumerate(variants.values()):
        for k, q in enumerate(variant.questions):
            _check_declared(q, f"{name}: variants[{v}].questions[{k}]")
    first = variants[next(iter(variants))]
    points = {q.id: q.points for q in first.questions}
    columns = tuple(f"{qid}.{ref}" for qid, refs in layout for ref in refs)
    return Key(title, data.get("seed"), variants, tuple(points), points, columns)


def load_key(path: Path) -> Key:
    """Reads and checks ``key.json``.

    Raises:
        InputError: the file cannot be read, is not UTF-8 JSON, or is not a key.
    """
    from dlexam.safeio import decode_utf8, load_json, read_file

    raw = read_file(path, MAX_KEY_BYTES, "key.json")
    data = load_json(decode_utf8(raw, str(path)), str(path))
    return parse_key(data, str(path))
