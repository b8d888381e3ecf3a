"""Activation functions: the value, the derivative (for softmax its Jacobian) and the
saturation, the derivative relative to its largest value ("how much slower does it learn").

Conventions (named in the steps): ReLU'(0) = 0 and LeakyReLU'(0) = ELU'(0) = alpha, as PyTorch's
and TensorFlow's gradients take them (ReLU is not differentiable at 0; some texts take 1 or 1/2);
``leaky_relu``'s alpha defaults to 0.01 (PyTorch's ``negative_slope``; Keras 3's LeakyReLU
defaults to 0.3), ``elu``'s to 1; ``gelu`` is exact, x Phi(x) with the normal CDF written through
erf, unless ``approximate=tanh`` (PyTorch's ``approximate`` argument, default ``none``): the other
form's value is reported beside it. Values stay exact (sigma(1/2) = 1 / (1 + e^(-1/2))).
"""

from __future__ import annotations

from functools import cache
from typing import Any

import mpmath
import sympy as sp

from dlexam.derivations.contract import Answer, Mistake, with_params
from dlexam.derivations.core import Result, Step, derivation, row_of, terms_of
from dlexam.derivations.forms import Operator, Ratio, as_written, row_vector
from dlexam.derivations.heads import Is
from dlexam.derivations.params import Param, bind_dims
from dlexam.derivations.sampling import Draw
from dlexam.errors import InputError, Said
from dlexam.notation import register_symbols, sym
from dlexam.notation.display import plain_number

register_symbols({
    "act_alpha": (r"\alpha", "α"),
    "act_sat": ("s(x)", "s(x)"),
    "act_max": (r"\max f'", "max f'"),
    "act_p": ("p", "p"),
    "act_J": ("J", "J"),
    "act_sum": (r"\sum_{j} e^{x_j}", "Σ_j exp(x_j)"),
    "act_c": ("0.044715", "0.044715"),  # the cubic coefficient of GELU's tanh form
})

NAMES = ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "gelu", "softplus", "softmax")
ALPHA_DEFAULT = {"leaky_relu": sp.Rational(1, 100), "elu": sp.Integer(1)}
GELU_FORMS = ("none", "tanh")
X_MAX = 20
"""The largest input in size: every value and slope then stays within a double's range (GELU's
tanh form at -20 is about -1e-260), and each activation is long flat or linear there."""
GELU_C = sp.Rational(44715, 1000000)  # the cubic coefficient of the tanh approximation


class Sigmoid(Operator):
    """The logistic function, written sigma(x)."""

    name = "sigma"


class ReLU(Operator):
    name = "ReLU"


class LeakyReLU(Operator):
    name = "LeakyReLU"


class ELU(Operator):
    name = "ELU"


class GELU(Operator):
    name = "GELU"


class Softplus(Operator):
    name = "softplus"


class Softmax(Operator):
    name = "softmax"


_OPERATOR = {"sigmoid": Sigmoid, "tanh": sp.tanh, "relu": ReLU, "leaky_relu": LeakyReLU,
             "elu": ELU, "gelu": GELU, "softplus": Softplus, "softmax": Softmax}


def _sigma(x: sp.Basic) -> sp.Basic:
    return 1 / (1 + sp.exp(-x))


def _gelu_tanh_inner(x: sp.Basic) -> sp.Basic:
    return sp.sqrt(2 / sp.pi) * (x + GELU_C * x**3)


def _value(name: str, x: sp.Basic, alpha: sp.Basic, approximate: str) -> sp.Basic:
    """f(x), exactly."""
    if name == "sigmoid":
        return _sigma(x)
    if name == "tanh":
        return sp.tanh(x)
    if name == "softplus":
        return sp.log(1 + sp.exp(x))
    if name == "gelu":
        # 1 + tanh(u) = 2 / (1 + e^(-2u)) and 1 + erf(z) = erfc(-z): the same numbers, without
        # the cancellation that costs thousands of digits for a large negative input
        if approximate == "tanh":
            return x / (1 + sp.exp(-2 * _gelu_tanh_inner(x)))
        return x * sp.erfc(-x / sp.sqrt(2)) / 2
    if x > 0:
        return x
    if name == "relu":
        return sp.Integer(0)
    if name == "leaky_relu":
        return alpha * x
    return alpha * (sp.exp(x) - 1)  # elu


