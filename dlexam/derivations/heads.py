"""The machinery of attention shared by the attention family and the transformer: heads
(projections, scaled dot-product attention, row by row), multi-head attention, the matrices'
shapes and NumPy round trips, and seeded example matrices. Row vectors throughout: Q = X W^Q.
"""

# ruff: noqa: N803, N806
# (matrix names follow the transformer literature: X, W_Q, Q, K, V, Z)

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from dlexam.derivations.core import Elidable, Step, matrices_of, row_of
from dlexam.derivations.forms import Notation, Operator, Ratio, as_written, row_vector, tidy
from dlexam.errors import InputError, Said
from dlexam.notation import register_symbols, sym, sym_sub

register_symbols({
    "d_k": ("d_k", "d_k"),
    "Q": ("Q", "Q"),
    "K": ("K", "K"),
    "Z": ("Z", "Z"),
    "X": ("X", "X"),
    "W_Q": ("W^{Q}", "W^Q"),
    "W_K": ("W^{K}", "W^K"),
    "W_V": ("W^{V}", "W^V"),
    "W_O": ("W^{O}", "W^O"),
    "V_att": ("V", "V"),
    "K_T": (r"K^{\top}", "K^T"),
    "Q_T": (r"Q^{\top}", "Q^T"),
    "A_T": (r"A^{\top}", "A^T"),
    "S_att": ("S", "S"),
    "S_hat": (r"\hat{S}", "Ŝ"),  # the scaled scores S / sqrt(d_k)
    "s_hat": (r"\hat{s}", "ŝ"),  # an entry of S_hat (with sym_sub)
    "A_att": ("A", "A"),
    "M_mask": ("M", "M"),
    "Z_cat": (r"Z_{\mathrm{cat}}", "Z_cat"),
    "MH": (r"\mathrm{MultiHead}(X)", "MultiHead(X)"),
    "W_1ffn": ("W_1", "W_1"),
    "W_2ffn": ("W_2", "W_2"),
    "b_1ffn": ("b_1", "b_1"),
    "b_2ffn": ("b_2", "b_2"),
})

NC: dict[str, bool] = {"commutative": False}
"""Assumptions for matrix-valued symbols: products keep their authored order (Q K^T)."""

EXACT_LIMIT = 16
"""Attention matrices with at most this many entries keep exact softmax values."""


class Softmax(Operator):
    """Row-wise softmax."""

    name = "softmax"


class ColumnSoftmax(Operator):
    """Softmax down each column (a mistake: every column, not every row, sums to 1)."""

    name = "softmax_col"

class Concat(Operator):
    """Side-by-side concatenation of the heads' outputs."""

    name = "Concat"


class MultiHead(Operator):
    """Multi-head attention applied to a token matrix."""

    name = "MultiHead"


# ---------------------------------------------------------------------------------------------
# matrices: shapes, NumPy round trips, seeded examples


def shape_text(m: sp.MatrixBase) -> str:
    """``"5 x 12"``: a matrix's shape as an error message writes it."""
    return f"{m.rows} x {m.cols}"


def shape_data(m: sp.MatrixBase, prefix: str = "") -> dict[str, int]:
    """A matrix's shape as two fields of a step's data, ``rows`` and ``cols`` (with a prefix:
    ``left_rows``, ``left_cols``); the catalogs write the times sign between them."""
    return {f"{prefix}rows": m.rows, f"{prefix}cols": m.cols}


def to_numpy(m: sp.MatrixBase) -> np.ndarray:
    """A float64 array of a matrix's values (-oo becomes -inf)."""
    return np.array([[float(x) for x in m.row(i)] for i in range(m.rows)], dtype=np.float64)


def from_numpy(a: np.ndarray) -> sp.ImmutableMatrix:
    """An ImmutableMatrix of SymPy Floats (15 significant digits shown, full double kept)."""
    a = np.atleast_2d(a)
    return sp.ImmutableMatrix(a.shape[0], a.shape[1], [sp.Float(float(x)) for x in a.flat])


def seeded_matrix(rng: np.random.Generator, rows: int, cols: int, low: int, high: int
                  ) -> sp.ImmutableMatrix:
    """Example numbers with two decimals, exact: integers in [low, high] divided by 100."""
    ints = rng.integers(low, high + 1, size=(rows, cols))
    return sp.ImmutableMatrix(rows, cols, [sp.Rational(int(k), 100) for k in ints.flat])


def matmul(a: sp.MatrixBase, b: sp.MatrixBase, exact: bool) -> sp.ImmutableMatrix:
    """a b, exact (SymPy) or in floats (NumPy)."""
    if exact:
        return sp.ImmutableMatrix(a * b)
    return from_numpy(to_numpy(a) @ to_numpy(b))


