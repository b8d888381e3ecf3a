"""GAN: the optimal discriminator, C(G) = -log 4 + 2 JSD, and the value and losses of a batch.

Goodfellow et al. (2014): V(D, G) = E_{x~p_data}[log D(x)] + E_{z~p_z}[log(1 - D(G(z)))]. For a
fixed generator, each x contributes p_data(x) log D(x) + p_g(x) log(1 - D(x)), which SymPy
maximises pointwise (a log y + b log(1 - y) peaks at y = a / (a + b)). Natural logarithms (nats)
throughout, so the minimum of C(G) is -log 4.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from functools import cache
from typing import Any

import sympy as sp

from dlexam.derivations.contract import Answer, Mistake
from dlexam.derivations.core import Result, Step, derivation, terms_of
from dlexam.derivations.distributions import (
    Log,
    cross_step,
    distribution,
    distributions_step,
    log_exact,
)
from dlexam.derivations.forms import (
    Notation,
    Operator,
    Ratio,
    as_float,
    as_written,
    row_vector,
)
from dlexam.derivations.params import Param, bind_dims
from dlexam.derivations.sampling import Draw
from dlexam.errors import InputError, Said
from dlexam.notation import register_symbols, sym
from dlexam.notation.display import Listed, plain_number

register_symbols({
    "D_star": ("D^{*}(x)", "D*(x)"),
    "V_DG": ("V(D, G)", "V(D, G)"),
    "C_G": ("C(G)", "C(G)"),
    "L_D": ("L_D", "L_D"),
    "L_G_mm": (r"L_G^{\mathrm{minimax}}", "L_G^minimax"),
    "L_G_ns": (r"L_G^{\mathrm{non\text{-}sat}}", "L_G^non-sat"),
    "gan_a": ("a", "a"),
    "gan_b": ("b", "b"),
    "gan_y": ("y", "y"),
    "gan_s": ("s", "s"),
    "gan_m": ("m", "m"),
    "gan_n": ("n", "n"),
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
})


class Sigmoid(Operator):
    """The logistic function, written sigma(s)."""

    name = "sigma"

class Expectation(Notation):
    """E_{x ~ p}[f(x)]: an expectation, written as such (it never evaluates)."""


class Applied(Notation):
    """A function of the notation table applied to an argument: p_data(x), p_g(x)."""


class SumOver(Notation):
    """The sum of a term over every value of a variable (the outcomes of a support): sum_x."""


def value_function_steps() -> list[Step]:
    """V(D, G) as Goodfellow et al. write it, the change of variable x = G(z) ~ p_g, and the
    sum over a discrete support that the pointwise maximisation reads."""
    x, z = sp.Symbol("x"), sp.Symbol("z")
    disc, gen = sp.Function("D"), sp.Function("G")
    p_data, p_g, p_z = sym("p_data"), sym("p_g"), sym("p_z")
    with sp.evaluate(False):
        real = Expectation(sp.log(disc(x)), x, p_data)
        fake_z = Expectation(sp.log(sp.Add(1, sp.Mul(-1, disc(gen(z))))), z, p_z)
        fake_x = Expectation(sp.log(sp.Add(1, sp.Mul(-1, disc(x)))), x, p_g)
        value = sp.Add(real, fake_z)
        total = SumOver(sp.Add(sp.Mul(Applied(p_data, x), sp.log(disc(x))),
                               sp.Mul(Applied(p_g, x), sp.log(sp.Add(1, sp.Mul(-1, disc(x)))))),
                        x)
    return [
        Step(key="gan_optimum.value", lhs=sym("V_DG"), symbolic=value),
        Step(key="gan_optimum.change_of_variable", lhs=fake_z, symbolic=fake_x),
        Step(key="gan_optimum.support_sum", lhs=sym("V_DG"), symbolic=total),
    ]


_UNIT = {2: "bits", 10: "hartleys"}
"""The unit of a base other than e, as the catalog keys of a base mistake's steps name it."""


