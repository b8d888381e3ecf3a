"""The transformer encoder: sinusoidal positional encoding and one post-norm encoder layer.

The encoder layer is the "three words -> hidden representation" question: token embeddings X
(plus positional encodings), multi-head self-attention, add & layer norm, a position-wise
feed-forward network with ReLU, add & layer norm again (post-norm, as in Vaswani et al. and
``torch.nn.TransformerEncoderLayer(norm_first=False)``). Row vectors throughout; the attention
projections carry no bias. Every intermediate matrix is an answer; the numbers are evaluated in
floats with NumPy.
"""

# ruff: noqa: N803, N806
# (matrix names follow the transformer literature: X, W_Q, W_O, W_1; the registry passes the
# parameters by these names)

from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp

from dlexam.derivations.attention import (
    NC,
    MultiHead,
    Operator,
    Slot,
    from_numpy,
    generated_step,
    multi_head,
    seeded_inputs,
    shape_data,
    to_numpy,
)
from dlexam.derivations.core import Result, Step, derivation, three_part
from dlexam.derivations.notation import Ratio, Slash, sym
from dlexam.derivations.params import Param
from dlexam.errors import InputError

PE_EXACT_LIMIT = 64
"""Positional-encoding matrices with at most this many entries keep exact values (sin(1/100))."""

PE_BASE = 10000


class ReLU(Operator):
    """max(0, x), element-wise."""

    name = "ReLU"


class LayerNorm(Operator):
    """Layer normalisation of each row."""

    name = "LayerNorm"


class PE(Operator):
    """The positional encoding of one position and column."""

    name = "PE"


# ---------------------------------------------------------------------------------------------
# positional encoding


def pe_value(pos: int, col: int, d: int) -> sp.Basic:
    """PE(pos, col), exact: sin(pos / 10000^(2i/d)) for col = 2i, cos for col = 2i + 1."""
    angle = sp.Integer(pos) / sp.Integer(PE_BASE) ** sp.Rational(col - col % 2, d)
    return sp.sin(angle) if col % 2 == 0 else sp.cos(angle)


def pe_matrix(n: int, d: int) -> sp.ImmutableMatrix:
    """The n x d sinusoidal matrix: exact when small, else Floats."""
    if n * d <= PE_EXACT_LIMIT:
        return sp.ImmutableMatrix(n, d, lambda pos, col: pe_value(pos, col, d))
    pos = np.arange(n, dtype=np.float64)[:, None]
    col = np.arange(d)
    angle = pos / np.power(float(PE_BASE), (col - col % 2) / d)
    return from_numpy(np.where(col % 2 == 0, np.sin(angle), np.cos(angle)))


def pe_steps(n: int, d: int) -> tuple[list[Step], sp.ImmutableMatrix]:
    """The even and odd formulas, each shown at one entry, and the whole matrix."""
    pos, i, dm = sym("pos"), sym("i_pe"), sym("d_model")
    with sp.evaluate(False):
        # pos / 10000^(2i / d_model), the exponent on one line: 10000^(2 * 1 / 4) once put in
        angle = Ratio(pos, sp.Pow(PE_BASE, Slash(sp.Mul(2, i), dm)))
        even, odd = sp.sin(angle), sp.cos(angle)
        lhs_even, lhs_odd = PE(pos, sp.Mul(2, i)), PE(pos, sp.Add(sp.Mul(2, i), 1))
    example_pos = 1 if n > 1 else 0
    example_i = 1 if d > 3 else 0
    values = {pos: example_pos, i: example_i, dm: d}
    steps = [
        three_part("positional_encoding.even", lhs_even, even, values, pos=example_pos,
                   col=2 * example_i, d=d),
        three_part("positional_encoding.odd", lhs_odd, odd, values, pos=example_pos,
                   col=2 * example_i + 1, d=d),
    ]
    if 2 * example_i + 1 >= d:  # d = 1: there is no odd column
        steps.pop()
    matrix = pe_matrix(n, d)
    steps.append(Step(key="positional_encoding.matrix", lhs=sym("PE"), symbolic=matrix,
                      value=matrix, data={"n": n, "d": d, **shape_data(matrix)}))
    return steps, matrix


