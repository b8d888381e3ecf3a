"""normalization by torch.nn.functional (batch_norm in training mode, layer_norm,
instance_norm, group_norm; float64), and each named mistake as a student would make it (the
statistics then from torch's mean and var along the other axis, or with the unbiased variance,
and the formula written out)."""

from __future__ import annotations

from typing import Any

import torch

from reference import reference

F = torch.nn.functional


def _dims(kind: str, x: torch.Tensor) -> tuple[int, ...]:
    """The axes each kind's statistics are taken over (x reshaped for group: n x G x rest)."""
    if kind == "batch":
        return (0, *range(2, x.dim()))
    return tuple(range(1, x.dim())) if kind in ("layer", "group") else tuple(range(2, x.dim()))


def _statistics(kind: str, x: torch.Tensor, groups: int, unbiased: bool
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """The means and variances as the answers list them."""
    if kind == "group":
        grouped = x.reshape(x.shape[0], groups, -1)
        return grouped.mean(dim=2), grouped.var(dim=2, unbiased=unbiased)
    dims = _dims(kind, x)
    return x.mean(dim=dims), x.var(dim=dims, unbiased=unbiased)


def _affine(value: Any, features: int, x: torch.Tensor) -> torch.Tensor:
    t = torch.tensor(value if isinstance(value, list) else [value] * features,
                     dtype=torch.float64)
    return t.reshape(1, features, *[1] * (x.dim() - 2))


def _torch_forward(kind: str, x: torch.Tensor, groups: int, eps: float) -> torch.Tensor:
    """x_hat as the framework computes it (no affine)."""
    if kind == "batch":
        return F.batch_norm(x, None, None, training=True, eps=eps)
    if kind == "layer":
        return F.layer_norm(x, x.shape[1:], eps=eps)
    if kind == "instance":
        return F.instance_norm(x, eps=eps)
    return F.group_norm(x, groups, eps=eps)


@reference("normalization")
def normalization(params: dict[str, Any], mistake: str | None) -> dict[str, Any]:
    kind = params["kind"]
    if mistake == "wrong-axis":
        kind = "layer" if kind == "batch" else "batch"
    x = torch.tensor(params["X"], dtype=torch.float64)
    groups = params.get("groups") or 1
    eps = float(params["eps"])
    unbiased = params["variance"] == "unbiased" or mistake == "unbiased-variance"
    features = x.shape[1]
    mean, var = _statistics(kind, x, groups, unbiased)
    if unbiased or mistake in ("eps-outside-sqrt", "no-sqrt"):
        # the framework normalises with the biased variance: the formula, with torch's statistics
        if kind == "group":
            grouped = x.reshape(x.shape[0], groups, -1)
            m = grouped.mean(dim=2, keepdim=True)
            v = grouped.var(dim=2, unbiased=unbiased, keepdim=True)
        else:
            dims = _dims(kind, x)
            m = x.mean(dim=dims, keepdim=True)
            v = x.var(dim=dims, unbiased=unbiased, keepdim=True)
            grouped = x
        den = (v.sqrt() + eps if mistake == "eps-outside-sqrt" else v + eps
               if mistake == "no-sqrt" else (v + eps).sqrt())
        x_hat = ((grouped - m) / den).reshape(x.shape)
    else:
        x_hat = _torch_forward(kind, x, groups, eps)
    gamma, beta = _affine(params["gamma"], features, x), _affine(params["beta"], features, x)
    y = x_hat if mistake == "affine-left-out" else gamma * x_hat + beta
    return {"mean": mean.tolist(), "variance": var.tolist(), "x_hat": x_hat.tolist(),
            "y": y.tolist()}
