"""Why a simple RNN's gradients vanish or explode (bptt): the backward chain, and the loss's
gradients with an output layer and targets.

For h_t = tanh(W h_{t-1} + U x_t + b), the chain rule gives one Jacobian per step,

    dh_t/dh_{t-1} = diag(1 - h_t^2) W,

so dh_T/dh_k is the product of T - k such factors and its spectral norm is at most
(γ σ_max(W))^(T-k), with γ = max |tanh'| = 1. The bound shrinks geometrically when σ_max(W) < 1
(vanishing); when σ_max(W) > 1 the product can grow (exploding) unless tanh saturates. The LSTM's
cell path has dC_t/dC_{t-1} = diag(f_t) instead, near the identity while the forget gate is open.

Long sequences are evaluated step by step in floating point (NumPy): T = 1000 steps cost T small
matrix products, and only the time steps the layout shows (:data:`dlexam.notation.display.LAYOUT`:
the first and last few) are built as formulas; the others are named as left out. This is the one
layout choice made while deriving (see :func:`bptt`): everywhere else derivations build every
step and the renderers choose what to show.
"""

# ruff: noqa: N803, N806
# (matrix names follow the exam's letters: W, U, H, T; the registry passes them by these names)

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import sympy as sp

from dlexam.derivations.cells import EXAMPLE_RNN, Activation, inputs_of, msym, zeros
from dlexam.derivations.contract import Answer, Mistake
from dlexam.derivations.core import Result, Step, derivation, put_in, three_part
from dlexam.derivations.params import Param, bind_dims
from dlexam.derivations.sampling import Draw
from dlexam.errors import InputError, Said
from dlexam.notation import display, register_symbols, sym

register_symbols({
    "target_t": (r"y^{*}_{t}", "y*_t"),
    "V_out": ("V", "V"),
    "V_out_T": (r"V^{\top}", "V^T"),
    "c_out": ("c", "c"),
    "y_out": ("y_t", "y_t"),
    "e_t": ("e_t", "e_t"),
    "L_bptt": ("L", "L"),
    "dL_dh_t": (r"\frac{\partial L}{\partial h_t}", "∂L/∂h_t"),
    "delta_t": (r"\delta_t", "δ_t"),
    "delta_next": (r"\delta_{t+1}", "δ_{t+1}"),
    "dL_dW": (r"\frac{\partial L}{\partial W}", "∂L/∂W"),
    "dL_dU": (r"\frac{\partial L}{\partial U}", "∂L/∂U"),
    "dL_db": (r"\frac{\partial L}{\partial b}", "∂L/∂b"),
    "dL_dV": (r"\frac{\partial L}{\partial V}", "∂L/∂V"),
    "dL_dc": (r"\frac{\partial L}{\partial c}", "∂L/∂c"),
    "J_t": (r"\frac{\partial h_t}{\partial h_{t-1}}", "∂h_t/∂h_{t-1}"),
    "dhT_dhk": (r"\frac{\partial h_T}{\partial h_k}", "∂h_T/∂h_k"),
    "D_t": (r"\operatorname{diag}\left(1 - h_t^{2}\right)", "diag(1 - h_t^2)"),
    "D_t_sigmoid": (r"\operatorname{diag}\left(h_t \odot (1 - h_t)\right)",
                    "diag(h_t ⊙ (1 - h_t))"),
    "sigma_max_W": (r"\sigma_{\max}(W)", "σ_max(W)"),
    "lambda_max_WTW": (r"\lambda_{\max}\left(W^{\top} W\right)", "λ_max(W^T W)"),
    "gamma": (r"\gamma", "γ"),
    "bound_k": ("B_k", "B_k"),
    "T_len": ("T", "T"),
    "k_idx": ("k", "k"),
})

# max |tanh'(a)|, reached at a = 0
GAMMA = 1
# bptt's hidden activations, each with its largest slope gamma (sigmoid' = h (1 - h) <= 1/4)
BPTT_ACTIVATIONS = ("tanh", "sigmoid")
GAMMAS = {"tanh": sp.Integer(GAMMA), "sigmoid": sp.Rational(1, 4)}


def _activate(a: np.ndarray, activation: str) -> np.ndarray:
    return np.tanh(a) if activation == "tanh" else 1.0 / (1.0 + np.exp(-a))


def _slopes(h: np.ndarray, activation: str) -> np.ndarray:
    """The activation's slope at each unit, written at the new state: 1 - h^2 for tanh,
    h (1 - h) for the sigmoid."""
    return 1.0 - h * h if activation == "tanh" else h * (1.0 - h)


def _by_activation(key: str, activation: str) -> str:
    """A step's catalog key for the activation (the tanh's as it was, ``_sigmoid`` added)."""
    return key if activation == "tanh" else key + "_sigmoid"


def _diag_symbol(activation: str) -> str:
    return "D_t" if activation == "tanh" else "D_t_sigmoid"
# a geometric rate within this distance of 1 is called neither vanishing nor exploding
RATE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Chain:
    """The numbers of one backward pass through time (floats)."""

    states: list[np.ndarray]  # h_1 .. h_T
    factors: list[np.ndarray]  # dh_t/dh_{t-1} for t = 1 .. T
    factor_norms: list[float]
    log_norms: list[float]  # log ||dh_T/dh_k|| for k = 0 .. T-1 (-inf when it is exactly 0)


def _spectral(matrix: np.ndarray) -> float:
    return float(np.linalg.norm(matrix, 2))


def _exp(log_value: float) -> float:
    """exp, with inf instead of an overflow (JSON shows it as "inf")."""
    if log_value == -math.inf:
        return 0.0
    return math.inf if log_value > 709.0 else math.exp(log_value)


def _factor(h: np.ndarray, W: np.ndarray, mistake: str | None,
            activation: str = "tanh") -> np.ndarray:
    """dh_t/dh_{t-1} = diag(f'(a_t)) W at the new state h_t (diag(1 - h_t^2) W for tanh), or a
    mistake's factor: W alone (``no-tanh-derivative``) or diag(f'(a_t)) W^T (``transposed-w``)."""
    if mistake == "no-tanh-derivative":
        return W.copy()
    return _slopes(h, activation)[:, None] * (W.T if mistake == "transposed-w" else W)


