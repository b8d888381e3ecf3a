"""Information theory: entropy, cross-entropy, KL and JS divergence, and softmax cross-entropy.

Discrete distributions over one support, logarithms in base 2 (bits), e (nats) or 10 (hartleys),
with 0 log 0 = 0. Values stay exact (sums of logarithms of rationals); KL divergence is infinite
where q is 0 and p is not, and the steps say where. Both derivations also take a batch, a matrix
with a row per example (a pair of distributions, or an example's logits), whose per-row values
combine by ``reduction`` (mean, sum or none) as the frameworks' losses do.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from functools import cache, lru_cache
from typing import Any

import numpy as np
import sympy as sp

from dlexam.derivations.contract import Answer, Follow, Mistake, with_params
from dlexam.derivations.core import Result, Step, derivation, evaluate_at, terms_of, to_plain
from dlexam.derivations.distributions import (
    Log,
    base_number,
    cross_step,
    distributions_step,
    general_sum,
    indexed,
    log_exact,
    near_distribution,
    sum_step,
)
from dlexam.derivations.forms import as_written, row_vector, tidy
from dlexam.derivations.params import Param, bind_dims
from dlexam.derivations.sampling import Draw
from dlexam.derivations.statements import NOTHING, base_phrase
from dlexam.errors import InputError, Said
from dlexam.notation import register_symbols, sym
from dlexam.notation.display import Phrase, Plain

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


def _exact_written(value: sp.Basic) -> sp.Basic:
    """A probability or target put into a formula, as the one display rule writes it (a short
    rational as it is, 1/3 as a fraction)."""
    return as_written(value, fractions=True)

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
    if v.has(sp.oo, sp.S.NegativeInfinity, sp.zoo) or v.free_symbols:
        return v  # infinite, or a formula of a trace's inputs (dlexam.plans)
    return sp.Float(float(v))


REDUCTIONS = ("mean", "sum", "none")
"""How a batch's per-example values combine: Keras' and PyTorch's default is the mean."""

INFORMATION_PARAMS = [
    Param("p", "array", shapes=(("k",), ("n", "k")), trace="nonzero"),
    Param("q", "array", shapes=(("k",), ("n", "k")), trace="nonzero"),
    Param("base", "choice", default="e", choices=tuple(UNITS)),
    Param("normalize", "bool", default=False),
    Param("reduction", "choice", default="mean", choices=REDUCTIONS),
]

INFORMATION_ANSWERS = ("entropy_p", "entropy_q", "cross_entropy", "kl_pq", "kl_qp", "jsd",
                       "js_distance")

def _mean_of_a_batch(params: Mapping[str, Any], name: str) -> bool:
    """Whether the question is a batch (``name`` a matrix) whose values are averaged."""
    value = params[name]
    return (isinstance(value, list) and bool(value) and isinstance(value[0], list)
            and params["reduction"] == "mean")


# the base a student slips into: nats for bits, bits for nats or hartleys
_OTHER_BASE = {"2": "e", "e": "2", "10": "2"}


def _wrong_base(params: dict[str, Any]) -> dict[str, Any]:
    return {**params, "base": _OTHER_BASE[str(params["base"])]}


INFORMATION_MISTAKES = [
    Mistake("kl-reversed", changes=("kl_pq", "kl_qp"), formula=True),
    Mistake("wrong-log-base",
            changes=("entropy_p", "entropy_q", "cross_entropy", "kl_pq", "kl_qp", "jsd",
                     "js_distance"),
            params=_wrong_base),
    Mistake("cross-entropy-swapped", changes=("cross_entropy",), formula=True),
    Mistake("sum-not-mean", changes=INFORMATION_ANSWERS, params=with_params(reduction="sum"),
            applies=lambda p: _mean_of_a_batch(p, "p")),
    # JSD = KL(p || m) + KL(q || m): the mean's 1/2 lost
    Mistake("jsd-without-half", changes=("jsd", "js_distance"), formula=True),
    # JSD taken as the symmetrised KL, (KL(p || q) + KL(q || p)) / 2, with no mixture m
    Mistake("jsd-as-symmetric-kl", changes=("jsd", "js_distance"), formula=True,
            applies=lambda p: _all_positive(p)),
]


def _all_positive(params: Mapping[str, Any]) -> bool:
    """Every probability of p and q above 0 (both KL divergences finite)."""
    def flat(value: Any) -> list[Any]:
        return [x for v in value for x in flat(v)] if isinstance(value, list) else [value]

    return all(float(v) > 0 for name in ("p", "q") for v in flat(params[name]))


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


