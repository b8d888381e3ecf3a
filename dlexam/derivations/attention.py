"""Q3 and Q6: attention contexts, scaled dot-product self-attention and multi-head attention.

Row vectors, as in the transformer literature: token i is row i of X, the projections are
Q = X W^Q, K = X W^K, V = X W^V, and row i of Z = softmax(Q K^T / sqrt(d_k)) V is the weighted
sum of the rows of V with the softmax of row i of the scores as weights. Small cases stay exact
(the softmax of 14 and 12 is e^2 / (1 + e^2)); larger ones are evaluated in floats with NumPy.

The helpers here (display operators, exact and float softmax, seeded example matrices, the
head pipeline) are shared with :mod:`dlexam.derivations.transformer`.
"""

# ruff: noqa: N803, N806
# (matrix names follow the transformer literature: X, W_Q, Q, K, V, Z; the registry passes the
# parameters by these names)

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import sympy as sp

from dlexam.derivations.contract import Answer, Mistake
from dlexam.derivations.core import Result, Step, derivation
from dlexam.derivations.notation import (
    Notation,
    Operator,
    Ratio,
    Stack,
    row_vector,
    sym,
    sym_sub,
)
from dlexam.derivations.params import Param, bind_dims
from dlexam.derivations.sampling import Draw
from dlexam.errors import InputError

NC: dict[str, bool] = {"commutative": False}
"""Assumptions for matrix-valued symbols: products keep their authored order (Q K^T)."""

EXACT_LIMIT = 16
"""Attention matrices with at most this many entries keep exact softmax values."""

SHOW_LIMIT = 4
"""Matrices with at most this many rows and columns are written out in a product's middle part."""


class Softmax(Operator):
    """Row-wise softmax."""

    name = "softmax"


class ColumnSoftmax(Operator):
    """Softmax down each column (a mistake: every column, not every row, sums to 1)."""

    name = "softmax_col"

    def _latex(self, printer: Any, exp: Any = None) -> str:
        args = ", ".join(printer._print(a) for a in self.args)
        return rf"\operatorname{{softmax}}_{{\mathrm{{col}}}}\left({args}\right)"


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


def small(*mats: sp.MatrixBase) -> bool:
    """True when every matrix is small enough to write out in a step."""
    return all(m.rows <= SHOW_LIMIT and m.cols <= SHOW_LIMIT for m in mats)


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


def softmax_rows_exact(s: sp.MatrixBase) -> sp.ImmutableMatrix:
    """Row-wise softmax, exact: e^{s_j} / sum_k e^{s_k}, cancelled (e^14/(e^14+e^12) = e^2/(1+e^2)).

    Entries equal to -oo (masked) get weight 0.
    """
    out: list[sp.Basic] = []
    for i in range(s.rows):
        row = list(s.row(i))
        live = [x for x in row if x != -sp.oo]
        total = sp.Add(*[sp.exp(x) for x in live])
        out.extend(sp.Integer(0) if x == -sp.oo else sp.cancel(sp.exp(x) / total) for x in row)
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


def shown_coefficient(w: sp.Basic) -> sp.Basic:
    """A weight as written in a weighted sum: exact when it is rational, else a Float."""
    if w.is_Rational:
        return w
    return sp.Float(float(w))


def shown_row(m: sp.MatrixBase, i: int) -> sp.ImmutableMatrix:
    """Row i of a matrix as prose shows it: rationals exact, the rest (e^2/(1+e^2)) as Floats."""
    return row_vector([shown_coefficient(x) if x.is_finite else x for x in m.row(i)])


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
            raise InputError(size_name, f"{value} (as {source} says)", str(given[size_name]))
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
            raise InputError(slot.name, "a matrix (or seed=N to generate example numbers)",
                             "nothing")
        dims: list[int] = []
        for size_name in slot.shape:
            size = sizes.get(size_name)
            if size is None:
                raise InputError(size_name, f"a size, to generate {slot.name} from the seed",
                                 "nothing")
            dims.append(size)
        rows, cols = (dims[0], 1) if len(dims) == 1 else (dims[0], dims[1])
        if slot.per_head:
            heads = sizes.get("heads")
            if heads is None:
                raise InputError("heads", f"the number of heads, to generate {slot.name}",
                                 "nothing")
            made: Any = tuple(seeded_matrix(rng, rows, cols, low, high) for _ in range(heads))
            generated[slot.name] = list(made)
        else:
            made = seeded_matrix(rng, rows, cols, low, high)
            generated[slot.name] = made if len(dims) == 2 else list(made)
        values[slot.name] = made
    return generated


class Names(Notation):
    """A list of symbols as prose writes it: ``X, W^Q, W^K``."""


    def _latex(self, printer: Any, exp: Any = None) -> str:
        return ", ".join(printer._print(a) for a in self.args)

    def _sympystr(self, printer: Any) -> str:
        return ", ".join(printer._print(a) for a in self.args)


class Is(Notation):
    """``name = value`` in a question statement (``X = [[1, 2]]``), in LaTeX and in text."""

    def _latex(self, printer: Any, exp: Any = None) -> str:
        return f"{printer._print(self.args[0])} = {printer._print(self.args[1])}"

    def _sympystr(self, printer: Any) -> str:
        return f"{printer._print(self.args[0])} = {printer._print(self.args[1])}"


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