@cache
def pointwise_maximum() -> tuple[list[Step], sp.Basic]:
    """SymPy maximises f(y) = a log y + b log(1 - y) over 0 < y < 1.

    Returns the steps and the maximiser a / (a + b).

    Raises:
        RuntimeError: the stationary point is not the single maximiser a / (a + b) (a bug).
    """
    a, b, y = sym("gan_a", positive=True), sym("gan_b", positive=True), sym("gan_y",
                                                                                positive=True)
    f = a * sp.log(y) + b * sp.log(1 - y)
    first = sp.diff(f, y)
    roots = sp.solve(sp.Eq(first, 0), y)
    second = sp.diff(f, y, 2)
    if len(roots) != 1 or sp.simplify(roots[0] - a / (a + b)) != 0:
        raise RuntimeError(f"unexpected stationary points {roots}")
    y_star = roots[0]
    at_max = sp.factor(sp.simplify(second.subs(y, y_star)))
    with sp.evaluate(False):
        objective = sp.Add(sp.Mul(a, sp.log(y)), sp.Mul(b, sp.log(sp.Add(1, sp.Mul(-1, y)))))
        # SymPy keeps (1 - y)^2 as (-1 + y)^2; the second derivative is written as derived
        second_shown = sp.Mul(-1, sp.Add(sp.Mul(a, sp.Pow(y, -2)),
                                         sp.Mul(b, sp.Pow(sp.Add(1, sp.Mul(-1, y)), -2))))
    if sp.simplify(second_shown.doit() - second) != 0:
        raise RuntimeError(f"the second derivative {second} is not {second_shown}")
    steps = [
        Step(key="gan_optimum.objective", lhs=sym("f_y"), symbolic=objective),
        Step(key="gan_optimum.derivative", lhs=sym("f_prime"), symbolic=first),
        Step(key="gan_optimum.stationary", lhs=sym("y_star"), symbolic=y_star),
        Step(key="gan_optimum.second_derivative", lhs=sym("f_second"), symbolic=second_shown,
             data={"at_max": at_max}),
    ]
    return steps, y_star


OPTIMUM_PARAMS = [
    Param("p_data", "array", shapes=(("k",),), trace="nonzero"),
    Param("p_g", "array", shapes=(("k",),), trace="nonzero"),
    Param("normalize", "bool", default=False),
]


def sample_optimum(draw: Draw, fixed: dict[str, Any]) -> dict[str, Any]:
    """Two different distributions over 2 to 4 outcomes, two-decimal probabilities >= 0.05."""
    k = bind_dims(OPTIMUM_PARAMS, fixed).get("k", draw.integer(2, 4))
    out: dict[str, Any] = {"normalize": False}
    for _ in range(200):
        out["p_data"] = draw.distribution(k, 2, floor=0.05)
        out["p_g"] = draw.distribution(k, 2, floor=0.05)
        out.update(fixed)
        if out["p_data"] != out["p_g"]:
            break
    return out


def _optimum_question(values: dict[str, Any]) -> dict[str, Any]:
    """The distributions as the question states them (normalised when asked)."""
    pd = distribution("p_data", values["p_data"], values["normalize"])
    pg = distribution("p_g", values["p_g"], values["normalize"])
    return {"p_data": row_vector([as_written(x, fractions=True) for x in pd]),
            "p_g": row_vector([as_written(x, fractions=True) for x in pg])}