def _slope(name: str, x: sp.Basic, alpha: sp.Basic, approximate: str) -> sp.Basic:
    """f'(x), exactly (at 0 the frameworks' one-sided choice for the piecewise ones)."""
    # sigma (1 - sigma) = e^(-x) / (1 + e^(-x))^2 and 1 - tanh^2 = 1 / cosh^2, as above
    if name == "sigmoid":
        return sp.exp(-x) / (1 + sp.exp(-x)) ** 2
    if name == "tanh":
        return 1 / sp.cosh(x) ** 2
    if name == "softplus":
        return _sigma(x)
    if name == "gelu":
        if approximate == "tanh":
            u = _gelu_tanh_inner(x)
            return (1 / (1 + sp.exp(-2 * u)) + x * sp.sqrt(2 / sp.pi)
                    * (1 + 3 * GELU_C * x**2) / (2 * sp.cosh(u) ** 2))
        return sp.erfc(-x / sp.sqrt(2)) / 2 + x * sp.exp(-x**2 / 2) / sp.sqrt(2 * sp.pi)
    if x > 0:
        return sp.Integer(1)
    if name == "relu":
        return sp.Integer(0)
    if name == "leaky_relu":
        return alpha
    return alpha * sp.exp(x)  # elu


@cache
def _gelu_tanh_peak() -> tuple[sp.Float, sp.Float]:
    """Where the tanh approximation's derivative peaks, and its value there (30 digits)."""
    x = sp.Symbol("x", real=True)
    slope = _slope("gelu", x, sp.Integer(0), "tanh")
    with mpmath.workdps(40):
        curve = sp.lambdify(x, sp.diff(slope, x), "mpmath")
        at = mpmath.findroot(curve, mpmath.mpf("1.5"))
        top = sp.lambdify(x, slope, "mpmath")(at)
        return sp.Float(str(at), 30), sp.Float(str(top), 30)


def _peak(name: str, alpha: sp.Basic, approximate: str) -> tuple[sp.Basic, str]:
    """The largest value of f'(x) (its supremum) and where it is reached, as a catalog word."""
    if name == "sigmoid":
        return sp.Rational(1, 4), "zero"
    if name in ("tanh", "relu"):
        return sp.Integer(1), "zero" if name == "tanh" else "positive"
    if name == "softplus":
        return sp.Integer(1), "infinity"
    if name in ("leaky_relu", "elu"):
        if alpha > 1:
            return alpha, "negative" if name == "leaky_relu" else "zero_left"
        return sp.Integer(1), "positive"
    if name == "gelu":
        if approximate == "tanh":
            return _gelu_tanh_peak()[1], "gelu_tanh"
        # f''(x) = phi(x) (2 - x^2) vanishes at sqrt(2): Phi(sqrt 2) + sqrt(2) phi(sqrt 2)
        return (1 + sp.erf(1)) / 2 + sp.exp(-1) / sp.sqrt(sp.pi), "sqrt2"
    return sp.Rational(1, 4), "softmax"


# --- the formulas as written -----------------------------------------------------------------


def _inner_formula(x: sp.Basic) -> sp.Basic:
    """u = sqrt(2/pi) (x + 0.044715 x^3), the tanh approximation's argument, as written."""
    with sp.evaluate(False):
        return sp.Mul(sp.sqrt(sp.Mul(2, sp.Pow(sp.pi, -1))),
                      sp.Add(x, sp.Mul(sym("act_c"), sp.Pow(x, 3))))


def _inner_slope_formula(x: sp.Basic) -> sp.Basic:
    """du/dx = sqrt(2/pi) (1 + 3 * 0.044715 x^2), as written."""
    with sp.evaluate(False):
        return sp.Mul(sp.sqrt(sp.Mul(2, sp.Pow(sp.pi, -1))),
                      sp.Add(1, sp.Mul(3, sym("act_c"), sp.Pow(x, 2))))


