"""information and softmax-cross-entropy from the formulas (NumPy; torch for the softmax loss),
and each named mistake as a student would make it."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from reference import reference

_LOG_OF_BASE = {"2": np.log(2.0), "e": 1.0, "10": np.log(10.0)}
_OTHER_BASE = {"2": "e", "e": "2", "10": "2"}


def _dist(values: list[float], normalize: bool) -> np.ndarray:
    a = np.array(values, dtype=float)
    return a / a.sum() if normalize else a


def _entropy(p: np.ndarray) -> float:
    nz = p > 0
    return float(-np.sum(p[nz] * np.log(p[nz])))


def _cross(p: np.ndarray, q: np.ndarray) -> float:
    """-sum p log q in nats (infinite where q = 0 < p)."""
    nz = p > 0
    if np.any(q[nz] == 0):
        return float("inf")
    return float(-np.sum(p[nz] * np.log(q[nz])))


def _kl(p: np.ndarray, q: np.ndarray) -> float:
    nz = p > 0
    if np.any(q[nz] == 0):
        return float("inf")
    return float(np.sum(p[nz] * np.log(p[nz] / q[nz])))


def _plain(x: float) -> Any:
    return "inf" if np.isinf(x) else x


@reference("information")
def information(params: dict[str, Any], mistake: str | None) -> dict[str, Any]:
    p = _dist(params["p"], params["normalize"])
    q = _dist(params["q"], params["normalize"])
    base = str(params["base"])
    if mistake == "wrong-log-base":
        base = _OTHER_BASE[base]
    scale = _LOG_OF_BASE[base]
    m = (p + q) / 2
    kl_pq, kl_qp = _kl(p, q), _kl(q, p)
    cross = _cross(p, q)
    if mistake == "kl-reversed":
        kl_pq, kl_qp = kl_qp, kl_pq
    if mistake == "cross-entropy-swapped":
        cross = _cross(q, p)
    values = {
        "entropy_p": _entropy(p),
        "entropy_q": _entropy(q),
        "cross_entropy": cross,
        "kl_pq": kl_pq,
        "kl_qp": kl_qp,
        "jsd": (_kl(p, m) + _kl(q, m)) / 2,
    }
    return {name: _plain(v / scale) for name, v in values.items()}


@reference("softmax-cross-entropy")
def softmax_cross_entropy(params: dict[str, Any], mistake: str | None) -> dict[str, Any]:
    z = torch.tensor(params["logits"], dtype=torch.float64, requires_grad=True)
    label = params["label"]
    if isinstance(label, list):
        target = torch.tensor(label, dtype=torch.float64)
    else:
        target = torch.nn.functional.one_hot(torch.tensor(label), len(params["logits"])).double()
    loss = torch.nn.functional.cross_entropy(z.unsqueeze(0), target.unsqueeze(0))
    loss.backward()
    assert z.grad is not None
    grad = z.grad.tolist()
    value = loss.item()
    if mistake == "log-base-10":
        value /= float(np.log(10.0))
    if mistake == "gradient-sign":
        grad = [-g for g in grad]
    return {"probs": torch.softmax(z, 0).tolist(), "loss": value, "grad_logits": grad}