def backward_chain(W: np.ndarray, U: np.ndarray, b: np.ndarray, inputs: list[np.ndarray],
                   h0: np.ndarray, *, mistake: str | None = None,
                   activation: str = "tanh") -> Chain:
    """The forward pass and every dh_T/dh_k, with the running product rescaled so that long
    products neither overflow nor underflow before their norms are taken.

    With ``mistake``, each step's factor is that mistake's (see :func:`_factor`); the forward pass
    itself is unchanged."""
    states, factors, factor_norms = [], [], []
    h = h0
    for x_t in inputs:
        h = _activate(W @ h + U @ x_t + b, activation)
        states.append(h)
        factor = _factor(h, W, mistake, activation)
        factors.append(factor)
        factor_norms.append(_spectral(factor))
    T = len(inputs)
    log_norms = [0.0] * T
    product = np.eye(W.shape[0])
    log_scale = 0.0
    for t in range(T, 0, -1):  # product = dh_T/dh_{t-1} = J_T ... J_t
        product = product @ factors[t - 1]
        size = _spectral(product)
        if size == 0.0 or log_scale == -math.inf:
            log_scale = -math.inf
            log_norms[t - 1] = -math.inf
            continue
        log_scale += math.log(size)
        log_norms[t - 1] = log_scale
        product = product / size
    return Chain(states=states, factors=factors, factor_norms=factor_norms, log_norms=log_norms)


def _floats(matrix: np.ndarray) -> sp.ImmutableMatrix:
    rows = matrix if matrix.ndim == 2 else matrix[:, None]
    return sp.ImmutableMatrix([[sp.Float(float(v), 15) for v in row] for row in rows])


def _verdict(sigma: float, rate: float, gamma: float = GAMMA) -> str:
    if gamma * sigma < 1:
        return "vanishing"
    if rate > 1 + RATE_TOLERANCE:
        return "exploding"
    if rate < 1 - RATE_TOLERANCE:
        return "vanishing_saturated"
    return "neither"


def _symbolic_jacobian(activation: str = "tanh"
                       ) -> tuple[sp.ImmutableMatrix, sp.ImmutableMatrix]:
    """SymPy's Jacobian of a two-unit cell, and the same matrix written as diag(1 - h^2) W
    (tanh) or diag(h (1 - h)) W (sigmoid).

    Returns:
        (Jacobian with the new state's entries h_{t,1}, h_{t,2} put back in; diag(1 - h^2) W).
    """
    w = sp.Matrix(2, 2, lambda i, j: sp.Symbol(f"W_{i + 1}{j + 1}"))
    prev = sp.Matrix([sp.Symbol("s_1"), sp.Symbol("s_2")])  # h_{t-1}
    rest = sp.Matrix([sp.Symbol("u_1"), sp.Symbol("u_2")])  # U x_t + b
    pre = w * prev + rest
    h = [sp.Symbol("h_{t,1}"), sp.Symbol("h_{t,2}")]  # the entries of h_t, not h_1 and h_2
    if activation == "tanh":
        new = pre.applyfunc(sp.tanh)
        jac = new.jacobian(prev)
        back = {sp.tanh(pre[i]): h[i] for i in range(2)}
        derived = sp.ImmutableMatrix(jac.xreplace(back))
        form = sp.ImmutableMatrix(sp.diag(*[1 - hi**2 for hi in h]) * w)
        return derived, form
    # the sigmoid's derivative e^{-a} / (1 + e^{-a})^2, with e^{-a} = (1 - h) / h put back
    new = pre.applyfunc(lambda a: 1 / (1 + sp.exp(-a)))
    jac = new.jacobian(prev)
    back = {sp.exp(-pre[i]): (1 - h[i]) / h[i] for i in range(2)}
    derived = sp.ImmutableMatrix(jac.xreplace(back).applyfunc(sp.simplify))
    form = sp.ImmutableMatrix(sp.diag(*[hi * (1 - hi) for hi in h]) * w)
    return derived, form


@functools.cache
def _jacobian_facts(activation: str) -> tuple[sp.ImmutableMatrix, sp.Expr, bool]:
    """The two-unit Jacobian SymPy derives, the activation's derivative, and whether the
    Jacobian agrees with diag(act'(a)) W: the same for every run with this activation (worked
    out once; they were most of a run's time)."""
    derived, form = _symbolic_jacobian(activation)
    a_sym = sym("a_t")
    derivative = sp.diff(sp.tanh(a_sym) if activation == "tanh" else 1 / (1 + sp.exp(-a_sym)),
                         a_sym)
    return derived, derivative, sp.simplify(derived - form) == sp.zeros(2)


BPTT_PARAMS = [
    Param("W", "array", shapes=(("H", "H"),), default=EXAMPLE_RNN["W"]),
    Param("U", "array", shapes=(("H",), ("H", "D")), default=EXAMPLE_RNN["U"]),
    Param("b", "array", shapes=(("H",),), default=EXAMPLE_RNN["b"]),
    Param("x", "array", shapes=(("T",), ("T", "D")), default=EXAMPLE_RNN["x"]),
    Param("h0", "array", shapes=(("H",),), default=None, trace="nonzero"),
    Param("f", "array", shapes=((), ("T", "H")), default=None),
    # the output layer y_t = V h_t + c and the targets of the loss L = 1/2 sum (y_t - target_t)^2
    Param("V", "array", shapes=(("H",), ("O", "H")), default=None),
    Param("c", "array", shapes=((), ("O",)), default=None),
    # one target per step (loss_at=all: T numbers, or T x O) or the last step's (loss_at=last: a
    # number, or O numbers)
    Param("target", "array", shapes=((), ("S",), ("S", "O")), default=None),
    Param("loss_at", "choice", choices=("all", "last"), default="all"),
    Param("activation", "choice", choices=BPTT_ACTIVATIONS, default="tanh"),
]

