"""Facts about exact numbers shared by the derivations and the printers (no printing here)."""

from __future__ import annotations

import sympy as sp


def _without(d: int, p: int) -> tuple[int, int]:
    """``d`` without its factors ``p``, and how many there were: divides by p, p^2, p^4, ...
    and back down, a few divisions of a long integer instead of one per factor."""
    if p == 2:  # the trailing zero bits
        count = (d & -d).bit_length() - 1
        return d >> count, count
    powers = [p]  # p^(2^i) while it divides d
    while d % powers[-1] == 0:
        powers.append(powers[-1] * powers[-1])
    count = 0
    for i in reversed(range(len(powers) - 1)):
        rest, left = divmod(d, powers[i])
        if left == 0:
            d, count = rest, count + (1 << i)
    return d, count


def terminating(q: sp.Rational) -> bool:
    """True when the rational has a finite decimal expansion (its denominator is 2^a 5^b)."""
    d = int(q.q)
    for p in (2, 5):
        d, _ = _without(d, p)
    return d == 1


def decimal_places(q: sp.Rational) -> int:
    """The number of decimals a terminating rational needs (0.25 -> 2)."""
    # integer arithmetic only: a caller may be inside sympy.evaluate(False)
    d, twos = _without(int(q.q), 2)
    _, fives = _without(d, 5)
    return max(twos, fives)


def is_exact_short(value: object, digits: int = 4) -> bool:
    """True when ``value`` is a rational written exactly with at most ``digits`` decimals."""
    if not isinstance(value, sp.Basic) or not value.is_Rational:
        return False
    return terminating(value) and decimal_places(value) <= digits