def _value_formula(name: str, x: sp.Basic, positive: bool, approximate: str,
                   nx: sp.Basic | None = None, a: sp.Basic | None = None,
                   u: sp.Basic | None = None) -> sp.Basic:
    """The definition of f(x) as written (the branch that applies for the piecewise ones);
    with numbers, ``nx`` is -x and ``a`` alpha, as written."""
    a = sym("act_alpha") if a is None else a
    with sp.evaluate(False):
        nx = sp.Mul(-1, x) if nx is None else nx
        if name == "sigmoid":
            return sp.Pow(sp.Add(1, sp.exp(nx)), -1)
        if name == "tanh":
            return sp.Mul(sp.Add(sp.exp(x), sp.Mul(-1, sp.exp(nx))),
                          sp.Pow(sp.Add(sp.exp(x), sp.exp(nx)), -1))
        if name == "softplus":
            return sp.log(sp.Add(1, sp.exp(x)))
        if name == "gelu":
            if approximate == "tanh":
                inner = _inner_formula(x) if u is None else u
                return sp.Mul(x, sp.Mul(sp.Add(1, sp.tanh(inner)), sp.Pow(2, -1)))
            return sp.Mul(x, sp.Mul(sp.Add(1, sp.erf(sp.Mul(x, sp.Pow(sp.sqrt(2), -1)))),
                                    sp.Pow(2, -1)))
        if name == "relu":
            return sp.Max(0, x)
        if positive:
            return x
        if name == "leaky_relu":
            return sp.Mul(a, x)
        return sp.Mul(a, sp.Add(sp.exp(x), -1))


def _slope_formula(name: str, x: sp.Basic, f: sp.Basic, sign: int, approximate: str,
                   mistake: str | None, nx: sp.Basic | None = None,
                   a: sp.Basic | None = None, u: sp.Basic | None = None,
                   du: sp.Basic | None = None) -> sp.Basic:
    """f'(x) as written: through f(x) where the textbooks write it so (sigma(1 - sigma),
    1 - tanh^2), else in x; ``sign`` is that of x for the piecewise ones. With numbers, ``nx``
    is -x and ``a`` alpha, as written."""
    a = sym("act_alpha") if a is None else a
    with sp.evaluate(False):
        nx = sp.Mul(-1, x) if nx is None else nx
        if name == "sigmoid":
            if mistake == "sigmoid-derivative-as-sigmoid":
                return f
            return sp.Mul(f, sp.Add(1, sp.Mul(-1, f)))
        if name == "tanh":
            if mistake == "tanh-derivative-unsquared":
                return sp.Add(1, sp.Mul(-1, f))
            return sp.Add(1, sp.Mul(-1, sp.Pow(f, 2)))
        if name == "softplus":
            return sp.Pow(sp.Add(1, sp.exp(nx)), -1)
        if name == "gelu":
            if approximate == "tanh":
                u = _inner_formula(x) if u is None else u
                du = _inner_slope_formula(x) if du is None else du
                return sp.Add(
                    sp.Mul(sp.Add(1, sp.tanh(u)), sp.Pow(2, -1)),
                    sp.Mul(x, sp.Add(1, sp.Mul(-1, sp.Pow(sp.tanh(u), 2))), du,
                           sp.Pow(2, -1)))
            return sp.Add(
                sp.Mul(sp.Add(1, sp.erf(sp.Mul(x, sp.Pow(sp.sqrt(2), -1)))), sp.Pow(2, -1)),
                sp.Mul(x, sp.exp(sp.Mul(-1, sp.Pow(x, 2), sp.Pow(2, -1))),
                       sp.Pow(sp.sqrt(sp.Mul(2, sp.pi)), -1)))
        if sign > 0 or (sign == 0 and mistake == "relu-derivative-one-at-zero"):
            return sp.Integer(1)
        if name == "relu":
            return sp.Integer(0)
        if name == "leaky_relu":
            return a
        return sp.Mul(a, sp.exp(x))