BPTT_ANSWERS = [
    # a product of up to T hand-rounded factors: a little looser than one rounded number
    Answer("dhT_dhk_norm", "vector", shapes=(("T",),), rel=1e-3),
    Answer("factor_norms", "vector", shapes=(("T",),)),
    Answer("sigma_max_W", "number"),
    # named in the statement (the largest slope of the activation: 1, or 1/4 for the
    # sigmoid), not asked for
    Answer("gamma", "number", asked=False),
    Answer("bound", "vector", shapes=(("T",),)),
    Answer("rate", "number", rel=1e-3),
    # "vanishing", "exploding" or "neither" (info.verdict_case tells saturation apart)
    Answer("verdict", "text"),
    # only when forget-gate values f are given; the statement does not ask for it
    Answer("lstm_path", "vector", shapes=(("T",),), optional=True, asked=False),
    # only when a target is given: the loss and its gradients by backpropagation through time;
    # sums of products of hand-rounded numbers, some entries near 0: a little looser
    Answer("loss", "number", optional=True, rel=1e-3),
    Answer("dL_dW", "matrix", shapes=(("H", "H"),), optional=True, rel=1e-3, abs=1e-4),
    Answer("dL_dU", "vectors", shapes=(("H",), ("H", "D")), optional=True, rel=1e-3, abs=1e-4),
    Answer("dL_db", "vector", shapes=(("H",),), optional=True, rel=1e-3, abs=1e-4),
    Answer("dL_dV", "vectors", shapes=(("H",), ("O", "H")), optional=True, rel=1e-3, abs=1e-4),
    Answer("dL_dc", "vectors", shapes=((), ("O",)), optional=True, rel=1e-3, abs=1e-4),
    # with a target: the error derivatives delta_t = dL/da_t of the hidden pre-activations,
    # one row per time step
    Answer("delta", "vectors", shapes=(("T", "H"),), optional=True, rel=1e-3, abs=1e-4),
]

_CHAIN_ANSWERS = ("dhT_dhk_norm", "factor_norms", "rate", "verdict")
_RECURRENT_GRADIENTS = ("dL_dW", "dL_dU", "dL_db", "delta")

BPTT_MISTAKES = [
    # each factor W alone: the derivative of tanh, diag(1 - h_t^2), dropped
    Mistake("no-tanh-derivative", changes=_CHAIN_ANSWERS + _RECURRENT_GRADIENTS, formula=True),
    # each factor diag(1 - h_t^2) W^T: the backward pass's W^T (delta_{t-1} = W^T (delta_t *
    # (1 - h_t^2))) put into the Jacobian, which is then neither J_t nor its transpose
    Mistake("transposed-w", changes=_CHAIN_ANSWERS + _RECURRENT_GRADIENTS, formula=True),
    # with a target: each step's gradient dL/dh_t taken from its own output only, the path back
    # from later steps (W^T delta_{t+1}) left out
    Mistake("no-recurrent-path", changes=_RECURRENT_GRADIENTS, formula=True,
            applies=lambda p: p.get("target") is not None and len(p["x"]) > 1),
]

# |a_t| stays below this in sampled questions, so that tanh's slope is at least 0.03
_SATURATION = 2.5
# sampled W: sigma_max(W) at most this for a vanishing question ...
_VANISHING_SIGMA = 0.9
# ... and sigma_max(W) and the spectral radius at least these for an exploding or saturated one,
# whose average factor per step is then above this (exploding) or below its inverse (saturated)
_EXPLODING_SIGMA, _EXPLODING_RADIUS, _EXPLODING_RATE = 1.2, 1.1, 1.05
# a mistake is told apart when some factor norm moves by more than this (relative)
_APART = 1e-2


def _good_bptt(params: Mapping[str, Any], regime: str | None) -> bool:
    """Whether drawn parameters make a good question: W in the regime drawn (None: W was given,
    or a sigmoid cell, whose gradient vanishes for every W drawn), the activation away from
    saturation at every step, and each mistake's factor norms apart from the right ones."""
    activation = params.get("activation") or "tanh"
    W = np.array(params["W"], dtype=float)
    H = W.shape[0]
    U = np.array(params["U"], dtype=float).reshape(H, -1)
    b = np.array(params["b"], dtype=float)
    xs = np.array(params["x"], dtype=float).reshape(len(params["x"]), -1)
    h = np.zeros(H) if params.get("h0") is None else np.array(params["h0"], dtype=float)
    sigma = _spectral(W)
    if regime == "vanishing" and sigma > _VANISHING_SIGMA:
        return False
    if regime in ("exploding", "saturated") and (sigma < _EXPLODING_SIGMA
                                  or max(abs(np.linalg.eigvals(W))) < _EXPLODING_RADIUS):
        return False
    apart = {m: False for m in ("no-tanh-derivative", "transposed-w")}  # those of the factors
    for x_t in xs:
        a = W @ h + U @ x_t + b
        if np.max(np.abs(a)) > _SATURATION:
            return False
        h = _activate(a, activation)
        right = _spectral(_factor(h, W, None, activation))
        for m in apart:
            if abs(_spectral(_factor(h, W, m, activation)) - right) > _APART * right:
                apart[m] = True
    if not all(apart.values()):
        return False
    if regime in ("exploding", "saturated"):
        chain = backward_chain(W, U, b, list(xs), np.zeros(H) if params.get("h0") is None
                               else np.array(params["h0"], dtype=float))
        rate = math.exp(chain.log_norms[0] / len(xs))
        return rate > _EXPLODING_RATE if regime == "exploding" else rate < 1 / _EXPLODING_RATE
    return True


