"""init-variance from the papers' formulas (NumPy): Glorot and Bengio (2010), He et al. (2015),
LeCun et al. (1998), PyTorch's nn.Linear default U(-1/sqrt(n_in), 1/sqrt(n_in)); and each named
mistake as a student would make it. tests/test_initialization.py checks these forms against
torch.nn.init's samples."""

from __future__ import annotations

from typing import Any

import numpy as np

from reference import reference


@reference("init-variance")
def init_variance(params: dict[str, Any], mistake: str | None) -> dict[str, Any]:
    scheme = "lecun" if mistake == "he-factor-lost" else params["scheme"]
    dist = params.get("distribution") or ("uniform" if scheme == "uniform-sqrt" else "normal")
    n_in, n_out = params["fan_in"], params.get("fan_out")
    if mistake == "fans-swapped":
        n_in, n_out = (n_in, n_in) if scheme == "xavier" else (n_out, n_out)
    out: dict[str, Any] = {}
    if scheme == "uniform-sqrt":
        bound = 1 / np.sqrt(n_in)
        var = bound**2 if mistake == "bound-as-std" else bound**2 / 3
        out["weight_limit"] = bound
    else:
        var = {"standard": 1.0, "xavier": 2 / (n_in + (n_out or 0)), "he": 2 / n_in,
               "lecun": 1 / n_in}[scheme]
    std = np.sqrt(var)
    reported_std = var if mistake == "variance-for-std" else std
    if scheme != "uniform-sqrt" and dist == "uniform":
        bound_std = mistake == "bound-as-std"
        out["weight_limit"] = reported_std if bound_std else np.sqrt(3) * reported_std
    if params.get("active") is not None:
        z_var = params["active"] * var
    else:
        mean = params.get("x_mean") or 0.0
        x_var = params["x_variance"] if params.get("x_variance") is not None else 1.0
        second = x_var if mistake == "mean-ignored" else x_var + mean**2
        z_var = params["fan_in"] * var * second
    if mistake != "bias-variance-ignored":
        z_var += params.get("bias_variance") or 0.0
    out.update({"weight_variance": var, "weight_std": reported_std, "z_variance": z_var,
                "z_std": z_var if mistake == "variance-for-std" else np.sqrt(z_var)})
    return {k: float(v) for k, v in out.items()}
