"""Information theory: entropy, cross-entropy, KL and JS divergence, and softmax cross-entropy.

Discrete distributions over one support, logarithms in base 2 (bits), e (nats) or 10 (hartleys),
with 0 log 0 = 0. Values stay exact (sums of logarithms of rationals); KL divergence is infinite
where q is 0 and p is not, and the steps say where.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import sympy as sp

from dlexam.derivations.attention import EXACT_LIMIT, row_vector
from dlexam.derivations.core import Result, Step, derivation
from dlexam.derivations.notation import Notation, Ratio, Stack, exact_shown, is_exact_short, sym
from dlexam.derivations.params import Param
from dlexam.errors import InputError

WRITTEN_OUT = 4
"""Sums over at most this many outcomes are written out term by term (wider ones overflow a
page); longer ones show the sigma form and the value."""

TOLERANCE = sp.Rational(1, 10**9)
"""How far from 1 a distribution's sum may be."""

UNITS = {"2": "bits", "e": "nats", "10": "hartleys"}


class Log(Notation):
    """log_b(x), kept unevaluated in formulas; base e prints as ln."""


    def _latex(self, printer: Any, exp: Any = None) -> str:
        x, base = self.args
        arg = printer._print(x)
        if base == sp.E:
            return rf"\ln\left({arg}\right)"
        return rf"\log_{{{printer._print(base)}}}\left({arg}\right)"

    def _sympystr(self, printer: Any) -> str:
        x, base = self.args
        name = "ln" if base == sp.E else f"log_{printer._print(base)}"
        return f"{name}({printer._print(x)})"


def base_number(base: str) -> sp.Basic:
    """2, E or 10."""
    return sp.E if base == "e" else sp.Integer(int(base))


def log_exact(x: sp.Basic, base: sp.Basic) -> sp.Basic:
    """The exact logarithm of x in the base (natural logs divided by log b)."""
    return sp.log(x) if base == sp.E else sp.log(x) / sp.log(base)


def distribution(name: str, v: sp.MatrixBase, normalize: bool) -> list[sp.Rational]:
    """The probabilities of a vector, checked (and normalised when asked).

    Raises:
        InputError: a negative entry, or a sum other than 1 without normalize=true.
    """
    values = list(v)
    for i, x in enumerate(values, start=1):
        if x < 0:
            raise InputError(name, "non-negative probabilities", f"{name}_{i} = {float(x):g}")
    total = sp.Add(*values)
    if normalize:
        if total == 0:
            raise InputError(name, "at least one positive entry (to normalise)", "all zeros")
        return [x / total for x in values]
    if abs(total - 1) > TOLERANCE:
        raise InputError(name, "probabilities that sum to 1 (or normalize=true)",
                         f"a sum of {float(total):.12g}")
    return values


def _indexed(letter: str, i: int) -> sp.Symbol:
    return sp.Symbol(f"{letter}_{i}")


def _sum_step(key: str, lhs: sp.Basic, symbolic_terms: Sequence[sp.Basic],
              number_terms: Sequence[sp.Basic], negate: bool, value: sp.Basic,
              general: sp.Basic, **data: Any) -> Step:
    """A sum over the outcomes, written out when short; ``general`` is its Sigma form."""
    if len(symbolic_terms) > WRITTEN_OUT:
        return Step(key=key, lhs=lhs, symbolic=general, value=value, data=data)
    with sp.evaluate(False):
        symbolic = sp.Add(*symbolic_terms) if len(symbolic_terms) > 1 else symbolic_terms[0]
        numbers = sp.Add(*number_terms) if len(number_terms) > 1 else number_terms[0]
        if negate:
            symbolic, numbers = sp.Mul(-1, symbolic), sp.Mul(-1, numbers)
    return Step(key=key, lhs=lhs, symbolic=symbolic, substituted=numbers, value=value, data=data)


def _general(term: sp.Basic, k: int, negate: bool) -> sp.Basic:
    i = sp.Symbol("i")
    total = sp.Sum(term, (i, 1, k))
    return sp.Mul(-1, total, evaluate=False) if negate else total