def sample_bptt(draw: Draw, fixed: Mapping[str, Any]) -> dict[str, Any]:
    """A two-unit tanh RNN over 3 to 6 scalar inputs, weights of one decimal.

    Two questions in five have a small W (sigma_max(W) <= 0.9: the gradient vanishes), the others
    a large one (sigma_max(W) >= 1.2, spectral radius >= 1.1) where the gradient explodes (two in
    five: the average factor per step above 1.05) or still vanishes because the states sit where
    tanh is flat (one in five: below 1/1.05). The inputs are small whole numbers, every
    pre-activation stays within +-2.5, and each mistake moves some factor norm by more than 1%.
    One question in four has a sigmoid cell instead (its slopes are at most 1/4: the gradient
    vanishes for every W drawn).
    """
    dims = bind_dims(BPTT_PARAMS, fixed)
    H = dims.get("H", 2)
    output_form = any(fixed.get(k) is not None for k in ("V", "c", "target", "loss_at"))
    with_target = output_form or draw.chance(0.4)
    T = dims.get("T", draw.integer(2, 3) if with_target else draw.integer(3, 6))
    D = dims.get("D", 1)
    activation = fixed.get("activation") or ("sigmoid" if draw.chance(0.25) else "tanh")
    regime = (draw.choice(("vanishing", "vanishing", "exploding", "exploding", "saturated"))
              if "W" not in fixed and activation == "tanh" else None)
    limit = 0.6 if regime == "vanishing" else 1.2
    out: dict[str, Any] = {}
    for _ in range(500):
        out = {
            "W": draw.array((H, H), -limit, limit, nonzero=True),
            "U": draw.array((H,) if D == 1 else (H, D), -1, 1, nonzero=True),
            "b": draw.array((H,), -0.5, 0.5, nonzero=True),
            "x": [draw.integer(1, 2) * draw.choice((-1, 1)) for _ in range(T)] if D == 1
            else draw.array((T, D), -1, 1, nonzero=True),
        }
        if with_target:
            out.update(_draw_outputs(draw, fixed, dims, H, T))
        if activation != "tanh":
            out["activation"] = activation
        out.update(fixed)
        if _good_bptt(out, regime):
            return out
    return out


def _draw_outputs(draw: Draw, fixed: Mapping[str, Any], dims: Mapping[str, int], H: int,
                  T: int) -> dict[str, Any]:
    """An output layer of one unit (or O given by a fixed V or c), weights and bias of one
    decimal, and targets of one decimal: one per step, or in one question in three only the
    last step's."""
    n_out = dims.get("O", 1)
    V = draw.array((H,) if n_out == 1 else (n_out, H), -1, 1, nonzero=True)
    c = draw.decimal(-0.5, 0.5) if n_out == 1 else draw.array((n_out,), -0.5, 0.5)
    loss_at = fixed.get("loss_at") or ("last" if draw.chance(1 / 3) else "all")
    count = 1 if loss_at == "last" else T
    if n_out == 1:
        target: Any = (draw.decimal(-1, 1) if count == 1
                       else [draw.decimal(-1, 1) for _ in range(count)])
    else:
        target = (draw.array((n_out,), -1, 1) if count == 1
                  else draw.array((count, n_out), -1, 1))
    out = {"V": V, "c": c, "target": target}
    if loss_at == "last":
        out["loss_at"] = "last"
    return out


def _bptt_question(values: dict[str, Any]) -> dict[str, Any]:
    """The initial state for the statement (zeros when not given); with a target, the
    statement that asks for the loss's gradients."""
    data = {"h0": values["h0"] if values["h0"] is not None else zeros(values["W"].rows)}
    statement = None
    if values.get("target") is not None:
        statement = "gradient" if values["loss_at"] == "all" else "gradient_last"
    if values.get("activation", "tanh") != "tanh":  # the sigmoid cell's own statements
        statement = "sigmoid" if statement is None else statement + "_sigmoid"
    if statement is not None:
        data["statement"] = statement
    return data


def _mistaken_steps(steps: list[Step], mistake: str, W: sp.ImmutableMatrix,
                    chain: Chain, activation: str = "tanh") -> list[Step]:
    """The steps of a mistaken run: its Jacobian in place of diag(1 - h_t^2) W, no check of the
    right Jacobian by SymPy, and each step's factor as the mistake computes it (the chain, and so
    every norm after it, is already the mistake's)."""
    H = W.rows
    Ws, D_sym = msym("W", H, H), msym(_diag_symbol(activation), H, H)
    values: dict[sp.Basic, Any] = {Ws: W}
    jac: sp.Basic = Ws
    if mistake == "transposed-w":
        W_T = msym("W_T", H, H)
        with sp.evaluate(False):
            jac = sp.MatMul(D_sym, W_T)
        values = {W_T: sp.ImmutableMatrix(W.T)}
    out: list[Step] = []
    for step in steps:
        if step.key == _by_activation("bptt.jacobian_two_units", activation):
            continue
        if step.key == _by_activation("bptt.jacobian", activation):
            step = replace(step, key=_by_activation(
                "bptt.jacobian_" + mistake.replace("-", "_"), activation), symbolic=jac)
        elif step.key == "bptt.factor":
            h_t = chain.states[step.data["t"] - 1]
            key = "bptt.factor_w_alone" if mistake == "no-tanh-derivative" else step.key
            step = three_part(key, step.lhs, jac,
                              {**values, D_sym: _floats(np.diag(_slopes(h_t, activation)))},
                              **step.data)
        out.append(step)
    return out


BPTT_TARGET_STEPS = 100
"""With a target, bptt derives every term of the chain rule: at most this many steps (at T =
1000, H = D = O = 8 it took a minute; at 100, under two seconds)."""