@derivation(
    "positional-encoding",
    params=[
        Param("n", "int", minimum=1, maximum=64),
        Param("d", "int", minimum=1, maximum=64),
    ],
)
def positional_encoding(n: int, d: int) -> Result:
    """The sinusoidal positional encodings of positions 0..n-1 in d dimensions.

    Args:
        n: the number of positions (tokens).
        d: the model width d_model.
    """
    steps, matrix = pe_steps(n, d)
    steps.insert(0, Step(key="positional_encoding.idea", data={"n": n, "d": d, "base": PE_BASE}))
    return Result(derivation="positional-encoding", params={}, convention="sin-even-cos-odd",
                  steps=tuple(steps), answers={"PE": matrix})


# ---------------------------------------------------------------------------------------------
# the encoder layer

ENCODER_SLOTS = (
    Slot("X", ("tokens", "d_model")),
    Slot("W_Q", ("d_model", "d_k"), per_head=True),
    Slot("W_K", ("d_model", "d_k"), per_head=True),
    Slot("W_V", ("d_model", "d_v"), per_head=True),
    Slot("W_O", ("hd_v", "d_model")),
    Slot("W_1", ("d_model", "d_ff")),
    Slot("b_1", ("d_ff",)),
    Slot("W_2", ("d_ff", "d_model")),
    Slot("b_2", ("d_model",)),
)
ENCODER_SEED_RANGE = (-100, 100)
"""Seeded encoder examples: two-decimal numbers from -1 to 1, so that the ReLU has work to do."""