@derivation(
    "gan-optimum",
    params=OPTIMUM_PARAMS,
    answers=[
        Answer("D_star", "vector", shapes=(("k",),)),
        Answer("jsd", "number"),
        Answer("C_G", "number"),
        Answer("C_G_minimum", "number"),
        Answer("gap", "number"),
    ],
    limits={"k": 64},
    mistakes=[
        Mistake("d-star-swapped", changes=("D_star", "C_G"), formula=True),
        Mistake("log-base-2", changes=("jsd", "C_G", "C_G_minimum", "gap"), formula=True),
        # C(G) = -log 4 + JSD: the factor 2 of 2 JSD lost
        Mistake("jsd-factor-lost", changes=("C_G", "gap"), formula=True),
        # the calculator's log key: every logarithm to base 10
        Mistake("log-base-10", changes=("jsd", "C_G", "C_G_minimum", "gap"), formula=True),
        # the minimum taken as log 4, its minus sign left out
        Mistake("minimum-sign", changes=("C_G_minimum",), formula=True),
    ],
    sampler=sample_optimum,
    question=_optimum_question,
)
def gan_optimum(p_data: sp.ImmutableMatrix, p_g: sp.ImmutableMatrix, normalize: bool,
                mistake: str | None = None) -> Result:
    """D*(x) = p_data / (p_data + p_g) and C(G) = -log 4 + 2 JSD(p_data || p_g), in nats.

    Args:
        p_data: the data distribution over a discrete support.
        p_g: the generator's distribution over the same support.
        normalize: divide each by its sum instead of requiring sums of 1.
        mistake: ``d-star-swapped`` (D* = p_g / (p_data + p_g), and C(G) from it; the identity
            with the JSD, which no longer holds, is left out) or ``log-base-2`` (every
            logarithm to base 2: bits, so the minimum is -2).
    """
    b = (sp.Integer(2) if mistake == "log-base-2" else sp.Integer(10)
         if mistake == "log-base-10" else sp.E)
    pd = distribution("p_data", p_data, normalize)
    pg = distribution("p_g", p_g, normalize)
    k = len(pd)
    if normalize:
        given = distributions_step("gan_optimum.normalized", ("p_data", "p_g"), pd, pg,
                                   p_data_given=row_vector(list(p_data)),
                                   p_g_given=row_vector(list(p_g)))
    else:
        given = distributions_step("gan_optimum.given", ("p_data", "p_g"), pd, pg, k=k)
    maximum, _ = pointwise_maximum()
    if b != sp.E:  # a base mistake's steps say the base its numbers are in
        maximum = [replace(maximum[0], key=f"gan_optimum.objective_{_UNIT[int(b)]}"),
                   *maximum[1:]]
    steps = [given, *value_function_steps(), *maximum]
    more, d_star = _d_star_steps(pd, pg, mistake)
    steps += more
    c_g_step, c_g, names = _c_g_step(pd, pg, d_star, b)
    lost = mistake == "jsd-factor-lost"  # C(G) from the JSD alone, with its factor 2 lost
    if not lost:
        steps.append(c_g_step)
    more, jsd = _jsd_steps(pd, pg, b, names)
    steps += more
    minimum = -log_exact(4, b)
    if lost:
        step = _identity_step(c_g, jsd, b, factor=1)
        steps.append(step)
        c_g = step.value
    elif mistake != "d-star-swapped":  # with the wrong D*, C(G) is not -log 4 + 2 JSD
        steps.append(_identity_step(c_g, jsd, b))
    steps += minimum_steps(equal=pd == pg)
    if mistake == "minimum-sign":  # log 4 for -log 4
        minimum = -minimum
        steps = [replace(st, key="gan_optimum.minimum_unsigned", data={"minimum": minimum})
                 if st.key == "gan_optimum.minimum" else st for st in steps]
    return Result(
        convention="nats" if b == sp.E else "bits",
        steps=tuple(steps),
        answers={
            "D_star": d_star,
            "jsd": jsd,
            "C_G": c_g,
            "C_G_minimum": minimum,
            "gap": (1 if lost else 2) * jsd,
        },
    )


def _show_log(x: sp.Basic, b: sp.Basic) -> sp.Basic:
    """log x as written: ln for base e, log_b otherwise."""
    return Log(x, b) if b != sp.E else sp.log(x, evaluate=False)


