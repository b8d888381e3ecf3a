"""Q2: why a simple RNN's gradients vanish or explode (bptt), and gradient clipping.

For h_t = tanh(W h_{t-1} + U x_t + b), the chain rule gives one Jacobian per step,

    dh_t/dh_{t-1} = diag(1 - h_t^2) W,

so dh_T/dh_k is the product of T - k such factors and its spectral norm is at most
(γ σ_max(W))^(T-k), with γ = max |tanh'| = 1. The bound shrinks geometrically when σ_max(W) < 1
(vanishing); when σ_max(W) > 1 the product can grow (exploding) unless tanh saturates. The LSTM's
cell path has dC_t/dC_{t-1} = diag(f_t) instead, near the identity while the forget gate is open.

Long sequences are evaluated step by step in floating point (NumPy): T = 1000 steps cost T small
matrix products, and only a few representative steps are kept as formulas.
"""

# ruff: noqa: N803, N806
# (matrix names follow the exam's letters: W, U, H, T; the registry passes them by these names)

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any

import numpy as np
import sympy as sp

from dlexam.derivations.cells import EXAM_Q4, Activation, inputs_of, msym, zeros
from dlexam.derivations.contract import Answer, Mistake, with_params
from dlexam.derivations.core import Result, Step, derivation, evaluate_at, put_in, three_part
from dlexam.derivations.params import Param, bind_dims
from dlexam.derivations.sampling import Draw
from dlexam.errors import InputError
from dlexam.notation import register_symbols, sym

register_symbols({
    "beta": (r"\beta", "beta"),
    "g": (r"\mathbf{g}", "g"),
    "g_i": (r"\mathbf{g}_i", "g_i"),
    "J_t": (r"\frac{\partial h_t}{\partial h_{t-1}}", "∂h_t/∂h_{t-1}"),
    "dhT_dhk": (r"\frac{\partial h_T}{\partial h_k}", "∂h_T/∂h_k"),
    "D_t": (r"\operatorname{diag}\left(1 - h_t^{2}\right)", "diag(1 - h_t^2)"),
    "sigma_max_W": (r"\sigma_{\max}(W)", "σ_max(W)"),
    "lambda_max_WTW": (r"\lambda_{\max}\left(W^{\top} W\right)", "λ_max(W^T W)"),
    "gamma": (r"\gamma", "γ"),
    "bound_k": ("B_k", "B_k"),
    "T_len": ("T", "T"),
    "k_idx": ("k", "k"),
    "norm_g": (r"\lVert \mathbf{g} \rVert", "||g||"),
    "g_clipped": (r"\hat{\mathbf{g}}", "g^"),
    "norm_g_clipped": (r"\lVert \hat{\mathbf{g}} \rVert", "||g^||"),
})

# max |tanh'(a)|, reached at a = 0
GAMMA = 1
# time steps shown as formulas at the start and at the end of a long sequence
SHOWN_FIRST, SHOWN_LAST = 2, 1
# a geometric rate within this distance of 1 is called neither vanishing nor exploding
RATE_TOLERANCE = 1e-9
# inputs listed in the prose up to this many time steps
LISTED_INPUTS = 12


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


def _factor(h: np.ndarray, W: np.ndarray, mistake: str | None) -> np.ndarray:
    """dh_t/dh_{t-1} = diag(1 - h_t^2) W at the new state h_t, or a mistake's factor: W alone
    (``no-tanh-derivative``) or diag(1 - h_t^2) W^T (``transposed-w``)."""
    if mistake == "no-tanh-derivative":
        return W.copy()
    return (1.0 - h * h)[:, None] * (W.T if mistake == "transposed-w" else W)


def backward_chain(W: np.ndarray, U: np.ndarray, b: np.ndarray, inputs: list[np.ndarray],
                   h0: np.ndarray, *, mistake: str | None = None) -> Chain:
    """The forward pass and every dh_T/dh_k, with the running product rescaled so that long
    products neither overflow nor underflow before their norms are taken.

    With ``mistake``, each step's factor is that mistake's (see :func:`_factor`); the forward pass
    itself is unchanged."""
    states, factors, factor_norms = [], [], []
    h = h0
    for x_t in inputs:
        h = np.tanh(W @ h + U @ x_t + b)
        states.append(h)
        factor = _factor(h, W, mistake)
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


def _shown_steps(T: int) -> list[int]:
    if T <= SHOWN_FIRST + SHOWN_LAST + 1:
        return list(range(1, T + 1))
    return [*range(1, SHOWN_FIRST + 1), *range(T - SHOWN_LAST + 1, T + 1)]


def _verdict(sigma: float, rate: float) -> str:
    if GAMMA * sigma < 1:
        return "vanishing"
    if rate > 1 + RATE_TOLERANCE:
        return "exploding"
    if rate < 1 - RATE_TOLERANCE:
        return "vanishing_saturated"
    return "neither"


def _symbolic_jacobian() -> tuple[sp.ImmutableMatrix, sp.ImmutableMatrix]:
    """SymPy's Jacobian of a two-unit tanh cell, and the same matrix written as diag(1 - h^2) W.

    Returns:
        (Jacobian with the new state's entries h_{t,1}, h_{t,2} put back in; diag(1 - h^2) W).
    """
    w = sp.Matrix(2, 2, lambda i, j: sp.Symbol(f"W_{i + 1}{j + 1}"))
    prev = sp.Matrix([sp.Symbol("s_1"), sp.Symbol("s_2")])  # h_{t-1}
    rest = sp.Matrix([sp.Symbol("u_1"), sp.Symbol("u_2")])  # U x_t + b
    pre = w * prev + rest
    new = pre.applyfunc(sp.tanh)
    jac = new.jacobian(prev)
    h = [sp.Symbol("h_{t,1}"), sp.Symbol("h_{t,2}")]  # the entries of h_t, not h_1 and h_2
    back = {sp.tanh(pre[i]): h[i] for i in range(2)}
    derived = sp.ImmutableMatrix(jac.xreplace(back))
    form = sp.ImmutableMatrix(sp.diag(*[1 - hi**2 for hi in h]) * w)
    return derived, form



