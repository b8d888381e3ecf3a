"""The one printer: notation table, authored order, numbers shown short (exact inside)."""

from __future__ import annotations

import pytest
import sympy as sp

from dlexam.derivations.core import put_in, three_part
from dlexam.derivations.forms import Ratio, Slash, Stack, as_written
from dlexam.notation import sym, sym_sub, tex, text

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


def test_transpose_uses_the_table_sign() -> None:
    m = sp.ImmutableMatrix([[1, 2], [3, 4]])
    assert tex(sp.Transpose(m)).endswith(r"\right]^{\top}")
    assert tex(sp.Transpose(sp.MatrixSymbol("K", 2, 2))) == r"K^{\top}"
    assert text(sp.Transpose(sp.MatrixSymbol("K", 2, 2))) == "K^T"


def test_subscripted_table_symbols() -> None:
    assert tex(sym_sub("S_hat", 1)) == r"\hat{S}_{1}" and text(sym_sub("S_hat", 1)) == "Ŝ_1"
    assert tex(sym_sub("s_hat", 1, 12)) == r"\hat{s}_{1,12}"
    assert tex(sym_sub("K_T", 2)) == r"K^{\top}_{2}"
    assert tex(sym_sub("Z_cat", 3)) == r"{Z_{\mathrm{cat}}}_{3}"
    with pytest.raises(KeyError):
        sym_sub("not_in_table", 1)


@pytest.mark.parametrize(
    "value,latex,plain",
    [
        (sp.Rational(1, 100000), "0.00001", "0.00001"),  # a layer norm's epsilon, not 0
        (sp.Float(-2.5e-6), "-0.0000025", "-0.0000025"),
        (sp.Float(3.2e-12), r"3.2 \cdot 10^{-12}", "3.2e-12"),
        (sp.Float(0.0), "0", "0"),
    ],
)
def test_small_numbers_keep_a_significant_digit(value: sp.Basic, latex: str, plain: str) -> None:
    assert tex(value) == latex and text(value) == plain


def test_matrix_entries_share_their_decimals() -> None:
    # inside a matrix a tiny entry rounds like its neighbours and every entry, exact zero
    # included, shows the same number of decimals (no ragged columns)
    m = sp.ImmutableMatrix([[sp.Float(0.00001), sp.S.Zero, sp.Float(0.5)]])
    assert tex(m) == r"\left[\begin{matrix}0.0000 & 0.0000 & 0.5000\end{matrix}\right]"
    assert text(m) == "[[0.0000, 0.0000, 0.5000]]"
    # exact entries share the most decimals one needs: 0.5, 0, 0.8 beside 0.25
    exact = sp.ImmutableMatrix([[sp.Rational(1, 2), 0], [sp.Rational(4, 5), sp.Rational(1, 4)]])
    assert text(exact) == "[[0.50, 0.00], [0.80, 0.25]]"
    # integers stay integers
    assert text(sp.ImmutableMatrix([[1, -2]])) == "[[1, -2]]"
    # every entry very small: the largest keeps two significant digits, the others line up
    tiny = sp.ImmutableMatrix([[sp.Float(2.5e-6), sp.Float(-1e-7)]])
    assert text(tiny) == "[[0.0000025, -0.0000001]]"


def test_fractions_in_a_matrix_print_at_full_size() -> None:
    row = sp.ImmutableMatrix([[Ratio(sp.Integer(1), sp.Integer(3)), sp.Integer(2)]])
    assert tex(row) == (r"\left[\begin{matrix}\displaystyle \frac{1}{3} & \displaystyle 2"
                        r"\end{matrix}\right]")
    two_rows = sp.ImmutableMatrix([[Ratio(1, 3)], [sp.Integer(2)]])
    assert r"\\[1ex]" in tex(two_rows)