def _d_star_steps(pd: list[sp.Rational], pg: list[sp.Rational], mistake: str | None
                  ) -> tuple[list[Step], list[sp.Rational]]:
    """The D* step group: D*(x) = p_data / (p_data + p_g) at every point (1/2 where both are
    0, named as outside the support). Returns the steps and D*."""
    a_sym, b_sym = sym("p_data"), sym("p_g")
    top, top_values = a_sym, pd
    if mistake == "d-star-swapped":  # the generator's probability on top
        top, top_values = b_sym, pg
    with sp.evaluate(False):
        general = sp.Mul(top, sp.Pow(sp.Add(a_sym, b_sym), -1))
    outside = [i for i, (x, y) in enumerate(zip(pd, pg, strict=True), start=1) if x + y == 0]
    d_star = [sp.Rational(1, 2) if x + y == 0 else t / (x + y)
              for x, y, t in zip(pd, pg, top_values, strict=True)]
    written = row_vector([Ratio(as_written(t, fractions=True),
                                sp.Add(as_written(x, fractions=True),
                                       as_written(y, fractions=True), evaluate=False))
                          for x, y, t in zip(pd, pg, top_values, strict=True)])
    k = len(pd)
    steps = [Step(key="gan_optimum.d_star" + ("_swapped" if mistake == "d-star-swapped"
                                              else ""), lhs=sym("D_star"), symbolic=general,
                  substituted=written, value=row_vector(d_star), data={"k": k},
                  elidable=terms_of(k, substituted=None))]
    if outside:
        steps.append(Step(key="gan_optimum.outside_support" if len(outside) == 1
                          else "gan_optimum.outside_support_many",
                          data={"points": Listed(outside)}))
    return steps, d_star


def _c_g_step(pd: list[sp.Rational], pg: list[sp.Rational], d_star: list[sp.Rational],
              b: sp.Basic) -> tuple[Step, sp.Basic, dict[str, sp.Symbol]]:
    """The C(G) step: V(D*, G) = sum_x a log D* + b log(1 - D*), written term by term up to two
    outcomes and as a sum beyond. Returns the step, C(G) and the names of a term's symbols."""
    k = len(pd)
    terms = []
    for x, y, d in zip(pd, pg, d_star, strict=True):
        if x != 0:
            terms.append(x * log_exact(d, b))
        if y != 0:
            terms.append(y * log_exact(1 - d, b))
    c_g = sp.Add(*terms)
    sym_terms, num_terms = [], []
    for i, (x, y, d) in enumerate(zip(pd, pg, d_star, strict=True), start=1):
        ai, bi, di = sp.Symbol(f"a_{i}"), sp.Symbol(f"b_{i}"), sp.Symbol(f"D_{i}")
        sym_terms.append(sp.Add(sp.Mul(ai, _show_log(di, b), evaluate=False),
                                sp.Mul(bi, _show_log(sp.Add(1, -di, evaluate=False), b),
                                       evaluate=False),
                                evaluate=False))
        parts = []
        if x != 0:
            parts.append(sp.Mul(x, _show_log(d, b), evaluate=False))
        if y != 0:
            parts.append(sp.Mul(y, _show_log(sp.Add(1, -d, evaluate=False), b),
                                evaluate=False))
        num_terms.append(sp.Add(*parts, evaluate=False) if len(parts) > 1
                         else parts[0] if parts else sp.Integer(0))
    if k <= 2:  # two outcomes already fill a line
        symbolic = sp.Add(*sym_terms, evaluate=False) if k > 1 else sym_terms[0]
        substituted = sp.Add(*num_terms, evaluate=False) if k > 1 else num_terms[0]
    else:
        i = sp.Symbol("i")
        ai, bi, di = sp.Symbol("a_i"), sp.Symbol("b_i"), sp.Symbol("D_i")
        term = sp.Add(sp.Mul(ai, _show_log(di, b), evaluate=False),
                      sp.Mul(bi, _show_log(sp.Add(1, -di, evaluate=False), b), evaluate=False),
                      evaluate=False)
        symbolic, substituted = sp.Sum(term, (i, 1, k)), None
    names = {"a": sp.Symbol("a_i"), "b": sp.Symbol("b_i"), "d": sp.Symbol("D_i")}
    step = Step(key="gan_optimum.c_g", lhs=sym("C_G"), symbolic=symbolic,
                substituted=substituted, value=c_g, data={"k": k, **names})
    return step, c_g, names


