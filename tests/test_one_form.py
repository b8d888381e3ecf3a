"""One exact value is written one way in every step that shows it: sampled questions of every
derivation (and self-attention with a causal mask, the case the issue met), their shown steps
searched for values put into a formula that an earlier step already wrote, each compared with
the earlier form by value (30 significant digits, worked out here) and by its printed text."""

from __future__ import annotations

import os

import pytest
import sympy as sp

from dlexam import derivations
from dlexam.notation import tex, text
from dlexam.notation.display import laid_out

CAUSAL = {"X": [[1, 0, 1, 0], [0, 2, 0, 1], [1, 1, 0, 0], [0, 1, 1, 1]],
          "W_Q": [[0.1, 0.2], [0.3, 0.1], [0.2, 0.4], [0.1, 0.3]],
          "W_K": [[0.2, 0.1], [0.1, 0.3], [0.3, 0.2], [0.4, 0.1]],
          "W_V": [[1, 0], [0, 1], [1, 1], [0.5, 0.5]], "mask": "causal"}


def _compound(node: object) -> bool:
    return (isinstance(node, sp.Basic) and not isinstance(node, sp.MatrixBase)
            and bool(node.args) and node.is_number is True
            and not node.has(sp.oo, -sp.oo, sp.zoo, sp.nan))


def _evaluated(node: sp.Basic) -> bool:
    try:
        return node.func(*node.args) == node and all(_evaluated(a) for a in node.args
                                                      if a.args)
    except (TypeError, ValueError, AttributeError):
        return False


def _entries(expr: sp.Basic) -> list[sp.Basic]:
    return list(expr) if isinstance(expr, sp.MatrixBase) else [expr]


def _value(node: sp.Basic) -> sp.Basic | None:
    try:
        value = sp.N(node, 30)
    except (TypeError, ValueError):
        return None
    return value if value.is_number and value.is_finite else None


def _same(a: sp.Basic, b: sp.Basic) -> bool:
    return bool(abs(a - b) <= sp.Float("1e-25", 30) * max(1, abs(a)))


def _check(result: object) -> int:
    """Fails on a value put in that an earlier step wrote another way; the count compared."""
    seen: list[tuple[sp.Basic, sp.Basic, int]] = []  # (value, form, step)
    compared = 0
    for number, step in enumerate(laid_out(result.steps)):  # type: ignore[attr-defined]
        substituted = step.substituted
        if not isinstance(substituted, sp.Basic):
            continue
        mine: list[tuple[sp.Basic, sp.Basic, int]] = []
        for entry in _entries(substituted):
            for node in sp.preorder_traversal(entry):
                if not (_compound(node) and _evaluated(node)):
                    continue
                value = _value(node)
                if value is None:
                    continue
                for earlier, form, where in seen:
                    if _same(earlier, value):
                        compared += 1
                        assert text(node) == text(form) and tex(node) == tex(form), (
                            f"step {number + 1} writes {text(node)}, step {where + 1} wrote "
                            f"{text(form)}")
                        break
                mine.append((value, node, number))
        # the values this step works out, as its own formula writes them
        if isinstance(step.value, sp.MatrixBase) and isinstance(substituted, sp.MatrixBase) \
                and step.value.shape == substituted.shape:
            mine += [(v, s, number) for v, s in
                     ((_value(s), s) for s in substituted) if v is not None and _compound(s)]
        elif isinstance(step.value, sp.Basic) and _compound(substituted):
            value = _value(substituted)
            if value is not None:
                mine.append((value, substituted, number))
        seen += mine
    return compared


def test_causal_self_attention_writes_each_weight_one_way() -> None:
    result = derivations.get("self-attention").run(CAUSAL)
    assert _check(result) >= 6  # the weights of rows 2 to 4, put into Z = A V


@pytest.mark.parametrize("name", sorted(derivations.names()))
def test_every_derivation_writes_a_value_one_way(name: str) -> None:
    d = derivations.get(name)
    assert d.sampler is not None
    for seed in range(1, min(int(os.environ.get("DLEXAM_TEST_SEEDS", "12")), 3) + 1):
        _check(d.run(d.sample(seed)))
