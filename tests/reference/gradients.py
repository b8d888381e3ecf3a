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


def _act(a: np.ndarray, activation: str) -> np.ndarray:
    return np.tanh(a) if activation == "tanh" else 1 / (1 + np.exp(-a))


def _slope(h: np.ndarray, activation: str) -> np.ndarray:
    """tanh' = 1 - h^2, sigmoid' = h (1 - h), at the new state h."""
    return 1 - h**2 if activation == "tanh" else h * (1 - h)


def _states(W: np.ndarray, U: np.ndarray, b: np.ndarray, xs: np.ndarray,
            h0: np.ndarray, activation: str = "tanh") -> list[np.ndarray]:
    out, h = [], h0
    for x_t in xs:
        h = _act(W @ h + U @ x_t + b, activation)
        out.append(h)
    return out


def _autograd_norms(W: np.ndarray, U: np.ndarray, b: np.ndarray, xs: np.ndarray,
                    h0: np.ndarray, activation: str = "tanh"
                    ) -> tuple[list[float], list[float]]:
    """||dh_t/dh_{t-1}|| per step and ||dh_T/dh_k|| for k = 0 .. T-1, by autograd (float64)."""
    Wt, Ut, bt = (torch.tensor(a, dtype=torch.float64) for a in (W, U, b))
    xt = [torch.tensor(x, dtype=torch.float64) for x in xs]
    f = torch.tanh if activation == "tanh" else torch.sigmoid

    def run(h: torch.Tensor, first: int, last: int) -> torch.Tensor:
        for x in xt[first:last]:
            h = f(Wt @ h + Ut @ x + bt)
        return h

    states = [torch.tensor(h0, dtype=torch.float64)]
    for x in xt:
        states.append(f(Wt @ states[-1] + Ut @ x + bt))
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
    activation = p.get("activation") or "tanh"
    gamma = 1.0 if activation == "tanh" else 0.25  # the largest slope: tanh'(0), sigmoid'(0)
    sigma = float(np.linalg.svd(W, compute_uv=False)[0])
    if mistake is None:
        factor_norms, products = _autograd_norms(W, U, b, xs, h0, activation)
    else:
        states = _states(W, U, b, xs, h0, activation)
        if mistake == "no-tanh-derivative":
            factors = [W for _ in states]
        elif mistake == "transposed-w":
            factors = [np.diag(_slope(h, activation)) @ W.T for h in states]
        elif mistake == "no-recurrent-path":  # the Jacobians are the right ones
            factors = [np.diag(_slope(h, activation)) @ W for h in states]
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
        "gamma": gamma,
        "bound": [(gamma * sigma) ** (T - k) for k in range(T)],
        "rate": rate,
        "verdict": _verdict(gamma * sigma, rate),
    }
    if p.get("f") is not None:
        gates = np.broadcast_to(np.array(p["f"], dtype=float), (T, H))
        out["lstm_path"] = [float(np.prod(gates[k:], axis=0).max()) for k in range(T)]
    if p.get("target") is not None:
        out.update(_bptt_gradients(p, mistake))
    return out


def _clip_rows(g: np.ndarray, beta: float, axis: int, squared: bool) -> dict[str, Any]:
    """tf.clip_by_norm(t, beta, axes=[axis]) written with NumPy: the norm over ``axis`` (kept),
    t * beta / max(norm, beta); ``squared``: the sum of squares taken for the norm."""
    sums = (g**2).sum(axis=axis, keepdims=True)
    norms = sums if squared else np.sqrt(sums)
    new = g * beta / np.maximum(norms, beta)
    new_sums = (new**2).sum(axis=axis)
    return {"g": new.tolist(), "norm_before": norms.ravel().tolist(),
            "norm_after": (new_sums if squared else np.sqrt(new_sums)).tolist(),
            "scale": (beta / np.maximum(norms, beta)).ravel().tolist()}


def _global(tensors: list[np.ndarray], beta: float, mistake: str | None) -> dict[str, Any]:
    """torch.nn.utils.clip_grad_norm_ over several parameters (the global norm); the mistakes
    by clip_grad_value_ / per-parameter clip_grad_norm_ / NumPy."""
    params = []
    for t in tensors:
        param = torch.nn.Parameter(torch.zeros(t.shape, dtype=torch.float64))
        param.grad = torch.tensor(t, dtype=torch.float64)
        params.append(param)
    flat = np.concatenate([t.ravel() for t in tensors])
    norm = float(np.sqrt((flat**2).sum()))
    if mistake is None:
        total = float(torch.nn.utils.clip_grad_norm_(params, max_norm=beta))
        new = np.concatenate([p.grad.numpy().ravel() for p in params])
        return {"g": new.tolist(), "norm_before": total,
                "norm_after": float(np.linalg.norm(new)), "scale": min(1.0, beta / norm)}
    if mistake == "per-tensor-norm":
        for p in params:
            torch.nn.utils.clip_grad_norm_([p], max_norm=beta)
        new = np.concatenate([p.grad.numpy().ravel() for p in params])
        after = float(np.linalg.norm(new))
        return {"g": new.tolist(), "norm_before": norm, "norm_after": after,
                "scale": after / norm}
    return _whole(flat, beta, mistake)