def weighted_values(weights: sp.MatrixBase, V: sp.MatrixBase, exact: bool,
                    transposed: bool = False) -> sp.ImmutableMatrix:
    """Z = A V, the head's last product (A^T V under ``transposed-weights-in-z``)."""
    return matmul(weights.T if transposed else weights, V, exact)


def softmax_rows_exact(s: sp.MatrixBase) -> sp.ImmutableMatrix:
    """Row-wise softmax, exact: e^{s_j} / sum_k e^{s_k}, cancelled (e^14/(e^14+e^12) = e^2/(1+e^2)).

    Entries equal to -oo (masked) get weight 0.
    """
    out: list[sp.Basic] = []
    for i in range(s.rows):
        row = list(s.row(i))
        live = [x for x in row if x != -sp.oo]
        total = sp.Add(*[sp.exp(x) for x in live])
        out.extend(sp.Integer(0) if x == -sp.oo else tidy(sp.exp(x) / total) for x in row)
    return sp.ImmutableMatrix(s.rows, s.cols, out)


def softmax_rows_float(s: np.ndarray) -> np.ndarray:
    """Row-wise softmax in floats, shifted by the row maximum (entries of -inf get weight 0)."""
    shifted = s - np.max(s, axis=-1, keepdims=True)
    e = np.exp(shifted)
    return e / np.sum(e, axis=-1, keepdims=True)


def causal_mask(rows: int, cols: int) -> sp.ImmutableMatrix:
    """M with 0 where key j <= query i and -oo above the diagonal."""
    return sp.ImmutableMatrix(rows, cols, lambda i, j: 0 if j <= i else -sp.oo)


def indexed(base: str, *indices: int, commutative: bool = True) -> sp.Symbol:
    """An indexed symbol such as a_12 (a_{1,12} once an index has two digits)."""
    sep = "," if any(k >= 10 for k in indices) else ""
    sub = sep.join(str(k) for k in indices)
    return sp.Symbol(f"{base}_{{{sub}}}" if sep else f"{base}_{sub}", commutative=commutative)


# ---------------------------------------------------------------------------------------------
# seeded example inputs, shared by multi-head attention and the encoder layer


@dataclass(frozen=True)
class Slot:
    """A matrix parameter that a seed may fill.

    Attributes:
        name: the parameter's name.
        shape: size names of its rows and columns, or one size name for a vector.
        per_head: True for a list with one matrix per head.
    """

    name: str
    shape: tuple[str, ...]
    per_head: bool = False


def resolve_sizes(
    given: Mapping[str, int | None], observed: Sequence[tuple[str, int, str]]
) -> dict[str, int | None]:
    """Sizes from the matrices given, checked against sizes given as parameters.

    Args:
        given: size parameter -> value (None when not given).
        observed: (size parameter, size, the parameter that shows it), from the matrices given.

    Raises:
        InputError: a size parameter contradicts a matrix.
    """
    sizes: dict[str, int | None] = dict(given)
    seen: dict[str, tuple[int, str]] = {}
    for size_name, value, source in observed:
        seen.setdefault(size_name, (value, source))
    for size_name, (value, source) in seen.items():
        if given.get(size_name) is not None and given[size_name] != value:
            raise InputError(size_name, Said("heads.errors.as_says", value=value, source=source),
                             str(given[size_name]))
        sizes[size_name] = value
    return sizes


def fill_with_seed(
    values: dict[str, Any],
    slots: Sequence[Slot],
    sizes: Mapping[str, int | None],
    seed: int | None,
    low: int,
    high: int,
) -> dict[str, Any]:
    """Fills the missing matrices with seeded two-decimal numbers; returns the generated ones.

    Raises:
        InputError: a matrix is missing and no seed is given, or a size needed to make it is.
    """
    rng = np.random.default_rng(seed) if seed is not None else None
    generated: dict[str, Any] = {}
    for slot in slots:
        if values.get(slot.name) is not None:
            continue
        if rng is None:
            raise InputError(slot.name, Said("heads.errors.matrix"), Said("errors.nothing"))
        dims: list[int] = []
        for size_name in slot.shape:
            size = sizes.get(size_name)
            if size is None:
                raise InputError(size_name, Said("heads.errors.size", name=slot.name),
                                 Said("errors.nothing"))
            dims.append(size)
        rows, cols = (dims[0], 1) if len(dims) == 1 else (dims[0], dims[1])
        if slot.per_head:
            heads = sizes.get("heads")
            if heads is None:
                raise InputError("heads", Said("heads.errors.heads", name=slot.name),
                                 Said("errors.nothing"))
            made: Any = tuple(seeded_matrix(rng, rows, cols, low, high) for _ in range(heads))
            generated[slot.name] = list(made)
        else:
            made = seeded_matrix(rng, rows, cols, low, high)
            generated[slot.name] = made if len(dims) == 2 else list(made)
        values[slot.name] = made
    return generated


class Names(Notation):
    """A list of symbols as prose writes it: ``X, W^Q, W^K``."""