# --- parameters, sampler, statement ----------------------------------------------------------

ACTIVATION_PARAMS = [
    Param("name", "choice", choices=NAMES),
    Param("x", "array", shapes=((), ("n",))),
    Param("alpha", "number", default=None),
    Param("approximate", "choice", default="none", choices=GELU_FORMS),
]


def _entries(raw: Any) -> list[Any]:
    return list(raw) if isinstance(raw, list) else [raw]


def _has_zero(params: Any) -> bool:
    return params["name"] in ("relu", "leaky_relu") and any(v == 0 for v in
                                                          _entries(params["x"]))


def sample_activation(draw: Draw, fixed: dict[str, Any]) -> dict[str, Any]:
    """One activation, one to four one-decimal inputs from -3 to 3 (two to four for softmax),
    ReLU-like inputs holding a 0 one time in two (where the convention at 0 matters); an alpha
    drawn one time in two where it applies, GELU's tanh form one time in three."""
    name = fixed.get("name", draw.choice(NAMES))
    dims = bind_dims(ACTIVATION_PARAMS, {k: v for k, v in fixed.items() if k == "x"})
    n = dims.get("n", draw.integer(2, 4) if name == "softmax" else draw.choice((1, 2, 3, 3, 4)))
    smooth_nonzero = name in ("sigmoid", "tanh")
    values = draw.array((n,), -3, 3, 1, nonzero=smooth_nonzero)
    if name in ("relu", "leaky_relu", "elu"):
        # both sides of 0, so that both branches show
        values[0] = draw.decimal(-3, -0.1, 1)
        if n > 1:
            values[-1] = draw.decimal(0.1, 3, 1)
        if name != "elu" and draw.chance(0.5):
            values[draw.integer(0, n - 1)] = 0
    out: dict[str, Any] = {"name": name, "x": values if n > 1 or name == "softmax"
                           else values[0], "approximate": "none"}
    if name in ALPHA_DEFAULT and draw.chance(0.5):
        out["alpha"] = draw.choice((0.1, 0.2, 0.3) if name == "leaky_relu" else (0.5, 1.5, 2))
    if name == "gelu" and draw.chance(1 / 3):
        out["approximate"] = "tanh"
    out.update(fixed)
    return out


def _definition(name: str, alpha: sp.Basic, approximate: str) -> sp.Basic:
    """f(x) = its definition, for the statement (piecewise ones through their parts)."""
    x = sp.Symbol("x")
    a = alpha
    with sp.evaluate(False):
        if name == "relu":
            body = sp.Max(0, x)
        elif name == "leaky_relu":
            body = sp.Max(x, sp.Mul(a, x))
        elif name == "elu":
            body = sp.Piecewise((x, sp.StrictGreaterThan(x, 0)),
                                (sp.Mul(a, sp.Add(sp.exp(x), -1)), True))
        elif name == "softmax":
            body = sp.Mul(sp.exp(sp.Symbol("x_i")), sp.Pow(sym("act_sum"), -1))
        else:
            body = _value_formula(name, x, True, approximate)
    lhs = (_OPERATOR[name](sp.Symbol("x")) if name != "softmax"
           else sp.Symbol("p_i"))
    return Is(lhs, body)


def _activation_question(values: dict[str, Any]) -> dict[str, Any]:
    name = values["name"]
    x = values["x"]
    alpha = values["alpha"] if values["alpha"] is not None else ALPHA_DEFAULT.get(name, 0)
    out: dict[str, Any] = {
        "x": row_vector(list(x)) if isinstance(x, sp.MatrixBase) else x,
        "definition": _definition(name, alpha, values["approximate"]),
    }
    if name == "softmax":
        out["statement"] = "softmax"
    return out


