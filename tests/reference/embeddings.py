"""skip-gram: PyTorch autograd through log_softmax for the right answers, and each named mistake
written from the formulas (Mikolov et al., 2013; the gradient U^T (p - y))."""

from __future__ import annotations

import math
from typing import Any

import torch

from reference import reference


@reference("skip-gram")
def skip_gram(params: dict[str, Any], mistake: str | None) -> dict[str, Any]:
    """The answers as a student making ``mistake`` computes them."""
    U = torch.tensor(params["U"], dtype=torch.float64)  # noqa: N806
    v = torch.tensor(params["v_c"], dtype=torch.float64, requires_grad=True)
    words = params.get("words")
    labels = ([w.strip() for w in words.split(",")] if words is not None
              else [f"w{k}" for k in range(1, U.shape[0] + 1)])
    o = labels.index(params["target"].strip())
    scores = U @ v
    log_p = torch.log_softmax(scores, dim=0)
    loss = -log_p[o]
    loss.backward()
    assert v.grad is not None
    grad = v.grad.clone()
    out: dict[str, Any] = {"scores": scores.detach().tolist(),
                           "probs": log_p.detach().exp().tolist(),
                           "loss": float(loss.detach()), "grad_v_c": grad.tolist()}
    if mistake == "no-expectation":
        out["grad_v_c"] = (-U[o]).tolist()
    elif mistake == "gradient-sign":
        out["grad_v_c"] = (-grad).tolist()
    elif mistake == "log-base-10":
        out["loss"] = float(loss.detach()) / math.log(10)
    elif mistake == "loss-sign":  # log p(o | c) itself
        out["loss"] = float(log_p[o].detach())
    elif mistake == "no-normalizer":
        out["loss"] = -float(scores[o].detach())
    return out
