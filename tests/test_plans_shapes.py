"""Plans that serve more than one shape's worth of parameters (issue 27): a whole-number
parameter declared ``trace="whole"`` is an input of the plan, not part of its shape, and the
exam builder forks no more workers than there are idle cores."""

from __future__ import annotations

import io

import pytest

from dlexam import derivations
from dlexam.exams import parallel
from dlexam.plans import Planner


def _keras_lstm_dense(units: int, width: int, out: int) -> list[int]:
    """Keras' counts for LSTM(units), Dense(out) on inputs of ``width`` features: an LSTM has
    4 gate blocks of units x (units + width) weights and units biases; a dense layer
    (inputs + 1) x outputs."""
    return [4 * (units * (units + width) + units), (units + 1) * out]


def test_one_param_count_plan_serves_every_input_width() -> None:
    d = derivations.get("param-count")
    planner = Planner(eager=True)
    for width in (1, 3, 7, 12, 32):
        for steps in (2, 9):
            got = planner.values(d, {"model": "LSTM(8), Dense(1)", "input_dim": width,
                                     "timesteps": steps})
            assert got.answers["layers"] == _keras_lstm_dense(8, width, 1)
            assert got.answers["total"] == sum(_keras_lstm_dense(8, width, 1))
            assert got.answers["output_shapes"] == [[8], [1]]
            assert all(isinstance(n, int) for n in got.answers["layers"])
    assert planner.counts == {"planned": 10, "ran": 0, "traced": 1}, planner.failures


def test_a_width_shared_by_the_shape_of_a_mistake_too() -> None:
    """The mistake first-input-width (the model's input width given to every weighted layer)
    is planned on the same inputs: its Dense layer counted on the input width."""
    d = derivations.get("param-count")
    planner = Planner(eager=True)
    for width in (3, 5, 11):
        (got,) = planner.values_of(d, {"model": "LSTM(8), Dense(1)", "input_dim": width,
                                       "timesteps": 4}, ["first-input-width"])
        assert got.answers["layers"] == [4 * (8 * (8 + width) + 8), (width + 1) * 1]
    assert planner.counts["traced"] == 1 and planner.counts["planned"] == 3


@pytest.mark.parametrize(("running", "cores", "expected"),
                         [("1/300", 2, 2), ("2/300", 2, 1), ("9/300", 2, 1), ("1/300", 4, 4),
                          ("3/300", 4, 2)])
def test_no_more_workers_than_idle_cores(monkeypatch: pytest.MonkeyPatch, running: str,
                                         cores: int, expected: int) -> None:
    """/proc/loadavg's runnable tasks count this process too: with one other task on two
    cores, one worker (this process); a busy machine never gets none."""
    monkeypatch.setattr(parallel, "open",
                        lambda *_a, **_k: io.StringIO(f"3.10 2.50 2.00 {running} 12345\n"),
                        raising=False)
    monkeypatch.setattr(parallel.os, "sched_getaffinity", lambda _pid: set(range(cores)),
                        raising=False)
    assert parallel.workers() == expected