def layer_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row-wise layer norm with the biased variance (as PyTorch); returns (y, means, variances)."""
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return gamma * (x - mean) / np.sqrt(var + eps) + beta, mean[:, 0], var[:, 0]


def _vector(v: sp.MatrixBase | None, size: int, fill: int) -> np.ndarray:
    return np.full(size, float(fill)) if v is None else to_numpy(v)[:, 0]


@derivation(
    "encoder-layer",
    params=[
        Param("X", "array", shapes=(("tokens", "d_model"),), default=None),
        Param("positional", "bool", default=False),
        Param("W_Q", "array_list", shapes=(("d_model", "d_k"),), items="heads", default=None),
        Param("W_K", "array_list", shapes=(("d_model", "d_k"),), items="heads", default=None),
        Param("W_V", "array_list", shapes=(("d_model", "d_v"),), items="heads", default=None),
        Param("W_O", "array", shapes=(("hd_v", "d_model"),), default=None),
        Param("W_1", "array", shapes=(("d_model", "d_ff"),), default=None),
        Param("b_1", "array", shapes=(("d_ff",),), default=None),
        Param("W_2", "array", shapes=(("d_ff", "d_model"),), default=None),
        Param("b_2", "array", shapes=(("d_model",),), default=None),
        Param("gamma_1", "array", shapes=(("d_model",),), default=None),
        Param("beta_1", "array", shapes=(("d_model",),), default=None),
        Param("gamma_2", "array", shapes=(("d_model",),), default=None),
        Param("beta_2", "array", shapes=(("d_model",),), default=None),
        Param("eps", "number", default=0.00001),
        Param("seed", "int", default=None, minimum=0, maximum=2**32 - 1),
        Param("tokens", "int", default=None, minimum=1, maximum=10),
        Param("d_model", "int", default=None, minimum=1, maximum=16),
        Param("heads", "int", default=None, minimum=1, maximum=4),
        Param("d_k", "int", default=None, minimum=1, maximum=16),
        Param("d_v", "int", default=None, minimum=1, maximum=16),
        Param("d_ff", "int", default=None, minimum=1, maximum=64),
    ],
    limits={"tokens": 10, "d_model": 16, "heads": 4, "d_k": 16, "d_v": 16,
            "hd_v": 64, "d_ff": 64},
)
def encoder_layer(
    X: sp.ImmutableMatrix | None,
    positional: bool,
    W_Q: tuple[sp.ImmutableMatrix, ...] | None,
    W_K: tuple[sp.ImmutableMatrix, ...] | None,
    W_V: tuple[sp.ImmutableMatrix, ...] | None,
    W_O: sp.ImmutableMatrix | None,
    W_1: sp.ImmutableMatrix | None,
    b_1: sp.ImmutableMatrix | None,
    W_2: sp.ImmutableMatrix | None,
    b_2: sp.ImmutableMatrix | None,
    gamma_1: sp.ImmutableMatrix | None,
    beta_1: sp.ImmutableMatrix | None,
    gamma_2: sp.ImmutableMatrix | None,
    beta_2: sp.ImmutableMatrix | None,
    eps: sp.Rational,
    seed: int | None,
    tokens: int | None,
    d_model: int | None,
    heads: int | None,
    d_k: int | None,
    d_v: int | None,
    d_ff: int | None,
) -> Result:
    """One post-norm transformer encoder layer, from token embeddings to hidden representations.

    Args:
        X: the token embeddings (tokens x d_model).
        positional: add the sinusoidal positional encodings to X first.
        W_Q: one query weight matrix per head (d_model x d_k).
        W_K: one key weight matrix per head (d_model x d_k).
        W_V: one value weight matrix per head (d_model x d_v).
        W_O: the attention output weights (heads * d_v x d_model).
        W_1: the first feed-forward weights (d_model x d_ff).
        b_1: the first feed-forward bias (d_ff).
        W_2: the second feed-forward weights (d_ff x d_model).
        b_2: the second feed-forward bias (d_model).
        gamma_1: scale of the first layer norm (default ones).
        beta_1: shift of the first layer norm (default zeros).
        gamma_2: scale of the second layer norm (default ones).
        beta_2: shift of the second layer norm (default zeros).
        eps: the layer norm's epsilon (PyTorch's default 1e-5).
        seed: fills every matrix not given with seeded two-decimal numbers in [-1, 1].
        tokens: number of tokens, to generate X.
        d_model: the model width, to generate the weights.
        heads: number of heads.
        d_k: width of each head's queries and keys (default d_model / heads).
        d_v: width of each head's values (default d_k).
        d_ff: width of the feed-forward hidden layer.
    """
    if eps <= 0:
        raise InputError("eps", "a small positive number such as 0.00001", str(eps))
    values: dict[str, Any] = {"X": X, "W_Q": W_Q, "W_K": W_K, "W_V": W_V, "W_O": W_O,
                              "W_1": W_1, "b_1": b_1, "W_2": W_2, "b_2": b_2}
    given = {"tokens": tokens, "d_model": d_model, "heads": heads, "d_k": d_k, "d_v": d_v,
             "d_ff": d_ff}
    if (d_k is None and W_Q is None and W_K is None and d_model is not None
            and heads is not None):
        if d_model % heads:
            raise InputError("d_k", f"a head width (d_model = {d_model} is not divisible by "
                             f"heads = {heads})", "nothing")
        given["d_k"] = d_model // heads
    generated, sizes = seeded_inputs(values, ENCODER_SLOTS, given, seed, ENCODER_SEED_RANGE,
                                     {"d_v": "d_k"})
    low, high = ENCODER_SEED_RANGE
    steps = generated_step("encoder_layer.generated", seed, generated, low, high)
    steps.append(Step(key="encoder_layer.shapes",
                      data={k: sizes[k] for k in ("tokens", "d_model", "heads", "d_k", "d_v",
                                                  "d_ff")}))
    X = values["X"]
    n, dm = X.rows, X.cols
    for name, vec in (("gamma_1", gamma_1), ("beta_1", beta_1), ("gamma_2", gamma_2),
                      ("beta_2", beta_2)):
        if vec is not None and vec.rows != dm:
            raise InputError(name, f"{dm} numbers (d_model = {dm})", f"{vec.rows}")
    answers: dict[str, Any] = {}
    x_sym, x_in = sym("X", **NC), sym("X_in", **NC)

    # embeddings (+ positions)
    if positional:
        more, pe = pe_steps(n, dm)
        steps += more
        x_prime = from_numpy(to_numpy(X) + to_numpy(pe))
        with sp.evaluate(False):
            formula = sp.Add(x_sym, sym("PE", **NC))
        steps.append(Step(key="encoder_layer.add_positions", lhs=x_in, symbolic=formula,
                          value=x_prime, data=shape_data(X)))
        answers["PE"] = pe
    else:
        x_prime = X
        steps.append(Step(key="encoder_layer.no_positions", lhs=x_sym, symbolic=X,
                          data=shape_data(X)))
        x_in = x_sym
    answers["input"] = x_prime

    # multi-head self-attention
    more, head_results, concat, attention = multi_head(
        "multi_head_attention", x_prime, values["W_Q"], values["W_K"], values["W_V"],
        values["W_O"], "none", x=x_in)
    steps += more

    # add & norm 1
    g1, bt1 = _vector(gamma_1, dm, 1), _vector(beta_1, dm, 0)
    g2, bt2 = _vector(gamma_2, dm, 1), _vector(beta_2, dm, 0)
    e = float(eps)
    r1 = to_numpy(x_prime) + to_numpy(attention)
    attended = MultiHead(x_in)
    with sp.evaluate(False):
        steps.append(Step(key="encoder_layer.residual_1", lhs=sym("R_1", **NC),
                          symbolic=sp.Add(x_in, attended), value=from_numpy(r1),
                          data={"input": x_in, "attention": attended, **shape_data(X)}))
    xr, mu, var, eps_s = sym("x_row"), sym("mu_ln"), sym("var_ln"), sym("eps_ln")
    with sp.evaluate(False):
        norm_formula = sp.Add(
            sp.Mul(sym("gamma_ln"), sp.Add(xr, sp.Mul(-1, mu)),
                   sp.Pow(sp.sqrt(sp.Add(var, eps_s)), -1)),
            sym("beta_ln"))
    default_affine = all(v is None for v in (gamma_1, beta_1, gamma_2, beta_2))
    steps.append(Step(key="encoder_layer.layer_norm" if default_affine
                      else "encoder_layer.layer_norm_given", lhs=LayerNorm(xr),
                      symbolic=norm_formula,
                      data={"eps": eps, "d_model": dm, "default_affine": default_affine}))
    n1, mean1, var1 = layer_norm(r1, g1, bt1, e)
    steps.append(Step(key="encoder_layer.norm_1", lhs=sym("N_1", **NC),
                      symbolic=LayerNorm(sym("R_1", **NC)), value=from_numpy(n1),
                      data={"mean": sp.Float(mean1[0]), "variance": sp.Float(var1[0])}))

    # feed-forward
    hidden = np.maximum(0.0, n1 @ to_numpy(values["W_1"]) + to_numpy(values["b_1"])[:, 0])
    ffn = hidden @ to_numpy(values["W_2"]) + to_numpy(values["b_2"])[:, 0]
    with sp.evaluate(False):
        hidden_formula = ReLU(sp.Add(sp.Mul(sym("N_1", **NC), sym("W_1ffn", **NC)),
                                     sym("b_1ffn", **NC)))
        ffn_formula = sp.Add(sp.Mul(sym("H_ffn", **NC), sym("W_2ffn", **NC)), sym("b_2ffn", **NC))
    zeroed = int(np.sum(hidden == 0.0))
    steps.append(Step(key="encoder_layer.ffn_hidden", lhs=sym("H_ffn", **NC),
                      symbolic=hidden_formula, value=from_numpy(hidden),
                      data={**shape_data(X, "left_"), "d_ff": hidden.shape[1], "rows": n,
                            "cols": hidden.shape[1], "zeroed": zeroed, "entries": hidden.size}))
    steps.append(Step(key="encoder_layer.ffn_output", lhs=sym("F_ffn", **NC),
                      symbolic=ffn_formula, value=from_numpy(ffn),
                      data={"left_rows": n, "left_cols": hidden.shape[1], **shape_data(X)}))

    # add & norm 2
    r2 = n1 + ffn
    with sp.evaluate(False):
        steps.append(Step(key="encoder_layer.residual_2", lhs=sym("R_2", **NC),
                          symbolic=sp.Add(sym("N_1", **NC), sym("F_ffn", **NC)),
                          value=from_numpy(r2), data=shape_data(X)))
    out, mean2, var2 = layer_norm(r2, g2, bt2, e)
    steps.append(Step(key="encoder_layer.norm_2", lhs=sym("Y_out", **NC),
                      symbolic=LayerNorm(sym("R_2", **NC)), value=from_numpy(out),
                      data={"mean": sp.Float(mean2[0]), "variance": sp.Float(var2[0])}))
    steps.append(Step(key="encoder_layer.representation", data={"tokens": n, "d_model": dm}))

    answers.update({
        "heads": [hr.Z for hr in head_results],
        "weights": [hr.weights for hr in head_results],
        "concat": concat,
        "attention": attention,
        "residual_1": from_numpy(r1),
        "norm_1": from_numpy(n1),
        "hidden": from_numpy(hidden),
        "ffn": from_numpy(ffn),
        "residual_2": from_numpy(r2),
        "output": from_numpy(out),
        "generated": list(generated),
        **generated,
    })
    return Result(derivation="encoder-layer", params={}, convention="post-norm",
                  steps=tuple(steps), answers=answers)
