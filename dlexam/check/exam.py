"""`dlexam check --exam EXAM ANSWERS.toml`: a student's answers to a whole exam, scored.

The answers file holds, per question id, the student's values keyed by answer name as ``-a``
writes them (``"y[2]" = "2.7371"``; a string is typed text, a TOML number or array is taken as
it is; an empty string is no answer). The exam's questions must have fixed numbers (as the
built-in final2023 has); a question that draws its numbers per variant is checked with its
variant's parameters from key.json (`dlexam check NAME params... -a ...`, or `dlexam grade`).
Each question is checked by the checker on that question's parameters; its points are shared
among its asked items, an item earns its share
when every entry of it is right, and the exam's partial credit when a named mistake gives it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dlexam.check.verdicts import Checker, Report, Verdict, item_credit
from dlexam.derivations.contract import format_ref
from dlexam.errors import InputError, Said
from dlexam.notation.display import plain_number

MAX_ANSWERS_FILE = 1_000_000  # bytes


@dataclass
class QuestionReport:
    """One question's verdicts and score."""

    question: Any  # dlexam.exams.model.Question
    report: Report | None  # None when nothing was answered
    score: float
    asked: list[tuple[str, str]]  # (ref, "right" | "wrong" | "partial" | "missing")


@dataclass
class ExamReport:
    """A student's whole exam."""

    exam: Any  # dlexam.exams.model.Exam
    questions: list[QuestionReport]

    @property
    def score(self) -> float:
        """The points earned."""
        return sum(q.score for q in self.questions)

    @property
    def total(self) -> float:
        """The points the exam is worth."""
        return sum(q.question.points for q in self.questions)


def read_answers(path: str) -> dict[str, dict[str, Any]]:
    """The answers file: question id -> {ref: value}.

    Raises:
        InputError: naming the file, or the TOML path, and what was expected.
    """
    from dlexam.safeio import decode_utf8, load_toml, read_file

    table = load_toml(decode_utf8(read_file(path, MAX_ANSWERS_FILE, "answers file"), path,
                                  bom=False), path, expected=Said("check.errors.toml"))
    answers: dict[str, dict[str, Any]] = {}
    for qid, given in table.items():
        if not isinstance(given, dict):
            raise InputError(f"{path}: {qid}", Said("check.errors.answers_table",
                                                    example='[q1] "y[2]" = "2.7"'))
        kept = {}
        for ref, value in given.items():
            if isinstance(value, dict):
                raise InputError(f"{path}: {qid}.{ref}", Said("check.errors.answer_value",
                                                              example='"y[2]" = ...'))
            if value == "":
                continue
            kept[ref] = value
        answers[qid] = kept
    return answers


def check_exam(exam: Any, answers: dict[str, dict[str, Any]],
               source: str = "answers") -> ExamReport:
    """Checks every question answered; unanswered asked items score nothing.

    Raises:
        InputError: an unknown question id, or a malformed answer (naming it).
    """
    known = {q.id for q in exam.questions}
    for qid in answers:
        if qid not in known:
            raise InputError(f"{source}: {qid}", Said("check.errors.exam_question",
                                                      known=", ".join(sorted(known))),
                             Said("check.errors.unknown_question"))
    out = []
    for question in exam.questions:
        given = answers.get(question.id, {})
        try:
            params = question.fixed_params()
        except InputError as err:
            raise InputError(f"{source}: {question.id}", err.expected) from None
        report = None
        if given:
            checker = Checker(question.spec, params, question.tolerance,
                              precision=question.precision)
            try:
                report = checker.check(given)
            except InputError as err:
                raise InputError(f"{question.id}.{err.param}", err.expected, err.got) from None
        out.append(_score(question, report))
    return ExamReport(exam, out)


def _covers(verdict: Verdict, answer: str, index: tuple[int, ...]) -> bool:
    if verdict.answer != answer:
        return False
    got = tuple(verdict.index or ())
    return got[:len(index)] == tuple(index)


def _score(question: Any, report: Report | None) -> QuestionReport:
    share = question.item_points()
    score = 0.0
    asked = []
    for item in question.items:
        verdicts = [] if report is None else [
            v for v in report.verdicts if _covers(v, item.answer, item.index)]
        if not verdicts:
            asked.append((item.ref, "missing"))
            continue
        if all(v.correct for v in verdicts):
            score += share
            asked.append((item.ref, "right"))
            continue
        credit = item_credit(verdicts, question.partial, question.rounding_slip)
        score += share * credit
        asked.append((item.ref, "partial" if credit else "wrong"))
    return QuestionReport(question, report, score, asked)


def template(exam: Any, source: str = "--template", lang: str = "en") -> str:
    """An empty answers file for the exam, to fill in.

    Raises:
        InputError: a question draws its numbers per variant (its answers could not be
            checked: the same refusal as checking them).
    """
    for question in exam.questions:
        try:
            question.fixed_params()
        except InputError as err:
            raise InputError(f"{source}: {question.id}", err.expected) from None
    lines = [Said("terminal.template_head").said_in(lang),
             Said("terminal.template_head2").said_in(lang)]
    for question in exam.questions:
        lines += ["", f"[{question.id}]  # " + Said(
            "terminal.template_question", derivation=question.derivation,
            points=plain_number(question.points, "points")).said_in(lang)]
        lines += [f'"{item.ref}" = ""' for item in question.items]
    return "\n".join(lines) + "\n"


def report_json(report: ExamReport, lang: str) -> dict[str, Any]:
    """The whole report as JSON: per question its score and the checker's verdict objects."""
    from dlexam.check.report import verdict_json

    return {
        "exam": report.exam.title.get("en") if isinstance(report.exam.title, dict)
        else str(report.exam.title),
        "score": round(report.score, 6),
        "total": report.total,
        "questions": [{
            "id": q.question.id,
            "derivation": q.question.derivation,
            "points": q.question.points,
            "score": round(q.score, 6),
            "asked": [{"answer": ref, "result": result} for ref, result in q.asked],
            "verdicts": [] if q.report is None else [
                verdict_json(q.report, v, lang) for v in q.report.verdicts],
        } for q in report.questions],
    }


def report_text(report: ExamReport, lang: str) -> str:
    """The whole report for the terminal."""
    from dlexam.check.report import item_lines, items_of
    from dlexam.render.prose import prose_text

    lines = [prose_text(lang, "check.exam_score", {
        "score": plain_number(report.score, "points"),
        "total": plain_number(report.total, "points")})]
    for q in report.questions:
        lines += ["", prose_text(lang, "check.exam_question", {
            "id": q.question.id, "name": q.question.derivation,
            "score": plain_number(q.score, "points"),
            "points": plain_number(q.question.points, "points")})]
        missing = [ref for ref, result in q.asked if result == "missing"]
        if missing:
            lines.append("  " + prose_text(lang, "check.exam_missing",
                                           {"refs": ", ".join(missing)}))
        if q.report is not None:
            for group in items_of(q.report.verdicts):
                lines += item_lines(q.report, group, lang)
    return "\n".join(lines)


def wrong_results(report: ExamReport) -> list[tuple[Any, Any]]:
    """(question, right result) for every question with a wrong answer: what the PDF shows."""
    out = []
    for q in report.questions:
        if q.report is not None and any(not v.correct for v in q.report.verdicts):
            out.append((q, q.question.spec.run(q.report.params)))
    return out


__all__ = ["ExamReport", "QuestionReport", "check_exam", "format_ref", "read_answers",
           "report_json", "report_text", "template", "wrong_results"]