def _check(name: str, x: Any, alpha: Any, approximate: str) -> list[sp.Basic]:
    if alpha is not None and name not in ALPHA_DEFAULT:
        raise InputError("alpha", Said("activations.errors.no_alpha"),
                         Said("activations.errors.with_name", given="alpha", name=name))
    if alpha is not None and alpha <= 0:
        raise InputError("alpha", Said("inputs.positive"), str(alpha))
    if approximate != "none" and name != "gelu":
        raise InputError("approximate", Said("activations.errors.approximate"),
                         Said("activations.errors.with_name", given=f"approximate={approximate}",
                              name=name))
    entries = list(x) if isinstance(x, sp.MatrixBase) else [x]
    for i, v in enumerate(entries, start=1):
        if v > X_MAX or v < -X_MAX:
            raise InputError("x", Said("activations.errors.range", high=X_MAX),
                             Said("inputs.value_at", value=plain_number(v, "echo"), index=i))
    if name == "softmax" and len(entries) < 2:
        raise InputError("x", Said("activations.errors.softmax"), Said("inputs.one_number"))
    return entries


@derivation(
    "activation",
    params=ACTIVATION_PARAMS,
    limits={"n": 8},
    answers=[
        Answer("value", "vectors", shapes=((), ("n",))),
        Answer("derivative", "vectors", shapes=((), ("n",), ("n", "n"))),
        Answer("saturation", "vectors", shapes=((), ("n",))),
    ],
    mistakes=[
        Mistake("sigmoid-derivative-as-sigmoid", changes=("derivative", "saturation"),
                formula=True, applies=lambda p: p["name"] == "sigmoid"),
        Mistake("tanh-derivative-unsquared", changes=("derivative", "saturation"),
                formula=True, applies=lambda p: p["name"] == "tanh"),
        Mistake("relu-derivative-one-at-zero", changes=("derivative", "saturation"),
                formula=True, applies=_has_zero),
        Mistake("softmax-jacobian-diagonal", changes=("derivative",), formula=True,
                applies=lambda p: p["name"] == "softmax"),
        # leaky ReLU taken for ReLU: the negative slope alpha left out (0 below 0)
        Mistake("leaky-as-relu", changes=("value", "derivative", "saturation"),
                params=with_params(name="relu", alpha=None),
                applies=lambda p: p["name"] == "leaky_relu" and any(
                    v < 0 for v in _entries(p["x"]))),
    ],
    sampler=sample_activation,
    question=_activation_question,
)
def activation(name: str, x: Any, alpha: Any, approximate: str,
               mistake: str | None = None) -> Result:
    """An activation's value, derivative and saturation at each input.

    Args:
        name: sigmoid, tanh, relu, leaky_relu, elu, gelu, softplus or softmax.
        x: one number or a list (softmax: a list of at least 2, one vector).
        alpha: leaky_relu's negative slope (default 0.01) or elu's scale (default 1).
        approximate: gelu's form: ``none`` (exact, x Phi(x)) or ``tanh``.
        mistake: ``sigmoid-derivative-as-sigmoid``, ``tanh-derivative-unsquared``,
            ``relu-derivative-one-at-zero`` (the right-hand slope 1 taken at 0) or
            ``softmax-jacobian-diagonal`` (the off-diagonal entries left out).

    Raises:
        InputError: alpha or approximate where the activation takes none; softmax of one
            number.
    """
    entries = _check(name, x, alpha, approximate)
    vector = isinstance(x, sp.MatrixBase)
    a = alpha if alpha is not None else ALPHA_DEFAULT.get(name, sp.Integer(0))
    n = len(entries)
    form = "_tanh" if name == "gelu" and approximate == "tanh" else ""
    steps: list[Step] = [Step(key=f"activation.given_{name}{form}",
                              data={"n": n, "alpha": a, "form": approximate,
                                    "definition": _definition(name, a, approximate)})]
    peak, where = _peak(name, a, approximate)
    if name == "softmax":
        steps_sm, values, slopes, sats = _softmax(entries, mistake)
        steps += steps_sm
        steps.append(Step(key="activation.peak_softmax", lhs=sym("act_max"), symbolic=peak))
        return Result(convention=None, steps=tuple(steps),
                      answers={"value": values, "derivative": slopes, "saturation": sats})
    values, slopes = [], []
    op = _OPERATOR[name]
    for i, xv in enumerate(entries, start=1):
        more, value, slope = _entry_steps(name, i, xv, n, vector, a, approximate, mistake)
        steps += more
        values.append(value)
        slopes.append(slope)
    steps.append(Step(key=f"activation.peak_{where}", lhs=sym("act_max"), symbolic=peak,
                      value=peak,
                      data={"alpha": a, "at": _gelu_tanh_peak()[0] if where == "gelu_tanh"
                            else sp.sqrt(2)}))
    sats = [s / peak for s in slopes]
    shown_slopes, shown_peak = [as_written(s) for s in slopes], as_written(peak)
    general = Ratio(sp.Symbol("f'(x)"), sym("act_max"))
    written = row_vector([Ratio(s, shown_peak) for s in shown_slopes])
    steps.append(Step(key="activation.saturation", lhs=sym("act_sat"), symbolic=general,
                      substituted=written if vector else written[0],
                      value=row_vector(sats) if vector else sats[0],
                      data={"n": n}, elidable=terms_of(n, substituted=None) if vector else None))
    pick = (lambda v: v) if vector else (lambda v: v[0])
    info: dict[str, Any] = {}
    if name == "gelu":
        other = "tanh" if approximate == "none" else "none"
        others = [_value(name, v, a, other) for v in entries]
        shown = [as_written(v) for v in others]
        steps.append(Step(key=f"activation.gelu_other_{other}", lhs=op(sp.Symbol("x")),
                          symbolic=row_vector(shown) if vector else shown[0]))
        info = {"approximate_other": other, "value_other": pick(others)}
    return Result(convention=approximate if name == "gelu" else None, steps=tuple(steps),
                  answers={"value": pick(values), "derivative": pick(slopes),
                           "saturation": pick(sats)}, info=info)


