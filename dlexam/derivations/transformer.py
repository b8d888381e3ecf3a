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

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from dlexam.derivations.contract import Answer, Mistake
from dlexam.derivations.core import Result, Step, derivation, three_part
from dlexam.derivations.forms import Operator, Ratio, Slash
from dlexam.derivations.heads import (
    NC,
    Is,
    MultiHead,
    Names,
    Slot,
    dim_size,
    from_numpy,
    generated_step,
    matrices_given,
    multi_head,
    multi_head_values,
    seeded_inputs,
    shape_data,
    to_numpy,
)
from dlexam.derivations.params import Param, bind_dims
from dlexam.derivations.sampling import Draw
from dlexam.errors import InputError, Said
from dlexam.notation import register_symbols, sym, sym_sub

register_symbols({
    "PE": (r"\mathrm{PE}", "PE"),
    "pos": (r"\mathit{pos}", "pos"),
    "i_pe": ("i", "i"),
    "d_model": (r"d_{\mathrm{model}}", "d_model"),
    "X_in": ("X'", "X'"),
    "R_1": ("R_1", "R_1"),
    "N_1": ("N_1", "N_1"),
    "H_ffn": ("F_1", "F_1"),
    "F_ffn": ("F_2", "F_2"),
    "R_2": ("R_2", "R_2"),
    "Y_out": ("Y", "Y"),
    "mu_ln": (r"\mu", "μ"),
    "var_ln": (r"\sigma^{2}", "σ^2"),
    "eps_ln": (r"\varepsilon", "ε"),
    "gamma_ln": (r"\gamma", "γ"),
    "beta_ln": (r"\beta", "β"),
    "x_row": ("x", "x"),
})

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


def pe_value(pos: int, col: int, d: int, mistake: str | None = None,
             base: int = PE_BASE) -> sp.Basic:
    """PE(pos, col), exact: sin(pos / base^(2i/d)) for col = 2i, cos for col = 2i + 1 (the
    base is 10000 in Vaswani et al.).

    ``mistake``: ``sin-cos-swapped`` (cos in the even columns, sin in the odd ones) or
    ``exponent-i`` (10000^(i/d), i the pair index, for 10000^(2i/d)).
    """
    pair_exponent = (col // 2 if mistake == "exponent-i" else col if mistake == "exponent-column"
                     else col - col % 2)
    if mistake == "positions-from-one":  # the first token taken as position 1
        pos += 1
    angle = sp.Integer(pos) / sp.Integer(base) ** sp.Rational(pair_exponent, d)
    if mistake == "degrees":  # the calculator in degrees: the angle read as degrees
        angle = angle * sp.pi / 180
    sine = (col % 2 == 0) != (mistake == "sin-cos-swapped")
    return sp.sin(angle) if sine else sp.cos(angle)


def pe_matrix(n: int, d: int, mistake: str | None = None,
              base: int = PE_BASE) -> sp.ImmutableMatrix:
    """The n x d sinusoidal matrix: exact when small, else Floats."""
    if n * d <= PE_EXACT_LIMIT:
        return sp.ImmutableMatrix(n, d, lambda pos, col: pe_value(pos, col, d, mistake, base))
    pos = np.arange(n, dtype=np.float64)[:, None] + (mistake == "positions-from-one")
    col = np.arange(d)
    exponent = (col // 2 if mistake == "exponent-i" else col if mistake == "exponent-column"
                else col - col % 2)
    angle = pos / np.power(float(base), exponent / d)
    if mistake == "degrees":
        angle = np.deg2rad(angle)
    sine = (col % 2 == 0) != (mistake == "sin-cos-swapped")
    return from_numpy(np.where(sine, np.sin(angle), np.cos(angle)))