@derivation(
    "bptt",
    params=BPTT_PARAMS,
    limits={"T": 1000, "H": 8, "D": 8, "O": 8, "S": BPTT_TARGET_STEPS},
    answers=BPTT_ANSWERS,
    mistakes=BPTT_MISTAKES,
    sampler=sample_bptt,
    question=_bptt_question,
)
def bptt(
    W: sp.ImmutableMatrix,
    U: sp.ImmutableMatrix,
    b: sp.ImmutableMatrix,
    x: sp.ImmutableMatrix,
    h0: sp.ImmutableMatrix | None,
    f: Any,
    V: sp.ImmutableMatrix | None = None,
    c: Any = None,
    target: Any = None,
    loss_at: str = "all",
    activation: str = "tanh",
    mistake: str | None = None,
) -> Result:
    """How the gradient of a tanh (or sigmoid) RNN behaves through time, factor by factor.

    Args:
        W: recurrent weights, H x H.
        U: input weights, H x D (an H list for a scalar input).
        b: hidden bias (H).
        x: the inputs, one per time step: numbers, or lists of D numbers.
        h0: the initial state (zeros when not given).
        f: forget-gate values of an LSTM for comparison: one number for every unit and step, or
            T x H (one row per time step).
        V: output weights, y_t = V h_t + c (an H list for one output, or O x H).
        c: output bias (a number, or O numbers; 0 when not given).
        target: with V, the targets of L = 1/2 sum_t ||y_t - target_t||^2: one per step
            (loss_at=all) or the last step's (loss_at=last).
        loss_at: ``all`` (a target per step) or ``last``.
        activation: the hidden activation, ``tanh`` (the exam's) or ``sigmoid``; its largest
            slope gamma is 1 or 1/4, and each factor is diag(1 - h_t^2) W or diag(h_t (1 - h_t)) W.
        mistake: a declared mistake's id, computed from start to end (``no-tanh-derivative``:
            each factor W alone; ``transposed-w``: each factor diag(1 - h_t^2) W^T;
            ``no-recurrent-path``: dL/dh_t from y_t alone).

    Raises:
        InputError: a target without V, or targets of the wrong number or width.
    """
    H = W.rows
    inputs, _scalar = inputs_of(U, x)
    T = len(inputs)
    if target is not None and T > BPTT_TARGET_STEPS:
        raise InputError("x", Said("gradients.errors.steps", n=BPTT_TARGET_STEPS), f"T = {T}")
    outputs = _outputs(V, c, target, loss_at, T) if target is not None else None
    W_np = np.array(W.tolist(), dtype=float)
    U_np = np.array(U.tolist(), dtype=float)
    b_np = np.array(list(b), dtype=float)
    xs = [np.atleast_1d(np.array(list(v) if isinstance(v, sp.MatrixBase) else [v], dtype=float))
          for v in inputs]
    start = np.zeros(H) if h0 is None else np.array(list(h0), dtype=float)
    chain = backward_chain(W_np, U_np, b_np, xs, start, mistake=mistake, activation=activation)
    figures = _chain_figures(W_np, chain, T, activation)
    cell = _Cell.of(H, U.cols, activation)

    steps = _chain_steps(W, x, T, cell, figures)
    steps += _time_steps(W, U, b, inputs, start, chain, cell)
    steps += _verdict_steps(T, figures, activation)
    answers: dict[str, Any] = {
        "dhT_dhk_norm": figures.norms,
        "factor_norms": chain.factor_norms,
        "sigma_max_W": figures.sigma,
        "gamma": figures.gamma if activation != "tanh" else GAMMA,
        "bound": figures.bound,
        "rate": figures.rate,
        "verdict": "vanishing" if figures.verdict == "vanishing_saturated" else figures.verdict,
    }
    if f is not None:
        step, answers["lstm_path"] = _lstm_path(f, T, H, figures.norms)
        steps.append(step)
    if outputs is not None:
        grads, grad_steps = _gradients(W_np, U_np, xs, start, chain.states, outputs, mistake,
                                       activation)
        answers.update(grads)
        steps += grad_steps
    steps.append(Step(key="bptt.remedies"))
    if mistake is not None:
        steps = _mistaken_steps(steps, mistake, W, chain, activation)
    return Result(convention="column", steps=tuple(steps), answers=answers,
                  info={"verdict_case": figures.verdict})


@dataclass(frozen=True)
class _Figures:
    """The backward chain's figures: sigma_max(W), the norms of dh_T/dh_k, their bound
    (gamma sigma)^(T-k), the average factor per step and the verdict it gives."""

    sigma: float
    norms: list[float]
    gamma: sp.Rational
    bound: list[float]
    rate: float
    verdict: str


def _chain_figures(W_np: np.ndarray, chain: Chain, T: int, activation: str) -> _Figures:
    """The figures step group's numbers, from the backward chain."""
    sigma = _spectral(W_np)
    norms = [_exp(v) for v in chain.log_norms]
    gamma_value = GAMMAS[activation]
    log_sigma = math.log(float(gamma_value) * sigma) if sigma > 0 else -math.inf
    bound = [_exp((T - k) * log_sigma) if sigma > 0 else 0.0 for k in range(T)]
    # the average factor per step over the whole sequence: ||dh_T/dh_0||^(1/T)
    rate = _exp(chain.log_norms[0] / T) if chain.log_norms[0] != -math.inf else 0.0
    return _Figures(sigma=sigma, norms=norms, gamma=gamma_value, bound=bound, rate=rate,
                    verdict=_verdict(sigma, rate, float(gamma_value)))


@dataclass(frozen=True)
class _Cell:
    """The cell's symbols and formulas: h_t = act(W h_{t-1} + U x_t + b) and its Jacobian
    D_t W."""

    activation: str
    Ws: sp.MatrixSymbol
    h_prev: sp.MatrixSymbol
    Us: sp.MatrixSymbol
    bs: sp.MatrixSymbol
    x_t: Any
    D: sp.MatrixSymbol
    formula: sp.Basic
    jac: sp.Basic

    @classmethod
    def of(cls, H: int, D_in: int, activation: str) -> _Cell:
        Ws, h_prev, Us, bs = msym("W", H, H), msym("h_prev", H), msym("U", H, D_in), msym("b", H)
        x_t = sym("x_t") if D_in == 1 else msym("x_t", D_in)
        D = msym(_diag_symbol(activation), H, H)
        with sp.evaluate(False):
            formula = Activation(activation, sp.MatAdd(sp.MatMul(Ws, h_prev), sp.MatMul(Us, x_t),
                                                       bs))
            jac = sp.MatMul(msym(_diag_symbol(activation), H, H), Ws)
        return cls(activation, Ws, h_prev, Us, bs, x_t, D, formula, jac)


