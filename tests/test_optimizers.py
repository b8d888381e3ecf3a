"""optimizer-step against torch.optim step by step, on hand-made cases of every shape."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
import torch
from reference.optimizers import optimizer_step as reference_step

from dlexam import derivations


def _numbers(value: Any) -> list[float]:
    return [x for v in value for x in _numbers(v)] if isinstance(value, list) else [float(value)]


def _agree(case: dict[str, Any], rel: float = 1e-9) -> None:
    d = derivations.get("optimizer-step")
    shown = d.shown_params(case)
    for mistake in [None, *(m.id for m in d.applicable_mistakes(case))]:
        ours = d.run(case, mistake=mistake).plain_answers()
        for name, value in reference_step(shown, mistake).items():
            a, b = _numbers(ours[name]), _numbers(value)
            assert len(a) == len(b), (mistake, name)
            for x, y in zip(a, b, strict=True):
                assert math.isclose(x, y, rel_tol=rel, abs_tol=1e-12), (mistake, name, x, y)


@pytest.mark.parametrize("case", [
    {"optimizer": "sgd", "w": 1.0, "g": [0.5, -0.25, 0.125], "lr": 0.1},
    {"optimizer": "sgd", "w": [1.0, -2.0], "g": [0.5, 0.5], "lr": 0.1, "weight_decay": 0.1},
    {"optimizer": "momentum", "w": [[1.0, 2.0], [3.0, 4.0]],
     "g": [[[0.1, 0.2], [0.3, 0.4]], [[0.4, 0.3], [0.2, 0.1]]], "lr": 0.1, "momentum": 0.9},
    {"optimizer": "momentum", "w": [1.0, -1.0], "g": [[0.2, 0.1], [0.3, -0.1]], "lr": 0.05,
     "velocity": [0.5, -0.5], "convention": "classic"},
    {"optimizer": "nesterov", "w": [0.5, 0.5], "g": [[0.2, -0.2], [0.1, 0.3]], "lr": 0.1,
     "momentum": 0.5, "weight_decay": 0.01},
    {"optimizer": "nesterov", "w": 0.5, "g": [0.2, 0.4], "lr": 0.1, "convention": "classic"},
    {"optimizer": "adagrad", "w": [1.0, -1.0], "g": [[0.5, 0.1], [0.2, -0.3]], "lr": 0.1,
     "eps": 0.1},
    {"optimizer": "rmsprop", "w": [1.0, -1.0], "g": [[0.5, 0.1], [0.2, -0.3]], "lr": 0.01,
     "rho": 0.9, "v": [0.1, 0.2]},
    {"optimizer": "adam", "w": [1.0, -1.0, 0.5], "g": [[0.5, 0.1, -0.2], [0.2, -0.3, 0.1]],
     "lr": 0.1, "eps": 0.1},
    {"optimizer": "adam", "w": [1.0, -1.0], "g": [0.5, 0.1], "lr": 0.1, "m": [0.1, -0.1],
     "v": [0.2, 0.1], "t": 5, "weight_decay": 0.1},
    {"optimizer": "adamw", "w": [[1.0, -1.0], [0.5, 2.0]], "g": [[0.5, 0.1], [0.2, -0.3]],
     "lr": 0.1, "weight_decay": 0.1},
    {"optimizer": "adamw", "w": 2.0, "g": 0.3},  # PyTorch's defaults: lr 1e-3, decay 1e-2
])
def test_hand_made_cases_match_torch_optim(case: dict[str, Any]) -> None:
    _agree(case)


def test_adams_first_step_is_lr_times_the_sign() -> None:
    """Kingma and Ba: the first bias-corrected step is lr g / (|g| + eps), about lr in size."""
    answers = derivations.solve("optimizer-step", optimizer="adam", w=[1, 1], g=[0.3, -7],
                                lr=0.01).plain_answers()
    assert [round(u, 9) for u in answers["update"]] == [-0.01, 0.01]
    assert answers["m_hat"] == pytest.approx([0.3, -7]) and answers["v_hat"] == pytest.approx(
        [0.09, 49])
    wrong = derivations.solve("optimizer-step", optimizer="adam", w=[1, 1], g=[0.3, -7],
                              lr=0.01, mistake="no-bias-correction").plain_answers()
    assert wrong["update"][0] == pytest.approx(-0.01 * 0.1 / math.sqrt(0.001), rel=1e-5)


def test_the_two_momentum_conventions() -> None:
    """From a zero velocity both give the same weights, the classic velocity -lr times
    PyTorch's; with a velocity given, the same numbers mean different states."""
    base = {"optimizer": "momentum", "w": [1.0, 2.0], "g": [[0.5, -1.0], [0.25, 0.5]], "lr": 0.1}
    pytorch = derivations.solve("optimizer-step", base).plain_answers()
    classic = derivations.solve("optimizer-step", {**base, "convention": "classic"}
                                ).plain_answers()
    assert pytorch["w"] == pytest.approx(classic["w"])
    assert classic["velocity"] == pytest.approx([-0.1 * v for v in pytorch["velocity"]])
    assert pytorch["w_other"] == pytest.approx(classic["w"])
    assert pytorch["velocity_other"] == pytest.approx(classic["velocity"])
    given = {**base, "velocity": [1.0, 1.0]}
    a = derivations.solve("optimizer-step", given).plain_answers()
    b = derivations.solve("optimizer-step", {**given, "convention": "classic"}).plain_answers()
    assert a["w"] != pytest.approx(b["w"])


