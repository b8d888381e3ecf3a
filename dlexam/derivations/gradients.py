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
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from dlexam.derivations.cells import EXAM_Q4, Activation, inputs_of, msym
from dlexam.derivations.core import Result, Step, derivation, evaluate_at, put_in, three_part
from dlexam.derivations.params import Param
from dlexam.errors import InputError
from dlexam.notation import register_symbols, sym

register_symbols({
    "beta": (r"\beta", "beta"),
    "g": (r"\mathbf{g}", "g"),
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


def backward_chain(W: np.ndarray, U: np.ndarray, b: np.ndarray, inputs: list[np.ndarray],
                   h0: np.ndarray) -> Chain:
    """The forward pass and every dh_T/dh_k, with the running product rescaled so that long
    products neither overflow nor underflow before their norms are taken."""
    states, factors, factor_norms = [], [], []
    h = h0
    for x_t in inputs:
        h = np.tanh(W @ h + U @ x_t + b)
        states.append(h)
        factor = (1.0 - h * h)[:, None] * W
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


@derivation(
    "bptt",
    params=[
        Param("W", "array", shapes=(("H", "H"),), default=EXAM_Q4["W"]),
        Param("U", "array", shapes=(("H",), ("H", "D")), default=EXAM_Q4["U"]),
        Param("b", "array", shapes=(("H",),), default=EXAM_Q4["b"]),
        Param("x", "array", shapes=(("T",), ("T", "D")), default=EXAM_Q4["x"]),
        Param("h0", "array", shapes=(("H",),), default=None),
        Param("f", "array", shapes=((), ("T", "H")), default=None),
    ],
    limits={"T": 1000, "H": 8, "D": 8},
)
def bptt(
    W: sp.ImmutableMatrix,
    U: sp.ImmutableMatrix,
    b: sp.ImmutableMatrix,
    x: sp.ImmutableMatrix,
    h0: sp.ImmutableMatrix | None,
    f: Any,
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
    chain = backward_chain(W_np, U_np, b_np, xs, start)
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
    return Result(derivation="bptt", params={}, convention="column", steps=tuple(steps),
                  answers=answers)


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


@derivation(
    "clip-gradient",
    params=[
        Param("g", "array", shapes=(("N",), ("N", "M")), default=[3, 4]),
        Param("threshold", "number", default=1),
    ],
    limits={"N": 32, "M": 32},
)
def clip_gradient(g: sp.ImmutableMatrix, threshold: sp.Rational) -> Result:
    """Gradient clipping by norm: if ||g|| > β then g <- β g / ||g||.

    Args:
        g: the gradient, a vector or a matrix (its norm is then the Frobenius norm).
        threshold: β, the largest norm allowed (> 0).
    """
    if threshold <= 0:
        raise InputError("threshold", "a number > 0", str(threshold))
    beta, norm_sym, g_sym = sym("beta"), sym("norm_g"), msym("g", g.rows, g.cols)
    entries = list(g)
    with sp.evaluate(False):
        rule = sp.MatMul(sp.Mul(beta, sp.Pow(norm_sym, -1)), g_sym)
        squares = sp.Add(*[sp.Pow(v, 2) for v in entries]) if len(entries) > 1 else sp.Pow(
            entries[0], 2)
        norm_shown = sp.sqrt(squares)
    norm = sp.sqrt(sp.Add(*[v**2 for v in entries]))
    i = sp.Symbol("i")
    norm_formula = sp.sqrt(sp.Sum(sp.IndexedBase("g")[i] ** 2, (i, 1, len(entries))))
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
    norm_after = sp.simplify(sp.sqrt(sp.Add(*[v**2 for v in new])))
    steps.append(Step(key="clip_gradient.norm_after", lhs=sym("norm_g_clipped"),
                      symbolic=beta if clipped else norm_sym, value=norm_after,
                      data={"clipped": clipped}))
    steps.append(Step(key="clip_gradient.why"))
    shape_flat = g.cols == 1
    return Result(
        derivation="clip-gradient",
        params={},
        convention=None,
        steps=tuple(steps),
        answers={
            "g": list(new) if shape_flat else [list(new.row(r)) for r in range(new.rows)],
            "norm_before": norm,
            "norm_after": norm_after,
            "clipped": clipped,
            "scale": sp.simplify(threshold / norm) if clipped else sp.Integer(1),
        },
    )
