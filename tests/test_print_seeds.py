"""Printing never depends on SymPy's random order of assumption checks.

SymPy checks facts about an expression (``is_negative``...) in an order drawn from its own
generator, ``sympy.core.random``, seeded from the OS. On the unevaluated trees our derivations
keep (``2 - 1*0``) two orders can disagree and raise InconsistentAssumptions, at random. Every
derivation's steps are printed, text and LaTeX, under many seeds of that generator: nothing may
raise and every seed must print the same.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
import sympy as sp
import sympy.core.random as sympy_random
from sympy.core.cache import clear_cache

from dlexam import derivations
from dlexam.cli import parse_assignments
from dlexam.notation import tex, text

# left out of the fast lane (make check): make test runs it
pytestmark = pytest.mark.slow

README = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
EXAMPLES = dict(re.findall(r"^\| `([a-z-]+)` \| [\w ]+ \| `([^`]+)`", README, re.M))
SEEDS = range(1, 9)


def _fresh(expr: Any) -> Any:
    """A copy of ``expr`` built anew, unevaluated, so that no assumption SymPy already worked
    out on the original is remembered: each seed starts from a clean tree."""
    if isinstance(expr, sp.MatrixBase):
        return expr.applyfunc(_fresh)
    if not isinstance(expr, sp.Basic) or expr.is_Atom or not expr.args:
        return expr
    args = [_fresh(a) for a in expr.args]
    try:
        return expr.func(*args, evaluate=False)
    except TypeError:  # a class without an ``evaluate`` switch
        return expr.func(*args)


def _printed(steps: Iterable[derivations.Step], seed: int) -> list[str]:
    """Every formula of the steps in text and LaTeX, printed from fresh trees with SymPy's cache
    emptied (it hands back one object per unevaluated ``-1*0``, whose assumptions, once asked,
    are remembered) and its assumption order seeded with ``seed``."""
    clear_cache()
    sympy_random.seed(seed)
    out = []
    for step in steps:
        for expr in (step.lhs, step.symbolic, step.substituted, step.value):
            if isinstance(expr, sp.Basic):
                expr = _fresh(expr)
                out += [text(expr), tex(expr), tex(expr, numbers=True)]
    return out


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_prints_the_same_under_every_seed(name: str) -> None:
    params = parse_assignments(shlex.split(EXAMPLES[name])[1:],
                               derivations.get(name).json_depths)
    steps = derivations.solve(name, params).steps
    expected = _printed(steps, 0)
    for seed in SEEDS:
        assert _printed(steps, seed) == expected, f"{name}, sympy.core.random.seed({seed})"


def test_bptt_bound_prints_under_every_seed() -> None:
    # the reported failure: (γσ)^(T-k) put in as (γσ)^(2 - 1*0); 2 seeds in 100 used to raise
    params = parse_assignments(shlex.split(EXAMPLES["bptt"])[1:])
    steps = [s for s in derivations.solve("bptt", params).steps
             if isinstance(s.substituted, sp.Basic) and s.substituted.has(sp.Pow)]
    assert steps
    expected = _printed(steps, 0)
    for seed in range(400):
        assert _printed(steps, seed) == expected, f"sympy.core.random.seed({seed})"


@pytest.mark.parametrize("seed", range(10))
def test_bptt_solves_and_reads_under_every_seed(seed: int) -> None:
    # the reported failure, end to end: a fresh derivation and its JSON under each seed
    params = parse_assignments(shlex.split(EXAMPLES["bptt"])[1:])
    clear_cache()
    sympy_random.seed(seed)
    data = derivations.solve("bptt", params).as_dict()
    assert any("^" in (s["substituted"] or "") for s in data["steps"])
