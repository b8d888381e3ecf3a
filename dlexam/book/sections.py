"""The answer book's layout: an exam file's ``[book]`` table read into the sections the book
builder typesets (template, weight, the derivation runs each shows, contents entries).

A result either runs one of the exam's questions on its own numbers (``question = "q4"``, with
``params`` that override some of them) or names a derivation and its numbers; so the exam's
numbers are written once, in its questions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dlexam.errors import InputError, Said
from dlexam.exams.model import Exam, load_exam
from dlexam.langs import codes

_SECTION_KEYS = {"template", "heading", "label", "weight", "results", "contents"}


def _table(path: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InputError(path, Said("exam.errors.a_table"), repr(value)[:60])
    return value


def book_sections(exam: Exam | str) -> dict[str, dict[str, Any]]:
    """Section name -> ``{"template", "heading", "label", "weight", "results": {key:
    {"derivation", "params"}}, "contents"}``, in the book's order (``label``: the question's
    number per language, ``{"en": "Q4", "zh-Hant": "第四題"}``, or None).

    Raises:
        InputError: naming the TOML path of a layout that does not fit the exam.
    """
    exam = load_exam(exam) if isinstance(exam, str) else exam
    book = _table("book", exam.book)
    order = book.get("order")
    if not isinstance(order, list) or not order:
        raise InputError("book.order", Said("book.errors.order"), repr(order)[:60])
    ids = {q.id for q in exam.questions}
    out: dict[str, dict[str, Any]] = {}
    for name in order:
        path = f"book.{name}"
        section = _table(path, book.get(name))
        extra = sorted(set(section) - _SECTION_KEYS)
        if extra:
            raise InputError(f"{path}.{extra[0]}", Said("exam.errors.one_of",
                                                        items=", ".join(sorted(_SECTION_KEYS))))
        question = exam.question(name) if name in ids else None
        results = {}
        for key, spec in _table(f"{path}.results", section.get("results", {})).items():
            spec = _table(f"{path}.results.{key}", spec)
            overrides = dict(_table(f"{path}.results.{key}.params", spec.get("params", {})))
            if "question" in spec:
                if spec["question"] not in ids:
                    raise InputError(f"{path}.results.{key}.question",
                                     Said("book.errors.question_id", ids=", ".join(sorted(ids))),
                                     repr(spec["question"]))
                asked = exam.question(spec["question"])
                results[key] = {"derivation": asked.derivation,
                                "params": {**asked.fixed_params(), **overrides}}
            elif isinstance(spec.get("derivation"), str):
                results[key] = {"derivation": spec["derivation"], "params": overrides}
            else:
                raise InputError(f"{path}.results.{key}", Said("book.errors.result"))
        heading = section.get("heading")
        if not isinstance(heading, str):
            raise InputError(f"{path}.heading", Said("book.errors.heading"),
                             repr(heading)[:60])
        label = section.get("label")
        if label is not None and (not isinstance(label, Mapping) or "en" not in label
                                  or not set(label) <= set(codes())
                                  or not all(isinstance(v, str) for v in label.values())):
            raise InputError(f"{path}.label", Said("book.errors.label", langs=", ".join(
                f'{lang} = "..."' for lang in codes())),
                             repr(label)[:60])
        out[name] = {
            "template": section.get("template"),
            "heading": heading,
            "label": None if label is None else {c: label.get(c, label["en"]) for c in codes()},
            "weight": question.points if question is not None else section.get("weight"),
            "results": results,
            "contents": list(section.get("contents", ())),
        }
    return out