def _product(key: str, lhs: sp.Basic, symbolic: sp.Basic, left: sp.MatrixBase,
             right: sp.MatrixBase, value: sp.MatrixBase, shown_right: sp.Basic | None = None,
             **data: Any) -> Step:
    """A matrix product step; the numbers are written out when the matrices are small."""
    right_shown = right if shown_right is None else shown_right
    substituted = (sp.MatMul(left, right_shown, evaluate=False) if small(left, right) else None)
    return Step(key=key, lhs=lhs, symbolic=symbolic, substituted=substituted, value=value,
                data={**shape_data(left, "left_"), **shape_data(right, "right_"),
                      **shape_data(value), **data})


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
        steps.append(_product(f"{prefix}.{key}", lhs, formula, source, W, value,
                              input=source_sym, **head_data))
        out.append(value)
    return steps, out[0], out[1], out[2]


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
    rows_shown: int,
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
        rows_shown: how many rows get a softmax step and a weighted-sum step.
        mistake: compute as a student who makes this mistake: ``no-scaling`` (no division),
            ``scaled-by-dk`` (division by d_k itself), ``softmax-by-column`` (each column
            normalised instead of each row).
        scale: what the scores are divided by: ``"sqrt"`` (sqrt(d_k)), ``"none"`` (plain
            dot-product attention) or a positive number.
    """
    dk = sym("d_k")
    steps: list[Step] = []
    unscaled = mistake == "no-scaling" or (scale == "none" and mistake != "scaled-by-dk")
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
    elif scale == "sqrt":
        root, scaled_key = sp.sqrt(sp.Integer(d_k)), f"{prefix}.scaled"
        with sp.evaluate(False):
            inv_root = sp.Pow(sp.sqrt(sp.Integer(d_k)), -1)
            scaled_formula = sp.Mul(syms.S, sp.Pow(sp.sqrt(dk), -1))
    else:  # a number to divide by, given by the question
        root, scaled_key = sp.Rational(scale), f"{prefix}.scaled_by"
        scale_data = {"scale": root}
        with sp.evaluate(False):
            inv_root = sp.Pow(root, -1)
            scaled_formula = sp.Mul(syms.S, sp.Pow(root, -1))
    if exact:
        scaled = sp.ImmutableMatrix(scores.applyfunc(lambda s: s / root))
    else:
        scaled = from_numpy(to_numpy(scores) / float(root))
    written = (sp.MatMul(inv_root, scores, evaluate=False)
               if small(scores) and not unscaled else None)
    # the scaled scores get their own name, S-hat: the softmax below reads them, not S
    width = {} if d_k is None else {"d_k": d_k}
    steps.append(Step(
        key=scaled_key, lhs=syms.S_hat, symbolic=scaled_formula, substituted=written,
        value=scaled, data={**width, "root": root, **scale_data, **shape_data(scores),
                            **head_data},
    ))
    logits = scaled
    masked = None
    if mask == "causal":
        m = causal_mask(scores.rows, scores.cols)
        masked = sp.ImmutableMatrix(scaled.rows, scaled.cols,
                                    lambda i, j: scaled[i, j] if j <= i else -sp.oo)
        with sp.evaluate(False):
            mask_lhs = sp.Add(syms.S_hat, sym("M_mask", **NC))
        steps.append(Step(key=f"{prefix}.mask", lhs=mask_lhs,
                          symbolic=sp.MatAdd(scaled, m, evaluate=False) if small(m) else None,
                          value=masked, data={**shape_data(m), **head_data}))
        logits = masked
    by_column = mistake == "softmax-by-column"
    if by_column:
        weights = (sp.ImmutableMatrix(softmax_rows_exact(logits.T).T) if exact
                   else from_numpy(softmax_rows_float(to_numpy(logits).T).T))
    elif exact:
        weights = softmax_rows_exact(logits)
    else:
        weights = from_numpy(softmax_rows_float(to_numpy(logits)))
    if exact and not by_column:
        for i in range(min(rows_shown, logits.rows)):
            step = _softmax_row_step(prefix, i, logits, weights, head_data, "s_hat")
            steps.append(step if masked is None else replace(step, key=step.key + "_masked"))
    with sp.evaluate(False):
        inner = sp.Add(syms.S_hat, sym("M_mask", **NC)) if mask == "causal" else syms.S_hat
        weights_formula = ColumnSoftmax(inner) if by_column else Softmax(inner)
    steps.append(Step(key=f"{prefix}.weights_by_column" if by_column else f"{prefix}.weights",
                      lhs=syms.A, symbolic=weights_formula,
                      value=weights, data={**shape_data(weights), **head_data}))
    Z = None
    if V is not None:
        Z = matmul(weights, V, exact)
        with sp.evaluate(False):
            z_formula = sp.Mul(syms.A, syms.V)
        steps.append(_product(f"{prefix}.output", syms.Z, z_formula, weights, V, Z,
                              **head_data))
    for i in range(min(rows_shown, weights.rows)):
        steps.append(_row_step(prefix, i, weights, Z, head_data))
    return steps, HeadResult(Q=None, K=None, V=V, scores=scores, scaled=scaled, masked=masked,
                             weights=weights, Z=Z)


def _softmax_row_step(prefix: str, i: int, logits: sp.MatrixBase, weights: sp.MatrixBase,
                      head_data: Mapping[str, Any], letter: str) -> Step:
    """Row i of the weights: e^{s_ij} / sum_k e^{s_ik}, written out with the numbers.

    ``letter`` names the entries of the logits: ``"s"`` for alignment scores, ``"s_hat"`` for
    the scaled scores of self-attention.
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
    return Step(key=f"{prefix}.softmax_row", lhs=indexed("a", i + 1), symbolic=symbolic,
                substituted=substituted, value=row_vector(list(weights.row(i))),
                data={"row": i + 1, "scores": row_vector(list(logits.row(i))), **head_data})


def _row_step(prefix: str, i: int, weights: sp.MatrixBase, Z: sp.MatrixBase | None,
              head_data: Mapping[str, Any]) -> Step:
    """Row i of Z as the weighted sum of the value rows: z_1 = 0.88 v_1 + 0.12 v_2."""
    cols = range(weights.cols)
    v = [sp.Symbol(f"v_{j + 1}") for j in cols]
    with sp.evaluate(False):
        symbolic = sp.Add(*[sp.Mul(indexed("a", i + 1, j + 1), v[j]) for j in cols])
        combination = sp.Add(*[sp.Mul(shown_coefficient(weights[i, j]), v[j]) for j in cols])
    return Step(key=f"{prefix}.row", lhs=sp.Symbol(f"z_{i + 1}"), symbolic=symbolic,
                substituted=combination,
                value=None if Z is None else row_vector(list(Z.row(i))),
                data={"row": i + 1, "combination": combination,
                      "weights": shown_row(weights, i), **head_data})


def head_attention(prefix: str, X: sp.MatrixBase, WQ: sp.MatrixBase, WK: sp.MatrixBase,
                   WV: sp.MatrixBase, mask: str, exact: bool, syms: HeadSymbols,
                   head_data: Mapping[str, Any], rows_shown: int, x: sp.Symbol | None = None,
                   mistake: str | None = None, X_kv: sp.MatrixBase | None = None,
                   x_kv: sp.Symbol | None = None, scale: Any = "sqrt"
                   ) -> tuple[list[Step], HeadResult]:
    """One head from the token matrix (keys and values from ``X_kv`` when given): projections,
    scores, scaling, softmax, Z."""
    x = sym("X", **NC) if x is None else x
    steps, Q, K, V = project(prefix, X, WQ, WK, WV, syms, exact, head_data, x, X_kv, x_kv)
    scores = matmul(Q, K.T, exact)
    with sp.evaluate(False):
        score_formula = sp.Mul(syms.Q, syms.KT)
    steps.append(_product(f"{prefix}.scores", syms.S, score_formula, Q, K.T, scores,
                          shown_right=sp.Transpose(K) if small(K) else None, **head_data))
    more, result = scaled_attention(prefix, scores=scores, d_k=WQ.cols, V=V, mask=mask,
                                    exact=exact, syms=syms, head_data=head_data,
                                    rows_shown=rows_shown, mistake=mistake, scale=scale)
    return steps + more, HeadResult(Q=Q, K=K, V=V, scores=scores, scaled=result.scaled,
                                    masked=result.masked, weights=result.weights, Z=result.Z)


# ---------------------------------------------------------------------------------------------
# Q3: seq2seq contexts with and without attention


LABEL_MAX_LENGTH = 24
"""The longest single label (a word or a short phrase), in characters."""
LABELS_MAX_LENGTH = 300
"""The longest comma-separated list of labels, in characters."""


