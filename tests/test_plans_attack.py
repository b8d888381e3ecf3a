"""Plans against ordinary runs on parameters picked to sit where the two could part: whole
inputs whose answers come out whole, and zeros where a trace cancels a formula.

Each test traces a plan on one set of parameters and asks it for another set of the same shape
(as ``dlexam check --batch`` does with the second student of a shape), and compares with an
ordinary run and an independent computation.
"""

from __future__ import annotations

import json
import math

import pytest

from dlexam import derivations
from dlexam.derivations.params import numeric_inputs
from dlexam.plans import Planner, Values

# left out of the fast lane (make check): make test runs it
pytestmark = pytest.mark.slow


def _planned(name: str, traced: dict, asked: dict, mistake: str | None = None) -> Values:
    d = derivations.get(name)
    planner = Planner(eager=True)
    planner.values(d, traced, mistake)
    got = planner.values(d, asked, mistake)
    assert planner.counts["planned"] == 2, planner.failures
    return got


def _ordinary(name: str, params: dict, mistake: str | None = None) -> Values:
    with numeric_inputs():
        return Values.of(derivations.get(name).run(params, mistake=mistake))


@pytest.mark.parametrize(("traced", "asked"), [
    ({"g": [3, 4], "threshold": 1}, {"g": [6, 8], "threshold": 1}),
    ({"g": [0.3, 0.4], "threshold": 0.1}, {"g": [3, 4], "threshold": 4}),
])
def test_a_whole_value_of_whole_inputs_prints_as_an_integer(traced: dict, asked: dict) -> None:
    """An ordinary run on whole inputs is exact: ||(6, 8)|| = sqrt(100) is SymPy's integer 10
    and prints as 10. A plan computed it as the float 10.0, so the batch checker's "expected"
    read 10 for the first student of a shape and 10.0 for the next."""
    got = _planned("clip-gradient", traced, asked)
    norm = math.hypot(*asked["g"])
    assert norm == int(norm)
    assert type(got.answers["norm_before"]) is int
    assert got.answers["norm_before"] == norm
    assert json.dumps(got.answers) == json.dumps(_ordinary("clip-gradient", asked).answers)


def test_a_value_that_is_whole_only_by_chance_of_decimal_inputs_stays_a_float() -> None:
    """Decimal inputs make an ordinary run print floats, even of a whole value (0.6, 0.8)."""
    got = _planned("clip-gradient", {"g": [0.3, 0.4], "threshold": 0.1},
                   {"g": [0.6, 0.8], "threshold": 0.1})
    assert type(got.answers["norm_before"]) is float
    assert json.dumps(got.answers) == json.dumps(
        _ordinary("clip-gradient", {"g": [0.6, 0.8], "threshold": 0.1}).answers)


def test_a_cancelled_quotient_at_zero_agrees_with_the_ordinary_run() -> None:
    """clip-by-value's scale ||clip(g)|| / ||g|| of a zero gradient is 1 (nothing to scale;
    the ordinary run once gave 0/0 = nan, which JSON cannot hold). A plan traced where nothing
    is clipped keeps each clip as a formula (Min, Max), which does not cancel: its 0/0 at a
    zero gradient is refused as not finite, and the planner gives the ordinary run's 1."""
    traced, asked = {"g": [1, 2], "threshold": 10}, {"g": [0, 0], "threshold": 10}
    planner = Planner(eager=True)
    d = derivations.get("clip-gradient")
    planner.values(d, traced, "clip-by-value")
    got = planner.values(d, asked, "clip-by-value")
    ordinary = _ordinary("clip-gradient", asked, "clip-by-value")
    assert got.answers["scale"] == 1
    assert json.dumps(got.answers) == json.dumps(ordinary.answers)