def _jsd_steps(pd: list[sp.Rational], pg: list[sp.Rational], b: sp.Basic,
               names: dict[str, sp.Symbol]) -> tuple[list[Step], sp.Basic]:
    """The JSD step group: the mixture m, KL(p_data || m), KL(p_g || m) and their mean. Returns
    the steps and JSD."""
    m = [(x + y) / 2 for x, y in zip(pd, pg, strict=True)]
    s_dm, kl_dm, _ = cross_step("gan_optimum.kl_data_mixture", sym("KL_dm"), pd, m,
                                ("a", "m"), b, ratio=True, q_fractions=False,
                                a=names["a"])
    s_gm, kl_gm, _ = cross_step("gan_optimum.kl_g_mixture", sym("KL_gm"), pg, m,
                                ("b", "m"), b, ratio=True, q_fractions=False,
                                b=names["b"])
    jsd = (kl_dm + kl_gm) / 2
    with sp.evaluate(False):
        jsd_formula = sp.Mul(sp.Rational(1, 2), sp.Add(sym("KL_dm"), sym("KL_gm")))
    steps = [
        Step(key="gan_optimum.mixture", lhs=sym("m_mix"),
             symbolic=sp.Mul(sp.Rational(1, 2), sp.Add(sym("p_data"), sym("p_g"),
                                                        evaluate=False),
                             evaluate=False),
             value=row_vector(m)),
        s_dm, s_gm,
        Step(key="gan_optimum.jsd" if b == sp.E else f"gan_optimum.jsd_{_UNIT[int(b)]}",
             lhs=sym("JSD_gan"), symbolic=jsd_formula, value=jsd),
    ]
    return steps, jsd


def _identity_step(c_g: sp.Basic, jsd: sp.Basic, b: sp.Basic, factor: int = 2) -> Step:
    """C(G) again as -log 4 + 2 JSD, checked against the sum (``factor=1``: the mistake
    ``jsd-factor-lost``, -log 4 + JSD, not checked)."""
    identity = -log_exact(4, b) + factor * jsd
    if factor == 2 and not (identity - c_g).free_symbols and abs(float(identity - c_g)) > 1e-12:
        raise RuntimeError("C(G) and -log 4 + 2 JSD disagree")
    with sp.evaluate(False):
        times = (lambda x: x) if factor == 1 else (lambda x: sp.Mul(2, x))
        id_formula = sp.Add(sp.Mul(-1, _show_log(4, b)), times(sym("JSD_gan")))
        id_numbers = sp.Add(sp.Mul(-1, _show_log(4, b)), times(as_float(jsd)))
    return Step(key="gan_optimum.identity" + ("_factor_lost" if factor == 1 else ""),
                lhs=sym("C_G"), symbolic=id_formula, substituted=id_numbers, value=identity)


@cache
def minimum_steps(equal: bool) -> tuple[Step, ...]:
    """With p_g = p_data, SymPy finds D* = 1/2 and C(G) = -log 4 for any distribution."""
    a = sym("gan_a", positive=True)
    d_half = sp.simplify(a / (a + a))
    per_point = sp.simplify(a * sp.log(d_half) + a * sp.log(1 - d_half))
    total = sp.simplify(per_point / a)  # summed over x, the a's add up to 1
    if d_half != sp.Rational(1, 2) or sp.simplify(total + sp.log(4)) != 0:
        raise RuntimeError("the GAN optimum at p_g = p_data is not D* = 1/2, C = -log 4")
    return (
        Step(key="gan_optimum.equal_d", lhs=sym("D_star"),
             symbolic=sp.Mul(a, sp.Pow(sp.Add(a, a, evaluate=False), -1), evaluate=False),
             value=d_half),
        Step(key="gan_optimum.equal_c", lhs=sym("C_G_equal"),
             symbolic=sp.Add(sp.log(sp.Rational(1, 2), evaluate=False),
                             sp.log(sp.Rational(1, 2), evaluate=False), evaluate=False),
             value=-sp.log(4), data={"minimum": -sp.log(4), "equal": equal}),
        Step(key="gan_optimum.minimum", data={"minimum": -sp.log(4)}),
    )


# ---------------------------------------------------------------------------------------------
# a batch's value and losses


def _probabilities(name: str, v: sp.MatrixBase) -> list[sp.Rational]:
    values = list(v)
    for i, x in enumerate(values, start=1):
        if not 0 < x < 1:
            raise InputError(name, Said("gan.errors.outputs"),
                             Said("inputs.entry", name=name, index=i,
                                  value=plain_number(x, "echo")))
    return values


