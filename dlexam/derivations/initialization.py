"""Weight initialisation: the variance, standard deviation and uniform bound a scheme gives the
weights of a layer, and the variance of a unit's pre-activation z = sum_j w_j x_j + b.

Schemes: ``standard`` N(0, 1); ``xavier`` (Glorot and Bengio, 2010) Var(w) = 2 / (n_in + n_out);
``he`` (He et al., 2015) 2 / n_in; ``lecun`` (LeCun et al., 1998) 1 / n_in; ``uniform-sqrt``
U(-1/sqrt(n_in), 1/sqrt(n_in)), PyTorch's default for ``nn.Linear`` weights. A scheme fixed by a
variance has a normal form and a uniform twin U(-a, a) with the same variance, a = sqrt(3 Var(w))
(``torch.nn.init.xavier_uniform_``, ``kaiming_uniform_``); ``uniform-sqrt`` is fixed by its bound.

Weights are independent, of mean 0, and independent of the inputs, so
Var(z) = n_in Var(w) E[x^2] + Var(b) with E[x^2] = Var(x) + E[x]^2; when ``active`` of the n_in
inputs are 1 and the rest 0, Var(z) = active Var(w) + Var(b). Without input statistics the
inputs are taken as standardised (mean 0, variance 1), and the steps say so.
"""

from __future__ import annotations

from typing import Any

import sympy as sp

from dlexam.derivations.contract import Answer, Mistake, with_params
from dlexam.derivations.core import Result, Step, derivation, three_part
from dlexam.derivations.forms import Operator, Ratio, as_written
from dlexam.derivations.heads import Is, Names
from dlexam.derivations.params import Param
from dlexam.derivations.sampling import Draw
from dlexam.errors import InputError, Said
from dlexam.notation import register_symbols, sym
from dlexam.notation.display import Phrase

register_symbols({
    "iv_var_w": (r"\operatorname{Var}(w)", "Var(w)"),
    "iv_std_w": (r"\sigma_w", "σ_w"),
    "iv_limit": ("a", "a"),
    "iv_fan_in": (r"n_{\mathrm{in}}", "n_in"),
    "iv_fan_out": (r"n_{\mathrm{out}}", "n_out"),
    "iv_ex2": (r"\operatorname{E}[x^2]", "E[x^2]"),
    "iv_var_x": (r"\operatorname{Var}(x)", "Var(x)"),
    "iv_mean_x": (r"\operatorname{E}[x]", "E[x]"),
    "iv_var_b": (r"\operatorname{Var}(b)", "Var(b)"),
    "iv_var_z": (r"\operatorname{Var}(z)", "Var(z)"),
    "iv_std_z": (r"\sigma_z", "σ_z"),
    "iv_active": ("k", "k"),
})

SCHEMES = ("standard", "xavier", "he", "lecun", "uniform-sqrt")
DISTRIBUTIONS = ("normal", "uniform")
FAN_MAX = 10_000_000


class NormalLaw(Operator):
    """N(mean, variance) (a name of its own: SymPy's printers have rules for Normal)."""

    name = "N"


class UniformLaw(Operator):
    """U(low, high)."""

    name = "U"


def _gain(scheme: str) -> sp.Basic:
    """The numerator of Var(w) = gain / fan for the schemes fixed by a variance."""
    return sp.Integer(2) if scheme in ("xavier", "he") else sp.Integer(1)


def _variance_formula(scheme: str, fan_in: sp.Basic, fan_out: sp.Basic) -> sp.Basic:
    """Var(w) in the fans (``standard``: 1)."""
    with sp.evaluate(False):
        if scheme == "standard":
            return sp.Integer(1)
        if scheme == "xavier":
            return sp.Mul(2, sp.Pow(sp.Add(fan_in, fan_out), -1))
        return sp.Mul(_gain(scheme), sp.Pow(fan_in, -1))


