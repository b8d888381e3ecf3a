"""Expression forms the derivations build that SymPy has no node for: unevaluated notation
(named operators, ratios as written, stacked equations). They carry no printing: the printers of
:mod:`dlexam.notation` have a ``_print_<Class>`` rule for each."""

from __future__ import annotations

from collections.abc import Callable, Sequence
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


class Indicator(Notation):
    """The indicator of a condition, 1 where it holds and 0 elsewhere: 1[s_j - s_y + Delta > 0]
    (the condition an unevaluated relational)."""


class Stack(sp.Basic):
    """Expressions stacked in a column and read line by line: a group of equations written as
    one, ``[(h_1, C_1); (h_2, C_2)] = [LSTM(x_1, h_0, C_0); LSTM(x_2, h_1, C_1)]``."""


def tidy(value: sp.Basic, how: Callable[[sp.Basic], sp.Basic] = sp.cancel) -> sp.Basic:
    """An exact value tidied for display (``cancel``: e^14/(e^14+e^12) = e^2/(1+e^2)).

    A formula of a trace's inputs (:mod:`dlexam.plans`) is left as it is: tidying
    symbols costs far more than tidying numbers, and changes no value.
    """
    return value if value.free_symbols else how(value)


def simplified(value: sp.Basic) -> sp.Basic:
    """``simplify`` for display, as :func:`tidy` does it (a traced formula left as it is)."""
    return tidy(value, sp.simplify)


def as_float(value: sp.Basic) -> sp.Basic:
    """An exact value as the float a step's numbers show (``sp.Float(float(value))``); a
    formula of a trace's inputs (:mod:`dlexam.plans`) is left as it is, as :func:`tidy`
    leaves it (a trace keeps the steps' values, not the numbers they show)."""
    return value if value.free_symbols else sp.Float(float(value))


def row_vector(values: Sequence[Any]) -> sp.ImmutableMatrix:
    """A 1 x n matrix."""
    return sp.ImmutableMatrix([list(values)])


WRITTEN_DIGITS = 30
"""Significant digits of the decimal that stands for an inexact number in a formula (printed
rounded to the display's decimals)."""


def as_written(value: Any, fractions: bool = False, digits: int = 4) -> Any:
    """A value as it is put into a displayed formula (the one helper for every derivation).

    Integers and exact decimals of at most ``digits`` places stay exact; another rational
    becomes the fraction :class:`Ratio` (1/3) when ``fractions``, else a decimal; any other
    finite number (tanh(2), e^2 / (1 + e^2)) becomes a decimal, so the line stays readable.
    Matrices are written entry by entry; infinities and formulas stay as they are.

    The step's value is still computed from the exact numbers; this is for showing only.
    """
    if isinstance(value, sp.MatrixBase):
        return sp.ImmutableMatrix(value.applyfunc(
            lambda x: as_written(x, fractions=fractions, digits=digits)))
    if not isinstance(value, sp.Basic) or not value.is_number or value.is_Float:
        return value
    if value.is_Integer or is_exact_short(value, digits) or value.is_finite is False:
        return value
    if value.is_Rational and fractions:
        return Ratio(sp.Integer(value.p), sp.Integer(value.q))
    return sp.Float(value.evalf(WRITTEN_DIGITS), WRITTEN_DIGITS)