def _labels(name: str, text: str | None, count: int, fallback: str) -> list[Any]:
    if text is None:
        return [sp.Symbol(f"{fallback}_{k}") for k in range(1, count + 1)]
    labels = [part.strip() for part in text.split(",")]
    if len(labels) != count or not all(labels):
        shown = text if len(text) <= 40 else text[:37] + "..."
        raise InputError(name, f"{count} comma-separated names", f"{len(labels)}: {shown!r}")
    for index, label in enumerate(labels, start=1):
        if len(label) > LABEL_MAX_LENGTH:
            raise InputError(name, f"names of at most {LABEL_MAX_LENGTH} characters",
                             f"name {index} of {len(label)}")
    return labels


def _label_list(labels: list[Any]) -> Any:
    """Labels as prose lists them: the names given, comma-separated (``Tom, chase, Jerry``), or
    the default symbols as a vector (x_1, x_2, x_3)."""
    if all(isinstance(label, str) for label in labels):
        return ", ".join(labels)
    return row_vector(labels)


def _check_weights(weights: sp.MatrixBase) -> None:
    for i in range(weights.rows):
        row = list(weights.row(i))
        if any(w < 0 for w in row):
            raise InputError("weights", "non-negative attention weights",
                             f"a negative weight in row {i + 1}")
        total = sp.Add(*row)
        if abs(total - 1) > sp.Rational(1, 10**9):
            raise InputError("weights", "rows that sum to 1",
                             f"row {i + 1} sums to {float(total):g}")


ATTENTION_CONTEXT_PARAMS = [
    Param("weights", "array", shapes=(("n_out", "n_in"),), default=None),
    Param("scores", "array", shapes=(("n_out", "n_in"),), default=None),
    Param("states", "array", shapes=(("n_in", "d"), ("n_in",)), default=None),
    Param("input_labels", "string", default=None, max_length=LABELS_MAX_LENGTH),
    Param("output_labels", "string", default=None, max_length=LABELS_MAX_LENGTH),
]


def _square(p: Mapping[str, Any]) -> bool:
    given = p["weights"] if p["weights"] is not None else p["scores"]
    return given is not None and len(given) == len(given[0])


ATTENTION_CONTEXT_MISTAKES = [
    # a_ji for a_ij: output i weighted with column i of the weights
    Mistake("transposed-weights", changes=("contexts",), formula=True,
            applies=lambda p: p["states"] is not None and _square(p)),
    Mistake("no-softmax", changes=("weights", "contexts"), formula=True,
            applies=lambda p: p["scores"] is not None and p["states"] is not None),
]


def sample_attention_context(draw: Draw, fixed: Mapping[str, Any]) -> dict[str, Any]:
    """Two or three inputs and as many outputs, numeric encoder states, and either weights
    (one-decimal rows summing to 1, not symmetric) or one-decimal scores in [-2, 2]."""
    dims = bind_dims(ATTENTION_CONTEXT_PARAMS, fixed)
    n_in = dims.get("n_in", draw.integer(2, 3))
    n_out = dims.get("n_out", n_in)
    d = dims.get("d", draw.integer(1, 3))
    use_scores = fixed.get("scores") is not None or (fixed.get("weights") is None
                                                     and draw.chance(0.5))
    out: dict[str, Any] = {}
    for _ in range(100):
        if use_scores:
            out = {"scores": draw.array((n_out, n_in), -2, 2)}
        else:
            out = {"weights": [draw.distribution(n_in, 1, floor=0.1) for _ in range(n_out)]}
        out["states"] = draw.array((n_in,) if d == 1 else (n_in, d), -1, 1, nonzero=True)
        out.update({k: v for k, v in fixed.items() if v is not None})
        a = out.get("weights") or out["scores"]
        if n_in != n_out or "weights" in fixed or "scores" in fixed or any(
                abs(a[i][j] - a[j][i]) >= 0.2 for i in range(n_in) for j in range(i)):
            break
    return out


def _attention_context_question(values: dict[str, Any]) -> dict[str, Any]:
    """The weights or scores and the encoder states as equations."""
    given = ([Is(sym("A_att", **NC), values["weights"])] if values["weights"] is not None
             else [Is(sym("S_att", **NC), values["scores"])])
    states = values["states"]
    if states is not None:
        given.append(Is(sp.Symbol("H", commutative=False),
                        states.T if states.cols == 1 else states))
    return {"given": Names(*given), "n_in": (values["weights"] if values["weights"] is not None
                                             else values["scores"]).cols}