def _law(scheme: str, distribution: str) -> sp.Basic:
    """The weights' distribution in symbols, for the statement: N(0, 2/n_in), U(-a, a)..."""
    n_in, n_out = sym("iv_fan_in"), sym("iv_fan_out")
    if scheme == "uniform-sqrt":
        with sp.evaluate(False):
            bound = sp.Pow(sp.sqrt(n_in), -1)
            return UniformLaw(sp.Mul(-1, bound), bound)
    variance = _variance_formula(scheme, n_in, n_out)
    if distribution == "normal":
        return NormalLaw(sp.Integer(0), variance)
    # the uniform twin as the papers write it: sqrt(6 / (n_in + n_out)), sqrt(6 / n_in)
    fan = sp.Add(n_in, n_out, evaluate=False) if scheme == "xavier" else n_in
    top = sp.Integer(3 * int(_gain(scheme)))
    with sp.evaluate(False):
        bound = sp.sqrt(sp.Mul(top, sp.Pow(fan, -1)))
        return UniformLaw(sp.Mul(-1, bound), bound)


INIT_PARAMS = [
    Param("scheme", "choice", choices=SCHEMES),
    Param("distribution", "choice", default=None, choices=DISTRIBUTIONS),
    Param("fan_in", "int", minimum=1, maximum=FAN_MAX),
    Param("fan_out", "int", default=None, minimum=1, maximum=FAN_MAX),
    Param("x_mean", "number", default=None),
    Param("x_variance", "number", default=None),
    Param("active", "int", default=None, minimum=0, maximum=FAN_MAX),
    Param("bias_variance", "number", default=0),
]


def _distribution_of(params: Any) -> str:
    """The distribution given, or the scheme's own: uniform for uniform-sqrt, else normal."""
    if params.get("distribution") is not None:
        return str(params["distribution"])
    return "uniform" if params["scheme"] == "uniform-sqrt" else "normal"


def _fans_differ(params: Any) -> bool:
    return (params["scheme"] != "standard" and params.get("fan_out") is not None
            and params["fan_out"] != params["fan_in"])


def _mean_given(params: Any) -> bool:
    return params.get("x_mean") not in (None, 0)


def sample_init(draw: Draw, fixed: dict[str, Any]) -> dict[str, Any]:
    """A scheme and its distribution, layer widths from exam tables (64 to 1000), fan_out given
    with every scheme but the standard one (xavier needs it; for the others it is the figure a
    student may confuse), and inputs: standardised (one time in three), of a given mean and
    variance, or k of them 1 (k >= 2); a bias variance one time in three."""
    scheme = fixed.get("scheme", draw.choice(SCHEMES))
    widths = (64, 100, 128, 200, 256, 300, 400, 512, 784, 1000)
    out: dict[str, Any] = {"scheme": scheme, "fan_in": draw.choice(widths)}
    if scheme in ("xavier", "he", "lecun"):
        out["distribution"] = draw.choice(DISTRIBUTIONS)
    if scheme != "standard":
        out["fan_out"] = draw.choice([w for w in widths if w != out["fan_in"]])
    inputs = draw.choice(("standardised", "moments", "moments", "active"))
    if inputs == "moments":
        out["x_mean"] = draw.choice((0, 0.5, 1, -1, 2))
        out["x_variance"] = draw.choice((0.25, 0.5, 1, 2, 4))
    elif inputs == "active":
        out["active"] = draw.integer(2, 50)
    if draw.chance(1 / 3):
        out["bias_variance"] = draw.choice((0.01, 0.1, 0.5))
    out.update(fixed)
    return out


def _init_question(values: dict[str, Any]) -> dict[str, Any]:
    distribution = _distribution_of(values)
    fans = [Is(sym("iv_fan_in"), sp.Integer(values["fan_in"]))]
    if values["fan_out"] is not None:
        fans.append(Is(sym("iv_fan_out"), sp.Integer(values["fan_out"])))
    out: dict[str, Any] = {"law": _law(values["scheme"], distribution), "fans": Names(*fans),
                           "bias_variance": values["bias_variance"],
                           # a bound is asked only of a uniform law
                           "bound_ask": Phrase("init_variance.says." + (
                               "bound" if distribution == "uniform" else "no_bound"))}
    if values["active"] is not None:
        out["statement"] = "active"
    elif values["x_mean"] is not None or values["x_variance"] is not None:
        out["statement"] = "moments"
        out["x_mean"] = values["x_mean"] if values["x_mean"] is not None else 0
        out["x_variance"] = values["x_variance"] if values["x_variance"] is not None else 1
    return out


