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


def _reduce(values: list[float], reduction: str) -> Any:
    """One value per row combined as PyTorch's and Keras' ``reduction`` does."""
    if reduction == "none":
        return values
    total = float(np.sum(values))
    return total / len(values) if reduction == "mean" else total


def _is_batch(value: Any) -> bool:
    return isinstance(value[0], list)


def _pair(p: np.ndarray, q: np.ndarray, mistake: str | None) -> dict[str, float]:
    """Every value of one pair of distributions, in nats."""
    m = (p + q) / 2
    kl_pq, kl_qp = _kl(p, q), _kl(q, p)
    cross = _cross(p, q)
    if mistake == "kl-reversed":
        kl_pq, kl_qp = kl_qp, kl_pq
    if mistake == "cross-entropy-swapped":
        cross = _cross(q, p)
    jsd = (_kl(p, m) + _kl(q, m)) / 2
    if mistake == "jsd-without-half":
        jsd = _kl(p, m) + _kl(q, m)
    if mistake == "jsd-as-symmetric-kl":
        jsd = (_kl(p, q) + _kl(q, p)) / 2
    return {
        "entropy_p": _entropy(p),
        "entropy_q": _entropy(q),
        "cross_entropy": cross,
        "kl_pq": kl_pq,
        "kl_qp": kl_qp,
        "jsd": jsd,
        # the Jensen-Shannon distance from its definition, sqrt of the divergence (in nats here;
        # in base b it is sqrt(JSD_nats / ln b), scaled below)
        "js_distance": float(np.sqrt(jsd)),
    }


@reference("information")
def information(params: dict[str, Any], mistake: str | None) -> dict[str, Any]:
    batch = _is_batch(params["p"])
    rows_p = params["p"] if batch else [params["p"]]
    rows_q = params["q"] if batch else [params["q"]]
    base = str(params["base"])
    if mistake == "wrong-log-base":
        base = _OTHER_BASE[base]
    scale = _LOG_OF_BASE[base]
    per_row = []
    for rp, rq in zip(rows_p, rows_q, strict=True):
        # a sum within 1e-6 of 1 is renormalised, as normalize=true always does
        p, q = _dist(rp, True), _dist(rq, True)
        values = _pair(p, q, mistake)
        per_row.append({name: v / (np.sqrt(scale) if name == "js_distance" else scale)
                        for name, v in values.items()})
    out: dict[str, Any] = {}
    for name in per_row[0]:
        column = [row[name] for row in per_row]
        reduction = "sum" if mistake == "sum-not-mean" else str(params.get("reduction", "mean"))
        value = _reduce(column, reduction) if batch else column[0]
        out[name] = [_plain(v) for v in value] if isinstance(value, list) else _plain(value)
    return out


def target_rows(target: Any, z: Any) -> Any:
    """The targets as rows of probabilities (class indices as one-hot rows)."""
    import torch

    if target.dtype in (torch.int64, torch.int32):
        return torch.nn.functional.one_hot(target, z.shape[1]).to(torch.float64)
    return target


@reference("softmax-cross-entropy")
def softmax_cross_entropy(params: dict[str, Any], mistake: str | None) -> dict[str, Any]:
    """torch's cross_entropy with its reduction, class-index or probability targets; a loss in
    base b is the loss in nats divided by ln b, and so its gradient."""
    logits = params["logits"]
    batch = _is_batch(logits)
    z = torch.tensor(logits if batch else [logits], dtype=torch.float64, requires_grad=True)
    label = params["label"]
    if batch and not _is_batch(label):
        target = torch.tensor(label)  # class indices
    elif isinstance(label, list):
        rows = torch.tensor(label if batch else [label], dtype=torch.float64)
        target = rows / rows.sum(dim=1, keepdim=True)
    else:
        target = torch.tensor([label])
    reduction = str(params.get("reduction", "mean")) if batch else "mean"
    if mistake == "sum-not-mean":
        reduction = "sum"
    loss = torch.nn.functional.cross_entropy(z, target, reduction=reduction)
    if reduction == "none":
        loss.sum().backward()  # each row's gradient is that of its own example's loss
    else:
        loss.backward()
    assert z.grad is not None
    base = {"bits-for-nats": "2", "nats-for-bits": "e"}.get(mistake or "",
                                                           str(params.get("base", "e")))
    ln_b = float(_LOG_OF_BASE[base])
    grad = (z.grad / ln_b).tolist()
    if mistake == "gradient-target-left-out":  # p alone: the gradient plus the target
        count = z.shape[0] if reduction == "mean" else 1
        grad = ((z.grad + target_rows(target, z) / count) / ln_b).tolist()
    loss_base = 10.0 if mistake == "log-base-10" else np.exp(ln_b)
    value = (loss / float(np.log(loss_base))).tolist()
    if mistake == "gradient-sign":
        grad = [[-g for g in row] for row in grad]
    probs = torch.softmax(z, 1).tolist()
    if not batch:
        return {"probs": probs[0], "loss": value, "grad_logits": grad[0]}
    return {"probs": probs, "loss": value, "grad_logits": grad}