class Is(Notation):
    """``name = value`` in a question statement (``X = [[1, 2]]``), in LaTeX and in text."""

def given_list(base: str, mats: Sequence[sp.MatrixBase]) -> Names:
    """``W^Q_1 = [...], W^Q_2 = [...]``: one matrix per head, for a question statement."""
    return Names(*[Is(sp.Symbol(f"{base}_{h}", **NC), m) for h, m in enumerate(mats, start=1)])


# parameter name -> its symbol in the notation table
PARAM_SYMBOLS = {"X": "X", "W_Q": "W_Q", "W_K": "W_K", "W_V": "W_V", "W_O": "W_O",
                 "W_1": "W_1ffn", "b_1": "b_1ffn", "W_2": "W_2ffn", "b_2": "b_2ffn"}


def generated_step(key: str, seed: int | None, generated: Mapping[str, Any], low: int,
                   high: int) -> list[Step]:
    """The step that says which inputs are seeded example numbers (none when nothing was)."""
    if not generated:
        return []
    names = Names(*[sym(PARAM_SYMBOLS[n]) for n in generated])
    return [Step(key=key, data={"seed": seed, "names": names,
                                "low": sp.Rational(low, 100), "high": sp.Rational(high, 100)})]


# ---------------------------------------------------------------------------------------------
# one attention head


@dataclass(frozen=True)
class HeadSymbols:
    """The symbols of one head (subscripted by the head's number in multi-head attention)."""

    Q: sp.Symbol
    K: sp.Symbol
    V: sp.Symbol
    KT: sp.Symbol
    S: sp.Symbol
    S_hat: sp.Symbol
    A: sp.Symbol
    Z: sp.Symbol
    WQ: sp.Symbol
    WK: sp.Symbol
    WV: sp.Symbol

    @classmethod
    def single(cls) -> HeadSymbols:
        """Q, K, V, ... without a head number."""
        return cls(Q=sym("Q", **NC), K=sym("K", **NC), V=sym("V_att", **NC),
                   KT=sym("K_T", **NC), S=sym("S_att", **NC), S_hat=sym("S_hat", **NC),
                   A=sym("A_att", **NC), Z=sym("Z", **NC), WQ=sym("W_Q", **NC),
                   WK=sym("W_K", **NC), WV=sym("W_V", **NC))

    @classmethod
    def head(cls, h: int) -> HeadSymbols:
        """Q_h, K_h, V_h, ..., W^Q_h for head h."""
        def s(name: str) -> sp.Symbol:
            return sp.Symbol(f"{name}_{h}", **NC)

        return cls(Q=s("Q"), K=s("K"), V=s("V"), KT=sym_sub("K_T", h, **NC), S=s("S"),
                   S_hat=sym_sub("S_hat", h, **NC), A=s("A"), Z=s("Z"), WQ=s("W^Q"),
                   WK=s("W^K"), WV=s("W^V"))


@dataclass(frozen=True)
class HeadResult:
    """The matrices of one head; ``Q``, ``K``, ``scores`` are None when scores were given."""

    Q: sp.ImmutableMatrix | None
    K: sp.ImmutableMatrix | None
    V: sp.ImmutableMatrix | None
    scores: sp.ImmutableMatrix | None
    scaled: sp.ImmutableMatrix
    masked: sp.ImmutableMatrix | None
    weights: sp.ImmutableMatrix
    Z: sp.ImmutableMatrix | None


def scores_step(prefix: str, Q: sp.MatrixBase, K: sp.MatrixBase, syms: HeadSymbols,
                exact: bool, head_data: Mapping[str, Any], mistake: str | None = None
                ) -> tuple[Step, sp.ImmutableMatrix]:
    """The scores S = Q K^T (K Q^T under the mistake ``transposed-scores``): the step and S."""
    if mistake == "transposed-scores":
        scores = matmul(K, Q.T, exact)
        with sp.evaluate(False):
            formula = sp.Mul(syms.K, sym("Q_T", **NC))
        return product_step(f"{prefix}.scores_transposed", syms.S, formula, K, Q.T, scores,
                            shown_right=sp.Transpose(Q), **head_data), scores
    scores = matmul(Q, K.T, exact)
    with sp.evaluate(False):
        formula = sp.Mul(syms.Q, syms.KT)
    return product_step(f"{prefix}.scores", syms.S, formula, Q, K.T, scores,
                        shown_right=sp.Transpose(K), **head_data), scores