def _put(number: Any) -> Any:
    """A number as a formula shows it: 1/128 as a fraction, 0.5 as it is."""
    return as_written(number, fractions=True)


def _check(scheme: str, distribution: str | None, fan_in: int, fan_out: int | None,
           x_mean: Any, x_variance: Any, active: int | None, bias_variance: Any) -> str:
    """The distribution used; refuses what does not fit together."""
    if scheme == "xavier" and fan_out is None:
        raise InputError("fan_out", Said("initialization.errors.fan_out"), Said("errors.nothing"))
    if scheme == "standard" and distribution == "uniform":
        raise InputError("distribution", Said("initialization.errors.standard"), "uniform")
    if scheme == "uniform-sqrt" and distribution == "normal":
        raise InputError("distribution", Said("initialization.errors.uniform_sqrt"), "normal")
    if active is not None and (x_mean is not None or x_variance is not None):
        raise InputError("active", Said("initialization.errors.active"), f"active={active}")
    if active is not None and active > fan_in:
        raise InputError("active", Said("initialization.errors.at_most_fan_in", n=fan_in),
                         str(active))
    if x_variance is not None and x_variance < 0:
        raise InputError("x_variance", Said("inputs.non_negative"), str(x_variance))
    if bias_variance < 0:
        raise InputError("bias_variance", Said("inputs.non_negative"), str(bias_variance))
    return _distribution_of({"scheme": scheme, "distribution": distribution})


@derivation(
    "init-variance",
    params=INIT_PARAMS,
    answers=[
        Answer("weight_variance", "number"),
        Answer("weight_std", "number"),
        Answer("weight_limit", "number", optional=True),
        Answer("z_variance", "number"),
        Answer("z_std", "number"),
    ],
    mistakes=[
        Mistake("fans-swapped",
                changes=("weight_variance", "weight_std", "weight_limit", "z_variance",
                         "z_std"), formula=True, applies=_fans_differ),
        Mistake("variance-for-std", changes=("weight_std", "weight_limit", "z_std"),
                formula=True),
        Mistake("bound-as-std",
                changes=("weight_variance", "weight_std", "weight_limit", "z_variance",
                         "z_std"), formula=True,
                applies=lambda p: _distribution_of(p) == "uniform"),
        Mistake("mean-ignored", changes=("z_variance", "z_std"), formula=True,
                applies=_mean_given),
        # He's 2 / fan_in with its factor 2 lost: LeCun's 1 / fan_in
        Mistake("he-factor-lost",
                changes=("weight_variance", "weight_std", "weight_limit", "z_variance",
                         "z_std"), params=with_params(scheme="lecun"),
                applies=lambda p: p["scheme"] == "he"),
        # the biases' variance left out of the pre-activation's
        Mistake("bias-variance-ignored", changes=("z_variance", "z_std"),
                params=with_params(bias_variance=0),
                applies=lambda p: float(p.get("bias_variance") or 0) != 0),
    ],
    sampler=sample_init,
    question=_init_question,
)
def init_variance(scheme: str, distribution: str | None, fan_in: int, fan_out: int | None,
                  x_mean: Any, x_variance: Any, active: int | None, bias_variance: Any,
                  mistake: str | None = None) -> Result:
    """The weights' variance, standard deviation and uniform bound, and Var(z) and its root.

    Args:
        scheme: standard, xavier, he, lecun or uniform-sqrt.
        distribution: normal or uniform (default: normal, uniform for uniform-sqrt).
        fan_in: the layer's inputs n_in.
        fan_out: its outputs n_out (xavier needs it).
        x_mean, x_variance: the inputs' mean and variance (default 0 and 1).
        active: how many of the n_in inputs are 1, the rest 0 (instead of x_mean, x_variance).
        bias_variance: the bias's variance (default 0, a zero bias).
        mistake: ``fans-swapped`` (xavier with n_in for n_out; the others with n_out for n_in),
            ``variance-for-std`` (the variance reported as the standard deviation),
            ``bound-as-std`` (a uniform law's bound taken as its standard deviation) or
            ``mean-ignored`` (E[x^2] taken as Var(x)).

    Raises:
        InputError: parameters that do not fit together (xavier without fan_out, a uniform
            standard scheme, active with input moments, more active inputs than fan_in).
    """
    distribution = _check(scheme, distribution, fan_in, fan_out, x_mean, x_variance, active,
                          bias_variance)
    steps: list[Step] = [Step(key=f"init_variance.scheme_{scheme.replace('-', '_')}",
                              data={"law": _law(scheme, distribution)})]
    answers: dict[str, Any] = {}
    more, variance, bound = _weight_variance_steps(scheme, fan_in, fan_out, mistake)
    steps += more
    if bound is not None:
        answers["weight_limit"] = bound
    more, std_shown, bound = _std_and_limit_steps(scheme, distribution, variance, mistake)
    steps += more
    if bound is not None:
        answers["weight_limit"] = bound
    answers["weight_variance"] = variance
    answers["weight_std"] = std_shown
    more, z_variance, answers["z_std"] = _z_steps(fan_in, x_mean, x_variance, active,
                                                  bias_variance, variance, mistake)
    steps += more
    answers["z_variance"] = z_variance
    steps.append(Step(key="init_variance.why_" + ("he" if scheme == "he" else "xavier"
                                                   if scheme == "xavier" else "other"),
                      data={"z_variance": z_variance}))
    return Result(convention=distribution, steps=tuple(steps), answers=answers)