def pe_steps(n: int, d: int, mistake: str | None = None, base: int = PE_BASE
             ) -> tuple[list[Step], sp.ImmutableMatrix]:
    """The even and odd formulas, each shown at one entry, and the whole matrix."""
    pos, i, dm = sym("pos"), sym("i_pe"), sym("d_model")
    with sp.evaluate(False):
        # pos / 10000^(2i / d_model), the exponent on one line: 10000^(2 * 1 / 4) once put in
        exponent = Slash(i, dm) if mistake == "exponent-i" else Slash(sp.Mul(2, i), dm)
        angle = Ratio(pos, sp.Pow(base, exponent))
        odd_angle = angle
        if mistake == "exponent-column":  # the odd column's own index 2i + 1 in the exponent
            odd_angle = Ratio(pos, sp.Pow(base, Slash(sp.Add(sp.Mul(2, i), 1), dm)))
        if mistake == "degrees":  # the calculator in degrees: pi/180 per unit
            angle = sp.Mul(angle, sp.Pow(180, -1), sp.pi)
            odd_angle = sp.Mul(odd_angle, sp.Pow(180, -1), sp.pi)
        even, odd = sp.sin(angle), sp.cos(odd_angle)
        if mistake == "sin-cos-swapped":
            even, odd = odd, even
        lhs_even, lhs_odd = PE(pos, sp.Mul(2, i)), PE(pos, sp.Add(sp.Mul(2, i), 1))
    example_pos = 1 if n > 1 else 0
    example_i = 1 if d > 3 else 0
    values = {pos: example_pos, i: example_i, dm: d}
    suffix = "_swapped" if mistake == "sin-cos-swapped" else ""
    steps = [
        three_part(f"positional_encoding.even{suffix}", lhs_even, even, values, pos=example_pos,
                   col=2 * example_i, d=d),
        three_part(f"positional_encoding.odd{suffix}", lhs_odd, odd, values, pos=example_pos,
                   col=2 * example_i + 1, d=d),
    ]
    if 2 * example_i + 1 >= d:  # d = 1: there is no odd column
        steps.pop()
    matrix = pe_matrix(n, d, mistake, base)
    steps.append(Step(key="positional_encoding.matrix", lhs=sym("PE"), symbolic=matrix,
                      value=matrix, data={"n": n, "d": d, **shape_data(matrix)}))
    return steps, matrix


PE_PARAMS = [
    Param("n", "int", minimum=1, maximum=64),
    Param("d", "int", minimum=1, maximum=64),
    # 10000 in Vaswani et al.; some course notes and exams use a smaller one (100, 1000)
    Param("base", "int", default=PE_BASE, minimum=2, maximum=10**6),
]


def sample_positional_encoding(draw: Draw, fixed: Mapping[str, Any]) -> dict[str, Any]:
    """2 to 16 positions of width 3 to 16 (at least two column pairs, where the exponent 2i/d
    matters). The range is wider than a hand computation needs because the question has only
    these two numbers, and fifty seeds should give (nearly) fifty different questions."""
    out = {"n": int(fixed.get("n") or draw.integer(2, 16)),
           "d": int(fixed.get("d") or draw.integer(3, 16))}
    if fixed.get("base") is not None:
        out["base"] = int(fixed["base"])
    elif draw.chance(0.2):  # sometimes the smaller base some course notes use
        out["base"] = draw.choice((100, 1000))
    return out


def _pe_question(values: dict[str, Any]) -> dict[str, Any]:
    return {"last": values["n"] - 1}