def _mean_step(key: str, lhs: sp.Basic, args: Sequence[sp.Basic], numbers: Sequence[sp.Basic],
               inner: Any, sign: int, value: sp.Basic, mean: bool = True, **data: Any) -> Step:
    """sign * (1/n) sum inner(arg) (sign * the sum when not ``mean``), written out; the layout
    shows only the value (and the prose) when there are more terms than it writes out."""
    n = len(args)
    factor = sp.Rational(sign, n if mean else 1)
    # evaluate=False by argument: sympy.evaluate(False) would empty SymPy's cache
    sym_sum = (sp.Add(*[inner(a) for a in args], evaluate=False) if n > 1
               else inner(args[0]))
    num_sum = (sp.Add(*[inner(x) for x in numbers], evaluate=False) if n > 1
               else inner(numbers[0]))
    symbolic = sp.Mul(factor, sym_sum, evaluate=False) if factor != 1 else sym_sum
    substituted = sp.Mul(factor, num_sum, evaluate=False) if factor != 1 else num_sum
    return Step(key=key, lhs=lhs, symbolic=symbolic, substituted=substituted, value=value,
                data=data, elidable=terms_of(n, symbolic=None, substituted=None))


def _log(x: sp.Basic) -> sp.Basic:
    return sp.log(x, evaluate=False)


def _log_one_minus(x: sp.Basic) -> sp.Basic:
    return sp.log(sp.Add(1, -x, evaluate=False), evaluate=False)


VALUE_PARAMS = [
    Param("d_real", "array", shapes=(("m",),)),
    Param("d_fake", "array", shapes=(("n",),)),
]


def sample_value(draw: Draw, fixed: dict[str, Any]) -> dict[str, Any]:
    """Two or three real and two or three generated samples (a sum differs from a mean), with
    one-decimal outputs: 0.5 to 0.9 on real samples, 0.1 to 0.5 on generated ones, not all
    0.5 (where the two generator gradients coincide)."""
    dims = bind_dims(VALUE_PARAMS, fixed)
    m, n = dims.get("m", draw.integer(2, 3)), dims.get("n", draw.integer(2, 3))
    out = {"d_real": draw.array((m,), 0.5, 0.9), "d_fake": draw.array((n,), 0.1, 0.5)}
    while all(x == 0.5 for x in out["d_fake"]):
        out["d_fake"] = draw.array((n,), 0.1, 0.5)
    out.update(fixed)
    return out