def _weight_variance_steps(scheme: str, fan_in: int, fan_out: int | None, mistake: str | None
                           ) -> tuple[list[Step], sp.Basic, sp.Basic | None]:
    """The weights' variance step group: the scheme's rule with the fans put in (uniform-sqrt:
    its bound first, then the uniform law's variance). Returns the steps, Var(w) and the
    uniform bound (None when the scheme does not set it)."""
    n_in, n_out = sym("iv_fan_in"), sym("iv_fan_out")
    numbers: dict[sp.Basic, Any] = {n_in: sp.Integer(fan_in)}
    if fan_out is not None:
        numbers[n_out] = sp.Integer(fan_out)
    swapped = mistake == "fans-swapped"
    var_w, limit = sym("iv_var_w"), sym("iv_limit")
    if scheme == "uniform-sqrt":
        fan = n_out if swapped else n_in
        with sp.evaluate(False):
            bound = sp.Pow(sp.sqrt(fan), -1)
        s_limit = three_part("init_variance.limit_sqrt" + ("_swapped" if swapped else ""),
                             limit, bound, numbers)
        a = s_limit.value
        if mistake == "bound-as-std":
            s_var = three_part("init_variance.variance_bound_as_std", var_w,
                               sp.Pow(limit, 2, evaluate=False), {limit: _put(a)})
        else:
            s_var = three_part("init_variance.variance_of_uniform", var_w,
                               Ratio(sp.Pow(limit, 2, evaluate=False), sp.Integer(3)),
                               {limit: _put(a)})
        return [s_limit, s_var], s_var.value, a
    if swapped and scheme == "xavier":
        formula = _variance_formula(scheme, n_in, n_in)
        key = "init_variance.variance_xavier_swapped"
    elif swapped:
        formula = _variance_formula(scheme, n_out, n_out)
        key = "init_variance.variance_swapped"
    else:
        formula = _variance_formula(scheme, n_in, n_out)
        key = f"init_variance.variance_{scheme}"
    s_var = three_part(key, var_w, formula, numbers) if scheme != "standard" else Step(
        key=key, lhs=var_w, symbolic=sp.Integer(1), value=sp.Integer(1))
    return [s_var], s_var.value, None