@derivation(
    "positional-encoding",
    params=PE_PARAMS,
    answers=[Answer("PE", "matrix", shapes=(("n", "d"),))],
    mistakes=[
        Mistake("sin-cos-swapped", changes=("PE",), formula=True),
        # with one column pair (d <= 2) the pair index i is 0 and both exponents are 0
        Mistake("exponent-i", changes=("PE",), formula=True,
                applies=lambda p: p["d"] >= 3 and p["n"] >= 2),
        # positions counted from 1: the first token's row is PE(1, .), not PE(0, .)
        Mistake("positions-from-one", changes=("PE",), formula=True),
        # sin and cos taken in degrees (the calculator's mode), not radians
        Mistake("degrees", changes=("PE",), formula=True, applies=lambda p: p["n"] >= 2),
        # the column's own index in the exponent (10000^(col/d)): the cos columns' wavelength
        # one step off; with one column there is no cos column
        Mistake("exponent-column", changes=("PE",), formula=True,
                applies=lambda p: p["d"] >= 2 and p["n"] >= 2),
    ],
    sampler=sample_positional_encoding,
    question=_pe_question,
)
def positional_encoding(n: int, d: int, base: int, mistake: str | None = None) -> Result:
    """The sinusoidal positional encodings of positions 0..n-1 in d dimensions.

    Args:
        n: the number of positions (tokens).
        d: the model width d_model.
        base: the base of the wavelengths, 10000 in Vaswani et al.
        mistake: ``sin-cos-swapped`` or ``exponent-i``.
    """
    steps, matrix = pe_steps(n, d, mistake, base)
    steps.insert(0, Step(key="positional_encoding.idea", data={"n": n, "d": d, "base": base}))
    return Result(convention="sin-even-cos-odd", steps=tuple(steps), answers={"PE": matrix})


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


ENCODER_PARAMS = [
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
]

_AFTER_ATTENTION = ("residual_1", "norm_1", "hidden", "ffn", "residual_2", "output")
ENCODER_MISTAKES = [
    Mistake("pre-norm", changes=("heads", "weights", "concat", "attention", *_AFTER_ATTENTION),
            formula=True),
    Mistake("no-residual", changes=_AFTER_ATTENTION, formula=True),
    # the feed-forward's ReLU left out: two linear layers in a row
    Mistake("no-relu", changes=("hidden", "ffn", "residual_2", "output"), formula=True),
    # the scores of every head not divided by sqrt(d_k)
    Mistake("no-scaling", changes=("heads", "weights", "concat", "attention",
                                   *_AFTER_ATTENTION), formula=True),
]


def sample_encoder_layer(draw: Draw, fixed: Mapping[str, Any]) -> dict[str, Any]:
    """Two or three tokens of width 3 or 4, two heads of width 2, a feed-forward layer of width
    3 or 4, every matrix written out in one-decimal numbers from -1 to 1."""
    dims = bind_dims(ENCODER_PARAMS, fixed)
    n = dim_size(fixed, dims, "tokens", draw.integer(2, 3))
    dm = dim_size(fixed, dims, "d_model", draw.integer(3, 4))
    h = dim_size(fixed, dims, "heads", 2)
    dk = dim_size(fixed, dims, "d_k", 2)
    dv = dim_size(fixed, dims, "d_v", dk)
    dff = dim_size(fixed, dims, "d_ff", draw.integer(3, 4))

    def per_head(rows: int, cols: int) -> list[Any]:
        return [draw.array((rows, cols), -1, 1, nonzero=True) for _ in range(h)]

    return {"X": draw.array((n, dm), -1, 1, nonzero=True),
            "positional": fixed.get("positional", draw.chance(0.5)),
            "W_Q": per_head(dm, dk), "W_K": per_head(dm, dk), "W_V": per_head(dm, dv),
            "W_O": draw.array((h * dv, dm), -1, 1, nonzero=True),
            "W_1": draw.array((dm, dff), -1, 1, nonzero=True),
            "b_1": draw.array((dff,), -0.5, 0.5),
            "W_2": draw.array((dff, dm), -1, 1, nonzero=True),
            "b_2": draw.array((dm,), -0.5, 0.5)}