@derivation(
    "attention-context",
    params=ATTENTION_CONTEXT_PARAMS,
    answers=[
        # computed only from scores (weights given are echoed in info)
        Answer("weights", "matrix", shapes=(("n_out", "n_in"),), optional=True),
        # numbers only with numeric states (else the weighted sums are formulas, in info)
        Answer("contexts", "vectors", shapes=(("n_out", "d"), ("n_out",)), optional=True),
        Answer("context_no_attention", "vectors", shapes=(("d",), ()), optional=True),
    ],
    mistakes=ATTENTION_CONTEXT_MISTAKES,
    sampler=sample_attention_context,
    question=_attention_context_question,
    limits={"n_out": 8, "n_in": 8, "d": 8},
)
def attention_context(
    weights: sp.ImmutableMatrix | None,
    scores: sp.ImmutableMatrix | None,
    states: sp.ImmutableMatrix | None,
    input_labels: str | None,
    output_labels: str | None,
    mistake: str | None = None,
) -> Result:
    """Q3: each output's context C_i = sum_j a_ij h_j, and the single context without attention.

    Args:
        weights: attention weights a_ij (n_out x n_in), each row summing to 1.
        scores: alignment scores instead of weights; each row goes through a softmax.
        states: the encoder states h_j, one row each; without them h_1..h_n stay symbols.
        input_labels: names of the inputs, comma-separated (``"Tom,Chase,Jerry"``).
        output_labels: names of the outputs, comma-separated (``"湯姆,追逐,傑瑞"``).
        mistake: ``transposed-weights`` (a_ji used for a_ij) or ``no-softmax`` (the scores
            used as weights).
    """
    if weights is None and scores is None:
        raise InputError("weights", "the attention weights (n_out x n_in), or scores=...",
                         "nothing")
    if weights is not None and scores is not None:
        raise InputError("scores", "either weights or scores, not both", "both")
    steps: list[Step] = []
    rows, cols = (weights if weights is not None else scores).shape  # type: ignore[union-attr]
    ins = _labels("input_labels", input_labels, cols, "x")
    outs = _labels("output_labels", output_labels, rows, "y")
    h = [sp.Symbol(f"h_{j}") for j in range(1, cols + 1)]
    general = sp.Sum(sp.Mul(sym("a_ij"), sym("h_j"), evaluate=False),
                     (sp.Symbol("j"), 1, sym("n_states")))
    steps.append(Step(key="attention_context.formula", lhs=sym("C_i"), symbolic=general,
                      data={"n_in": cols, "n_out": rows}))
    given_weights = weights
    if scores is not None and mistake == "no-softmax":
        weights = scores
        steps.append(Step(key="attention_context.no_softmax", lhs=sym("A_att", **NC),
                          symbolic=sym("S_att", **NC), value=scores, data=shape_data(scores)))
    elif scores is not None:
        weights = softmax_rows_exact(scores)
        for i in range(rows):
            steps.append(_softmax_row_step("attention_context", i, scores, weights,
                                           {"output": outs[i]}, "s"))
    else:
        _check_weights(weights)  # type: ignore[arg-type]
    assert weights is not None
    computed_weights = weights
    if mistake == "transposed-weights":
        if rows != cols:
            raise InputError("--mistake", "transposed-weights only for square weights",
                             f"{rows} x {cols}")
        weights = sp.ImmutableMatrix(weights.T)
        steps.append(Step(key="attention_context.transposed", lhs=sym("A_att", **NC),
                          symbolic=sp.Transpose(sym("A_att", **NC)), value=weights,
                          data=shape_data(weights)))
    # one equation group per idea, one line per state, output or decoder step (as the unfolded
    # LSTM): the prose explains the group once instead of once per line
    state_rows = [] if states is None else [row_vector(list(states.row(j))) for j in range(cols)]
    steps.append(Step(key="attention_context.states",
                      lhs=Stack(*h) if states is not None else None,
                      symbolic=states if states is not None else None,
                      data={"states": row_vector(h), "inputs": _label_list(ins),
                            "n_in": cols}))
    contexts: list[Any] = []
    symbolic_rows, substituted_rows, value_rows = [], [], []
    for i in range(rows):
        with sp.evaluate(False):
            symbolic_rows.append(sp.Add(*[sp.Mul(indexed("a", i + 1, j + 1), h[j])
                                          for j in range(cols)]))
            substituted_rows.append(sp.Add(*[sp.Mul(shown_coefficient(weights[i, j]), h[j])
                                             for j in range(cols)]))
        if states is None:
            combination = sp.Add(*[weights[i, j] * h[j] for j in range(cols)])
            # exact softmax weights share one denominator: (h_1 + e h_2) / (1 + e), written once
            contexts.append(combination if all(weights[i, j].is_Rational for j in range(cols))
                            else sp.factor_terms(sp.together(combination)))
        else:
            value_rows.append(sum((weights[i, j] * state_rows[j] for j in range(cols)),
                                  sp.zeros(1, states.cols)))
            contexts.append(list(value_rows[-1]))
    c_syms = [sp.Symbol(f"C_{i + 1}") for i in range(rows)]
    # with symbolic states the weighted sums with the weights put in are the answer itself
    steps.append(Step(key="attention_context.contexts", lhs=Stack(*c_syms),
                      symbolic=Stack(*symbolic_rows), substituted=Stack(*substituted_rows),
                      value=(sp.ImmutableMatrix.vstack(*value_rows) if states is not None
                             else Stack(*contexts) if given_weights is None else None),
                      data={"outputs": _label_list(outs), "n_out": rows}))
    last = h[-1] if states is None else state_rows[-1]
    c = sym("C_ctx")
    steps.append(Step(key="attention_context.no_attention", lhs=c, symbolic=h[-1],
                      value=None if states is None else last,
                      data={"last": h[-1], "input": ins[-1], "n_in": cols}))
    f = sp.Function("f")
    y = [sp.Symbol(f"y_{i}") for i in range(1, rows + 1)]
    data = {"outputs": _label_list(outs), "n_out": rows}
    steps.append(Step(key="attention_context.decoder_fixed", lhs=Stack(*y),
                      symbolic=Stack(*[f(c, *y[:i]) for i in range(rows)]), data=data))
    steps.append(Step(key="attention_context.decoder_attention", lhs=Stack(*y),
                      symbolic=Stack(*[f(c_syms[i], *y[:i]) for i in range(rows)]), data=data))
    steps.append(Step(key="attention_context.difference", data={"n_out": rows, "n_in": cols}))
    answers: dict[str, Any] = {}
    info: dict[str, Any] = {}
    if given_weights is None:
        answers["weights"] = computed_weights
    else:
        info["weights"] = given_weights
    if states is None:  # the weighted sums of the symbols h_j: formulas, not numbers
        info.update(contexts=contexts, context_no_attention=last)
    else:
        answers.update(contexts=contexts, context_no_attention=list(last))
    return Result(convention="weighted-sum", steps=tuple(steps), answers=answers, info=info)


# ---------------------------------------------------------------------------------------------
# Q6: scaled dot-product self-attention


SCALES = ("sqrt", "none")
"""The words ``scale`` takes besides a positive number to divide by."""

SELF_ATTENTION_PARAMS = [
    Param("X", "array", shapes=(("n", "d_model"),), default=None),
    Param("W_Q", "array", shapes=(("d_model", "d_k"),), default=None),
    Param("W_K", "array", shapes=(("d_model", "d_k"),), default=None),
    Param("W_V", "array", shapes=(("d_model", "d_v"),), default=None),
    Param("scores", "array", shapes=(("n", "m"), ("m",)), default=None),
    Param("d_k", "int", default=None, minimum=1, maximum=4096),
    Param("values", "array", shapes=(("m", "d_v"),), default=None),
    Param("mask", "choice", default="none", choices=("none", "causal")),
    Param("Q", "array", shapes=(("n", "d_k"),), default=None),
    Param("K", "array", shapes=(("m", "d_k"),), default=None),
    Param("V", "array", shapes=(("m", "d_v"),), default=None),
    Param("scale", "choice_or_number", default="sqrt", choices=SCALES),
]
X_FORM = ("X", "W_Q", "W_K", "W_V")
SCORES_FORM = ("scores", "d_k", "values")
QKV_FORM = ("Q", "K", "V")

_AFTER_SCALING = ("scaled", "masked", "weights", "Z")
SELF_ATTENTION_MISTAKES = [
    # with scale=none the right method already leaves the scores as they are
    Mistake("no-scaling", changes=_AFTER_SCALING, formula=True,
            applies=lambda p: p["scale"] != "none"),
    # d_k for sqrt(d_k): a mistake of the sqrt(d_k) scale only (a number given is what it is)
    Mistake("scaled-by-dk", changes=_AFTER_SCALING, formula=True,
            applies=lambda p: p["scale"] == "sqrt"),
    Mistake("softmax-by-column", changes=("weights", "Z"), formula=True),
]


def _divisor(scale: Any, d_k: int | None) -> float:
    """What a sampler's scores are divided by, as a float (d_k = 1 when it is not known)."""
    if scale == "sqrt":
        return float(d_k or 1) ** 0.5
    return 1.0 if scale == "none" else float(scale)