def _rows(value: Any) -> list[Any]:
    """A raw vector as one row, a raw matrix as its rows."""
    return value if value and isinstance(value[0], list) else [value]


def _reduce_floats(values: list[float], reduction: str) -> list[float]:
    if reduction == "none":
        return values
    total = sum(values)
    return [total / len(values) if reduction == "mean" else total]


def sample_information(draw: Draw, fixed: dict[str, Any]) -> dict[str, Any]:
    """Two distributions over 2 to 4 outcomes, two-decimal probabilities of at least 0.05; about
    one question in three a batch of 2 or 3 rows with a reduction (mean, sum or none).

    A fixed p or q fixes the form (vector or matrix) and the sizes; a fixed reduction other than
    the mean asks for a batch. The draw is repeated until KL(p||q) and KL(q||p), and H(p, q) and
    H(q, p), differ by more than 1% in every row and after the reduction (so reversing either is
    visible); p = q never survives that.
    """
    dims = bind_dims(INFORMATION_PARAMS, fixed)
    k = dims.get("k", draw.integer(2, 4))
    given = [fixed[name] for name in ("p", "q") if name in fixed]
    batch_roll = draw.chance(0.3)
    if given:
        batch = isinstance(given[0], list) and bool(given[0]) and isinstance(given[0][0], list)
    else:
        batch = fixed.get("reduction", "mean") != "mean" or batch_roll
    n = dims.get("n", draw.integer(2, 3)) if batch else 1
    out: dict[str, Any] = {"base": draw.choice(("2", "e", "e", "10")), "normalize": False}
    if batch:
        out["reduction"] = draw.choice(REDUCTIONS)
    for _ in range(200):
        rows_p = [draw.distribution(k, 2, floor=0.05) for _ in range(n)]
        rows_q = [draw.distribution(k, 2, floor=0.05) for _ in range(n)]
        out["p"], out["q"] = (rows_p, rows_q) if batch else (rows_p[0], rows_q[0])
        out.update(fixed)
        ps = [_floats(r) for r in _rows(out["p"])]
        qs = [_floats(r) for r in _rows(out["q"])]
        reduction = str(out.get("reduction", "mean"))
        pairs = list(zip(ps, qs, strict=True))
        kls = [_reduce_floats([_kl(a, b) for a, b in pairs], reduction),
               _reduce_floats([_kl(b, a) for a, b in pairs], reduction)]
        ces = [_reduce_floats([_cross(a, b) for a, b in pairs], reduction),
               _reduce_floats([_cross(b, a) for a, b in pairs], reduction)]
        if (all(_apart(_kl(a, b), _kl(b, a)) and _apart(_cross(a, b), _cross(b, a))
                for a, b in pairs)
                and all(_apart(x, y) for x, y in zip(*kls, strict=True))
                and all(_apart(x, y) for x, y in zip(*ces, strict=True))):
            break
    return out


def _sum_shown(total: sp.Rational) -> dict[str, Plain]:
    """A sum near 1 and its distance from 1, to be written out in full (0.999999, 1e-06):
    shown rounded to four decimals both would read 1 and 0."""
    return {"total": Plain(float(total), "near_one"), "gap": Plain(float(abs(total - 1)), "gap")}


def _matrix_or_row(rows: list[list[sp.Basic]], batch: bool) -> sp.ImmutableMatrix:
    return sp.ImmutableMatrix(rows) if batch else row_vector(rows[0])


def _as_rows(m: sp.MatrixBase) -> tuple[list[list[sp.Basic]], bool]:
    """The rows of a parameter, and whether it was given as a matrix (a vector is one row)."""
    if m.cols == 1:
        return [list(m)], False
    return [list(m.row(i)) for i in range(m.rows)], True


def _information_question(values: dict[str, Any]) -> dict[str, Any]:
    """The distributions as the question states them (normalised when asked), and the base."""
    p_rows, batch = _as_rows(values["p"])
    q_rows, _ = _as_rows(values["q"])
    ps = [[_exact_written(x) for x in near_distribution("p", r, values["normalize"])[0]]
          for r in p_rows]
    qs = [[_exact_written(x) for x in near_distribution("q", r, values["normalize"])[0]]
          for r in q_rows]
    return {"p": _matrix_or_row(ps, batch), "q": _matrix_or_row(qs, batch),
            "log_base": sp.Symbol("e") if str(values["base"]) == "e" else int(values["base"]),
            "base_words": base_phrase(values["base"]),
            "rows_rule": (Phrase(f"information.says.rows_{values['reduction']}") if batch
                          else NOTHING)}


