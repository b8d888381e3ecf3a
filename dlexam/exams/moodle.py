r"""Moodle's XML import format: one category per question holding its variants.

A single asked number is a ``numerical`` question; anything else a ``cloze`` (embedded answers)
question with one ``{w:NUMERICAL:=value:tolerance~%p%mistake:tolerance#feedback}`` part per number.
Every named mistake that changes a number is an answer with its partial credit (0% by default) and
the catalog's explanation as feedback. Moodle tolerances are absolute, each from its own answer's
value by the question's rule: max(abs, rel * |value|), for the right value and for each mistake's
value alike, widened to reach the value rounded to the precision the question states (Moodle then
accepts that value and everything closer). Every text Moodle shows (question text, each answer's
feedback) carries one multilang span per language (Moodle's code from the language record:
``en``, ``zh_tw``, ``zh_cn``), so that Moodle's
multi-language filter shows one. Mathematics in question texts is TeX between ``\(`` and ``\)`` for
Moodle's MathJax filter; feedback is plain text (a Cloze part's feedback is shown in a popover,
which MathJax does not typeset). A Cloze question's part weights are whole numbers that add up to
its points (Moodle sets its mark to their sum). Written with :mod:`xml.etree`, which escapes the
XML; the HTML inside is escaped first, and a Cloze part's feedback once more as Moodle's Cloze
parser reads it (:func:`cloze_feedback`).
"""

from __future__ import annotations

import html
import math
import xml.etree.ElementTree as ET
from functools import lru_cache
from typing import Any

from dlexam.derivations.contract import Tolerance, leaves
from dlexam.errors import InputError, Said
from dlexam.exams.mathtext import statements
from dlexam.exams.model import moodle_fraction, precision_key
from dlexam.exams.parallel import fork_map
from dlexam.exams.variants import Drawn, QuestionVariant
from dlexam.langs import language
from dlexam.notation.display import plain_number
from dlexam.render.labels import answer_label
from dlexam.render.prose import MATHJAX_INLINE, prose_html, prose_text


def number(value: float) -> str:
    """A number as Moodle reads it (plain decimal or exponent notation, 10 significant digits)."""
    return plain_number(value, "moodle")


def multilang(texts: dict[str, str]) -> str:
    """HTML text per language: one string, or Moodle's multilang spans (already HTML)."""
    if len(texts) == 1:
        return next(iter(texts.values()))
    return "".join(f'<span lang="{language(lang).moodle}" class="multilang">{text}</span>'
                   for lang, text in texts.items())


# Characters of Moodle's Cloze syntax, written as HTML character references inside a Cloze
# part's feedback: the parser looks for the characters, and decodes the references once after.
_CLOZE_SYNTAX = str.maketrans({"{": "&#123;", "}": "&#125;", "~": "&#126;", "#": "&#35;",
                               "\\": "&#92;"})
_BRACES = str.maketrans({"{": "&#123;", "}": "&#125;"})


def cloze_text(html_text: str) -> str:
    """HTML shown around a Cloze question's parts: its braces written as character references,
    so that Moodle's parser takes none of it for an embedded answer (a statement holding
    ``{1:NUMERICAL:=1}`` stays text); the browser, and MathJax after it, read the braces."""
    return html_text.translate(_BRACES)


def cloze_feedback(html_text: str) -> str:
    """HTML feedback inside a Cloze part, as Moodle's parser needs it to show ``html_text``.

    Moodle's Cloze parser (``qtype_multianswer_extract_question``) ends a feedback at the first
    ``~`` or ``}`` not after a backslash, then decodes HTML character references once and
    unescapes ``\\}`` and ``\\#`` only: any other backslash escape stays on screen. So the
    feedback's own ``&`` is encoded once more (it survives the decoding as it was), every
    character of the Cloze syntax and every backslash is written as a character reference,
    which the decoding turns back into itself, and a backslash before ``}`` or ``#`` is
    doubled for the unescaping to take back.
    """
    # a backslash the feedback itself holds before } or # gets another, which the unescaping
    # takes away
    kept = html_text.replace("\\}", "\\\\}").replace("\\#", "\\\\#")
    return kept.replace("&", "&amp;").translate(_CLOZE_SYNTAX)


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


