"""The GRU cell with numbers: update gate, reset gate, candidate state, new state.

    z_t = σ(W_z x_t + U_z h_{t-1} + b_z)                      update gate
    r_t = σ(W_r x_t + U_r h_{t-1} + b_r)                      reset gate
    h~_t = tanh(W_h x_t + b_h + r_t ⊙ (U_h h_{t-1} + b_hn))   reset_after (PyTorch, Keras' default)
    h~_t = tanh(W_h x_t + U_h (r_t ⊙ h_{t-1}) + b_h)          reset before (Cho et al., 2014)
    h_t = z_t ⊙ h_{t-1} + (1 - z_t) ⊙ h~_t

The two candidate forms differ in where the reset gate acts: on the recurrent product (with its
own bias b_hn, PyTorch's b_hn) or on the previous state before the product.
"""

# ruff: noqa: N803, N806
# (matrix names follow the usual letters: W_z, U_h; the registry passes them by these names)

from __future__ import annotations

from typing import Any

import sympy as sp

from dlexam.derivations.cells import (
    DIGITS,
    Activation,
    check_sizes,
    example,
    flat,
    inputs_of,
    msym,
    numbers_step,
    settle,
    zeros,
)
from dlexam.derivations.core import Result, Step, derivation
from dlexam.derivations.params import Param, exact
from dlexam.errors import InputError
from dlexam.notation import register_symbols, sym

register_symbols({
    "z_t": ("z_t", "z_t"),
    "r_t": ("r_t", "r_t"),
    "h_tilde": (r"\tilde{h}_t", "h~_t"),
    "W_z": ("W_z", "W_z"),
    "W_r": ("W_r", "W_r"),
    "W_h": ("W_h", "W_h"),
    "U_z": ("U_z", "U_z"),
    "U_r": ("U_r", "U_r"),
    "U_h": ("U_h", "U_h"),
    "b_z": ("b_z", "b_z"),
    "b_r": ("b_r", "b_r"),
    "b_h": ("b_h", "b_h"),
    "b_hn": (r"b_{hn}", "b_hn"),
    "ones": (r"\mathbf{1}", "1"),
})

# a small example cell (one unit, a scalar input) used when no weights are given
EXAMPLE: dict[str, Any] = {
    "W_z": [0.5], "W_r": [0.3], "W_h": [0.8],
    "U_z": [[0.4]], "U_r": [[0.2]], "U_h": [[0.6]],
    "x": [1, 2],
}


def _formulas(H: int, D: int, scalar_in: bool, reset_after: bool) -> dict[str, Any]:
    """The cell's formulas and the symbols they are written in."""
    s: dict[str, Any] = {
        "x_t": sym("x_t") if scalar_in else msym("x_t", D),
        "h_prev": msym("h_prev", H),
        "ones": msym("ones", H),
        **{k: msym(k, H, D) for k in ("W_z", "W_r", "W_h")},
        **{k: msym(k, H, H) for k in ("U_z", "U_r", "U_h")},
        **{k: msym(k, H) for k in ("b_z", "b_r", "b_h", "b_hn", "z_t", "r_t", "h_tilde")},
    }
    x, h = s["x_t"], s["h_prev"]
    with sp.evaluate(False):
        for gate, w, u, b in (("z_t", "W_z", "U_z", "b_z"), ("r_t", "W_r", "U_r", "b_r")):
            s[f"{gate}_formula"] = Activation("sigmoid", sp.MatAdd(
                sp.MatMul(s[w], x), sp.MatMul(s[u], h), s[b]))
        if reset_after:
            recurrent = sp.MatAdd(sp.MatMul(s["U_h"], h), s["b_hn"])
            candidate = sp.MatAdd(sp.MatMul(s["W_h"], x), s["b_h"],
                                  sp.HadamardProduct(s["r_t"], recurrent))
        else:
            candidate = sp.MatAdd(sp.MatMul(s["W_h"], x),
                                  sp.MatMul(s["U_h"], sp.HadamardProduct(s["r_t"], h)), s["b_h"])
        s["h_tilde_formula"] = Activation("tanh", candidate)
        s["h_formula"] = sp.MatAdd(
            sp.HadamardProduct(s["z_t"], h),
            sp.HadamardProduct(sp.MatAdd(s["ones"], sp.MatMul(-1, s["z_t"])), s["h_tilde"]),
        )
    return s