JS_DISTANCE = sp.Symbol("d_JS")
"""The Jensen-Shannon distance, sqrt(JSD) (scipy.spatial.distance.jensenshannon)."""

# each answer's symbol in the reduction steps
_ANSWER_SYMBOLS = {"entropy_p": "H_p", "entropy_q": "H_q", "cross_entropy": "H_pq",
                   "kl_pq": "KL_pq", "kl_qp": "KL_qp", "jsd": "JSD"}


def _answer_symbol(name: str) -> sp.Basic:
    return JS_DISTANCE if name == "js_distance" else sym(_ANSWER_SYMBOLS[name])


def reduction_step(key: str, lhs: sp.Basic, values: Sequence[sp.Basic], reduction: str
                   ) -> tuple[Step, sp.Basic]:
    """The per-example values combined: their mean, their sum, or the list itself (none)."""
    n = len(values)
    if reduction == "none":
        return Step(key=f"{key}_none", lhs=lhs, symbolic=row_vector([_float(v) for v in values]),
                    data={"n": n}), list(values)
    total = sp.Add(*values)
    value = total / n if reduction == "mean" else total
    with sp.evaluate(False):
        numbers = sp.Add(*[_float(v) for v in values])
        if reduction == "mean":
            numbers = sp.Mul(sp.Rational(1, n), numbers)
    return Step(key=f"{key}_{reduction}", lhs=lhs, symbolic=numbers, value=value,
                data={"n": n}), value


def _kl_identity(h_cross: sp.Basic, h_own: sp.Basic) -> sp.Basic:
    """KL(p || q) = H(p, q) - H(p), the identity step's formula."""
    with sp.evaluate(False):
        return sp.Add(h_cross, sp.Mul(-1, h_own))


def _kl_of_own(_params: Any, student: Mapping[str, Any]) -> dict[str, Any] | None:
    """KL(p || q) from the student's own cross-entropy and entropy (follow-through): the
    identity step's formula (:func:`_kl_identity`) at their values, in the question's base,
    row by row when there are rows."""
    cross, entropy = student.get("cross_entropy"), student.get("entropy_p")
    formula = _kl_identity(sym("H_pq"), sym("H_p"))

    def kl(c: Any, h: Any) -> Any:
        return to_plain(evaluate_at(formula, {sym("H_pq"): c, sym("H_p"): h}))

    if isinstance(cross, list) and isinstance(entropy, list):
        return {"kl_pq": [kl(c, h) for c, h in zip(cross, entropy, strict=True)]}
    if cross is None or entropy is None or isinstance(cross, list) or isinstance(entropy, list):
        return None
    return {"kl_pq": kl(cross, entropy)}