def _fixed_form(fixed: Mapping[str, Any]) -> str | None:
    """The input form the fixed parameters choose (``x``, ``scores``, ``qkv``), or None.

    Raises:
        InputError: parameters of two forms are fixed.
    """
    chosen = [(form, [k for k in keys if fixed.get(k) is not None])
              for form, keys in (("x", X_FORM), ("scores", SCORES_FORM), ("qkv", QKV_FORM))]
    chosen = [(form, keys) for form, keys in chosen if keys]
    if len(chosen) > 1:
        raise InputError(chosen[1][1][0], f"one input form: X with W_Q, W_K, W_V, or scores, "
                         f"or Q, K, V ({chosen[0][1][0]} is fixed)", "two forms")
    return chosen[0][0] if chosen else None


def sample_self_attention(draw: Draw, fixed: Mapping[str, Any]) -> dict[str, Any]:
    """One of three forms: the scores with d_k (a perfect square, so sqrt(d_k) is whole) and
    sometimes the values; 2-3 tokens with their weights; or Q, K, V given directly, with as
    many or more keys than queries (cross-attention). Fixing a parameter of one form draws that
    form only. Mostly scale=sqrt, sometimes scale=none or a whole number to divide by. Scaled
    scores stay within [-3, 3], away from the softmax's flat ends.
    """
    form = _fixed_form(fixed) or draw.choice(("x", "scores", "qkv"))
    dims = bind_dims(SELF_ATTENTION_PARAMS, fixed)
    mask = fixed.get("mask") or ("causal" if draw.chance(0.25) else "none")
    if fixed.get("scale") is not None:
        scale = fixed["scale"]
    else:
        scale = draw.choice(("sqrt", "sqrt", "sqrt", "none", "number"))
        if scale == "number":
            scale = draw.choice((2, 4, 10))
    out: dict[str, Any] = {"mask": mask}
    if scale != "sqrt":
        out["scale"] = scale
    square = mask == "causal"
    if form == "x":
        n = dims.get("n", draw.integer(2, 3))
        dm = dims.get("d_model", draw.integer(2, 3))
        dk = dims.get("d_k", fixed.get("d_k") or draw.integer(2, 3))
        dv = dims.get("d_v", draw.integer(2, 3))
        out.update({"X": draw.array((n, dm), -1, 1, nonzero=True),
                    "W_Q": draw.array((dm, dk), -1, 1, nonzero=True),
                    "W_K": draw.array((dm, dk), -1, 1, nonzero=True),
                    "W_V": draw.array((dm, dv), -1, 1, nonzero=True)})
    elif form == "qkv":
        n = dims.get("n", draw.integer(2 if square else 1, 3))
        m = dims.get("m", n if square else draw.integer(2, 3))
        dk = dims.get("d_k", draw.integer(2, 3))
        out.update({"Q": draw.array((n, dk), -1, 1, nonzero=True),
                    "K": draw.array((m, dk), -1, 1, nonzero=True),
                    "V": draw.array((m, dims.get("d_v", draw.integer(1, 3))), -1, 1,
                                    nonzero=True)})
    else:
        dk = fixed.get("d_k") or (draw.choice((4, 9, 16, 64)) if scale == "sqrt" else None)
        bound = max(1, round(3 * _divisor(scale, dk)))
        n = dims.get("n", draw.integer(2 if square else 1, 3))
        m = dims.get("m", n if square else draw.integer(2, 3))
        out["scores"] = [[draw.integer(-bound, bound) for _ in range(m)] for _ in range(n)]
        if dk is not None:
            out["d_k"] = dk
        if draw.chance(0.7) or "values" in fixed:
            out["values"] = draw.array((m, dims.get("d_v", draw.integer(1, 3))), -1, 1,
                                       nonzero=True)
    out.update({k: v for k, v in fixed.items() if v is not None})
    return out


def attention_formula(scale: Any) -> sp.Basic:
    """softmax(Q K^T / sqrt(d_k)) V, with the question's scale (none: softmax(Q K^T) V)."""
    with sp.evaluate(False):
        scores = sp.Mul(sym("Q", **NC), sym("K_T", **NC))
        if scale == "sqrt":
            scores = Ratio(scores, sp.sqrt(sym("d_k")))
        elif scale != "none":
            scores = Ratio(scores, sp.Rational(scale))
        return sp.Mul(Softmax(scores), sym("V_att", **NC))


def _self_attention_question(values: dict[str, Any]) -> dict[str, Any]:
    """What is given, as equations: the scores (and d_k), X and the weights, or Q, K and V."""
    if values["scores"] is not None:
        scores = values["scores"]
        given = [Is(sym("S_att", **NC), scores.T if scores.cols == 1 else scores)]
        if values["d_k"] is not None:
            given.append(Is(sym("d_k"), values["d_k"]))
        if values["values"] is not None:
            given.append(Is(sym("V_att", **NC), values["values"]))
        asked = "Z" if values["values"] is not None else "A_att"
    elif values["Q"] is not None or values["K"] is not None:
        given = [Is(sym(s, **NC), values[k]) for k, s in (("Q", "Q"), ("K", "K"),
                                                          ("V", "V_att"))
                 if values[k] is not None]
        asked = "Z" if values["V"] is not None else "A_att"
    else:
        given = [Is(sym(PARAM_SYMBOLS[k], **NC), values[k]) for k in X_FORM
                 if values[k] is not None]
        asked = "Z"
    return {"given": Names(*given), "asked": sym(asked, **NC),
            "formula": attention_formula(values["scale"])}


def _scores_form(scores: sp.ImmutableMatrix, d_k: int | None, values: sp.ImmutableMatrix | None,
                 mask: str, scale: Any, syms: HeadSymbols, mistake: str | None) -> Result:
    """Self-attention from the scores given (and the values, when given)."""
    if d_k is None and (scale == "sqrt" or mistake == "scaled-by-dk"):
        raise InputError("d_k", "the width of the queries and keys (to scale the scores)",
                         "nothing")
    if scores.cols == 1:
        scores = scores.T  # one list (or one column): the scores of a single query
    if values is not None and values.rows != scores.cols:
        raise InputError("values", f"{scores.cols} rows (one per key)", f"{values.rows}")
    if mask == "causal" and scores.rows != scores.cols:
        raise InputError("mask", "a square score matrix for mask=causal",
                         f"scores of shape {shape_text(scores)}")
    exact = scores.rows * scores.cols <= EXACT_LIMIT
    if d_k is None:
        steps = [Step(key="self_attention.given_scores_only", lhs=syms.S, symbolic=scores,
                      data=shape_data(scores))]
    else:
        steps = [Step(key="self_attention.given_scores", lhs=syms.S, symbolic=scores,
                      data={**shape_data(scores), "d_k": d_k})]
    more, head = scaled_attention("self_attention", scores=scores, d_k=d_k, V=values,
                                  mask=mask, exact=exact, syms=syms, head_data={},
                                  rows_shown=min(scores.rows, 4), mistake=mistake, scale=scale)
    steps += more
    answers: dict[str, Any] = {"scaled": head.scaled}
    if head.masked is not None:
        answers["masked"] = head.masked
    answers["weights"] = head.weights
    if head.Z is not None:
        answers["Z"] = head.Z
    return Result(convention="row-vectors", steps=tuple(steps), answers=answers)