def test_ratio_slash_and_as_written() -> None:
    third = as_written(sp.Rational(1, 3), fractions=True)
    assert isinstance(third, Ratio) and third.doit() == sp.Rational(1, 3)
    # 0.36 writes it exactly
    assert as_written(sp.Rational(9, 25), fractions=True) == sp.Rational(9, 25)
    written = as_written(sp.Rational(26, 75), fractions=True)
    assert tex(Ratio(sp.Rational(9, 25), written)) == r"\frac{0.36}{26/75}"
    # without fractions, or for an irrational number: a decimal, shown with all its decimals
    assert text(as_written(sp.Rational(26, 75))) == "0.3467"
    assert text(as_written(sp.tanh(2))) == "0.9640"
    assert as_written(sp.oo) == sp.oo and as_written(sp.Symbol("x")) == sp.Symbol("x")
    assert text(Ratio(third, sp.Rational(9, 25))) == "(1/3)/0.36"
    i, d = sym("i_pe"), sym("d_model")
    exponent = Slash(sp.Mul(2, i, evaluate=False), d)
    assert tex(sp.Pow(10000, exponent, evaluate=False)) == r"10000^{2 i/d_{\mathrm{model}}}"
    assert text(sp.Pow(10000, exponent, evaluate=False)) == "10000^(2*i/d_model)"
    assert sp.Pow(10000, exponent, evaluate=False).subs({i: 1, d: 4}).doit() == 100


def test_a_stack_is_read_line_by_line() -> None:
    stack = Stack(sp.Tuple(sp.Symbol("h_1"), sp.Symbol("C_1")), sp.Symbol("y"))
    assert tex(stack) == (r"\left[\begin{matrix}\left( h_{1}, \  C_{1}\right) \\ y"
                          r"\end{matrix}\right]")
    assert text(stack) == "[(h_1, C_1); y]"


def test_inexact_entries_of_a_matrix_share_their_decimals() -> None:
    m = sp.Matrix([[sp.Float(0.659), sp.Float(0.24237)], [sp.Float(-0.00001), sp.Rational(1, 2)]])
    assert tex(m) == r"\left[\begin{matrix}0.6590 & 0.2424\\0.0000 & 0.5000\end{matrix}\right]"
    # an inexact number shows all its decimals, in a matrix or alone: 0.0210 beside 0.0239
    assert tex(sp.Float(0.659)) == "0.6590" and text(sp.Float(0.021)) == "0.0210"
    assert text(sp.Float(0.999996)) == "1.0000"
    # an exact short decimal is written as it is
    assert text(sp.Rational(1, 2)) == "0.5"


def test_products_of_matrices_print_as_sympy_s_own_rule() -> None:
    """The LaTeX printer's quicker rule for a product of matrices (a minus read off the leading
    factor) writes what SymPy's LatexPrinter._print_MatMul writes with the same printer."""
    from sympy.printing.latex import LatexPrinter

    from dlexam.notation.printers import DlexamLatexPrinter

    a, b = sp.MatrixSymbol("A", 2, 2), sp.MatrixSymbol("B", 2, 2)
    m = sp.Matrix([[1, -2], [sp.Rational(1, 2), 3]])
    x = sp.Symbol("x")
    products = [sp.MatMul(a, b), sp.MatMul(-1, a, b), sp.MatMul(-2, a, m, evaluate=False),
                sp.MatMul(sp.Rational(-1, 2), m, m, evaluate=False), sp.MatMul(m, a + b),
                sp.MatMul(x, a, m, evaluate=False), sp.MatMul(-x, a, evaluate=False),
                sp.MatMul(m, sp.MatMul(a, b, evaluate=False), evaluate=False),
                sp.MatMul(sp.Float(-0.25), m, a, evaluate=False)]
    for numbers in (False, True):
        settings = {"digits": 4, "places": None, **({"mul_symbol": "dot"} if numbers else {})}
        for product in products:
            printer = DlexamLatexPrinter(settings)
            ours = printer._print_MatMul(product)
            theirs = LatexPrinter._print_MatMul(DlexamLatexPrinter(settings), product)
            assert ours == theirs, product
