"""GAN: the optimal discriminator, C(G) = -log 4 + 2 JSD, and the value and losses of a batch.

Goodfellow et al. (2014): V(D, G) = E_{x~p_data}[log D(x)] + E_{z~p_z}[log(1 - D(G(z)))]. For a
fixed generator, each x contributes p_data(x) log D(x) + p_g(x) log(1 - D(x)), which SymPy
maximises pointwise (a log y + b log(1 - y) peaks at y = a / (a + b)). Natural logarithms (nats)
throughout, so the minimum of C(G) is -log 4.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sympy as sp
from sympy.printing.precedence import PRECEDENCE

from dlexam.derivations.core import Result, Step, derivation
from dlexam.derivations.distributions import (
    WRITTEN_OUT,
    cross_step,
    decimal_shown,
    distribution,
    distributions_step,
)
from dlexam.derivations.notation import Notation, Operator, Ratio, exact_shown, row_vector, sym
from dlexam.derivations.params import Param
from dlexam.errors import InputError


class Sigmoid(Operator):
    """The logistic function, written sigma(s)."""

    name = "sigma"

    def _latex(self, printer: Any, exp: Any = None) -> str:
        return rf"\sigma\left({printer._print(self.args[0])}\right)"

    def _sympystr(self, printer: Any) -> str:
        return f"σ({printer._print(self.args[0])})"


class Expectation(Notation):
    """E_{x ~ p}[f(x)]: an expectation, written as such (it never evaluates)."""


    def _latex(self, printer: Any, exp: Any = None) -> str:
        body, var, dist = (printer._print(a) for a in self.args)
        return rf"\mathrm{{E}}_{{{var} \sim {dist}}}\left[{body}\right]"

    def _sympystr(self, printer: Any) -> str:
        body, var, dist = (printer._print(a) for a in self.args)
        return f"E_({var}~{dist})[{body}]"


class Applied(Notation):
    """A function of the notation table applied to an argument: p_data(x), p_g(x)."""


    def _latex(self, printer: Any, exp: Any = None) -> str:
        return f"{printer._print(self.args[0])}({printer._print(self.args[1])})"

    def _sympystr(self, printer: Any) -> str:
        return f"{printer._print(self.args[0])}({printer._print(self.args[1])})"


class SumOver(Notation):
    """The sum of a term over every value of a variable (the outcomes of a support): sum_x."""


    def _latex(self, printer: Any, exp: Any = None) -> str:
        body, var = self.args
        return rf"\sum_{{{printer._print(var)}}} " + printer.parenthesize(
            body, PRECEDENCE["Mul"], strict=True)

    def _sympystr(self, printer: Any) -> str:
        body, var = self.args
        return f"Σ_{printer._print(var)} " + printer.parenthesize(body, PRECEDENCE["Mul"],
                                                                 strict=True)


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


@derivation(
    "gan-optimum",
    params=[
        Param("p_data", "array", shapes=(("k",),)),
        Param("p_g", "array", shapes=(("k",),)),
        Param("normalize", "bool", default=False),
    ],
)
def gan_optimum(p_data: sp.ImmutableMatrix, p_g: sp.ImmutableMatrix, normalize: bool) -> Result:
    """D*(x) = p_data / (p_data + p_g) and C(G) = -log 4 + 2 JSD(p_data || p_g), in nats.

    Args:
        p_data: the data distribution over a discrete support.
        p_g: the generator's distribution over the same support.
        normalize: divide each by its sum instead of requiring sums of 1.
    """
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
    steps = [given, *value_function_steps(), *maximum]
    a_sym, b_sym = sym("p_data"), sym("p_g")
    with sp.evaluate(False):
        general = sp.Mul(a_sym, sp.Pow(sp.Add(a_sym, b_sym), -1))
    outside = [i for i, (x, y) in enumerate(zip(pd, pg, strict=True), start=1) if x + y == 0]
    d_star = [sp.Rational(1, 2) if x + y == 0 else x / (x + y)
              for x, y in zip(pd, pg, strict=True)]
    written = row_vector([Ratio(exact_shown(x), sp.Add(exact_shown(x), exact_shown(y),
                                                       evaluate=False))
                          for x, y in zip(pd, pg, strict=True)]) if k <= WRITTEN_OUT else None
    steps.append(Step(key="gan_optimum.d_star", lhs=sym("D_star"), symbolic=general,
                      substituted=written, value=row_vector(d_star), data={"k": k}))
    if outside:
        steps.append(Step(key="gan_optimum.outside_support" if len(outside) == 1
                          else "gan_optimum.outside_support_many",
                          data={"points": ", ".join(str(i) for i in outside)}))

    # C(G) = V(D*, G)
    terms = []
    for x, y, d in zip(pd, pg, d_star, strict=True):
        if x != 0:
            terms.append(x * sp.log(d))
        if y != 0:
            terms.append(y * sp.log(1 - d))
    c_g = sp.Add(*terms)
    sym_terms, num_terms = [], []
    for i, (x, y, d) in enumerate(zip(pd, pg, d_star, strict=True), start=1):
        ai, bi, di = sp.Symbol(f"a_{i}"), sp.Symbol(f"b_{i}"), sp.Symbol(f"D_{i}")
        sym_terms.append(sp.Add(sp.Mul(ai, sp.log(di, evaluate=False), evaluate=False),
                                sp.Mul(bi, sp.log(sp.Add(1, -di, evaluate=False),
                                                  evaluate=False), evaluate=False),
                                evaluate=False))
        parts = []
        if x != 0:
            parts.append(sp.Mul(x, sp.log(d, evaluate=False), evaluate=False))
        if y != 0:
            parts.append(sp.Mul(y, sp.log(sp.Add(1, -d, evaluate=False), evaluate=False),
                                evaluate=False))
        num_terms.append(sp.Add(*parts, evaluate=False) if len(parts) > 1
                         else parts[0] if parts else sp.Integer(0))
    if k <= 2:  # two outcomes already fill a line
        symbolic = sp.Add(*sym_terms, evaluate=False) if k > 1 else sym_terms[0]
        substituted = sp.Add(*num_terms, evaluate=False) if k > 1 else num_terms[0]
    else:
        i = sp.Symbol("i")
        ai, bi, di = sp.Symbol("a_i"), sp.Symbol("b_i"), sp.Symbol("D_i")
        term = sp.Add(sp.Mul(ai, sp.log(di, evaluate=False), evaluate=False),
                      sp.Mul(bi, sp.log(sp.Add(1, -di, evaluate=False), evaluate=False),
                             evaluate=False), evaluate=False)
        symbolic, substituted = sp.Sum(term, (i, 1, k)), None
    names = {"a": sp.Symbol("a_i"), "b": sp.Symbol("b_i"), "d": sp.Symbol("D_i")}
    steps.append(Step(key="gan_optimum.c_g", lhs=sym("C_G"), symbolic=symbolic,
                      substituted=substituted, value=c_g, data={"k": k, **names}))

    # the same number as -log 4 + 2 JSD
    m = [(x + y) / 2 for x, y in zip(pd, pg, strict=True)]
    s_dm, kl_dm, _ = cross_step("gan_optimum.kl_data_mixture", sym("KL_dm"), pd, m,
                                ("a", "m"), sp.E, ratio=True, shown_q=decimal_shown,
                                a=names["a"])
    s_gm, kl_gm, _ = cross_step("gan_optimum.kl_g_mixture", sym("KL_gm"), pg, m,
                                ("b", "m"), sp.E, ratio=True, shown_q=decimal_shown,
                                b=names["b"])
    jsd = (kl_dm + kl_gm) / 2
    with sp.evaluate(False):
        jsd_formula = sp.Mul(sp.Rational(1, 2), sp.Add(sym("KL_dm"), sym("KL_gm")))
    steps += [
        Step(key="gan_optimum.mixture", lhs=sym("m_mix"),
             symbolic=sp.Mul(sp.Rational(1, 2), sp.Add(a_sym, b_sym, evaluate=False),
                             evaluate=False),
             value=row_vector(m)),
        s_dm, s_gm,
        Step(key="gan_optimum.jsd", lhs=sym("JSD_gan"), symbolic=jsd_formula, value=jsd),
    ]
    identity = -sp.log(4) + 2 * jsd
    if abs(float(identity - c_g)) > 1e-12:
        raise RuntimeError("C(G) and -log 4 + 2 JSD disagree")
    with sp.evaluate(False):
        id_formula = sp.Add(sp.Mul(-1, sp.log(4)), sp.Mul(2, sym("JSD_gan")))
        id_numbers = sp.Add(sp.Mul(-1, sp.log(4)), sp.Mul(2, sp.Float(float(jsd))))
    steps.append(Step(key="gan_optimum.identity", lhs=sym("C_G"), symbolic=id_formula,
                      substituted=id_numbers, value=identity))
    steps += minimum_steps(equal=pd == pg)
    return Result(
        derivation="gan-optimum",
        params={},
        convention="nats",
        steps=tuple(steps),
        answers={
            "D_star": d_star,
            "jsd": jsd,
            "C_G": c_g,
            "C_G_minimum": -sp.log(4),
            "gap": 2 * jsd,
        },
    )


def minimum_steps(equal: bool) -> list[Step]:
    """With p_g = p_data, SymPy finds D* = 1/2 and C(G) = -log 4 for any distribution."""
    a = sym("gan_a", positive=True)
    d_half = sp.simplify(a / (a + a))
    per_point = sp.simplify(a * sp.log(d_half) + a * sp.log(1 - d_half))
    total = sp.simplify(per_point / a)  # summed over x, the a's add up to 1
    if d_half != sp.Rational(1, 2) or sp.simplify(total + sp.log(4)) != 0:
        raise RuntimeError("the GAN optimum at p_g = p_data is not D* = 1/2, C = -log 4")
    return [
        Step(key="gan_optimum.equal_d", lhs=sym("D_star"),
             symbolic=sp.Mul(a, sp.Pow(sp.Add(a, a, evaluate=False), -1), evaluate=False),
             value=d_half),
        Step(key="gan_optimum.equal_c", lhs=sym("C_G_equal"),
             symbolic=sp.Add(sp.log(sp.Rational(1, 2), evaluate=False),
                             sp.log(sp.Rational(1, 2), evaluate=False), evaluate=False),
             value=-sp.log(4), data={"minimum": -sp.log(4), "equal": equal}),
        Step(key="gan_optimum.minimum", data={"minimum": -sp.log(4)}),
    ]


# ---------------------------------------------------------------------------------------------
# a batch's value and losses


def _probabilities(name: str, v: sp.MatrixBase) -> list[sp.Rational]:
    values = list(v)
    for i, x in enumerate(values, start=1):
        if not 0 < x < 1:
            raise InputError(name, "discriminator outputs strictly between 0 and 1",
                             f"{name}[{i}] = {float(x):g}")
    return values


def _mean_step(key: str, lhs: sp.Basic, args: Sequence[sp.Basic], numbers: Sequence[sp.Basic],
               inner: Any, sign: int, value: sp.Basic, **data: Any) -> Step:
    """sign * (1/n) sum inner(arg): written out when short."""
    n = len(args)
    if n > WRITTEN_OUT:
        return Step(key=key, lhs=lhs, symbolic=None, value=value, data=data)
    with sp.evaluate(False):
        sym_sum = sp.Add(*[inner(a) for a in args]) if n > 1 else inner(args[0])
        num_sum = sp.Add(*[inner(x) for x in numbers]) if n > 1 else inner(numbers[0])
        symbolic = sp.Mul(sp.Rational(sign, n), sym_sum) if n > 1 or sign < 0 else sym_sum
        substituted = sp.Mul(sp.Rational(sign, n), num_sum) if n > 1 or sign < 0 else num_sum
    return Step(key=key, lhs=lhs, symbolic=symbolic, substituted=substituted, value=value,
                data=data)


def _log(x: sp.Basic) -> sp.Basic:
    return sp.log(x, evaluate=False)


def _log_one_minus(x: sp.Basic) -> sp.Basic:
    return sp.log(sp.Add(1, -x, evaluate=False), evaluate=False)


@derivation(
    "gan-value",
    params=[
        Param("d_real", "array", shapes=(("m",),)),
        Param("d_fake", "array", shapes=(("n",),)),
    ],
)
def gan_value(d_real: sp.ImmutableMatrix, d_fake: sp.ImmutableMatrix) -> Result:
    """V(D, G) on a batch, the discriminator's loss and the generator's two losses (nats).

    Args:
        d_real: the discriminator's outputs D(x) on real samples, each in (0, 1).
        d_fake: its outputs D(G(z)) on generated samples, each in (0, 1).
    """
    real = _probabilities("d_real", d_real)
    fake = _probabilities("d_fake", d_fake)
    m, n = len(real), len(fake)
    disc, gen = sp.Function("D"), sp.Function("G")
    xs = [disc(sp.Symbol(f"x_{i}")) for i in range(1, m + 1)]
    zs = [disc(gen(sp.Symbol(f"z_{j}"))) for j in range(1, n + 1)]
    mean_log_real = sp.Add(*[sp.log(x) for x in real]) / m
    mean_log_fake = sp.Add(*[sp.log(1 - x) for x in fake]) / n
    mean_log_d_fake = sp.Add(*[sp.log(x) for x in fake]) / n
    value = mean_log_real + mean_log_fake
    real_step = _mean_step("gan_value.real_term", sym("V_real"), xs, real, _log, 1,
                           mean_log_real, m=m)
    fake_step = _mean_step("gan_value.fake_term", sym("V_fake"), zs, fake,
                           _log_one_minus, 1, mean_log_fake, n=n)
    with sp.evaluate(False):
        v_formula = sp.Add(sym("V_real"), sym("V_fake"))
        v_numbers = sp.Add(sp.Float(float(mean_log_real)), sp.Float(float(mean_log_fake)))
    steps = [
        Step(key="gan_value.batch", data={"m": m, "n": n, "d_real": row_vector(real),
                                          "d_fake": row_vector(fake)}),
        real_step,
        fake_step,
        Step(key="gan_value.value", lhs=sym("V_DG"), symbolic=v_formula, substituted=v_numbers,
             value=value),
        Step(key="gan_value.loss_d", lhs=sym("L_D"), symbolic=sp.Mul(-1, sym("V_DG"),
                                                                      evaluate=False),
             value=-value),
        # the minimax loss is the generated term itself: named, not written out again
        Step(key="gan_value.loss_g_minimax", lhs=sym("L_G_mm"), symbolic=sym("V_fake"),
             value=mean_log_fake, data={"n": n}),
        _mean_step("gan_value.loss_g_nonsaturating", sym("L_G_ns"), zs, fake, _log, -1,
                   -mean_log_d_fake, n=n),
    ]

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
             data={"smallest": min(fake), "grad_mm": -min(fake), "grad_ns": min(fake) - 1}),
    ]
    return Result(
        derivation="gan-value",
        params={},
        convention="nats",
        steps=tuple(steps),
        answers={
            "V": value,
            "loss_D": -value,
            "loss_G_minimax": mean_log_fake,
            "loss_G_nonsaturating": -mean_log_d_fake,
            "grad_logit_minimax": grad_mm,
            "grad_logit_nonsaturating": grad_ns,
        },
    )
