"""What `dlexam show` and `dlexam sample` print: a derivation's declarations, a sampled question."""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

import sympy as sp

from dlexam.errors import said_in
from dlexam.notation.display import render
from dlexam.render.prose import prose_text
from dlexam.render.question import question_text


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def command_line(name: str, params: Mapping[str, Any]) -> str:
    """A `dlexam solve` command that runs the derivation on these raw parameters."""
    parts = ["dlexam", "solve", name]
    for key, value in params.items():
        if value is None:
            continue
        shown = value if isinstance(value, str) else _json(value)
        parts.append(shlex.quote(f"{key}={shown}"))
    return " ".join(parts)


def _tolerance(answer: Any, lang: str) -> str:
    tol = answer.tolerance
    if tol.rel == 0 and tol.abs == 0:
        return prose_text(lang, "show.exact")
    return f"rel {_written(tol.rel)}{prose_text(lang, 'show.comma')}abs {_written(tol.abs)}"


def _written(x: float) -> str:
    """A tolerance as it was written (5e-4 is 0.0005, 1e-12 stays 1e-12), by the display rule
    for an exact number."""
    f = Fraction(repr(x))
    return render(sp.Rational(f.numerator, f.denominator), "text")


def _conventions(derivation: Any, lang: str) -> dict[str, str]:
    """The catalog's notes on a derivation's conventions (``<key>.conventions.<answer>``) and
    limits (``...limit_*``), by name."""
    prefix = f"{derivation.key}.conventions."
    return {key[len(prefix):]: prose_text(lang, key) for key in _catalog(lang)
            if key.startswith(prefix)}


def _shapes(shapes: Any, lang: str, single: str) -> str:
    """Shapes in words (``T x H``, dimension names as declared), alternatives joined by "or"."""
    alts = [" x ".join(str(d) for d in s) if s else prose_text(lang, single) for s in shapes]
    return prose_text(lang, "show.or").join(alts)


def param_text(p: Any, lang: str, derivation_key: str = "") -> str:
    """What a parameter expects, in the reader's language: its kind and shapes (a JSON
    parameter's words from ``<derivation>.expects.<param>`` when the catalog has them)."""
    key = f"{derivation_key}.expects.{p.name}"
    if p.kind == "json" and key in _catalog(lang):
        return prose_text(lang, key)
    return said_in(p.describe(), lang)


def _catalog(lang: str) -> Mapping[str, str]:
    from dlexam.render.prose import catalog

    return catalog(lang)


def _default_text(derivation: Any, p: Any, lang: str) -> str:
    """A parameter's default: its value, "required", or what is used when it is left out (a
    computed default, from the catalog's ``<derivation>.defaults.<param>``)."""
    if p.default is None:
        key = f"{derivation.key}.defaults.{p.name}"
        return prose_text(lang, key if key in _catalog(lang) else "show.optional")
    if repr(p.default) == "REQUIRED":
        return prose_text(lang, "show.required")
    return prose_text(lang, "show.default") + " " + (
        p.default if isinstance(p.default, str) else _json(p.default))


def show_text(derivation: Any, lang: str) -> str:
    """Parameters with shapes and defaults, answers with kinds and tolerances, mistakes, and an
    example command."""
    lines = [derivation.name + prose_text(lang, "show.colon")
             + prose_text(lang, derivation.summary_key), ""]
    lines.append(prose_text(lang, "show.parameters"))
    sep, comma = prose_text(lang, "show.clause_sep"), prose_text(lang, "show.comma")
    width = max(len(p.name) for p in derivation.params)
    for p in derivation.params:
        lines.append(f"  {p.name:<{width}}  {param_text(p, lang, derivation.key)}{sep}"
                     f"{_default_text(derivation, p, lang)}")
    forms = f"{derivation.key}.show.forms"
    if forms in _catalog(lang):  # which parameters, given together, make a question
        lines.append("  " + prose_text(lang, forms))
    limits = [f"{dim} <= {cap}" for dim, cap in derivation.limits.items()]
    for p in derivation.params:
        if p.kind != "int" or p.maximum is None or derivation.limits.get(p.name) == p.maximum:
            continue  # a size given as a number has the same cap as the dimension: said once
        if p.name in derivation.limits:  # the same name as a dimension, another cap
            limits.append(f"{p.name}=N: N <= {p.maximum}")
        else:
            limits.append(f"{p.name} <= {p.maximum}")
    limits += [f"{p.name} <= {p.max_length} {prose_text(lang, 'show.characters')}"
               for p in derivation.params if p.kind == "string"]
    notes = _conventions(derivation, lang)
    if limits:
        lines += ["", prose_text(lang, "show.limits"),
                  "  " + prose_text(lang, "show.list_sep").join(limits)]
        lines += [f"  {text}" for name, text in notes.items() if name.startswith("limit_")]
    lines += ["", prose_text(lang, "show.answers")]
    if derivation.answers:
        width = max(len(a.name) for a in derivation.answers)
        for a in derivation.answers:
            kind = prose_text(lang, f"show.answer_kind.{a.kind}")
            shape = _shapes(a.shapes, lang, "show.one_value")
            lines.append(f"  {a.name:<{width}}  {kind}{comma}{shape}{sep}{_tolerance(a, lang)}")
            meaning = f"{derivation.key}.meaning.{a.name}"
            if meaning in _catalog(lang):  # what the answer is
                lines.append(f"  {'':<{width}}  {prose_text(lang, meaning)}")
            if a.name in notes:  # the convention the value follows, where there is a choice
                lines.append(f"  {'':<{width}}  {notes[a.name]}")
        lines.append("  " + prose_text(lang, "show.conventions.rounding"))
    lines += ["", prose_text(lang, "show.mistakes")]
    if not derivation.mistakes:
        lines.append("  " + prose_text(lang, "show.no_mistakes"))
    width = max((len(m.id) for m in derivation.mistakes), default=0)
    for m in derivation.mistakes:
        note = (prose_text(lang, "show.note", {"text": prose_text(lang, "show.only_when")})
                if m.applies is not None else "")
        name = prose_text(lang, derivation.mistake_key(m.id) + ".name")
        lines.append(f"  {m.id:<{width}}  {name}{note}")
    if derivation.sampler is not None:
        lines += ["", prose_text(lang, "show.example"),
                  "  " + command_line(derivation.name, derivation.sample(1))]
    return "\n".join(lines)


def sample_text(derivation: Any, seed: int, params: Mapping[str, Any], lang: str) -> str:
    """A sampled question: its statement and its parameters as a `dlexam solve` command."""
    return "\n".join([
        f"{derivation.name} (seed {seed})", "",
        prose_text(lang, "sample.question"),
        "  " + question_text(derivation, params, lang), "",
        prose_text(lang, "sample.parameters"),
        "  " + command_line(derivation.name, params),
    ])


def sample_json(derivation: Any, seed: int, params: Mapping[str, Any], lang: str) -> dict:
    """``{"derivation", "seed", "params", "question"}``."""
    return {"derivation": derivation.name, "seed": seed, "params": dict(params),
            "question": question_text(derivation, params, lang)}