def product_step(key: str, lhs: sp.Basic, symbolic: sp.Basic, left: sp.MatrixBase,
                 right: sp.MatrixBase, value: sp.MatrixBase, shown_right: sp.Basic | None = None,
                 **data: Any) -> Step:
    """A matrix product step with its matrices written out (``shown_right`` as the right one:
    K^T rather than its entries transposed); the layout shows them only while they are small."""
    right_shown = right if shown_right is None else shown_right
    substituted = sp.MatMul(left, right_shown, evaluate=False)
    return Step(key=key, lhs=lhs, symbolic=symbolic, substituted=substituted, value=value,
                data={**shape_data(left, "left_"), **shape_data(right, "right_"),
                      **shape_data(value), **data},
                elidable=matrices_of(left, right, substituted=None))


def project(prefix: str, X: sp.MatrixBase, WQ: sp.MatrixBase, WK: sp.MatrixBase,
            WV: sp.MatrixBase, syms: HeadSymbols, exact: bool, head_data: Mapping[str, Any],
            x: sp.Symbol, X_kv: sp.MatrixBase | None = None, x_kv: sp.Symbol | None = None
            ) -> tuple[list[Step], sp.ImmutableMatrix, sp.ImmutableMatrix, sp.ImmutableMatrix]:
    """Q = X W^Q, K = X W^K, V = X W^V, one step each (``x`` is the input's symbol).

    With ``X_kv`` (cross-attention, symbol ``x_kv``) the keys and values come from it:
    K = X_kv W^K, V = X_kv W^V.
    """
    steps: list[Step] = []
    out = []
    kv, kv_sym = (X, x) if X_kv is None else (X_kv, x_kv if x_kv is not None else x)
    for key, lhs, w_sym, W, source, source_sym in (
            ("queries", syms.Q, syms.WQ, WQ, X, x), ("keys", syms.K, syms.WK, WK, kv, kv_sym),
            ("values", syms.V, syms.WV, WV, kv, kv_sym)):
        value = matmul(source, W, exact)
        with sp.evaluate(False):
            formula = sp.Mul(source_sym, w_sym)
        steps.append(product_step(f"{prefix}.{key}", lhs, formula, source, W, value,
                                  input=source_sym, **head_data))
        out.append(value)
    return steps, out[0], out[1], out[2]


@dataclass(frozen=True)
class Scale:
    """What attention divides its scores by, one meaning for the derivations, their samplers,
    their questions and their mistakes: sqrt(d_k) (``"sqrt"``, the default), nothing
    (``"none"``: plain dot-product attention) or a positive number the question gives."""

    given: Any  # the parameter as it is: "sqrt", "none" or a number

    @property
    def root(self) -> bool:
        """Divided by sqrt(d_k)."""
        return self.given == "sqrt"

    @property
    def plain(self) -> bool:
        """Not divided at all."""
        return self.given == "none"

    def number(self) -> sp.Rational:
        """The number given to divide by (neither ``sqrt`` nor ``none``)."""
        return sp.Rational(self.given)

    def divisor(self, d_k: int | None) -> float:
        """The divisor as a float (d_k = 1 when it is not known), as a sampler sizes scores."""
        if self.root:
            return float(d_k or 1) ** 0.5
        return 1.0 if self.plain else float(self.given)

    def written(self, scores: sp.Basic) -> sp.Basic:
        """The scores divided as the formula writes it (built under sympy.evaluate(False))."""
        if self.root:
            return Ratio(scores, sp.sqrt(sym("d_k")))
        return scores if self.plain else Ratio(scores, self.number())


