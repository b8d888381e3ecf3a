"""``report.pdf``: what an instructor reads after grading, through the book's templates.

The score distribution (a histogram), each question's mean and full-marks count, and for each
question its named mistakes ranked by how many students made them, as bar charts with each
mistake's explanation. The figures are pgfplots drawn from the numbers computed here; every
text from the key (title, question ids, variant codes) reaches TeX escaped.
"""

from __future__ import annotations

import statistics
from typing import Any

from dlexam import render
from dlexam.build.document import assemble, fragment
from dlexam.grade.grading import Grades
from dlexam.langs import langs_for
from dlexam.notation.display import plain_number

BINS = 10


def histogram(totals: list[float], points: float, bins: int = BINS) -> list[tuple[float, int]]:
    """(left edge, count) of each of ``bins`` equal bins over [0, points]; the last bin holds
    full marks."""
    width = points / bins if points > 0 else 1.0
    counts = [0] * bins
    for total in totals:
        k = int(total / width) if width > 0 else 0
        counts[min(max(k, 0), bins - 1)] += 1
    return [(round(k * width, 6), counts[k]) for k in range(bins)]


def report_data(grades: Grades) -> dict[str, Any]:
    """The numbers the report shows."""
    key = grades.key
    totals = [s.total for s in grades.students]
    n = len(totals)
    first = key.variants[next(iter(key.variants))]
    derivation_of = {q.id: q.derivation for q in first.questions}
    questions = []
    for qid in key.question_ids:
        scores = [q.score for s in grades.students for q in s.questions if q.id == qid]
        derivation = next(q.derivation for s in grades.students for q in s.questions
                          if q.id == qid)
        mistakes: list[dict[str, Any]] = [
            {"id": mid, "students": count, "answers": grades.mistakes[qid].get(mid, 0),
             "key": derivation.mistake_key(mid)}
            for mid, count in grades.mistake_students[qid].items()]
        questions.append({
            "id": qid,
            "derivation": derivation_of[qid],
            "points": plain_number(key.points[qid]),
            "mean": plain_number(round(statistics.fmean(scores), 2)),
            "full": sum(1 for s in scores if s >= key.points[qid] - 1e-9),
            "mistakes": mistakes,
            "most": max((m["students"] for m in mistakes), default=0),
            "coordinates": " ".join(f"({m['students']},{k})"
                                    for k, m in enumerate(mistakes, start=1)),
        })
    bins = histogram(totals, key.total_points)
    top = plain_number(key.total_points if key.total_points > 0 else BINS)
    return {
        "students": n,
        "points": plain_number(key.total_points),
        "mean": plain_number(round(statistics.fmean(totals), 2)),
        "median": plain_number(round(statistics.median(totals), 2)),
        "full": sum(1 for t in totals if t >= key.total_points - 1e-9),
        "bin_width": plain_number(key.total_points / BINS if key.total_points > 0 else 1),
        "top": plain_number(key.total_points if key.total_points > 0 else BINS),
        "most": max((c for _e, c in bins), default=0),
        "questions": questions,
        "ticks": ",".join([edge for edge, _count in
                           ((plain_number(e), c) for e, c in bins)] + [top]),
        # pgfplots' ybar interval: a last point closes the last bin
        "coordinates": " ".join(f"({edge},{count})" for edge, count in bins)
        + f" ({plain_number(key.total_points if key.total_points > 0 else BINS)},0)",
    }


def render_report(grades: Grades, lang: str = "bilingual") -> str:
    """The report's LaTeX source."""
    langs = langs_for(lang)
    title = {code: grades.key.title.get(code, "") for code in langs}
    part = fragment("grade_report.tex.j2", langs=langs,
                    data=report_data(grades), title=title)
    heading = render.prose_text(langs[0], "grade.title", {"title": title[langs[0]]})
    return assemble(heading, langs, [part])
