"""Moodle's XML import format: one category per question holding its variants.

A single asked number is a ``numerical`` question; anything else a ``cloze`` (embedded answers)
question with one ``{w:NUMERICAL:=value:tolerance~%p%mistake:tolerance#feedback}`` part per
number. Every named mistake that changes a number is an answer with its partial credit (0% by
default) and the catalog's explanation as feedback. Moodle tolerances are absolute:
max(abs, rel * |expected|) per variant. Text in both languages uses Moodle's multilang spans
(language codes ``en`` and ``zh_tw``). Written with :mod:`xml.etree`, which escapes the XML; the
question text is HTML whose characters are escaped first.
"""

from __future__ import annotations

import html
import math
import xml.etree.ElementTree as ET
from functools import lru_cache
from typing import Any

from dlexam.derivations.contract import Tolerance, leaves
from dlexam.exams.mathtext import statements
from dlexam.exams.parallel import fork_map
from dlexam.exams.variants import Drawn, QuestionVariant
from dlexam.render.prose import prose_text

MOODLE_LANG = {"en": "en", "zh-Hant": "zh_tw"}
# the grades Moodle's importer accepts for an answer, in percent
MOODLE_FRACTIONS = (100, 90, 83.33333, 80, 75, 70, 66.66667, 60, 50, 40, 33.33333, 30, 25, 20,
                    16.66667, 14.28571, 12.5, 11.11111, 10, 5, 0)


def moodle_fraction(credit: float) -> float:
    """The grade Moodle accepts nearest to ``credit`` (0 to 1), in percent."""
    return min(MOODLE_FRACTIONS, key=lambda f: (abs(f - 100 * credit), f))


def number(value: float) -> str:
    """A number as Moodle reads it (plain decimal or exponent notation, 10 significant digits)."""
    text = f"{float(value):.10g}"
    return "0" if text == "-0" else text


def multilang(texts: dict[str, str]) -> str:
    """HTML text per language: one string, or Moodle's multilang spans (already HTML)."""
    if len(texts) == 1:
        return next(iter(texts.values()))
    return "".join(f'<span lang="{MOODLE_LANG[lang]}" class="multilang">{text}</span>'
                   for lang, text in texts.items())


def _cloze_escape(text: str) -> str:
    """Feedback inside a cloze part: the characters its syntax uses are escaped."""
    for ch in "\\}#~/\"":
        text = text.replace(ch, "\\" + ch)
    return text.replace("{", "\\{")


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, tag, attrs)
    if text is not None:
        el.text = text
    return el


def _text(parent: ET.Element, tag: str, text: str, fmt: str | None = "html") -> ET.Element:
    el = _sub(parent, tag, **({"format": fmt} if fmt else {}))
    _sub(el, "text", text)
    return el


@lru_cache(maxsize=1024)
def _said(lang: str, key: str) -> str:
    """A catalog message without fields, as text (said again for every variant)."""
    return prose_text(lang, key)