@derivation(
    "information",
    params=INFORMATION_PARAMS,
    answers=[Answer(name, "vectors", shapes=((), ("n",))) for name in INFORMATION_ANSWERS],
    limits={"k": 32, "n": 4},  # 16 rows of 64 took 16 s exactly; 4 of 32, under 3 s
    mistakes=INFORMATION_MISTAKES,
    sampler=sample_information,
    question=_information_question,
    follows=[Follow(("cross_entropy", "entropy_p"), ("kl_pq",), _kl_of_own)],
)
def information(p: sp.ImmutableMatrix, q: sp.ImmutableMatrix, base: str, normalize: bool,
                reduction: str, mistake: str | None = None) -> Result:
    """Entropies, cross-entropy, both KL divergences, the Jensen-Shannon divergence and distance.

    Args:
        p: the first distribution (non-negative, summing to 1), or a matrix of them, one per row.
        q: the second distribution, over the same outcomes (a matrix with p's rows when p is
            one).
        base: the logarithm's base: ``2`` (bits), ``e`` (nats) or ``10`` (hartleys).
        normalize: divide p and q by their sums instead of requiring sums of 1 (a sum within
            1e-6 of 1 is renormalised in any case, and the steps say so).
        reduction: how the rows' values combine: ``mean`` (Keras' CategoricalCrossentropy),
            ``sum``, or ``none`` (a list, one value per row); a single pair has one value.
        mistake: ``kl-reversed`` (each KL divergence with its two distributions exchanged) or
            ``cross-entropy-swapped`` (H(q, p) computed for H(p, q)); the identity checks,
            which would expose the slip, are then left out.

    Raises:
        InputError: p and q not of one form (both vectors or both matrices), a probability
            row that does not sum to 1 within 1e-6.
    """
    p_rows, batch = _as_rows(p)
    q_rows, q_batch = _as_rows(q)
    if batch != q_batch:
        raise InputError("q", Said("information.errors.same_form"),
                         Said("information.errors.a_matrix" if q_batch
                              else "information.errors.a_vector"))
    b = base_number(base)
    unit = UNITS[base]
    k = len(p_rows[0])
    n = len(p_rows)
    pairs = []
    for i, (pr, qr) in enumerate(zip(p_rows, q_rows, strict=True), start=1):
        row = i if batch else None
        pairs.append((near_distribution("p", pr, normalize, row),
                      near_distribution("q", qr, normalize, row), pr, qr))
    steps: list[Step] = [Step(key=f"information.unit_{unit}", data={"base": b, "k": k})]
    if batch:
        steps.append(Step(key=f"information.batch_{reduction}", data={"n": n, "k": k}))
    rows: list[dict[str, sp.Basic]] = []
    for i, ((ps, p_sum), (qs, q_sum), pr, qr) in enumerate(pairs, start=1):
        if batch:
            steps.append(Step(key="information.row", data={"i": i, "n": n}))
        if normalize:
            steps.append(distributions_step("information.normalized", ("p_vec", "q_vec"), ps,
                                            qs, p_given=row_vector(pr), q_given=row_vector(qr)))
        else:
            steps.append(distributions_step("information.given", ("p_vec", "q_vec"), ps, qs,
                                            k=k))
        for letter, total in (("p", p_sum), ("q", q_sum)):
            if total is not None:
                steps.append(Step(key="information.renormalized",
                                  data={"name": sp.Symbol(letter), **_sum_shown(total)}))
        row_steps, values = _information_pair(ps, qs, b, mistake)
        steps += row_steps
        rows.append(values)
    answers: dict[str, Any] = {}
    if batch:
        for name in INFORMATION_ANSWERS:
            step, answers[name] = reduction_step("information.reduced", _answer_symbol(name),
                                                 [r[name] for r in rows], reduction)
            steps.append(step)
    else:
        answers = dict(rows[0])
    return Result(
        convention=unit,
        steps=tuple(steps),
        answers=answers,
        info={"unit": unit, "base": base,
              **({"reduction": reduction, "rows": n} if batch else {})},
    )


def _information_pair(ps: list[sp.Rational], qs: list[sp.Rational], b: sp.Basic,
                      mistake: str | None) -> tuple[list[Step], dict[str, sp.Basic]]:
    """The steps and values of one pair of distributions."""
    steps: list[Step] = []
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
            formula = _kl_identity(h_cross, h_own)
            with sp.evaluate(False):
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
    jsd_key = "information.jsd"
    with sp.evaluate(False):
        jsd_formula = sp.Mul(sp.Rational(1, 2), sp.Add(sym("KL_pm"), sym("KL_qm")))
        jsd_numbers = sp.Mul(sp.Rational(1, 2), sp.Add(_float(kl_pm), _float(kl_qm)))
        if mistake == "jsd-without-half":  # the 1/2 of the mean lost
            jsd, jsd_key = kl_pm + kl_qm, "information.jsd_without_half"
            jsd_formula = sp.Add(sym("KL_pm"), sym("KL_qm"))
            jsd_numbers = sp.Add(_float(kl_pm), _float(kl_qm))
        elif mistake == "jsd-as-symmetric-kl":  # the mean of the two KLs, no mixture
            jsd, jsd_key = (kls["pq"] + kls["qp"]) / 2, "information.jsd_symmetric_kl"
            jsd_formula = sp.Mul(sp.Rational(1, 2), sp.Add(sym("KL_pq"), sym("KL_qp")))
            jsd_numbers = sp.Mul(sp.Rational(1, 2), sp.Add(_float(kls["pq"]),
                                                            _float(kls["qp"])))
    distance = sp.sqrt(jsd)
    steps += [s_pm, s_qm,
              Step(key=jsd_key, lhs=sym("JSD"), symbolic=jsd_formula,
                   substituted=jsd_numbers, value=jsd, data={"bound": log_exact(2, b)}),
              Step(key="information.js_distance", lhs=JS_DISTANCE, symbolic=sp.sqrt(sym("JSD")),
                   substituted=sp.sqrt(_float(jsd), evaluate=False), value=distance)]
    return steps, {
        "entropy_p": h_p,
        "entropy_q": h_q,
        "cross_entropy": h_pq,
        "kl_pq": kls["pq"],
        "kl_qp": kls["qp"],
        "jsd": jsd,
        "js_distance": distance,
    }


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


