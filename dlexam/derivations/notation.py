"""The project's notation: one symbol table and one printer for LaTeX and for the terminal.

Derivations make symbols with :func:`sym`; the name is a key of :data:`SYMBOLS`, which says how
the symbol is written in LaTeX and in plain text. Changing a symbol's notation is a one-line change
here, never string surgery on printed output.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import sympy as sp
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import PRECEDENCE, precedence
from sympy.printing.str import StrPrinter

# key -> (LaTeX, plain text)
SYMBOLS: dict[str, tuple[str, str]] = {
    # recurrent cells (Olah's notation)
    "x_t": ("x_t", "x_t"),
    "h_t": ("h_t", "h_t"),
    "h_prev": ("h_{t-1}", "h_{t-1}"),
    "C_t": ("C_t", "C_t"),
    "C_prev": ("C_{t-1}", "C_{t-1}"),
    "C_tilde": (r"\tilde{C}_t", "C~_t"),
    "f_t": ("f_t", "f_t"),
    "i_t": ("i_t", "i_t"),
    "o_t": ("o_t", "o_t"),
    "g_t": ("g_t", "g_t"),
    "z_t": ("z_t", "z_t"),
    "r_t": ("r_t", "r_t"),
    "W_f": ("W_f", "W_f"),
    "W_i": ("W_i", "W_i"),
    "W_C": ("W_C", "W_C"),
    "W_o": ("W_o", "W_o"),
    "b_f": ("b_f", "b_f"),
    "b_i": ("b_i", "b_i"),
    "b_C": ("b_C", "b_C"),
    "b_o": ("b_o", "b_o"),
    # simple RNN
    "U": ("U", "U"),
    "W": ("W", "W"),
    "V": ("V", "V"),
    "b": ("b", "b"),
    "c": ("c", "c"),
    "y_t": ("y_t", "y_t"),
    # parameter counts
    "n_units": ("n", "n"),
    "n_in": ("m", "m"),
    "n_gates": ("k", "k"),
    "n_bias": (r"\beta", "beta"),
    "P": ("P", "P"),
    "P_total": (r"P_{\mathrm{total}}", "P_total"),
    "vocab": ("v", "v"),
    "emb_dim": ("d", "d"),
    # attention
    "d_k": ("d_k", "d_k"),
    "Q": ("Q", "Q"),
    "K": ("K", "K"),
    "Z": ("Z", "Z"),
    # information theory
    "H_p": ("H(p)", "H(p)"),
    "H_pq": ("H(p, q)", "H(p, q)"),
    "KL_pq": (r"D_{\mathrm{KL}}(p \,\|\, q)", "KL(p || q)"),
    "KL_qp": (r"D_{\mathrm{KL}}(q \,\|\, p)", "KL(q || p)"),
    "JSD": (r"\mathrm{JSD}(p \,\|\, q)", "JSD(p || q)"),
    "D_star": ("D^{*}(x)", "D*(x)"),
    "beta": (r"\beta", "beta"),
    "g": (r"\mathbf{g}", "g"),
    # --- recurrent derivations (rnn-forward, lstm-*, gru-forward, bptt, clip-gradient) ---
    "a_t": ("a_t", "a_t"),  # hidden pre-activation
    "o_out": ("o_t", "o_t"),  # output pre-activation (Goodfellow et al.'s o^(t))
    "U_T": (r"U^{\top}", "U^T"),
    "V_T": (r"V^{\top}", "V^T"),
    "W_T": (r"W^{\top}", "W^T"),
    "ones": (r"\mathbf{1}", "1"),
    "hx": (r"\left[h_{t-1}, x_t\right]", "[h_{t-1}, x_t]"),
    "hx_stack": (r"\begin{pmatrix} h_{t-1} \\ x_t \end{pmatrix}", "(h_{t-1}; x_t)"),
    "c_t": ("c_t", "c_t"),
    "c_prev": ("c_{t-1}", "c_{t-1}"),
    "st_i": ("i", "i"),  # the stacked notation's gate letters
    "st_f": ("f", "f"),
    "st_o": ("o", "o"),
    "st_g": ("g", "g"),
    "h_tilde": (r"\tilde{h}_t", "h~_t"),
    "W_z": ("W_z", "W_z"),
    "W_r": ("W_r", "W_r"),
    "W_h": ("W_h", "W_h"),
    "U_z": ("U_z", "U_z"),
    "U_r": ("U_r", "U_r"),
    "U_h": ("U_h", "U_h"),
    "b_z": ("b_z", "b_z"),
    "b_r": ("b_r", "b_r"),
    "b_h": ("b_h", "b_h"),
    "b_hn": (r"b_{hn}", "b_hn"),
    "relu": (r"\operatorname{ReLU}", "ReLU"),
    "softmax": (r"\operatorname{softmax}", "softmax"),
    "y": ("y", "y"),
    "J_t": (r"\frac{\partial h_t}{\partial h_{t-1}}", "∂h_t/∂h_{t-1}"),
    "dhT_dhk": (r"\frac{\partial h_T}{\partial h_k}", "∂h_T/∂h_k"),
    "D_t": (r"\operatorname{diag}\left(1 - h_t^{2}\right)", "diag(1 - h_t^2)"),
    "dC_dCprev": (r"\frac{\partial C_t}{\partial C_{t-1}}", "∂C_t/∂C_{t-1}"),
    "diag_f": (r"\operatorname{diag}(f_t)", "diag(f_t)"),
    "sigma_max_W": (r"\sigma_{\max}(W)", "σ_max(W)"),
    "lambda_max_WTW": (r"\lambda_{\max}\left(W^{\top} W\right)", "λ_max(W^T W)"),
    "gamma": (r"\gamma", "γ"),
    "bound_k": ("B_k", "B_k"),
    "T_len": ("T", "T"),
    "k_idx": ("k", "k"),
    "norm_g": (r"\lVert \mathbf{g} \rVert", "||g||"),
    "g_clipped": (r"\hat{\mathbf{g}}", "g^"),
    "norm_g_clipped": (r"\lVert \hat{\mathbf{g}} \rVert", "||g^||"),
    # --- end recurrent ---
    # --- attention, transformer, information theory, GAN ---
    # attention (Q3, Q6): row vectors, Q = X W^Q
    "X": ("X", "X"),
    "W_Q": ("W^{Q}", "W^Q"),
    "W_K": ("W^{K}", "W^K"),
    "W_V": ("W^{V}", "W^V"),
    "W_O": ("W^{O}", "W^O"),
    "V_att": ("V", "V"),
    "K_T": (r"K^{\top}", "K^T"),
    "S_att": ("S", "S"),
    "S_hat": (r"\hat{S}", "Ŝ"),  # the scaled scores S / sqrt(d_k)
    "s_hat": (r"\hat{s}", "ŝ"),  # an entry of S_hat (with sym_sub)
    "A_att": ("A", "A"),
    "M_mask": ("M", "M"),
    "C_ctx": ("C", "C"),
    "H_states": ("H", "H"),
    "C_i": ("C_i", "C_i"),
    "a_ij": ("a_{ij}", "a_ij"),
    "h_j": ("h_j", "h_j"),
    "n_states": ("n", "n"),
    "Z_cat": (r"Z_{\mathrm{cat}}", "Z_cat"),
    # transformer
    "MH": (r"\mathrm{MultiHead}(X)", "MultiHead(X)"),
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
    "W_1ffn": ("W_1", "W_1"),
    "W_2ffn": ("W_2", "W_2"),
    "b_1ffn": ("b_1", "b_1"),
    "b_2ffn": ("b_2", "b_2"),
    "mu_ln": (r"\mu", "mu"),
    "var_ln": (r"\sigma^{2}", "sigma^2"),
    "eps_ln": (r"\varepsilon", "eps"),
    "gamma_ln": (r"\gamma", "gamma"),
    "beta_ln": (r"\beta", "beta"),
    "x_row": ("x", "x"),
    # information theory
    "H_q": ("H(q)", "H(q)"),
    "KL_pm": (r"D_{\mathrm{KL}}(p \,\|\, m)", "KL(p || m)"),
    "KL_qm": (r"D_{\mathrm{KL}}(q \,\|\, m)", "KL(q || m)"),
    "L_ce": ("L", "L"),
    "z_i": ("z_i", "z_i"),
    "y_i": ("y_i", "y_i"),
    "p_i": ("p_i", "p_i"),
    "p_vec": ("p", "p"),
    "z_vec": ("z", "z"),
    "q_vec": ("q", "q"),
    "y_vec": ("y", "y"),
    "m_mix": ("m", "m"),
    "sum_exp": (r"\sum_{k} e^{z_k}", "Σ_k exp(z_k)"),
    "rest_exp": (r"\sum_{j \ne i} e^{z_j}", "Σ_{j≠i} exp(z_j)"),
    "rest_y": (r"\sum_{j \ne i} y_j", "Σ_{j≠i} y_j"),
    "rest_yz": (r"\sum_{j \ne i} y_j z_j", "Σ_{j≠i} y_j z_j"),
    "grad_z": (r"\nabla_{z} L", "∇_z L"),
    "dL_dz": (r"\frac{\partial L}{\partial z_i}", "∂L/∂z_i"),
    # GAN
    "V_DG": ("V(D, G)", "V(D, G)"),
    "C_G": ("C(G)", "C(G)"),
    "L_D": ("L_D", "L_D"),
    "L_G_mm": (r"L_G^{\mathrm{minimax}}", "L_G^minimax"),
    "L_G_ns": (r"L_G^{\mathrm{non\text{-}sat}}", "L_G^non-sat"),
    "gan_a": ("a", "a"),
    "gan_b": ("b", "b"),
    "gan_y": ("y", "y"),
    "gan_s": ("s", "s"),
    "f_y": ("f(y)", "f(y)"),
    "f_prime": ("f'(y)", "f'(y)"),
    "f_second": ("f''(y)", "f''(y)"),
    "y_star": ("y^{*}", "y*"),
    "p_data": (r"p_{\mathrm{data}}", "p_data"),
    "p_g": ("p_g", "p_g"),
    "p_z": ("p_z", "p_z"),  # the generator's noise distribution
    "JSD_gan": (r"\mathrm{JSD}(p_{\mathrm{data}} \,\|\, p_g)", "JSD(p_data || p_g)"),
    "KL_dm": (r"D_{\mathrm{KL}}(p_{\mathrm{data}} \,\|\, m)", "KL(p_data || m)"),
    "KL_gm": (r"D_{\mathrm{KL}}(p_g \,\|\, m)", "KL(p_g || m)"),
    "V_real": (r"\mathrm{E}_{x}[\log D(x)]", "E_x[log D(x)]"),
    "V_fake": (r"\mathrm{E}_{z}[\log(1 - D(G(z)))]", "E_z[log(1 - D(G(z)))]"),
    "C_G_equal": (r"C(G)\big|_{p_g = p_{\mathrm{data}}}", "C(G)|_(p_g = p_data)"),
    # --- end attention ---
    # operators named in prose
    "sigma": (r"\sigma", "σ"),
    "tanh": (r"\tanh", "tanh"),
    "odot": (r"\odot", "⊙"),
}


def sym(key: str, **assumptions: Any) -> sp.Symbol:
    """The project's symbol for ``key`` (a key of :data:`SYMBOLS`).

    Raises:
        KeyError: the key is not in the table (a bug: add it to SYMBOLS).
    """
    if key not in SYMBOLS:
        raise KeyError(f"symbol {key!r} is not in the notation table")
    return sp.Symbol(key, **assumptions)


def sym_sub(key: str, *indices: int, **assumptions: Any) -> sp.Symbol:
    """The table's symbol for ``key`` with a subscript: ``sym_sub("S_hat", 1)`` is Ŝ_1 and
    ``sym_sub("s_hat", 1, 2)`` is ŝ_12 (ŝ_{1,12} once an index has two digits).

    Raises:
        KeyError: the key is not in the table (a bug: add it to SYMBOLS).
    """
    if key not in SYMBOLS:
        raise KeyError(f"symbol {key!r} is not in the notation table")
    sep = "," if any(k >= 10 for k in indices) else ""
    return sp.Symbol(f"{key}[{sep.join(str(k) for k in indices)}]", **assumptions)


def _table_form(name: str, form: int) -> str | None:
    """How a symbol named by :func:`sym` or :func:`sym_sub` is written (None: not ours)."""
    entry = SYMBOLS.get(name)
    if entry is not None:
        return entry[form]
    key, bracket, index = name.partition("[")
    if not bracket or not index.endswith("]") or key not in SYMBOLS:
        return None
    base, index = SYMBOLS[key][form], index[:-1]
    if form == 0:
        return f"{{{base}}}_{{{index}}}" if "_" in base else f"{base}_{{{index}}}"
    return f"{base}_{index}"


class Notation(sp.Function):
    """A function that is only notation: SymPy never evaluates it on construction (subclasses
    say how it prints, and may define ``doit``)."""

    @classmethod
    def eval(cls, *args: Any) -> None:
        return None


class Operator(Notation):
    """A named operator that stays unevaluated and prints as ``name(args)`` (softmax, ReLU)."""

    name: ClassVar[str] = "op"

    def _latex(self, printer: Any, exp: Any = None) -> str:
        args = ", ".join(printer._print(a) for a in self.args)
        return rf"\operatorname{{{self.name}}}\left({args}\right)"

    def _sympystr(self, printer: Any) -> str:
        return f"{self.name}(" + ", ".join(printer._print(a) for a in self.args) + ")"


class Ratio(Notation):
    """x / y as written (0.36 / 0.3333, 2 i / d_model), a fraction that stays unevaluated in a
    formula; ``doit`` divides. A ratio inside a ratio is written with a slash."""

    precedence = PRECEDENCE["Mul"]  # parenthesised as an exponent: 10000^(2*i/d_model)


    def doit(self, **hints: Any) -> sp.Basic:
        x, y = (a.doit(**hints) if hints.get("deep", True) else a for a in self.args)
        return x / y

    def _latex(self, printer: Any, exp: Any = None) -> str:
        x, y = (Slash(*a.args) if type(a) is Ratio else a for a in self.args)
        return rf"\frac{{{printer._print(x)}}}{{{printer._print(y)}}}"

    def _sympystr(self, printer: Any) -> str:
        # a product on top needs no parentheses (2 i / d), one below does, a ratio either way
        x, y = (printer._print(a) if a.is_Number else
                printer.parenthesize(a, PRECEDENCE["Mul"], strict=not isinstance(a, Ratio)
                                     and k == 0)
                for k, a in enumerate(self.args))
        return f"{x}/{y}"


class Slash(Ratio):
    """x / y written on one line (an exponent, a fraction inside a fraction): 2 i / d_model."""

    def _latex(self, printer: Any, exp: Any = None) -> str:
        return self._sympystr(printer)


class Stack(sp.Basic):
    """Expressions stacked in a column and read line by line: a group of equations written as
    one, ``[(h_1, C_1); (h_2, C_2)] = [LSTM(x_1, h_0, C_0); LSTM(x_2, h_1, C_1)]``."""

    def _latex(self, printer: Any) -> str:
        rows = r" \\ ".join(printer._print(a) for a in self.args)
        return rf"\left[\begin{{matrix}}{rows}\end{{matrix}}\right]"

    def _sympystr(self, printer: Any) -> str:
        return "[" + "; ".join(printer._print(a) for a in self.args) + "]"


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


def _terminating(q: sp.Rational) -> bool:
    d = int(q.q)
    for p in (2, 5):
        while d % p == 0:
            d //= p
    return d == 1


def _decimal_text(value: sp.Basic, digits: int) -> str:
    """A number shown with at most ``digits`` decimals, trailing zeros dropped."""
    if value.is_Rational and _terminating(value) and len(str(value.q)) <= digits + 1:
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


def is_exact_short(value: sp.Basic, digits: int = 4) -> bool:
    """True when ``value`` prints exactly with at most ``digits`` decimals."""
    if not isinstance(value, sp.Basic) or not value.is_Rational:
        return False
    if not _terminating(value):
        return False
    places = 0
    while (value * 10**places).q != 1:
        places += 1
    return places <= digits


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


class _ProjectNotation:
    """What both printers share: the symbol table, short decimals, authored term order.

    ``FORM`` picks the column of :data:`SYMBOLS` (0 for LaTeX, 1 for plain text) and ``TIMES``
    is how a decimal coefficient joins the rest of a product.
    """

    FORM = 0
    _settings: dict[str, Any]

    def _times(self, body: str) -> str:
        raise NotImplementedError

    _in_matrix = 0  # > 0 while the entries of a matrix are printed

    def _sci(self, mantissa: str, exponent: int) -> str:
        raise NotImplementedError

    def _number(self, expr: sp.Basic) -> str:
        """A number with at most ``digits`` decimals; outside a matrix (whose entries share
        their decimals) a small non-zero number keeps two significant digits instead of 0."""
        digits = self._settings["digits"]
        if (self._in_matrix or self._settings["fixed"]) and expr.is_Float:
            # the inexact entries of one matrix all show the same number of decimals
            fixed = f"{float(expr):.{digits}f}"
            return fixed.lstrip("-") if float(fixed) == 0 else fixed
        shown = _decimal_text(expr, digits)
        if shown != "0" or expr.is_zero or self._in_matrix:
            return shown
        f = float(expr.evalf(17))
        if abs(f) >= 1e-9:
            places = 1 - math.floor(math.log10(abs(f)))
            return f"{f:.{places}f}".rstrip("0").rstrip(".")
        mantissa, exponent = f"{f:.1e}".split("e")
        return self._sci(mantissa.rstrip("0").rstrip("."), int(exponent))

    def _print_Rational(self, expr: sp.Rational) -> str:
        if expr.is_Integer:
            return str(int(expr))
        return self._number(expr)

    _print_Integer = _print_Rational

    def _print_Float(self, expr: sp.Float) -> str:
        return self._number(expr)

    def _print_Add(self, expr: sp.Add, order: str | None = None) -> str:
        flat = _flat_args(expr, sp.Add)
        if len(flat) != len(expr.args):
            expr = sp.Add(*flat, evaluate=False)
        return super()._print_Add(expr, order=order)  # type: ignore[misc]

    def _print_Mul(self, expr: sp.Mul) -> str:
        flat = _flat_args(expr, sp.Mul)
        if len(flat) != len(expr.args):
            expr = sp.Mul(*flat, evaluate=False)
        lead = _decimal_lead(expr, self._settings["digits"])
        if lead is not None:
            coeff, rest = lead
            body = self.parenthesize(rest, PRECEDENCE["Mul"], strict=True)  # type: ignore[attr-defined]
            sign = ("- " if self.FORM == 0 else "-") if coeff < 0 else ""
            return sign + self._print(abs(coeff)) + self._times(body)  # type: ignore[attr-defined]
        if self.FORM == 0:
            expr = _opaque_powers(expr)
        return super()._print_Mul(expr)  # type: ignore[misc]

    def _print_UnevaluatedExpr(self, expr: sp.UnevaluatedExpr) -> str:
        return self._print(expr.args[0])  # type: ignore[attr-defined]

    def _print_HadamardProduct(self, expr: sp.HadamardProduct) -> str:
        # the element-wise product in the table's notation (odot), not SymPy's \circ
        prec = PRECEDENCE["Mul"]
        return f" {SYMBOLS['odot'][self.FORM]} ".join(
            self.parenthesize(a, prec, strict=True) for a in expr.args  # type: ignore[attr-defined]
        )


class DlexamLatexPrinter(_ProjectNotation, LatexPrinter):
    """SymPy's LaTeX printer with the project's symbols, authored term order and short decimals."""

    FORM = 0
    _default_settings: dict[str, Any] = {
        **LatexPrinter._default_settings, "digits": 4, "fixed": False
    }

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        merged = {"order": "none", **(settings or {})}
        super().__init__(merged)

    def _times(self, body: str) -> str:
        # a dot between two written numbers (0.5 \cdot 2), as SymPy's own rule does
        key = "mul_symbol_latex_numbers" if body[:1].isdigit() else "mul_symbol_latex"
        return self._settings[key] + body

    def _sci(self, mantissa: str, exponent: int) -> str:
        return rf"{mantissa} \cdot 10^{{{exponent}}}"

    def _print_Symbol(self, expr: sp.Symbol, style: str = "plain") -> str:
        form = _table_form(expr.name, 0)
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
        self._in_matrix += 1
        try:
            lines = [[self._print(x) for x in expr.row(i)] for i in range(expr.rows)]
        finally:
            self._in_matrix -= 1
        env = "matrix" if expr.cols <= 10 else "array"
        spec = "{" + "c" * expr.cols + "}" if env == "array" else ""
        if any(r"\frac" in x for line in lines for x in line):
            rows = [" & ".join(rf"\displaystyle {x}" for x in line) for line in lines]
            body = r"\\[1ex]".join(rows)
        else:
            body = r"\\".join(" & ".join(line) for line in lines)
        return rf"\begin{{{env}}}{spec}{body}\end{{{env}}}"


class DlexamTextPrinter(_ProjectNotation, StrPrinter):
    """The terminal twin of :class:`DlexamLatexPrinter`."""

    FORM = 1
    _default_settings: dict[str, Any] = {
        **StrPrinter._default_settings, "digits": 4, "fixed": False
    }

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        merged = {"order": "none", **(settings or {})}
        super().__init__(merged)

    def _times(self, body: str) -> str:
        return "*" + body

    def _sci(self, mantissa: str, exponent: int) -> str:
        return f"{mantissa}e{exponent}"

    def _print_Symbol(self, expr: sp.Symbol) -> str:
        form = _table_form(expr.name, 1)
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
        self._in_matrix += 1
        try:
            rows = ["[" + ", ".join(self._print(x) for x in expr.row(i)) + "]"
                    for i in range(expr.rows)]
        finally:
            self._in_matrix -= 1
        return "[" + ", ".join(rows) + "]"

    _print_ImmutableDenseMatrix = _print_MatrixBase
    _print_MutableDenseMatrix = _print_MatrixBase


def tex(expr: Any, digits: int = 4, numbers: bool = False, fixed: bool = False) -> str:
    """LaTeX (math mode content) for a SymPy object, in the project's notation.

    Args:
        expr: what to print.
        digits: decimals shown for inexact numbers.
        numbers: True for a formula with the numbers put in: products get an explicit dot.
        fixed: inexact numbers keep all ``digits`` decimals (as they do inside a matrix), for
            numbers shown side by side.
    """
    settings: dict[str, Any] = {"digits": digits, "fixed": fixed}
    if numbers:
        settings["mul_symbol"] = "dot"
    return DlexamLatexPrinter(settings).doprint(expr)


def text(expr: Any, digits: int = 4) -> str:
    """Plain text for a SymPy object, in the project's notation."""
    return DlexamTextPrinter({"digits": digits}).doprint(expr)
