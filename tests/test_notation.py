"""The one printer: notation table, authored order, numbers shown short (exact inside)."""

from __future__ import annotations

import pytest
import sympy as sp

from dlexam.derivations.core import put_in, three_part
from dlexam.derivations.notation import sym, tex, text

n, m = sym("n_units"), sym("n_in")


@pytest.mark.parametrize(
    "expr,latex,plain",
    [
        (sym("C_tilde"), r"\tilde{C}_t", "C~_t"),
        (sym("h_prev"), "h_{t-1}", "h_{t-1}"),
        (sym("W_f"), "W_f", "W_f"),
        (sp.Rational(1, 10), "0.1", "0.1"),
        (sp.Rational(-3, 4), "-0.75", "-0.75"),
        (sp.Rational(1, 3), "0.3333", "0.3333"),
        (sp.Integer(11191), "11191", "11191"),
        (sp.Float("0.880797077977882"), "0.8808", "0.8808"),
    ],
)
def test_print_table(expr: sp.Basic, latex: str, plain: str) -> None:
    assert tex(expr) == latex
    assert text(expr) == plain


def test_put_in_keeps_authored_order_and_exact_value() -> None:
    with sp.evaluate(False):
        formula = sp.Mul(4, n, sp.Add(n, m, 1))
    step = three_part("param_count.lstm", sym("P"), formula, {n: 30, m: 1})
    assert tex(step.symbolic) == r"4 n \left(n + m + 1\right)"
    assert tex(step.substituted, numbers=True) == r"4 \cdot 30 \cdot \left(30 + 1 + 1\right)"
    assert step.value == 3840
    assert put_in(formula, {n: sp.Rational(1, 2)}).has(sp.Rational(1, 2))


def test_unknown_symbol_key_is_a_bug() -> None:
    with pytest.raises(KeyError):
        sym("not_in_table")
