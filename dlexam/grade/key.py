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
from dlexam.errors import InputError
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


def _need(data: Any, kind: type | tuple[type, ...], path: str, expected: str) -> Any:
    if not isinstance(data, kind) or (isinstance(data, bool) and kind is not bool):
        raise InputError(path, expected, _got(data))
    return data


def _number(value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InputError(path, "a finite number", _got(value))
    return float(value)


def _plain_value(value: Any, path: str) -> None:
    """Refuses a value that is not a number, ``"inf"``/``"-inf"``, text, or lists of numbers
    (rectangular, or of different lengths for an answer such as one shape per layer)."""
    if isinstance(value, str):
        if len(value) > MAX_TEXT_CHARS:
            raise InputError(path, f"text of at most {MAX_TEXT_CHARS} characters",
                             f"{len(value):,}")
        return
    if isinstance(value, list):
        if not value:
            raise InputError(path, "a number or lists of numbers", "an empty list")
        stack = list(value)
        while stack:
            item = stack.pop()
            if isinstance(item, list):
                stack.extend(item)
            elif not (item in ("inf", "-inf") or (isinstance(item, (int, float))
                                                  and not isinstance(item, bool)
                                                  and math.isfinite(item))):
                raise InputError(path, "finite numbers in the lists", _got(item))
        return
    _number(value, path)


def _item(data: Any, path: str) -> KeyItem:
    _need(data, dict, path, 'an object {"answer", "index", "expected", "tolerance", "mistakes"}')
    answer = _need(data.get("answer"), str, f"{path}.answer", "an answer's name")
    index = data.get("index")
    if index is None:
        index = []
    _need(index, list, f"{path}.index", "null or a list of 1-based positions")
    if any(isinstance(i, bool) or not isinstance(i, int) or i < 1 for i in index):
        raise InputError(f"{path}.index", "null or a list of 1-based positions", _got(index))
    if "expected" not in data:
        raise InputError(f"{path}.expected", "the right value")
    _plain_value(data["expected"], f"{path}.expected")
    tol = _need(data.get("tolerance"), dict, f"{path}.tolerance", 'an object {"rel", "abs"}')
    rel = _number(tol.get("rel"), f"{path}.tolerance.rel")
    abs_ = _number(tol.get("abs"), f"{path}.tolerance.abs")
    if rel < 0 or abs_ < 0:
        raise InputError(f"{path}.tolerance", "tolerances >= 0", _got(tol))
    precision = precision_of(tol.get("sig_figs"), tol.get("decimals"),
                             (f"{path}.tolerance.sig_figs", f"{path}.tolerance.decimals"))
    mistakes = _need(data.get("mistakes", {}), dict, f"{path}.mistakes",
                     'an object {"<mistake id>": value}')
    for mid, value in mistakes.items():
        _plain_value(value, f"{path}.mistakes.{mid}")
    return KeyItem(answer, tuple(index), data["expected"],
                   Tolerance(rel, abs_, precision), dict(mistakes))


def _question(data: Any, path: str) -> KeyQuestion:
    _need(data, dict, path, 'an object {"id", "derivation", "params", "points", "asked"}')
    qid = _need(data.get("id"), str, f"{path}.id", "a question id")
    if not qid or "." in qid or len(qid) > 40:
        raise InputError(f"{path}.id", "a question id of 1 to 40 characters without a dot",
                         _got(qid))
    derivation = _need(data.get("derivation"), str, f"{path}.derivation", "a derivation's name")
    params = _need(data.get("params", {}), dict, f"{path}.params", "an object of parameters")
    points = _number(data.get("points"), f"{path}.points")
    if points < 0:
        raise InputError(f"{path}.points", "points >= 0", _got(points))
    asked_raw = _need(data.get("asked"), list, f"{path}.asked", "a list of asked items")
    if not asked_raw:
        raise InputError(f"{path}.asked", "at least one asked item", "none")
    asked = tuple(_item(a, f"{path}.asked[{k}]") for k, a in enumerate(asked_raw))
    partial_raw = _need(data.get("partial", {}), dict, f"{path}.partial",
                        'an object {"<mistake id>": credit}')
    partial: dict[str, float] = {}
    for mid, credit in partial_raw.items():
        value = _number(credit, f"{path}.partial.{mid}")
        if not 0 <= value <= 1:
            raise InputError(f"{path}.partial.{mid}", "a credit from 0 to 1", _got(credit))
        partial[mid] = value
    slip = _number(data.get("rounding_slip", 0), f"{path}.rounding_slip")
    if not 0 <= slip <= 1:
        raise InputError(f"{path}.rounding_slip", "a credit from 0 to 1", _got(slip))
    return KeyQuestion(qid, derivation, dict(params), points, asked, partial, slip)


def _value_fits(answer: Any, value: Any, index: tuple[int, ...], path: str) -> None:
    """Refuses an expected value (or a mistake's value) of another kind or depth than the
    answer declares at that index (a text for a number, a list for one value, ...)."""
    from dlexam.derivations.contract import ANSWER_KINDS

    if answer.kind == "text":
        if not isinstance(value, str):
            raise InputError(path, f"text (the answer {answer.name} is text)", _got(value))
        return
    if isinstance(value, str) and value not in ("inf", "-inf"):
        raise InputError(path, f"a number or lists of numbers (the answer {answer.name} is a "
                         f"{answer.kind})", _got(value))
    depth = ANSWER_KINDS.get(answer.kind)
    shape = plain_shape(value) if isinstance(value, list) else ()
    if depth is not None and shape is not None and len(shape) + len(index) != depth:
        raise InputError(path, f"{depth - len(index)} level(s) of lists (the answer "
                         f"{answer.name}{''.join(f'[{i}]' for i in index)} of a {answer.kind})",
                         f"{len(shape)}")


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
        raise InputError(f"{path}.derivation", "a derivation dlexam has (see 'dlexam list')",
                         _got(q.derivation)) from None
    known = {m.id for m in spec.mistakes}
    for k, item in enumerate(q.asked):
        where = f"{path}.asked[{k}]"
        try:
            answer = spec.answer(item.answer)
        except KeyError:
            names = ", ".join(a.name for a in spec.answers)
            raise InputError(f"{where}.answer", f"an answer of {spec.name} ({names})",
                             _got(item.answer)) from None
        _value_fits(answer, item.expected, item.index, f"{where}.expected")
        for mid, value in item.mistakes.items():
            if mid not in known:
                raise InputError(f"{where}.mistakes", f"mistakes {spec.name} names "
                                 f"({', '.join(sorted(known)) or 'none'})", _got(mid))
            if (answer.kind == "text") != isinstance(value, str) or value in ("inf", "-inf"):
                if not (answer.kind != "text" and value in ("inf", "-inf")):
                    raise InputError(f"{where}.mistakes.{mid}", "text" if answer.kind == "text"
                                     else "a number or lists of numbers", _got(value))
    for mid in q.partial:
        if mid not in known:
            raise InputError(f"{path}.partial", f"mistakes {spec.name} names "
                             f"({', '.join(sorted(known)) or 'none'})", _got(mid))


def parse_key(data: Any, name: str = "key.json") -> Key:
    """A key from its JSON data, checked, with every variant asking the same items.

    Raises:
        InputError: naming the JSON path (``key.json: variants[3].questions[1].points``).
    """
    _need(data, dict, name, 'a JSON object {"title", "seed", "variants"}')
    title_raw = data.get("title", "")
    if isinstance(title_raw, str):
        title = {code: title_raw for code in codes()}
    else:
        _need(title_raw, dict, f"{name}: title", 'text or {"en", "zh-Hant", ...}')
        title = {k: str(v) for k, v in title_raw.items() if isinstance(v, str)}
        fallback = title.get("en") or next(iter(title.values()), "")
        title = {code: title.get(code, fallback) for code in codes()}
    variants_raw = _need(data.get("variants"), list, f"{name}: variants", "a list of variants")
    if not variants_raw:
        raise InputError(f"{name}: variants", "at least one variant", "none")
    if len(variants_raw) > MAX_VARIANTS:
        raise InputError(f"{name}: variants", f"at most {MAX_VARIANTS:,} variants",
                         f"{len(variants_raw):,}")
    variants: dict[str, KeyVariant] = {}
    layout: list[tuple[str, tuple[str, ...]]] | None = None
    for v, raw in enumerate(variants_raw):
        path = f"{name}: variants[{v}]"
        _need(raw, dict, path, 'an object {"code", "seed", "questions"}')
        code = _need(raw.get("code"), str, f"{path}.code", "a variant code")
        if not code.strip() or len(code) > 40:
            raise InputError(f"{path}.code", "a variant code of 1 to 40 characters", _got(code))
        if code in variants:
            raise InputError(f"{path}.code", "each variant code once", f"{code!r} again")
        questions_raw = _need(raw.get("questions"), list, f"{path}.questions",
                              "a list of questions")
        questions = tuple(_question(q, f"{path}.questions[{k}]")
                          for k, q in enumerate(questions_raw))
        if sum(len(q.asked) for q in questions) > MAX_ASKED:
            raise InputError(f"{path}.questions", f"at most {MAX_ASKED} asked items in all")
        this = [(q.id, tuple(item.ref for item in q.asked)) for q in questions]
        ids = [q.id for q in questions]
        if len(set(ids)) != len(ids):
            raise InputError(f"{path}.questions", "each question id once", ", ".join(ids))
        for q in questions:
            refs = [item.ref for item in q.asked]
            if len(set(refs)) != len(refs):
                raise InputError(f"{path}.questions", f"each item of {q.id} asked once",
                                 ", ".join(refs))
        if layout is None:
            layout = this
        elif this != layout:
            raise InputError(f"{path}.questions", "the same questions and asked items as "
                             "variants[0]", ", ".join(f"{q}: {' '.join(r)}" for q, r in this))
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
