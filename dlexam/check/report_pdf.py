"""A checked exam as a bilingual PDF: scores, verdicts, and the right derivation beside each wrong
answer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dlexam import render
from dlexam.build.document import assemble, fragment
from dlexam.build.tex import write_document
from dlexam.check.exam import ExamReport
from dlexam.derivations.contract import format_ref
from dlexam.derivations.core import to_plain
from dlexam.notation.display import plain_number
from dlexam.render.values import value_tex


def _number(value: Any) -> Any:
    return value_tex(to_plain(value))


def _question(q: Any) -> dict[str, Any]:
    spec = q.question.spec
    verdicts = []
    if q.report is not None:
        for v in q.report.verdicts:
            verdicts.append({
                "ref": format_ref(v.answer, v.index),
                "given": _number(v.given),
                "expected": _number(v.expected),
                "correct": v.correct,
                # the named mistake, or both of a pair, as the text report names them
                "mistake_keys": [spec.mistake_key(m) for m in v.mistakes] if v.mistake else [],
                "follows": format_ref(*v.follows_from) if v.follows_from else None,
                "slip": v.note == "rounding-slip",
            })
    wrong = q.report is not None and any(not v.correct for v in q.report.verdicts)
    return {
        "id": q.question.id,
        "derivation": q.question.derivation,
        "score": plain_number(q.score, "points"),
        "points": plain_number(q.question.points, "points"),
        "missing": ", ".join(ref for ref, result in q.asked if result == "missing"),
        "verdicts": verdicts,
        "result": spec.run(q.report.params) if wrong else None,
    }


def render_report(report: ExamReport, lang: str = "bilingual") -> str:
    """The report's LaTeX source."""
    langs = render.langs_for(lang)
    title = report.exam.title
    titles = {lg: title.get(lg, title.get("en", "")) if isinstance(title, dict) else str(title)
              for lg in langs}
    part = fragment("check_report.tex.j2", langs=langs, titles=titles,
                    score=plain_number(report.score, "points"),
                    total=plain_number(report.total, "points"),
                    questions=[_question(q) for q in report.questions])
    return assemble(render.prose_text(langs[0], "report.title", {"title": titles[langs[0]]}),
                    langs, [part])


def build_report(report: ExamReport, pdf_path: Path, lang: str = "bilingual") -> Path:
    """Compiles the report and writes it atomically to ``pdf_path`` (a failed run keeps its log
    beside it and leaves an earlier PDF as it was).

    Raises:
        BuildError: TeX failed.
    """
    return write_document(render_report(report, lang), pdf_path, "report")
