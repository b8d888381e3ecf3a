"""rnn-forward in NumPy: both conventions, and each mistake as a student would make it."""

# ruff: noqa: N803, N806
# (the exam's letters: U, W, V)

from __future__ import annotations

from typing import Any

import numpy as np

from reference import reference

_ACT = {
    "tanh": np.tanh,
    "sigmoid": lambda a: 1 / (1 + np.exp(-a)),
    "relu": lambda a: np.maximum(a, 0),
    "identity": lambda a: a,
    "softmax": lambda a: np.exp(a - a.max()) / np.exp(a - a.max()).sum(),
}


@reference("rnn-forward")
def rnn_forward(p: dict[str, Any], mistake: str | None) -> dict[str, Any]:
    W = np.array(p["W"], dtype=float)
    H = W.shape[0]
    U = np.array(p["U"], dtype=float).reshape(H, -1)
    V = np.array(p["V"], dtype=float)
    one_out = V.ndim == 1
    V = V.reshape(1, H) if one_out else V
    b = np.array(p["b"], dtype=float)
    c = np.array(p["c"], dtype=float).reshape(-1)
    x = np.array(p["x"], dtype=float).reshape(len(p["x"]), -1)
    h = np.zeros(H) if p.get("h0") is None else np.array(p["h0"], dtype=float)
    convention = p["convention"]
    if mistake == "row-convention":
        convention = "row"
    elif mistake == "column-convention":
        convention = "column"
    elif mistake == "no-hidden-bias":
        b = np.zeros_like(b)
    elif mistake == "no-output-bias":
        c = np.zeros_like(c)
    elif mistake == "no-recurrence":
        W = np.zeros_like(W)
    f, g = _ACT[p["activation"]], _ACT[p["output_activation"]]
    if mistake == "no-activation":
        f = _ACT["identity"]
    mine = _forward(U, W, V, b, c, x, h, f, g, convention, one_out)
    other = _forward(U, W, V, b, c, x, h, f, g,
                     "row" if convention == "column" else "column", one_out)
    return {"h": mine[0], "y": mine[1], "pre": mine[2], "h_other": other[0], "y_other": other[1]}


def _forward(U, W, V, b, c, x, h, f, g, convention, one_out):
    hs, ys, pres = [], [], []
    for x_t in x:
        # row convention: the state is a row and multiplies W from the left (h W = W^T h)
        a = U @ x_t + (W @ h if convention == "column" else h @ W) + b
        h = f(a)
        y = g(V @ h + c)
        pres.append(a.tolist())
        hs.append(h.tolist())
        ys.append(float(y[0]) if one_out else y.tolist())
    return hs, ys, pres