def _whole(g: np.ndarray, beta: float, mistake: str | None) -> dict[str, Any]:
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
    if mistake == "not-clipped":  # the norm is above beta, and g is left as it is
        return {"g": g.tolist(), "norm_before": norm, "norm_after": norm, "scale": 1.0}
    if mistake == "inverted-ratio":  # g times ||g|| / beta
        scale = norm / beta
        return {"g": (scale * g).tolist(), "norm_before": norm,
                "norm_after": float(np.linalg.norm(scale * g)), "scale": scale}
    if mistake == "l1-norm":  # torch's clip_grad_norm_ with norm_type=1
        param.grad = torch.tensor(g)
        total = float(torch.nn.utils.clip_grad_norm_([param], max_norm=beta, norm_type=1))
        new = param.grad.numpy()
        return {"g": new.tolist(), "norm_before": total,
                "norm_after": float(np.abs(new).sum()), "scale": min(1.0, beta / total)}
    raise KeyError(mistake)


@reference("clip-gradient")
def clip_gradient(p: dict[str, Any], mistake: str | None) -> dict[str, Any]:
    beta = float(p["threshold"])
    mode = p.get("mode") or "norm"
    if mode == "global-norm":
        return _global([np.array(t, dtype=float) for t in p["g"]], beta, mistake)
    g = np.array(p["g"], dtype=float)
    if mode == "value" and mistake is None:
        new = torch.clamp(torch.tensor(g), -beta, beta).numpy()
        norm, after = float(np.linalg.norm(g)), float(np.linalg.norm(new))
        return {"g": new.tolist(), "norm_before": norm, "norm_after": after,
                "scale": after / norm}
    if mode == "value" and mistake == "clip-by-norm":
        mistake = None
    axes = p.get("axes")
    if axes is not None:
        chosen = sorted({int(a) % g.ndim for a in np.atleast_1d(axes)})
        if len(chosen) < g.ndim:
            return _clip_rows(g, beta, chosen[0], mistake == "squared-norm")
    return _whole(g, beta, mistake)


def _bptt_gradients(p: dict[str, Any], mistake: str | None) -> dict[str, Any]:
    """L = 1/2 sum (y_t - target_t)^2 with y_t = V h_t + c and its gradients: torch autograd in
    float64 for the right method; the mistakes by a NumPy backward pass written from their
    formulas."""
    W = np.array(p["W"], dtype=float)
    H = W.shape[0]
    U_given = np.array(p["U"], dtype=float)
    U = U_given.reshape(H, -1)
    b = np.array(p["b"], dtype=float)
    xs = np.array(p["x"], dtype=float).reshape(len(p["x"]), -1)
    h0 = np.zeros(H) if p.get("h0") is None else np.array(p["h0"], dtype=float)
    V_given = np.array(p["V"], dtype=float)
    V = V_given.reshape(1, H) if V_given.ndim == 1 else V_given
    n_out = V.shape[0]
    c = np.zeros(n_out) if p.get("c") is None else np.array(p["c"], dtype=float).reshape(-1)
    T = len(xs)
    last = p.get("loss_at") == "last"
    targets = np.array(p["target"], dtype=float).reshape(1 if last else T, n_out)
    at = [T - 1] if last else list(range(T))
    activation = p.get("activation") or "tanh"
    if mistake is None:
        Wt, Ut, bt, Vt, ct = (torch.tensor(a, dtype=torch.float64, requires_grad=True)
                              for a in (W, U, b, V, c))
        f = torch.tanh if activation == "tanh" else torch.sigmoid
        h = torch.tensor(h0, dtype=torch.float64)
        loss = torch.zeros((), dtype=torch.float64)
        pre = []  # the pre-activations a_t, whose gradients are the deltas
        for t in range(T):
            a = Wt @ h + Ut @ torch.tensor(xs[t]) + bt
            a.retain_grad()
            pre.append(a)
            h = f(a)
            if t in at:
                diff = Vt @ h + ct - torch.tensor(targets[at.index(t)])
                loss = loss + 0.5 * (diff**2).sum()
        loss.backward()
        grads = [g.grad.numpy() for g in (Wt, Ut, bt, Vt, ct)]
        deltas = [a.grad.numpy().tolist() for a in pre]
        value = float(loss.detach())
    else:
        hs = [h0]
        for t in range(T):
            hs.append(_act(W @ hs[-1] + U @ xs[t] + b, activation))
        errs = [V @ hs[t + 1] + c - targets[at.index(t)] if t in at else np.zeros(n_out)
                for t in range(T)]
        value = 0.5 * sum(float(e @ e) for e in errs)
        dW, dU, db = np.zeros_like(W), np.zeros_like(U), np.zeros(H)
        later = np.zeros(H)  # dL/da_{t+1}
        deltas = [[0.0] * H for _ in range(T)]
        for t in range(T - 1, -1, -1):
            dh = V.T @ errs[t]
            if t < T - 1:
                if mistake == "transposed-w":
                    dh = dh + W @ later
                elif mistake != "no-recurrent-path":
                    dh = dh + W.T @ later
            da = dh if mistake == "no-tanh-derivative" else _slope(hs[t + 1], activation) * dh
            deltas[t] = da.tolist()
            dW += np.outer(da, hs[t])
            dU += np.outer(da, xs[t])
            db += da
            later = da
        dV = sum(np.outer(errs[t], hs[t + 1]) for t in range(T))
        grads = [dW, dU, db, dV, sum(errs)]
    dW, dU, db, dV, dc = grads
    return {
        "loss": value,
        "dL_dW": dW.tolist(),
        "dL_dU": dU.reshape(U_given.shape).tolist(),
        "dL_db": db.tolist(),
        "dL_dV": dV.reshape(V_given.shape).tolist(),
        "dL_dc": float(dc[0]) if n_out == 1 and np.ndim(p.get("c") or 0) == 0
        else np.asarray(dc).tolist(),
        "delta": deltas,
    }