def _target(label: sp.Basic | sp.MatrixBase, k: int) -> tuple[list[sp.Rational], int | None,
                                                          sp.Rational | None]:
    """The target distribution y of one example from a class index (counted from 0) or a vector;
    and the sum a vector was divided by when it was within 1e-6 of 1 but not 1."""
    if isinstance(label, sp.MatrixBase):
        if label.cols > 1:
            raise InputError("label", Said("information.errors.one_example", k=k),
                             Said("information.errors.matrix_of", shape=f"{label.rows} x "
                                  f"{label.cols}"))
        if len(label) != k:
            raise InputError("label", Said("information.errors.index_or_vector", k=k),
                             Said("information.errors.length", n=len(label)))
        y, total = near_distribution("label", label, normalize=False, can_normalize=False)
        return y, None, total
    index = _class_index(label, k, None)
    return _one_hot(index, k), index, None


def _class_index(label: sp.Basic, k: int, entry: int | None) -> int:
    if not label.is_Integer or not 0 <= label < k:
        if entry is None:
            raise InputError("label", Said("information.errors.index_or_one_hot", last=k - 1,
                                           k=k), str(label))
        raise InputError("label", Said("information.errors.indices", last=k - 1),
                         Said("inputs.value_at", value=str(label), index=entry))
    return int(label)


def _one_hot(index: int, k: int) -> list[sp.Rational]:
    return [sp.Integer(1 if j == index else 0) for j in range(k)]


Target = tuple[list[sp.Rational], int | None, sp.Rational | None]


def _batch_targets(label: sp.Basic | sp.MatrixBase, n: int, k: int) -> list[Target]:
    """The targets of a batch of n examples: a list of n class indices, or n target rows."""
    expected = Said("information.errors.batch", n=n, last=k - 1, k=k)
    if not isinstance(label, sp.MatrixBase):
        raise InputError("label", expected, Said("information.errors.one_index", label=label))
    if label.cols == 1:
        if label.rows != n:
            raise InputError("label", expected, Said("inputs.a_list_of", n=label.rows))
        out: list[Target] = []
        for i, v in enumerate(label, start=1):
            index = _class_index(v, k, i)
            out.append((_one_hot(index, k), index, None))
        return out
    rows: list[Target] = []
    for i in range(n):
        y, total = near_distribution("label", list(label.row(i)), False, row=i + 1,
                                     can_normalize=False)
        rows.append((y, None, total))
    return rows


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
    Param("logits", "array", shapes=(("k",), ("n", "k"))),
    Param("label", "array", shapes=((), ("labels",), ("n", "k")), trace="none"),
    Param("reduction", "choice", default="mean", choices=REDUCTIONS),
    Param("base", "choice", default="e", choices=tuple(UNITS)),
]


