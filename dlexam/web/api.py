"""What the web application asks of the engine, one function per request kind.

These run in the worker processes (:mod:`dlexam.web.workers`): each takes plain data (the
request's body as text, its query's values) and returns plain JSON data. The JSON API returns
exactly the objects the command line prints: ``solve --json`` (``Result.as_dict``), ``check
--json`` (:func:`dlexam.check.report.report_json`), ``sample --json``
(:func:`dlexam.render.describe.sample_json`). Bad input raises :class:`InputError` with the
command line's one-line message. Nothing a user sends is evaluated: values are read as the
command line reads ``key=value`` (:func:`dlexam.literals.parse_params`: a string is the text
after ``=``) and validated by the derivation's declared parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dlexam import derivations, render  # noqa: F401 (render registers the results' JSON form)
from dlexam.check.report import report_json
from dlexam.check.verdicts import CheckerCache
from dlexam.derivations.contract import precision_of
from dlexam.derivations.core import Derivation
from dlexam.derivations.params import JSON_MAX_DEPTH
from dlexam.derivations.sampling import MAX_SEED
from dlexam.errors import InputError, Said
from dlexam.langs import codes
from dlexam.literals import parse_json, parse_params
from dlexam.render.describe import sample_json
from dlexam.render.prose import prose_text

BODY_DEPTH = JSON_MAX_DEPTH + 3
"""How deep a request's body may nest: a JSON parameter's own depth inside ``params``."""

_CHECKERS = CheckerCache()
"""This worker's checkers: students who check one question again and again share one."""


def _body(text: str, keys: set[str], required: set[str]) -> dict[str, Any]:
    data = parse_json(text, "request", BODY_DEPTH)
    if not isinstance(data, dict):
        raise InputError("request", Said("cli.errors.json_object"), type(data).__name__)
    unknown = sorted(set(data) - keys)
    if unknown:
        raise InputError(unknown[0], Said("cli.errors.only_keys", keys=", ".join(
            f'"{k}"' for k in sorted(keys))))
    for key in sorted(required - set(data)):
        raise InputError(key, Said("cli.errors.request_value"))
    return data


def lang_of(value: Any) -> str:
    """A language code, checked against the languages dlexam writes."""
    if value is None:
        return "en"
    if not isinstance(value, str) or value not in codes():
        raise InputError("lang", Said("exam.errors.one_of", items=", ".join(codes())),
                         str(value)[:40])
    return value


def derivation_of(value: Any) -> Derivation:
    """A registered derivation by name (unknown: the command line's message)."""
    if not isinstance(value, str):
        raise InputError("derivation", Said("grade.errors.derivation_name"))
    return derivations.get(value)


def _params(value: Any, derivation: Derivation) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InputError("params", Said("cli.errors.params_object"))
    return parse_params(value, derivation.json_depths)


def seed_of(text: Any) -> int:
    """A seed as ``--seed`` takes it."""
    stripped = str(text).strip()
    if not stripped.isdigit() or len(stripped) > 19 or int(stripped) > MAX_SEED:
        raise InputError("seed", Said("exam.errors.whole_from", low=0, high=MAX_SEED),
                         str(text)[:40])
    return int(stripped)


def solve(text: str) -> dict[str, Any]:
    """``POST /api/solve``: ``{"derivation", "params", "lang", "mistake"}`` -> the object
    ``dlexam solve --json`` prints."""
    data = _body(text, {"derivation", "params", "lang", "mistake"}, {"derivation"})
    lang_of(data.get("lang"))
    derivation = derivation_of(data["derivation"])
    mistake = data.get("mistake")
    if mistake is not None and not isinstance(mistake, str):
        raise InputError("mistake", Said("cli.errors.mistake_id"))
    return derivation.run(_params(data.get("params"), derivation), mistake=mistake).as_dict()


def check(text: str) -> dict[str, Any]:
    """``POST /api/check``: ``{"derivation", "params", "answers", "lang", "sig_figs",
    "decimals"}`` -> the object ``dlexam check --json`` prints."""
    data = _body(text, {"derivation", "params", "answers", "lang", "sig_figs", "decimals"},
                 {"derivation", "answers"})
    lang = lang_of(data.get("lang"))
    derivation = derivation_of(data["derivation"])
    answers = data["answers"]
    if not isinstance(answers, dict) or not answers:
        raise InputError("answers", Said("cli.errors.answers_object",
                                         example='{"y[2]": "2.7371"}'))
    precision = precision_of(data.get("sig_figs"), data.get("decimals"))
    report = check_answers(derivation, _params(data.get("params"), derivation), answers,
                           precision)
    return report_json(report, lang)


def check_answers(derivation: Derivation, params: Mapping[str, Any],
                  answers: Mapping[str, Any], precision: Any = None) -> Any:
    """The check report of typed answers, through this worker's shared checkers."""
    return _CHECKERS.get(derivation, params, precision).check(answers)


def sample(name: Any, seed: Any, lang: Any) -> dict[str, Any]:
    """``GET /api/sample?derivation=NAME&seed=N`` -> the object ``dlexam sample --json``
    prints."""
    lang = lang_of(lang)
    if name is None:
        raise InputError("derivation", Said("cli.errors.sample_derivation"))
    derivation = derivation_of(name)
    if seed is None:
        raise InputError("seed", Said("cli.errors.sample_seed"))
    params = sampled(derivation, seed_of(seed))
    return sample_json(derivation, seed_of(seed), params, lang)


def sampled(derivation: Derivation, seed: int) -> dict[str, Any]:
    """A derivation's question drawn from ``seed`` (one with no sampler is refused)."""
    if derivation.sampler is None:
        raise InputError(derivation.name, Said("cli.errors.with_sampler"))
    params = derivation.sample(seed)
    assert params is not None  # without ``keep`` a draw is never refused
    return params


def topic_of(derivation: Derivation) -> str:
    """The topic a derivation belongs to: the module that declares it (``rnn``)."""
    return derivation.fn.__module__.rpartition(".")[2]


def listing(lang: Any) -> list[dict[str, Any]]:
    """``GET /api/derivations``: each derivation's name, topic, one-line summary, and whether
    it has a sampler (a question page)."""
    lang = lang_of(lang)
    out = []
    for name in derivations.names():
        derivation = derivations.get(name)
        out.append({"name": name, "topic": topic_of(derivation),
                    "summary": prose_text(lang, derivation.summary_key),
                    "sampled": derivation.sampler is not None and bool(derivation.answers)})
    return out
