"""activation by PyTorch's own functions and autograd (float64), and each named mistake as a
student would make it. The derivative's largest value is found on a fine grid of torch's
derivative, not from our closed forms."""

from __future__ import annotations

from functools import cache
from typing import Any

import torch

from reference import reference

ALPHA = {"leaky_relu": 0.01, "elu": 1.0}


def torch_function(name: str, alpha: float, approximate: str) -> Any:
    """The activation as PyTorch computes it."""
    f = torch.nn.functional
    return {
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "relu": f.relu,
        "leaky_relu": lambda x: f.leaky_relu(x, negative_slope=alpha),
        "elu": lambda x: f.elu(x, alpha=alpha),
        "gelu": lambda x: f.gelu(x, approximate=approximate),
        # threshold past the test inputs: PyTorch returns x itself above it
        "softplus": lambda x: f.softplus(x, threshold=1000),
    }[name]


def value_and_slope(name: str, xs: list[float], alpha: float, approximate: str
                    ) -> tuple[list[float], list[float]]:
    """f(x) and f'(x) at each input, by autograd."""
    x = torch.tensor(xs, dtype=torch.float64, requires_grad=True)
    y = torch_function(name, alpha, approximate)(x)
    y.sum().backward()
    return y.detach().tolist(), x.grad.tolist()


@cache
def peak(name: str, alpha: float, approximate: str) -> float:
    """The largest value of torch's derivative on a fine grid (refined once around the best)."""
    if name == "softplus":
        return 1.0  # its supremum, approached as x grows
    lo, hi = -6.0, 6.0
    best = 0.0
    for _ in range(4):
        grid = torch.linspace(lo, hi, 20_001, dtype=torch.float64)
        _values, slopes = value_and_slope(name, grid.tolist(), alpha, approximate)
        s = torch.tensor(slopes)
        i = int(torch.argmax(s))
        best = float(s[i])
        step = (hi - lo) / 20_000
        lo, hi = float(grid[i]) - 10 * step, float(grid[i]) + 10 * step
    if name in ("leaky_relu", "elu") and alpha > 1:
        return alpha  # the supremum on the left of 0 (the grid's best is just below it)
    return best


@reference("activation")
def activation(params: dict[str, Any], mistake: str | None) -> dict[str, Any]:
    name = params["name"]
    if mistake == "leaky-as-relu":  # the negative slope left out
        name, params = "relu", {**params, "alpha": None}
    scalar = not isinstance(params["x"], list)
    xs = [float(params["x"])] if scalar else [float(v) for v in params["x"]]
    alpha = float(params["alpha"]) if params.get("alpha") is not None else ALPHA.get(name, 0.0)
    approximate = params.get("approximate", "none")
    if name == "softmax":
        x = torch.tensor(xs, dtype=torch.float64)
        p = torch.softmax(x, dim=0)
        jac = torch.autograd.functional.jacobian(lambda v: torch.softmax(v, dim=0), x)
        sat = (torch.diagonal(jac) / 0.25).tolist()
        if mistake == "softmax-jacobian-diagonal":
            jac = torch.diag(torch.diagonal(jac))
        return {"value": p.tolist(), "derivative": jac.tolist(), "saturation": sat}
    values, slopes = value_and_slope(name, xs, alpha, approximate)
    if mistake == "sigmoid-derivative-as-sigmoid":
        slopes = list(values)
    elif mistake == "tanh-derivative-unsquared":
        slopes = [1 - v for v in values]
    elif mistake == "relu-derivative-one-at-zero":
        slopes = [1.0 if x == 0 else s for x, s in zip(xs, slopes, strict=True)]
    top = peak(name, alpha, approximate)
    sats = [s / top for s in slopes]
    if scalar:
        return {"value": values[0], "derivative": slopes[0], "saturation": sats[0]}
    return {"value": values, "derivative": slopes, "saturation": sats}
