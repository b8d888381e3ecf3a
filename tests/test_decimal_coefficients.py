"""A product led by a short decimal prints as written (0.6 h_1), not as a fraction (3 h_1 / 5)."""

from __future__ import annotations

import pytest
import sympy as sp

from dlexam.notation import tex, text

h1, h2 = sp.symbols("h_1 h_2")


def _mul(*args: sp.Basic) -> sp.Mul:
    return sp.Mul(*args, evaluate=False)


@pytest.mark.parametrize(
    "expr,latex,numbers,plain",
    [
        (_mul(sp.Rational(3, 5), h1), "0.6 h_{1}", r"0.6 \cdot h_{1}", "0.6*h_1"),
        (_mul(sp.Rational(-3, 5), h1), "- 0.6 h_{1}", r"- 0.6 \cdot h_{1}", "-0.6*h_1"),
        (sp.Add(_mul(sp.Rational(3, 5), h1), _mul(sp.Rational(-1, 5), h2), evaluate=False),
         "0.6 h_{1} - 0.2 h_{2}", r"0.6 \cdot h_{1} - 0.2 \cdot h_{2}", "0.6*h_1 - 0.2*h_2"),
        (_mul(sp.Rational(1, 2), sp.Integer(2)), r"0.5 \cdot 2", r"0.5 \cdot 2", "0.5*2"),
        (_mul(sp.Rational(1, 2), sp.Add(h1, h2)), r"0.5 \left(h_{1} + h_{2}\right)",
         r"0.5 \cdot \left(h_{1} + h_{2}\right)", "0.5*(h_1 + h_2)"),
        # a rational that is no short decimal keeps its exact fraction
        (_mul(sp.Rational(1, 3), h1), r"\frac{h_{1}}{3}", r"\frac{h_{1}}{3}", "h_1/3"),
    ],
)
def test_decimal_coefficient(expr: sp.Basic, latex: str, numbers: str, plain: str) -> None:
    assert tex(expr) == latex
    assert tex(expr, numbers=True) == numbers
    assert text(expr) == plain