def part_weights(question: Any, sizes: list[int]) -> list[int]:
    """The whole-number weights of a Cloze question's parts (one per asked number), adding up
    to the question's points: each asked item an equal share, shared equally by its numbers,
    rounded by largest remainders, at least 1 each.

    Raises:
        InputError: the points are not a whole number at least the count of numbers (Moodle
            weighs a Cloze part in whole marks and sets the question's mark to their sum).
    """
    points, count = question.points, sum(sizes)
    if points != int(points) or points < count:
        raise InputError(f"{question.path}.points", Said("exam.errors.moodle_points", n=count),
                         plain_number(points, "points"))
    ideal = [points / len(sizes) / size for size in sizes for _ in range(size)]
    weights = [max(1, math.floor(x)) for x in ideal]
    left = int(points) - sum(weights)
    # the largest remainders gain a mark; when the floor of 1 took too many, the smallest
    # remainders above 1 give one back
    order = sorted(range(len(ideal)), key=lambda i: (weights[i] - ideal[i], i))
    if left >= 0:
        for i in order[:left]:
            weights[i] += 1
    else:
        for i in reversed(order):
            if left == 0:
                break
            if weights[i] > 1:
                weights[i] -= 1
                left += 1
    return weights


def _leaf_parts(qv: QuestionVariant, langs: tuple[str, ...]) -> list[dict[str, Any]]:
    """Every asked number: its reference, value, tolerance, weight and mistaken values (each
    with its own tolerance, from its own value)."""
    parts: list[dict[str, Any]] = []
    sizes = [len(leaves(a["expected"])) for a in qv.asked]
    single = sizes == [1] and not isinstance(qv.asked[0]["expected"], list)
    weights = iter([1] if single else part_weights(qv.question, sizes))
    for item, asked in zip(qv.question.items, qv.asked, strict=True):
        tol = Tolerance.from_dict(asked["tolerance"])
        wrong = {mid: dict(leaves(v)) for mid, v in asked["mistakes"].items()}
        for pos, value in leaves(asked["expected"]):
            ref = item.ref + "".join(f"[{i}]" for i in pos)
            mistakes: list[dict[str, Any]] = []
            for mid, values in wrong.items():
                v = values.get(pos)
                if v is None or not tol.tells_apart(float(value), float(v)):
                    continue  # this mistake leaves this number right
                if any(tol.within(float(v), float(m["value"])) for m in mistakes):
                    continue  # an earlier mistake gives this number already
                credit = qv.question.partial.get(mid, 0.0)
                key = qv.question.spec.mistake_key(mid)
                feedback = {lang: _said(lang, key + ".explain") for lang in langs}
                mistakes.append({"id": mid, "value": v, "fraction": moodle_fraction(credit),
                                 "tolerance": tol.interval(float(v)), "feedback": feedback})
            # the tolerance reaches the value rounded to a stated precision
            label = answer_label(qv.question.spec, item.answer, (*item.index, *pos), value)
            parts.append({"ref": ref, "label": label, "value": value,
                          "tolerance": tol.interval(float(value)),
                          "weight": next(weights), "mistakes": mistakes})
    return parts


def _feedback(texts: dict[str, str]) -> str:
    """Plain-text feedback in each language, as Moodle's HTML with multilang spans."""
    return multilang({lang: html.escape(text) for lang, text in texts.items()})


def _answers(part: dict[str, Any], langs: tuple[str, ...]) -> list[tuple[float, Any, float,
                                                                            str]]:
    """A number's answers: (fraction in percent, value, tolerance, feedback HTML), the right
    value first, then each mistake's."""
    right = (100.0, part["value"], part["tolerance"],
             _feedback({lang: _said(lang, "exam.correct") for lang in langs}))
    return [right, *((m["fraction"], m["value"], m["tolerance"], _feedback(m["feedback"]))
                     for m in part["mistakes"])]


