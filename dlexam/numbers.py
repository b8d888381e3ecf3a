"""Facts about exact numbers shared by the derivations and the printers (no printing here)."""

from __future__ import annotations

import sympy as sp


def terminating(q: sp.Rational) -> bool:
    """True when the rational has a finite decimal expansion (its denominator is 2^a 5^b)."""
    d = int(q.q)
    for p in (2, 5):
        while d % p == 0:
            d //= p
    return d == 1


def decimal_places(q: sp.Rational) -> int:
    """The number of decimals a terminating rational needs (0.25 -> 2)."""
    # integer arithmetic only: a caller may be inside sympy.evaluate(False)
    d, twos, fives = int(q.q), 0, 0
    while d % 2 == 0:
        d, twos = d // 2, twos + 1
    while d % 5 == 0:
        d, fives = d // 5, fives + 1
    return max(twos, fives)


def is_exact_short(value: object, digits: int = 4) -> bool:
    """True when ``value`` is a rational written exactly with at most ``digits`` decimals."""
    if not isinstance(value, sp.Basic) or not value.is_Rational:
        return False
    return terminating(value) and decimal_places(value) <= digits