def _encoder_question(values: dict[str, Any]) -> dict[str, Any]:
    """Every matrix as an equation, the layer norms' parameters, and the input's formula."""
    given = dict(values)
    if (given["d_k"] is None and given["W_Q"] is None and given["d_model"] is not None
            and given["heads"] is not None and given["d_model"] % given["heads"] == 0):
        given["d_k"] = given["d_model"] // given["heads"]
    m = multi_head_values(given, ENCODER_SLOTS,
                           ("tokens", "d_model", "heads", "d_k", "d_v", "d_ff"),
                           ENCODER_SEED_RANGE, {"d_v": "d_k"})
    dm = m["X"].cols
    norms = []
    for name, fill in (("gamma_1", 1), ("beta_1", 0), ("gamma_2", 1), ("beta_2", 0)):
        v = values[name]
        base, index = name.split("_")
        norms.append(Is(sym_sub(f"{base}_ln", int(index)),
                        v.T if v is not None else sp.ImmutableMatrix([[fill] * dm])))
    x, x_in = sym("X", **NC), sym("X_in", **NC)
    with sp.evaluate(False):
        formula = Is(x_in, sp.Add(x, sym("PE", **NC))) if values["positional"] else Is(x_in, x)
    return {"given": matrices_given(m, ("X", "W_Q", "W_K", "W_V", "W_O", "W_1", "b_1",
                                         "W_2", "b_2")),
            "norms": Names(*norms), "input_formula": formula, "heads": len(m["W_Q"])}