def entropy_step(key: str, lhs: sp.Basic, p: Sequence[sp.Rational], letter: str,
                 base: sp.Basic, **data: Any) -> tuple[Step, sp.Basic]:
    """H(p) = -sum p_i log p_i, with 0 log 0 = 0."""
    sym_terms, num_terms = [], []
    for i, x in enumerate(p, start=1):
        pi = _indexed(letter, i)
        sym_terms.append(sp.Mul(pi, Log(pi, base), evaluate=False))
        shown = exact_shown(x)
        num_terms.append(sp.Integer(0) if x == 0 else sp.Mul(shown, Log(shown, base),
                                                               evaluate=False))
    value = -sp.Add(*[x * log_exact(x, base) for x in p if x != 0])
    pi = sp.Symbol(f"{letter}_i")
    general = _general(sp.Mul(pi, Log(pi, base), evaluate=False), len(p), True)
    zeros = sum(1 for x in p if x == 0)
    if zeros:
        key += "_zeros"
    step = _sum_step(key, lhs, sym_terms, num_terms, True, value, general, zeros=zeros, **data)
    return step, value


def cross_step(key: str, lhs: sp.Basic, p: Sequence[sp.Rational], q: Sequence[sp.Rational],
               letters: tuple[str, str], base: sp.Basic, ratio: bool,
               shown_q: Callable[[sp.Basic], sp.Basic] = exact_shown, **data: Any
               ) -> tuple[Step, sp.Basic, int | None]:
    """-sum p_i log q_i (cross-entropy) or sum p_i log(p_i / q_i) (KL divergence).

    ``shown_q`` is how q's probabilities are put into the formula (:func:`decimal_shown` for a
    mixture, whose exact entries such as 26/75 read badly); the value stays exact.

    Returns the step, the exact value (oo when some q_i = 0 < p_i) and the first such index.
    """
    a, b = letters
    sym_terms, num_terms = [], []
    infinite_at: int | None = None
    value_terms = []
    for i, (x, y) in enumerate(zip(p, q, strict=True), start=1):
        pi, qi = _indexed(a, i), _indexed(b, i)
        inner_sym = Ratio(pi, qi) if ratio else qi
        sym_terms.append(sp.Mul(pi, Log(inner_sym, base), evaluate=False))
        if x == 0:
            num_terms.append(sp.Integer(0))
            continue
        inner = Ratio(exact_shown(x), shown_q(y)) if ratio else shown_q(y)
        num_terms.append(sp.Mul(exact_shown(x), Log(inner, base), evaluate=False))
        if y == 0:
            infinite_at = infinite_at or i
            continue
        value_terms.append(x * log_exact(x / y if ratio else y, base))
    if infinite_at is not None:
        value: sp.Basic = sp.oo
    else:
        total = sp.Add(*value_terms)
        value = total if ratio else -total
    pi, qi = sp.Symbol(f"{a}_i"), sp.Symbol(f"{b}_i")
    inner_general = Ratio(pi, qi) if ratio else qi
    general = _general(sp.Mul(pi, Log(inner_general, base), evaluate=False), len(p), not ratio)
    step = _sum_step(key, lhs, sym_terms, num_terms, not ratio, value, general, **data)
    return step, value, infinite_at


def decimal_shown(v: sp.Basic) -> sp.Basic:
    """A probability put into a formula as a decimal: exact when a short decimal writes it
    (0.175), else a Float shown rounded (26/75 as 0.3467)."""
    return v if v.is_Integer or is_exact_short(v) else sp.Float(float(v))


def _shown(v: sp.Basic) -> sp.Basic:
    """A probability put into a formula: rationals exact (1/3 as a fraction), e^2/(1+e^2) as a
    Float."""
    return exact_shown(v) if v.is_Rational else sp.Float(float(v))


def distributions_step(key: str, names: tuple[str, str], first: Sequence[sp.Rational],
                       second: Sequence[sp.Rational], **data: Any) -> Step:
    """The two distributions as the derivation uses them, one row each and exact: [p; q] = ..."""
    return Step(key=key, lhs=Stack(*(sym(n) for n in names)),
                symbolic=sp.ImmutableMatrix([[exact_shown(x) for x in first],
                                             [exact_shown(x) for x in second]]),
                data=data)


def _float(v: sp.Basic) -> sp.Basic:
    """A value as a number to put into a formula (oo stays oo).

    Decided by structure: ``v`` may be an unevaluated tree (``-own`` under evaluate(False)),
    where SymPy's assumptions (``is_finite``) can contradict themselves.
    """
    return v if v.has(sp.oo, sp.S.NegativeInfinity, sp.zoo) else sp.Float(float(v))


