"""mlp computed independently: PyTorch autograd (float64) for the right answers and for a loss
written without its one half; the other mistakes by backpropagation written out in NumPy from
the chain rule (delta_L = dL/do * f'(z_L), delta_l = f'(z_l) * W_{l+1}^T delta_{l+1}), with the
mistaken factor changed; torch.optim.SGD for the update.
"""

# ruff: noqa: N803, N806, E741

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from reference import reference


def _acts(p: dict[str, Any]) -> list[str]:
    names = [n for n in str(p["activations"]).replace(",", " ").split() if n]
    return names * len(p["W"]) if len(names) == 1 else names


def _torch_act(name: str, z: torch.Tensor) -> torch.Tensor:
    return {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu,
            "linear": lambda v: v, "softmax": lambda v: torch.softmax(v, dim=0)}[name](z)


def _autograd(p: dict[str, Any], drop_half: bool) -> dict[str, Any]:
    acts = _acts(p)
    x = torch.tensor(p["x"], dtype=torch.float64, requires_grad=True)
    Ws = [torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in p["W"]]
    bs = [torch.tensor(b, dtype=torch.float64, requires_grad=True) if p.get("b") is not None
          else torch.zeros(len(w), dtype=torch.float64, requires_grad=True)
          for w, b in zip(p["W"], p.get("b") or [None] * len(p["W"]), strict=True)]
    a, zs, outs = x, [], []
    for W, b, name in zip(Ws, bs, acts, strict=True):
        z = W @ a + b
        z.retain_grad()
        zs.append(z)
        a = _torch_act(name, z)
        outs.append(a)
    o, loss_name = outs[-1], p["loss"]
    if loss_name == "none":
        loss = o.sum()
    else:
        t = torch.tensor(p["target"], dtype=torch.float64).reshape(-1)
        if loss_name == "half-mse":
            loss = ((o - t) ** 2).sum() * (1.0 if drop_half else 0.5)
        elif loss_name == "mse":
            loss = torch.nn.functional.mse_loss(o, t)
        elif acts[-1] == "softmax":
            loss = torch.nn.functional.cross_entropy(zs[-1].unsqueeze(0), t.unsqueeze(0))
        else:
            loss = torch.nn.functional.binary_cross_entropy_with_logits(zs[-1], t,
                                                                         reduction="sum")
    loss.backward()
    out: dict[str, Any] = {
        "z": [z.detach().tolist() for z in zs],
        "a": [v.detach().tolist() for v in outs],
        "output": o.item() if o.numel() == 1 else o.detach().tolist(),
        "delta": [z.grad.tolist() for z in zs],
        "dL_dW": [W.grad.tolist() for W in Ws],
        "dL_db": [b.grad.tolist() for b in bs],
        "dL_dx": x.grad.tolist(),
    }
    if loss_name != "none":
        out["loss"] = loss.item()
    if p.get("lr") is not None:
        params = [*Ws, *bs]
        torch.optim.SGD(params, lr=float(p["lr"])).step()
        out["W_new"] = [W.detach().tolist() for W in Ws]
        out["b_new"] = [b.detach().tolist() for b in bs]
    return out


def _numpy_backprop(p: dict[str, Any], mistake: str) -> dict[str, Any]:
    """Backpropagation by hand with the mistaken factor (the right forward pass)."""
    acts = _acts(p)
    Ws = [np.array(w, dtype=float) for w in p["W"]]
    bs = [np.array(b, dtype=float) for b in p["b"]] if p.get("b") is not None else [
        np.zeros(len(w)) for w in Ws]
    a = np.array(p["x"], dtype=float)
    inputs, zs, outs = [], [], []
    for W, b, name in zip(Ws, bs, acts, strict=True):
        inputs.append(a)
        z = W @ a + b
        a = {"sigmoid": lambda v: 1 / (1 + np.exp(-v)), "tanh": np.tanh,
             "relu": lambda v: np.maximum(v, 0), "linear": lambda v: v,
             "softmax": lambda v: np.exp(v) / np.exp(v).sum()}[name](z)
        zs.append(z)
        outs.append(a)
    o, loss = outs[-1], p["loss"]
    t = None if loss == "none" else np.array(p["target"], dtype=float).reshape(-1)

    def slope(l: int, g: np.ndarray) -> np.ndarray:
        name, a_l, z_l = acts[l], outs[l], zs[l]
        if mistake == "no-activation-derivative":
            return g
        if name == "softmax":
            return (np.diag(a_l) - np.outer(a_l, a_l)) @ g
        return g * {"sigmoid": a_l * (1 - a_l), "tanh": 1 - a_l**2,
                    "relu": (z_l > 0).astype(float), "linear": np.ones_like(z_l)}[name]

    def back(W: np.ndarray) -> np.ndarray:
        return W if mistake == "w-not-transposed" and W.shape[0] == W.shape[1] else W.T

    L = len(Ws)
    deltas: list[np.ndarray] = [np.zeros(0)] * L
    if loss == "cross-entropy":
        deltas[-1] = o - t
    else:
        grad = np.ones(1) if loss == "none" else (o - t) if loss == "half-mse" else \
            2 * (o - t) / len(o)
        deltas[-1] = slope(L - 1, grad)
    for l in range(L - 2, -1, -1):
        deltas[l] = slope(l, back(Ws[l + 1]) @ deltas[l + 1])
    out: dict[str, Any] = {
        "delta": [d.tolist() for d in deltas],
        "dL_dW": [np.outer(d, i).tolist() for d, i in zip(deltas, inputs, strict=True)],
        "dL_db": [d.tolist() for d in deltas],
        "dL_dx": (back(Ws[0]) @ deltas[0]).tolist(),
    }
    if p.get("lr") is not None:
        lr = float(p["lr"])
        out["W_new"] = [(W - lr * np.outer(d, i)).tolist()
                        for W, d, i in zip(Ws, deltas, inputs, strict=True)]
        out["b_new"] = [(b - lr * d).tolist() for b, d in zip(bs, deltas, strict=True)]
    return out


def _halved(right: dict[str, Any], p: dict[str, Any]) -> dict[str, Any]:
    """Every gradient half the right one (the chain rule is linear in dL/do)."""
    def half(v: Any) -> Any:
        return [half(x) for x in v] if isinstance(v, list) else v / 2
    out = {k: half(right[k]) for k in ("delta", "dL_dW", "dL_db", "dL_dx")}
    if p.get("lr") is not None:
        lr = float(p["lr"])
        out["W_new"] = [(np.array(w, dtype=float) - lr * np.array(g)).tolist()
                        for w, g in zip(p["W"], out["dL_dW"], strict=True)]
        bs = p["b"] if p.get("b") is not None else [[0.0] * len(w) for w in p["W"]]
        out["b_new"] = [(np.array(b, dtype=float) - lr * np.array(g)).tolist()
                        for b, g in zip(bs, out["dL_db"], strict=True)]
    return out


@reference("mlp")
def mlp(p: dict[str, Any], mistake: str | None) -> dict[str, Any]:
    if mistake is None:
        return _autograd(p, drop_half=False)
    if mistake == "half-dropped":
        return _autograd(p, drop_half=True)
    right = _autograd(p, drop_half=False)
    if mistake == "half-doubled":
        return _halved(right, p)
    if mistake == "bias-not-updated":
        bs = p["b"] if p.get("b") is not None else [[0.0] * len(w) for w in p["W"]]
        return {**right, "b_new": [list(map(float, b)) for b in bs]}
    return {**right, **_numpy_backprop(p, mistake)}