def scaled_attention(
    prefix: str,
    *,
    scores: sp.MatrixBase,
    d_k: int | None,
    V: sp.MatrixBase | None,
    mask: str,
    exact: bool,
    syms: HeadSymbols,
    head_data: Mapping[str, Any],
    rows: str,
    mistake: str | None = None,
    scale: Any = "sqrt",
) -> tuple[list[Step], HeadResult]:
    """From the scores Q K^T: scaled, masked, softmax weights, Z = A V and rows of Z.

    Args:
        prefix: the catalog section of the steps.
        scores: the scores Q K^T (n x m).
        d_k: the width of the queries and keys (None only when the scale does not need it).
        V: the values (m x d_v), or None (then Z is not computed).
        mask: ``"none"`` or ``"causal"``.
        exact: keep exact values (small cases) or evaluate in floats.
        syms: the head's symbols.
        head_data: data every step carries (the head's number in multi-head attention).
        rows: the layout's measure of how many rows are shown (``"rows"``,
            ``"rows_inexact"``, ``"rows_per_head"``): every row gets a softmax step (exact
            weights) and a weighted-sum step, marked as row i of n; the layout
            (:data:`dlexam.notation.display.LAYOUT`) chooses how many are shown.
        mistake: compute as a student who makes this mistake: ``no-scaling`` (no division),
            ``scaled-by-dk`` (division by d_k itself), ``softmax-by-column`` (each column
            normalised instead of each row).
        scale: what the scores are divided by: ``"sqrt"`` (sqrt(d_k)), ``"none"`` (plain
            dot-product attention) or a positive number.
    """
    divide = scale if isinstance(scale, Scale) else Scale(scale)
    scaled_step, scaled = _scaled_step(prefix, scores, d_k, divide, exact, syms, head_data,
                                       mistake)
    steps = [scaled_step]
    logits = scaled
    masked = None
    after = mistake == "mask-after-softmax" and mask == "causal"
    if mask == "causal":
        mask_step, masked = _mask_step(prefix, scaled, syms, head_data)
        if not after:  # (under the mistake the mask comes after the softmax, below)
            steps.append(mask_step)
            logits = masked
    # the rows' group: "self_attention.rows", "multi_head_attention.head_2.rows"
    group = ".".join([prefix, *([f"head_{head_data['head']}"] if "head" in head_data else []),
                      "rows"])
    more, weights = _weights_steps(prefix, logits, None if after else masked,
                                   "none" if after else mask, exact, syms, head_data, rows,
                                   group, mistake)
    steps += more
    if after:  # the weights above the diagonal set to 0 after the softmax, not renormalised
        weights = sp.ImmutableMatrix(weights.rows, weights.cols,
                                     lambda i, j: weights[i, j] if j <= i else 0)
        steps.append(Step(key=f"{prefix}.mask_after_softmax", lhs=syms.A, value=weights,
                          symbolic=weights, data={**shape_data(weights), **head_data}))
    Z = None
    if V is not None:
        transposed = mistake == "transposed-weights-in-z"
        Z = weighted_values(weights, V, exact, transposed)
        with sp.evaluate(False):
            z_formula = sp.Mul(sym("A_T", **NC) if transposed else syms.A, syms.V)
        steps.append(product_step(f"{prefix}.output" + ("_transposed" if transposed else ""),
                                  syms.Z, z_formula, weights.T if transposed else weights, V,
                                  Z, **head_data))
    # every row, marked: the layout chooses how many are shown (A^T's rows, as Z used them)
    weight_rows = (weights.T if mistake == "transposed-weights-in-z" else weights).tolist()
    z_rows = None if Z is None else Z.tolist()
    for i, weight_row in enumerate(weight_rows):
        steps.append(_row_step(prefix, i, weight_row, None if z_rows is None else z_rows[i],
                               head_data, row_of(rows, i + 1, weights.rows, group)))
    return steps, HeadResult(Q=None, K=None, V=V, scores=scores, scaled=scaled, masked=masked,
                             weights=weights, Z=Z)


def _scaled_step(prefix: str, scores: sp.MatrixBase, d_k: int | None, divide: Scale,
                 exact: bool, syms: HeadSymbols, head_data: Mapping[str, Any],
                 mistake: str | None) -> tuple[Step, sp.MatrixBase]:
    """The scaling step: the scores divided by sqrt(d_k), by a given number, by d_k (the
    mistake) or not at all (the mistake, or plain dot-product attention). Returns the step and
    the scaled scores S-hat."""
    dk = sym("d_k")
    unscaled = mistake == "no-scaling" or (divide.plain and mistake != "scaled-by-dk")
    scale_data: dict[str, Any] = {}
    if unscaled:
        # no division: the mistake, or plain dot-product attention (scale=none) done right
        root = sp.Integer(1)
        scaled_key = f"{prefix}.unscaled" if mistake == "no-scaling" else f"{prefix}.plain"
        scaled_formula = syms.S
        with sp.evaluate(False):
            inv_root = sp.Pow(sp.Integer(1), -1)
    elif mistake == "scaled-by-dk":
        root, scaled_key = sp.Integer(d_k), f"{prefix}.scaled_by_dk"
        with sp.evaluate(False):
            inv_root = sp.Pow(sp.Integer(d_k), -1)
            scaled_formula = sp.Mul(syms.S, sp.Pow(dk, -1))
    elif divide.root:
        root, scaled_key = sp.sqrt(sp.Integer(d_k)), f"{prefix}.scaled"
        with sp.evaluate(False):
            inv_root = sp.Pow(sp.sqrt(sp.Integer(d_k)), -1)
            scaled_formula = sp.Mul(syms.S, sp.Pow(sp.sqrt(dk), -1))
    else:  # a number to divide by, given by the question
        root, scaled_key = divide.number(), f"{prefix}.scaled_by"
        scale_data = {"scale": root}
        with sp.evaluate(False):
            inv_root = sp.Pow(root, -1)
            scaled_formula = sp.Mul(syms.S, sp.Pow(root, -1))
    if exact:
        scaled = sp.ImmutableMatrix(scores.applyfunc(lambda s: s / root))
    else:
        scaled = from_numpy(to_numpy(scores) / float(root))
    written = None if unscaled else sp.MatMul(inv_root, scores, evaluate=False)
    # the scaled scores get their own name, S-hat: the softmax below reads them, not S
    width = {} if d_k is None else {"d_k": d_k}
    step = Step(
        key=scaled_key, lhs=syms.S_hat, symbolic=scaled_formula, substituted=written,
        value=scaled, data={**width, "root": root, **scale_data, **shape_data(scores),
                            **head_data},
        elidable=None if written is None else matrices_of(scores, substituted=None),
    )
    return step, scaled


