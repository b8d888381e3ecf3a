"""hinge-loss: PyTorch's multi_margin_loss and autograd for the right answers, NumPy written
from CS231n's notes for the terms, the kink convention and each named mistake."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np
import torch

from reference import reference


def _exact(values: list[Any]) -> list[Fraction]:
    return [Fraction(str(v)) for v in values]


@reference("hinge-loss")
def hinge(params: dict[str, Any], mistake: str | None) -> dict[str, Any]:
    """The answers as a student making ``mistake`` computes them."""
    scores = np.array(params["scores"], dtype=float)
    y, k = int(params["label"]), len(params["scores"])
    delta = float(params["margin"])
    # which terms are positive, decided exactly (one-decimal scores: s_j - s_y + Delta may be
    # exactly 0, which floats would not see)
    s, d = _exact(params["scores"]), Fraction(str(params["margin"]))
    arg = [s[j] - s[y] + (0 if mistake == "no-margin" else d) for j in range(k)]
    at_kink = str(params["at_kink"])
    if mistake in (None, "grad-sign", "true-class-grad-left-out"):
        z = torch.tensor(scores, dtype=torch.float64, requires_grad=True)
        # PyTorch's MultiMarginLoss divides the sum by the number of classes
        loss_t = torch.nn.functional.multi_margin_loss(
            z[None], torch.tensor([y]), p=1, margin=delta, reduction="sum") * k
        loss_t.backward()
        assert z.grad is not None
        grad = z.grad.numpy().copy()
        margins = np.maximum(0.0, scores - scores[y] + delta)
        margins[y] = 0.0
        loss = float(loss_t.detach())
        if at_kink == "1":  # torch counts 0 at the kink; this convention counts 1
            for j in range(k):
                if j != y and arg[j] == 0:
                    grad[j] += 1
                    grad[y] -= 1
        if mistake == "grad-sign":
            grad = -grad
        if mistake == "true-class-grad-left-out":
            grad[y] = 0.0
        return {"margins": margins.tolist(), "loss": loss, "grad": grad.tolist()}
    raw = scores - scores[y] + (0.0 if mistake == "no-margin" else delta)
    if mistake == "no-max":
        margins = raw.copy()
        margins[y] = 0.0
        grad = np.ones(k)
        grad[y] = -(k - 1)
        return {"margins": margins.tolist(), "loss": float(margins.sum()),
                "grad": grad.tolist()}
    margins = np.maximum(0.0, raw)
    if mistake == "true-class-counted":
        margins[y] = max(0.0, delta)  # the true class's own term, s_y - s_y + Delta
        return {"margins": margins.tolist(), "loss": float(margins.sum())}
    assert mistake == "no-margin"
    margins[y] = 0.0
    on = [j for j in range(k) if j != y and (arg[j] > 0 or (at_kink == "1" and arg[j] == 0))]
    grad = np.zeros(k)
    grad[on] = 1.0
    grad[y] = -len(on)
    return {"margins": margins.tolist(), "loss": float(margins.sum()), "grad": grad.tolist()}