@derivation(
    "encoder-layer",
    params=ENCODER_PARAMS,
    answers=[
        Answer("PE", "matrix", shapes=(("tokens", "d_model"),), optional=True),
        # X + PE; without positions the input is X itself, an echoed input (in info)
        Answer("input", "matrix", shapes=(("tokens", "d_model"),), optional=True),
        Answer("heads", "matrices", shapes=(("heads", "tokens", "d_v"),)),
        Answer("weights", "matrices", shapes=(("heads", "tokens", "tokens"),)),
        Answer("concat", "matrix", shapes=(("tokens", "hd_v"),)),
        Answer("attention", "matrix", shapes=(("tokens", "d_model"),)),
        Answer("residual_1", "matrix", shapes=(("tokens", "d_model"),)),
        Answer("norm_1", "matrix", shapes=(("tokens", "d_model"),)),
        Answer("hidden", "matrix", shapes=(("tokens", "d_ff"),)),
        Answer("ffn", "matrix", shapes=(("tokens", "d_model"),)),
        Answer("residual_2", "matrix", shapes=(("tokens", "d_model"),)),
        Answer("output", "matrix", shapes=(("tokens", "d_model"),)),
    ],
    mistakes=ENCODER_MISTAKES,
    sampler=sample_encoder_layer,
    question=_encoder_question,
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
    mistake: str | None = None,
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
        mistake: ``pre-norm`` (each layer norm before its sublayer, none after the layer) or
            ``no-residual`` (no input added back around either sublayer).
    """
    if eps <= 0:
        raise InputError("eps", Said("transformer.errors.eps"), str(eps))
    values: dict[str, Any] = {"X": X, "W_Q": W_Q, "W_K": W_K, "W_V": W_V, "W_O": W_O,
                              "W_1": W_1, "b_1": b_1, "W_2": W_2, "b_2": b_2}
    given = {"tokens": tokens, "d_model": d_model, "heads": heads, "d_k": d_k, "d_v": d_v,
             "d_ff": d_ff}
    steps, generated = _encoder_inputs(values, given, seed)
    X = values["X"]
    affine = {"gamma_1": gamma_1, "beta_1": beta_1, "gamma_2": gamma_2, "beta_2": beta_2}
    for name, vec in affine.items():
        if vec is not None and vec.rows != X.cols:
            raise InputError(name, Said("transformer.errors.d_model", n=X.cols), f"{vec.rows}")
    answers: dict[str, Any] = {}
    info: dict[str, Any] = {}
    more, x_prime, x_in = _embeddings(X, positional, answers, info)
    steps += more
    layer = _Layer(values=values, X=X, x_in=x_in, eps=eps, affine=affine,
                   pre=mistake == "pre-norm", residual=mistake != "no-residual",
                   relu=mistake != "no-relu",
                   head_mistake=mistake if mistake == "no-scaling" else None)
    more, head_results, concat, attention, r1, n1, ffn_in, ffn_sym = _attention_sublayer(
        layer, x_prime)
    steps += more
    more, hidden, ffn = _feed_forward(layer, ffn_in, ffn_sym)
    steps += more
    more, r2, out = _second_add_norm(layer, r1, ffn_in, ffn)
    steps += more
    steps.append(Step(key="encoder_layer.representation",
                      data={"tokens": X.rows, "d_model": X.cols}))

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
    })
    return Result(convention="pre-norm" if layer.pre else "post-norm", steps=tuple(steps),
                  answers=answers, info={**info, "generated": list(generated), **generated})


def _encoder_inputs(values: dict[str, Any], given: dict[str, int | None], seed: int | None
                    ) -> tuple[list[Step], dict[str, Any]]:
    """The inputs step group: every matrix not given is generated from the seed (in place in
    `values`), and the sizes are shown. Returns the steps and the generated matrices."""
    d_model, heads = given["d_model"], given["heads"]
    if (given["d_k"] is None and values["W_Q"] is None and values["W_K"] is None
            and d_model is not None and heads is not None):
        if d_model % heads:
            raise InputError("d_k", Said("transformer.errors.head_width", d_model=d_model,
                                         heads=heads), Said("errors.nothing"))
        given["d_k"] = d_model // heads
    generated, sizes = seeded_inputs(values, ENCODER_SLOTS, given, seed, ENCODER_SEED_RANGE,
                                     {"d_v": "d_k"})
    low, high = ENCODER_SEED_RANGE
    steps = generated_step("encoder_layer.generated", seed, generated, low, high)
    steps.append(Step(key="encoder_layer.shapes",
                      data={k: sizes[k] for k in ("tokens", "d_model", "heads", "d_k", "d_v",
                                                  "d_ff")}))
    return steps, generated


def _embeddings(X: sp.ImmutableMatrix, positional: bool, answers: dict[str, Any],
                info: dict[str, Any]) -> tuple[list[Step], sp.ImmutableMatrix, sp.Symbol]:
    """The embeddings step group: X, plus the positional encodings if asked. Returns the steps,
    the layer's input X' and its symbol; records the input among the answers (or, when it is X
    as given, in `info`)."""
    x_sym, x_in = sym("X", **NC), sym("X_in", **NC)
    if positional:
        steps, pe = pe_steps(X.rows, X.cols)
        x_prime = from_numpy(to_numpy(X) + to_numpy(pe))
        with sp.evaluate(False):
            formula = sp.Add(x_sym, sym("PE", **NC))
        steps.append(Step(key="encoder_layer.add_positions", lhs=x_in, symbolic=formula,
                          value=x_prime, data=shape_data(X)))
        answers["PE"] = pe
        answers["input"] = x_prime
        return steps, x_prime, x_in
    steps = [Step(key="encoder_layer.no_positions", lhs=x_sym, symbolic=X, data=shape_data(X))]
    info["input"] = X  # the embeddings as given: an echoed input
    return steps, X, x_sym


@dataclass(frozen=True)
class _Layer:
    """What the sublayers of one encoder layer share: the weights (given or generated), the
    embeddings and the input's symbol, the layer norms' epsilon and affine parts as given, and
    the mistake's switches (`pre`: each norm before its sublayer; `residual`: inputs added back)."""

    values: dict[str, Any]
    X: sp.ImmutableMatrix
    x_in: sp.Symbol
    eps: sp.Rational
    affine: dict[str, sp.ImmutableMatrix | None]
    pre: bool
    residual: bool
    relu: bool = True  # False: the mistake no-relu, the feed-forward's ReLU left out
    head_mistake: str | None = None  # a mistake every attention head makes (no-scaling)

    def norm(self, which: int) -> tuple[np.ndarray, np.ndarray]:
        """The scale and shift of layer norm 1 or 2 (ones and zeros when not given)."""
        dm = self.X.cols
        return (_vector(self.affine[f"gamma_{which}"], dm, 1),
                _vector(self.affine[f"beta_{which}"], dm, 0))

    def norm_step(self) -> Step:
        """The layer norm's formula, shown once for both norms."""
        xr, mu, var, eps_s = sym("x_row"), sym("mu_ln"), sym("var_ln"), sym("eps_ln")
        with sp.evaluate(False):
            norm_formula = sp.Add(
                sp.Mul(sym("gamma_ln"), sp.Add(xr, sp.Mul(-1, mu)),
                       sp.Pow(sp.sqrt(sp.Add(var, eps_s)), -1)),
                sym("beta_ln"))
        default_affine = all(v is None for v in self.affine.values())
        return Step(key="encoder_layer.layer_norm" if default_affine
                    else "encoder_layer.layer_norm_given", lhs=LayerNorm(xr),
                    symbolic=norm_formula,
                    data={"eps": self.eps, "d_model": self.X.cols,
                          "default_affine": default_affine})


def _attention_sublayer(layer: _Layer, x_prime: sp.ImmutableMatrix) -> tuple[Any, ...]:
    """The attention sublayer's step groups: (pre-norm: the first layer norm,) multi-head
    self-attention, the residual and (post-norm) the first layer norm. Returns the steps, the
    heads, their concatenation, the attention output, R_1, N_1, the feed-forward's input and its
    symbol."""
    N1, R1 = sym("N_1", **NC), sym("R_1", **NC)
    x_in, X, e = layer.x_in, layer.X, float(layer.eps)
    g1, bt1 = layer.norm(1)
    g2, bt2 = layer.norm(2)
    steps: list[Step] = []
    attention_in = x_prime
    if layer.pre:  # (pre-norm: the first layer norm comes before the attention)
        steps.append(Step(key="encoder_layer.pre_norm", data={}))
        steps.append(layer.norm_step())
        n1, mean1, var1 = layer_norm(to_numpy(x_prime), g1, bt1, e)
        steps.append(Step(key="encoder_layer.norm_1_pre", lhs=N1, symbolic=LayerNorm(x_in),
                          value=from_numpy(n1),
                          data={"mean": sp.Float(mean1[0]), "variance": sp.Float(var1[0])}))
        attention_in = from_numpy(n1)

    # multi-head self-attention
    values = layer.values
    more, head_results, concat, attention = multi_head(
        "multi_head_attention", attention_in, values["W_Q"], values["W_K"], values["W_V"],
        values["W_O"], "none", x=N1 if layer.pre else x_in, mistake=layer.head_mistake)
    steps += more
    attended = MultiHead(N1 if layer.pre else x_in)

    # add (& norm) 1
    if layer.residual:
        r1 = to_numpy(x_prime) + to_numpy(attention)
        with sp.evaluate(False):
            steps.append(Step(key="encoder_layer.residual_1", lhs=R1,
                              symbolic=sp.Add(x_in, attended), value=from_numpy(r1),
                              data={"input": x_in, "attention": attended, **shape_data(X)}))
    else:
        r1 = to_numpy(attention)
        steps.append(Step(key="encoder_layer.residual_1_none", lhs=R1, symbolic=attended,
                          value=from_numpy(r1), data={"attention": attended}))
    if layer.pre:
        ffn_in, mean_b, var_b = layer_norm(r1, g2, bt2, e)
        steps.append(Step(key="encoder_layer.norm_2_pre", lhs=sp.Symbol("N_2", commutative=False),
                          symbolic=LayerNorm(R1), value=from_numpy(ffn_in),
                          data={"mean": sp.Float(mean_b[0]), "variance": sp.Float(var_b[0])}))
        return (steps, head_results, concat, attention, r1, n1, ffn_in,
                sp.Symbol("N_2", commutative=False))
    steps.append(layer.norm_step())
    n1, mean1, var1 = layer_norm(r1, g1, bt1, e)
    steps.append(Step(key="encoder_layer.norm_1", lhs=N1, symbolic=LayerNorm(R1),
                      value=from_numpy(n1),
                      data={"mean": sp.Float(mean1[0]), "variance": sp.Float(var1[0])}))
    return steps, head_results, concat, attention, r1, n1, n1, N1


def _feed_forward(layer: _Layer, ffn_in: np.ndarray, ffn_sym: sp.Symbol
                  ) -> tuple[list[Step], np.ndarray, np.ndarray]:
    """The position-wise feed-forward step group: ReLU(N W_1 + b_1) W_2 + b_2. Returns the steps,
    the hidden layer and the output."""
    values, X, n = layer.values, layer.X, layer.X.rows
    hidden = ffn_in @ to_numpy(values["W_1"]) + to_numpy(values["b_1"])[:, 0]
    if layer.relu:
        hidden = np.maximum(0.0, hidden)
    ffn = hidden @ to_numpy(values["W_2"]) + to_numpy(values["b_2"])[:, 0]
    with sp.evaluate(False):
        hidden_formula = sp.Add(sp.Mul(ffn_sym, sym("W_1ffn", **NC)), sym("b_1ffn", **NC))
        if layer.relu:
            hidden_formula = ReLU(hidden_formula)
        ffn_formula = sp.Add(sp.Mul(sym("H_ffn", **NC), sym("W_2ffn", **NC)), sym("b_2ffn", **NC))
    zeroed = int(np.sum(hidden == 0.0))
    steps = [
        Step(key="encoder_layer.ffn_hidden" + ("" if layer.relu else "_linear"),
             lhs=sym("H_ffn", **NC),
             symbolic=hidden_formula, value=from_numpy(hidden),
             data={**shape_data(X, "left_"), "d_ff": hidden.shape[1], "rows": n,
                   "cols": hidden.shape[1], "zeroed": zeroed, "entries": hidden.size}),
        Step(key="encoder_layer.ffn_output", lhs=sym("F_ffn", **NC),
             symbolic=ffn_formula, value=from_numpy(ffn),
             data={"left_rows": n, "left_cols": hidden.shape[1], **shape_data(X)}),
    ]
    return steps, hidden, ffn


def _second_add_norm(layer: _Layer, r1: np.ndarray, ffn_in: np.ndarray, ffn: np.ndarray
                     ) -> tuple[list[Step], np.ndarray, np.ndarray]:
    """The second add (& norm) step group: the feed-forward's input added back (unless the
    residual is left out), then the second layer norm (post-norm) or nothing more (pre-norm).
    Returns the steps, R_2 and the layer's output."""
    R1, N1, R2 = sym("R_1", **NC), sym("N_1", **NC), sym("R_2", **NC)
    steps: list[Step] = []
    second_in = R1 if layer.pre else N1
    if layer.residual:
        r2 = (r1 if layer.pre else ffn_in) + ffn
        with sp.evaluate(False):
            steps.append(Step(key="encoder_layer.residual_2_pre" if layer.pre
                              else "encoder_layer.residual_2", lhs=R2,
                              symbolic=sp.Add(second_in, sym("F_ffn", **NC)),
                              value=from_numpy(r2), data=shape_data(layer.X)))
    else:
        r2 = ffn
        steps.append(Step(key="encoder_layer.residual_2_none", lhs=R2,
                          symbolic=sym("F_ffn", **NC), value=from_numpy(r2), data={}))
    if layer.pre:
        steps.append(Step(key="encoder_layer.output_pre", lhs=sym("Y_out", **NC), symbolic=R2,
                          value=from_numpy(r2), data={}))
        return steps, r2, r2
    g2, bt2 = layer.norm(2)
    out, mean2, var2 = layer_norm(r2, g2, bt2, float(layer.eps))
    steps.append(Step(key="encoder_layer.norm_2", lhs=sym("Y_out", **NC),
                      symbolic=LayerNorm(R2), value=from_numpy(out),
                      data={"mean": sp.Float(mean2[0]), "variance": sp.Float(var2[0])}))
    return steps, r2, out