def _qkv_form(Q: sp.ImmutableMatrix | None, K: sp.ImmutableMatrix | None,
              V: sp.ImmutableMatrix | None, d_k: int | None, mask: str, scale: Any,
              syms: HeadSymbols, mistake: str | None) -> Result:
    """Attention from Q, K and V given: n_q queries over n_k keys (cross-attention when the
    queries come from another sequence than the keys and values)."""
    if Q is None:
        raise InputError("Q", "the queries (n_q x d_k), with K and V", "nothing")
    if K is None:
        raise InputError("K", "the keys (n_k x d_k), with Q and V", "nothing")
    if K.cols != Q.cols:
        raise InputError("K", f"{Q.cols} columns (d_k, as Q has)", f"{K.cols}")
    if V is not None and V.rows != K.rows:
        raise InputError("V", f"{K.rows} rows (one per key, as K has)", f"{V.rows}")
    if d_k is not None and d_k != Q.cols:
        raise InputError("d_k", f"{Q.cols} (the width of Q and K)", str(d_k))
    if mask == "causal" and Q.rows != K.rows:
        raise InputError("mask", "as many queries as keys for mask=causal",
                         f"{Q.rows} queries and {K.rows} keys")
    exact = Q.rows * K.rows <= EXACT_LIMIT
    steps = [Step(key="self_attention.given_qkv",
                  data={"n_q": Q.rows, "n_k": K.rows, "d_k": Q.cols,
                        "d_v": V.cols if V is not None else 0})]
    scores = matmul(Q, K.T, exact)
    with sp.evaluate(False):
        score_formula = sp.Mul(syms.Q, syms.KT)
    steps.append(_product("self_attention.scores", syms.S, score_formula, Q, K.T, scores,
                          shown_right=sp.Transpose(K) if small(K) else None))
    more, head = scaled_attention("self_attention", scores=scores, d_k=Q.cols, V=V, mask=mask,
                                  exact=exact, syms=syms, head_data={},
                                  rows_shown=min(Q.rows, 4) if exact else 1, mistake=mistake,
                                  scale=scale)
    steps += more
    answers: dict[str, Any] = {"scores": scores, "scaled": head.scaled}
    if head.masked is not None:
        answers["masked"] = head.masked
    answers["weights"] = head.weights
    if head.Z is not None:
        answers["Z"] = head.Z
    return Result(convention="row-vectors", steps=tuple(steps), answers=answers)


@derivation(
    "self-attention",
    params=SELF_ATTENTION_PARAMS,
    answers=[
        # computed from X and the weights only (with scores or Q, K, V given, they are inputs)
        Answer("Q", "matrix", shapes=(("n", "d_k"),), optional=True),
        Answer("K", "matrix", shapes=(("m", "d_k"),), optional=True),
        Answer("V", "matrix", shapes=(("m", "d_v"),), optional=True),
        Answer("scores", "matrix", shapes=(("n", "m"),), optional=True),
        Answer("scaled", "matrix", shapes=(("n", "m"),)),
        Answer("masked", "matrix", shapes=(("n", "m"),), optional=True),
        Answer("weights", "matrix", shapes=(("n", "m"),)),
        Answer("Z", "matrix", shapes=(("n", "d_v"),), optional=True),
    ],
    mistakes=SELF_ATTENTION_MISTAKES,
    sampler=sample_self_attention,
    question=_self_attention_question,
    limits={"n": 10, "m": 10, "d_model": 16, "d_k": 16, "d_v": 16},
)
def self_attention(
    X: sp.ImmutableMatrix | None,
    W_Q: sp.ImmutableMatrix | None,
    W_K: sp.ImmutableMatrix | None,
    W_V: sp.ImmutableMatrix | None,
    scores: sp.ImmutableMatrix | None,
    d_k: int | None,
    values: sp.ImmutableMatrix | None,
    mask: str,
    Q: sp.ImmutableMatrix | None,
    K: sp.ImmutableMatrix | None,
    V: sp.ImmutableMatrix | None,
    scale: Any,
    mistake: str | None = None,
) -> Result:
    """Q6: Z = softmax(Q K^T / sqrt(d_k)) V, from X and the weights, from Q, K, V, or from the
    scores alone.

    Args:
        X: the token matrix (one row per token), with W_Q, W_K, W_V.
        W_Q: query weights (d_model x d_k).
        W_K: key weights (d_model x d_k).
        W_V: value weights (d_model x d_v).
        scores: the scores Q K^T instead of X and the weights (one list: a single query).
        d_k: the width of queries and keys (required with scores when scale=sqrt).
        values: the value rows V, with scores (optional).
        mask: ``"none"`` or ``"causal"`` (a token attends only to itself and earlier ones).
        Q: the queries (n_q x d_k), given directly, with K and V.
        K: the keys (n_k x d_k); n_k may differ from n_q (cross-attention).
        V: the values (n_k x d_v), one row per key (optional: without it, no Z).
        scale: ``"sqrt"`` (divide the scores by sqrt(d_k), the default), ``"none"`` (plain
            dot-product attention) or a positive number to divide by.
        mistake: a declared mistake to make from start to end (see SELF_ATTENTION_MISTAKES).
    """
    syms = HeadSymbols.single()
    given = {"X": X, "W_Q": W_Q, "W_K": W_K, "W_V": W_V, "scores": scores, "values": values,
             "Q": Q, "K": K, "V": V}
    forms = [(form, [p for p in keys if given.get(p) is not None])
             for form, keys in (("x", X_FORM), ("scores", ("scores", "values")),
                                ("qkv", QKV_FORM))]
    used = [(form, names) for form, names in forms if names]
    if len(used) > 1:
        raise InputError(used[1][1][0], f"one input form: X with W_Q, W_K, W_V, or scores, or "
                         f"Q, K, V (not with {used[0][1][0]})", "both")
    form = used[0][0] if used else "x"
    if form == "scores":
        if scores is None:
            raise InputError("values", "values only with scores (with X, V = X W_V)", "values")
        return _scores_form(scores, d_k, values, mask, scale, syms, mistake)
    if form == "qkv":
        return _qkv_form(Q, K, V, d_k, mask, scale, syms, mistake)
    for name, v in (("X", X), ("W_Q", W_Q), ("W_K", W_K), ("W_V", W_V)):
        if v is None:
            raise InputError(name, "a matrix (or scores=... with d_k=..., or Q, K, V)",
                             "nothing")
    assert X is not None and W_Q is not None and W_K is not None and W_V is not None
    if d_k is not None and d_k != W_Q.cols:
        raise InputError("d_k", f"{W_Q.cols} (the width of W_Q)", str(d_k))
    exact = X.rows * X.rows <= EXACT_LIMIT
    steps, head = head_attention("self_attention", X, W_Q, W_K, W_V, mask, exact, syms, {},
                                 rows_shown=min(X.rows, 4) if exact else 1, mistake=mistake,
                                 scale=scale)
    answers = {"Q": head.Q, "K": head.K, "V": head.V, "scores": head.scores,
               "scaled": head.scaled}
    if head.masked is not None:
        answers["masked"] = head.masked
    answers.update({"weights": head.weights, "Z": head.Z})
    return Result(convention="row-vectors", steps=tuple(steps), answers=answers)