def _mask_step(prefix: str, scaled: sp.MatrixBase, syms: HeadSymbols,
               head_data: Mapping[str, Any]) -> tuple[Step, sp.ImmutableMatrix]:
    """The causal mask's step: -inf above the diagonal. Returns the step and the masked
    scores."""
    m = causal_mask(scaled.rows, scaled.cols)
    masked = sp.ImmutableMatrix(scaled.rows, scaled.cols,
                                lambda i, j: scaled[i, j] if j <= i else -sp.oo)
    with sp.evaluate(False):
        mask_lhs = sp.Add(syms.S_hat, sym("M_mask", **NC))
    step = Step(key=f"{prefix}.mask", lhs=mask_lhs,
                symbolic=sp.MatAdd(scaled, m, evaluate=False),
                value=masked, data={**shape_data(m), **head_data},
                elidable=matrices_of(m, symbolic=None))
    return step, masked


def _weights_steps(prefix: str, logits: sp.MatrixBase, masked: sp.MatrixBase | None,
                   mask: str, exact: bool, syms: HeadSymbols, head_data: Mapping[str, Any],
                   rows: str, group: str, mistake: str | None
                   ) -> tuple[list[Step], sp.MatrixBase]:
    """The softmax step group: each row's softmax (exact, or in floats), then the weights A
    (by column: the mistake). Returns the steps and A."""
    steps: list[Step] = []
    by_column = mistake == "softmax-by-column"
    if by_column:
        weights = (sp.ImmutableMatrix(softmax_rows_exact(logits.T).T) if exact
                   else from_numpy(softmax_rows_float(to_numpy(logits).T).T))
    elif exact:
        weights = softmax_rows_exact(logits)
    else:
        weights = from_numpy(softmax_rows_float(to_numpy(logits)))
    if not by_column:  # every row's softmax, exact or in floats: --json has every step
        for i in range(logits.rows):
            steps.append(softmax_row_step(prefix, i, logits, weights, head_data, "s_hat",
                                          masked=masked is not None,
                                          elidable=row_of(rows, i + 1, logits.rows, group)))
    with sp.evaluate(False):
        inner = sp.Add(syms.S_hat, sym("M_mask", **NC)) if mask == "causal" else syms.S_hat
        weights_formula = ColumnSoftmax(inner) if by_column else Softmax(inner)
    steps.append(Step(key=f"{prefix}.weights_by_column" if by_column else f"{prefix}.weights",
                      lhs=syms.A, symbolic=weights_formula,
                      value=weights, data={**shape_data(weights), **head_data}))
    return steps, weights


def softmax_row_step(prefix: str, i: int, logits: sp.MatrixBase, weights: sp.MatrixBase,
                      head_data: Mapping[str, Any], letter: str, masked: bool = False,
                      elidable: Elidable | None = None) -> Step:
    """Row i of the weights: e^{s_ij} / sum_k e^{s_ik}, written out with the numbers.

    ``letter`` names the entries of the logits: ``"s"`` for alignment scores, ``"s_hat"`` for
    the scaled scores of self-attention; ``masked``: the logits are masked scores.
    """
    cols = range(logits.cols)
    live = [j for j in cols if logits[i, j] != -sp.oo]
    s = {j: indexed("s", i + 1, j + 1) if letter == "s" else sym_sub(letter, i + 1, j + 1)
         for j in cols}
    with sp.evaluate(False):
        den_sym = sp.Add(*[sp.exp(s[j]) for j in live]) if len(live) > 1 else sp.exp(s[live[0]])
        den_num = (sp.Add(*[sp.exp(logits[i, j]) for j in live]) if len(live) > 1
                   else sp.exp(logits[i, live[0]]))
        symbolic = row_vector([sp.Mul(sp.exp(s[j]), sp.Pow(den_sym, -1)) if j in live
                               else sp.Integer(0) for j in cols])
        substituted = row_vector([sp.Mul(sp.exp(logits[i, j]), sp.Pow(den_num, -1)) if j in live
                                  else sp.Integer(0) for j in cols])
    return Step(key=f"{prefix}.softmax_row" + ("_masked" if masked else ""),
                lhs=indexed("a", i + 1), symbolic=symbolic,
                substituted=substituted, value=row_vector(list(weights.row(i))),
                data={"row": i + 1, "scores": row_vector(list(logits.row(i))), **head_data},
                elidable=elidable)


