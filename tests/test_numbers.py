"""Facts about exact numbers (dlexam.numbers) on denominators with thousands of factors 2 and 5,
as a learning-rate schedule's powers at its limits give, against SymPy's own factor count."""

from __future__ import annotations

import random

import sympy as sp

from dlexam.numbers import decimal_places, is_exact_short, terminating


def _denominators() -> list[int]:
    draw = random.Random(22)
    out = [1, 2, 5, 10, 3, 7 * 2**40, 5**3 * 11, 2**4000 * 5**3001, 2**3 * 5**5000,
           3 * 2**2500 * 5**700]
    odd = (1, 1, 3, 49, 2**61 - 1)
    out += [2**draw.randint(0, 300) * 5**draw.randint(0, 300) * draw.choice(odd)
            for _ in range(200)]
    return out


def test_terminating_and_decimal_places_agree_with_the_factor_counts() -> None:
    for d in _denominators():
        twos, fives = sp.multiplicity(2, d), sp.multiplicity(5, d)
        rest = d // (2**twos * 5**fives)
        q = sp.Rational(7 if d % 7 else 1, d)
        assert terminating(q) == (rest == 1), d
        if rest == 1:
            assert decimal_places(q) == max(twos, fives), d
            for digits in (0, 2, 4):
                assert is_exact_short(q, digits) == (max(twos, fives) <= digits), (d, digits)
        else:
            assert not is_exact_short(q), d