def _chain_steps(W: sp.ImmutableMatrix, x: sp.ImmutableMatrix, T: int, cell: _Cell,
                 figures: _Figures) -> list[Step]:
    """The chain step group: the cell, its Jacobian (in general and for two units), their
    product over the steps, sigma_max(W) and the bound."""
    activation = cell.activation
    steps: list[Step] = []
    # the whole input sequence: a template lists it, or uses the message's long form
    steps.append(Step(key=_by_activation("bptt.cell", activation), lhs=sym("h_t"),
                      symbolic=cell.formula, data={"units": W.rows, "steps": T, "x": x}))
    derived, derivative, agrees = _jacobian_facts(activation)
    steps.append(Step(key=_by_activation("bptt.jacobian", activation), lhs=sym("J_t"),
                      symbolic=cell.jac, data={"derivative": derivative}))
    steps.append(Step(key=_by_activation("bptt.jacobian_two_units", activation),
                      lhs=sym("J_t"), symbolic=derived, data={"agrees": bool(agrees)}))
    t_idx, k_idx, T_sym = sp.Symbol("t"), sym("k_idx"), sym("T_len")
    with sp.evaluate(False):
        product = sp.Product(sym("J_t"), (t_idx, sp.Add(k_idx, 1), T_sym))
    steps.append(Step(key="bptt.product", lhs=sym("dhT_dhk"), symbolic=product,
                      data={"steps": T, "last_k": T - 1}))
    sigma, gamma_value, bound = figures.sigma, figures.gamma, figures.bound
    steps.append(Step(key="bptt.sigma_max", lhs=sym("sigma_max_W"),
                      symbolic=sp.sqrt(sym("lambda_max_WTW")), value=sp.Float(sigma, 15),
                      data={"gram": W.T * W, "lambda_max": sp.Float(sigma**2, 15)}))
    gamma, s_sym = sym("gamma"), sym("sigma_max_W")
    with sp.evaluate(False):
        bound_formula = sp.Pow(sp.Mul(gamma, s_sym), sp.Add(T_sym, sp.Mul(-1, k_idx)))
    bound_key = _by_activation("bptt.bound", activation)
    bound_step = three_part(bound_key, sym("bound_k"), bound_formula,
                            {gamma: gamma_value, s_sym: sp.Float(sigma, 15),
                             T_sym: sp.Integer(T), k_idx: sp.Integer(0)}, gamma=gamma_value,
                            steps=T)
    steps.append(bound_step if bound[0] not in (0.0, math.inf) else
                 Step(key=bound_key, lhs=sym("bound_k"), symbolic=bound_formula,
                      value=sp.Float(bound[0]),
                      data={"gamma": gamma_value, "steps": T}))
    return steps


def _time_steps(W: sp.ImmutableMatrix, U: sp.ImmutableMatrix, b: sp.ImmutableMatrix,
                inputs: list[Any], start: np.ndarray, chain: Chain, cell: _Cell) -> list[Step]:
    """The time-step group: each shown step's state and Jacobian factor with its numbers.

    The one layout choice a derivation makes, and the only place it reads the layout: which
    time steps are written out. Building all T = 1,000 steps' formulas (8 x 8 matrices put
    in) would cost several times the whole run, so the derivation builds those the layout
    names and declares the others left out (their numbers are in the answers). Every other
    shortening (attention rows, sums, products) is marked on complete steps and chosen
    by the renderers (dlexam.derivations.core.Elidable).
    """
    activation, Ws, h_prev, Us, bs, x_t = (cell.activation, cell.Ws, cell.h_prev, cell.Us,
                                           cell.bs, cell.x_t)
    shown, skipped = display.LAYOUT.sequence(len(inputs))
    D_sym, h_sym = cell.D, sym("h_t")
    steps: list[Step] = []
    gap = None if skipped is None else Step(key="bptt.skipped", data={
        "first": skipped[0], "last": skipped[1], "count": skipped[1] - skipped[0] + 1})
    for t in shown:
        if gap is not None and skipped is not None and t > skipped[1]:
            steps.append(gap)
            gap = None
        h_before = start if t == 1 else chain.states[t - 2]
        values: dict[sp.Basic, Any] = {Ws: W, h_prev: _floats(h_before), Us: U, bs: b,
                                       x_t: inputs[t - 1]}
        state = three_part("bptt.state", h_sym, cell.formula, values, t=t)
        h_t = chain.states[t - 1]
        diag = _floats(np.diag(_slopes(h_t, activation)))
        factor = three_part("bptt.factor", sym("J_t"), cell.jac, {D_sym: diag, Ws: W}, t=t,
                            norm=sp.Float(chain.factor_norms[t - 1], 15),
                            largest_slope=sp.Float(float(np.max(_slopes(h_t, activation))),
                                                   15))
        steps += [state, factor]
    if gap is not None:  # a layout that shows no step after the gap
        steps.append(gap)
    return steps


def _verdict_steps(T: int, figures: _Figures, activation: str) -> list[Step]:
    """The verdict step group: the norms against the bound, and what they say."""
    norms, bound, rate, sigma = figures.norms, figures.bound, figures.rate, figures.sigma
    return [
        Step(key="bptt.norms", data={
            "steps": T,
            "last": sp.Float(norms[T - 1], 15),
            "whole": sp.Float(norms[0], 15) if math.isfinite(norms[0]) else "inf",
            "bound": sp.Float(bound[0], 15) if math.isfinite(bound[0]) else "inf",
            "rate": sp.Float(rate, 15) if math.isfinite(rate) else "inf",
        }),
        Step(key=_by_activation(f"bptt.verdict_{figures.verdict}", activation), data={
            "sigma": sp.Float(sigma, 15),
            "rate": sp.Float(rate, 15) if math.isfinite(rate) else "inf",
            "steps": T, "gamma": figures.gamma,
            "gamma_sigma": sp.Float(float(figures.gamma) * sigma, 15),
        }),
    ]


def _lstm_path(f: Any, T: int, H: int, norms: list[float]) -> tuple[Step, list[float]]:
    """The LSTM comparison: the cell path's norms through the forget gates, as a step and the
    answer."""
    gates = _forget_gates(f, T, H)
    log_path = _log_cell_path(gates)
    lstm_norms = [_exp(v) for v in log_path]
    with sp.evaluate(False):
        path_formula = sym("diag_f")
    step = Step(key="bptt.lstm_path", lhs=sym("dC_dCprev"), symbolic=path_formula,
                data={"steps": T, "whole": sp.Float(lstm_norms[0], 15),
                      "rnn": sp.Float(norms[0], 15) if math.isfinite(norms[0]) else "inf"})
    return step, lstm_norms


@dataclass(frozen=True)
class Outputs:
    """The output layer and the targets, as floats."""

    V: np.ndarray  # O x H
    c: np.ndarray  # n_out
    targets: np.ndarray  # one row per step with a loss (O numbers each)
    steps: list[int]  # the steps with a loss, 1-based
    V_vector: bool  # V given as an H list (one output): dL/dV is then an H list
    c_number: bool  # one output and c a number (or not given): dL/dc is then a number


