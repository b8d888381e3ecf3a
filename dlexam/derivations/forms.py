"""Expression forms the derivations build that SymPy has no node for: unevaluated notation
(named operators, ratios as written, stacked equations). They carry no printing: the printers of
:mod:`dlexam.notation` have a ``_print_<Class>`` rule for each."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import sympy as sp
from sympy.printing.precedence import PRECEDENCE

from dlexam.numbers import is_exact_short


class Notation(sp.Function):
    """A function that is only notation: SymPy never evaluates it on construction (subclasses
    may define ``doit``; the printers say how each prints)."""

    @classmethod
    def eval(cls, *args: Any) -> None:
        return None


class Operator(Notation):
    """A named operator that stays unevaluated and prints as ``name(args)`` (softmax, ReLU)."""

    name: ClassVar[str] = "op"


class Ratio(Notation):
    """x / y as written (0.36 / 0.3333, 2 i / d_model), a fraction that stays unevaluated in a
    formula; ``doit`` divides. A ratio inside a ratio is written with a slash."""

    precedence = PRECEDENCE["Mul"]  # parenthesised as an exponent: 10000^(2*i/d_model)

    def doit(self, **hints: Any) -> sp.Basic:
        x, y = (a.doit(**hints) if hints.get("deep", True) else a for a in self.args)
        return x / y


class Slash(Ratio):
    """x / y written on one line (an exponent, a fraction inside a fraction): 2 i / d_model."""


class Stack(sp.Basic):
    """Expressions stacked in a column and read line by line: a group of equations written as
    one, ``[(h_1, C_1); (h_2, C_2)] = [LSTM(x_1, h_0, C_0); LSTM(x_2, h_1, C_1)]``."""


def row_vector(values: Sequence[Any]) -> sp.ImmutableMatrix:
    """A 1 x n matrix."""
    return sp.ImmutableMatrix([list(values)])


def exact_shown(value: sp.Basic, digits: int = 4) -> sp.Basic:
    """A number as it is put into a formula: a rational that no short decimal writes exactly
    (1/3) becomes the fraction :class:`Ratio`, every other number stays as it is."""
    if isinstance(value, sp.Rational) and not value.is_Integer and not is_exact_short(value,
                                                                                      digits):
        return Ratio(sp.Integer(value.p), sp.Integer(value.q))
    return value