@derivation(
    "gru-forward",
    params=[
        Param("W_z", "array", shapes=(("H",), ("H", "D")), default=None),
        Param("W_r", "array", shapes=(("H",), ("H", "D")), default=None),
        Param("W_h", "array", shapes=(("H",), ("H", "D")), default=None),
        Param("U_z", "array", shapes=(("H", "H"),), default=None),
        Param("U_r", "array", shapes=(("H", "H"),), default=None),
        Param("U_h", "array", shapes=(("H", "H"),), default=None),
        Param("b_z", "array", shapes=(("H",),), default=None),
        Param("b_r", "array", shapes=(("H",),), default=None),
        Param("b_h", "array", shapes=(("H",),), default=None),
        Param("b_hn", "array", shapes=(("H",),), default=None),
        Param("x", "array", shapes=(("T",), ("T", "D")), default=None),
        Param("h0", "array", shapes=(("H",),), default=None),
        Param("reset_after", "bool", default=True),
    ],
    limits={"T": 6, "H": 4, "D": 4},
)
def gru_forward(
    W_z: sp.ImmutableMatrix | None,
    W_r: sp.ImmutableMatrix | None,
    W_h: sp.ImmutableMatrix | None,
    U_z: sp.ImmutableMatrix | None,
    U_r: sp.ImmutableMatrix | None,
    U_h: sp.ImmutableMatrix | None,
    b_z: sp.ImmutableMatrix | None,
    b_r: sp.ImmutableMatrix | None,
    b_h: sp.ImmutableMatrix | None,
    b_hn: sp.ImmutableMatrix | None,
    x: sp.ImmutableMatrix | None,
    h0: sp.ImmutableMatrix | None,
    reset_after: bool,
) -> Result:
    """Runs a GRU cell over the inputs, gate by gate.

    Args:
        W_z: update-gate input weights, H x D (an H list for a scalar input).
        W_r: reset-gate input weights.
        W_h: candidate input weights.
        U_z: update-gate recurrent weights, H x H.
        U_r: reset-gate recurrent weights.
        U_h: candidate recurrent weights.
        b_z: update-gate bias (zeros when not given); likewise b_r, b_h.
        b_r: reset-gate bias.
        b_h: candidate bias on the input side.
        b_hn: candidate bias on the recurrent side, inside the reset gate (PyTorch's b_hn);
            only with reset_after.
        x: the inputs, one per time step: numbers, or lists of D numbers.
        h0: the initial state (zeros when not given).
        reset_after: True (PyTorch, Keras' default) applies the reset gate after the recurrent
            product; False (the original paper, Cho et al. 2014) before it.
    """
    w = example({"W_z": W_z, "W_r": W_r, "W_h": W_h, "U_z": U_z, "U_r": U_r, "U_h": U_h},
                EXAMPLE, "every gate's weights")
    H, D = w["W_z"].shape
    for name in ("W_r", "W_h"):
        if w[name].cols != D:
            raise InputError(name, f"shape H x D = {H} x {D} (as W_z)",
                             f"{w[name].rows} x {w[name].cols}")
    if x is None:
        if W_z is not None:
            raise InputError("x", "the inputs, one per time step (the weights are given)",
                             "nothing")
        x = sp.ImmutableMatrix(EXAMPLE["x"]).applyfunc(exact)
    if b_hn is not None and not reset_after:
        raise InputError("b_hn", "no value when reset_after is false (the original GRU has one "
                         "candidate bias, b_h)", "a value")
    check_sizes(H, {"b_z": b_z, "b_r": b_r, "b_h": b_h, "b_hn": b_hn, "h0": h0})
    inputs, scalar_in = inputs_of(w["W_z"], x)
    s = _formulas(H, D, scalar_in, reset_after)
    fixed: dict[sp.Basic, Any] = {
        **{s[k]: v for k, v in w.items()},
        s["b_z"]: zeros(H) if b_z is None else b_z,
        s["b_r"]: zeros(H) if b_r is None else b_r,
        s["b_h"]: zeros(H) if b_h is None else b_h,
        s["b_hn"]: zeros(H) if b_hn is None else b_hn,
        s["ones"]: sp.ImmutableMatrix.ones(H, 1),
    }
    h = zeros(H) if h0 is None else h0
    convention = "reset_after" if reset_after else "reset_before"
    steps: list[Step] = [
        Step(key=f"gru_forward.{convention}", data={"units": H, "steps": len(inputs)}),
    ]
    answers: dict[str, list[Any]] = {"h": [], "z": [], "r": [], "h_tilde": []}
    for t, x_t in enumerate(inputs, start=1):
        values = {**fixed, s["x_t"]: x_t, s["h_prev"]: h}
        z = numbers_step("gru_forward.update", sym("z_t"), s["z_t_formula"], values, t=t)
        r = numbers_step("gru_forward.reset", sym("r_t"), s["r_t_formula"], values, t=t)
        values[s["r_t"]] = r.value
        candidate = numbers_step(f"gru_forward.candidate_{convention}", sym("h_tilde"),
                                 s["h_tilde_formula"], values, t=t)
        values[s["z_t"]], values[s["h_tilde"]] = z.value, candidate.value
        new = numbers_step("gru_forward.state", sym("h_t"), s["h_formula"], values, t=t)
        steps += [z, r, candidate, new]
        h, to_decimals = settle(new.value)
        if to_decimals:
            steps.append(Step(key="recurrent.decimals", data={"t": t, "digits": DIGITS}))
        answers["h"].append(flat(h))
        answers["z"].append(flat(z.value))
        answers["r"].append(flat(r.value))
        answers["h_tilde"].append(flat(candidate.value))
    return Result(derivation="gru-forward", params={}, convention=convention,
                  steps=tuple(steps), answers=answers)