def _numbers(value: Any) -> list[float]:
    return [float(v) for v in value] if isinstance(value, sp.MatrixBase) else [float(value)]


def _outputs(V: sp.ImmutableMatrix | None, c: Any, target: Any, loss_at: str,
             T: int) -> Outputs:
    """The output layer and the targets, checked against each other.

    Raises:
        InputError: a target without V; c or the targets of the wrong width or number.
    """
    if V is None:
        raise InputError("V", Said("gradients.errors.output_weights"), Said("errors.nothing"))
    V_vector = V.cols == 1
    V_np = np.array(V.tolist(), dtype=float).reshape(1, -1) if V_vector else np.array(
        V.tolist(), dtype=float)
    n_out = V_np.shape[0]
    c_np = np.zeros(n_out) if c is None else np.array(_numbers(c))
    if c_np.size != n_out:
        raise InputError("c", Said("gradients.errors.per_output_one" if n_out == 1 else
                                   "gradients.errors.per_output", n=n_out), f"{c_np.size}")
    flat = _numbers(target)
    count = T if loss_at == "all" else 1
    if len(flat) != count * n_out:
        want = (Said("gradients.errors.targets", T=T) if loss_at == "all"
                else Said("gradients.errors.last_target"))
        raise InputError("target", Said("gradients.errors.each", want=want, n=n_out)
                         if n_out > 1 else want, Said("gradients.errors.numbers", n=len(flat)))
    return Outputs(V=V_np, c=c_np, targets=np.array(flat).reshape(count, n_out),
                   steps=list(range(1, T + 1)) if loss_at == "all" else [T],
                   V_vector=V_vector, c_number=n_out == 1 and not isinstance(c, sp.MatrixBase))


def _col(vector: np.ndarray) -> sp.ImmutableMatrix:
    return _floats(np.asarray(vector, dtype=float).reshape(-1))


def _gradients(W: np.ndarray, U: np.ndarray, xs: list[np.ndarray], h0: np.ndarray,
               states: list[np.ndarray], out: Outputs,
               mistake: str | None, activation: str = "tanh"
               ) -> tuple[dict[str, Any], list[Step]]:
    """The loss L = 1/2 sum_t ||y_t - target_t||^2 and its gradients by backpropagation through
    time, every term of the chain rule as a step with its numbers.

    Backwards from t = T: e_t = y_t - target_t (0 at a step without a loss), dL/dh_t =
    V^T e_t + W^T delta_{t+1}, delta_t = diag(1 - h_t^2) dL/dh_t; then dL/dW = sum delta_t
    h_{t-1}^T, dL/dU = sum delta_t x_t^T, dL/db = sum delta_t, dL/dV = sum e_t h_t^T,
    dL/dc = sum e_t. The mistakes: ``no-tanh-derivative`` delta_t = dL/dh_t;
    ``transposed-w`` W delta_{t+1} for W^T delta_{t+1}; ``no-recurrent-path`` dL/dh_t = V^T e_t.
    """
    steps, ys, errors, loss = _forward_outputs(states, out)
    deltas, back = _backward_deltas(W, states, out, ys, errors, mistake, activation)
    steps += back
    T = len(states)
    prev = [h0, *states[:-1]]
    dW: Any = sum(np.outer(deltas[t], prev[t]) for t in range(T))
    dU: Any = sum(np.outer(deltas[t], xs[t]) for t in range(T))
    db: Any = sum(deltas)
    dV: Any = sum(np.outer(errors[t], states[t]) for t in range(T))
    dc: Any = sum(errors)
    for key, lhs, value in (("bptt.grad_W", "dL_dW", dW), ("bptt.grad_U", "dL_dU", dU),
                            ("bptt.grad_b", "dL_db", db), ("bptt.grad_V", "dL_dV", dV),
                            ("bptt.grad_c", "dL_dc", dc)):
        arr = np.asarray(value, dtype=float)
        shown = _floats(arr) if arr.ndim == 2 and arr.shape[1] > 1 else _col(arr)
        if arr.size == 1 and lhs == "dL_dc":
            shown = sp.Float(float(arr.ravel()[0]), 15)
        steps.append(Step(key=key, lhs=sym(lhs), symbolic=shown, data={"steps": T}))
    U_vector = U.shape[1] == 1
    answers: dict[str, Any] = {
        "loss": loss,
        "dL_dW": dW.tolist(),
        "dL_dU": dU[:, 0].tolist() if U_vector else dU.tolist(),
        "dL_db": np.asarray(db).tolist(),
        "dL_dV": dV[0].tolist() if out.V_vector else dV.tolist(),
        "dL_dc": float(dc[0]) if out.c_number else np.asarray(dc).tolist(),
        "delta": [np.asarray(d, dtype=float).tolist() for d in deltas],
    }
    return answers, steps


def _output_symbols(n_out: int) -> tuple[Any, Any, Any]:
    """The symbols of y_t, c and the target (scalars for one output, vectors for more)."""
    if n_out > 1:
        return msym("y_out", n_out), msym("c_out", n_out), msym("target_t", n_out)
    return sym("y_out"), sym("c_out"), sym("target_t")


def _forward_outputs(states: list[np.ndarray], out: Outputs
                     ) -> tuple[list[Step], list[np.ndarray], list[np.ndarray], float]:
    """The outputs step group: y_t = V h_t + c at every step, the errors and the loss. Returns
    the steps, the outputs, the errors (0 at a step without a loss) and L."""
    T, H = len(states), out.V.shape[1]
    n_out = out.V.shape[0]
    steps: list[Step] = []
    ys: list[np.ndarray] = []
    errors: list[np.ndarray] = []
    loss = 0.0
    Vs, h_sym = msym("V_out", n_out, H), msym("h_t", H)
    y_sym, cs, _target = _output_symbols(n_out)
    with sp.evaluate(False):
        y_formula = sp.MatAdd(sp.MatMul(Vs, h_sym), cs) if n_out > 1 else sp.Add(
            sp.MatMul(Vs, h_sym), cs)
    for t in range(1, T + 1):
        y = out.V @ states[t - 1] + out.c
        ys.append(y)
        e = np.zeros(n_out)
        if t in out.steps:
            e = y - out.targets[out.steps.index(t)]
            loss += 0.5 * float(e @ e)
        errors.append(e)
        shown_y = _col(y) if n_out > 1 else sp.Float(float(y[0]), 15)
        steps.append(Step(key="bptt.output", lhs=y_sym, symbolic=y_formula,
                          substituted=put_in(y_formula, {Vs: _floats(out.V), h_sym:
                                                          _col(states[t - 1]),
                                                          cs: _col(out.c) if n_out > 1 else
                                                          sp.Float(float(out.c[0]), 15)}),
                          value=shown_y, data={"t": t}))
    steps.append(Step(key="bptt.loss" if len(out.steps) > 1 else "bptt.loss_last",
                      lhs=sym("L_bptt"), symbolic=sp.Float(loss, 15),
                      data={"steps": T, "last": T}))
    return steps, ys, errors, loss