@derivation(
    "information",
    params=[
        Param("p", "array", shapes=(("k",),)),
        Param("q", "array", shapes=(("k",),)),
        Param("base", "choice", default="e", choices=tuple(UNITS)),
        Param("normalize", "bool", default=False),
    ],
)
def information(p: sp.ImmutableMatrix, q: sp.ImmutableMatrix, base: str, normalize: bool
                ) -> Result:
    """Entropies, cross-entropy, both KL divergences and the Jensen-Shannon divergence.

    Args:
        p: the first distribution (non-negative, summing to 1).
        q: the second distribution, over the same outcomes.
        base: the logarithm's base: ``2`` (bits), ``e`` (nats) or ``10`` (hartleys).
        normalize: divide p and q by their sums instead of requiring sums of 1.
    """
    ps = distribution("p", p, normalize)
    qs = distribution("q", q, normalize)
    b = base_number(base)
    unit = UNITS[base]
    k = len(ps)
    steps: list[Step] = [Step(key=f"information.unit_{unit}", data={"base": b, "k": k})]
    if normalize:
        steps.append(distributions_step("information.normalized", ("p_vec", "q_vec"), ps, qs,
                                        p_given=row_vector(list(p)), q_given=row_vector(list(q))))
    else:
        steps.append(distributions_step("information.given", ("p_vec", "q_vec"), ps, qs, k=k))

    s_hp, h_p = entropy_step("information.entropy", sym("H_p"), ps, "p", b, name=sp.Symbol("p"))
    s_hq, h_q = entropy_step("information.entropy", sym("H_q"), qs, "q", b, name=sp.Symbol("q"))
    steps += [s_hp, s_hq]
    s_ce, h_pq, ce_inf = cross_step("information.cross_entropy", sym("H_pq"), ps, qs,
                                    ("p", "q"), b, ratio=False)
    steps.append(s_ce)
    if ce_inf is not None:
        steps.append(_infinite("information.cross_entropy_infinite", ce_inf, ps, qs, "p", "q"))

    kls = {}
    for name, lhs, first, second, letters in (
        ("pq", sym("KL_pq"), ps, qs, ("p", "q")),
        ("qp", sym("KL_qp"), qs, ps, ("q", "p")),
    ):
        step, kl, inf_at = cross_step(f"information.kl_{name}", lhs, first, second, letters, b,
                                      ratio=True)
        steps.append(step)
        if inf_at is not None:
            steps.append(_infinite(f"information.kl_{name}_infinite", inf_at, first, second,
                                   *letters))
        else:
            cross = h_pq if name == "pq" else _cross_value(qs, ps, b)
            own = h_p if name == "pq" else h_q
            h_cross = sym("H_pq") if name == "pq" else sp.Symbol("H(q, p)")
            h_own = sym("H_p") if name == "pq" else sym("H_q")
            with sp.evaluate(False):
                formula = sp.Add(h_cross, sp.Mul(-1, h_own))
                numbers = sp.Add(_float(cross), _float(-own))
            steps.append(Step(key=f"information.kl_{name}_identity", lhs=lhs, symbolic=formula,
                              substituted=numbers, value=cross - own))
        kls[name] = kl
    steps.append(Step(key="information.asymmetry",
                      data={"kl_pq": kls["pq"], "kl_qp": kls["qp"],
                            "equal": bool(kls["pq"] == kls["qp"])}))

    m = [(x + y) / 2 for x, y in zip(ps, qs, strict=True)]
    with sp.evaluate(False):
        m_formula = sp.Mul(sp.Rational(1, 2), sp.Add(sym("p_vec"), sym("q_vec")))
    # m is shown in decimals (0.3467, not 26/75), and put into the logs as shown
    steps.append(Step(key="information.mixture", lhs=sym("m_mix"), symbolic=m_formula,
                      value=row_vector(m)))
    s_pm, kl_pm, _ = cross_step("information.kl_pm", sym("KL_pm"), ps, m, ("p", "m"), b,
                                ratio=True, shown_q=decimal_shown)
    s_qm, kl_qm, _ = cross_step("information.kl_qm", sym("KL_qm"), qs, m, ("q", "m"), b,
                                ratio=True, shown_q=decimal_shown)
    jsd = (kl_pm + kl_qm) / 2
    with sp.evaluate(False):
        jsd_formula = sp.Mul(sp.Rational(1, 2), sp.Add(sym("KL_pm"), sym("KL_qm")))
        jsd_numbers = sp.Mul(sp.Rational(1, 2), sp.Add(_float(kl_pm), _float(kl_qm)))
    steps += [s_pm, s_qm,
              Step(key="information.jsd", lhs=sym("JSD"), symbolic=jsd_formula,
                   substituted=jsd_numbers, value=jsd, data={"bound": log_exact(2, b)})]
    return Result(
        derivation="information",
        params={},
        convention=unit,
        steps=tuple(steps),
        answers={
            "entropy_p": h_p,
            "entropy_q": h_q,
            "cross_entropy": h_pq,
            "kl_pq": kls["pq"],
            "kl_qp": kls["qp"],
            "jsd": jsd,
            "unit": unit,
            "base": base,
        },
    )


