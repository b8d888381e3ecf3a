"""The data of each page, computed in a worker process from the engine's own objects.

The pages show what the command line shows: a question is ``sample``'s, its verdicts are
``check``'s report (each verdict's JSON object is carried on the page beside its words), a
solve page is ``solve``'s steps, practice is ``practice``'s items, hints and worked steps.
Prose comes from the catalogs as HTML whose mathematics is TeX between ``\\(`` and ``\\)``
(typeset in the browser); equations are TeX strings the templates put in as text.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from typing import Any

from dlexam.check.practice import feeding_steps, items, step_for
from dlexam.check.report import report_json, verdict_lines
from dlexam.derivations.contract import format_ref
from dlexam.derivations.core import Derivation, to_plain
from dlexam.derivations.params import REQUIRED
from dlexam.errors import InputError, Said
from dlexam.literals import parse_value
from dlexam.notation import tex
from dlexam.notation.display import laid_out
from dlexam.render.describe import param_text
from dlexam.render.notebook import equation_line
from dlexam.render.prose import MATHJAX_INLINE, catalog, prose_html, prose_text, worded
from dlexam.render.question import keyed
from dlexam.render.values import value_tex
from dlexam.web import api

MAX_ANSWERS = 400
"""The most answer fields a form may send."""


def _html(lang: str, key: str, data: Mapping[str, Any] | None = None) -> str:
    return prose_html(lang, key, data, delims=MATHJAX_INLINE)


_DOLLARS = re.compile(r"\$([^$]+)\$")


def value_html(value: Any) -> str:
    """A value as the answer sheet writes it (the one value renderer), as HTML whose
    mathematics is between ``\\(`` and ``\\)``."""
    left, right = MATHJAX_INLINE
    return _DOLLARS.sub(lambda m: left + m.group(1) + right,
                        html.escape(str(value_tex(to_plain(value)))))


def index(lang: str) -> dict[str, Any]:
    """The derivations grouped by topic, in the order of their names."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in api.listing(lang):
        summary = _html(lang, api.derivations.get(row["name"]).summary_key)
        groups.setdefault(row["topic"], []).append({**row, "summary_html": summary})
    names = catalog(lang)
    return {"topics": [{"topic": names.get(f"web.topics.{t}", t), "items": rows}
                       for t, rows in sorted(groups.items())]}


def _fields(name: str, value: Any, index: tuple[int, ...] = ()) -> dict[str, Any]:
    """An answer's input fields shaped like its value: a number one field, a vector a row, a
    matrix a grid; deeper values a grid per item."""
    if isinstance(value, list) and value and all(
            isinstance(v, list) and v and isinstance(v[0], list) for v in value):
        return {"label": format_ref(name, index) or name, "parts": [
            _fields(name, v, (*index, i)) for i, v in enumerate(value, start=1)]}
    if isinstance(value, list) and any(isinstance(v, list) for v in value):
        rows = [[format_ref(name, (*index, i, j)) for j in range(1, len(row) + 1)]
                if isinstance(row, list) else [format_ref(name, (*index, i))]
                for i, row in enumerate(value, start=1)]
    elif isinstance(value, list):
        rows = [[format_ref(name, (*index, i)) for i in range(1, len(value) + 1)]]
    else:
        rows = [[format_ref(name, index)]]
    return {"label": format_ref(name, index), "rows": rows,
            "text": isinstance(value, str)}