def _backward_deltas(W: np.ndarray, states: list[np.ndarray], out: Outputs,
                     ys: list[np.ndarray], errors: list[np.ndarray], mistake: str | None,
                     activation: str) -> tuple[list[np.ndarray], list[Step]]:
    """The backward step group, from t = T down: each step's output error, dL/dh_t and delta_t.
    Returns the deltas (in time order) and the steps."""
    T, H = len(states), W.shape[0]
    n_out = out.V.shape[0]
    steps: list[Step] = []
    y_sym, _cs, target_sym = _output_symbols(n_out)
    e_sym = msym("e_t", n_out) if n_out > 1 else sym("e_t")
    dh_sym, delta_sym, next_sym = msym("dL_dh_t", H), msym("delta_t", H), msym("delta_next", H)
    D_sym, W_T, V_T = (msym(_diag_symbol(activation), H, H), msym("W_T", H, H),
                       msym("V_out_T", H, n_out))
    deltas: list[np.ndarray] = [np.zeros(H)] * T
    after = np.zeros(H)  # delta_{t+1}
    for t in range(T, 0, -1):
        e = errors[t - 1]
        if t in out.steps:
            with sp.evaluate(False):
                e_formula = (sp.MatAdd(y_sym, sp.MatMul(-1, target_sym)) if n_out > 1
                             else sp.Add(y_sym, sp.Mul(-1, target_sym)))
            target_value = out.targets[out.steps.index(t)]
            steps.append(Step(
                key="bptt.output_error", lhs=e_sym, symbolic=e_formula,
                substituted=put_in(e_formula, {y_sym: _col(ys[t - 1]),
                                               target_sym: _col(target_value)})
                if n_out > 1 else sp.Add(sp.Float(float(ys[t - 1][0]), 15),
                                         sp.Float(-float(target_value[0]), 15), evaluate=False),
                value=_col(e) if n_out > 1 else sp.Float(float(e[0]), 15), data={"t": t}))
        recurrent = W if mistake == "transposed-w" else W.T
        direct = out.V.T @ e
        terms: list[sp.Basic] = []
        values: dict[sp.Basic, Any] = {}
        if t in out.steps:
            terms.append(sp.MatMul(V_T, e_sym))
            values.update({V_T: _floats(out.V.T), e_sym: _col(e) if n_out > 1
                           else sp.Float(float(e[0]), 15)})
        grad_h = direct.copy()
        if t < T and mistake != "no-recurrent-path":
            grad_h = grad_h + recurrent @ after
            W_used = msym("W", H, H) if mistake == "transposed-w" else W_T
            terms.append(sp.MatMul(W_used, next_sym))
            values.update({W_used: _floats(recurrent), next_sym: _col(after)})
        if terms:
            with sp.evaluate(False):
                formula = terms[0] if len(terms) == 1 else sp.MatAdd(*terms)
            key = {"transposed-w": "bptt.grad_h_w", "no-recurrent-path": "bptt.grad_h_direct"
                   }.get(mistake or "", "bptt.grad_h")
            steps.append(Step(key=key, lhs=dh_sym, symbolic=formula,
                              substituted=put_in(formula, values), value=_col(grad_h),
                              data={"t": t}))
        else:
            steps.append(Step(key="bptt.grad_h_zero", lhs=dh_sym, symbolic=_col(grad_h),
                              data={"t": t}))
        slopes = _slopes(states[t - 1], activation)
        if mistake == "no-tanh-derivative":
            delta = grad_h
            steps.append(Step(key=_by_activation("bptt.grad_a_no_slope", activation),
                              lhs=delta_sym, symbolic=dh_sym,
                              substituted=_col(grad_h), value=_col(delta), data={"t": t}))
        else:
            delta = slopes * grad_h
            with sp.evaluate(False):
                formula = sp.MatMul(D_sym, dh_sym)
            steps.append(Step(key=_by_activation("bptt.grad_a", activation), lhs=delta_sym,
                              symbolic=formula,
                              substituted=put_in(formula, {D_sym: _floats(np.diag(slopes)),
                                                           dh_sym: _col(grad_h)}),
                              value=_col(delta), data={"t": t}))
        deltas[t - 1] = delta
        after = delta
    return deltas, steps


def _forget_gates(f: Any, T: int, H: int) -> np.ndarray:
    """The forget gates as a T x H array.

    Raises:
        InputError: a value outside [0, 1] (a sigmoid's range).
    """
    if isinstance(f, sp.MatrixBase):
        gates = np.array(f.tolist(), dtype=float)
    else:
        gates = np.full((T, H), float(f))
    if gates.shape != (T, H):
        raise InputError("f", Said("gradients.errors.gates", shape=f"{T} x {H}"),
                         f"{gates.shape[0]} x {gates.shape[1]}")
    if np.any(gates < 0) or np.any(gates > 1):
        raise InputError("f", Said("gradients.errors.gate_range"),
                         Said("gradients.errors.outside"))
    return gates


def _log_cell_path(gates: np.ndarray) -> list[float]:
    """log ||dC_T/dC_k|| for k = 0 .. T-1: the product of diag(f_t) is diagonal, so its norm is
    the largest entry-wise product."""
    with np.errstate(divide="ignore"):
        logs = np.log(gates)
    suffix = np.cumsum(logs[::-1], axis=0)[::-1]  # row k: sum over t = k+1 .. T
    return [float(np.max(row)) for row in suffix]