def _cross_value(p: Sequence[sp.Rational], q: Sequence[sp.Rational], base: sp.Basic
                 ) -> sp.Basic:
    return -sp.Add(*[x * log_exact(y, base) for x, y in zip(p, q, strict=True) if x != 0])


def _infinite(key: str, index: int, first: Sequence[sp.Rational], second: Sequence[sp.Rational],
              a: str, b: str) -> Step:
    """Why a divergence is infinite: outcome ``index`` has probability under a but none under b."""
    return Step(key=key, data={"index": index, "first": sp.Symbol(a), "second": sp.Symbol(b),
                               "value": first[index - 1]})


# ---------------------------------------------------------------------------------------------
# softmax cross-entropy


def _target(label: sp.Basic | sp.MatrixBase, k: int) -> tuple[list[sp.Rational], int | None]:
    """The target distribution y from a class index (counted from 0) or a vector."""
    if isinstance(label, sp.MatrixBase):
        if len(label) != k:
            raise InputError("label", f"a class index or a vector of length {k}",
                             f"length {len(label)}")
        return distribution("label", label, normalize=False), None
    if not label.is_Integer or not 0 <= label < k:
        raise InputError("label", f"a class index from 0 to {k - 1} (counted from 0) or a "
                         f"one-hot vector of length {k}", str(label))
    index = int(label)
    return [sp.Integer(1 if j == index else 0) for j in range(k)], index


def gradient_derivation() -> list[Step]:
    """dL/dz_i = p_i - y_i, derived by SymPy for any number of classes.

    The loss is written with class i separated from the rest (R = sum_{j != i} e^{z_j}, which
    does not depend on z_i); SymPy differentiates it, and sum_j y_j = 1 gives p_i - y_i.

    Raises:
        RuntimeError: SymPy's derivative does not simplify to p_i - y_i (a bug).
    """
    zi, yi, pi = sym("z_i"), sym("y_i"), sym("p_i")
    rest_exp, rest_y, rest_yz = sym("rest_exp"), sym("rest_y"), sym("rest_yz")
    loss_sym = sym("L_ce")
    with sp.evaluate(False):
        log_p = sp.Add(zi, sp.Mul(-1, Log(sym("sum_exp"), sp.E)))
        split = sp.Add(sp.Mul(-1, sp.Add(sp.Mul(yi, zi), rest_yz)),
                       sp.Mul(sp.Add(yi, rest_y), Log(sp.Add(sp.exp(zi), rest_exp), sp.E)))
    loss = -(yi * zi + rest_yz) + (yi + rest_y) * sp.log(sp.exp(zi) + rest_exp)
    derivative = sp.diff(loss, zi)
    softmax_i = sp.exp(zi) / (sp.exp(zi) + rest_exp)
    final = sp.simplify(derivative.subs(rest_y, 1 - yi))
    if sp.simplify(final - (softmax_i - yi)) != 0:
        raise RuntimeError("the softmax cross-entropy gradient did not simplify to p_i - y_i")
    with sp.evaluate(False):
        result = sp.Add(pi, sp.Mul(-1, yi))
    return [
        Step(key="softmax_cross_entropy.log_softmax", lhs=Log(pi, sp.E), symbolic=log_p),
        Step(key="softmax_cross_entropy.split", lhs=loss_sym, symbolic=split),
        Step(key="softmax_cross_entropy.derivative", lhs=sym("dL_dz"),
             symbolic=derivative, substituted=sp.Add(softmax_i, -yi, evaluate=False),
             value=result),
    ]


