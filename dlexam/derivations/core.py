"""The result type every derivation returns, and the registry that names them.

A derivation is a pure function of validated parameters that returns a :class:`Result`: the
parameters as given, the convention used, an ordered tuple of :class:`Step` records and the named
answers. Nothing here prints, writes files or holds language text: a step names its prose by a
catalog key (``templates/i18n``) and carries the values the prose refers to.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from fractions import Fraction
from types import MappingProxyType
from typing import Any

import sympy as sp

from dlexam.derivations.notation import text
from dlexam.derivations.params import Param, exact, validate


def _freeze(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class Step:
    """One line of a derivation: formula -> numbers put in -> value.

    Attributes:
        key: catalog key of the prose that explains this step (``"param_count.lstm"``).
        lhs: what is being computed (a symbol or symbolic expression), or None.
        symbolic: the formula in symbols, or None for a prose-only step.
        substituted: the formula with the numbers put in, unevaluated, or None.
        value: the exact value (rationals stay rationals), or None.
        data: values the prose refers to by name (numbers, strings, SymPy objects).
    """

    key: str
    lhs: sp.Basic | None = None
    symbolic: sp.Basic | None = None
    substituted: sp.Basic | None = None
    value: Any = None
    data: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        object.__setattr__(self, "data", _freeze(self.data))


@dataclass(frozen=True)
class Result:
    """What a derivation returns.

    Attributes:
        derivation: the registered name (``"param-count"``).
        params: the parameters as given (after defaults), JSON-compatible.
        convention: the convention used, where one applies (``"keras"``, ``"column"``).
        steps: the ordered steps.
        answers: the named answers; values are SymPy numbers, matrices, lists or strings.
    """

    derivation: str
    params: Mapping[str, Any]
    convention: str | None
    steps: tuple[Step, ...]
    answers: Mapping[str, Any]

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", _freeze(self.params))
        object.__setattr__(self, "answers", _freeze(self.answers))
        object.__setattr__(self, "steps", tuple(self.steps))

    def as_dict(self) -> dict[str, Any]:
        """The result as plain JSON data (formulas as plain text in the project's notation)."""
        return {
            "derivation": self.derivation,
            "params": to_plain(dict(self.params)),
            "convention": self.convention,
            "answers": {k: to_plain(v) for k, v in self.answers.items()},
            "steps": [
                {
                    "key": s.key,
                    "lhs": None if s.lhs is None else text(s.lhs),
                    "symbolic": None if s.symbolic is None else text(s.symbolic),
                    "substituted": None if s.substituted is None else text(s.substituted),
                    "value": to_plain(s.value),
                    "data": {k: to_plain(v) for k, v in s.data.items()},
                }
                for s in self.steps
            ],
        }


def to_plain(value: Any) -> Any:
    """Converts SymPy values to JSON data: integers stay integers, other numbers become floats.

    Infinities become the strings ``"inf"`` / ``"-inf"`` (JSON has no infinity).
    """
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return value
    if isinstance(value, (Decimal, Fraction)):  # numbers as the command line parsed them
        return int(value) if value == int(value) else to_plain(float(value))
    if isinstance(value, sp.MatrixBase):
        return [[to_plain(x) for x in value.row(i)] for i in range(value.rows)]
    if isinstance(value, Mapping):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if isinstance(value, sp.Basic):
        if value in (sp.oo, sp.zoo):
            return "inf"
        if value == -sp.oo:
            return "-inf"
        if value.is_Integer:
            return int(value)
        if value.is_number:
            return to_plain(float(value.evalf(17)))
        return sp.sstr(value)
    if hasattr(value, "item"):  # a NumPy scalar
        return to_plain(value.item())
    return str(value)


def put_in(expr: sp.Basic, values: Mapping[sp.Basic, Any]) -> sp.Basic:
    """The formula with the numbers put in, left unevaluated so it prints as written.

    Args:
        expr: a formula, best built under ``sympy.evaluate(False)`` to keep its authored order.
        values: symbol -> number (or matrix) to put in.
    """
    if expr in values:
        v = values[expr]
        return v if isinstance(v, sp.Basic) else exact(v)
    if not expr.args or isinstance(expr, sp.MatrixBase):
        return expr
    return expr.func(*[put_in(a, values) for a in expr.args], evaluate=False)


def evaluate_at(expr: sp.Basic, values: Mapping[sp.Basic, Any]) -> Any:
    """The formula's exact value at the given numbers."""
    exact_values = {k: v if isinstance(v, sp.Basic) else exact(v) for k, v in values.items()}
    return expr.xreplace(exact_values).doit()


def three_part(
    key: str,
    lhs: sp.Basic | None,
    formula: sp.Basic,
    values: Mapping[sp.Basic, Any],
    **data: Any,
) -> Step:
    """A step holding the formula, the numbers put in, and the exact value."""
    return Step(
        key=key,
        lhs=lhs,
        symbolic=formula,
        substituted=put_in(formula, values),
        value=evaluate_at(formula, values),
        data=data,
    )


@dataclass(frozen=True)
class Derivation:
    """A registered derivation: its name, declared parameters and function."""

    name: str
    params: tuple[Param, ...]
    fn: Callable[..., Result]
    summary_key: str
    limits: Mapping[str, int] = field(default_factory=dict)

    def run(self, raw: Mapping[str, Any] | None = None, **kwargs: Any) -> Result:
        """Validates raw parameters (JSON-like values) and runs the derivation.

        Raises:
            InputError: a parameter is missing, unknown or malformed.
        """
        given = dict(raw or {})
        given.update(kwargs)
        values = validate(self.params, given, self.limits)
        result = self.fn(**values)
        shown = {p.name: given.get(p.name, p.default) for p in self.params}
        return replace(result, params=to_plain(shown))


REGISTRY: dict[str, Derivation] = {}


def derivation(
    name: str, params: Iterable[Param], limits: Mapping[str, int] | None = None
) -> Callable[[Callable[..., Result]], Callable[..., Result]]:
    """Registers a derivation function under ``name`` with its declared parameters.

    ``limits`` caps each dimension name its array parameters use (``{"T": 20, "H": 8}``),
    checked as the name binds; whole-number parameters carry their own ``maximum``. Both are
    data: ``dlexam show`` and the README's table print them.
    """

    def register(fn: Callable[..., Result]) -> Callable[..., Result]:
        if name in REGISTRY:
            raise RuntimeError(f"derivation {name!r} registered twice")
        REGISTRY[name] = Derivation(
            name=name,
            params=tuple(params),
            fn=fn,
            summary_key=name.replace("-", "_") + ".summary",
            limits=MappingProxyType(dict(limits or {})),
        )
        return fn

    return register


def as_list(values: Sequence[Any]) -> list[Any]:
    """A plain list (for answers that are sequences of SymPy values)."""
    return list(values)