# ---------------------------------------------------------------------------------------------
# multi-head attention

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
                                    {"head": h}, rows_shown=0, x=x, mistake=mistake,
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
    steps.append(_product(f"{prefix}.projection", lhs, formula, concat, W_O, output,
                          heads=len(heads)))
    return steps, heads, concat, output


MULTI_HEAD_PARAMS = [
    Param("X", "array", shapes=(("tokens", "d_model"),), default=None),
    Param("W_Q", "array_list", shapes=(("d_model", "d_k"),), items="heads", default=None),
    # d_kv: the width of the keys' and values' tokens (X's own width without X_kv)
    Param("W_K", "array_list", shapes=(("d_kv", "d_k"),), items="heads", default=None),
    Param("W_V", "array_list", shapes=(("d_kv", "d_v"),), items="heads", default=None),
    Param("W_O", "array", shapes=(("hd_v", "d_out"),), default=None),
    Param("mask", "choice", default="none", choices=("none", "causal")),
    Param("seed", "int", default=None, minimum=0, maximum=2**32 - 1),
    Param("tokens", "int", default=None, minimum=1, maximum=10),
    Param("d_model", "int", default=None, minimum=1, maximum=16),
    Param("heads", "int", default=None, minimum=1, maximum=4),
    Param("d_k", "int", default=None, minimum=1, maximum=16),
    Param("d_v", "int", default=None, minimum=1, maximum=16),
    Param("d_out", "int", default=None, minimum=1, maximum=16),
    Param("X_q", "array", shapes=(("tokens", "d_model"),), default=None),
    Param("X_kv", "array", shapes=(("tokens_kv", "d_kv"),), default=None),
    Param("scale", "choice_or_number", default="sqrt", choices=SCALES),
]

_HEAD_ANSWERS = ("heads", "weights", "concat", "output")
MULTI_HEAD_MISTAKES = [
    # with scale=none the right method already leaves the scores as they are
    Mistake("no-scaling", changes=_HEAD_ANSWERS, formula=True,
            applies=lambda p: p["scale"] != "none"),
    Mistake("no-output-projection", changes=("output",), formula=True),
]


def _size(fixed: Mapping[str, Any], dims: Mapping[str, int], name: str, default: int) -> int:
    value = fixed.get(name)
    return int(value) if value is not None else dims.get(name, default)


def sample_multi_head(draw: Draw, fixed: Mapping[str, Any]) -> dict[str, Any]:
    """Two or three tokens, two heads of width 2, every matrix written out: one-decimal numbers
    in [-1, 1] (the seed and size parameters are for walk-throughs, not for questions).
    Sometimes cross-attention (X_q and X_kv, of their own lengths and widths; fixing either
    draws that form, fixing X the other), and sometimes scale=none or a number to divide by."""
    if fixed.get("X") is not None and (fixed.get("X_q") is not None
                                       or fixed.get("X_kv") is not None):
        raise InputError("X_q", "either X (self-attention) or X_q with X_kv, not both", "both")
    dims = bind_dims(MULTI_HEAD_PARAMS, fixed)
    if fixed.get("X_q") is not None or fixed.get("X_kv") is not None:
        cross = True
    elif fixed.get("X") is not None:
        cross = False
    else:
        cross = draw.chance(0.3)
    if fixed.get("scale") is not None:
        scale = fixed["scale"]
    else:
        scale = draw.choice(("sqrt", "sqrt", "sqrt", "none", 2))
    n = _size(fixed, dims, "tokens", draw.integer(2, 3))
    dm = _size(fixed, dims, "d_model", draw.integer(2, 3))
    if cross:
        n_kv = dims.get("tokens_kv", draw.integer(2, 3))
        d_kv = dims.get("d_kv", draw.integer(2, 3))
    else:
        n_kv, d_kv = n, dm
    h = _size(fixed, dims, "heads", 2)
    dk = _size(fixed, dims, "d_k", 2)
    dv = _size(fixed, dims, "d_v", dk)
    d_out = _size(fixed, dims, "d_out", dm)
    if "d_out" not in fixed and "W_O" not in fixed and d_out == h * dv:
        d_out = h * dv - 1  # the mistaken output (without W^O) then has another width

    def weights(rows: int, cols: int) -> list[Any]:
        return [draw.array((rows, cols), -1, 1, nonzero=True) for _ in range(h)]

    inputs = ({"X_q": draw.array((n, dm), -1, 1, nonzero=True),
               "X_kv": draw.array((n_kv, d_kv), -1, 1, nonzero=True)} if cross
              else {"X": draw.array((n, dm), -1, 1, nonzero=True)})
    out = {**inputs, "W_Q": weights(dm, dk),
           "W_K": weights(d_kv, dk), "W_V": weights(d_kv, dv),
           "W_O": draw.array((h * dv, d_out), -1, 1, nonzero=True),
           # a causal mask needs as many keys as queries
           "mask": fixed.get("mask") or ("causal" if n_kv == n and draw.chance(0.25)
                                         else "none")}
    if scale != "sqrt":
        out["scale"] = scale
    out.update({k: v for k, v in fixed.items() if v is not None})
    return out


def _multi_head_values(values: dict[str, Any], slots: Sequence[Slot],
                       sizes: Sequence[str], seed_range: tuple[int, int],
                       defaults: Mapping[str, str]) -> dict[str, Any]:
    """Every matrix of a question: those given, and those the seed generates."""
    matrices = {slot.name: values[slot.name] for slot in slots}
    seeded_inputs(matrices, slots, {k: values[k] for k in sizes}, values["seed"], seed_range,
                  defaults)
    return matrices


def _matrices_given(m: Mapping[str, Any], names: Sequence[str]) -> Names:
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


def _multi_head_question(values: dict[str, Any]) -> dict[str, Any]:
    """Every matrix as an equation (generated ones too), the number of heads, and the head's
    formula with the question's scale and inputs."""
    cross = values["X_q"] is not None or values["X_kv"] is not None
    slots = CROSS_SLOTS if cross else MULTI_HEAD_SLOTS
    m = _multi_head_values(values, slots,
                           ("tokens", "d_model", "heads", "d_k", "d_v", "d_out"),
                           ATTENTION_SEED_RANGE, MULTI_HEAD_DEFAULTS)
    names = (("X_q", "X_kv") if cross else ("X",)) + ("W_Q", "W_K", "W_V", "W_O")
    xq = sp.Symbol("X_q", commutative=False) if cross else sym("X", **NC)
    xkv = sp.Symbol("X_kv", commutative=False) if cross else xq
    with sp.evaluate(False):
        scores = sp.Mul(sp.Symbol("Q_h", **NC), sp.Symbol("K_h^T", **NC))
        scale = values["scale"]
        if scale == "sqrt":
            scores = Ratio(scores, sp.sqrt(sym("d_k")))
        elif scale != "none":
            scores = Ratio(scores, sp.Rational(scale))
        formula = sp.Mul(Softmax(scores), sp.Symbol("V_h", **NC))
    return {"given": _matrices_given(m, names), "heads": len(m["W_Q"]),
            "d_k": m["W_Q"][0].cols, "formula": formula, "x_q": xq, "x_kv": xkv}


