"""optimizer-step computed independently: torch.optim (float64) step by step, for the right
answers and for the mistakes a torch optimiser makes (Adam's weight_decay for AdamW's, plain SGD
momentum for Nesterov); the others in NumPy from the update rules as the papers write them,
with the mistaken term changed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from reference import reference

DEFAULT_LR = {"sgd": 1e-3, "momentum": 1e-3, "nesterov": 1e-3, "adagrad": 1e-2, "rmsprop": 1e-2,
              "adam": 1e-3, "adamw": 1e-3}


def _grads(p: dict[str, Any]) -> tuple[np.ndarray, list[np.ndarray]]:
    w = np.array(p["w"], dtype=float)
    g = np.array(p["g"], dtype=float)
    grads = [g] if g.shape == w.shape else list(g)
    return w, grads


def _hyper(p: dict[str, Any]) -> dict[str, float]:
    opt = p["optimizer"]
    return {
        "lr": float(p["lr"]) if p.get("lr") is not None else DEFAULT_LR[opt],
        "mu": float(p["momentum"]) if p.get("momentum") is not None else 0.9,
        "b1": float(p["beta1"]), "b2": float(p["beta2"]),
        "eps": float(p["eps"]) if p.get("eps") is not None else (
            1e-10 if opt == "adagrad" else 1e-8),
        "rho": float(p["rho"]),
        "wd": float(p["weight_decay"]) if p.get("weight_decay") is not None else (
            0.01 if opt == "adamw" else 0.0),
    }


def _state(p: dict[str, Any], name: str, w: np.ndarray) -> np.ndarray:
    return np.zeros_like(w) if p.get(name) is None else np.array(p[name], dtype=float)


def _torch(p: dict[str, Any], as_opt: str | None = None) -> dict[str, Any]:
    """torch.optim, one .step() per gradient (pytorch convention)."""
    opt = as_opt or p["optimizer"]
    h = _hyper(p)
    w0, grads = _grads(p)
    w = torch.tensor(w0, dtype=torch.float64, requires_grad=True)
    if opt in ("sgd", "momentum", "nesterov"):
        o = torch.optim.SGD([w], lr=h["lr"], momentum=0.0 if opt == "sgd" else h["mu"],
                            nesterov=opt == "nesterov", weight_decay=h["wd"])
    elif opt == "adagrad":
        o = torch.optim.Adagrad([w], lr=h["lr"], eps=h["eps"], weight_decay=h["wd"])
    elif opt == "rmsprop":
        o = torch.optim.RMSprop([w], lr=h["lr"], alpha=h["rho"], eps=h["eps"],
                                weight_decay=h["wd"])
    else:
        cls = torch.optim.AdamW if opt == "adamw" else torch.optim.Adam
        o = cls([w], lr=h["lr"], betas=(h["b1"], h["b2"]), eps=h["eps"], weight_decay=h["wd"])
    # the state before the first step, where one is given
    state = o.state[w]
    if opt in ("momentum", "nesterov") and p.get("velocity") is not None:
        state["momentum_buffer"] = torch.tensor(p["velocity"], dtype=torch.float64)
    if opt == "adagrad":
        o.state[w]["sum"] = torch.tensor(_state(p, "v", w0), dtype=torch.float64)
        o.state[w]["step"] = torch.tensor(0.0)
    if opt == "rmsprop" and p.get("v") is not None:
        state["square_avg"] = torch.tensor(p["v"], dtype=torch.float64)
        state["step"] = torch.tensor(0.0)
    if opt in ("adam", "adamw") and (p.get("m") is not None or p.get("v") is not None
                                     or p.get("t")):
        state["exp_avg"] = torch.tensor(_state(p, "m", w0), dtype=torch.float64)
        state["exp_avg_sq"] = torch.tensor(_state(p, "v", w0), dtype=torch.float64)
        state["step"] = torch.tensor(float(p.get("t") or 0))
    steps = []
    for g in grads:
        w.grad = torch.tensor(g, dtype=torch.float64)
        o.step()
        steps.append(w.detach().numpy().copy())
    out: dict[str, Any] = {"w": steps[-1].tolist(), "w_steps": [s.tolist() for s in steps],
                           "update": (steps[-1] - (steps[-2] if len(steps) > 1 else w0))
                           .tolist()}
    st = o.state[w]
    if opt in ("momentum", "nesterov"):
        out["velocity"] = st["momentum_buffer"].tolist()
    if opt == "adagrad":
        out["v"] = st["sum"].tolist()
    if opt == "rmsprop":
        out["v"] = st["square_avg"].tolist()
    if opt in ("adam", "adamw"):
        t = float(st["step"])
        out["m"], out["v"] = st["exp_avg"].tolist(), st["exp_avg_sq"].tolist()
        out["m_hat"] = (st["exp_avg"] / (1 - h["b1"] ** t)).tolist()
        out["v_hat"] = (st["exp_avg_sq"] / (1 - h["b2"] ** t)).tolist()
    return out


def _numpy(p: dict[str, Any], mistake: str | None, convention: str) -> dict[str, Any]:
    """The update rules as the papers write them, entry by entry."""
    opt = p["optimizer"]
    h = _hyper(p)
    w, grads = _grads(p)
    w0 = w.copy()
    vel, m, v = _state(p, "velocity", w), _state(p, "m", w), _state(p, "v", w)
    t = int(p.get("t") or 0)
    steps, m_hat, v_hat = [], None, None
    for g in grads:
        t += 1
        if h["wd"] and (opt != "adamw" or mistake == "l2-in-adamw"):
            g = g + h["wd"] * w
        if opt == "sgd":
            w = w - h["lr"] * g
        elif opt in ("momentum", "nesterov"):
            nesterov = opt == "nesterov" and mistake != "nesterov-as-momentum"
            sign = -1 if mistake == "momentum-sign" else 1
            if convention == "classic":
                vel = h["mu"] * vel - h["lr"] * g
                w = w + sign * ((h["mu"] * vel - h["lr"] * g) if nesterov else vel)
            else:
                vel = h["mu"] * vel + g
                w = w - sign * h["lr"] * ((g + h["mu"] * vel) if nesterov else vel)
        else:
            if opt == "adagrad":
                v = v + g * g
                num, sec = g, v
            elif opt == "rmsprop":
                v = h["rho"] * v + (1 - h["rho"]) * g * g
                num, sec = g, v
            else:
                m = h["b1"] * m + (1 - h["b1"]) * g
                v = h["b2"] * v + (1 - h["b2"]) * g * g
                if mistake == "no-bias-correction":
                    m_hat, v_hat = m, v
                else:
                    m_hat, v_hat = m / (1 - h["b1"] ** t), v / (1 - h["b2"] ** t)
                num, sec = m_hat, v_hat
            den = np.sqrt(sec + h["eps"]) if mistake == "eps-inside-sqrt" else \
                np.sqrt(sec) + h["eps"]
            decay = h["wd"] * w if opt == "adamw" and mistake != "l2-in-adamw" else 0.0
            w = w - h["lr"] * (num / den + decay)
        steps.append(w.copy())
    out: dict[str, Any] = {"w": w.tolist(), "w_steps": [s.tolist() for s in steps],
                           "update": (steps[-1] - (steps[-2] if len(steps) > 1 else w0))
                           .tolist()}
    if opt in ("momentum", "nesterov"):
        out["velocity"] = vel.tolist()
    if opt in ("adagrad", "rmsprop", "adam", "adamw"):
        out["v"] = v.tolist()
    if opt in ("adam", "adamw"):
        out["m"] = m.tolist()
        out["m_hat"], out["v_hat"] = m_hat.tolist(), v_hat.tolist()
    return out


@reference("optimizer-step")
def optimizer_step(p: dict[str, Any], mistake: str | None) -> dict[str, Any]:
    opt = p["optimizer"]
    convention = p.get("convention") or "pytorch"
    if opt in ("momentum", "nesterov"):
        other = "classic" if convention == "pytorch" else "pytorch"
        theirs = _numpy(p, None, other)
        extra = {"w_other": theirs["w"], "velocity_other": theirs["velocity"]}
    else:
        extra = {}
    if mistake is None:
        if convention == "classic" and opt in ("momentum", "nesterov"):
            return {**_numpy(p, None, "classic"), **extra}
        return {**_torch(p), **extra}
    if mistake == "l2-in-adamw":
        return _torch({**p, "weight_decay": _hyper(p)["wd"]}, as_opt="adam")
    if mistake == "nesterov-as-momentum" and convention == "pytorch":
        return {**_torch(p, as_opt="momentum"), **extra}
    return {**_numpy(p, mistake, convention), **extra}