@derivation(
    "softmax-cross-entropy",
    params=[
        Param("logits", "array", shapes=(("k",),)),
        Param("label", "array", shapes=((), ("k",))),
    ],
)
def softmax_cross_entropy(logits: sp.ImmutableMatrix, label: sp.Basic) -> Result:
    """Softmax probabilities, the cross-entropy loss (nats) and its gradient p - y.

    Args:
        logits: the scores z before the softmax.
        label: the true class as an index counted from 0, or a one-hot (or any target)
            distribution over the classes.
    """
    z = list(logits)
    k = len(z)
    y, index = _target(label, k)
    exact = k <= EXACT_LIMIT
    # the formulas count the classes from 1 (z_1 is the first logit); the label counts from 0
    steps: list[Step] = [Step(key="softmax_cross_entropy.logits", lhs=sym("z_vec"),
                              symbolic=row_vector([exact_shown(v) for v in z]), data={"k": k})]
    if index is not None:
        steps.append(Step(key="softmax_cross_entropy.target_index", lhs=sym("y_vec"),
                          symbolic=row_vector(y),
                          data={"label": index, "index": index + 1, "k": k,
                                "logit": sp.Symbol(f"z_{index + 1}")}))
    else:
        steps.append(Step(key="softmax_cross_entropy.target_distribution", lhs=sym("y_vec"),
                          symbolic=row_vector(y), data={"k": k}))
    if exact:
        total = sp.Add(*[sp.exp(v) for v in z])
        probs: list[sp.Basic] = [sp.cancel(sp.exp(v) / total) for v in z]
        log_probs = [v - sp.log(total) for v in z]
    else:
        arr = np.array([float(v) for v in z])
        shifted = arr - arr.max()
        log_softmax = shifted - np.log(np.sum(np.exp(shifted)))
        probs = [sp.Float(float(x)) for x in np.exp(log_softmax)]
        log_probs = [sp.Float(float(x)) for x in log_softmax]
    zs = [sp.Symbol(f"z_{j}") for j in range(1, k + 1)]
    if k <= WRITTEN_OUT:
        with sp.evaluate(False):
            den_sym = sp.Add(*[sp.exp(s) for s in zs]) if k > 1 else sp.exp(zs[0])
            den_num = sp.Add(*[sp.exp(v) for v in z]) if k > 1 else sp.exp(z[0])
            sym_row = row_vector([sp.Mul(sp.exp(s), sp.Pow(den_sym, -1)) for s in zs])
            num_row = row_vector([sp.Mul(sp.exp(v), sp.Pow(den_num, -1)) for v in z])
        steps.append(Step(key="softmax_cross_entropy.probs", lhs=sym("p_vec"), symbolic=sym_row,
                          substituted=num_row, value=row_vector(probs), data={"k": k}))
    else:
        with sp.evaluate(False):
            formula = sp.Mul(sp.exp(sym("z_i")), sp.Pow(sym("sum_exp"), -1))
        steps.append(Step(key="softmax_cross_entropy.probs", lhs=sym("p_i"), symbolic=formula,
                          value=row_vector(probs), data={"k": k}))
    loss = -sp.Add(*[t * lp for t, lp in zip(y, log_probs, strict=True) if t != 0])
    sym_terms, num_terms = [], []
    for j, (t, pj) in enumerate(zip(y, probs, strict=True), start=1):
        yj, pjs = sp.Symbol(f"y_{j}"), sp.Symbol(f"p_{j}")
        sym_terms.append(sp.Mul(yj, Log(pjs, sp.E), evaluate=False))
        num_terms.append(sp.Integer(0) if t == 0 else
                         sp.Mul(t, Log(_shown(pj), sp.E), evaluate=False))
    yi, pi = sp.Symbol("y_i"), sp.Symbol("p_i")
    general = _general(sp.Mul(yi, Log(pi, sp.E), evaluate=False), k, True)
    steps.append(_sum_step("softmax_cross_entropy.loss", sym("L_ce"), sym_terms, num_terms, True,
                           loss, general))
    if index is not None:
        with sp.evaluate(False):
            lse = sp.Add(sp.Mul(-1, sp.Symbol(f"z_{index + 1}")), Log(sym("sum_exp"), sp.E))
        steps.append(Step(key="softmax_cross_entropy.logsumexp", lhs=sym("L_ce"), symbolic=lse,
                          value=loss, data={"index": index + 1,
                                            "logit": sp.Symbol(f"z_{index + 1}")}))
    steps += gradient_derivation()
    grad = [pj - t for pj, t in zip(probs, y, strict=True)]
    with sp.evaluate(False):
        grad_formula = sp.Add(sym("p_vec"), sp.Mul(-1, sym("y_vec")))
    steps.append(Step(key="softmax_cross_entropy.gradient", lhs=sym("grad_z"),
                      symbolic=grad_formula,
                      substituted=sp.MatAdd(row_vector([_shown(x) for x in probs]),
                                            sp.MatMul(-1, row_vector(y)), evaluate=False)
                      if k <= WRITTEN_OUT else None,
                      value=row_vector(grad)))
    return Result(
        derivation="softmax-cross-entropy",
        params={},
        convention="nats",
        steps=tuple(steps),
        answers={
            "probs": probs,
            "loss": loss,
            "grad_logits": grad,
            "target": y,
        },
    )
