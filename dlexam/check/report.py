"""A check report for the terminal, as JSON and as HTML (Jupyter), in one language."""

from __future__ import annotations

import html
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from dlexam.check.verdicts import VIEWS, Report, Verdict
from dlexam.derivations.contract import Precision, format_ref
from dlexam.derivations.core import Derivation, to_plain
from dlexam.notation.display import plain_number
from dlexam.render.notebook import equation_line
from dlexam.render.prose import prose_html, prose_text
from dlexam.render.terminal import step_lines


def _number(value: Any) -> str:
    if isinstance(value, float):
        return plain_number(value, "echo")
    return str(value)


def precision_words(precision: Precision, lang: str) -> str:
    """``2 significant figures`` / ``3 decimal places``, in the language."""
    if precision.sig_figs is not None:
        return prose_text(lang, "check.sig_figs", {"n": precision.sig_figs})
    return prose_text(lang, "check.decimals", {"n": precision.decimals})


def derivation_mistake_message(derivation: Derivation, mistake_id: str, lang: str) -> str:
    """A derivation's mistake's name and explanation, as plain text."""
    key = derivation.mistake_key(mistake_id)
    from dlexam.langs import language

    return (prose_text(lang, key + ".name") + language(lang).full_stop
            + prose_text(lang, key + ".explain"))


def _departs_lines(report: Report, verdict: Verdict, lang: str) -> list[str]:
    parting = report.parting_steps(verdict)
    if parting is None:  # the derivations part only in steps the layout leaves out
        return []
    number, mine, theirs = parting
    lines = [prose_text(lang, "check.departs", {"step": number}) + " "
             + prose_text(lang, mine.key, mine.data)]
    for label, step in (("check.right_step", mine), ("check.your_step", theirs)):
        body = step_lines(step, lang)
        lines.append(f"  {prose_text(lang, label)} {body[0] if body else ''}")
    return lines


def mistake_name(derivation: Derivation, verdict: Verdict, lang: str) -> str:
    """The named mistake of a verdict (or the two of a combination), in words."""
    names = [prose_text(lang, derivation.mistake_key(m) + ".name") for m in verdict.mistakes]
    if len(names) == 1:
        return names[0]
    return prose_text(lang, "check.combined", {"first": names[0], "second": names[1]})


def mistake_lines(report: Report, verdict: Verdict, lang: str, given: str,
                  ref: str | None = None) -> list[str]:
    """The named mistake (or combination) of an item, with its explanation, once."""
    name = mistake_name(report.derivation, verdict, lang)
    if ref is None:
        lines = [prose_text(lang, "check.mistake", {"given": given, "name": name})]
    else:
        lines = [prose_text(lang, "check.item_mistake", {"ref": ref, "given": given,
                                                         "name": name})]
    for m in verdict.mistakes:
        lines.append(prose_text(lang, report.derivation.mistake_key(m) + ".explain"))
    if verdict.departs_at is not None and not verdict.also:
        lines += _departs_lines(report, verdict, lang)
    return lines


