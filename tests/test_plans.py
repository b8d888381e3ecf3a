"""Plans (derivations traced once per shape and compiled) give what ordinary runs give.

For every registered derivation, on sampled parameters: the values of a plan (or of the ordinary
run a plan falls back to) agree with the independent computation in tests/reference, for the
right answers and every applicable mistake's, and with the ordinary 30-digit run, step by step.
Guards (comparisons a derivation decides by value) send other inputs to another plan or to the
ordinary run; values that are not finite never come from a plan.
"""

from __future__ import annotations

import math
import os
from typing import Any

import pytest
from reference import load

from dlexam import derivations
from dlexam.derivations.contract import leaves
from dlexam.derivations.params import numeric_inputs
from dlexam.errors import InputError
from dlexam.plans import Planner, Values

# left out of the fast lane (make check): make test runs it
pytestmark = pytest.mark.slow

NAMES = derivations.names()
# a third of test_contract's sampled questions and at least 4 (4 by default, `pytest --seeds 24`
# for 8; `--seeds 50` or more for a deep run)
SEEDS = range(1, 1 + max(4, int(os.environ.get("DLEXAM_TEST_SEEDS", "6")) // 3))
REFERENCES = load()


def _close(a: Any, b: Any) -> bool:
    """Same structure and numbers to 1e-12 relative (1e-25 absolute: a 30-digit cancellation
    may leave 1e-32 where exact arithmetic leaves 0)."""
    if isinstance(a, dict) or isinstance(b, dict):
        return isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys() and all(
            _close(a[k], b[k]) for k in a)
    if isinstance(a, list) and a and isinstance(a[0], (list, dict)):
        return isinstance(b, list) and len(a) == len(b) and all(
            _close(x, y) for x, y in zip(a, b, strict=True))
    la, lb = leaves(a), leaves(b)
    if [p for p, _ in la] != [p for p, _ in lb]:
        return False
    for (_p, x), (_q, y) in zip(la, lb, strict=True):
        if isinstance(x, (int, float)) and isinstance(y, (int, float)):
            if not math.isclose(x, y, rel_tol=1e-12, abs_tol=1e-25):
                return False
        elif x != y:
            return False
    return True


def _numbers(value: Any) -> list[float]:
    return [math.inf if v == "inf" else -math.inf if v == "-inf" else float(v)
            for _pos, v in leaves(value)]


def _planned(name: str) -> tuple[Planner, list[tuple[int, dict[str, Any], str | None, Values]]]:
    """One planner's values of a derivation on each sampled question, right and every
    applicable mistake, in that order: computed once per worker and read by both tests below
    (the tests of one derivation run in one worker: ``BY_DERIVATION`` in tests/sharedtex.py)."""
    if name not in _PLANNED:
        d = derivations.get(name)
        planner = Planner(eager=True)
        calls = []
        for seed in SEEDS:
            params = d.sample(seed)
            for mistake in [None, *(m.id for m in d.applicable_mistakes(params))]:
                calls.append((seed, params, mistake, planner.values(d, params, mistake)))
        _PLANNED[name] = (planner, calls)
    return _PLANNED[name]


_PLANNED: dict[str, tuple[Planner, list[tuple[int, dict[str, Any], str | None, Values]]]] = {}


@pytest.mark.parametrize("name", NAMES)
def test_plans_agree_with_the_reference_and_ordinary_runs(name: str) -> None:
    d = derivations.get(name)
    ref = REFERENCES[name]
    for seed, params, mistake, got in _planned(name)[1]:
        shown = d.shown_params(params)
        with numeric_inputs():
            ordinary = Values.of(d.run(params, mistake=mistake))
        where = f"seed {seed}, mistake {mistake}"
        assert _close(got.answers, ordinary.answers), where
        assert [k for k, _v in got.valued_steps] == [k for k, _v in ordinary.valued_steps]
        assert _close([v for _k, v in got.valued_steps],
                      [v for _k, v in ordinary.valued_steps]), where
        for answer, value in ref(shown, mistake).items():
            if d.answer(answer).kind == "text":
                assert got.answers[answer] == value, (where, answer)
                continue
            mine, theirs = _numbers(got.answers[answer]), _numbers(value)
            assert len(mine) == len(theirs), (where, answer)
            for x, y in zip(mine, theirs, strict=True):
                assert x == y or math.isclose(x, y, rel_tol=1e-6, abs_tol=1e-9), \
                    (where, answer, x, y)


def _example_exam_derivations() -> list[str]:
    """The derivations of the example exam (examples/quiz3.toml) and of the checker's
    benchmark (rnn-forward): those the speed targets are measured on."""
    import tomllib
    from pathlib import Path

    exam = Path(__file__).parents[1] / "examples" / "quiz3.toml"
    used = {q["derivation"] for q in tomllib.loads(exam.read_text("utf-8"))["questions"]}
    return sorted(used | {"rnn-forward"})


@pytest.mark.parametrize("name", _example_exam_derivations())
def test_the_benchmarked_derivations_are_planned(name: str) -> None:
    """These trace, right and every mistake: a change that stops one tracing (and slows the
    checker and the exam builder tenfold) fails here rather than only in the benchmark."""
    planner, calls = _planned(name)
    assert calls and planner.counts["planned"] == len(calls), planner.failures


def test_a_guard_sends_other_inputs_elsewhere() -> None:
    """clip-gradient scales only when the norm passes the threshold: a plan traced where it
    does must not serve a gradient that it does not, and the reverse."""
    d = derivations.get("clip-gradient")
    clipped = {"g": [3.0, 4.0], "threshold": 1}  # norm 5 > 1: scaled by 1/5
    kept = {"g": [0.3, 0.4], "threshold": 1}  # norm 0.5 <= 1: left alone
    planner = Planner(eager=True)
    first = planner.values(d, clipped)
    second = planner.values(d, kept)
    assert first.answers["g"] == pytest.approx([0.6, 0.8], rel=1e-12)
    assert second.answers["g"] == pytest.approx([0.3, 0.4], rel=1e-12)
    assert planner.counts["planned"] + planner.counts["ran"] == 2


def test_the_same_shape_is_traced_once() -> None:
    d = derivations.get("rnn-forward")
    planner = Planner(eager=True)
    base = d.sample(3)
    for k in range(5):
        params = dict(base, c=round(0.1 * (k + 1), 1))
        planner.values(d, params)
        planner.values(d, params, "no-output-bias")  # declared by its parameters: same plan
    assert planner.counts["traced"] == 1 and planner.counts["planned"] == 10


def test_values_refuse_what_run_refuses() -> None:
    d = derivations.get("rnn-forward")
    planner = Planner(eager=True)
    with pytest.raises(InputError) as err:
        planner.values(d, {"W": [[1, 2], [3]]})
    assert err.value.param == "W"
    with pytest.raises(InputError):
        planner.values(d, {}, "keras-biases")  # not a mistake of rnn-forward


def test_a_value_that_is_not_finite_comes_from_the_ordinary_run() -> None:
    """information's KL divergence is infinite where q_i = 0 < p_i: never a compiled inf."""
    d = derivations.get("information")
    planner = Planner(eager=True)
    got = planner.values(d, {"p": [0.5, 0.5], "q": [1, 0]})
    with numeric_inputs():
        ordinary = Values.of(d.run({"p": [0.5, 0.5], "q": [1, 0]}))
    assert got.answers == ordinary.answers
    assert got.answers["kl_pq"] == "inf"


RNN_20 = {"U": [[0.1, 0.2, 0.0, -0.1]] * 4, "W": [[0.1, -0.2, 0.1, 0.0]] * 4,
          "V": [[0.3, 0.1, -0.2, 0.1]], "b": [0.1, 0.0, -0.1, 0.2], "c": 0.1,
          "x": [[0.1 * ((t + j) % 5 - 2) for j in range(4)] for t in range(20)]}


@pytest.mark.parametrize("mistake", [None, "no-activation"])
def test_a_long_recurrence_is_planned_through_named_states(mistake: str | None) -> None:
    """rnn-forward over 20 steps of 4 units, with tanh and without an activation (a linear
    recurrence: W^20 nested): each state's entries are named by symbols of their own, so the
    formulas stay small, the trace follows it and its plan gives the ordinary run's answers."""
    d = derivations.get("rnn-forward")
    planner = Planner(eager=True)
    got = planner.values(d, RNN_20, mistake)
    assert planner.counts == {"planned": 1, "ran": 0, "traced": 1}, planner.failures
    with numeric_inputs():
        assert got.answers == Values.of(d.run(RNN_20, mistake=mistake)).answers


def test_a_trace_past_the_formula_budget_is_left_to_ordinary_runs(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A trace whose step formulas grow past the budget stops, and the values come from an
    ordinary run (the budget made small: the named states keep rnn-forward's formulas small)."""
    from dlexam import plans

    monkeypatch.setattr(plans, "TREE_BUDGET", 40)
    d = derivations.get("rnn-forward")
    planner = Planner(eager=True)
    got = planner.values(d, RNN_20)
    assert planner.counts == {"planned": 0, "ran": 1, "traced": 1}
    assert "past 40 nodes" in next(iter(planner.failures.values()))
    with numeric_inputs():
        assert got.answers == Values.of(d.run(RNN_20)).answers
