"""bptt and clip-gradient computed independently: torch autograd for the Jacobian products of the
right method, NumPy for the mistakes' factors; torch.nn.utils for clipping by norm and by value.

Written from the formulas: dh_t/dh_{t-1} = diag(1 - h_t^2) W, dh_T/dh_k the product of the
factors of steps k+1 .. T (the latest on the left), the bound sigma_max(W)^(T-k) (gamma = 1), the
rate ||dh_T/dh_0||^(1/T); g <- beta g / ||g|| when ||g|| > beta.
"""

# ruff: noqa: N803, N806
# (the exam's letters: W, U, H, T)

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from reference import reference


def _verdict(sigma: float, rate: float) -> str:
    """sigma_max(W) < 1 bounds every factor below 1; otherwise the average factor decides."""
    if sigma < 1:
        return "vanishing"
    if rate > 1 + 1e-9:
        return "exploding"
    return "vanishing" if rate < 1 - 1e-9 else "neither"


def _states(W: np.ndarray, U: np.ndarray, b: np.ndarray, xs: np.ndarray,
            h0: np.ndarray) -> list[np.ndarray]:
    out, h = [], h0
    for x_t in xs:
        h = np.tanh(W @ h + U @ x_t + b)
        out.append(h)
    return out


def _autograd_norms(W: np.ndarray, U: np.ndarray, b: np.ndarray, xs: np.ndarray,
                    h0: np.ndarray) -> tuple[list[float], list[float]]:
    """||dh_t/dh_{t-1}|| per step and ||dh_T/dh_k|| for k = 0 .. T-1, by autograd (float64)."""
    Wt, Ut, bt = (torch.tensor(a, dtype=torch.float64) for a in (W, U, b))
    xt = [torch.tensor(x, dtype=torch.float64) for x in xs]

    def run(h: torch.Tensor, first: int, last: int) -> torch.Tensor:
        for x in xt[first:last]:
            h = torch.tanh(Wt @ h + Ut @ x + bt)
        return h

    states = [torch.tensor(h0, dtype=torch.float64)]
    for x in xt:
        states.append(torch.tanh(Wt @ states[-1] + Ut @ x + bt))
    T = len(xt)

    def norm_of(k: int, last: int) -> float:
        jac = torch.autograd.functional.jacobian(lambda h: run(h, k, last), states[k])
        return float(torch.linalg.matrix_norm(jac, ord=2))

    factors = [norm_of(t - 1, t) for t in range(1, T + 1)]
    products = [norm_of(k, T) for k in range(T)]
    return factors, products


@reference("bptt")
def bptt(p: dict[str, Any], mistake: str | None) -> dict[str, Any]:
    W = np.array(p["W"], dtype=float)
    H = W.shape[0]
    U = np.array(p["U"], dtype=float).reshape(H, -1)
    b = np.array(p["b"], dtype=float)
    xs = np.array(p["x"], dtype=float).reshape(len(p["x"]), -1)
    h0 = np.zeros(H) if p.get("h0") is None else np.array(p["h0"], dtype=float)
    T = len(xs)
    sigma = float(np.linalg.svd(W, compute_uv=False)[0])
    if mistake is None:
        factor_norms, products = _autograd_norms(W, U, b, xs, h0)
    else:
        states = _states(W, U, b, xs, h0)
        if mistake == "no-tanh-derivative":
            factors = [W for _ in states]
        elif mistake == "transposed-w":
            factors = [np.diag(1 - h**2) @ W.T for h in states]
        else:
            raise KeyError(mistake)
        factor_norms = [float(np.linalg.norm(F, 2)) for F in factors]
        products = []
        for k in range(T):
            prod = np.eye(H)
            for t in range(T, k, -1):  # J_T J_{T-1} ... J_{k+1}
                prod = prod @ factors[t - 1]
            products.append(float(np.linalg.norm(prod, 2)))
    rate = products[0] ** (1 / T)
    out: dict[str, Any] = {
        "dhT_dhk_norm": products,
        "factor_norms": factor_norms,
        "sigma_max_W": sigma,
        "gamma": 1,
        "bound": [sigma ** (T - k) for k in range(T)],
        "rate": rate,
        "verdict": _verdict(sigma, rate),
    }
    if p.get("f") is not None:
        gates = np.broadcast_to(np.array(p["f"], dtype=float), (T, H))
        out["lstm_path"] = [float(np.prod(gates[k:], axis=0).max()) for k in range(T)]
    return out


@reference("clip-gradient")
def clip_gradient(p: dict[str, Any], mistake: str | None) -> dict[str, Any]:
    g = np.array(p["g"], dtype=float)
    beta = float(p["threshold"])
    norm = float(np.sqrt((g**2).sum()))
    param = torch.nn.Parameter(torch.zeros(g.shape, dtype=torch.float64))
    param.grad = torch.tensor(g)
    if mistake is None:
        total = float(torch.nn.utils.clip_grad_norm_([param], max_norm=beta))
        # torch divides by ||g|| + 1e-6: within the tolerance of the rule's beta / ||g||
        new = param.grad.numpy()
        return {"g": new.tolist(), "norm_before": total,
                "norm_after": float(np.linalg.norm(new)), "scale": min(1.0, beta / norm)}
    if mistake == "clip-by-value":
        torch.nn.utils.clip_grad_value_([param], clip_value=beta)
        new = param.grad.numpy()
        after = float(np.linalg.norm(new))
        return {"g": new.tolist(), "norm_before": norm, "norm_after": after,
                "scale": after / norm}
    if mistake == "squared-norm":
        wrong = float((g**2).sum())  # ||g||^2 taken for ||g||
        scale = beta / wrong if wrong > beta else 1.0
        new = scale * g
        return {"g": new.tolist(), "norm_before": wrong, "norm_after": float((new**2).sum()),
                "scale": scale}
    raise KeyError(mistake)