BPTT_PARAMS = [
    Param("W", "array", shapes=(("H", "H"),), default=EXAM_Q4["W"]),
    Param("U", "array", shapes=(("H",), ("H", "D")), default=EXAM_Q4["U"]),
    Param("b", "array", shapes=(("H",),), default=EXAM_Q4["b"]),
    Param("x", "array", shapes=(("T",), ("T", "D")), default=EXAM_Q4["x"]),
    Param("h0", "array", shapes=(("H",),), default=None),
    Param("f", "array", shapes=((), ("T", "H")), default=None),
]

BPTT_ANSWERS = [
    # a product of up to T hand-rounded factors: a little looser than one rounded number
    Answer("dhT_dhk_norm", "vector", shapes=(("T",),), rel=1e-3),
    Answer("factor_norms", "vector", shapes=(("T",),)),
    Answer("sigma_max_W", "number"),
    # named in the statement (the largest slope of tanh), not asked for
    Answer("gamma", "integer", asked=False),
    Answer("bound", "vector", shapes=(("T",),)),
    Answer("rate", "number", rel=1e-3),
    # "vanishing", "exploding" or "neither" (info.verdict_case tells saturation apart)
    Answer("verdict", "text"),
    # only when forget-gate values f are given; the statement does not ask for it
    Answer("lstm_path", "vector", shapes=(("T",),), optional=True, asked=False),
]

_CHAIN_ANSWERS = ("dhT_dhk_norm", "factor_norms", "rate", "verdict")

