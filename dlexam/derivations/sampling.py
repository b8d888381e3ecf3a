"""Seeded draws of exam parameters: the same seed gives the same numbers everywhere.

A derivation's sampler receives a :class:`Draw` and returns raw parameters (JSON-like values, as
the command line takes them). Every draw is built from ``random.Random.random()`` alone, whose
sequence for a given integer seed Python keeps the same across versions and machines (unlike
``randrange``/``choice``/``shuffle`` helpers, whose algorithms have changed before, and NumPy's
generators, whose streams are not promised stable for every method).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any, TypeVar

T = TypeVar("T")

MAX_SEED = 2**63 - 1


class Draw:
    """A seeded source of exam-friendly numbers: small integers and one- or two-decimal values.

    Args:
        seed: a whole number from 0 to 2**63 - 1.
    """

    def __init__(self, seed: int) -> None:
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
            raise ValueError(f"seed must be a whole number from 0 to {MAX_SEED}")
        self._rng = random.Random(seed)

    def _unit(self) -> float:
        return self._rng.random()

    def integer(self, lo: int, hi: int) -> int:
        """A whole number from lo to hi, both included."""
        if hi < lo:
            raise ValueError(f"empty range [{lo}, {hi}]")
        return lo + min(int(self._unit() * (hi - lo + 1)), hi - lo)

    def choice(self, options: Sequence[T]) -> T:
        """One of the options."""
        return options[self.integer(0, len(options) - 1)]

    def chance(self, p: float) -> bool:
        """True with probability p."""
        return self._unit() < p

    def decimal(self, lo: float, hi: float, decimals: int = 1, *, nonzero: bool = False) -> float:
        """A number from lo to hi on the grid of ``decimals`` decimal places (both ends included).

        The value is a float whose shortest repr is the decimal itself (0.3, not
        0.30000000000000004), so that it reads back as the exact rational 3/10.
        """
        scale = 10**decimals
        a, b = round(lo * scale), round(hi * scale)
        skip = nonzero and a <= 0 <= b  # 0 is left out of the grid a..b
        size = b - a + 1 - skip
        if size <= 0:
            raise ValueError(f"no {decimals}-decimal value in [{lo}, {hi}]")
        k = a + self.integer(0, size - 1)  # the grid's entry, without listing the grid
        if skip and k >= 0:
            k += 1
        return k if decimals == 0 else round(k / scale, decimals)

    def array(self, shape: Sequence[int], lo: float, hi: float, decimals: int = 1,
              *, nonzero: bool = False) -> Any:
        """Nested lists of the given shape (``()`` gives one number), row by row."""
        if not shape:
            return self.decimal(lo, hi, decimals, nonzero=nonzero)
        return [self.array(shape[1:], lo, hi, decimals, nonzero=nonzero)
                for _ in range(shape[0])]

    def distribution(self, k: int, decimals: int = 2, *, floor: float = 0.05) -> list[float]:
        """k probabilities on a ``decimals`` grid, each at least ``floor``, summing exactly to 1.

        Many outcomes (an exam file's k, up to the derivation's limit) lower the floor to what
        they leave, 1/k on the grid, and add decimals when the grid has fewer steps than k.
        """
        while 10**decimals < k:
            decimals += 1
        scale = 10**decimals
        least = min(round(floor * scale), scale // k)
        spare = scale - least * k
        cuts = sorted(self.integer(0, spare) for _ in range(k - 1))
        parts = [b - a for a, b in zip([0, *cuts], [*cuts, spare], strict=True)]
        return [round((least + part) / scale, decimals) for part in parts]

    def fork(self) -> Draw:
        """An independent stream derived from this one (for a redraw that must not shift others)."""
        return Draw(int(self._unit() * MAX_SEED))