@derivation(
    "gan-value",
    params=VALUE_PARAMS,
    answers=[
        Answer("V", "number"),
        Answer("loss_D", "number"),
        Answer("loss_G_minimax", "number"),
        Answer("loss_G_nonsaturating", "number"),
        Answer("grad_logit_minimax", "vector", shapes=(("n",),)),
        Answer("grad_logit_nonsaturating", "vector", shapes=(("n",),)),
    ],
    limits={"m": 64, "n": 64},
    mistakes=[
        Mistake("saturating-generator",
                changes=("loss_G_minimax", "loss_G_nonsaturating", "grad_logit_minimax",
                         "grad_logit_nonsaturating"), formula=True),
        Mistake("sum-not-mean",
                changes=("V", "loss_D", "loss_G_minimax", "loss_G_nonsaturating"), formula=True),
        # the discriminator maximises V: its loss to minimise is -V, the sign left out here
        Mistake("loss-d-sign", changes=("loss_D",), formula=True),
        # the calculator's log key: every logarithm to base 10
        Mistake("log-base-10", changes=("V", "loss_D", "loss_G_minimax", "loss_G_nonsaturating"),
                formula=True),
        # the non-saturating loss without its minus sign: the mean of log D(G(z)) itself
        Mistake("loss-g-sign", changes=("loss_G_nonsaturating",), formula=True),
        # one mean over all m + n samples (BCELoss on the real and generated outputs stacked),
        # not a mean per batch; with m = n exactly half
        Mistake("pooled-mean", changes=("V", "loss_D"), formula=True),
    ],
    sampler=sample_value,
)
def gan_value(d_real: sp.ImmutableMatrix, d_fake: sp.ImmutableMatrix,
              mistake: str | None = None) -> Result:
    """V(D, G) on a batch, the discriminator's loss and the generator's two losses (nats).

    Args:
        d_real: the discriminator's outputs D(x) on real samples, each in (0, 1).
        d_fake: its outputs D(G(z)) on generated samples, each in (0, 1).
        mistake: ``saturating-generator`` (the two generator losses, and their gradients,
            exchanged) or ``sum-not-mean`` (the batch summed instead of averaged).
    """
    real = _probabilities("d_real", d_real)
    fake = _probabilities("d_fake", d_fake)
    m, n = len(real), len(fake)
    mean = mistake != "sum-not-mean"
    div_m, div_n = (m, n) if mean else (1, 1)
    disc, gen = sp.Function("D"), sp.Function("G")
    xs = [disc(sp.Symbol(f"x_{i}")) for i in range(1, m + 1)]
    zs = [disc(gen(sp.Symbol(f"z_{j}"))) for j in range(1, n + 1)]
    b = sp.Integer(10) if mistake == "log-base-10" else sp.E

    def lg(x: sp.Basic) -> sp.Basic:
        return sp.log(x) if b == sp.E else sp.log(x) / sp.log(b)

    def shown_log(x: sp.Basic) -> sp.Basic:
        return _log(x) if b == sp.E else Log(x, b)

    def shown_log_one_minus(x: sp.Basic) -> sp.Basic:
        return _log_one_minus(x) if b == sp.E else Log(sp.Add(1, -x, evaluate=False), b)

    mean_log_real = sp.Add(*[lg(x) for x in real]) / div_m
    mean_log_fake = sp.Add(*[lg(1 - x) for x in fake]) / div_n
    mean_log_d_fake = sp.Add(*[lg(x) for x in fake]) / div_n
    value = mean_log_real + mean_log_fake
    suffix = "" if mean else "_sum"
    real_step = _mean_step("gan_value.real_term" + suffix, sym("V_real"), xs, real, shown_log,
                           1, mean_log_real, mean, m=m)
    fake_step = _mean_step("gan_value.fake_term" + suffix, sym("V_fake"), zs, fake,
                           shown_log_one_minus, 1, mean_log_fake, mean, n=n)
    with sp.evaluate(False):
        v_formula = sp.Add(sym("V_real"), sym("V_fake"))
        v_numbers = sp.Add(as_float(mean_log_real), as_float(mean_log_fake))
    value_key = "gan_value.value"
    if mistake == "pooled-mean":  # one mean over the m + n samples together
        value = (m * mean_log_real + n * mean_log_fake) / (m + n)
        value_key = "gan_value.value_pooled"
        with sp.evaluate(False):
            v_formula = sp.Mul(sp.Pow(sp.Add(sym("gan_m"), sym("gan_n")), -1), sp.Add(
                sp.Mul(sym("gan_m"), sym("V_real")), sp.Mul(sym("gan_n"), sym("V_fake"))))
            v_numbers = sp.Mul(sp.Pow(sp.Add(m, n), -1), sp.Add(
                sp.Mul(m, as_float(mean_log_real)),
                sp.Mul(n, as_float(mean_log_fake))))
    steps = [
        Step(key="gan_value.batch" if b == sp.E else "gan_value.batch_hartleys",
             data={"m": m, "n": n, "d_real": row_vector(real), "d_fake": row_vector(fake)}),
        real_step,
        fake_step,
        Step(key=value_key, lhs=sym("V_DG"), symbolic=v_formula, substituted=v_numbers,
             value=value, data={"m": m, "n": n}),
        Step(key="gan_value.loss_d", lhs=sym("L_D"), symbolic=sp.Mul(-1, sym("V_DG"),
                                                                      evaluate=False),
             value=-value,
             # named as computed: two batch means added, not one mean over the pooled samples
             data={"m": m, "n": n, "total": m + n,
                   "pooled": -(m * mean_log_real + n * mean_log_fake) / (m + n)}),
        # the minimax loss is the generated term itself: named, not written out again
        Step(key="gan_value.loss_g_minimax", lhs=sym("L_G_mm"), symbolic=sym("V_fake"),
             value=mean_log_fake, data={"n": n}),
        _mean_step("gan_value.loss_g_nonsaturating" + suffix, sym("L_G_ns"), zs, fake,
                   shown_log, -1, -mean_log_d_fake, mean, n=n),
    ]
    if mistake == "loss-g-sign":  # + the mean of log D(G(z)): the minus sign left out
        steps[-1] = _mean_step("gan_value.loss_g_nonsaturating_unsigned", sym("L_G_ns"), zs,
                               fake, shown_log, 1, mean_log_d_fake, mean, n=n)

    # why the non-saturating loss: gradients with respect to the discriminator's logit s
    s = sym("gan_s")
    sigma = 1 / (1 + sp.exp(-s))
    g_minimax = sp.diff(sp.log(1 - sigma), s)
    g_ns = sp.diff(-sp.log(sigma), s)
    if sp.simplify(g_minimax + sigma) != 0 or sp.simplify(g_ns - (sigma - 1)) != 0:
        raise RuntimeError("the logit gradients did not simplify to -sigma and sigma - 1")
    with sp.evaluate(False):
        lhs_mm = sp.Derivative(sp.log(sp.Add(1, sp.Mul(-1, Sigmoid(s)))), s)
        lhs_ns = sp.Derivative(sp.Mul(-1, sp.log(Sigmoid(s))), s)
        shown_mm = sp.Mul(-1, Sigmoid(s))
        shown_ns = sp.Add(Sigmoid(s), -1)
    grad_mm = [-x for x in fake]
    grad_ns = [x - 1 for x in fake]
    steps += [
        Step(key="gan_value.gradient_minimax", lhs=lhs_mm, symbolic=shown_mm,
             substituted=None, value=row_vector(grad_mm), data={"n": n}),
        Step(key="gan_value.gradient_nonsaturating", lhs=lhs_ns, symbolic=shown_ns,
             value=row_vector(grad_ns), data={"n": n}),
        Step(key="gan_value.saturation",
             # (SymPy's Min: a trace decides no comparison of two equal entries)
             data={"smallest": sp.Min(*fake), "grad_mm": -sp.Min(*fake),
                   "grad_ns": sp.Min(*fake) - 1}),
    ]
    losses = {"loss_G_minimax": mean_log_fake, "loss_G_nonsaturating": -mean_log_d_fake
              if mistake != "loss-g-sign" else mean_log_d_fake,
              "grad_logit_minimax": grad_mm, "grad_logit_nonsaturating": grad_ns}
    if mistake == "saturating-generator":
        steps = _generator_losses_exchanged(steps)
        losses = {"loss_G_minimax": -mean_log_d_fake, "loss_G_nonsaturating": mean_log_fake,
                  "grad_logit_minimax": grad_ns, "grad_logit_nonsaturating": grad_mm}
    loss_d = -value
    if mistake == "loss-d-sign":  # L_D = V: the discriminator's loss without its minus sign
        loss_d = value
        steps = [replace(step, key="gan_value.loss_d_unsigned", symbolic=sym("V_DG"),
                         value=value) if step.key == "gan_value.loss_d" else step
                 for step in steps]
    return Result(
        convention="nats",
        steps=tuple(steps),
        answers={"V": value, "loss_D": loss_d, **losses},
    )


# each generator loss's step and the step computed in its place when the two are exchanged
_EXCHANGED = {
    "gan_value.loss_g_minimax": "gan_value.loss_g_nonsaturating",
    "gan_value.loss_g_nonsaturating": "gan_value.loss_g_minimax",
    "gan_value.gradient_minimax": "gan_value.gradient_nonsaturating",
    "gan_value.gradient_nonsaturating": "gan_value.gradient_minimax",
}


def _generator_losses_exchanged(steps: list[Step]) -> list[Step]:
    """The steps of a student who exchanges the two generator losses: each loss's name (and
    its gradient's) is put on the other's formula, under a key that says it is taken so."""
    by_key = {s.key: s for s in steps}
    out = []
    for s in steps:
        if s.key not in _EXCHANGED:
            out.append(s)
            continue
        other = by_key[_EXCHANGED[s.key]]
        # a loss keeps its name; a gradient's left side is the derivative actually taken
        lhs = other.lhs if s.key.startswith("gan_value.gradient") else s.lhs
        out.append(replace(other, key=s.key + "_exchanged", lhs=lhs))
    return out
