"""One exact value, one written form across the steps a reader sees.

A derivation writes a value as it computes it: the softmax weight of row 3 is written
``exp(0.145√2)/(exp(0.145√2) + exp(0.225√2) + exp(0.12√2))`` in its own step, with the terms in
the formula's order. A later step that puts the weight in (``Z = A V``) holds the evaluated
value, which SymPy writes in its own canonical order (``exp(0.145√2)/(exp(0.12√2) + ...)``),
or with a decimal coefficient where the first step had a fraction. The reader then sees one
number written two ways.

The display rule: the first shown step that writes a value fixes its form. Every later
occurrence of that value among the numbers put into a step's formula (an evaluated SymPy
expression, not the unevaluated working of the step itself) is written in that first form.
The values are compared exactly: decimals as the fractions they write, expressions by SymPy's
canonical (evaluated) form. Only display changes; values and answers are untouched.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any, TypeVar

import sympy as sp

S = TypeVar("S")

MAX_NODES = 20_000
"""A step whose formula has more nodes than this is left as it is (the cost stays linear)."""


def _canonical(expr: sp.Basic, cache: dict[sp.Basic, sp.Basic]) -> sp.Basic:
    """``expr`` evaluated, its decimals as the fractions they write: equal values that SymPy
    can see are equal come out identical."""
    found = cache.get(expr)
    if found is not None:
        return found
    if isinstance(expr, sp.Float):
        out: sp.Basic = sp.Rational(str(expr))
    elif not expr.args:
        out = expr
    else:
        try:
            out = expr.func(*[_canonical(a, cache) for a in expr.args])
        except (TypeError, ValueError, AttributeError):
            out = expr
    cache[expr] = out
    return out


def _evaluated(expr: sp.Basic, cache: dict[sp.Basic, sp.Basic]) -> bool:
    """Whether ``expr`` is in SymPy's evaluated form (a value put in), not working written
    with ``evaluate=False``."""
    try:
        return bool(expr.func(*expr.args) == expr) and all(
            _evaluated(a, cache) for a in expr.args if a.args)
    except (TypeError, ValueError, AttributeError):
        return False


def _candidate(expr: Any) -> bool:
    """A compound exact number: an expression without symbols that is not a single number."""
    return (isinstance(expr, sp.Basic) and not isinstance(expr, sp.MatrixBase)
            and bool(expr.args) and expr.is_number is True and not expr.is_Atom
            and not expr.has(sp.oo, -sp.oo, sp.zoo, sp.nan))


def _written(step: Any) -> list[tuple[sp.Basic, sp.Basic]]:
    """(value, its form as this step writes it): each entry of the step's value with the same
    entry of its formula with the numbers put in."""
    value, substituted = getattr(step, "value", None), getattr(step, "substituted", None)
    if substituted is None or value is None:
        return []
    if isinstance(value, sp.MatrixBase) and isinstance(substituted, sp.MatrixBase):
        if value.shape != substituted.shape:
            return []
        return [(v, s) for v, s in zip(value, substituted, strict=True) if _candidate(s)]
    if isinstance(value, sp.Basic) and _candidate(substituted):
        return [(value, substituted)]
    return []


def one_form(steps: Iterable[S]) -> list[S]:
    """The steps with every value put into a formula written as the first step that wrote it
    did (see the module's rule)."""
    cache: dict[sp.Basic, sp.Basic] = {}
    forms: dict[sp.Basic, sp.Basic] = {}
    out: list[S] = []
    for step in steps:
        substituted = getattr(step, "substituted", None)
        # sized once (SymPy's count_ops is a good part of a key's rendering)
        small = isinstance(substituted, sp.Basic) and _size(substituted) <= MAX_NODES
        if small and forms:
            swapped = _swap(substituted, forms, cache)
            if swapped is not substituted:
                step = replace(step, substituted=swapped)  # type: ignore[type-var]
        if small:
            _learn(substituted, forms, cache)
            for value, form in _written(step):
                forms.setdefault(_canonical(value, cache), form)
        out.append(step)
    return out


def _size(expr: sp.Basic) -> int:
    if isinstance(expr, sp.MatrixBase):
        return sum(sp.count_ops(e, visual=False) + 1 for e in expr) if expr.shape[0] * \
            expr.shape[1] <= MAX_NODES else MAX_NODES + 1
    return int(sp.count_ops(expr, visual=False)) + 1


def _learn(expr: sp.Basic, forms: dict[sp.Basic, sp.Basic],
           cache: dict[sp.Basic, sp.Basic]) -> None:
    """Registers the evaluated compound numbers a formula writes (values put in), each the
    first time it is seen."""
    for entry in (expr if isinstance(expr, sp.MatrixBase) else [expr]):
        for node in sp.preorder_traversal(entry):
            if _candidate(node) and _evaluated(node, cache):
                forms.setdefault(_canonical(node, cache), node)


def _swap(expr: sp.Basic, forms: dict[sp.Basic, sp.Basic],
          cache: dict[sp.Basic, sp.Basic]) -> sp.Basic:
    """``expr`` with each value put in (an evaluated compound number) written in its first
    form; the same object when nothing changes."""
    if isinstance(expr, sp.MatrixBase):
        entries = [_swap(e, forms, cache) for e in expr]
        if all(a is b for a, b in zip(entries, expr, strict=True)):
            return expr
        return sp.ImmutableMatrix(expr.rows, expr.cols, entries) if isinstance(
            expr, sp.ImmutableMatrix) else sp.Matrix(expr.rows, expr.cols, entries)
    if _candidate(expr) and _evaluated(expr, cache):
        first = forms.get(_canonical(expr, cache))
        if first is not None:
            return first
        return expr
    if not expr.args:
        return expr
    args = [_swap(a, forms, cache) if isinstance(a, sp.Basic) else a for a in expr.args]
    if all(a is b for a, b in zip(args, expr.args, strict=True)):
        return expr
    try:
        return expr.func(*args, evaluate=False)
    except TypeError:
        return expr.func(*args)
