"""The project's printers: LaTeX and terminal text in the notation of the symbol registry.

Every notation class the derivations build (named operators, ratios, activations, logarithms,
expectations...) is printed by a ``_print_<Class>`` rule here, in both printers; the derivations
carry no printing.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, localcontext
from functools import lru_cache
from typing import Any

import sympy as sp
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import PRECEDENCE, precedence
from sympy.printing.str import StrPrinter

from dlexam.notation.symbols import SYMBOLS, table_form
from dlexam.numbers import decimal_places, is_exact_short, terminating

# an activation's parameter value -> its registered symbol
ACTIVATIONS = {"tanh": "tanh", "sigmoid": "sigma", "relu": "relu", "softmax": "softmax"}

PIECEWISE_WORDS = {"for": "\\dlxfor ", "otherwise": "\\dlxotherwise "}
"""The words of a piecewise formula (``x for x > 0``), as marks both printers write: each
driver puts in the words of its language (:func:`dlexam.render.prose.worded`, catalog keys
``piecewise.*``); a LaTeX document's preamble defines them as macros too, for a formula shown
once for every language of the document."""


def _is_ratio(expr: Any) -> bool:
    """True for a ratio written as a fraction (a Ratio, not a Slash)."""
    return type(expr).__name__ == "Ratio"


def _any_ratio(expr: Any) -> bool:
    """True for a Ratio or a Slash."""
    return any(c.__name__ == "Ratio" for c in type(expr).__mro__)



def _significant_places(f: float, figures: int = 2) -> int:
    """The decimals that show ``figures`` significant digits of a small non-zero number."""
    return figures - 1 - math.floor(math.log10(abs(f)))


BIG = 10**15
"""A non-integer this large or larger is written in scientific notation."""


def fixed_decimals(value: sp.Basic, places: int) -> str:
    """A number with exactly ``places`` decimals; a result of zero has no minus sign.

    An exact value rounds half away from zero (1/8 with two places is 0.13); a Float rounds
    its binary value to the nearest, as Python's own formatting does (no double rounding).
    """
    with localcontext() as ctx:
        ctx.prec = 80
        if value.is_Rational:
            exact = Decimal(int(value.p)) / Decimal(int(value.q))
            rounding = ROUND_HALF_UP
        else:
            exact = Decimal(float(value))
            rounding = ROUND_HALF_EVEN
        text = format(exact.quantize(Decimal(1).scaleb(-places), rounding=rounding), "f")
    return text.lstrip("-") if Decimal(text) == 0 else text


def shared_places(entries: list[Any], digits: int) -> int | None:
    """The one display rule for numbers side by side (a vector, a matrix): every entry shows
    the same number of decimals, so that columns line up and no entry looks more precise than
    its neighbours.

    - all integers: none (written as integers);
    - any inexact entry (a Float, or a rational no short decimal writes): ``digits``;
    - else the most decimals an entry needs (0.5 beside 0.25 is 0.50);
    - when that would show every non-zero entry as 0 (all very small), the decimals that give
      the largest entry two significant digits (at most 12).

    None too when an entry is not a number (a matrix of formulas prints entry by entry).
    """
    if not entries or not all(isinstance(x, sp.Basic) and (x.is_Rational or x.is_Float)
                              for x in entries):
        return None
    if all(x.is_Integer for x in entries):
        return None
    if any(x.is_Float or not is_exact_short(x, digits) for x in entries if not x.is_Integer):
        places = digits
    else:
        places = max(decimal_places(x) for x in entries)
    largest = max(abs(float(x)) for x in entries)
    if 0 < largest < 0.5 * 10**-places:
        places = min(_significant_places(largest), 12)
    return places


def _decimal_text(value: sp.Basic, digits: int) -> str:
    """A number shown with at most ``digits`` decimals, trailing zeros dropped."""
    if value.is_Rational and terminating(value) and len(str(value.q)) <= digits + 1:
        q = value
        # exact, short terminating decimal: show all of it
        places = 0
        while (q * 10**places).q != 1:
            places += 1
        if places <= digits:
            text = f"{float(q):.{places}f}" if places else str(int(q))
            return text
    f = float(value.evalf(17))
    text = f"{f:.{digits}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _decimal_lead(expr: sp.Mul, digits: int) -> tuple[sp.Rational, sp.Basic] | None:
    """A product led by a short exact decimal (0.6 h_1): the decimal and the other factors.

    SymPy prints a rational coefficient as a fraction over the whole product (3 h_1 / 5), which
    hides the exam's decimals; a short decimal reads as written. Other rationals keep the fraction.
    """
    if len(expr.args) < 2:
        return None
    lead = expr.args[0]
    if not lead.is_Rational or lead.is_Integer or not is_exact_short(abs(lead), digits):
        return None
    rest = expr.args[1:]
    return lead, rest[0] if len(rest) == 1 else sp.Mul(*rest, evaluate=False)


def _negative_number(expr: sp.Basic) -> bool:
    """True for a negative number (-1, -0.5), read off the structure.

    The printers never ask SymPy's assumptions (``is_negative``, ``is_zero``...) about the
    formulas they print: those are kept unevaluated (``2 - 1*0``), and SymPy checks facts about
    an unevaluated tree in a random order that can contradict itself (InconsistentAssumptions).
    """
    return bool(expr.is_Number and expr < 0)


def _opaque_powers(expr: sp.Mul) -> sp.Mul:
    """The product with every power whose exponent is a formula (``(γσ)^(T-k)``) wrapped, so
    that SymPy's LaTeX printer leaves it in the numerator instead of asking whether the
    exponent is negative (an assumptions query on an unevaluated tree)."""
    args = [sp.UnevaluatedExpr(a) if a.is_Pow and not a.exp.is_Atom else a for a in expr.args]
    if all(a is b for a, b in zip(args, expr.args, strict=True)):
        return expr
    return sp.Mul(*args, evaluate=False)


def _flat_args(expr: sp.Basic, cls: type) -> list[sp.Basic]:
    out: list[sp.Basic] = []
    for a in expr.args:
        if isinstance(a, cls):
            out.extend(_flat_args(a, cls))
        else:
            out.append(a)
    return out


def _minus_number(expr: sp.Basic) -> bool:
    """Whether ``expr`` is -1 times a single number, unevaluated (a number put in for -s)."""
    return (isinstance(expr, sp.Mul) and len(expr.args) == 2 and expr.args[0] == -1
            and bool(expr.args[1].is_Number))


def _minus_negative(expr: sp.Basic) -> bool:
    """Whether ``expr`` is -1 times a negative number, unevaluated."""
    return _minus_number(expr) and bool(expr.args[1].is_negative)


def _matmul_minus(expr: sp.MatMul) -> bool:
    """``expr.could_extract_minus_sign()``, asked of the leading factor first: SymPy's own test
    negates the whole product, which multiplies out its explicit matrices (most of the time a
    bptt sheet took to print); it is asked only when the leading factor is a negative number."""
    first = expr.args[0]
    return bool(first.is_Number and first.is_extended_negative) and bool(
        expr.could_extract_minus_sign())


class _ProjectNotation:
    """What both printers share: the symbol table, short decimals, authored term order.

    ``FORM`` picks the column of :data:`SYMBOLS` (0 for LaTeX, 1 for plain text) and ``TIMES``
    is how a decimal coefficient joins the rest of a product.
    """

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        # terms in authored order; the decimal places of a shared display rule, if any
        super().__init__({"order": "none", **(settings or {})})  # type: ignore[call-arg]
        self._places = self._settings["places"]  # type: ignore[attr-defined]

    FORM = 0
    _settings: dict[str, Any]

    def _times(self, body: str) -> str:
        raise NotImplementedError

    _in_matrix = 0  # > 0 while the entries of a matrix are printed

    def _sci(self, mantissa: str, exponent: int) -> str:
        raise NotImplementedError

    _places: int | None = None  # the decimals every entry of the matrix being printed shares

    def _number(self, expr: sp.Basic) -> str:
        """A number by the display rule (:func:`shared_places`, :func:`fixed_decimals`): inside a
        matrix of numbers every entry shows the matrix's shared decimals; elsewhere an inexact
        number (a Float) shows all ``digits`` decimals and an exact one is written as it is (at
        most ``digits`` decimals); a small non-zero number keeps two significant digits."""
        digits = self._settings["digits"]
        if not expr.is_Integer and abs(expr) >= BIG:
            # a huge inexact value (an exploding gradient's norm) in scientific notation: its
            # fixed decimals would run off the line (and past the decimal context)
            mantissa, exponent = f"{float(expr.evalf(17)):.{digits}e}".split("e")
            return self._sci(mantissa, int(exponent))
        if self._places is not None:
            return fixed_decimals(expr, self._places)
        if expr.is_Float and abs(float(expr)) >= 0.5 * 10**-digits:
            return fixed_decimals(expr, digits)
        shown = _decimal_text(expr, digits)
        if shown != "0" or expr.is_zero:
            return shown
        f = float(expr.evalf(17))
        if abs(f) >= 1e-9:
            # two significant digits, trailing zeros dropped (a layer norm's epsilon: 0.00001)
            return fixed_decimals(expr, _significant_places(f)).rstrip("0").rstrip(".")
        mantissa, exponent = f"{f:.1e}".split("e")
        return self._sci(mantissa.rstrip("0").rstrip("."), int(exponent))

    def _entries(self, expr: sp.MatrixBase) -> Any:
        """Prints a matrix's entries with their shared decimals (a context manager's work)."""
        saved = self._places
        self._places = shared_places(list(expr), self._settings["digits"])
        self._in_matrix += 1
        try:
            return [[self._print(x) for x in expr.row(i)]  # type: ignore[attr-defined]
                    for i in range(expr.rows)]
        finally:
            self._in_matrix -= 1
            self._places = saved

    def _print_Rational(self, expr: sp.Rational) -> str:
        if expr.is_Integer and self._places is None:
            return str(int(expr))
        return self._number(expr)

    # SymPy's own rules for these constants would skip the display rule (0 in a matrix of
    # two-decimal entries is 0.00)
    _print_Integer = _print_Rational
    _print_Zero = _print_Rational
    _print_One = _print_Rational
    _print_NegativeOne = _print_Rational
    _print_Half = _print_Rational

    def _print_Float(self, expr: sp.Float) -> str:
        return self._number(expr)

    def _print_Add(self, expr: sp.Add, order: str | None = None) -> str:
        flat = _flat_args(expr, sp.Add)
        if len(flat) != len(expr.args):
            expr = sp.Add(*flat, evaluate=False)
        if any(_minus_negative(a) for a in flat[1:]):
            # 5.1 - (-3.2) + 1: a negative number put in for a subtracted symbol keeps its
            # subtraction and its sign (SymPy would write 5.1 - -3.2)
            out = self._print(flat[0])  # type: ignore[attr-defined]
            for term in flat[1:]:
                shown = self._print(term)  # type: ignore[attr-defined]
                if shown.startswith("-"):
                    out += " - " + shown[1:].lstrip()
                else:
                    out += " + " + shown
            return out
        return super()._print_Add(expr, order=order)  # type: ignore[misc]

    def _print_Mul(self, expr: sp.Mul) -> str:
        flat = _flat_args(expr, sp.Mul)
        if len(flat) != len(expr.args):
            expr = sp.Mul(*flat, evaluate=False)
        if _minus_number(expr):
            # a number put in for a subtracted symbol (s_j - s_y): -3.2, or -(-3.2)
            body = self._print(expr.args[1])  # type: ignore[attr-defined]
            if body.startswith("-"):
                body = (rf"\left({body}\right)" if self.FORM == 0 else f"({body})")
            return "-" + body
        lead = _decimal_lead(expr, self._settings["digits"])
        if lead is not None:
            coeff, rest = lead
            body = self.parenthesize(rest, PRECEDENCE["Mul"], strict=True)  # type: ignore[attr-defined]
            sign = ("- " if self.FORM == 0 else "-") if coeff < 0 else ""
            return sign + self._print(abs(coeff)) + self._times(body)  # type: ignore[attr-defined]
        if self.FORM == 0:
            expr = _opaque_powers(expr)
        return super()._print_Mul(expr)  # type: ignore[misc]

    def _print_Function(self, expr: Any, exp: Any = None) -> str:
        # SymPy looks up only a function class's own name; a notation class without a rule of
        # its own (Softmax, Slash) takes the rule of its nearest ancestor that has one
        names = [cls.__name__ for cls in type(expr).__mro__]
        if "Notation" in names:
            for name in names[1:names.index("Notation")]:
                rule = getattr(self, f"_print_{name}", None)
                if rule is not None:
                    return rule(expr)  # type: ignore[no-any-return]
        if exp is None:
            return super()._print_Function(expr)  # type: ignore[misc,no-any-return]
        return super()._print_Function(expr, exp=exp)  # type: ignore[misc,no-any-return]

    def _print_UnevaluatedExpr(self, expr: sp.UnevaluatedExpr) -> str:
        return self._print(expr.args[0])  # type: ignore[attr-defined]

    def _print_HadamardProduct(self, expr: sp.HadamardProduct) -> str:
        # the element-wise product in the table's notation (odot), not SymPy's \circ
        prec = PRECEDENCE["Mul"]
        return f" {SYMBOLS['odot'][self.FORM]} ".join(
            self.parenthesize(a, prec, strict=True) for a in expr.args  # type: ignore[attr-defined]
        )

    def _ratio_text(self, expr: Any) -> str:
        """x/y on one line: a product on top needs no parentheses (2 i / d), one below does, a
        ratio either way."""
        x, y = (self._print(a) if a.is_Number else  # type: ignore[attr-defined]
                self.parenthesize(a, PRECEDENCE["Mul"],  # type: ignore[attr-defined]
                                  strict=not _any_ratio(a) and k == 0)
                for k, a in enumerate(expr.args))
        return f"{x}/{y}"


class DlexamLatexPrinter(_ProjectNotation, LatexPrinter):
    """SymPy's LaTeX printer with the project's symbols, authored term order and short decimals."""

    FORM = 0
    _default_settings: dict[str, Any] = {
        **LatexPrinter._default_settings, "digits": 4, "places": None
    }

    def _times(self, body: str) -> str:
        # a dot between two written numbers (0.5 \cdot 2), as SymPy's own rule does
        key = "mul_symbol_latex_numbers" if body[:1].isdigit() else "mul_symbol_latex"
        return self._settings[key] + body

    def _sci(self, mantissa: str, exponent: int) -> str:
        return rf"{mantissa} \cdot 10^{{{exponent}}}"

    def _print_MatMul(self, expr: sp.MatMul) -> str:
        # SymPy's own rule (LatexPrinter._print_MatMul with precedence_Mul), asking whether a
        # minus leads once and cheaply (:func:`_matmul_minus`) instead of once per factor
        if type(expr) is not sp.MatMul:
            return super()._print_MatMul(expr)  # type: ignore[no-any-return]
        minus = _matmul_minus(expr)
        low = any(hasattr(a, "precedence") and isinstance(a, sp.Function)
                  and a.precedence < PRECEDENCE["Mul"] for a in expr.args)
        prec = PRECEDENCE["Add"] if minus and not low else PRECEDENCE["Mul"]

        def parens(x: Any) -> str:
            # a nested product of matrices in parentheses, a product of scalars not
            if isinstance(x, sp.Mul) and not isinstance(x, sp.MatMul):
                return self._print(x)  # type: ignore[no-any-return]
            return self.parenthesize(x, prec, False)  # type: ignore[no-any-return]

        args = list(expr.args)
        if minus:
            args = args[1:] if args[0] == -1 else [-args[0], *args[1:]]
            return "- " + " ".join(map(parens, args))
        return " ".join(map(parens, args))

    def _print_Symbol(self, expr: sp.Symbol, style: str = "plain") -> str:
        form = table_form(expr.name, 0)
        if form is not None:
            return form
        return super()._print_Symbol(expr, style=style)

    def _print_Transpose(self, expr: sp.Transpose) -> str:
        # the table's transpose sign (K^\top), not SymPy's ^T
        inner = self._print(expr.arg)
        if isinstance(expr.arg, sp.MatrixBase) or (
                isinstance(expr.arg, (sp.MatrixSymbol, sp.Symbol)) and "^" not in inner):
            return rf"{inner}^{{\top}}"
        return rf"\left({inner}\right)^{{\top}}"

    def _print_matrix_contents(self, expr: sp.MatrixBase) -> str:
        # entries share their decimals; a matrix holding a fraction sets every entry in display
        # style, so that the fractions print at full size, a little apart from row to row
        lines = self._entries(expr)
        env = "matrix" if expr.cols <= 10 else "array"
        spec = "{" + "c" * expr.cols + "}" if env == "array" else ""
        if any(r"\frac" in x for line in lines for x in line):
            rows = [" & ".join(rf"\displaystyle {x}" for x in line) for line in lines]
            body = r"\\[1ex]".join(rows)
        else:
            body = r"\\".join(" & ".join(line) for line in lines)
        return rf"\begin{{{env}}}{spec}{body}\end{{{env}}}"

    # --- notation classes of the derivations (by class name: no import of derivations) ---

    def _print_Operator(self, expr: Any, exp: Any = None) -> str:
        args = ", ".join(self._print(a) for a in expr.args)
        return rf"\operatorname{{{expr.name}}}\left({args}\right)"

    def _print_ColumnSoftmax(self, expr: Any, exp: Any = None) -> str:
        args = ", ".join(self._print(a) for a in expr.args)
        return rf"\operatorname{{softmax}}_{{\mathrm{{col}}}}\left({args}\right)"

    def _print_Sigmoid(self, expr: Any, exp: Any = None) -> str:
        return rf"\sigma\left({self._print(expr.args[0])}\right)"

    def _print_Indicator(self, expr: Any, exp: Any = None) -> str:
        return rf"\mathbf{{1}}\left[{self._print(expr.args[0])}\right]"

    def _print_Ratio(self, expr: Any, exp: Any = None) -> str:
        x, y = (self._slash(a) if _is_ratio(a) else self._print(a) for a in expr.args)
        return rf"\frac{{{x}}}{{{y}}}"

    def _slash(self, expr: Any) -> str:
        return self._ratio_text(expr)

    def _print_Slash(self, expr: Any, exp: Any = None) -> str:
        return self._ratio_text(expr)

    def _print_Stack(self, expr: Any) -> str:
        rows = r" \\ ".join(self._print(a) for a in expr.args)
        return rf"\left[\begin{{matrix}}{rows}\end{{matrix}}\right]"

    def _print_Activation(self, expr: Any) -> str:
        return rf"{SYMBOLS[ACTIVATIONS[expr.name]][0]}\left({self._print(expr.arg)}\right)"

    def _print_Log(self, expr: Any, exp: Any = None) -> str:
        x, base = expr.args
        arg = self._print(x)
        if base == sp.E:
            return rf"\ln\left({arg}\right)"
        return rf"\log_{{{self._print(base)}}}\left({arg}\right)"

    def _print_Expectation(self, expr: Any, exp: Any = None) -> str:
        body, var, dist = (self._print(a) for a in expr.args)
        return rf"\mathrm{{E}}_{{{var} \sim {dist}}}\left[{body}\right]"

    def _print_Applied(self, expr: Any, exp: Any = None) -> str:
        return f"{self._print(expr.args[0])}({self._print(expr.args[1])})"

    def _print_SumOver(self, expr: Any, exp: Any = None) -> str:
        body, var = expr.args
        return rf"\sum_{{{self._print(var)}}} " + self.parenthesize(
            body, PRECEDENCE["Mul"], strict=True)

    def _print_Names(self, expr: Any, exp: Any = None) -> str:
        return ", ".join(self._print(a) for a in expr.args)

    def _print_Is(self, expr: Any, exp: Any = None) -> str:
        return f"{self._print(expr.args[0])} = {self._print(expr.args[1])}"

    def _print_Piecewise(self, expr: sp.Piecewise) -> str:
        # SymPy's own writes English words; ours marks them for the reader's language
        rows = []
        for e, c in expr.args:
            cond = (PIECEWISE_WORDS["otherwise"] if c == sp.true
                    else PIECEWISE_WORDS["for"] + self._print(c))
            rows.append(f"{self._print(e)} & {cond}")
        return r"\begin{cases} " + r" \\ ".join(rows) + r" \end{cases}"


class DlexamTextPrinter(_ProjectNotation, StrPrinter):
    """The terminal twin of :class:`DlexamLatexPrinter`."""

    FORM = 1
    _default_settings: dict[str, Any] = {
        **StrPrinter._default_settings, "digits": 4, "places": None
    }

    def _times(self, body: str) -> str:
        return "*" + body

    def _sci(self, mantissa: str, exponent: int) -> str:
        return f"{mantissa}e{exponent}"

    def _print_Symbol(self, expr: sp.Symbol) -> str:
        form = table_form(expr.name, 1)
        return form if form is not None else expr.name

    def _print_Transpose(self, expr: sp.Transpose) -> str:
        return f"{self.parenthesize(expr.arg, PRECEDENCE['Pow'])}^T"

    # StrPrinter binds its own _print_Symbol here; matrix symbols use the table too
    _print_MatrixSymbol = _print_Symbol

    def _print_Pow(self, expr: sp.Pow, rational: bool = False) -> str:
        base, exp = expr.args
        if exp == sp.Rational(1, 2):
            return f"sqrt({self._print(base)})"
        if _negative_number(exp):
            return super()._print_Pow(expr, rational)  # 1/x, as SymPy writes it
        prec = PRECEDENCE["Pow"]
        return f"{self.parenthesize(base, prec, strict=True)}^{self.parenthesize(exp, prec)}"

    def _print_MatMul(self, expr: sp.MatMul) -> str:
        # SymPy's own asks whether the scalar factors are negative (assumptions, on trees we keep
        # unevaluated); a leading minus is read off the first factor instead
        args = list(expr.args)
        sign = ""
        if _negative_number(args[0]):
            sign, args[0] = "-", -args[0]
            if args[0] == 1 and len(args) > 1:
                args = args[1:]
        prec = precedence(expr)
        return sign + "*".join(self.parenthesize(a, prec) for a in args)

    def _big_operator(self, sign: str, expr: sp.Basic) -> str:
        body, *limits = expr.args
        text_limits = ", ".join(
            f"{self._print(v)}={self._print(lo)}..{self._print(hi)}" for v, lo, hi in limits
        )
        return f"{sign}({text_limits}) {self.parenthesize(body, PRECEDENCE['Mul'])}"

    def _print_Infinity(self, expr: sp.Basic) -> str:
        return "∞"

    def _print_NegativeInfinity(self, expr: sp.Basic) -> str:
        return "-∞"

    def _print_Derivative(self, expr: sp.Derivative) -> str:
        variables = "".join(f" d{self._print(v)}" * int(n) for v, n in expr.variable_count)
        order = sum(int(n) for _, n in expr.variable_count)
        top = "d" if order == 1 else f"d^{order}"
        return f"{top}/{variables.strip()} {self.parenthesize(expr.expr, PRECEDENCE['Mul'])}"

    def _print_Sum(self, expr: sp.Sum) -> str:
        return self._big_operator("Σ", expr)

    def _print_Product(self, expr: sp.Product) -> str:
        return self._big_operator("Π", expr)

    def _print_MatrixBase(self, expr: sp.MatrixBase) -> str:
        rows = ["[" + ", ".join(line) + "]" for line in self._entries(expr)]
        return "[" + ", ".join(rows) + "]"

    _print_ImmutableDenseMatrix = _print_MatrixBase
    _print_MutableDenseMatrix = _print_MatrixBase

    # --- notation classes of the derivations (by class name: no import of derivations) ---

    def _print_Operator(self, expr: Any) -> str:
        return f"{expr.name}(" + ", ".join(self._print(a) for a in expr.args) + ")"

    def _print_Sigmoid(self, expr: Any) -> str:
        return f"σ({self._print(expr.args[0])})"

    def _print_Indicator(self, expr: Any) -> str:
        return f"1[{self._print(expr.args[0])}]"

    def _print_Max(self, expr: Any) -> str:
        return "max(" + ", ".join(self._print(a) for a in expr.args) + ")"

    def _print_Ratio(self, expr: Any) -> str:
        return self._ratio_text(expr)

    def _print_Stack(self, expr: Any) -> str:
        return "[" + "; ".join(self._print(a) for a in expr.args) + "]"

    def _print_Activation(self, expr: Any) -> str:
        return f"{SYMBOLS[ACTIVATIONS[expr.name]][1]}({self._print(expr.arg)})"

    def _print_Log(self, expr: Any) -> str:
        x, base = expr.args
        name = "ln" if base == sp.E else f"log_{self._print(base)}"
        return f"{name}({self._print(x)})"

    def _print_Expectation(self, expr: Any) -> str:
        body, var, dist = (self._print(a) for a in expr.args)
        return f"E_({var}~{dist})[{body}]"

    def _print_Applied(self, expr: Any) -> str:
        return f"{self._print(expr.args[0])}({self._print(expr.args[1])})"

    def _print_SumOver(self, expr: Any) -> str:
        body, var = expr.args
        return f"Σ_{self._print(var)} " + self.parenthesize(body, PRECEDENCE["Mul"], strict=True)

    def _print_Names(self, expr: Any) -> str:
        return ", ".join(self._print(a) for a in expr.args)

    def _print_Is(self, expr: Any) -> str:
        return f"{self._print(expr.args[0])} = {self._print(expr.args[1])}"

    def _print_Piecewise(self, expr: sp.Piecewise) -> str:
        rows = [f"{self._print(e)} " + (PIECEWISE_WORDS["otherwise"].rstrip() if c == sp.true
                                       else PIECEWISE_WORDS["for"] + self._print(c))
                for e, c in expr.args]
        return "{" + "; ".join(rows) + "}"


def tex(expr: Any, digits: int = 4, numbers: bool = False, places: int | None = None) -> str:
    """LaTeX (math mode content) for a SymPy object, in the project's notation.

    Args:
        expr: what to print.
        digits: decimals shown for inexact numbers (see :func:`shared_places` for matrices).
        numbers: True for a formula with the numbers put in: products get an explicit dot.
        places: the decimals every number shows (numbers set side by side, whose shared
            decimals :func:`shared_places` found); None for the rule of one number.
    """
    if _memo(expr):
        return _printed("latex", expr, digits, numbers, places)
    return _print_now("latex", expr, digits, numbers, places)


def text(expr: Any, digits: int = 4, places: int | None = None) -> str:
    """Plain text for a SymPy object, in the project's notation (arguments as for :func:`tex`)."""
    if _memo(expr):
        return _printed("text", expr, digits, False, places)
    return _print_now("text", expr, digits, False, places)


def _memo(expr: Any) -> bool:
    """Whether a printing is remembered: a formula without decimals (a model's equations, a
    matrix of exact numbers), which an exam prints again for every variant (SymPy's printers
    take milliseconds over a product of matrix symbols)."""
    return isinstance(expr, sp.Basic) and not expr.has(sp.Float)


def _print_now(backend: str, expr: Any, digits: int, numbers: bool, places: int | None) -> str:
    settings: dict[str, Any] = {"digits": digits, "places": places}
    if backend == "text":
        return DlexamTextPrinter(settings).doprint(expr)
    if numbers:
        settings["mul_symbol"] = "dot"
    return DlexamLatexPrinter(settings).doprint(expr)


_printed = lru_cache(maxsize=4096)(_print_now)