def test_a_tie_is_traced_once_and_planned_as_exact_arithmetic_decides_it() -> None:
    """A norm exactly on the threshold (||g|| = 5k, beta = 5k: not clipped, 5k > 5k is false)
    is decided as exact arithmetic decides it; its plan serves the same tie, and a norm off
    the edge goes to the other plan (the values those of the ordinary run). Such a tie
    stopped the trace: every request on it was traced again and run the ordinary way (a
    trace a line), then, with the traces of a shape bounded, run the ordinary way. (An
    input has at most 20 significant digits: a comparison within the guards' 1e-27 of its
    edge is a tie.)"""
    d = derivations.get("clip-gradient")
    planner = Planner(eager=True)
    for k in range(1, 11):
        g = [3 * k, 4 * k]
        got = planner.values(d, {"g": g, "threshold": 5 * k})
        assert got.answers["g"] == g and got.answers["scale"] == 1
        assert got.answers == d.run({"g": g, "threshold": 5 * k}).plain_answers()
    assert planner.counts == {"planned": 10, "ran": 0, "traced": 1}, planner.failures
    clipped = planner.values(d, {"g": [6, 8], "threshold": 5})  # 10 > 5: another plan
    assert clipped.answers["g"] == [3, 4] and planner.counts["traced"] == 2


def test_the_shapes_no_trace_could_follow_are_bounded() -> None:
    """A shape whose trace fails is remembered, and what is remembered is bounded like the
    plans: a long batch of such shapes does not grow without end."""
    d = derivations.get("information")
    planner = Planner(eager=True, size=4)
    for k in range(2, 12):  # k outcomes: a new shape each, its sum 1 + 1e-8 (renormalised)
        p = [0.05] * (k - 1) + [round(1 - 0.05 * (k - 1), 2) + 1e-8]
        got = planner.values(d, {"p": p, "q": p})
        assert got.answers["kl_pq"] == 0
    assert planner.counts == {"planned": 0, "ran": 10, "traced": 10}, planner.failures
    assert len(planner._plans) <= 4


LSTM = {"W_f": [[-0.5, -0.1, -0.2]], "W_i": [[0.4, 0.6, -0.9]], "W_C": [[-1.0, 0.7, -0.2]],
        "W_o": [[0.6, -1.0, -0.2]], "b_f": [0.2], "b_i": [-0.3], "b_C": [0.5], "b_o": [0.4],
        "x": [[-1.0, -1.0], [0.1, 0.9], [-0.3, -0.6]], "h0": [0], "C0": [-0.2]}


def test_an_exact_cancellation_gives_zero_from_a_plan_too() -> None:
    """The candidate's first pre-activation is 0.7 * (-1) - 0.2 * (-1) + 0.5 = 0 exactly: the
    ordinary run's exact 0, not the 30-digit noise (-4.9e-32) a plan's sum leaves, which 60
    digits tell apart (the noise shrinks, a true value does not)."""
    assert 0.7 * -1 - 0.2 * -1 + 0.5 == pytest.approx(0, abs=1e-15)
    traced = dict(LSTM, W_f=[[0.5, -0.1, -0.2]])
    got = _planned("lstm-forward", traced, LSTM)
    assert got.answers["C_tilde"][0][0] == 0
    assert json.dumps(got.answers) == json.dumps(_ordinary("lstm-forward", LSTM).answers)


def test_a_truly_tiny_value_is_not_taken_for_noise() -> None:
    """y = V tanh(U x) with U = 1e-20 is about 3e-20: small, not 0, at 60 digits as at 30."""
    tiny = {"U": [1e-20, 2e-20], "W": [[0.1, 0.2], [0.3, 0.4]], "V": [1.5, 0.5], "b": [0, 0],
            "c": 0, "x": [1, 1]}
    traced = dict(tiny, U=[0.5, 0.6])
    got = _planned("rnn-forward", traced, tiny)
    ordinary = _ordinary("rnn-forward", tiny)
    assert got.answers["y"][0] != 0
    assert got.answers["y"][0] == pytest.approx(ordinary.answers["y"][0], rel=1e-12)
