"""Shared pieces of the recurrent derivations (rnn-forward, lstm-*, gru-forward, bptt).

Vectors are column matrices. A formula is a SymPy matrix expression over matrix symbols of the
notation table (:func:`msym`); an activation applied to a vector is an :class:`Activation`, which
prints as tanh(...), σ(...) and evaluates entry by entry once numbers are put in. Values stay exact
(tanh(41/20) is a value) until a recurrent state grows too large to carry exactly: then it is
carried as decimals with :data:`DIGITS` significant digits (:func:`settle`), which keeps the cost of
a long sequence linear in its length.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

import sympy as sp
from sympy.core.symbol import Str

from dlexam.derivations.core import Step, put_in, three_part
from dlexam.derivations.forms import as_written
from dlexam.derivations.params import applied, exact, named
from dlexam.errors import InputError, Said
from dlexam.notation import (
    msym as msym,  # re-exported: the recurrent topics make their matrices here
)
from dlexam.notation import register_symbols

register_symbols({
    "x_t": ("x_t", "x_t"),
    "h_t": ("h_t", "h_t"),
    "h_prev": ("h_{t-1}", "h_{t-1}"),
    "U": ("U", "U"),
    "W": ("W", "W"),
    "W_T": (r"W^{\top}", "W^T"),  # the recurrent weights transposed (rnn, gradients)
    "b": ("b", "b"),
    "a_t": ("a_t", "a_t"),  # hidden pre-activation
    "dC_dCprev": (r"\frac{\partial C_t}{\partial C_{t-1}}", "∂C_t/∂C_{t-1}"),
    "diag_f": (r"\operatorname{diag}(f_t)", "diag(f_t)"),
})

# the activation's parameter value -> its key in the notation table
_NOTATION = {"tanh": "tanh", "sigmoid": "sigma", "relu": "relu", "softmax": "softmax"}
HIDDEN_ACTIVATIONS: tuple[str, ...] = ("tanh", "sigmoid", "relu")
OUTPUT_ACTIVATIONS: tuple[str, ...] = ("identity", "sigmoid", "softmax")

# a state with an exact entry of more operations than this is carried as decimals (shown values
# are rounded anyway; long exact expressions only cost time)
EXACT_LIMIT = 24
DIGITS = 30




def _relu(a: sp.Expr) -> sp.Expr:
    value = sp.Max(0, a)
    if not isinstance(value, sp.Max):
        return value
    # SymPy cannot always decide the sign of an exact expression such as 1/2 - tanh(1/3)
    return a if a.evalf(DIGITS) > 0 else sp.Integer(0)


def activate(name: str, vector: sp.MatrixBase) -> sp.ImmutableMatrix:
    """The activation ``name`` applied to a vector of numbers, exactly."""
    if name == "tanh":
        return sp.ImmutableMatrix(vector.applyfunc(lambda a: applied(sp.tanh, a)))
    if name == "sigmoid":
        return sp.ImmutableMatrix(vector.applyfunc(lambda a: 1 / (1 + applied(sp.exp, -a))))
    if name == "relu":
        return sp.ImmutableMatrix(vector.applyfunc(_relu))
    if name == "softmax":
        exps = [applied(sp.exp, a) for a in vector]
        total = sp.Add(*exps)
        return sp.ImmutableMatrix(vector.rows, vector.cols, [e / total for e in exps])
    if name == "identity":
        return sp.ImmutableMatrix(vector)
    raise ValueError(f"unknown activation {name!r}")


class Activation(sp.MatrixExpr):
    """An activation applied to a vector expression: tanh(a), σ(a), ReLU(a) entry by entry, or
    softmax(a) over the whole vector.

    It stays a formula until its argument is an explicit matrix of numbers; then ``doit``
    evaluates it (exactly) with :func:`activate`.
    """

    def __new__(cls, name: str | Str, arg: Any, evaluate: bool = False) -> Activation:
        # ``evaluate`` is accepted (and unused) because put_in rebuilds nodes with evaluate=False
        label = name if isinstance(name, Str) else Str(name)
        if label.name not in _NOTATION:
            raise ValueError(f"unknown activation {label.name!r}")
        if not isinstance(arg, sp.Basic):  # built by our code from SymPy objects, never text
            raise TypeError(f"activation argument must be a SymPy expression, got {type(arg)}")
        return sp.Basic.__new__(cls, label, arg)

    @property
    def name(self) -> str:
        """The activation's name (``"tanh"``, ``"sigmoid"``, ``"relu"``, ``"softmax"``)."""
        return self.args[0].name

    @property
    def arg(self) -> sp.Basic:
        """The vector the activation is applied to."""
        return self.args[1]

    @property
    def shape(self) -> tuple[Any, Any]:
        return self.arg.shape

    def doit(self, **hints: Any) -> sp.Basic:
        arg = self.arg.doit(**hints) if hints.get("deep", True) else self.arg
        if isinstance(arg, sp.MatrixBase):
            return activate(self.name, arg)
        return Activation(self.args[0], arg)

def apply(name: str, arg: sp.Basic) -> sp.Basic:
    """The formula ``name(arg)``; the identity leaves ``arg`` as it is."""
    return arg if name == "identity" else Activation(name, arg)


def _size(vector: sp.MatrixBase) -> int:
    return max(sp.count_ops(x) for x in vector)