def _is_matrix(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and isinstance(value[0], list)


def sample_softmax(draw: Draw, fixed: dict[str, Any]) -> dict[str, Any]:
    """Three or four one-decimal logits in [-2, 2] (not all equal in a row) and a class label;
    about one question in three a batch of 2 or 3 examples with class indices or target rows
    and a reduction. Natural logarithms mostly, sometimes base 2 or 10.

    Fixed logits fix the form and the sizes; a fixed label matrix or a fixed reduction other
    than the mean asks for a batch; a fixed class index gets enough classes, and a fixed label
    list is the target distribution of one example (or the class indices of a batch).
    """
    dims = bind_dims(SOFTMAX_PARAMS, fixed)
    label = fixed.get("label")
    logits = fixed.get("logits")
    roll = draw.chance(0.3)
    scalar_label = isinstance(label, int) and not isinstance(label, bool)
    if logits is not None:
        batch = _is_matrix(logits)
    elif label is not None:
        batch = _is_matrix(label) or (not scalar_label and fixed.get("reduction",
                                                                     "mean") != "mean")
    else:
        batch = fixed.get("reduction", "mean") != "mean" or roll
    least = 3
    if scalar_label:
        assert isinstance(label, int)
        least = label + 1
    elif batch and isinstance(label, list) and label and not _is_matrix(label):
        least = max(int(x) for x in label) + 1
    if "k" in dims:
        k = dims["k"]
    elif not batch and "labels" in dims:
        k = dims["labels"]
    else:
        k = max(draw.integer(3, 4), least)
    n = dims.get("n", dims["labels"] if batch and "labels" in dims else draw.integer(2, 3))
    rows = []
    for _ in range(n if batch else 1):
        row = draw.array((k,), -2, 2)
        while len(set(row)) == 1:
            row = draw.array((k,), -2, 2)
        rows.append(row)
    out: dict[str, Any] = {"logits": rows if batch else rows[0]}
    if batch:
        if draw.chance(0.6):
            out["label"] = [draw.integer(0, k - 1) for _ in range(n)]
        else:
            out["label"] = [draw.distribution(k, 1, floor=0.1 if k <= 10 else 0.0)  # 10 tenths
                            for _ in range(n)]
        out["reduction"] = draw.choice(REDUCTIONS)
    else:
        out["label"] = draw.integer(0, k - 1)
    out["base"] = draw.choice(("e", "e", "e", "2", "10"))
    out.update(fixed)
    return out


def _softmax_question(values: dict[str, Any]) -> dict[str, Any]:
    """The targets as vectors (one-hot for class labels), a row per example, and the base."""
    rows, batch = _as_rows(values["logits"])
    k = len(rows[0])
    if batch:
        targets = [y for y, _, _ in _batch_targets(values["label"], len(rows), k)]
        target = sp.ImmutableMatrix([[_exact_written(x) for x in y] for y in targets])
    else:
        target = row_vector([_exact_written(x) for x in _target(values["label"], k)[0]])
    base = str(values["base"])
    return {"target": target,
            "log_base": sp.Symbol("e") if base == "e" else int(base),
            "base_words": base_phrase(base),
            # rows and their reduction are said only for a batch
            "rows_rule": Phrase("softmax_cross_entropy.says.rows") if batch else NOTHING,
            "reduction_rule": (Phrase(f"softmax_cross_entropy.says.{values['reduction']}")
                               if batch else NOTHING)}


_LOSS_KEYS = {"e": "loss", "2": "loss_base2", "10": "loss_base10"}


# (evaluate=False by argument: sympy.evaluate(False) would empty SymPy's cache)
def _ratio(top: sp.Basic, bottom: sp.Basic) -> sp.Basic:
    return sp.Mul(top, sp.Pow(bottom, -1, evaluate=False), evaluate=False)


@lru_cache(maxsize=128)
def _softmax_formulas(k: int) -> tuple[sp.ImmutableMatrix, sp.Basic]:
    """The probabilities' formulas over k classes, written out entry by entry, and the general
    p_i = e^{z_i} / sum_j e^{z_j} (their shorter form): the same in every run with k classes,
    built once (SymPy's expressions are immutable)."""
    sym_exps = [sp.exp(sp.Symbol(f"z_{j}"), evaluate=False) for j in range(1, k + 1)]
    den_sym = sp.Add(*sym_exps, evaluate=False) if k > 1 else sym_exps[0]
    return (row_vector([_ratio(e, den_sym) for e in sym_exps]),
            _ratio(sp.exp(sym("z_i"), evaluate=False), sym("sum_exp")))


@lru_cache(maxsize=128)
def _loss_formulas(k: int, log_base: sp.Basic) -> tuple[tuple[sp.Basic, ...], sp.Basic]:
    """The loss's terms y_j log p_j over k classes, and their general sum (built once)."""
    terms = tuple(sp.Mul(sp.Symbol(f"y_{j}"), Log(sp.Symbol(f"p_{j}"), log_base),
                         evaluate=False) for j in range(1, k + 1))
    yi, pi = sp.Symbol("y_i"), sp.Symbol("p_i")
    return terms, general_sum(sp.Mul(yi, Log(pi, log_base), evaluate=False), k, True)


def _softmax_example(z: list[sp.Rational], y: list[sp.Rational], index: int | None,
                     base: sp.Basic, base_key: str, mistake: str | None, lhs: sp.Basic
                     ) -> tuple[list[Step], list[sp.Basic], sp.Basic]:
    """The steps of one example: its logits, target, probabilities and loss in the base."""
    k = len(z)
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
                          symbolic=row_vector([_exact_written(t) for t in y]), data={"k": k}))
    if exact:
        total = sp.Add(*[sp.exp(v) for v in z])
        probs: list[sp.Basic] = [tidy(sp.exp(v) / total) for v in z]
        log_probs = [v - sp.log(total) for v in z]
    else:
        arr = np.array([float(v) for v in z])
        shifted = arr - arr.max()
        log_softmax = shifted - np.log(np.sum(np.exp(shifted)))
        probs = [sp.Float(float(x)) for x in np.exp(log_softmax)]
        log_probs = [sp.Float(float(x)) for x in log_softmax]
    num_exps = [sp.exp(v, evaluate=False) for v in z]
    den_num = sp.Add(*num_exps, evaluate=False) if k > 1 else num_exps[0]
    num_row = row_vector([_ratio(e, den_num) for e in num_exps])
    sym_row, formula = _softmax_formulas(k)
    steps.append(Step(key="softmax_cross_entropy.probs", lhs=sym("p_vec"), symbolic=sym_row,
                      substituted=num_row, value=row_vector(probs), data={"k": k},
                      elidable=terms_of(k, lhs=sym("p_i"), symbolic=formula,
                                        substituted=None)))
    loss = -sp.Add(*[t * lp for t, lp in zip(y, log_probs, strict=True) if t != 0])
    log_base, loss_key = base, "softmax_cross_entropy." + _LOSS_KEYS[base_key]
    if mistake == "log-base-10":  # log10 p = ln p / ln 10
        log_base, loss_key = sp.Integer(10), "softmax_cross_entropy.loss_log10"
    if log_base != sp.E:
        loss = loss / sp.log(log_base)
    num_terms = [sp.Integer(0) if t == 0 else
                 sp.Mul(_exact_written(t), Log(_exact_written(pj), log_base), evaluate=False)
                 for t, pj in zip(y, probs, strict=True)]
    sym_terms, general = _loss_formulas(k, log_base)
    steps.append(sum_step(loss_key, lhs, list(sym_terms), num_terms, True, loss, general))
    if index is not None and log_base == sp.E:
        with sp.evaluate(False):
            lse = sp.Add(sp.Mul(-1, sp.Symbol(f"z_{index + 1}")), Log(sym("sum_exp"), sp.E))
        steps.append(Step(key="softmax_cross_entropy.logsumexp", lhs=lhs, symbolic=lse,
                          value=loss, data={"index": index + 1,
                                            "logit": sp.Symbol(f"z_{index + 1}")}))
    return steps, probs, loss