def numerical(quiz: ET.Element, name: str, qv: QuestionVariant, langs: tuple[str, ...],
              said: dict[str, str]) -> None:
    """A ``numerical`` question: one asked number (``said``: its statement, by language)."""
    (part,) = _leaf_parts(qv, langs)
    q = _sub(quiz, "question", type="numerical")
    _text(q, "name", name, fmt=None)
    # the derivation's statement names the asked item; a file's own text may not
    give = {lang: "<p>" + prose_html(lang, "exam.moodle_give", {"ref": part["label"]},
                                     MATHJAX_INLINE) + "</p>" if qv.question.text is not None
            else "" for lang in langs}
    body = {lang: said[lang] + give[lang] for lang in langs}
    _text(q, "questiontext", multilang(body))
    _text(q, "generalfeedback", "")
    _sub(q, "defaultgrade", number(qv.question.points))
    _sub(q, "penalty", "0")
    _sub(q, "hidden", "0")
    for fraction, value, tolerance, feedback in _answers(part, langs):
        a = _sub(q, "answer", fraction=number(fraction), format="moodle_auto_format")
        _sub(a, "text", number(value))
        _sub(a, "tolerance", number(tolerance))
        _text(a, "feedback", feedback)
    _sub(q, "unitgradingtype", "0")
    _sub(q, "unitpenalty", "0.1000000")
    _sub(q, "showunits", "3")
    _sub(q, "unitsleft", "0")


def cloze_part(part: dict[str, Any], langs: tuple[str, ...]) -> str:
    """One embedded answer: ``{w:NUMERICAL:=v:tol#ok~%p%m:tol#feedback}``."""
    answers = []
    for fraction, value, tolerance, feedback in _answers(part, langs):
        grade = "=" if fraction == 100 else f"%{number(fraction)}%"
        answers.append(f"{grade}{number(value)}:{number(tolerance)}#{cloze_feedback(feedback)}")
    return "{" + f"{part['weight']}:NUMERICAL:" + "~".join(answers) + "}"


def cloze(quiz: ET.Element, name: str, qv: QuestionVariant, langs: tuple[str, ...],
          said: dict[str, str]) -> None:
    """A ``cloze`` question: one embedded numerical part per asked number (``said``: its
    statement, by language). Its mark is the sum of the parts' weights: its points."""
    parts = _leaf_parts(qv, langs)
    q = _sub(quiz, "question", type="cloze")
    _text(q, "name", name, fmt=None)
    rows = ["<p>" + cloze_text(multilang({lang: prose_html(
        lang, part["label"].key, part["label"].data, MATHJAX_INLINE) for lang in langs}))
        + ": " + cloze_part(part, langs) + "</p>" for part in parts]
    _text(q, "questiontext", cloze_text(multilang(said)) + "".join(rows))
    _text(q, "generalfeedback", "")
    _sub(q, "penalty", "0")
    _sub(q, "hidden", "0")


def category_path(title: str, qid: str) -> str:
    """The category of a question's variants (``$course$/top/<exam>/<question>``)."""
    clean = title.replace("/", "-").strip() or "exam"
    return f"$course$/top/{clean}/{qid}"


def statement_html(exam: Any, question: int, params: dict[str, Any],
                   asked: list[dict[str, Any]]) -> dict[str, str]:
    """A question's statement (by its position) with a variant's numbers, its task naming the
    items asked (``asked``: the variant's key entries), as Moodle's HTML in each of the exam's
    languages."""
    q = exam.questions[question]
    texts = statements(q, params, exam.langs, as_html=True, asked=asked)
    out = {lang: "<p>" + texts[lang] + "</p>" for lang in exam.langs}
    if q.precision is not None:
        key, data = precision_key(q.precision)
        for lang in exam.langs:
            out[lang] += "<p>" + html.escape(_said_with(lang, key, data["n"])) + "</p>"
    return out


@lru_cache(maxsize=64)
def _said_with(lang: str, key: str, n: int) -> str:
    return prose_text(lang, key, {"n": n})


def moodle_xml(drawn: Drawn) -> bytes:
    """``moodle.xml``: per question a category holding its variants."""
    exam = drawn.exam
    langs = exam.langs
    quiz = ET.Element("quiz")
    title = exam.title.get("en") or next(iter(exam.title.values()))
    # the statements (each variant's numbers printed in each language) are most of the work:
    # worked out in parallel, in order
    pieces = [(k, qv.params, qv.asked) for variant in drawn.variants
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