def settle(vector: sp.MatrixBase) -> tuple[sp.ImmutableMatrix, bool]:
    """A state to carry on: exact while it is small, else decimals with DIGITS digits.

    Returns:
        The vector and whether it was turned into decimals here.
    """
    vector = sp.ImmutableMatrix(vector).applyfunc(named)
    if all(x.is_Rational or x.is_Float for x in vector) or _size(vector) <= EXACT_LIMIT:
        return vector, False
    return sp.ImmutableMatrix(vector.evalf(DIGITS)), True


def example(
    given: Mapping[str, sp.ImmutableMatrix | None], sample: Mapping[str, Any], what: str
) -> dict[str, sp.ImmutableMatrix]:
    """The given weights, or the example's when none is given.

    A partial set is an error naming the first missing parameter: filling the rest in from an
    example of another size would blame the wrong parameter for the mismatch.

    Raises:
        InputError: some weights are given and others are not.
    """
    if all(v is None for v in given.values()):
        return {k: sp.ImmutableMatrix(sample[k]).applyfunc(exact) for k in given}
    missing = [k for k, v in given.items() if v is None]
    if missing:
        named = next(k for k, v in given.items() if v is not None)
        raise InputError(missing[0], Said("cells.errors.too", what=what, named=named),
                         Said("errors.nothing"))
    return {k: v for k, v in given.items() if v is not None}


def check_sizes(units: int, vectors: dict[str, sp.ImmutableMatrix | None]) -> None:
    """Checks that the given state and bias vectors have one entry per unit.

    Raises:
        InputError: naming the first vector of another size.
    """
    for name, v in vectors.items():
        if v is not None and v.rows != units:
            raise InputError(name, Said("cells.errors.units", n=units), f"{v.rows}")


def flat(vector: sp.MatrixBase) -> list[sp.Expr]:
    """A vector's entries as a plain list (answers show vectors as flat lists)."""
    return list(vector)


def rows_of(matrix: sp.MatrixBase) -> list[sp.ImmutableMatrix]:
    """The rows of a T x D input matrix (or the entries of a T x 1 one) as D-vectors."""
    return [sp.ImmutableMatrix(matrix.row(i)).T for i in range(matrix.rows)]


def stack(parts: Iterable[sp.MatrixBase]) -> sp.ImmutableMatrix:
    """Vectors stacked into one column: [h_{t-1}; x_t]."""
    return sp.ImmutableMatrix(sp.Matrix.vstack(*parts))


def column_of(numbers: Iterable[Any]) -> sp.ImmutableMatrix:
    """Plain numbers (a student's typed vector) as an exact column, to put into a formula."""
    return sp.ImmutableMatrix([exact(v) for v in numbers])


def zeros(rows: int) -> sp.ImmutableMatrix:
    """A column of zeros."""
    return sp.ImmutableMatrix.zeros(rows, 1)


def numbers_step(
    key: str,
    lhs: sp.Basic | None,
    formula: sp.Basic,
    values: Mapping[sp.Basic, Any],
    **data: Any,
) -> Step:
    """Like :func:`~dlexam.derivations.core.three_part`, with long exact numbers shown as decimals
    in the numbers-put-in line (the value stays exact)."""
    step = three_part(key, lhs, formula, values, **data)
    return replace(step, substituted=put_in(formula, {k: as_written(v) for k, v in values.items()}))


# the example network of rnn-forward's and bptt's defaults: two steps of a scalar input, tanh,
# identity output (the 2023 exam's Q2 and Q4 use it: tests/test_registry.py holds
# dlexam/exams/final2023.toml's numbers to these)
EXAMPLE_RNN: dict[str, Any] = {
    "U": [0.5, 0.6],
    "W": [[0.1, 0.2], [0.3, 0.4]],
    "V": [1.0, 2.0],
    "b": [1.0, -1.0],
    "c": 0.1,
    "x": [2, 3],
}


def inputs_of(U: sp.ImmutableMatrix, x: sp.ImmutableMatrix) -> tuple[list[Any], bool]:  # noqa: N803
    """The inputs one per time step (numbers, or D-vectors), and whether they are numbers.

    Raises:
        InputError: the inputs' width does not match U's.
    """
    D = U.cols  # noqa: N806
    if x.cols != D:
        if D == 1:
            raise InputError("x", Said("cells.errors.one_per_step"), f"{x.rows} x {x.cols}")
        raise InputError("x", Said("cells.errors.list_per_step", n=D),
                         f"{x.rows} x {x.cols}" if x.cols > 1 else Said("cells.errors.numbers"))
    if D == 1:
        return [x[i, 0] for i in range(x.rows)], True
    return rows_of(x), False


def carry(vector: sp.MatrixBase) -> tuple[sp.ImmutableMatrix, bool]:
    """A gated cell's state passed on to the next step: as it is while its entries are plain
    numbers, else as decimals with DIGITS digits. An exact LSTM or GRU state nests σ and tanh of
    the step before, and every later step would nest it further (the step's own values and
    answers stay exact; only what is carried on is rounded).

    Returns:
        The vector and whether it was turned into decimals here.
    """
    vector = sp.ImmutableMatrix(vector).applyfunc(named)
    if all(v.is_Rational or v.is_Float for v in vector):
        return vector, False
    return sp.ImmutableMatrix(vector.evalf(DIGITS)), True