@derivation(
    "multi-head-attention",
    params=MULTI_HEAD_PARAMS,
    answers=[
        Answer("heads", "matrices", shapes=(("heads", "tokens", "d_v"),)),
        # tokens_kv: the keys' tokens (as many as the queries' without X_kv)
        Answer("weights", "matrices", shapes=(("heads", "tokens", "tokens_kv"),)),
        Answer("concat", "matrix", shapes=(("tokens", "hd_v"),)),
        Answer("output", "matrix", shapes=(("tokens", "d_out"),)),
    ],
    mistakes=MULTI_HEAD_MISTAKES,
    sampler=sample_multi_head,
    question=_multi_head_question,
    limits={"tokens": 10, "d_model": 16, "heads": 4, "d_k": 16, "d_v": 16,
            "d_out": 16, "hd_v": 64, "tokens_kv": 10, "d_kv": 16},
)
def multi_head_attention(
    X: sp.ImmutableMatrix | None,
    W_Q: tuple[sp.ImmutableMatrix, ...] | None,
    W_K: tuple[sp.ImmutableMatrix, ...] | None,
    W_V: tuple[sp.ImmutableMatrix, ...] | None,
    W_O: sp.ImmutableMatrix | None,
    mask: str,
    seed: int | None,
    tokens: int | None,
    d_model: int | None,
    heads: int | None,
    d_k: int | None,
    d_v: int | None,
    d_out: int | None,
    X_q: sp.ImmutableMatrix | None,
    X_kv: sp.ImmutableMatrix | None,
    scale: Any,
    mistake: str | None = None,
) -> Result:
    """MultiHead(X) = Concat(Z_1, ..., Z_h) W^O with Z_i = softmax(Q_i K_i^T / sqrt(d_k)) V_i.

    Cross-attention (``X_q`` and ``X_kv`` instead of ``X``): Q_i = X_q W^Q_i, K_i = X_kv W^K_i,
    V_i = X_kv W^V_i, as torch.nn.MultiheadAttention(query, key=value) with kdim = vdim.

    Args:
        X: the token matrix (tokens x d_model).
        W_Q: one query weight matrix per head (d_model x d_k each).
        W_K: one key weight matrix per head (d_model x d_k each).
        W_V: one value weight matrix per head (d_model x d_v each).
        W_O: the output weights (heads * d_v x d_out).
        mask: ``"none"`` or ``"causal"``.
        seed: fills every matrix not given with seeded two-decimal numbers in [0, 0.99].
        tokens: number of tokens (rows of X), to generate X.
        d_model: width of the token vectors, to generate X and the weights.
        heads: number of heads, to generate the per-head weights.
        d_k: width of each head's queries and keys.
        d_v: width of each head's values (default d_k).
        d_out: width of the output (default d_model).
        X_q: the queries' tokens, for cross-attention (tokens x d_model), with X_kv.
        X_kv: the keys' and values' tokens (tokens_kv x d_kv), with X_q.
        scale: ``"sqrt"`` (divide the scores by sqrt(d_k), the default), ``"none"`` or a
            positive number to divide by.
        mistake: ``no-scaling`` or ``no-output-projection`` (see MULTI_HEAD_MISTAKES).
    """
    cross = X_q is not None or X_kv is not None
    if cross and X is not None:
        raise InputError("X_q" if X_q is not None else "X_kv",
                         "either X (self-attention) or X_q with X_kv (cross-attention)", "both")
    if cross and X_q is None:
        raise InputError("X_q", "the queries' tokens, with X_kv (cross-attention)", "nothing")
    if cross and X_kv is None:
        raise InputError("X_kv", "the keys' and values' tokens, with X_q (cross-attention)",
                         "nothing")
    values: dict[str, Any] = {"X": X, "X_q": X_q, "X_kv": X_kv, "W_Q": W_Q, "W_K": W_K,
                              "W_V": W_V, "W_O": W_O}
    generated, sizes = seeded_inputs(
        values,
        CROSS_SLOTS if cross else MULTI_HEAD_SLOTS,
        {"tokens": tokens, "d_model": d_model, "heads": heads, "d_k": d_k, "d_v": d_v,
         "d_out": d_out},
        seed, ATTENTION_SEED_RANGE, MULTI_HEAD_DEFAULTS,
    )
    if not cross and sizes["d_kv"] != sizes["d_model"]:
        raise InputError("W_K", f"{sizes['d_model']} rows per head (the width of X)",
                         f"{sizes['d_kv']}")
    if cross and mask == "causal" and X_q.rows != X_kv.rows:  # type: ignore[union-attr]
        raise InputError("mask", "as many query tokens as key tokens for mask=causal",
                         f"{X_q.rows} and {X_kv.rows}")  # type: ignore[union-attr]
    low, high = ATTENTION_SEED_RANGE
    steps = generated_step("multi_head_attention.generated", seed, generated, low, high)
    if cross:
        steps.append(Step(key="multi_head_attention.cross",
                          data={"tokens": sizes["tokens"], "d_model": sizes["d_model"],
                                "tokens_kv": X_kv.rows,  # type: ignore[union-attr]
                                "d_kv": sizes["d_kv"]}))
    steps.append(Step(key="multi_head_attention.shapes",
                      data={"tokens": sizes["tokens"], "d_model": sizes["d_model"],
                            "heads": sizes["heads"], "d_k": sizes["d_k"], "d_v": sizes["d_v"],
                            "d_out": sizes["d_out"], "concat": sizes["hd_v"]}))
    more, head_results, concat, output = multi_head(
        "multi_head_attention", values["X_q"] if cross else values["X"], values["W_Q"],
        values["W_K"], values["W_V"], values["W_O"], mask, mistake=mistake,
        x=sp.Symbol("X_q", commutative=False) if cross else None,
        X_kv=values["X_kv"], x_kv=sp.Symbol("X_kv", commutative=False) if cross else None,
        scale=scale)
    steps += more
    return Result(
        convention="row-vectors",
        steps=tuple(steps),
        answers={
            "heads": [hr.Z for hr in head_results],
            "weights": [hr.weights for hr in head_results],
            "concat": concat,
            "output": output,
        },
        # the seeded example inputs are inputs, echoed so that every product can be checked
        info={"generated": list(generated), **generated},
    )


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
        raise InputError("W_O", f"{sizes['hd_v']} rows (heads x d_v = {sizes['heads']} x "
                         f"{sizes['d_v']}, the width of the concatenated heads)",
                         f"{W_O.rows} rows")
    low, high = seed_range
    generated = fill_with_seed(values, slots, sizes, seed, low, high)
    return generated, sizes