def _row_step(prefix: str, i: int, weights: list[Any], z: list[Any] | None,
              head_data: Mapping[str, Any], elidable: Elidable) -> Step:
    """Row i of Z (``z``, or None) as the weighted sum of the value rows with the weights of
    row i of A (``weights``): z_1 = 0.88 v_1 + 0.12 v_2."""
    cols = range(len(weights))
    v = [sp.Symbol(f"v_{j + 1}") for j in cols]
    written = [as_written(x) for x in weights]
    # evaluate=False by argument: sympy.evaluate(False) would empty SymPy's cache, row by row
    symbolic = sp.Add(*[sp.Mul(indexed("a", i + 1, j + 1), v[j], evaluate=False) for j in cols],
                      evaluate=False)
    combination = sp.Add(*[sp.Mul(written[j], v[j], evaluate=False) for j in cols],
                         evaluate=False)
    return Step(key=f"{prefix}.row", lhs=sp.Symbol(f"z_{i + 1}"), symbolic=symbolic,
                substituted=combination, value=None if z is None else row_vector(z),
                data={"row": i + 1, "combination": combination, "weights": row_vector(written),
                      **head_data},
                elidable=elidable)


def head_attention(prefix: str, X: sp.MatrixBase, WQ: sp.MatrixBase, WK: sp.MatrixBase,
                   WV: sp.MatrixBase, mask: str, exact: bool, syms: HeadSymbols,
                   head_data: Mapping[str, Any], rows: str, x: sp.Symbol | None = None,
                   mistake: str | None = None, X_kv: sp.MatrixBase | None = None,
                   x_kv: sp.Symbol | None = None, scale: Any = "sqrt"
                   ) -> tuple[list[Step], HeadResult]:
    """One head from the token matrix (keys and values from ``X_kv`` when given): projections,
    scores, scaling, softmax, Z."""
    x = sym("X", **NC) if x is None else x
    steps, Q, K, V = project(prefix, X, WQ, WK, WV, syms, exact, head_data, x, X_kv, x_kv)
    step, scores = scores_step(prefix, Q, K, syms, exact, head_data, mistake)
    steps.append(step)
    more, result = scaled_attention(prefix, scores=scores, d_k=WQ.cols, V=V, mask=mask,
                                    exact=exact, syms=syms, head_data=head_data,
                                    rows=rows, mistake=mistake, scale=scale)
    return steps + more, HeadResult(Q=Q, K=K, V=V, scores=scores, scaled=result.scaled,
                                    masked=result.masked, weights=result.weights, Z=result.Z)


MULTI_HEAD_SLOTS = (
    Slot("X", ("tokens", "d_model")),
    Slot("W_Q", ("d_model", "d_k"), per_head=True),
    Slot("W_K", ("d_kv", "d_k"), per_head=True),
    Slot("W_V", ("d_kv", "d_v"), per_head=True),
    Slot("W_O", ("hd_v", "d_out")),
)
CROSS_SLOTS = (
    Slot("X_q", ("tokens", "d_model")),
    Slot("X_kv", ("tokens_kv", "d_kv")),
    *MULTI_HEAD_SLOTS[1:],
)
"""Cross-attention: queries from X_q, keys and values from X_kv (of its own length and width)."""
MULTI_HEAD_DEFAULTS = {"d_v": "d_k", "d_out": "d_model", "d_kv": "d_model"}
ATTENTION_SEED_RANGE = (0, 99)
"""Seeded attention examples: two-decimal numbers from 0 to 0.99, like the worked tables."""


def multi_head(prefix: str, X: sp.MatrixBase, W_Q: Sequence[sp.MatrixBase],
               W_K: Sequence[sp.MatrixBase], W_V: Sequence[sp.MatrixBase], W_O: sp.MatrixBase,
               mask: str, x: sp.Symbol | None = None, mistake: str | None = None,
               X_kv: sp.MatrixBase | None = None, x_kv: sp.Symbol | None = None,
               scale: Any = "sqrt"
               ) -> tuple[list[Step], list[HeadResult], sp.ImmutableMatrix, sp.ImmutableMatrix]:
    """Every head, the concatenation and the output projection, in floats.

    ``x`` is the input's symbol (X, or X' once positions are added); with ``X_kv`` (symbol
    ``x_kv``) the keys and values come from it (cross-attention). ``mistake``: ``no-scaling``
    (no head divides its scores) or ``no-output-projection`` (the concatenation taken as the
    output). ``scale``: ``"sqrt"``, ``"none"`` or a number to divide the scores by.
    """
    steps: list[Step] = []
    heads: list[HeadResult] = []
    for h, (wq, wk, wv) in enumerate(zip(W_Q, W_K, W_V, strict=True), start=1):
        more, head = head_attention(prefix, X, wq, wk, wv, mask, False, HeadSymbols.head(h),
                                    {"head": h}, rows="rows_per_head",
                                    x=x, mistake=mistake,
                                    X_kv=X_kv, x_kv=x_kv, scale=scale)
        steps += more
        heads.append(head)
    zs = [head.Z for head in heads if head.Z is not None]
    concat = from_numpy(np.hstack([to_numpy(z) for z in zs]))
    z_syms = [sp.Symbol(f"Z_{h}", **NC) for h in range(1, len(heads) + 1)]
    steps.append(Step(key=f"{prefix}.concat", lhs=sym("Z_cat", **NC),
                      symbolic=Concat(*z_syms), value=concat,
                      data={"heads": len(heads), **shape_data(zs[0], "head_"),
                            **shape_data(concat)}))
    lhs = sym("MH") if x is None else MultiHead(x) if x_kv is None else MultiHead(x, x_kv)
    if mistake == "no-output-projection":
        steps.append(Step(key=f"{prefix}.no_projection", lhs=lhs, symbolic=Concat(*z_syms),
                          value=concat, data={"heads": len(heads), **shape_data(concat)}))
        return steps, heads, concat, concat
    output = from_numpy(to_numpy(concat) @ to_numpy(W_O))
    with sp.evaluate(False):
        formula = sp.Mul(Concat(*z_syms), sym("W_O", **NC))
    steps.append(product_step(f"{prefix}.projection", lhs, formula, concat, W_O, output,
                              heads=len(heads)))
    return steps, heads, concat, output