def _leaf_parts(qv: QuestionVariant, langs: tuple[str, ...]) -> list[dict[str, Any]]:
    """Every asked number: its reference, value, tolerance, weight and mistaken values."""
    parts: list[dict[str, Any]] = []
    sizes = [len(leaves(a["expected"])) for a in qv.asked]
    lcm = 1
    for s in sizes:
        lcm = lcm * s // math.gcd(lcm, s)
    for item, asked, size in zip(qv.question.items, qv.asked, sizes, strict=True):
        tol = Tolerance(**asked["tolerance"])
        wrong = {mid: dict(leaves(v)) for mid, v in asked["mistakes"].items()}
        for pos, value in leaves(asked["expected"]):
            ref = item.ref + "".join(f"[{i}]" for i in pos)
            allowed = tol.allowed(float(value))
            mistakes = []
            for mid, values in wrong.items():
                v = values.get(pos)
                if v is None or tol.within(float(v), float(value)):
                    continue  # this mistake leaves this number right
                if any(abs(float(v) - float(m["value"])) <= allowed for m in mistakes):
                    continue
                credit = qv.question.partial.get(mid, 0.0)
                key = qv.question.spec.mistake_key(mid)
                feedback = {lang: _said(lang, key + ".explain") for lang in langs}
                mistakes.append({"id": mid, "value": v, "fraction": moodle_fraction(credit),
                                 "feedback": feedback})
            parts.append({"ref": ref, "value": value, "tolerance": allowed,
                          "weight": lcm // size, "mistakes": mistakes})
    return parts


def numerical(quiz: ET.Element, name: str, qv: QuestionVariant, langs: tuple[str, ...],
              said: dict[str, str]) -> None:
    """A ``numerical`` question: one asked number (``said``: its statement, by language)."""
    (part,) = _leaf_parts(qv, langs)
    q = _sub(quiz, "question", type="numerical")
    _text(q, "name", name, fmt=None)
    body = dict(said)
    for lang in langs:
        body[lang] += "<p>" + html.escape(prose_text(lang, "exam.moodle_give",
                                                     {"ref": part["ref"]})) + "</p>"
    _text(q, "questiontext", multilang(body))
    _text(q, "generalfeedback", "")
    _sub(q, "defaultgrade", number(qv.question.points))
    _sub(q, "penalty", "0")
    _sub(q, "hidden", "0")
    answers = [(100.0, part["value"], {lang: _said(lang, "exam.correct") for lang in langs})]
    answers += [(m["fraction"], m["value"], m["feedback"]) for m in part["mistakes"]]
    for fraction, value, feedback in answers:
        a = _sub(q, "answer", fraction=number(fraction), format="moodle_auto_format")
        _sub(a, "text", number(value))
        _sub(a, "tolerance", number(part["tolerance"]))
        _text(a, "feedback", multilang({k: html.escape(v) for k, v in feedback.items()}))
    _sub(q, "unitgradingtype", "0")
    _sub(q, "unitpenalty", "0.1000000")
    _sub(q, "showunits", "3")
    _sub(q, "unitsleft", "0")


def cloze_part(part: dict[str, Any], langs: tuple[str, ...]) -> str:
    """One embedded answer: ``{w:NUMERICAL:=v:tol#ok~%p%m:tol#feedback}``."""
    tol = number(part["tolerance"])
    ok = _cloze_escape(" / ".join(_said(lang, "exam.correct") for lang in langs))
    answers = [f"={number(part['value'])}:{tol}#{ok}"]
    for m in part["mistakes"]:
        feedback = _cloze_escape(" / ".join(m["feedback"][lang] for lang in langs))
        answers.append(f"%{number(m['fraction'])}%{number(m['value'])}:{tol}#{feedback}")
    return "{" + f"{part['weight']}:NUMERICAL:" + "~".join(answers) + "}"


def cloze(quiz: ET.Element, name: str, qv: QuestionVariant, langs: tuple[str, ...],
          said: dict[str, str]) -> None:
    """A ``cloze`` question: one embedded numerical part per asked number (``said``: its
    statement, by language)."""
    parts = _leaf_parts(qv, langs)
    q = _sub(quiz, "question", type="cloze")
    _text(q, "name", name, fmt=None)
    body = multilang(said)
    rows = []
    for part in parts:
        rows.append("<p>" + html.escape(part["ref"]) + " = " + cloze_part(part, langs) + "</p>")
    _text(q, "questiontext", body + "".join(rows))
    _text(q, "generalfeedback", "")
    _sub(q, "penalty", "0")
    _sub(q, "hidden", "0")


def category_path(title: str, qid: str) -> str:
    """The category of a question's variants (``$course$/top/<exam>/<question>``)."""
    clean = title.replace("/", "-").strip() or "exam"
    return f"$course$/top/{clean}/{qid}"


def statement_html(exam: Any, question: int, params: dict[str, Any]) -> dict[str, str]:
    """A question's statement (by its position) with a variant's numbers, as Moodle's HTML in
    each of the exam's languages."""
    texts = statements(exam.questions[question], params, exam.langs, as_tex=False)
    return {lang: "<p>" + html.escape(texts[lang]) + "</p>" for lang in exam.langs}


def moodle_xml(drawn: Drawn) -> bytes:
    """``moodle.xml``: per question a category holding its variants."""
    exam = drawn.exam
    langs = exam.langs
    quiz = ET.Element("quiz")
    title = exam.title.get("en") or next(iter(exam.title.values()))
    # the statements (each variant's numbers printed in each language) are most of the work:
    # worked out in parallel, in order
    pieces = [(k, qv.params) for variant in drawn.variants
              for k, qv in enumerate(variant.questions)]  # variant by variant
    said = fork_map(lambda i: statement_html(exam, *pieces[i]), len(pieces))
    per_variant = len(exam.questions)
    for index, question in enumerate(exam.questions):
        cat = _sub(quiz, "question", type="category")
        _text(cat, "category", category_path(title, question.id), fmt=None)
        for v, variant in enumerate(drawn.variants):
            qv = variant.questions[index]
            name = f"{question.id} {variant.code}"
            single = len(qv.asked) == 1 and not isinstance(qv.asked[0]["expected"], list)
            (numerical if single else cloze)(quiz, name, qv, langs,
                                             said[v * per_variant + index])
    ET.indent(quiz, space="  ")
    body = ET.tostring(quiz, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body + b"\n"