def _std_and_limit_steps(scheme: str, distribution: str, variance: sp.Basic,
                         mistake: str | None) -> tuple[list[Step], sp.Basic, sp.Basic | None]:
    """The standard deviation step, and a uniform law's bound a = sqrt(3 Var(w)) (schemes
    other than uniform-sqrt). Returns the steps, the standard deviation as reported and the
    bound (None when not derived here)."""
    var_w, std_w, limit = sym("iv_var_w"), sym("iv_std_w"), sym("iv_limit")
    steps: list[Step] = []
    if mistake == "variance-for-std":
        steps.append(Step(key="init_variance.std_as_variance", lhs=std_w, symbolic=var_w,
                          value=variance))
        std_shown = variance
    else:
        steps.append(three_part("init_variance.std", std_w, sp.sqrt(var_w),
                                {var_w: _put(variance)}))
        std_shown = sp.sqrt(variance)
    if scheme == "uniform-sqrt" or distribution != "uniform":
        return steps, std_shown, None
    if mistake == "bound-as-std":
        s_limit = Step(key="init_variance.limit_as_std", lhs=limit, symbolic=std_w,
                       value=std_shown)
    else:
        with sp.evaluate(False):
            rule = sp.sqrt(sp.Mul(3, var_w))
        s_limit = three_part("init_variance.limit", limit, rule, {var_w: _put(variance)})
        if mistake == "variance-for-std":  # a = sqrt(3) sigma_w with the wrong sigma_w
            s_limit = three_part("init_variance.limit_from_std", limit,
                                 sp.Mul(sp.sqrt(3), std_w, evaluate=False),
                                 {std_w: _put(std_shown)})
    steps.append(s_limit)
    return steps, std_shown, s_limit.value


def _z_steps(fan_in: int, x_mean: Any, x_variance: Any, active: int | None,
             bias_variance: Any, variance: sp.Basic, mistake: str | None
             ) -> tuple[list[Step], sp.Basic, sp.Basic]:
    """The pre-activation step group, z = sum_j w_j x_j + b: the inputs' second moment (or the
    count of active inputs), Var(z) and its root. Returns the steps, Var(z) and its standard
    deviation as reported."""
    n_in, var_w = sym("iv_fan_in"), sym("iv_var_w")
    var_z, std_z = sym("iv_var_z"), sym("iv_std_z")
    var_b = sym("iv_var_b")
    steps: list[Step] = []
    if active is not None:
        k = sym("iv_active")
        steps.append(Step(key="init_variance.inputs_active", data={"k": active, "n": fan_in}))
        with sp.evaluate(False):
            formula = sp.Add(sp.Mul(k, var_w), var_b)
        s_z = three_part("init_variance.z_active", var_z, formula,
                         {k: sp.Integer(active), var_w: _put(variance), var_b: _put(bias_variance)})
    else:
        given = x_mean is not None or x_variance is not None
        mean = x_mean if x_mean is not None else sp.Integer(0)
        var_x = x_variance if x_variance is not None else sp.Integer(1)
        ex2, mx, vx = sym("iv_ex2"), sym("iv_mean_x"), sym("iv_var_x")
        if mistake == "mean-ignored":
            s_ex2 = three_part("init_variance.second_moment_mean_ignored", ex2, vx,
                               {vx: _put(var_x)})
        else:
            with sp.evaluate(False):
                moment = sp.Add(vx, sp.Pow(mx, 2))
            s_ex2 = three_part("init_variance.second_moment" + ("" if given else "_standard"),
                               ex2, moment, {vx: _put(var_x), mx: _put(mean)})
        steps.append(s_ex2)
        with sp.evaluate(False):
            formula = sp.Add(sp.Mul(n_in, var_w, ex2), var_b)
        s_z = three_part("init_variance.z_sum", var_z, formula,
                         {n_in: sp.Integer(fan_in), var_w: _put(variance),
                          ex2: _put(s_ex2.value), var_b: _put(bias_variance)})
    steps.append(s_z)
    if mistake == "variance-for-std":
        steps.append(Step(key="init_variance.std_as_variance", lhs=std_z, symbolic=var_z,
                          value=s_z.value))
        return steps, s_z.value, s_z.value
    s_std_z = three_part("init_variance.z_std", std_z, sp.sqrt(var_z), {var_z: _put(s_z.value)})
    steps.append(s_std_z)
    return steps, s_z.value, s_std_z.value