def verdict_lines(report: Report, verdict: Verdict, lang: str,
                  explain: bool = True) -> list[str]:
    """The lines that say one verdict (``explain=False``: its item's mistake said already)."""
    from dlexam.langs import language

    head = f"{verdict.ref} = {_number(verdict.given)}{language(lang).colon}"
    tol = verdict.tolerance
    expected = to_plain(verdict.expected)
    stated = (precision_words(tol.precision, lang) if tol.precision is not None
              and isinstance(expected, (int, float)) else None)
    if verdict.carried:
        assert verdict.follows_from is not None
        name, index = verdict.follows_from
        return [f"  ✓ {head}" + prose_text(lang, "check.carried",
                                              {"ref": format_ref(name, index)})]
    if verdict.correct:
        key = "check.right"
        if verdict.note == "rounded":
            key = "check.right_rounded"
            if stated and isinstance(verdict.given, float) and tol.rounded_right(
                    Decimal(repr(verdict.given)), float(expected)):
                key = "check.right_stated"
        return [f"  ✓ {head}{prose_text(lang, key, {'precision': stated or ''})}"]
    allowed = (prose_text(lang, "check.exact") if tol.rel == 0 and tol.abs == 0 else
               prose_text(lang, "check.tolerance",
                          {"allowed": plain_number(tol.allowed(float(expected)), "tolerance")})
               if isinstance(expected, (int, float)) else "")
    if stated:
        assert tol.precision is not None
        allowed = prose_text(lang, "check.tolerance_stated", {
            "tolerance": allowed, "precision": stated,
            "rounded": " / ".join(str(r) for r in tol.precision.rounded(float(expected)))})
    verdict_text = prose_text(lang, "check.wrong", {"expected": _number(expected)})
    if allowed:
        verdict_text = prose_text(lang, "check.with_tolerance",
                                  {"verdict": verdict_text, "allowed": allowed})
    lines = [f"  ✗ {head}{verdict_text}"]
    if verdict.note == "rounding-slip":
        lines.append("      " + prose_text(lang, "check.rounding_slip",
                                           {"expected": _number(expected)}))
    elif verdict.follows_from is not None:
        name, index = verdict.follows_from
        lines.append("      " + prose_text(lang, "check.follows",
                                           {"ref": format_ref(name, index)}))
    elif verdict.mistake is not None:
        if explain:
            lines += ["      " + line for line in mistake_lines(
                report, verdict, lang, _number(verdict.given))]
        else:
            lines.append("      " + mistake_name(report.derivation, verdict, lang))
    return lines


def items_of(verdicts: list[Verdict]) -> list[list[Verdict]]:
    """Verdicts grouped by the item they were given in (consecutive, in order)."""
    groups: list[list[Verdict]] = []
    for v in verdicts:
        if groups and v.item is not None and groups[-1][0].item == v.item:
            groups[-1].append(v)
        else:
            groups.append([v])
    return groups


def _given_text(verdicts: list[Verdict]) -> str:
    """An item's typed entries as a (nested) list, as they were typed."""
    def nest(entries: list[tuple[tuple[int, ...], Verdict]]) -> str:
        if len(entries) == 1 and not entries[0][0]:
            return _number(entries[0][1].given)
        rows: dict[int, list[tuple[tuple[int, ...], Verdict]]] = {}
        for index, v in entries:
            rows.setdefault(index[0], []).append((index[1:], v))
        return "[" + ", ".join(nest(row) for row in rows.values()) + "]"

    item = verdicts[0].item or ""
    own = item.count("[")
    inner = [tuple(v.index or ())[own:] for v in verdicts]
    if any(not i for i in inner):
        return "[" + ", ".join(_number(v.given) for v in verdicts) + "]"
    return nest(list(zip(inner, verdicts, strict=True)))


def item_lines(report: Report, verdicts: list[Verdict], lang: str) -> list[str]:
    """The lines of one given item: its named mistake once (with its explanation once), then
    every entry."""
    named = next((v for v in verdicts if v.mistake is not None), None)
    if named is None or len(verdicts) == 1:
        return [line for v in verdicts for line in verdict_lines(report, v, lang)]
    lines = ["  ✗ " + line if k == 0 else "      " + line for k, line in enumerate(
        mistake_lines(report, named, lang, _given_text(verdicts), named.item))]
    for v in verdicts:
        entry = verdict_lines(report, v, lang, explain=False)
        lines += ["  " + entry[0]] + ["  " + line for line in entry[1:]]
    return lines


def report_text(report: Report, lang: str) -> str:
    """The whole report for the terminal."""
    lines = [report.derivation.name + prose_text(lang, "show.colon") + prose_text(
        lang, "check.score", {"correct": report.correct, "total": report.total})]
    for group in items_of(report.verdicts):
        lines += item_lines(report, group, lang)
    return "\n".join(lines)


