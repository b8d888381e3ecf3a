"""init-variance against torch.nn.init on large samples and against the closed forms."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
import torch

from dlexam import derivations

N_IN, N_OUT = 256, 128


def _solve(**params: Any) -> dict[str, Any]:
    return derivations.solve("init-variance", params).plain_answers()


def _weights(init: Callable[[torch.Tensor], Any], rows: int) -> torch.Tensor:
    """A PyTorch weight of shape (out, in) (fan_in is its second dimension), drawn again until
    there are about a million draws, stacked."""
    torch.manual_seed(0)
    draws = []
    for _ in range(max(1, 1_000_000 // (rows * N_IN))):
        w = torch.empty(rows, N_IN, dtype=torch.float64)
        init(w)
        draws.append(w)
    return torch.cat(draws)


@pytest.mark.parametrize("scheme,distribution,init", [
    ("xavier", "normal", torch.nn.init.xavier_normal_),
    ("xavier", "uniform", torch.nn.init.xavier_uniform_),
    ("he", "normal", lambda w: torch.nn.init.kaiming_normal_(w, nonlinearity="relu")),
    ("he", "uniform", lambda w: torch.nn.init.kaiming_uniform_(w, nonlinearity="relu")),
    ("lecun", "normal", lambda w: torch.nn.init.kaiming_normal_(w, nonlinearity="linear")),
    ("lecun", "uniform", lambda w: torch.nn.init.kaiming_uniform_(w, nonlinearity="linear")),
    ("standard", "normal", torch.nn.init.normal_),
])
def test_weights_match_torch_init(scheme: str, distribution: str,
                                  init: Callable[[torch.Tensor], Any]) -> None:
    rows = N_OUT if scheme == "xavier" else 4096  # xavier reads fan_out off the shape
    w = _weights(init, rows)
    fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(w[:rows])
    a = _solve(scheme=scheme, distribution=distribution, fan_in=fan_in, fan_out=fan_out)
    # a million draws: the sample variance's relative error is about 0.15%
    assert w.var().item() == pytest.approx(a["weight_variance"], rel=0.01)
    assert w.std().item() == pytest.approx(a["weight_std"], rel=0.005)
    if distribution == "uniform":
        bound = w.abs().max().item()
        assert bound <= a["weight_limit"] and bound == pytest.approx(a["weight_limit"], rel=1e-3)
    else:
        assert "weight_limit" not in a


def test_closed_forms() -> None:
    # Glorot and Bengio (2010), eq. 16: U(-sqrt(6/(n_in + n_out)), ...); He et al. (2015): 2/n_in
    assert _solve(scheme="xavier", distribution="uniform", fan_in=N_IN, fan_out=N_OUT)[
        "weight_limit"] == pytest.approx(math.sqrt(6 / (N_IN + N_OUT)), rel=1e-15)
    he = _solve(scheme="he", fan_in=N_IN)
    assert he["weight_variance"] == 2 / N_IN and he["weight_std"] == pytest.approx(
        math.sqrt(2 / N_IN), rel=1e-15)
    assert he["z_variance"] == 2  # n_in Var(w) E[x^2] = 256 * 2/256 * 1
    lecun = _solve(scheme="lecun", fan_in=N_IN, distribution="uniform")
    assert lecun["weight_limit"] == pytest.approx(math.sqrt(3 / N_IN), rel=1e-15)
    assert _solve(scheme="standard", fan_in=N_IN)["z_std"] == 16


def test_linear_default_is_uniform_sqrt() -> None:
    torch.manual_seed(0)
    layer = torch.nn.Linear(N_IN, 4096, dtype=torch.float64)
    a = _solve(scheme="uniform-sqrt", fan_in=N_IN)
    w = layer.weight.detach()
    assert w.abs().max().item() == pytest.approx(a["weight_limit"], rel=1e-3)
    assert w.var().item() == pytest.approx(a["weight_variance"], rel=0.01)


@pytest.mark.parametrize("inputs", [{}, {"x_mean": 1, "x_variance": 2}, {"active": 10}])
def test_pre_activation_variance_by_simulation(inputs: dict[str, Any]) -> None:
    """z = W x + b over many units and input vectors, weights from kaiming_normal_."""
    torch.manual_seed(1)
    a = _solve(scheme="he", fan_in=N_IN, fan_out=N_OUT, bias_variance=0.1, **inputs)
    w = torch.empty(2000, N_IN, dtype=torch.float64)
    torch.nn.init.kaiming_normal_(w, nonlinearity="relu")
    b = torch.randn(2000, 1, dtype=torch.float64) * math.sqrt(0.1)
    if "active" in inputs:
        x = torch.zeros(N_IN, 200, dtype=torch.float64)
        x[:10] = 1
    else:
        x = (torch.randn(N_IN, 200, dtype=torch.float64) * math.sqrt(inputs.get("x_variance", 1))
             + inputs.get("x_mean", 0))
    z = w @ x + b
    assert z.var().item() == pytest.approx(a["z_variance"], rel=0.03)
    assert z.std().item() == pytest.approx(a["z_std"], rel=0.015)


def test_mistakes() -> None:
    d = derivations.get("init-variance")
    params = {"scheme": "he", "fan_in": N_IN, "fan_out": N_OUT, "distribution": "uniform"}
    swapped = d.run(params, mistake="fans-swapped").plain_answers()
    assert swapped["weight_variance"] == 2 / N_OUT
    as_std = d.run(params, mistake="variance-for-std").plain_answers()
    assert as_std["weight_std"] == 2 / N_IN
    bound = d.run(params, mistake="bound-as-std").plain_answers()
    assert bound["weight_limit"] == pytest.approx(math.sqrt(2 / N_IN))
    xavier = d.run({"scheme": "xavier", "fan_in": N_IN, "fan_out": N_OUT},
                   mistake="fans-swapped").plain_answers()
    assert xavier["weight_variance"] == 1 / N_IN
    mean = d.run({"scheme": "lecun", "fan_in": N_IN, "x_mean": 2, "x_variance": 1},
                 mistake="mean-ignored").plain_answers()
    assert mean["z_variance"] == 1


@pytest.mark.parametrize("argv,param", [
    (["scheme=xavier", "fan_in=10"], "fan_out"),
    (["scheme=standard", "fan_in=10", "distribution=uniform"], "distribution"),
    (["scheme=uniform-sqrt", "fan_in=10", "distribution=normal"], "distribution"),
    (["scheme=he", "fan_in=10", "active=3", "x_mean=1"], "active"),
    (["scheme=he", "fan_in=10", "active=11"], "active"),
    (["scheme=he", "fan_in=0"], "fan_in"),
    (["scheme=he", "fan_in=10", "x_variance=-1"], "x_variance"),
    (["scheme=glorot", "fan_in=10"], "scheme"),
])
def test_bad_input_names_the_parameter(input_error: Callable[[list[str]], str],
                                       argv: list[str], param: str) -> None:
    assert input_error(["solve", "init-variance", *argv]).startswith(f"{param}: expected ")
