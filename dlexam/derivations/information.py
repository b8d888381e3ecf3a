"""Information theory: entropy, cross-entropy, KL and JS divergence, and softmax cross-entropy.

Discrete distributions over one support, logarithms in base 2 (bits), e (nats) or 10 (hartleys),
with 0 log 0 = 0. Values stay exact (sums of logarithms of rationals); KL divergence is infinite
where q is 0 and p is not, and the steps say where.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cache
from typing import Any

import numpy as np
import sympy as sp

from dlexam.derivations.contract import Answer, Mistake
from dlexam.derivations.core import Result, Step, derivation
from dlexam.derivations.distributions import (
    WRITTEN_OUT,
    Log,
    base_number,
    cross_step,
    distribution,
    distributions_step,
    general_sum,
    indexed,
    log_exact,
    sum_step,
)
from dlexam.derivations.forms import as_written, row_vector
from dlexam.derivations.params import Param, bind_dims
from dlexam.derivations.sampling import Draw
from dlexam.errors import InputError
from dlexam.notation import register_symbols, sym

register_symbols({
    "H_p": ("H(p)", "H(p)"),
    "H_pq": ("H(p, q)", "H(p, q)"),
    "KL_pq": (r"D_{\mathrm{KL}}(p \,\|\, q)", "KL(p || q)"),
    "KL_qp": (r"D_{\mathrm{KL}}(q \,\|\, p)", "KL(q || p)"),
    "JSD": (r"\mathrm{JSD}(p \,\|\, q)", "JSD(p || q)"),
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
    "sum_exp": (r"\sum_{k} e^{z_k}", "Σ_k exp(z_k)"),
    "rest_exp": (r"\sum_{j \ne i} e^{z_j}", "Σ_{j≠i} exp(z_j)"),
    "rest_y": (r"\sum_{j \ne i} y_j", "Σ_{j≠i} y_j"),
    "rest_yz": (r"\sum_{j \ne i} y_j z_j", "Σ_{j≠i} y_j z_j"),
    "grad_z": (r"\nabla_{z} L", "∇_z L"),
    "dL_dz": (r"\frac{\partial L}{\partial z_i}", "∂L/∂z_i"),
})

UNITS = {"2": "bits", "e": "nats", "10": "hartleys"}

SOFTMAX_EXACT_LIMIT = 16
"""A softmax over at most this many logits keeps exact values (e^2 / (1 + e^2)); wider ones are
evaluated in floats."""


def entropy_step(key: str, lhs: sp.Basic, p: Sequence[sp.Rational], letter: str,
                 base: sp.Basic, **data: Any) -> tuple[Step, sp.Basic]:
    """H(p) = -sum p_i log p_i, with 0 log 0 = 0."""
    sym_terms, num_terms = [], []
    for i, x in enumerate(p, start=1):
        pi = indexed(letter, i)
        sym_terms.append(sp.Mul(pi, Log(pi, base), evaluate=False))
        shown = as_written(x, fractions=True)
        num_terms.append(sp.Integer(0) if x == 0 else sp.Mul(shown, Log(shown, base),
                                                               evaluate=False))
    value = -sp.Add(*[x * log_exact(x, base) for x in p if x != 0])
    pi = sp.Symbol(f"{letter}_i")
    general = general_sum(sp.Mul(pi, Log(pi, base), evaluate=False), len(p), True)
    zeros = sum(1 for x in p if x == 0)
    if zeros:
        key += "_zeros"
    step = sum_step(key, lhs, sym_terms, num_terms, True, value, general, zeros=zeros, **data)
    return step, value



def _float(v: sp.Basic) -> sp.Basic:
    """A value as a number to put into a formula (oo stays oo).

    Decided by structure: ``v`` may be an unevaluated tree (``-own`` under evaluate(False)),
    where SymPy's assumptions (``is_finite``) can contradict themselves.
    """
    return v if v.has(sp.oo, sp.S.NegativeInfinity, sp.zoo) else sp.Float(float(v))


INFORMATION_PARAMS = [
    Param("p", "array", shapes=(("k",),)),
    Param("q", "array", shapes=(("k",),)),
    Param("base", "choice", default="e", choices=tuple(UNITS)),
    Param("normalize", "bool", default=False),
]

# the base a student slips into: nats for bits, bits for nats or hartleys
_OTHER_BASE = {"2": "e", "e": "2", "10": "2"}


def _wrong_base(params: dict[str, Any]) -> dict[str, Any]:
    return {**params, "base": _OTHER_BASE[str(params["base"])]}


INFORMATION_MISTAKES = [
    Mistake("kl-reversed", changes=("kl_pq", "kl_qp"), formula=True),
    Mistake("wrong-log-base",
            changes=("entropy_p", "entropy_q", "cross_entropy", "kl_pq", "kl_qp", "jsd"),
            params=_wrong_base),
    Mistake("cross-entropy-swapped", changes=("cross_entropy",), formula=True),
]


def _floats(values: list[Any]) -> list[float]:
    total = sum(float(v) for v in values)
    return [float(v) / total if total else 0.0 for v in values]


def _kl(a: list[float], b: list[float]) -> float:
    if any(x > 0 and y == 0 for x, y in zip(a, b, strict=True)):
        return math.inf
    return sum(x * math.log(x / y) for x, y in zip(a, b, strict=True) if x > 0)


def _cross(a: list[float], b: list[float]) -> float:
    if any(x > 0 and y == 0 for x, y in zip(a, b, strict=True)):
        return math.inf
    return -sum(x * math.log(y) for x, y in zip(a, b, strict=True) if x > 0)


def _apart(x: float, y: float) -> bool:
    """Two values a grader tells apart (1% of the larger; two infinities are not)."""
    if math.isinf(x) or math.isinf(y):
        return x != y
    return abs(x - y) > 0.01 * max(abs(x), abs(y))


def sample_information(draw: Draw, fixed: dict[str, Any]) -> dict[str, Any]:
    """Two distributions over 2 to 4 outcomes, two-decimal probabilities of at least 0.05.

    The pair is redrawn until KL(p||q) and KL(q||p), and H(p, q) and H(q, p), differ by more than
    1% (so reversing either is visible); p = q never survives that.
    """
    dims = bind_dims(INFORMATION_PARAMS, fixed)
    k = dims.get("k", draw.integer(2, 4))
    out: dict[str, Any] = {"base": draw.choice(("2", "e", "e", "10")), "normalize": False}
    for _ in range(200):
        out["p"] = draw.distribution(k, 2, floor=0.05)
        out["q"] = draw.distribution(k, 2, floor=0.05)
        out.update(fixed)
        p, q = _floats(out["p"]), _floats(out["q"])
        if _apart(_kl(p, q), _kl(q, p)) and _apart(_cross(p, q), _cross(q, p)):
            break
    return out


def _information_question(values: dict[str, Any]) -> dict[str, Any]:
    """The distributions as the question states them (normalised when asked), and the base."""
    ps = distribution("p", values["p"], values["normalize"])
    qs = distribution("q", values["q"], values["normalize"])
    return {"p": row_vector([as_written(x, fractions=True) for x in ps]),
            "q": row_vector([as_written(x, fractions=True) for x in qs]),
            "log_base": sp.Symbol("e") if str(values["base"]) == "e" else int(values["base"])}


@derivation(
    "information",
    params=INFORMATION_PARAMS,
    answers=[
        Answer("entropy_p", "number"),
        Answer("entropy_q", "number"),
        Answer("cross_entropy", "number"),
        Answer("kl_pq", "number"),
        Answer("kl_qp", "number"),
        Answer("jsd", "number"),
    ],
    limits={"k": 64},
    mistakes=INFORMATION_MISTAKES,
    sampler=sample_information,
    question=_information_question,
)
def information(p: sp.ImmutableMatrix, q: sp.ImmutableMatrix, base: str, normalize: bool,
                mistake: str | None = None) -> Result:
    """Entropies, cross-entropy, both KL divergences and the Jensen-Shannon divergence.

    Args:
        p: the first distribution (non-negative, summing to 1).
        q: the second distribution, over the same outcomes.
        base: the logarithm's base: ``2`` (bits), ``e`` (nats) or ``10`` (hartleys).
        normalize: divide p and q by their sums instead of requiring sums of 1.
        mistake: ``kl-reversed`` (each KL divergence with its two distributions exchanged) or
            ``cross-entropy-swapped`` (H(q, p) computed for H(p, q)); the identity checks,
            which would expose the slip, are then left out.
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
    if mistake == "cross-entropy-swapped":
        ce_key, ce_first, ce_second, ce_letters = "information.cross_entropy_swapped", qs, ps, "qp"
    else:
        ce_key, ce_first, ce_second, ce_letters = "information.cross_entropy", ps, qs, "pq"
    s_ce, h_pq, ce_inf = cross_step(ce_key, sym("H_pq"), ce_first, ce_second,
                                    (ce_letters[0], ce_letters[1]), b, ratio=False)
    steps.append(s_ce)
    if ce_inf is not None:
        steps.append(_infinite("information.cross_entropy_infinite", ce_inf, ce_first,
                               ce_second, ce_letters[0], ce_letters[1]))

    kls = {}
    for name, lhs, first, second, letters in (
        ("pq", sym("KL_pq"), ps, qs, ("p", "q")),
        ("qp", sym("KL_qp"), qs, ps, ("q", "p")),
    ):
        key = f"information.kl_{name}"
        if mistake == "kl-reversed":  # the two distributions exchanged under the same name
            first, second, letters, key = second, first, (letters[1], letters[0]), key + "_reversed"
        step, kl, inf_at = cross_step(key, lhs, first, second, letters, b, ratio=True)
        steps.append(step)
        if inf_at is not None:
            steps.append(_infinite(f"information.kl_{name}_infinite", inf_at, first, second,
                                   *letters))
        elif mistake is None:
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
                                ratio=True, q_fractions=False)
    s_qm, kl_qm, _ = cross_step("information.kl_qm", sym("KL_qm"), qs, m, ("q", "m"), b,
                                ratio=True, q_fractions=False)
    jsd = (kl_pm + kl_qm) / 2
    with sp.evaluate(False):
        jsd_formula = sp.Mul(sp.Rational(1, 2), sp.Add(sym("KL_pm"), sym("KL_qm")))
        jsd_numbers = sp.Mul(sp.Rational(1, 2), sp.Add(_float(kl_pm), _float(kl_qm)))
    steps += [s_pm, s_qm,
              Step(key="information.jsd", lhs=sym("JSD"), symbolic=jsd_formula,
                   substituted=jsd_numbers, value=jsd, data={"bound": log_exact(2, b)})]
    return Result(
        convention=unit,
        steps=tuple(steps),
        answers={
            "entropy_p": h_p,
            "entropy_q": h_q,
            "cross_entropy": h_pq,
            "kl_pq": kls["pq"],
            "kl_qp": kls["qp"],
            "jsd": jsd,
        },
        info={"unit": unit, "base": base},
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


@cache
def gradient_derivation() -> tuple[Step, ...]:
    """dL/dz_i = p_i - y_i, derived by SymPy for any number of classes (once: it depends on
    nothing).

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
    return (
        Step(key="softmax_cross_entropy.log_softmax", lhs=Log(pi, sp.E), symbolic=log_p),
        Step(key="softmax_cross_entropy.split", lhs=loss_sym, symbolic=split),
        Step(key="softmax_cross_entropy.derivative", lhs=sym("dL_dz"),
             symbolic=derivative, substituted=sp.Add(softmax_i, -yi, evaluate=False),
             value=result),
    )


SOFTMAX_PARAMS = [
    Param("logits", "array", shapes=(("k",),)),
    Param("label", "array", shapes=((), ("k",))),
]


def sample_softmax(draw: Draw, fixed: dict[str, Any]) -> dict[str, Any]:
    """Three or four one-decimal logits in [-2, 2] (not all equal) and a class label.

    A fixed label vector fixes the number of classes; a fixed class index gets enough classes.
    """
    dims = bind_dims(SOFTMAX_PARAMS, fixed)
    label = fixed.get("label")
    least = label + 1 if isinstance(label, int) and not isinstance(label, bool) else 3
    k = dims.get("k", max(draw.integer(3, 4), least))
    logits = draw.array((k,), -2, 2)
    while len(set(logits)) == 1:
        logits = draw.array((k,), -2, 2)
    out = {"logits": logits, "label": draw.integer(0, k - 1)}
    out.update(fixed)
    return out


def _softmax_question(values: dict[str, Any]) -> dict[str, Any]:
    """The target as a vector (one-hot for a class label)."""
    y, _ = _target(values["label"], len(values["logits"]))
    return {"target": row_vector(y)}


@derivation(
    "softmax-cross-entropy",
    params=SOFTMAX_PARAMS,
    answers=[
        Answer("probs", "vector", shapes=(("k",),)),
        Answer("loss", "number"),
        Answer("grad_logits", "vector", shapes=(("k",),)),
    ],
    limits={"k": 64},
    mistakes=[
        Mistake("log-base-10", changes=("loss",), formula=True),
        Mistake("gradient-sign", changes=("grad_logits",), formula=True),
    ],
    sampler=sample_softmax,
    question=_softmax_question,
)
def softmax_cross_entropy(logits: sp.ImmutableMatrix, label: sp.Basic,
                          mistake: str | None = None) -> Result:
    """Softmax probabilities, the cross-entropy loss (nats) and its gradient p - y.

    Args:
        logits: the scores z before the softmax.
        label: the true class as an index counted from 0, or a one-hot (or any target)
            distribution over the classes.
        mistake: ``log-base-10`` (the loss with common logarithms) or ``gradient-sign``
            (the gradient written y - p).
    """
    z = list(logits)
    k = len(z)
    y, index = _target(label, k)
    exact = k <= SOFTMAX_EXACT_LIMIT
    # the formulas count the classes from 1 (z_1 is the first logit); the label counts from 0
    steps: list[Step] = [Step(key="softmax_cross_entropy.logits", lhs=sym("z_vec"),
                              symbolic=row_vector([as_written(v, fractions=True) for v in z]),
                              data={"k": k})]
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
    log_base: sp.Basic = sp.E
    if mistake == "log-base-10":  # log10 p = ln p / ln 10
        log_base, loss = sp.Integer(10), loss / sp.log(10)
    sym_terms, num_terms = [], []
    for j, (t, pj) in enumerate(zip(y, probs, strict=True), start=1):
        yj, pjs = sp.Symbol(f"y_{j}"), sp.Symbol(f"p_{j}")
        sym_terms.append(sp.Mul(yj, Log(pjs, log_base), evaluate=False))
        num_terms.append(sp.Integer(0) if t == 0 else
                         sp.Mul(t, Log(as_written(pj, fractions=True), log_base), evaluate=False))
    yi, pi = sp.Symbol("y_i"), sp.Symbol("p_i")
    general = general_sum(sp.Mul(yi, Log(pi, log_base), evaluate=False), k, True)
    loss_key = "softmax_cross_entropy.loss" + ("_log10" if mistake == "log-base-10" else "")
    steps.append(sum_step(loss_key, sym("L_ce"), sym_terms, num_terms, True, loss, general))
    if index is not None and mistake != "log-base-10":
        with sp.evaluate(False):
            lse = sp.Add(sp.Mul(-1, sp.Symbol(f"z_{index + 1}")), Log(sym("sum_exp"), sp.E))
        steps.append(Step(key="softmax_cross_entropy.logsumexp", lhs=sym("L_ce"), symbolic=lse,
                          value=loss, data={"index": index + 1,
                                            "logit": sp.Symbol(f"z_{index + 1}")}))
    steps += gradient_derivation()
    shown_p = row_vector([as_written(x, fractions=True) for x in probs])
    p_sym, y_sym = sym("p_vec"), sym("y_vec")
    grad = [pj - t for pj, t in zip(probs, y, strict=True)]
    grad_key = "softmax_cross_entropy.gradient"
    with sp.evaluate(False):
        grad_formula = sp.Add(p_sym, sp.Mul(-1, y_sym))
        grad_numbers = sp.MatAdd(shown_p, sp.MatMul(-1, row_vector(y)))
        if mistake == "gradient-sign":
            grad, grad_key = [-g for g in grad], grad_key + "_reversed"
            grad_formula = sp.Add(y_sym, sp.Mul(-1, p_sym))
            grad_numbers = sp.MatAdd(row_vector(y), sp.MatMul(-1, shown_p))
    steps.append(Step(key=grad_key, lhs=sym("grad_z"), symbolic=grad_formula,
                      substituted=grad_numbers if k <= WRITTEN_OUT else None,
                      value=row_vector(grad)))
    return Result(
        convention="nats",
        steps=tuple(steps),
        answers={
            "probs": probs,
            "loss": loss,
            "grad_logits": grad,
        },
        info={"target": y},
    )
