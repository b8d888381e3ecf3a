"""bptt with a sigmoid cell and the error derivatives delta (issue 26, item 7): closed forms of
one step, and delta against PyTorch's autograd (the gradients of the pre-activations)."""

# ruff: noqa: N806
# (the exam's letters: W, U, V)

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from dlexam import derivations
from dlexam.cli import main

BPTT = derivations.get("bptt")


def _sigmoid(a: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-a))


def test_one_sigmoid_step_by_hand() -> None:
    # h_1 = sigmoid(U x + b) from h_0 = 0; y = V h_1 + c; delta_1 = (y - t) V * h_1 (1 - h_1)
    U, b, V, c, x, t = np.array([0.5, -0.3]), np.array([0.1, 0.2]), np.array([1.0, -2.0]), \
        0.3, 2.0, 0.4
    params = {"W": [[0.1, 0.2], [0.3, 0.4]], "U": U.tolist(), "b": b.tolist(), "x": [x],
              "V": V.tolist(), "c": c, "target": [t], "activation": "sigmoid"}
    answers = BPTT.run(params).plain_answers()
    h = _sigmoid(U * x + b)
    e = float(V @ h + c - t)
    assert answers["loss"] == pytest.approx(0.5 * e * e, rel=1e-12)
    assert answers["delta"][0] == pytest.approx((e * V * h * (1 - h)).tolist(), rel=1e-12)
    assert answers["gamma"] == 0.25
    assert answers["factor_norms"][0] == pytest.approx(
        np.linalg.norm(np.diag(h * (1 - h)) @ np.array(params["W"]), 2), rel=1e-12)
    assert answers["verdict"] == "vanishing"


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_delta_is_the_gradient_of_the_pre_activations(activation: str) -> None:
    W = np.array([[0.5, -0.4], [0.3, 0.8]])
    U, b = np.array([[0.2, -0.1], [0.4, 0.3]]), np.array([0.1, -0.2])
    xs = np.array([[1.0, -1.0], [0.5, 2.0], [-1.5, 0.5]])
    V, targets = np.array([[1.0, 0.5]]), np.array([[0.2], [0.1], [-0.3]])
    params = {"W": W.tolist(), "U": U.tolist(), "b": b.tolist(), "x": xs.tolist(),
              "V": V.tolist(), "c": [0.0], "target": targets.tolist(), "activation": activation}
    got = BPTT.run(params).plain_answers()["delta"]
    f = torch.tanh if activation == "tanh" else torch.sigmoid
    Wt, Ut, bt, Vt = (torch.tensor(a) for a in (W, U, b, V))
    h, loss, pre = torch.zeros(2, dtype=torch.float64), torch.zeros((), dtype=torch.float64), []
    for t in range(3):
        a = (Wt @ h + Ut @ torch.tensor(xs[t]) + bt).requires_grad_()
        pre.append(a)
        h = f(a)
        loss = loss + 0.5 * ((Vt @ h - torch.tensor(targets[t])) ** 2).sum()
    grads = torch.autograd.grad(loss, pre)
    for mine, theirs in zip(got, grads, strict=True):
        assert mine == pytest.approx(theirs.tolist(), rel=1e-12, abs=1e-15)


def test_sigmoid_statement_and_steps_name_the_sigmoid(capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    assert main(["sample", "bptt", "--seed", "3", "--json", "activation=sigmoid",
                 "target=[0.1, 0.2]"]) == 0
    sample = json.loads(capsys.readouterr().out)
    assert "σ(W h_{t-1}" in sample["question"] and "∂L / ∂a_t" in sample["question"]
    result = BPTT.run(sample["params"])
    keys = [s.key for s in result.steps]
    assert "bptt.cell_sigmoid" in keys and "bptt.grad_a_sigmoid" in keys
    assert "bptt.cell" not in keys