BPTT_MISTAKES = [
    # each factor W alone: the derivative of tanh, diag(1 - h_t^2), dropped
    Mistake("no-tanh-derivative", changes=_CHAIN_ANSWERS, formula=True),
    # each factor diag(1 - h_t^2) W^T: the backward pass's W^T (delta_{t-1} = W^T (delta_t *
    # (1 - h_t^2))) put into the Jacobian, which is then neither J_t nor its transpose
    Mistake("transposed-w", changes=_CHAIN_ANSWERS, formula=True),
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
    """Whether drawn parameters make a good question: W in the regime drawn (None: W was given),
    tanh away from saturation at every step, and each mistake's factor norms apart from the right
    ones."""
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
    apart = {m.id: False for m in BPTT_MISTAKES}
    for x_t in xs:
        a = W @ h + U @ x_t + b
        if np.max(np.abs(a)) > _SATURATION:
            return False
        h = np.tanh(a)
        right = _spectral(_factor(h, W, None))
        for m in apart:
            if abs(_spectral(_factor(h, W, m)) - right) > _APART * right:
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
    """
    dims = bind_dims(BPTT_PARAMS, fixed)
    H = dims.get("H", 2)
    T = dims.get("T", draw.integer(3, 6))
    D = dims.get("D", 1)
    regime = (draw.choice(("vanishing", "vanishing", "exploding", "exploding", "saturated"))
              if "W" not in fixed else None)
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
        out.update(fixed)
        if _good_bptt(out, regime):
            return out
    return out


def _bptt_question(values: dict[str, Any]) -> dict[str, Any]:
    """The initial state for the statement (zeros when not given)."""
    return {"h0": values["h0"] if values["h0"] is not None else zeros(values["W"].rows)}


def _mistaken_steps(steps: list[Step], mistake: str, W: sp.ImmutableMatrix,
                    chain: Chain) -> list[Step]:
    """The steps of a mistaken run: its Jacobian in place of diag(1 - h_t^2) W, no check of the
    right Jacobian by SymPy, and each step's factor as the mistake computes it (the chain, and so
    every norm after it, is already the mistake's)."""
    H = W.rows
    Ws, D_sym = msym("W", H, H), msym("D_t", H, H)
    values: dict[sp.Basic, Any] = {Ws: W}
    jac: sp.Basic = Ws
    if mistake == "transposed-w":
        W_T = msym("W_T", H, H)
        with sp.evaluate(False):
            jac = sp.MatMul(D_sym, W_T)
        values = {W_T: sp.ImmutableMatrix(W.T)}
    out: list[Step] = []
    for step in steps:
        if step.key == "bptt.jacobian_two_units":
            continue
        if step.key == "bptt.jacobian":
            step = replace(step, key="bptt.jacobian_" + mistake.replace("-", "_"), symbolic=jac)
        elif step.key == "bptt.factor":
            h_t = chain.states[step.data["t"] - 1]
            key = "bptt.factor_w_alone" if mistake == "no-tanh-derivative" else step.key
            step = three_part(key, step.lhs, jac,
                              {**values, D_sym: _floats(np.diag(1.0 - h_t * h_t))}, **step.data)
        out.append(step)
    return out


@derivation(
    "bptt",
    params=BPTT_PARAMS,
    limits={"T": 1000, "H": 8, "D": 8},
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
    mistake: str | None = None,
) -> Result:
    """How the gradient of a tanh RNN behaves through time, factor by factor.

    Args:
        W: recurrent weights, H x H.
        U: input weights, H x D (an H list for a scalar input).
        b: hidden bias (H).
        x: the inputs, one per time step: numbers, or lists of D numbers.
        h0: the initial state (zeros when not given).
        f: forget-gate values of an LSTM for comparison: one number for every unit and step, or
            T x H (one row per time step).
        mistake: a declared mistake's id, computed from start to end (``no-tanh-derivative``:
            each factor W alone; ``transposed-w``: each factor diag(1 - h_t^2) W^T).
    """
    H = W.rows
    inputs, _scalar = inputs_of(U, x)
    T = len(inputs)
    W_np = np.array(W.tolist(), dtype=float)
    U_np = np.array(U.tolist(), dtype=float)
    b_np = np.array(list(b), dtype=float)
    xs = [np.atleast_1d(np.array(list(v) if isinstance(v, sp.MatrixBase) else [v], dtype=float))
          for v in inputs]
    start = np.zeros(H) if h0 is None else np.array(list(h0), dtype=float)
    chain = backward_chain(W_np, U_np, b_np, xs, start, mistake=mistake)
    sigma = _spectral(W_np)
    gram = W.T * W
    norms = [_exp(v) for v in chain.log_norms]
    log_sigma = math.log(GAMMA * sigma) if sigma > 0 else -math.inf
    bound = [_exp((T - k) * log_sigma) if sigma > 0 else 0.0 for k in range(T)]
    # the average factor per step over the whole sequence: ||dh_T/dh_0||^(1/T)
    rate = _exp(chain.log_norms[0] / T) if chain.log_norms[0] != -math.inf else 0.0
    verdict = _verdict(sigma, rate)

    steps: list[Step] = []
    Ws, h_prev, Us, bs = msym("W", H, H), msym("h_prev", H), msym("U", H, U.cols), msym("b", H)
    x_t = sym("x_t") if U.cols == 1 else msym("x_t", U.cols)
    with sp.evaluate(False):
        cell = Activation("tanh", sp.MatAdd(sp.MatMul(Ws, h_prev), sp.MatMul(Us, x_t), bs))
        jac = sp.MatMul(msym("D_t", H, H), Ws)
    listed = T <= LISTED_INPUTS
    steps.append(Step(key="bptt.cell" if listed else "bptt.cell_long", lhs=sym("h_t"),
                      symbolic=cell, data={"units": H, "steps": T, "x": x}))
    derived, form = _symbolic_jacobian()
    steps.append(Step(key="bptt.jacobian", lhs=sym("J_t"), symbolic=jac,
                      data={"derivative": sp.diff(sp.tanh(sym("a_t")), sym("a_t"))}))
    agrees = sp.simplify(derived - form) == sp.zeros(2)
    steps.append(Step(key="bptt.jacobian_two_units", lhs=sym("J_t"), symbolic=derived,
                      data={"agrees": bool(agrees)}))
    t_idx, k_idx, T_sym = sp.Symbol("t"), sym("k_idx"), sym("T_len")
    with sp.evaluate(False):
        product = sp.Product(sym("J_t"), (t_idx, sp.Add(k_idx, 1), T_sym))
    steps.append(Step(key="bptt.product", lhs=sym("dhT_dhk"), symbolic=product,
                      data={"steps": T, "last_k": T - 1}))
    steps.append(Step(key="bptt.sigma_max", lhs=sym("sigma_max_W"),
                      symbolic=sp.sqrt(sym("lambda_max_WTW")), value=sp.Float(sigma, 15),
                      data={"gram": gram, "lambda_max": sp.Float(sigma**2, 15)}))
    gamma, s_sym = sym("gamma"), sym("sigma_max_W")
    with sp.evaluate(False):
        bound_formula = sp.Pow(sp.Mul(gamma, s_sym), sp.Add(T_sym, sp.Mul(-1, k_idx)))
    bound_step = three_part("bptt.bound", sym("bound_k"), bound_formula,
                            {gamma: sp.Integer(GAMMA), s_sym: sp.Float(sigma, 15),
                             T_sym: sp.Integer(T), k_idx: sp.Integer(0)}, gamma=GAMMA, steps=T)
    steps.append(bound_step if bound[0] not in (0.0, math.inf) else
                 Step(key="bptt.bound", lhs=sym("bound_k"), symbolic=bound_formula,
                      value=sp.Float(bound[0]),
                      data={"gamma": GAMMA, "steps": T}))

    shown = _shown_steps(T)
    D_sym, h_sym = msym("D_t", H, H), sym("h_t")
    for t in shown:
        if t == shown[-1] and t > SHOWN_FIRST + 1 and len(shown) < T:
            steps.append(Step(key="bptt.skipped", data={"first": SHOWN_FIRST + 1, "last": t - 1,
                                                        "count": t - 1 - SHOWN_FIRST}))
        h_before = start if t == 1 else chain.states[t - 2]
        values: dict[sp.Basic, Any] = {Ws: W, h_prev: _floats(h_before), Us: U, bs: b,
                                       x_t: inputs[t - 1]}
        state = three_part("bptt.state", h_sym, cell, values, t=t)
        h_t = chain.states[t - 1]
        diag = _floats(np.diag(1.0 - h_t * h_t))
        factor = three_part("bptt.factor", sym("J_t"), jac, {D_sym: diag, Ws: W}, t=t,
                            norm=sp.Float(chain.factor_norms[t - 1], 15),
                            largest_slope=sp.Float(float(np.max(1.0 - h_t * h_t)), 15))
        steps += [state, factor]

    steps.append(Step(key="bptt.norms", data={
        "steps": T,
        "last": sp.Float(norms[T - 1], 15),
        "whole": sp.Float(norms[0], 15) if math.isfinite(norms[0]) else "inf",
        "bound": sp.Float(bound[0], 15) if math.isfinite(bound[0]) else "inf",
        "rate": sp.Float(rate, 15) if math.isfinite(rate) else "inf",
    }))
    steps.append(Step(key=f"bptt.verdict_{verdict}", data={
        "sigma": sp.Float(sigma, 15), "rate": sp.Float(rate, 15) if math.isfinite(rate) else "inf",
        "steps": T,
    }))

    answers: dict[str, Any] = {
        "dhT_dhk_norm": norms,
        "factor_norms": chain.factor_norms,
        "sigma_max_W": sigma,
        "gamma": GAMMA,
        "bound": bound,
        "rate": rate,
        "verdict": "vanishing" if verdict == "vanishing_saturated" else verdict,
    }
    if f is not None:
        gates = _forget_gates(f, T, H)
        log_path = _log_cell_path(gates)
        lstm_norms = [_exp(v) for v in log_path]
        with sp.evaluate(False):
            path_formula = sym("diag_f")
        steps.append(Step(key="bptt.lstm_path", lhs=sym("dC_dCprev"), symbolic=path_formula,
                          data={"steps": T, "whole": sp.Float(lstm_norms[0], 15),
                                "rnn": sp.Float(norms[0], 15) if math.isfinite(norms[0])
                                else "inf"}))
        answers["lstm_path"] = lstm_norms
    steps.append(Step(key="bptt.remedies"))
    if mistake is not None:
        steps = _mistaken_steps(steps, mistake, W, chain)
    return Result(convention="column", steps=tuple(steps), answers=answers,
                  info={"verdict_case": verdict})


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
        raise InputError("f", f"one number, or T x H = {T} x {H} forget-gate values",
                         f"{gates.shape[0]} x {gates.shape[1]}")
    if np.any(gates < 0) or np.any(gates > 1):
        raise InputError("f", "forget-gate values between 0 and 1", "a value outside")
    return gates


def _log_cell_path(gates: np.ndarray) -> list[float]:
    """log ||dC_T/dC_k|| for k = 0 .. T-1: the product of diag(f_t) is diagonal, so its norm is
    the largest entry-wise product."""
    with np.errstate(divide="ignore"):
        logs = np.log(gates)
    suffix = np.cumsum(logs[::-1], axis=0)[::-1]  # row k: sum over t = k+1 .. T
    return [float(np.max(row)) for row in suffix]


CLIP_MODES = ("norm", "value", "global-norm")

CLIP_PARAMS = [
    # a vector (a list of numbers), a matrix (a list of rows), or for mode=global-norm a list of
    # tensors of any shapes (numbers, vectors, matrices: the gradients of W, U and b)
    Param("g", "array_list", shapes=((), ("N",), ("N", "M")), default=[3, 4], items="K",
          free_items=True),
    Param("threshold", "number", default=1),
    # norm: g <- beta g / ||g|| (tf.clip_by_norm, torch's clip_grad_norm_ of one tensor);
    # value: each entry into [-beta, beta] (tf.clip_by_value, torch.clamp);
    # global-norm: every tensor scaled by beta / global norm (tf.clip_by_global_norm)
    Param("mode", "choice", choices=CLIP_MODES, default="norm"),
    # mode=norm only: the axes the norm is taken over (tf.clip_by_norm(t, c, axes)): for a
    # matrix axes=1 clips each row by its own norm, axes=0 each column; an integer or a list
    Param("axes", "array", shapes=((), ("A",)), default=None),
]

CLIP_ANSWERS = [
    # the clipped gradient, in the shape of g (a vector, or a matrix given row by row); for
    # mode=global-norm every entry of every tensor in order, each tensor row by row (info.tensors
    # keeps them tensor by tensor)
    Answer("g", "vectors", shapes=(("N",), ("N", "M"))),
    # one number, or one per row (column) when the norm is taken along axes
    Answer("norm_before", "vectors", shapes=((), ("R",))),
    Answer("norm_after", "vectors", shapes=((), ("R",))),
    # the factor g is multiplied by: beta / ||g|| when clipped, else 1 (one per row with axes)
    Answer("scale", "vectors", shapes=((), ("R",))),
]


def _no_axes(params: Mapping[str, Any]) -> bool:
    return params.get("axes") is None


CLIP_MISTAKES = [
    # each component clipped to [-beta, beta] on its own (clipping by value, not by norm); with
    # mode=value that is the right method, and the mistake is the reverse one (clip-by-norm)
    Mistake("clip-by-value", changes=("g", "norm_after", "scale"), formula=True,
            applies=lambda p: p.get("mode", "norm") != "value" and _no_axes(p)),
    # the sum of squares, ||g||^2, taken as the norm (the square root forgotten); clipping by
    # value takes no norm
    Mistake("squared-norm", changes=("g", "norm_before", "norm_after", "scale"), formula=True,
            applies=lambda p: p.get("mode", "norm") != "value"),
    # asked to clip by value, the gradient scaled by its norm instead
    Mistake("clip-by-norm", changes=("g", "norm_after", "scale"),
            params=with_params(mode="norm"),
            applies=lambda p: p.get("mode", "norm") == "value"),
    # asked for the global norm, each tensor clipped by its own norm
    Mistake("per-tensor-norm", changes=("g", "norm_after", "scale"), formula=True,
            applies=lambda p: p.get("mode", "norm") == "global-norm"),
]


def _clip_numbers(fixed: Mapping[str, Any], draw: Draw, shape: tuple[int, ...],
                  whole: bool) -> tuple[Any, Any]:
    """One draw of a tensor and the threshold: whole numbers up to 9 with a threshold 1 to 5, or
    one decimal up to 3 with a threshold 0.5 to 2."""
    g = draw.array(shape, -9, 9, 0, nonzero=True) if whole else draw.array(shape, -3, 3,
                                                                              nonzero=True)
    threshold = draw.integer(1, 5) if whole else draw.decimal(0.5, 2)
    return g, fixed.get("threshold", threshold)


def _good_clip(params: Mapping[str, Any]) -> bool:
    """Whether each mistake is told apart: the norm exceeds the threshold (the rule clips), some
    component exceeds it in size (clipping by value changes it) and another one does not (so that
    the by-value answer is not simply +-threshold everywhere), and ||g|| is not 1 (where the
    squared norm is the norm). Exact arithmetic on the decimals as written. With axes=1 (0), the
    same for some row (column), and no row's norm near 1; for the global norm, some tensor's own
    norm also within the threshold (so that clipping each tensor on its own differs)."""
    beta = Fraction(str(params["threshold"]))
    axes = params.get("axes")
    if axes is not None:
        rows = params["g"] if axes == 1 else [list(c) for c in zip(*params["g"], strict=True)]
        sums = [sum(Fraction(str(v)) ** 2 for v in row) for row in rows]
        return (any(q > beta * beta for q in sums) and any(q < beta * beta for q in sums)
                and all(abs(q - 1) > Fraction(1, 10) and abs(q - beta) > Fraction(1, 10)
                        for q in sums))
    entries = [Fraction(str(v)) for v in _flat(params["g"])]
    squares = sum(v * v for v in entries)
    good = (squares > beta * beta and any(abs(v) > beta for v in entries)
            and any(abs(v) <= beta for v in entries) and abs(squares - 1) > Fraction(1, 10))
    if params.get("mode") == "global-norm":
        own = [sum(Fraction(str(v)) ** 2 for v in _flat(t)) for t in params["g"]]
        good = good and any(q < squares for q in own) and any(q > beta * beta for q in own)
    return good


def _flat(value: Any) -> list[Any]:
    return [v for item in value for v in _flat(item)] if isinstance(value, list) else [value]


def _tensor_list(g: Any) -> bool:
    """Whether a raw g can only be a list of tensors: neither numbers (a vector) nor rows of
    numbers of one length (a matrix)."""
    if not isinstance(g, list) or all(not isinstance(t, list) for t in g):
        return False
    return not (all(isinstance(t, list) and _depth(t) == 1 for t in g)
                and len({len(t) for t in g}) == 1)


def _depth(value: Any) -> int:
    return 1 + _depth(value[0]) if isinstance(value, list) and value else 0


def sample_clip(draw: Draw, fixed: Mapping[str, Any]) -> dict[str, Any]:
    """A gradient of 2 to 4 components (whole numbers, or one decimal) and a threshold that its
    norm exceeds, with some components above the threshold in size and some below.

    One question in ten clips by value, one in ten takes the global norm of two or three tensors
    (a 2 x 2 matrix, a vector of 2 and sometimes a number: the gradients of W, b and c), one in
    ten clips a 2 x 2 or 3 x 2 matrix row by row (axes=1). A fixed mode, axes or g is held: a
    fixed g nested three deep (or ragged) is a list of tensors, so the global norm.
    """
    g_fixed = fixed.get("g")
    if "mode" in fixed:
        mode = str(fixed["mode"])
    elif "axes" in fixed:
        mode = "norm"
    elif g_fixed is not None and _tensor_list(g_fixed):
        mode = "global-norm"
    else:
        mode = draw.choice(("norm",) * 7 + ("value", "global-norm", "norm-axes"))
    axes = fixed.get("axes")
    if mode == "norm-axes":
        mode, axes = "norm", 1
    if mode != "norm":
        axes = None
    if g_fixed is not None and axes is not None and _depth(g_fixed) != 2:
        axes = fixed.get("axes")
    whole = draw.chance(0.5)
    out: dict[str, Any] = {}
    for _ in range(500):
        if g_fixed is not None:
            g, threshold = g_fixed, _clip_numbers(fixed, draw, (1,), whole)[1]
        elif mode == "global-norm":
            shapes = [(2, 2), (2,)] + ([()] if draw.chance(0.5) else [])
            parts = [_clip_numbers(fixed, draw, shape, whole) for shape in shapes]
            g, threshold = [p[0] for p in parts], parts[0][1]
        elif axes is not None:
            g, threshold = _clip_numbers(fixed, draw, (draw.integer(2, 3), 2), whole)
        else:
            N = draw.integer(2, 4)
            g, threshold = _clip_numbers(fixed, draw, (N,), whole)
        out = {"g": g, "threshold": threshold}
        if mode != "norm":
            out["mode"] = mode
        if axes is not None:
            out["axes"] = axes
        out.update(fixed)
        if axes is not None and _depth(out["g"]) != 2:
            return out
        if _good_clip(out):
            return out
    return out


def _layout(g: Any, mode: str) -> tuple[str, Any]:
    """How g was given: ("vector", N x 1 matrix), ("matrix", N x M matrix) or ("list", tuple of
    tensors, each a number or a matrix).

    Raises:
        InputError: a list of tensors (or rows of unequal length) other than for the global norm.
    """
    shapes = getattr(g, "shapes", None) or tuple(() if not isinstance(t, sp.MatrixBase)
                                                 else (t.rows,) for t in g)
    if mode != "global-norm":
        if all(s == () for s in shapes):
            return "vector", sp.ImmutableMatrix(len(g), 1, list(g))
        if all(len(s) == 1 for s in shapes) and len({s[0] for s in shapes}) == 1:
            return "matrix", sp.ImmutableMatrix([list(t) for t in g])
        raise InputError("g", "a vector or a matrix (a list of tensors needs mode=global-norm)",
                         "a list of tensors of shapes "
                         + ", ".join(" x ".join(map(str, s)) or "()" for s in shapes))
    return "list", tuple(g)


def _entries(tensor: Any) -> list[Any]:
    return list(tensor) if isinstance(tensor, sp.MatrixBase) else [tensor]


def _axes_of(axes: Any, ndim: int) -> tuple[int, ...] | None:
    """The axes as a sorted tuple of 0-based indices (negative ones counted from the end), or None
    when the norm is over the whole tensor.

    Raises:
        InputError: an axis that is not a whole number in range, or given twice.
    """
    if axes is None:
        return None
    given = list(axes) if isinstance(axes, sp.MatrixBase) else [axes]
    out = []
    for a in given:
        if not (getattr(a, "is_Integer", False) and -ndim <= a < ndim):
            raise InputError("axes", f"whole numbers from {-ndim} to {ndim - 1} (g has {ndim} "
                             f"dimension{'s' if ndim > 1 else ''})", str(a))
        out.append(int(a) % ndim)
    if len(set(out)) != len(out):
        raise InputError("axes", "each axis once", str(given))
    return None if len(out) == ndim else tuple(sorted(out))


def _clip_question(values: dict[str, Any]) -> dict[str, Any]:
    """g as given: a vector, a matrix, or the list of tensors."""
    kind, g = _layout(values["g"], values["mode"])
    axes = values["axes"]
    every = [0] if kind == "vector" else [0, 1]
    shown_axes: Any = every if axes is None or kind == "list" else (
        list(axes) if isinstance(axes, sp.MatrixBase) else axes)
    return {"g": g, "axes": shown_axes}


@derivation(
    "clip-gradient",
    params=CLIP_PARAMS,
    limits={"N": 32, "M": 32, "K": 16},
    answers=CLIP_ANSWERS,
    mistakes=CLIP_MISTAKES,
    sampler=sample_clip,
    question=_clip_question,
)
def clip_gradient(g: Any, threshold: sp.Rational, mode: str, axes: Any,
                  mistake: str | None = None) -> Result:
    """Gradient clipping: by norm (if ||g|| > β then g <- β g / ||g||, along axes if given), by
    value (each entry into [-β, β]) or by the global norm of a list of tensors.

    Args:
        g: the gradient, a vector or a matrix (its norm is then the Frobenius norm); for
            mode=global-norm a list of tensors.
        threshold: β, the largest norm (or value) allowed (> 0).
        mode: ``norm``, ``value`` or ``global-norm``.
        axes: for mode=norm, the axes the norm is taken over (None: all).
        mistake: a declared mistake's id (``clip-by-value``: each component clipped to [-β, β];
            ``squared-norm``: the sum of squares used as the norm; ``per-tensor-norm``: each
            tensor of a list clipped by its own norm).

    Raises:
        InputError: a threshold not above 0; axes out of range or with a mode other than norm;
            a list of tensors other than for the global norm.
    """
    if threshold <= 0:
        raise InputError("threshold", "a number > 0", str(threshold))
    if axes is not None and mode != "norm":
        raise InputError("axes", "no axes with mode=" + mode + " (only mode=norm takes axes)",
                         str(list(axes) if isinstance(axes, sp.MatrixBase) else axes))
    kind, value = _layout(g, mode)
    if kind == "list":
        return _clip_global(value, threshold, mistake)
    if mode == "value":
        return _clip_by_value(value, threshold)
    chosen = _axes_of(axes, 1 if kind == "vector" else 2)
    if chosen is not None:
        return _clip_along(value, threshold, chosen[0] == 1, mistake == "squared-norm")
    return _clip_whole(value, threshold, mistake)


def _clip_whole(g: sp.ImmutableMatrix, threshold: sp.Rational, mistake: str | None) -> Result:
    """Clipping by the norm of all entries (or a mistake's variant of it)."""
    if threshold <= 0:
        raise InputError("threshold", "a number > 0", str(threshold))
    if mistake == "clip-by-value":
        return _clip_by_value(g, threshold)
    squared = mistake == "squared-norm"
    beta, norm_sym, g_sym = sym("beta"), sym("norm_g"), msym("g", g.rows, g.cols)
    entries = list(g)
    with sp.evaluate(False):
        rule = sp.MatMul(sp.Mul(beta, sp.Pow(norm_sym, -1)), g_sym)
        squares = sp.Add(*[sp.Pow(v, 2) for v in entries]) if len(entries) > 1 else sp.Pow(
            entries[0], 2)
        norm_shown = squares if squared else sp.sqrt(squares)
    norm = sp.Add(*[v**2 for v in entries])
    norm = norm if squared else sp.sqrt(norm)
    i = sp.Symbol("i")
    norm_formula = sp.Sum(sp.IndexedBase("g")[i] ** 2, (i, 1, len(entries)))
    norm_formula = norm_formula if squared else sp.sqrt(norm_formula)
    # the rule is displayed once, as a formula; the clipping step shows only the numbers put in
    steps: list[Step] = [
        Step(key="clip_gradient.given", lhs=g_sym, symbolic=g,
             data={"threshold": threshold}),
        Step(key="clip_gradient.rule", lhs=sym("g_clipped"), symbolic=rule,
             data={"threshold": threshold}),
        Step(key="clip_gradient.norm", lhs=norm_sym, symbolic=norm_formula,
             substituted=norm_shown, value=norm),
    ]
    clipped = bool(norm > threshold)
    if clipped:
        values = {beta: threshold, norm_sym: norm, g_sym: g}
        step = Step(key="clip_gradient.clipped", lhs=sym("g_clipped"),
                    symbolic=put_in(rule, values), value=evaluate_at(rule, values),
                    data={"norm": norm, "threshold": threshold})
        new = sp.ImmutableMatrix(step.value)
    else:
        step = Step(key="clip_gradient.unchanged", data={"norm": norm, "threshold": threshold})
        new = g
    steps.append(step)
    after = sp.Add(*[v**2 for v in new])
    norm_after = sp.simplify(after if squared else sp.sqrt(after))
    if squared and clipped:  # the same sum of squares, now of the clipped entries
        with sp.evaluate(False):
            after_formula: sp.Basic = sp.Add(*[sp.Pow(v, 2) for v in new])
    else:
        after_formula = beta if clipped else norm_sym
    steps.append(Step(key="clip_gradient.norm_after", lhs=sym("norm_g_clipped"),
                      symbolic=after_formula, value=norm_after,
                      data={"clipped": clipped}))
    steps.append(Step(key="clip_gradient.why"))
    return Result(
        convention=None,
        steps=tuple(steps),
        answers={
            "g": _shaped(new),
            "norm_before": norm,
            "norm_after": norm_after,
            "scale": sp.simplify(threshold / norm) if clipped else sp.Integer(1),
        },
        info={"clipped": clipped},
    )


def _shaped(matrix: sp.ImmutableMatrix) -> list[Any]:
    """A vector as a list, a matrix as a list of rows."""
    if matrix.cols == 1:
        return list(matrix)
    return [list(matrix.row(r)) for r in range(matrix.rows)]


def _clip_by_value(g: sp.ImmutableMatrix, threshold: sp.Rational) -> Result:
    """The mistake ``clip-by-value``: each component clipped to [-β, β] on its own.

    ``scale`` is then the factor the norm changed by, ||ĝ|| / ||g|| (for the rule by norm this is
    β / ||g||): the direction of g is not kept.
    """
    beta, norm_sym, g_sym = sym("beta"), sym("norm_g"), msym("g", g.rows, g.cols)
    clip = sp.Function("clip")
    entries = list(g)
    i = sp.Symbol("i")
    with sp.evaluate(False):
        rule = clip(sp.IndexedBase("g")[i], sp.Mul(-1, beta), beta)
        squares = sp.Add(*[sp.Pow(v, 2) for v in entries]) if len(entries) > 1 else sp.Pow(
            entries[0], 2)
        shown_clips = sp.ImmutableMatrix(g.rows, g.cols,
                                         [clip(v, -threshold, threshold) for v in entries])
    norm = sp.sqrt(sp.Add(*[v**2 for v in entries]))
    new = g.applyfunc(lambda v: max(min(v, threshold), -threshold))
    outside = sum(1 for v in entries if abs(v) > threshold)
    norm_after = sp.simplify(sp.sqrt(sp.Add(*[v**2 for v in new])))
    with sp.evaluate(False):
        after_shown = sp.sqrt(sp.Add(*[sp.Pow(v, 2) for v in new]))
    steps = [
        Step(key="clip_gradient.given", lhs=g_sym, symbolic=g, data={"threshold": threshold}),
        Step(key="clip_gradient.rule_by_value", lhs=sym("g_clipped"), symbolic=rule,
             data={"threshold": threshold}),
        Step(key="clip_gradient.norm", lhs=norm_sym,
             symbolic=sp.sqrt(sp.Sum(sp.IndexedBase("g")[i] ** 2, (i, 1, len(entries)))),
             substituted=sp.sqrt(squares, evaluate=False), value=norm),
        Step(key="clip_gradient.clipped_by_value", lhs=sym("g_clipped"), symbolic=shown_clips,
             value=new, data={"threshold": threshold, "count": outside}),
        Step(key="clip_gradient.norm_after", lhs=sym("norm_g_clipped"), symbolic=after_shown,
             value=norm_after, data={"clipped": outside > 0}),
        Step(key="clip_gradient.why"),
    ]
    return Result(
        convention=None,
        steps=tuple(steps),
        answers={
            "g": _shaped(new),
            "norm_before": norm,
            "norm_after": norm_after,
            "scale": sp.simplify(norm_after / norm),
        },
        info={"clipped": outside > 0},
    )


def _sum_squares(entries: list[Any]) -> sp.Basic:
    with sp.evaluate(False):
        return sp.Add(*[sp.Pow(v, 2) for v in entries]) if len(entries) > 1 else sp.Pow(
            entries[0], 2)


def _clip_along(g: sp.ImmutableMatrix, threshold: sp.Rational, rows: bool,
                squared: bool) -> Result:
    """Clipping each row (``rows``; axes=1) or each column (axes=0) of a matrix by its own norm,
    as tf.clip_by_norm(t, c, axes) does; with ``squared`` (the mistake ``squared-norm``) each sum
    of squares is taken for the norm."""
    parts = [list(g.row(r)) for r in range(g.rows)] if rows else [
        list(g.col(c)) for c in range(g.cols)]
    g_sym = msym("g", g.rows, g.cols)
    steps: list[Step] = [
        Step(key="clip_gradient.given", lhs=g_sym, symbolic=g, data={"threshold": threshold}),
        Step(key="clip_gradient.rule_rows" if rows else "clip_gradient.rule_columns",
             lhs=sym("g_clipped"), data={"threshold": threshold}),
    ]
    norms, scales, new_parts, after = [], [], [], []
    for index, part in enumerate(parts, start=1):
        squares = sp.Add(*[v**2 for v in part])
        norm = squares if squared else sp.sqrt(squares)
        shown = _sum_squares(part)
        clipped = bool(norm > threshold)
        scale = sp.simplify(threshold / norm) if clipped else sp.Integer(1)
        new = [sp.simplify(scale * v) for v in part]
        new_squares = sp.Add(*[v**2 for v in new])
        norms.append(norm)
        scales.append(scale)
        new_parts.append(new)
        after.append(sp.simplify(new_squares if squared else sp.sqrt(new_squares)))
        part = "row" if rows else "column"
        steps.append(Step(key=f"clip_gradient.{part}_{'clipped' if clipped else 'kept'}",
                          lhs=sym("norm_g"),
                          symbolic=shown if squared else sp.sqrt(shown, evaluate=False),
                          value=norm, data={"index": index, "threshold": threshold,
                                            "clipped": clipped, "scale": scale}))
    if rows:
        result = sp.ImmutableMatrix(new_parts)
    else:
        result = sp.ImmutableMatrix(new_parts).T
    steps.append(Step(key="clip_gradient.clipped_parts", lhs=sym("g_clipped"), symbolic=result,
                      data={"count": sum(1 for s in scales if s != 1), "parts": len(parts)}))
    steps.append(Step(key="clip_gradient.why"))
    return Result(convention=None, steps=tuple(steps),
                  answers={"g": _shaped(result), "norm_before": norms, "norm_after": after,
                           "scale": scales},
                  info={"clipped": any(s != 1 for s in scales)})


def _flat_vector(tensors: tuple[Any, ...]) -> sp.ImmutableMatrix:
    entries = [v for t in tensors for v in _entries(t)]
    return sp.ImmutableMatrix(len(entries), 1, entries)


def _reshape_like(tensors: tuple[Any, ...], flat: list[Any]) -> list[Any]:
    """The entries of ``flat`` put back into the shapes of ``tensors`` (plain nested lists)."""
    out: list[Any] = []
    at = 0
    for t in tensors:
        n = len(_entries(t))
        chunk = flat[at:at + n]
        at += n
        if not isinstance(t, sp.MatrixBase):
            out.append(chunk[0])
        elif t.cols == 1:
            out.append(chunk)
        else:
            out.append([chunk[r * t.cols:(r + 1) * t.cols] for r in range(t.rows)])
    return out


def _clip_global(tensors: tuple[Any, ...], threshold: sp.Rational,
                 mistake: str | None) -> Result:
    """tf.clip_by_global_norm: every tensor scaled by β / global norm when the global norm, the
    norm of all the tensors' entries together, exceeds β. ``per-tensor-norm``: each tensor
    clipped by its own norm instead."""
    flat = _flat_vector(tensors)
    symbols = [msym("g_i", t.rows, t.cols) if isinstance(t, sp.MatrixBase) else sym("g")
               for t in tensors]
    given = [Step(key="clip_gradient.given_tensor", lhs=symbols[i], symbolic=t,
                  data={"index": i + 1, "threshold": threshold})
             for i, t in enumerate(tensors)]
    if mistake == "per-tensor-norm":
        return _clip_each(tensors, threshold, given)
    whole = (_clip_by_value(flat, threshold) if mistake == "clip-by-value"
             else _clip_whole(flat, threshold, mistake))
    new_flat = list(whole.answers["g"])
    shaped = _reshape_like(tensors, new_flat)
    steps = [*given, Step(key="clip_gradient.global", data={"count": len(tensors),
                                                            "entries": flat.rows})]
    steps += [st for st in whole.steps if st.key not in ("clip_gradient.given",
                                                          "clip_gradient.why")]
    steps.append(Step(key="clip_gradient.tensors_after", data={"count": len(tensors)}))
    at = 0
    for i, t in enumerate(tensors):
        n = len(_entries(t))
        chunk = new_flat[at:at + n]
        at += n
        shown = sp.ImmutableMatrix(t.rows, t.cols, chunk) if isinstance(t, sp.MatrixBase) \
            else chunk[0]
        steps.append(Step(key="clip_gradient.tensor_after", lhs=symbols[i], symbolic=shown,
                          data={"index": i + 1}))
    steps.append(Step(key="clip_gradient.why"))
    return replace(whole, steps=tuple(steps),
                   info={**whole.info, "tensors": to_plain_list(shaped)})


def to_plain_list(value: Any) -> Any:
    """SymPy numbers in nested lists as ints or floats (for info)."""
    if isinstance(value, list):
        return [to_plain_list(v) for v in value]
    return int(value) if getattr(value, "is_Integer", False) else float(value)


def _clip_each(tensors: tuple[Any, ...], threshold: sp.Rational, given: list[Step]) -> Result:
    """The mistake ``per-tensor-norm``: each tensor of the list clipped by its own norm."""
    steps = list(given)
    new_flat: list[Any] = []
    for i, t in enumerate(tensors):
        entries = _entries(t)
        norm = sp.sqrt(sp.Add(*[v**2 for v in entries]))
        clipped = bool(norm > threshold)
        scale = sp.simplify(threshold / norm) if clipped else sp.Integer(1)
        new = [sp.simplify(scale * v) for v in entries]
        new_flat += new
        steps.append(Step(key=f"clip_gradient.tensor_{'clipped' if clipped else 'kept'}",
                          lhs=sym("norm_g"),
                          symbolic=sp.sqrt(_sum_squares(entries), evaluate=False), value=norm,
                          data={"index": i + 1, "threshold": threshold, "clipped": clipped,
                                "scale": scale}))
    flat = _flat_vector(tensors)
    before = sp.sqrt(sp.Add(*[v**2 for v in flat]))
    after = sp.simplify(sp.sqrt(sp.Add(*[v**2 for v in new_flat])))
    with sp.evaluate(False):
        after_shown = sp.sqrt(_sum_squares(new_flat))
    steps.append(Step(key="clip_gradient.norm_after", lhs=sym("norm_g_clipped"),
                      symbolic=after_shown, value=after, data={"clipped": True}))
    steps.append(Step(key="clip_gradient.why"))
    return Result(convention=None, steps=tuple(steps),
                  answers={"g": new_flat, "norm_before": before, "norm_after": after,
                           "scale": sp.simplify(after / before)},
                  info={"clipped": any(v != w for v, w in zip(new_flat, flat, strict=True)),
                        "tensors": to_plain_list(_reshape_like(tensors, new_flat))})