def verdict_json(report: Report, verdict: Verdict, lang: str) -> dict[str, Any]:
    """One verdict as ``dlexam check --json`` prints it."""
    return verdict_object(report.derivation, verdict, lang, report.departs_key(verdict))


def verdict_object(derivation: Derivation, verdict: Verdict, lang: str,
                   departs_at: str | None = None,
                   message: Callable[[str], str] | None = None) -> dict[str, Any]:
    """One verdict as ``dlexam check --json`` prints it, from its derivation alone.

    Args:
        derivation: the derivation the verdict was judged on (names its mistakes).
        verdict: the verdict.
        lang: the language of the mistake's message.
        departs_at: the catalog key of the step where the mistake parts from the right
            derivation, when it is known.
        message: mistake id -> its message (grading passes a cached one); by default read from
            the catalog.
    """
    def say(mistake_id: str) -> str:
        if message is not None:
            return message(mistake_id)
        return derivation_mistake_message(derivation, mistake_id, lang)

    return {
        "answer": verdict.answer,
        "index": list(verdict.index) if verdict.index else None,
        "given": verdict.given,
        "expected": to_plain(verdict.expected),
        "correct": verdict.correct,
        "tolerance": verdict.tolerance.as_dict(),
        "note": verdict.note,
        "mistake": None if verdict.mistake is None else {
            "id": verdict.mistake, "message": say(verdict.mistake)},
        "also": [{"id": m, "message": say(m)} for m in verdict.also],
        "carried": verdict.carried,
        "departs_at": departs_at,
        "follows_from": None if verdict.follows_from is None else [
            verdict.follows_from[0], list(verdict.follows_from[1] or []) or None],
    }


def report_json(report: Report, lang: str) -> dict[str, Any]:
    """``{"derivation", "params", "verdicts", "correct", "total"}``."""
    return {
        "derivation": report.derivation.name,
        "params": to_plain(dict(report.params)),
        "verdicts": [verdict_json(report, v, lang) for v in report.verdicts],
        "correct": report.correct,
        "total": report.total,
    }


def report_html(report: Any, lang: str = "en") -> str:
    """A check report as HTML: a verdict a line, the mistake explained with its math typeset
    and the step where the two derivations part."""
    head = prose_html(lang, "check.score", {"correct": report.correct, "total": report.total})
    rows = [f"<p><strong>{html.escape(report.derivation.name)}</strong>: {head}</p>", "<ul>"]
    said: set[tuple[str | None, tuple[str, ...]]] = set()
    for verdict in report.verdicts:
        first = html.escape(verdict_lines(report, verdict, lang)[0].strip())
        rows.append(f"<li>{first}")
        once = (verdict.item, verdict.mistakes)
        if verdict.mistake is not None and verdict.item is not None and once in said:
            rows.append("<br><em>" + html.escape(mistake_name(report.derivation, verdict,
                                                              lang)) + "</em>")
        elif verdict.mistake is not None:
            said.add(once)
            for m in verdict.mistakes:
                key = report.derivation.mistake_key(m)
                rows.append(f"<br><em>{prose_html(lang, key + '.name')}</em>: "
                            f"{prose_html(lang, key + '.explain')}")
            parting = report.parting_steps(verdict)
            if parting is not None:
                number, mine, theirs = parting
                rows.append("<br>" + prose_html(lang, "check.departs", {"step": number}))
                for label, step in (("check.right_step", mine), ("check.your_step", theirs)):
                    equation = equation_line(step, lang) or ""
                    rows.append(f"<br>{prose_html(lang, label)} $${html.escape(equation)}$$")
        elif len(lines := verdict_lines(report, verdict, lang)) > 1:
            rows += ["<br>" + html.escape(line.strip()) for line in lines[1:]]
        rows.append("</li>")
    rows.append("</ul>")
    return "\n".join(rows)


VIEWS["html"] = report_html
VIEWS["text"] = report_text
