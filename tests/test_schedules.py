"""lr-schedule against torch.optim.lr_scheduler on hand-made cases, and its refusals."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
import sympy as sp
from reference.schedules import torch_rates

from dlexam import derivations

CASES = [
    {"schedule": "step", "lr": 0.1, "step_size": 3, "gamma": 0.5, "epochs": [0, 2, 3, 5, 6, 31]},
    {"schedule": "multistep", "lr": 0.05, "milestones": [30, 80], "gamma": 0.1,
     "epochs": [0, 29, 30, 79, 80, 100]},
    {"schedule": "exponential", "lr": 1, "gamma": 0.9, "epochs": [0, 1, 10, 50]},
    # beyond T_max the cosine climbs back (the closed form, periodic in 2 T_max)
    {"schedule": "cosine", "lr": 0.1, "T_max": 10, "eta_min": 0.001,
     "epochs": [0, 1, 5, 9, 10, 13, 20]},
    {"schedule": "linear-warmup", "lr": 0.001, "warmup_steps": 4, "epochs": [0, 1, 3, 4, 9]},
    {"schedule": "one-cycle", "lr": 0.01, "T_max": 100, "warmup_steps": 30,
     "epochs": [0, 1, 15, 29, 30, 64, 99]},
    {"schedule": "one-cycle", "lr": 1, "T_max": 10, "warmup_steps": 3, "div_factor": 10,
     "final_div_factor": 100, "epochs": [0, 1, 2, 3, 9]},
]


@pytest.mark.parametrize("params", CASES, ids=[c["schedule"] for c in CASES])
def test_rates_match_torch(params: dict) -> None:
    got = derivations.solve("lr-schedule", params).plain_answers()["lr"]
    shown = derivations.get("lr-schedule").shown_params(params)
    assert got == pytest.approx(torch_rates(shown, params["epochs"]), rel=1e-9, abs=1e-15)


def test_exact_values_by_hand() -> None:
    """Step decay halves at 3 and 6; the cosine is exact at a quarter period."""
    step = derivations.solve("lr-schedule", CASES[0]).answers["lr"]
    assert step[:5] == [sp.Rational(1, 10), sp.Rational(1, 10), sp.Rational(1, 20),
                        sp.Rational(1, 20), sp.Rational(1, 40)]
    cosine = derivations.solve("lr-schedule", {"schedule": "cosine", "lr": 1, "T_max": 4,
                                               "epochs": [2, 4]}).answers["lr"]
    assert cosine == [sp.Rational(1, 2), 0]


def test_from_one_is_one_epoch_late() -> None:
    d = derivations.get("lr-schedule")
    params = {"schedule": "step", "lr": 0.1, "step_size": 3, "gamma": 0.5, "epochs": [2]}
    assert float(d.run(params, mistake="epoch-from-one").answers["lr"][0]) == 0.05


@pytest.mark.parametrize(("argv", "param", "fragment"), [
    (["schedule=multistep", "epochs=[1]"], "milestones", "the epochs at which"),
    (["schedule=multistep", "milestones=[5, 3]", "epochs=[1]"], "milestones", "increasing"),
    (["milestones=[3]", "epochs=[1]"], "milestones", "only with schedule=multistep"),
    (["epochs=[1.5]"], "epochs", "whole numbers from 0"),
    (["epochs=[-1]"], "epochs", "whole numbers from 0"),
    (["schedule=one-cycle", "T_max=10", "warmup_steps=3", "epochs=[10]"], "epochs",
     "from 0 to T_max - 1 = 9"),
    (["schedule=one-cycle", "T_max=10", "warmup_steps=1", "epochs=[1]"], "warmup_steps",
     "2 to T_max - 1"),
    (["gamma=0", "epochs=[1]"], "gamma", "a factor > 0"),
    (["lr=-1", "epochs=[1]"], "lr", "> 0"),
    (["epochs=[" + ",".join(["1"] * 40) + "]"], "epochs", "E at most 32"),
])
def test_bad_input_is_one_line(input_error: Callable[[list[str]], str], argv: list[str],
                               param: str, fragment: str) -> None:
    message = input_error(["solve", "lr-schedule", *argv])
    assert message.startswith(f"{param}: expected"), message
    assert fragment in message, message


def test_json_and_sample_round_trip(capsys: pytest.CaptureFixture[str]) -> None:
    from dlexam.cli import main

    d = derivations.get("lr-schedule")
    params = d.sample(5)
    assert main(["solve", "lr-schedule", "--json"] + [f"{k}={json.dumps(v)}" if not
                                                       isinstance(v, str) else f"{k}={v}"
                                                       for k, v in params.items()]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["answers"] == d.run(params).plain_answers()
