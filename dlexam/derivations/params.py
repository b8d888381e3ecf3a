"""Declared parameters and their validation.

Every derivation declares its parameters: a kind, and for arrays the shapes allowed, written in
dimension names (``("H", "H")`` for a square matrix). Validation binds each dimension name to a
size the first time it is seen and checks every later use against it, so an error can say which
parameter fixed the size. Numbers become exact SymPy rationals (0.5 is 1/2); nothing is parsed as
code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

import sympy as sp

from dlexam.errors import InputError


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()

Shape = tuple[str | int, ...]


@dataclass(frozen=True)
class Param:
    """A declared parameter.

    Attributes:
        name: the parameter's name as typed on the command line.
        kind: ``"number"``, ``"int"``, ``"array"``, ``"array_list"``, ``"choice"``, ``"bool"`` or
            ``"string"``.
        shapes: for arrays, the shapes allowed, in dimension names or fixed sizes; ``()`` in the
            list allows a scalar. For an ``"array_list"``, the shapes allowed for each item; a
            dimension name binds across the items (and across parameters) as usual.
        default: the value used when the parameter is not given (REQUIRED: it must be given).
        choices: for ``"choice"``, the allowed words (a whole number given is read as its digits).
        minimum: for ``"int"`` and ``"number"``, the smallest allowed value.
        items: for ``"array_list"``, the dimension name of the number of items (``"heads"``), so
            that lists given for several parameters must have the same length; or None.
    """

    name: str
    kind: str
    shapes: tuple[Shape, ...] = ()
    default: Any = REQUIRED
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    items: str | None = None

    def describe(self) -> str:
        """What this parameter expects, in words."""
        if self.kind == "array":
            alts = [" x ".join(str(d) for d in s) if s else "a number" for s in self.shapes]
            return "an array of shape " + " or ".join(alts)
        if self.kind == "array_list":
            alts = [" x ".join(str(d) for d in s) if s else "a number" for s in self.shapes]
            return "a list of arrays, each of shape " + " or ".join(alts)
        if self.kind == "choice":
            return "one of " + ", ".join(self.choices)
        if self.kind == "int":
            return "a whole number" + (f" >= {self.minimum}" if self.minimum is not None else "")
        if self.kind == "number":
            return "a number" + (f" >= {self.minimum}" if self.minimum is not None else "")
        if self.kind == "bool":
            return "true or false"
        return "a string"


def exact(value: Any) -> sp.Rational:
    """An exact SymPy rational from an int, a Decimal, a float (by its shortest repr) or a Fraction.

    Raises:
        TypeError: the value is not a number.
    """
    if isinstance(value, bool):
        raise TypeError("a boolean is not a number")
    if isinstance(value, sp.Rational):
        return value
    if isinstance(value, int):
        return sp.Integer(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise TypeError("not a finite number")
        value = Fraction(repr(value))
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise TypeError("not a finite number")
        value = Fraction(value)
    if isinstance(value, Fraction):
        return sp.Rational(value.numerator, value.denominator)
    if isinstance(value, sp.Float):
        return sp.Rational(Fraction(repr(float(value))).limit_denominator(10**15))
    raise TypeError(f"{type(value).__name__} is not a number")


def _describe_value(value: Any) -> str:
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:37] + "...")
    return repr(value)


def _shape_of(value: Any, name: str) -> tuple[tuple[int, ...], list[sp.Rational]]:
    """The shape of nested lists of numbers and their values, flattened row by row."""
    if not isinstance(value, (list, tuple)):
        try:
            return (), [exact(value)]
        except TypeError:
            raise InputError(
                name, "a number or a list of numbers", _describe_value(value)
            ) from None
    if len(value) == 0:
        raise InputError(name, "a non-empty list", "an empty list")
    parts = [_shape_of(v, name) for v in value]
    inner = parts[0][0]
    if any(p[0] != inner for p in parts):
        raise InputError(name, "rows of equal length (a rectangular array)", "ragged rows")
    flat = [x for p in parts for x in p[1]]
    return (len(value), *inner), flat


def _fmt_shape(shape: Sequence[int]) -> str:
    return " x ".join(str(d) for d in shape) if shape else "a number"


def _check_array(param: Param, value: Any, dims: dict[str, tuple[int, str]]) -> Any:
    shape, flat = _shape_of(value, param.name)
    candidates = [s for s in param.shapes if len(s) == len(shape)]
    if not candidates:
        raise InputError(param.name, param.describe(), f"shape {_fmt_shape(shape)}")
    errors: list[str] = []
    for decl in candidates:
        trial = dict(dims)
        problem = None
        for dname, size in zip(decl, shape, strict=True):
            if isinstance(dname, int):
                if dname != size:
                    problem = f"size {dname} where {_fmt_shape(shape)} was given"
                    break
                continue
            if dname in trial and trial[dname][0] != size:
                known, source = trial[dname]
                problem = f"{dname} = {known} (set by {source}) but got {size}"
                break
            trial.setdefault(dname, (size, param.name))
        if problem is None:
            dims.update(trial)
            if len(shape) == 0:
                return flat[0]
            if len(shape) == 1:
                return sp.ImmutableMatrix(shape[0], 1, flat)
            if len(shape) == 2:
                return sp.ImmutableMatrix(shape[0], shape[1], flat)
            raise InputError(param.name, "at most two dimensions", f"shape {_fmt_shape(shape)}")
        errors.append(problem)
    decl_txt = " or ".join(" x ".join(str(d) for d in s) for s in candidates)
    raise InputError(param.name, f"shape {decl_txt}", "; ".join(errors))


def _check_array_list(
    param: Param, value: Any, dims: dict[str, tuple[int, str]]
) -> tuple[Any, ...]:
    if not isinstance(value, (list, tuple)) or len(value) == 0:
        raise InputError(param.name, param.describe(), _describe_value(value))
    if param.items is not None:
        known = dims.get(param.items)
        if known is not None and known[0] != len(value):
            raise InputError(param.name, f"{param.items} = {known[0]} arrays (set by {known[1]})",
                             f"{len(value)}")
    out = []
    for index, item in enumerate(value, start=1):
        try:
            out.append(_check_array(param, item, dims))
        except InputError as err:
            raise InputError(param.name, err.expected, f"item {index}: {err.got}") from None
    if param.items is not None:
        dims.setdefault(param.items, (len(value), param.name))
    return tuple(out)


def _check_one(param: Param, value: Any, dims: dict[str, tuple[int, str]]) -> Any:
    if param.kind == "array":
        return _check_array(param, value, dims)
    if param.kind == "array_list":
        return _check_array_list(param, value, dims)
    if param.kind in ("number", "int"):
        try:
            num = exact(value)
        except TypeError:
            raise InputError(param.name, param.describe(), _describe_value(value)) from None
        if param.kind == "int" and not num.is_Integer:
            raise InputError(param.name, param.describe(), _describe_value(value))
        if param.minimum is not None and num < param.minimum:
            raise InputError(param.name, param.describe(), _describe_value(value))
        return int(num) if param.kind == "int" else num
    if param.kind == "choice":
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)  # base=2 on the command line arrives as the JSON number 2
        if not isinstance(value, str) or value not in param.choices:
            raise InputError(param.name, param.describe(), _describe_value(value))
        return value
    if param.kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise InputError(param.name, "true or false", _describe_value(value))
    if param.kind == "string":
        if not isinstance(value, str):
            raise InputError(param.name, "a string", _describe_value(value))
        return value
    raise RuntimeError(f"parameter {param.name!r} has unknown kind {param.kind!r}")


def validate(params: Sequence[Param], given: Mapping[str, Any]) -> dict[str, Any]:
    """Checks given raw values against the declarations; returns validated values.

    Arrays become ``sympy.ImmutableMatrix`` (a vector is a column), an array list a tuple of
    them, numbers exact rationals.

    Raises:
        InputError: naming the first parameter that is unknown, missing or malformed.
    """
    known = {p.name for p in params}
    for name in given:
        if name not in known:
            raise InputError(name, "one of the parameters " + ", ".join(sorted(known)),
                             "an unknown parameter")
    dims: dict[str, tuple[int, str]] = {}
    out: dict[str, Any] = {}
    for p in params:
        if p.name in given and not (given[p.name] is None and p.default is None):
            out[p.name] = _check_one(p, given[p.name], dims)
        elif p.default is REQUIRED:
            raise InputError(p.name, p.describe(), "nothing (it is required)")
        else:
            out[p.name] = (
                _check_one(p, p.default, dims) if p.default is not None else None
            )
    return out


def bind_dims(params: Sequence[Param], given: Mapping[str, Any]) -> dict[str, int]:
    """The dimension sizes that the given parameters fix (the others are left unbound).

    A sampler uses this to hold the sizes of parameters the caller fixed.

    Raises:
        InputError: a given parameter is unknown or malformed.
    """
    known = {p.name for p in params}
    for name in given:
        if name not in known:
            raise InputError(name, "one of the parameters " + ", ".join(sorted(known)),
                             "an unknown parameter")
    dims: dict[str, tuple[int, str]] = {}
    for p in params:
        if p.name in given and given[p.name] is not None:
            _check_one(p, given[p.name], dims)
    return {name: size for name, (size, _source) in dims.items()}