@derivation(
    "softmax-cross-entropy",
    params=SOFTMAX_PARAMS,
    answers=[
        Answer("probs", "vectors", shapes=(("k",), ("n", "k"))),
        Answer("loss", "vectors", shapes=((), ("n",))),
        Answer("grad_logits", "vectors", shapes=(("k",), ("n", "k"))),
    ],
    limits={"k": 64, "n": 16, "labels": 64},
    mistakes=[
        Mistake("log-base-10", changes=("loss",), formula=True,
                applies=lambda p: str(p["base"]) != "10"),
        Mistake("gradient-sign", changes=("grad_logits",), formula=True),
        Mistake("sum-not-mean", changes=("loss", "grad_logits"),
                params=with_params(reduction="sum"),
                applies=lambda p: _mean_of_a_batch(p, "logits")),
        # the loss in bits (log2) where nats were asked, and the other way round
        Mistake("bits-for-nats", changes=("loss", "grad_logits"), params=with_params(base="2"),
                applies=lambda p: str(p["base"]) == "e"),
        Mistake("nats-for-bits", changes=("loss", "grad_logits"), params=with_params(base="e"),
                applies=lambda p: str(p["base"]) != "e"),
        # the gradient written p alone: the target's -y left out
        Mistake("gradient-target-left-out", changes=("grad_logits",), formula=True),
    ],
    sampler=sample_softmax,
    question=_softmax_question,
)
def softmax_cross_entropy(logits: sp.ImmutableMatrix, label: sp.Basic | sp.ImmutableMatrix,
                          reduction: str, base: str, mistake: str | None = None) -> Result:
    """Softmax probabilities, the cross-entropy loss and its gradient p - y, for one example or
    a batch.

    Args:
        logits: the scores z before the softmax: a vector, or a matrix with a row per example.
        label: for one example, the true class as an index counted from 0, or a one-hot (or
            any target) distribution over the classes; for a batch, a list of class indices
            (one per row) or a matrix of target rows.
        reduction: how a batch's per-example losses combine: ``mean`` (PyTorch's and Keras'
            default), ``sum``, or ``none`` (the list of per-example losses); one example has
            one loss whatever the reduction.
        base: the logarithm's base: ``e`` (nats, the default), ``2`` or ``10``; the gradient of
            a loss in base b is (p - y) / ln b.
        mistake: ``log-base-10`` (the loss with common logarithms) or ``gradient-sign``
            (the gradient written y - p).

    Raises:
        InputError: a label out of range, or labels that do not match the logits' rows.
    """
    rows, batch = _as_rows(logits)
    k, n = len(rows[0]), len(rows)
    targets = _batch_targets(label, n, k) if batch else [_target(label, k)]
    b = base_number(base)
    unit = UNITS[base]
    steps: list[Step] = []
    if batch:
        steps.append(Step(key=f"softmax_cross_entropy.batch_{reduction}", data={"n": n, "k": k}))
    all_probs, losses = [], []
    for i, (z, (y, index, total)) in enumerate(zip(rows, targets, strict=True), start=1):
        if batch:
            steps.append(Step(key="softmax_cross_entropy.example", data={"i": i, "n": n}))
        lhs = sp.Symbol(f"L_{i}") if batch else sym("L_ce")
        ex_steps, probs, loss = _softmax_example(z, y, index, b, base, mistake, lhs)
        if total is not None:
            ex_steps.insert(2, Step(key="softmax_cross_entropy.renormalized",
                                    data=_sum_shown(total)))
        steps += ex_steps
        all_probs.append(probs)
        losses.append(loss)
    if batch:
        reduce_step, loss_answer = reduction_step("softmax_cross_entropy.reduced", sym("L_ce"),
                                                  losses, reduction)
        steps.append(reduce_step)
    else:
        loss_answer = losses[0]
    steps += gradient_derivation()
    ys = [y for y, _, _ in targets]
    diff = [[pj - t for pj, t in zip(p, y, strict=True)] for p, y in zip(all_probs, ys,
                                                                          strict=True)]
    grad_key = "softmax_cross_entropy.gradient"
    p_sym, y_sym = sym("p_vec"), sym("y_vec")
    shown_p = _matrix_or_row([[_exact_written(x) for x in p] for p in all_probs], batch)
    shown_y = _matrix_or_row([[_exact_written(t) for t in y] for y in ys], batch)
    with sp.evaluate(False):
        grad_formula = sp.Add(p_sym, sp.Mul(-1, y_sym))
        grad_numbers = sp.MatAdd(shown_p, sp.MatMul(-1, shown_y))
        if mistake == "gradient-sign":
            diff, grad_key = [[-g for g in row] for row in diff], grad_key + "_reversed"
            grad_formula = sp.Add(y_sym, sp.Mul(-1, p_sym))
            grad_numbers = sp.MatAdd(shown_y, sp.MatMul(-1, shown_p))
        elif mistake == "gradient-target-left-out":
            diff, grad_key = [list(p) for p in all_probs], grad_key + "_no_target"
            grad_formula, grad_numbers = p_sym, shown_p
    scale = sp.Integer(1) / (n if batch and reduction == "mean" else 1)
    if b != sp.E:
        scale = scale / sp.log(b)
    steps.append(Step(key=grad_key + ("_batch" if batch else ""), lhs=sym("grad_z"),
                      symbolic=grad_formula,
                      substituted=grad_numbers, value=_matrix_or_row(diff, batch),
                      data={"n": n}, elidable=terms_of(k, substituted=None)))
    grad = [[g * scale for g in row] for row in diff]
    divisors = ([sp.Integer(n)] if batch and reduction == "mean" else []) + (
        [Log(b, sp.E)] if b != sp.E else [])
    if divisors:
        with sp.evaluate(False):
            den = divisors[0] if len(divisors) == 1 else sp.Mul(*divisors)
            scaled_formula = sp.Mul(sp.Pow(den, -1), grad_formula)
        key = "softmax_cross_entropy.gradient_scaled_" + "_".join(
            (["mean"] if batch and reduction == "mean" else []) + (["base"] if b != sp.E else []))
        steps.append(Step(key=key, lhs=sym("grad_z"), symbolic=scaled_formula,
                          value=_matrix_or_row(grad, batch), data={"n": n, "base": b}))
    info: dict[str, Any] = {"target": ys if batch else ys[0], "unit": unit}
    if batch:
        info.update(reduction=reduction, rows=n)
    return Result(
        convention=unit,
        steps=tuple(steps),
        answers={
            "probs": all_probs if batch else all_probs[0],
            "loss": loss_answer,
            "grad_logits": grad if batch else grad[0],
        },
        info=info,
    )