def dim_size(fixed: Mapping[str, Any], dims: Mapping[str, int], name: str, default: int) -> int:
    value = fixed.get(name)
    return int(value) if value is not None else dims.get(name, default)


def multi_head_values(values: dict[str, Any], slots: Sequence[Slot],
                       sizes: Sequence[str], seed_range: tuple[int, int],
                       defaults: Mapping[str, str]) -> dict[str, Any]:
    """Every matrix of a question: those given, and those the seed generates."""
    matrices = {slot.name: values[slot.name] for slot in slots}
    seeded_inputs(matrices, slots, {k: values[k] for k in sizes}, values["seed"], seed_range,
                  defaults)
    return matrices


def matrices_given(m: Mapping[str, Any], names: Sequence[str]) -> Names:
    parts: list[Any] = []
    for name in names:
        value = m[name]
        if name in ("X_q", "X_kv"):
            parts.append(Is(sp.Symbol(name, commutative=False), value))
            continue
        symbol = PARAM_SYMBOLS[name]
        if isinstance(value, (list, tuple)):
            parts += given_list({"W_Q": "W^Q", "W_K": "W^K", "W_V": "W^V"}[name],
                                value).args
        else:
            parts.append(Is(sym(symbol, **NC), value))
    return Names(*parts)


def seeded_inputs(
    values: dict[str, Any],
    slots: Sequence[Slot],
    given_sizes: dict[str, int | None],
    seed: int | None,
    seed_range: tuple[int, int],
    defaults: Mapping[str, str],
) -> tuple[dict[str, Any], dict[str, int | None]]:
    """Sizes from the matrices given and the size parameters; missing matrices from the seed.

    Args:
        values: parameter name -> matrix (or tuple of per-head matrices), None when not given;
            filled in place with the generated ones.
        slots: the matrix parameters in generation order.
        given_sizes: size parameter -> value given (None when not).
        seed: the seed, or None.
        seed_range: smallest and largest generated number, in hundredths.
        defaults: size -> the size it defaults to (``{"d_v": "d_k"}``).

    Returns:
        The generated matrices by name, and every size (``hd_v`` = heads x d_v included).

    Raises:
        InputError: a size contradicts a matrix, W_O does not fit the heads, a matrix is
            missing without a seed.
    """
    observed: list[tuple[str, int, str]] = []
    for slot in slots:
        v = values.get(slot.name)
        if v is None:
            continue
        first = v[0] if slot.per_head else v
        if slot.per_head:
            observed.append(("heads", len(v), slot.name))
        dims = (first.rows, first.cols) if len(slot.shape) == 2 else (first.rows,)
        observed += [(n, d, slot.name) for n, d in zip(slot.shape, dims, strict=True)
                     if n != "hd_v"]
    sizes = resolve_sizes(given_sizes, observed)
    for size_name, source in defaults.items():
        if sizes.get(size_name) is None:
            sizes[size_name] = sizes.get(source)
    if sizes.get("heads") is not None and sizes.get("d_v") is not None:
        sizes["hd_v"] = sizes["heads"] * sizes["d_v"]  # type: ignore[operator]
    W_O = values.get("W_O")
    if W_O is not None and sizes.get("hd_v") is not None and W_O.rows != sizes["hd_v"]:
        raise InputError("W_O", Said("heads.errors.output_rows", n=sizes["hd_v"],
                                     product=f"{sizes['heads']} x {sizes['d_v']}"),
                         Said("heads.errors.rows", n=W_O.rows))
    low, high = seed_range
    generated = fill_with_seed(values, slots, sizes, seed, low, high)
    return generated, sizes