def _entry_steps(name: str, i: int, xv: sp.Basic, n: int, vector: bool, a: sp.Basic,
                 approximate: str, mistake: str | None
                 ) -> tuple[list[Step], sp.Basic, sp.Basic]:
    """One input's step group: (GELU's tanh form: its inner argument and that argument's
    slope,) the value, then the derivative. Returns the steps, the value and the slope."""
    op = _OPERATOR[name]
    steps: list[Step] = []
    xs = sp.Symbol(f"x_{i}") if vector else sp.Symbol("x")
    sign = 1 if xv > 0 else -1 if xv < 0 else 0
    value = _value(name, xv, a, approximate)
    slope = _slope(name, xv, a, approximate)
    if mistake == "sigmoid-derivative-as-sigmoid":
        slope = value
    elif mistake == "tanh-derivative-unsquared":
        slope = 1 - value
    elif mistake == "relu-derivative-one-at-zero" and sign == 0:
        slope = sp.Integer(1)
    elide = row_of("rows", i, n, "activation.entries") if vector else None
    branch = "" if name in ("sigmoid", "tanh", "softplus", "gelu", "relu") else (
        "_positive" if sign > 0 else "_negative")
    xw, nxw, aw = as_written(xv), as_written(-xv), as_written(a)
    us = uw = dus = duw = None
    if name == "gelu" and approximate == "tanh":  # its argument first: the lines fit
        us = sp.Symbol(f"u_{i}") if vector else sp.Symbol("u")
        u_value = _gelu_tanh_inner(xv)
        uw = as_written(u_value)
        steps.append(Step(key="activation.gelu_inner", lhs=us, symbolic=_inner_formula(xs),
                          substituted=_inner_formula(xw), value=u_value,
                          data={"i": i, "x": xv}, elidable=elide))
        dus = sp.Derivative(us, xs)
        du_value = sp.sqrt(2 / sp.pi) * (1 + 3 * GELU_C * xv**2)
        duw = as_written(du_value)
        steps.append(Step(key="activation.gelu_inner_slope", lhs=dus,
                          symbolic=_inner_slope_formula(xs),
                          substituted=_inner_slope_formula(xw), value=du_value,
                          data={"i": i, "x": xv}, elidable=elide))
    formula = _value_formula(name, xs, sign > 0, approximate, u=us)
    steps.append(Step(key=f"activation.value{branch}", lhs=op(xs), symbolic=formula,
                      substituted=_value_formula(name, xw, sign > 0, approximate, nxw, aw,
                                                 u=uw),
                      value=value, data={"i": i, "x": xv, "alpha": a}, elidable=elide))
    f = op(xs)
    shown = _slope_formula(name, xs, f, sign, approximate, mistake, u=us, du=dus)
    numbers = _slope_formula(name, xw, as_written(value), sign, approximate, mistake, nxw,
                             aw, u=uw, du=duw)
    steps.append(Step(key=_slope_key(name, sign, mistake, us is not None),
                      lhs=sp.Derivative(f, xs),
                      symbolic=shown, substituted=numbers, value=slope,
                      data={"i": i, "x": xv, "alpha": a}, elidable=elide))
    return steps, value, slope