def answer_fields(derivation: Derivation, expected: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One group of fields per asked answer."""
    out = []
    for answer in derivation.answers:
        if answer.asked and answer.name in expected:
            out.append(_fields(answer.name, to_plain(expected[answer.name])))
    return out


def _statement(derivation: Derivation, params: Mapping[str, Any], lang: str) -> str:
    return _html(lang, *keyed(derivation, params))


def verdict_view(report: Any, lang: str) -> dict[str, Any]:
    """A report as the page shows it: ``check --json``'s object, and each verdict's words,
    named mistake, explanation and the step where the derivations part (TeX)."""
    data = report_json(report, lang)
    rows = []
    said: set[tuple[Any, tuple[str, ...]]] = set()  # an item's mistake is explained once
    for verdict, obj in zip(report.verdicts, data["verdicts"], strict=True):
        lines = verdict_lines(report, verdict, lang)
        row: dict[str, Any] = {"json": obj, "head": lines[0].strip(),
                               "more": [line.strip() for line in lines[1:]]}
        once = (verdict.item, verdict.mistakes)
        if verdict.mistake is not None and verdict.item is not None and once in said:
            row["more"] = []
            row["mistake_name"] = " + ".join(
                _html(lang, report.derivation.mistake_key(m) + ".name")
                for m in verdict.mistakes)
        elif verdict.mistake is not None:  # the same words as check's, typeset
            said.add(once)
            row["more"] = []
            row["mistake_name"] = " + ".join(
                _html(lang, report.derivation.mistake_key(m) + ".name")
                for m in verdict.mistakes)
            row["mistake_explain"] = " ".join(
                _html(lang, report.derivation.mistake_key(m) + ".explain")
                for m in verdict.mistakes)
            parting = report.parting_steps(verdict)
            if parting is not None:
                number, mine, theirs = parting
                row["departs"] = {
                    "words": _html(lang, "check.departs", {"step": number}) + " "
                    + _html(lang, mine.key, mine.data),
                    "right_label": prose_text(lang, "check.right_step"),
                    "right": equation_line(mine, lang) or "",
                    "yours_label": prose_text(lang, "check.your_step"),
                    "yours": equation_line(theirs, lang) or ""}
        rows.append(row)
    return {"json": data, "rows": rows,
            "score": prose_text(lang, "check.score",
                                {"correct": report.correct, "total": report.total})}


def _answers(form: Mapping[str, str]) -> dict[str, str]:
    answers = {ref: text for ref, text in form.items() if text.strip()}
    if len(answers) > MAX_ANSWERS:
        raise InputError("answers", Said("cli.errors.at_most_fields", n=MAX_ANSWERS),
                         f"{len(answers)}")
    return answers


def question(name: str, seed_text: str, lang: str,
             form: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``/q/<derivation>?seed=N``: the statement, the answer fields, and with ``form`` (the
    fields typed) the verdicts."""
    derivation = api.derivation_of(name)
    seed = api.seed_of(seed_text)
    params = api.sampled(derivation, seed)
    checker = api._CHECKERS.get(derivation, params)
    page: dict[str, Any] = {
        "name": derivation.name, "seed": seed, "params": to_plain(params),
        "summary": prose_text(lang, derivation.summary_key),
        "statement": _statement(derivation, params, lang),
        "fields": answer_fields(derivation, checker.expected),
        "typed": dict(form or {}), "result": None, "error": None}
    if form is not None:
        answers = _answers(form)
        if not answers:
            page["error"] = prose_text(lang, "web.nothing_typed")
            return page
        try:
            page["result"] = verdict_view(checker.check(answers), lang)
        except InputError as err:
            page["error"] = str(err)
    return page


def _param_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(to_plain(value), ensure_ascii=False)


def solve_page(name: str, query: Mapping[str, str], lang: str) -> dict[str, Any]:
    """``/solve/<derivation>``: a field per declared parameter (filled with the numbers given
    in the query, else the default, else the sampled example's), and the derivation's steps."""
    derivation = api.derivation_of(name)
    example = derivation.sample(1) if derivation.sampler is not None else {}
    given = {p.name: query[p.name] for p in derivation.params
             if p.name in query and query[p.name].strip()}
    fields = []
    for p in derivation.params:
        if p.name in given:
            text = given[p.name]
        elif p.default is not REQUIRED and p.default is not None:
            text = _param_text(p.default)
        elif example and p.name in example:
            text = _param_text(example[p.name])
        else:
            text = ""
        # what show says: a JSON parameter's words from the catalog too
        fields.append({"name": p.name, "text": text,
                       "describe": param_text(p, lang, derivation.key)})
    page: dict[str, Any] = {"name": derivation.name, "fields": fields, "steps": [],
                            "answers": [], "error": None,
                            "summary": prose_text(lang, derivation.summary_key)}
    depths = derivation.json_depths
    try:
        params = {f["name"]: parse_value(f["name"], f["text"], depths.get(f["name"], 4))
                  for f in fields if f["text"].strip()}
        result = derivation.run(params)
    except InputError as err:
        page["error"] = err.said_in(lang)
        return page
    page["params"] = {f["name"]: f["text"] for f in fields if f["text"].strip()}
    for step in laid_out(result.steps):
        page["steps"].append({"words": _html(lang, step.key, step.data),
                              "tex": equation_line(step, lang) or ""})
    page["answers"] = [{"name": n, "html": value_html(v)}
                       for n, v in result.answers.items()]
    return page


def sheet(name: str, query: Mapping[str, str], folder: str) -> str:
    """The bilingual answer sheet of ``solve --pdf`` for the numbers in ``query``, written in
    ``folder``; returns its path."""
    from pathlib import Path

    from dlexam.build.sheet import build_sheet

    derivation = api.derivation_of(name)
    depths = derivation.json_depths
    params = {p.name: parse_value(p.name, query[p.name], depths.get(p.name, 4))
              for p in derivation.params if query.get(p.name, "").strip()}
    return str(build_sheet(derivation.run(params), Path(folder) / "sheet.pdf"))


def practice(name: str | None, seed_text: str, lang: str) -> dict[str, Any]:
    """``/practice``: a sampled question asked value by value, each with its hint (the step's
    formula and what goes in) and its worked step, both shown by the page when asked for or
    after two wrong tries, as ``dlexam practice`` does."""
    seed = api.seed_of(seed_text)
    sampled = [d for d in (api.derivations.get(n) for n in api.derivations.names())
               if d.sampler is not None and d.answers]
    derivation = (api.derivation_of(name) if name else sampled[seed % len(sampled)])
    params = api.sampled(derivation, seed)
    checker = api._CHECKERS.get(derivation, params)
    right = checker.right
    asked = []
    for item in items(derivation, checker.expected):
        step = step_for(right, item.expected)
        hint = None
        worked = None
        if step is not None and step.symbolic is not None:
            hint = {"words": _html(lang, step.key, step.data),
                    "tex": [worded(lang, (tex(s.lhs) + " = " if s.lhs is not None else "")
                                   + tex(s.symbolic))
                            for s in [*feeding_steps(right, step), step]
                            if s.symbolic is not None]}
            worked = {"words": _html(lang, step.key, step.data),
                      "tex": equation_line(step, lang) or ""}
        asked.append({"ref": item.ref, "fields": _fields(item.ref, item.expected),
                      "hint": hint, "worked": worked,
                      "value": value_html(item.expected)})
    return {"name": derivation.name, "seed": seed, "params": to_plain(params),
            "summary": prose_text(lang, derivation.summary_key),
            "statement": _statement(derivation, params, lang), "items": asked}


EXAM_VARIANTS = 20
"""How many variants the exam page draws for its fairness summary."""


def exam(raw: bytes, filename: str, lang: str, seed_text: str) -> dict[str, Any]:
    """``/exam``: an uploaded exam file's fairness over :data:`EXAM_VARIANTS` variants and
    variant 1's paper and key, or the error ``dlexam exam`` gives for it. The file is read from
    a temporary folder, removed afterwards; nothing else is written."""
    import tempfile
    from pathlib import Path

    from dlexam.exams.model import load_exam
    from dlexam.exams.moodle import statement_html
    from dlexam.exams.variants import build_variants, check_counts, fairness_line, redrawn_line

    name = re.sub(r"[^A-Za-z0-9._-]", "_", Path(filename).name)[:80] or "exam.toml"
    if not name.endswith(".toml"):
        name += ".toml"
    with tempfile.TemporaryDirectory(prefix="dlexam-upload-") as folder:
        path = Path(folder) / name
        path.write_bytes(raw)
        try:
            seed = api.seed_of(seed_text)
            exam_file = load_exam(path)
            check_counts(exam_file, EXAM_VARIANTS, seed)
            drawn = build_variants(exam_file, EXAM_VARIANTS, seed)
        except InputError as err:
            return {"error": err.said_in(lang).replace(folder + "/", "")}
    redrawn = [redrawn_line(reason, n, lang) for reason, n in sorted(drawn.redrawn.items())]
    shown = lang if lang in exam_file.langs else exam_file.langs[0]
    first = drawn.variants[0]
    paper, key = [], []
    for i, qv in enumerate(first.questions):
        title = f"{qv.question.id} ({qv.question.derivation})"
        paper.append({"title": title,
                      "html": statement_html(exam_file, i, qv.params, qv.asked)[shown]})
        key.append({"title": title, "answers": [
            {"ref": format_ref(item["answer"], item["index"]),
             "html": value_html(item["expected"])} for item in qv.asked]})
    return {"error": None, "code": first.code,
            "fairness": redrawn + [fairness_line(row, lang) for row in drawn.fairness()],
            "paper": paper, "key": key}
