"""What grading writes: ``grades.csv``, ``grades.json`` and ``report.pdf``, all or none.

Every output is made in memory first (the PDF by one TeX run); only then are they written, into
a temporary folder swapped in for the output folder as a whole. A run that fails (bad input,
TeX, a full disk, a signal) leaves the earlier outputs as they were.
"""

from __future__ import annotations

import csv
import io
import json
from functools import cache, partial
from pathlib import Path
from typing import Any

from dlexam.build.files import atomic_write
from dlexam.errors import said_in
from dlexam.grade.grading import Grades, StudentGrade
from dlexam.notation.display import plain_number
from dlexam.outfolder import OutputFolder

CSV_NAME = "grades.csv"
JSON_NAME = "grades.json"
PDF_NAME = "report.pdf"
OUTPUT_NAMES = (CSV_NAME, JSON_NAME, PDF_NAME)

# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection); such
# cells are written with a leading apostrophe, which spreadsheets show as text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def safe_cell(text: str) -> str:
    """A cell a spreadsheet shows as text (``=HYPERLINK(...)`` -> ``'=HYPERLINK(...)``)."""
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def mistake_column(column: str) -> str:
    """The grades.csv column of the mistakes named in an answer (``q4.y[2].mistakes``)."""
    return f"{column}.mistakes"


def grades_csv(grades: Grades) -> bytes:
    """A row per student: the score of each question, the total, the mistakes of each answer."""
    key = grades.key
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in ("student", "variant", *key.question_ids, "total",
                                            *(mistake_column(c) for c in key.columns))])
    for sg in grades.students:
        scores = {q.id: plain_number(q.score) for q in sg.questions}
        mistakes = {item.column: " ".join(item.mistakes)
                    for q in sg.questions for item in q.items}
        writer.writerow([safe_cell(sg.student), safe_cell(sg.variant),
                         *(scores[q] for q in key.question_ids), plain_number(sg.total),
                         *(safe_cell(mistakes.get(c, "")) for c in key.columns)])
    return buffer.getvalue().encode("utf-8")


@cache
def _message(name: str, mistake_id: str, lang: str) -> str:
    from dlexam import derivations
    from dlexam.check.report import derivation_mistake_message

    return derivation_mistake_message(derivations.get(name), mistake_id, lang)


def _student_json(sg: StudentGrade, lang: str) -> dict[str, Any]:
    from dlexam.check.report import verdict_object

    questions = []
    for q in sg.questions:
        verdicts = []
        for item in q.items:
            for verdict in item.verdicts:
                obj = verdict_object(q.derivation, verdict, lang,
                                     message=partial(_message, q.derivation.name, lang=lang))
                if item.reason is not None:
                    obj["reason"] = said_in(item.reason, lang)
                verdicts.append(obj)
        entry: dict[str, Any] = {"id": q.id, "score": q.score, "verdicts": verdicts}
        decided = [{"item": item.column, "points": item.override.points,
                    "note": item.override.note} for item in q.items
                   if item.override is not None]
        if decided:  # the instructor's decisions (dlexam grade --overrides)
            entry["overrides"] = decided
        questions.append(entry)
    return {"student": sg.student, "variant": sg.variant, "total": sg.total,
            "questions": questions}


def grades_json(grades: Grades, lang: str = "en") -> bytes:
    """``{"students": [...], "mistakes": {question id: {mistake id: count}}}``."""
    data = {"students": [_student_json(sg, lang) for sg in grades.students],
            "mistakes": grades.mistakes}
    return (json.dumps(data, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def review_csv(grades: Grades, lang: str = "en") -> bytes:
    """The answers to review (``dlexam grade --review``): a row each with student, item, the
    text typed and the reason; its first three columns are those of an overrides file."""
    from dlexam.grade.grading import review_rows

    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["student", "item", "text", "reason"])
    for row in review_rows(grades):
        writer.writerow([safe_cell(said_in(cell, lang)) for cell in row])
    return buffer.getvalue().encode("utf-8")


def output_folder(out: Path) -> OutputFolder:
    """Grading's output folder, replaced as a whole (see :mod:`dlexam.outfolder`)."""
    return OutputFolder(out, (*OUTPUT_NAMES, "report.log"))


def write_outputs(out: Path, files: dict[str, bytes]) -> list[Path]:
    """Writes every file as the new content of ``out``: the folder is replaced as a whole, or
    left as it was (a full disk, a signal)."""
    return output_folder(out).write(files)


def report_pdf(grades: Grades, lang: str = "bilingual") -> bytes:
    """The instructor's report, compiled.

    Raises:
        BuildError: TeX failed.
    """
    from dlexam.build.tex import compile_pdf
    from dlexam.grade.report import render_report

    return compile_pdf(render_report(grades, lang), jobname="report").pdf


def keep_failed_log(out: Path, log: str) -> Path:
    """Writes a failed report's TeX log beside the outputs (``report.log``)."""
    path = out / "report.log"
    atomic_write(path, log.encode("utf-8"))
    return path