def _slope_key(name: str, sign: int, mistake: str | None, tanh_form: bool) -> str:
    if mistake in ("sigmoid-derivative-as-sigmoid", "tanh-derivative-unsquared"):
        return f"activation.derivative_{name}_mistaken"
    if name in ("relu", "leaky_relu", "elu"):
        if sign == 0:
            return ("activation.derivative_zero_one" if mistake == "relu-derivative-one-at-zero"
                    else f"activation.derivative_zero_{name}")
        return f"activation.derivative_{'positive' if sign > 0 else 'negative'}"
    return f"activation.derivative_{name}" + ("_tanh" if tanh_form else "")


def _softmax(entries: list[sp.Basic], mistake: str | None
             ) -> tuple[list[Step], list[sp.Basic], list[list[sp.Basic]], list[sp.Basic]]:
    """p = e^x / sum e^x, its Jacobian J = diag(p) - p p^T, and the saturation 4 p_i (1 - p_i)."""
    n = len(entries)
    exps = [sp.exp(v) for v in entries]
    total = sp.Add(*exps)
    p = [e / total for e in exps]
    shown = [as_written(v) for v in entries]
    with sp.evaluate(False):
        terms = sp.Add(*[sp.exp(sp.Symbol(f"x_{j}")) for j in range(1, n + 1)])
        numbers = sp.Add(*[sp.exp(v) for v in shown])
    steps = [Step(key="activation.softmax_sum", lhs=sym("act_sum"), symbolic=terms,
                  substituted=numbers, value=total, data={"n": n},
                  elidable=terms_of(n, substituted=None, symbolic=sp.Sum(
                      sp.exp(sp.Symbol("x_j")), (sp.Symbol("j"), 1, n))))]
    with sp.evaluate(False):
        general = sp.Mul(sp.exp(sp.Symbol("x_i")), sp.Pow(sym("act_sum"), -1))
    steps.append(Step(key="activation.softmax_p", lhs=sym("act_p"), symbolic=general,
                      value=row_vector(p), data={"n": n}))
    if mistake == "softmax-jacobian-diagonal":
        jac = [[p[i] * (1 - p[i]) if i == j else sp.Integer(0) for j in range(n)]
               for i in range(n)]
        key = "activation.softmax_jacobian_diagonal"
    else:
        jac = [[p[i] * ((1 if i == j else 0) - p[j]) for j in range(n)] for i in range(n)]
        key = "activation.softmax_jacobian"
    with sp.evaluate(False):
        pi, pj = sp.Symbol("p_i"), sp.Symbol("p_j")
        formula = sp.Mul(pi, sp.Add(sp.Symbol("delta_ij"), sp.Mul(-1, pj)))
    steps.append(Step(key=key, lhs=sp.Symbol("J_ij"), symbolic=formula,
                      value=sp.ImmutableMatrix(jac), data={"n": n}))
    sats = [4 * x * (1 - x) for x in p]
    with sp.evaluate(False):
        sat_formula = Ratio(sp.Symbol("J_ii"), sp.Rational(1, 4))
    steps.append(Step(key="activation.softmax_saturation", lhs=sym("act_sat"),
                      symbolic=sat_formula, value=row_vector(sats), data={"n": n}))
    return steps, p, jac, sats