def test_torch_sgd_matches_the_pytorch_convention_with_a_velocity() -> None:
    w = torch.tensor([1.0, -1.0], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([w], lr=0.1, momentum=0.9)
    opt.state[w]["momentum_buffer"] = torch.tensor([0.5, 0.5], dtype=torch.float64)
    w.grad = torch.tensor([0.2, 0.4], dtype=torch.float64)
    opt.step()
    ours = derivations.solve("optimizer-step", optimizer="momentum", w=[1, -1], g=[0.2, 0.4],
                             lr=0.1, velocity=[0.5, 0.5]).plain_answers()
    assert ours["w"] == pytest.approx(w.detach().tolist(), rel=1e-12)


@pytest.mark.parametrize(("argv", "message"), [
    (["w=[1,2]", "g=[1,2,3]"], "g: expected one gradient of w's shape (2 numbers)"),
    (["w=1", "g=[[1,2]]"], "g: expected one gradient of w's shape (a number)"),
    (["optimizer=adam", "momentum=0.9"], "momentum: expected no momentum for adam"),
    (["optimizer=adam", "beta1=1"], "beta1: expected a number from 0 to below 1"),
    (["optimizer=sgd", "m=[1,2]"], "m: expected no m for sgd"),
    (["optimizer=adam", "v=[1,-2]"], "v: expected numbers >= 0"),
    (["optimizer=momentum", "velocity=[1,2,3]"], "velocity: expected"),
    (["g=[[1,2]]" * 1, "w=[[1,2],[3,4]]"], "g: expected one gradient of w's shape (a 2"),
    (["lr=-1"], "lr: expected a number >= 0"),
])
def test_bad_input_is_one_line(input_error: Callable[[list[str]], str], argv: list[str],
                               message: str) -> None:
    assert input_error(["solve", "optimizer-step", *argv]).startswith(message)


def test_rates_with_many_decimals_are_refused_not_a_traceback(
        input_error: Callable[[list[str]], str]) -> None:
    """Ten exact Adam steps with 20-decimal betas outgrew SymPy's conversion to a float
    (OverflowError); such a rate is refused in one line, naming it."""
    grads = str([[[0.5, -0.25], [0.125, 0.75]]] * 10).replace(" ", "")
    message = input_error(["solve", "optimizer-step", "optimizer=adamw", "w=[[1,2],[3,4]]",
                           f"g={grads}", "beta1=0.98765432109876543219", "t=10"])
    assert message.startswith("beta1: expected a rate with at most 8 decimals")
    result = derivations.get("optimizer-step").run(
        {"optimizer": "adamw", "w": [[1, 2], [3, 4]], "g": [[[0.5, -0.25], [0.125, 0.75]]] * 10,
         "beta1": 0.98765432, "beta2": 0.99999999, "t": 10})
    assert len(result.answers["w_steps"]) == 10
