"""lstm-forward, lstm-gates and gru-forward in NumPy, and each named mistake as a student makes it.

Written from the cells' formulas (Olah's LSTM; the GRU of Cho et al. with z keeping the old state,
as PyTorch and Keras compute it); tests/test_lstm.py and tests/test_gru.py check that these agree
with torch.nn.LSTM and torch.nn.GRU.
"""

# ruff: noqa: N803, N806
# (the cells' letters: W_f, U_h, C)

from __future__ import annotations

from typing import Any

import numpy as np

from reference import reference


def _sigmoid(a: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-a))


def _inputs(x: Any) -> np.ndarray:
    """The inputs as a T x D array (a list of numbers is one input per step)."""
    arr = np.array(x, dtype=float)
    return arr.reshape(len(arr), -1)


def _vector(value: Any, H: int) -> np.ndarray:
    return np.zeros(H) if value is None else np.array(value, dtype=float)


# the example cell of lstm-forward when no weights are given (one unit, one input)
_LSTM_EXAMPLE = {"W_f": [[0.5, 0.4]], "W_i": [[0.3, 0.6]], "W_C": [[0.2, 0.8]],
                 "W_o": [[0.7, 0.1]], "x": [1, 2]}


@reference("lstm-forward")
def lstm_forward(p: dict[str, Any], mistake: str | None) -> dict[str, Any]:
    p = dict(p)
    if p["W_f"] is None:
        p.update({k: v for k, v in _LSTM_EXAMPLE.items() if p.get(k) is None})
    W = {k: np.array(p[k], dtype=float) for k in ("W_f", "W_i", "W_C", "W_o")}
    H = W["W_f"].shape[0]
    b = {k: _vector(p[k], H) for k in ("b_f", "b_i", "b_C", "b_o")}
    h, C = _vector(p["h0"], H), _vector(p["C0"], H)
    out: dict[str, list] = {k: [] for k in ("h", "C", "f", "i", "C_tilde", "o")}
    for x_t in _inputs(p["x"]):
        hx = np.concatenate([h, x_t])  # [h_{t-1}, x_t]
        f = _sigmoid(W["W_f"] @ hx + b["b_f"])
        i = _sigmoid(W["W_i"] @ hx + b["b_i"])
        candidate_act = _sigmoid if mistake == "sigmoid-candidate" else np.tanh
        C_tilde = candidate_act(W["W_C"] @ hx + b["b_C"])
        if mistake == "forget-input-swapped":
            C = i * C + f * C_tilde
        elif mistake == "input-gate-left-out":
            C = f * C + C_tilde
        else:
            C = f * C + i * C_tilde
        o = _sigmoid(W["W_o"] @ hx + b["b_o"])
        h = np.tanh(C) if mistake == "no-output-gate" else o * np.tanh(C)
        if mistake == "no-tanh-of-cell":
            h = o * C
        for name, value in (("h", h), ("C", C), ("f", f), ("i", i), ("C_tilde", C_tilde),
                            ("o", o)):
            out[name].append(value.tolist())
    return out


@reference("lstm-gates")
def lstm_gates(p: dict[str, Any], mistake: str | None) -> dict[str, Any]:
    # Olah's figure, left to right: forget, input (sigmoid), candidate (tanh), output (sigmoid)
    first, second = ("i_t", "f_t") if mistake == "forget-input-swapped" else ("f_t", "i_t")
    return {
        "forget_gate": first,
        "input_gate": second,
        "output_gate": "o_t",
        "candidate": "C~_t",
        "cell_state": "C_t",
        "hidden_state": "h_t",
        # d(f C_{t-1} + i C~_t)/dC_{t-1}, with whichever gate multiplies C_{t-1}
        "cell_path": f"diag({first})",
        "y_from": (f"C_{p['steps']}" if mistake == "y-from-cell-state" else "h_1"
                   if mistake == "y-from-first-state" else f"h_{p['steps']}"),
    }


_GRU_EXAMPLE = {"W_z": [0.5], "W_r": [0.3], "W_h": [0.8], "U_z": [[0.4]], "U_r": [[0.2]],
                "U_h": [[0.6]], "x": [1, 2]}


@reference("gru-forward")
def gru_forward(p: dict[str, Any], mistake: str | None) -> dict[str, Any]:
    p = dict(p)
    if p["W_z"] is None:
        p.update({k: v for k, v in _GRU_EXAMPLE.items() if p.get(k) is None})
    U = {k: np.array(p[k], dtype=float) for k in ("U_z", "U_r", "U_h")}
    H = U["U_z"].shape[0]
    W = {k: np.array(p[k], dtype=float).reshape(H, -1) for k in ("W_z", "W_r", "W_h")}
    b = {k: _vector(p[k], H) for k in ("b_z", "b_r", "b_h", "b_hn")}
    reset_after = p["reset_after"]
    after = reset_after != (mistake == "reset-after-swapped")  # where the reset gate acts
    # olah: z weights the candidate; the mistake takes the other rule than the question's
    olah = (p["update_rule"] == "olah") != (mistake == "update-rule-swapped")
    no_reset = mistake == "reset-gate-left-out"
    out = _gru_run(p, W, U, b, H, after, olah, no_reset, mistake)
    out["h_other"] = _gru_run(p, W, U, b, H, after, not olah, no_reset, mistake)["h"]
    return out


def _gru_run(p: dict[str, Any], W: dict[str, np.ndarray], U: dict[str, np.ndarray],
             b: dict[str, np.ndarray], H: int, after: bool, olah: bool,
             no_reset: bool = False, mistake: str | None = None) -> dict[str, list]:
    act = (lambda a: a) if mistake == "no-candidate-tanh" else np.tanh
    h = _vector(p["h0"], H)
    out: dict[str, list] = {k: [] for k in ("h", "z", "r", "h_tilde")}
    for x_t in _inputs(p["x"]):
        z = _sigmoid(W["W_z"] @ x_t + U["U_z"] @ h + b["b_z"])
        r = _sigmoid(W["W_r"] @ x_t + U["U_r"] @ h + b["b_r"])
        if no_reset:  # the reset gate left out: r taken as 1
            candidate = act(W["W_h"] @ x_t + U["U_h"] @ h + b["b_h"] + b["b_hn"])
        elif after:
            candidate = act(W["W_h"] @ x_t + b["b_h"] + r * (U["U_h"] @ h + b["b_hn"]))
        else:  # b_hn is zero unless a reset_after question is answered the other way
            candidate = act(W["W_h"] @ x_t + U["U_h"] @ (r * h) + b["b_h"] + b["b_hn"])
        if mistake == "update-gate-left-out":
            h = candidate
        elif olah:
            h = (1 - z) * h + z * candidate
        else:
            h = z * h + (1 - z) * candidate
        for name, value in (("h", h), ("z", z), ("r", r), ("h_tilde", candidate)):
            out[name].append(value.tolist())
    return out
