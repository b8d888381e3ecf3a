"""Discrete distributions shared by the information-theory and GAN derivations.

Checked probability vectors, logarithms in a chosen base kept unevaluated in formulas, and the
steps that write a sum over the outcomes out term by term (cross-entropy, KL divergence). Values
stay exact (sums of logarithms of rationals); a term p_i log(p_i / 0) with p_i > 0 makes the sum
infinite, and the step reports where.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sympy as sp

from dlexam.derivations.core import Step, terms_of
from dlexam.derivations.forms import Notation, Ratio, Stack, as_written
from dlexam.errors import InputError, Said
from dlexam.notation import register_symbols, sym
from dlexam.notation.display import plain_number

register_symbols({
    "m_mix": ("m", "m"),
})

TOLERANCE = sp.Rational(1, 10**9)
"""How far from 1 a distribution's sum may be."""

RENORMALISE_TOLERANCE = sp.Rational(1, 10**6)
"""How far from 1 a sum may be for :func:`near_distribution`, which then divides by it (rounded
probabilities such as 0.333333 three times)."""

class Log(Notation):
    """log_b(x), kept unevaluated in formulas; base e prints as ln."""


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
            raise InputError(name, Said("inputs.non_negative_probabilities"),
                             f"{name}_{i} = {plain_number(x, 'echo')}")
    total = sp.Add(*values)
    if normalize:
        if total == 0:
            raise InputError(name, Said("inputs.a_positive"), Said("inputs.all_zeros"))
        return [x / total for x in values]
    if abs(total - 1) > TOLERANCE:
        raise InputError(name, Said("inputs.sum_to_one"),
                         Said("inputs.a_sum_of", total=plain_number(total, "near_one")))
    return values


def near_distribution(name: str, v: sp.MatrixBase | Sequence[sp.Rational], normalize: bool,
                      row: int | None = None, *, can_normalize: bool = True
                      ) -> tuple[list[sp.Rational], sp.Rational | None]:
    """The probabilities of a vector, checked; a sum within 1e-6 of 1 is renormalised.

    Args:
        name: the parameter's name, for errors.
        v: the entries.
        normalize: divide by the sum whatever it is (the sum must be positive).
        row: the row of a matrix parameter these entries are (1-based), for errors.
        can_normalize: the derivation has a ``normalize`` switch (the error then names it).

    Returns:
        The probabilities, exact, and the sum they were divided by when it was not 1 and
        ``normalize`` was not asked (None otherwise).

    Raises:
        InputError: a negative entry, or a sum further than 1e-6 from 1 without normalize=true.
    """
    values = list(v)
    def at(what: Any) -> Any:  # what was given, and in which row
        return what if row is None else Said("inputs.in_row", row=row, what=what)

    for i, x in enumerate(values, start=1):
        if x < 0:
            raise InputError(name, Said("inputs.non_negative_probabilities"),
                             at(f"{name}_{i} = {plain_number(x, 'echo')}"))
    total = sp.Add(*values)
    if normalize:
        if total == 0:
            raise InputError(name, Said("inputs.a_positive"), at(Said("inputs.all_zeros")))
        return [x / total for x in values], None
    if sp.Eq(total, 1):  # decided by value, also while traced (dlexam.plans)
        return values, None
    if abs(total - 1) > RENORMALISE_TOLERANCE:
        raise InputError(name, Said("inputs.sum_near_one_or" if can_normalize
                                    else "inputs.sum_near_one"),
                         at(Said("inputs.a_sum_of", total=plain_number(total, "near_one"))))
    return [x / total for x in values], total


def indexed(letter: str, i: int) -> sp.Symbol:
    return sp.Symbol(f"{letter}_{i}")


def sum_step(key: str, lhs: sp.Basic, symbolic_terms: Sequence[sp.Basic],
              number_terms: Sequence[sp.Basic], negate: bool, value: sp.Basic,
              general: sp.Basic, **data: Any) -> Step:
    """A sum over the outcomes written out term by term, with ``general``, its Sigma form, as
    the shorter form the layout shows when there are more terms than it writes out."""
    # evaluate=False by argument: sympy.evaluate(False) would empty SymPy's cache, step by step
    symbolic = (sp.Add(*symbolic_terms, evaluate=False) if len(symbolic_terms) > 1
                else symbolic_terms[0])
    numbers = sp.Add(*number_terms, evaluate=False) if len(number_terms) > 1 else number_terms[0]
    if negate:
        symbolic = sp.Mul(-1, symbolic, evaluate=False)
        numbers = sp.Mul(-1, numbers, evaluate=False)
    return Step(key=key, lhs=lhs, symbolic=symbolic, substituted=numbers, value=value, data=data,
                elidable=terms_of(len(symbolic_terms), symbolic=general, substituted=None))


def general_sum(term: sp.Basic, k: int, negate: bool) -> sp.Basic:
    i = sp.Symbol("i")
    total = sp.Sum(term, (i, 1, k))
    return sp.Mul(-1, total, evaluate=False) if negate else total


def cross_step(key: str, lhs: sp.Basic, p: Sequence[sp.Rational], q: Sequence[sp.Rational],
               letters: tuple[str, str], base: sp.Basic, ratio: bool,
               q_fractions: bool = True, **data: Any
               ) -> tuple[Step, sp.Basic, int | None]:
    """-sum p_i log q_i (cross-entropy) or sum p_i log(p_i / q_i) (KL divergence).

    ``q_fractions``: q's probabilities are put into the formula as fractions (1/3) where no
    short decimal writes them; False writes them as decimals (a mixture, whose exact entries
    such as 26/75 read badly). The value stays exact.

    Returns the step, the exact value (oo when some q_i = 0 < p_i) and the first such index.
    """
    a, b = letters
    sym_terms, num_terms = [], []
    infinite_at: int | None = None
    value_terms = []
    for i, (x, y) in enumerate(zip(p, q, strict=True), start=1):
        pi, qi = indexed(a, i), indexed(b, i)
        inner_sym = Ratio(pi, qi) if ratio else qi
        sym_terms.append(sp.Mul(pi, Log(inner_sym, base), evaluate=False))
        if x == 0:
            num_terms.append(sp.Integer(0))
            continue
        written_q = as_written(y, fractions=q_fractions)
        inner = Ratio(as_written(x, fractions=True), written_q) if ratio else written_q
        num_terms.append(sp.Mul(as_written(x, fractions=True), Log(inner, base), evaluate=False))
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
    general = general_sum(sp.Mul(pi, Log(inner_general, base), evaluate=False), len(p), not ratio)
    step = sum_step(key, lhs, sym_terms, num_terms, not ratio, value, general, **data)
    return step, value, infinite_at



def distributions_step(key: str, names: tuple[str, str], first: Sequence[sp.Rational],
                       second: Sequence[sp.Rational], **data: Any) -> Step:
    """The two distributions as the derivation uses them, one row each and exact: [p; q] = ..."""
    return Step(key=key, lhs=Stack(*(sym(n) for n in names)),
                symbolic=sp.ImmutableMatrix([[as_written(x, fractions=True) for x in first],
                                             [as_written(x, fractions=True) for x in second]]),
                data=data)
