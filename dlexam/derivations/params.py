"""Declared parameters and their validation.

Every derivation declares its parameters: a kind, and for arrays the shapes allowed, written in
dimension names (``("H", "H")`` for a square matrix). Validation binds each dimension name to a
size the first time it is seen and checks every later use against it, so an error can say which
parameter fixed the size. Numbers become exact SymPy rationals (0.5 is 1/2); nothing is parsed as
code.

Every input has a limit, checked before any work starts: numbers (:data:`NUMBER_MAX_EXPONENT`,
:data:`NUMBER_MIN_EXPONENT`, :data:`NUMBER_MAX_DIGITS`), whole numbers (``Param.maximum``),
strings (``Param.max_length`` and the characters the fonts have), and every dimension name (the
``limits`` a derivation declares, checked when the name binds).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from typing import Any

import sympy as sp

from dlexam.errors import InputError, Said
from dlexam.langs import settable

NUMBER_MAX_EXPONENT = 9
"""Every number given has magnitude below 10^9 ..."""
NUMBER_MIN_EXPONENT = -20
"""... and, unless it is 0, at least 10^-20 ..."""
NUMBER_MAX_DIGITS = 20
"""... and at most this many significant digits."""


def number_limit() -> Said:
    """What a number given must be: within the general limits on size and digits."""
    return Said("params.errors.number_limit", most=f"1e{NUMBER_MAX_EXPONENT}",
                least=f"1e{NUMBER_MIN_EXPONENT}", digits=NUMBER_MAX_DIGITS)

ARRAY_MAX_ENTRIES = 100_000
"""A guard before the per-derivation dimension limits: no array is even read past this size."""

ARRAY_MAX_DIMS = 4
"""The most dimensions an array has (a batch of images, n x C x H x W); a parameter declares
the shapes it takes."""

STRING_MAX_LENGTH = 200
"""The longest string parameter unless a Param says otherwise."""

JSON_MAX_DEPTH = 20
"""A JSON parameter (a tree of next-token probabilities, a table of counts) nests at most this
deep; its reader holds it to the derivation's own limits."""
JSON_MAX_ITEMS = 5_000
"""... and holds at most this many values (keys, strings and numbers) in all."""

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
        kind: ``"number"``, ``"int"``, ``"array"``, ``"array_list"``, ``"choice"``, ``"bool"``,
            ``"string"``, ``"choice_or_number"`` (one of the words, or a number greater than 0:
            ``scale=sqrt``, ``scale=none`` or ``scale=8``) or ``"json"`` (JSON data: objects,
            lists, strings and numbers, read by ``reader``).
        shapes: for arrays, the shapes allowed, in dimension names or fixed sizes; ``()`` in the
            list allows a scalar. For an ``"array_list"``, the shapes allowed for each item; a
            dimension name binds across the items (and across parameters) as usual.
        default: the value used when the parameter is not given (REQUIRED: it must be given).
        choices: for ``"choice"``, the allowed words (a whole number given is read as its digits).
        minimum: for ``"int"`` and ``"number"``, the smallest allowed value; for
            ``"choice_or_number"``, the smallest number allowed (None: any number > 0).
        items: for ``"array_list"``, the dimension name of the number of items (``"heads"``), so
            that lists given for several parameters must have the same length; or None.
        maximum: for ``"int"``, the largest allowed value (every int must declare one).
        max_length: for ``"string"``, the most characters allowed.
        free_items: for ``"array_list"``, each item's dimension names bind on their own (a list
            of tensors of any shapes, such as the gradients of W and b), still within the limits.
        trace: which of its numbers a trace (:mod:`dlexam.plans`) may stand a
            symbol for: ``"all"``; ``"nonzero"``, where the derivation tells zeros apart
            (``p_i = 0`` in an entropy, a zero initial state); ``"none"``, for numbers that say
            where rather than how much (class labels). An ``"int"`` is not traced (it says how
            many: sizes, counts) unless it declares ``"whole"``: a width that only enters sums
            and products (param-count's input width), so that one plan serves every width.
        held: whether the variants of an exam question keep the value their first variant drew
            (:class:`dlexam.exams.model.Structure`): the question's form, not one of its
            numbers. None (the default) holds choices and true/false parameters, and a
            choice-or-number (a scale); a whole number is held when it says so (``d_k``).
        reader: for ``"json"``, (name, value, the derivation's limits) -> the value the
            derivation takes, once the data is within :data:`JSON_MAX_DEPTH` and
            :data:`JSON_MAX_ITEMS` (its strings within ``max_length``, its numbers within the
            limits); it raises :class:`InputError` naming the parameter for what it refuses.
        expects: for ``"json"``, the catalog key of what the parameter expects, in words.
    """

    name: str
    kind: str
    shapes: tuple[Shape, ...] = ()
    default: Any = REQUIRED
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    items: str | None = None
    maximum: int | None = None
    max_length: int = STRING_MAX_LENGTH
    free_items: bool = False
    trace: str = "all"
    held: bool | None = None
    reader: Callable[[str, Any, Mapping[str, int]], Any] | None = None
    expects: str = ""

    @property
    def holds(self) -> bool:
        """Whether an exam question's variants keep its first variant's value."""
        if self.held is not None:
            return self.held
        return self.kind in ("choice", "bool", "choice_or_number")

    def describe(self) -> str:
        """What this parameter expects, in words (a :class:`~dlexam.errors.Said`: English,
        and in any language through the catalogs' ``show.kind.*``)."""
        if self.kind in ("array", "array_list") and not self.free_items:
            alts = tuple(" x ".join(str(d) for d in s) for s in self.shapes if s)
            if len(alts) == len(self.shapes):
                return Said(f"show.kind.{self.kind}", shapes=alts)
            if not alts:  # only a number: no shape to name
                return Said("show.kind.a_number" if self.kind == "array"
                            else "show.kind.number_list")
            return Said(f"show.kind.number_or_{self.kind}", shapes=alts)
        if self.kind == "array_list":
            return Said("show.kind.array_list_free")
        if self.kind == "choice":
            return Said("show.kind.choice", choices=list(self.choices))
        if self.kind == "choice_or_number":
            bound = "> 0" if self.minimum is None else f">= {self.minimum}"
            return Said("show.kind.choice_or_number", choices=list(self.choices),
                        bound=bound)
        if self.kind in ("int", "number"):
            which = ("range" if self.minimum is not None and self.maximum is not None
                     and self.kind == "int" else "max" if self.maximum is not None
                     and self.kind == "int" else "min" if self.minimum is not None else "any")
            return Said(f"show.kind.{self.kind}_{which}", min=self.minimum, max=self.maximum)
        if self.kind == "bool":
            return Said("show.kind.bool")
        if self.kind == "json":
            return Said(self.expects or "params.errors.json")
        return Said("show.kind.string", n=self.max_length)


def check_number(name: str, value: Any) -> None:
    """Checks a number given against the general limits before it is converted.

    Raises:
        InputError: naming ``name``, when the number is too large, too small or too long.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal, Fraction,
                                                         sp.Rational)):
        return  # not a number: the caller says what it expected
    if isinstance(value, int):
        if abs(value) >= 10**NUMBER_MAX_EXPONENT:
            raise InputError(name, number_limit(), _describe_value(value))
        return
    if isinstance(value, (Fraction, sp.Rational)):
        num, den = (value.numerator, value.denominator) if isinstance(value, Fraction) else (
            int(value.p), int(value.q))
        if max(abs(num), den) >= 10**(NUMBER_MAX_DIGITS - NUMBER_MIN_EXPONENT) or (
                abs(num) >= den * 10**NUMBER_MAX_EXPONENT):
            raise InputError(name, number_limit(), _describe_value(value))
        return
    dec = Decimal(repr(value)) if isinstance(value, float) else value
    if not dec.is_finite():
        return  # exact() refuses it with its own words
    if dec.is_zero():
        return
    digits = dec.as_tuple().digits
    significant = len("".join(map(str, digits)).rstrip("0"))
    if (dec.adjusted() >= NUMBER_MAX_EXPONENT or dec.adjusted() < NUMBER_MIN_EXPONENT
            or significant > NUMBER_MAX_DIGITS):
        raise InputError(name, number_limit(), _describe_value(value))


def check_text(name: str, value: str, max_length: int = STRING_MAX_LENGTH) -> str:
    """Checks a string: its length, no control or formatting characters, only characters the
    book's fonts have in every language (Latin Modern, Noto CJK; see :func:`dlexam.langs.settable`).

    Raises:
        InputError: naming ``name`` and the first character refused, by its code point.
    """
    if len(value) > max_length:
        raise InputError(name, Said("errors.at_most_characters", n=max_length), f"{len(value)}")
    for index, ch in enumerate(value, start=1):
        code = ord(ch)
        category = unicodedata.category(ch)
        where = Said("params.errors.character", code=f"U+{code:04X}", index=index)
        if category[0] == "C" or category in ("Zl", "Zp"):
            raise InputError(name, Said("errors.printable"),
                             where)
        if not settable(code):
            label = unicodedata.name(ch, "")
            raise InputError(name, Said("errors.fonts_have"),
                             Said("params.errors.named", where=where, label=label)
                             if label else where)
    return value


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
        return _exact_float(value)
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise TypeError("not a finite number")
        value = Fraction(value)
    if isinstance(value, Fraction):
        return sp.Rational(value.numerator, value.denominator)
    if isinstance(value, sp.Float):
        return sp.Rational(Fraction(repr(float(value))).limit_denominator(10**15))
    raise TypeError(f"{type(value).__name__} is not a number")


@lru_cache(maxsize=8192)
def _exact_float(value: float) -> sp.Rational:
    """A finite float's exact value by its shortest repr (inputs repeat: converted once)."""
    fraction = Fraction(repr(value))
    return sp.Rational(fraction.numerator, fraction.denominator)


def json_kind(value: Any) -> Said:
    """What kind of JSON value was given, in words (``an object``, ``a list``)."""
    if isinstance(value, bool):
        kind = "bool"
    elif isinstance(value, Mapping):
        kind = "object"
    elif isinstance(value, (list, tuple)):
        kind = "list"
    elif isinstance(value, str):
        kind = "string"
    elif value is None:
        kind = "null"
    else:
        kind = "number"
    return Said("inputs.kind." + kind)


def _describe_value(value: Any) -> str:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list):
        return Said("inputs.a_list_of", n=len(value))
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:37] + "...")
    return repr(value)


def _shape_only(value: Any, name: str, count: list[int], depth: int = 0) -> tuple[int, ...]:
    """The shape of nested lists, without converting a number: checks nesting (at most
    :data:`ARRAY_MAX_DIMS` levels are read), rectangularity and the :data:`ARRAY_MAX_ENTRIES`
    guard."""
    if not isinstance(value, (list, tuple)):
        count[0] += 1
        if count[0] > ARRAY_MAX_ENTRIES:
            raise InputError(name, Said("errors.at_most_numbers", n=ARRAY_MAX_ENTRIES),
                             Said("errors.more"))
        return ()
    if depth >= ARRAY_MAX_DIMS:
        raise InputError(name, Said("errors.at_most_dims", n=ARRAY_MAX_DIMS), Said("errors.deeper"))
    if len(value) == 0:
        raise InputError(name, Said("errors.non_empty_list"), Said("errors.empty_list"))
    shapes = [_shape_only(v, name, count, depth + 1) for v in value]
    if any(s != shapes[0] for s in shapes):
        raise InputError(name, Said("errors.rectangular"), Said("errors.ragged"))
    return (len(value), *shapes[0])


@contextmanager
def _setting(var: ContextVar[Any], value: Any) -> Iterator[None]:
    token = var.set(value)
    try:
        yield
    finally:
        var.reset(token)


# In numeric mode (:func:`numeric_inputs`) non-integer inputs become 30-digit floats instead of
# exact rationals: the same derivation, about ten times faster, for checking many answers
# where no step is shown (answers agree with the exact ones to far below any tolerance).
_NUMERIC: ContextVar[bool] = ContextVar("dlexam_numeric_inputs", default=False)
NUMERIC_DIGITS = 30


def numeric_inputs() -> AbstractContextManager[None]:
    """Within this block, validated non-integer numbers are 30-digit floats."""
    return _setting(_NUMERIC, True)


# Checking only (:func:`checked_only`): validation refuses what it refuses, but builds nothing
# (an array comes back as its flat list of exact numbers, not a SymPy matrix).
_CHECK_ONLY: ContextVar[bool] = ContextVar("dlexam_check_only", default=False)


def checked_only() -> AbstractContextManager[None]:
    """Within this block, validation only checks: its values are not for a derivation."""
    return _setting(_CHECK_ONLY, True)


# Sizes a sampler is held to (:func:`pinned_dims`): an exam question's variants after the first
# keep the first one's sizes, so that they differ in their numbers only.
_PINNED_DIMS: ContextVar[Mapping[str, int] | None] = ContextVar("dlexam_pinned_dims",
                                                                default=None)


def pinned_dims(dims: Mapping[str, int]) -> AbstractContextManager[None]:
    """Within this block, :func:`bind_dims` gives these sizes for the dimensions the given
    parameters leave unbound: a sampler that takes its sizes from it draws these."""
    return _setting(_PINNED_DIMS, dict(dims))


# While a derivation is traced (:mod:`dlexam.plans`), each input number goes
# through the hook, which stands a symbol for it (as its parameter's ``trace`` allows) and
# records the pair; otherwise the hook is None.
_INPUT_HOOK: ContextVar[Callable[[sp.Rational, str], sp.Basic] | None] = ContextVar(
    "dlexam_input_hook", default=None)


def input_hook(hook: Callable[[sp.Rational, str], sp.Basic]) -> AbstractContextManager[None]:
    """Within this block, every validated input number (of arrays and of numbers) goes through
    ``hook`` with its parameter's name, in the order validation reads them, and validation
    returns what it gives."""
    return _setting(_INPUT_HOOK, hook)


# While a derivation is traced, every step's value goes through the watch, which may stop the
# trace (the plans engine stops one whose formulas grow past its budget); otherwise None.
_STEP_WATCH: ContextVar[Callable[[Any], None] | None] = ContextVar(
    "dlexam_step_watch", default=None)


def step_watch(watch: Callable[[Any], None]) -> AbstractContextManager[None]:
    """Within this block, every :class:`~dlexam.derivations.core.Step` built with a value
    passes it to ``watch`` (the tracing interface, with :func:`input_hook`)."""
    return _setting(_STEP_WATCH, watch)


# While a derivation is traced, an elementary function of a traced formula (tanh, exp) may be
# named by a symbol of its own (:func:`applied`): a recurrence then nests symbols, not ever larger
# formulas, and SymPy never asks the assumptions of a large sum; otherwise None.
_NAME_HOOK: ContextVar[Callable[[sp.Expr], sp.Basic] | None] = ContextVar(
    "dlexam_name_hook", default=None)


def name_hook(hook: Callable[[sp.Expr], sp.Basic]) -> AbstractContextManager[None]:
    """Within this block, :func:`applied` passes ``f(arg)`` of a traced formula, unevaluated,
    to ``hook`` and gives what it returns (the tracing interface, with :func:`input_hook`)."""
    return _setting(_NAME_HOOK, hook)


def applied(func: Callable[..., sp.Expr], arg: sp.Expr) -> sp.Basic:
    """``func(arg)`` (``sp.tanh``, ``sp.exp``): while a derivation is traced and ``arg`` holds
    traced inputs, a symbol the trace defines as ``func(arg)``; otherwise ``func(arg)`` as
    SymPy evaluates it."""
    hook = _NAME_HOOK.get()
    if hook is None or not isinstance(arg, sp.Basic) or not arg.free_symbols:
        return func(arg)
    return hook(func(arg, evaluate=False))


def named(value: Any) -> Any:
    """A recurrent state's entry passed on: while a derivation is traced and it is a formula of
    traced inputs (not a bare symbol), a symbol the trace defines as it (each later state then
    nests symbols, not ever larger formulas); otherwise the value itself."""
    hook = _NAME_HOOK.get()
    if hook is None or not isinstance(value, sp.Expr) or value.is_Symbol or \
            not value.free_symbols:
        return value
    return hook(value)


def watched(value: Any) -> None:
    """Passes a step's value to the watch of :func:`step_watch`, if any."""
    watch = _STEP_WATCH.get()
    if watch is not None and value is not None:
        watch(value)


def _input_number(value: Any, name: str) -> sp.Basic:
    number = exact(value)
    if _CHECK_ONLY.get():
        return number
    hook = _INPUT_HOOK.get()
    if hook is not None:
        return hook(number, name)
    if _NUMERIC.get() and not number.is_Integer:
        return sp.Float(number, NUMERIC_DIGITS)
    return number


def _flat_numbers(value: Any, name: str) -> list[sp.Rational]:
    """The numbers of nested lists, row by row, exact, each checked against the limits."""
    if isinstance(value, (list, tuple)):
        return [x for v in value for x in _flat_numbers(v, name)]
    if type(value) is float:
        known = _float_number(value)
        if known is not None:
            return [_input_number(known, name)]
    check_number(name, value)
    try:
        return [_input_number(value, name)]
    except TypeError:
        raise InputError(name, Said("errors.number_or_list"), _describe_value(value)) from None


@lru_cache(maxsize=8192)
def _float_number(value: float) -> sp.Rational | None:
    """A float input's exact value, when it passes the limits (else None: the caller refuses
    it with the parameter's name). Exam and class inputs repeat a few one- and two-decimal
    numbers: each is converted once."""
    try:
        check_number("", value)
        return exact(value)
    except (InputError, TypeError):
        return None


def _fmt_shape(shape: Sequence[int]) -> str:
    return " x ".join(str(d) for d in shape) if shape else Said("show.kind.a_number")


def _bind_limit(param: Param, dname: str, size: int, limits: Mapping[str, int]) -> None:
    limit = limits.get(dname)
    if limit is not None and size > limit:
        raise InputError(param.name, Said("errors.dim_at_most", dim=dname, limit=limit),
                         f"{dname} = {size}")


def _check_array(param: Param, value: Any, dims: dict[str, tuple[int, str]],
                 limits: Mapping[str, int]) -> Any:
    shape = _shape_only(value, param.name, [0])
    candidates = [s for s in param.shapes if len(s) == len(shape)]
    if not candidates:
        got = (Said("errors.shape", shape=_fmt_shape(shape)) if shape  # a word: as typed
               else repr(value)[:40] if isinstance(value, str) else Said("show.kind.a_number"))
        raise InputError(param.name, param.describe(), got)
    errors: list[Said] = []
    for decl in candidates:
        trial = dict(dims)
        problem = None
        for dname, size in zip(decl, shape, strict=True):
            if isinstance(dname, int):
                if dname != size:
                    problem = Said("errors.fixed_size", size=dname, shape=_fmt_shape(shape))
                    break
                continue
            if dname in trial and trial[dname][0] != size:
                known, source = trial[dname]
                problem = Said("errors.set_by", shape=_fmt_shape(shape), dim=dname,
                               known=known, source=source)
                break
            trial.setdefault(dname, (size, param.name))
        if problem is None:
            for dname, size in zip(decl, shape, strict=True):
                if isinstance(dname, str):
                    _bind_limit(param, dname, size, limits)
            dims.update(trial)
            flat = _flat_numbers(value, param.name)
            if _CHECK_ONLY.get():
                return flat
            if len(shape) == 0:
                return flat[0]
            if len(shape) == 1:
                return sp.ImmutableMatrix(shape[0], 1, flat)
            if len(shape) == 2:
                return sp.ImmutableMatrix(shape[0], shape[1], flat)
            return sp.ImmutableDenseNDimArray(flat, shape)
        errors.append(problem)
    decl = tuple(" x ".join(str(d) for d in s) for s in candidates)
    raise InputError(param.name, Said("errors.shape", shape=decl),
                     errors[0] if len(errors) == 1 else Said("errors.each", items=tuple(errors)))


def _check_array_list(
    param: Param, value: Any, dims: dict[str, tuple[int, str]], limits: Mapping[str, int]
) -> tuple[Any, ...]:
    if param.free_items and isinstance(value, (list, tuple)) and len(value) == 0:
        raise InputError(param.name, Said("errors.non_empty_list"), Said("errors.empty_list"))
    if not isinstance(value, (list, tuple)) or len(value) == 0:
        raise InputError(param.name, param.describe(), _describe_value(value))
    if param.items is not None:
        limit = limits.get(param.items)
        if limit is not None and len(value) > limit and param.free_items:
            # a list of tensors, or one matrix row by row: its length counts both
            raise InputError(param.name, Said("params.errors.rows_or_tensors", n=limit,
                                              items=param.items), f"{len(value)}")
        _bind_limit(param, param.items, len(value), limits)
        known = dims.get(param.items)
        if known is not None and known[0] != len(value):
            raise InputError(param.name, Said("params.errors.arrays", items=param.items,
                                              n=known[0], source=known[1]), f"{len(value)}")
    out = []
    shapes = []
    for index, item in enumerate(value, start=1):
        try:
            out.append(_check_array(param, item, dict(dims) if param.free_items else dims,
                                    limits))
        except InputError as err:
            raise InputError(param.name, err.expected,
                             Said("errors.item", index=index, got=err.got)) from None
        shapes.append(_shape_only(item, param.name, [0]))
    if param.items is not None:
        dims.setdefault(param.items, (len(value), param.name))
    return Items(out, shapes=tuple(shapes)) if param.free_items else tuple(out)


class Items(tuple):
    """The validated items of a ``free_items`` array list, with each item's shape as given
    (a vector of N numbers and an N x 1 matrix are both N x 1 SymPy matrices)."""

    shapes: tuple[tuple[int, ...], ...]

    def __new__(cls, items: Sequence[Any], shapes: tuple[tuple[int, ...], ...]) -> Items:
        obj = super().__new__(cls, items)
        obj.shapes = shapes
        return obj


def _exact_number(param: Param, value: Any) -> sp.Rational:
    """A number parameter's value, checked against the limits, exact."""
    check_number(param.name, value)
    try:
        return exact(value)
    except TypeError:
        raise InputError(param.name, param.describe(), _describe_value(value)) from None


def _check_json(param: Param, value: Any, count: list[int], depth: int) -> None:
    """Checks JSON data against :data:`JSON_MAX_DEPTH` and :data:`JSON_MAX_ITEMS`, its strings
    (object keys too) as :func:`check_text` does and its numbers against the number limits."""
    if depth > JSON_MAX_DEPTH:
        raise InputError(param.name, Said("errors.json_depth", n=JSON_MAX_DEPTH),
                         Said("errors.deeper"))
    count[0] += 1
    if count[0] > JSON_MAX_ITEMS:
        raise InputError(param.name, Said("errors.json_items", n=JSON_MAX_ITEMS),
                         Said("errors.more"))
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InputError(param.name, Said("errors.json_keys"), repr(key))
            count[0] += 1
            check_text(param.name, key, param.max_length)
            _check_json(param, item, count, depth + 1)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _check_json(param, item, count, depth + 1)
    elif isinstance(value, str):
        check_text(param.name, value, param.max_length)
    elif isinstance(value, bool) or value is None:
        raise InputError(param.name, param.describe(), _describe_value(value))
    else:
        check_number(param.name, value)
        try:
            exact(value)
        except TypeError:
            raise InputError(param.name, param.describe(), _describe_value(value)) from None


def _check_one(param: Param, value: Any, dims: dict[str, tuple[int, str]],
               limits: Mapping[str, int]) -> Any:
    if param.kind == "array":
        return _check_array(param, value, dims, limits)
    if param.kind == "array_list":
        return _check_array_list(param, value, dims, limits)
    if param.kind in ("number", "int"):
        if param.kind == "int" and param.maximum is not None and isinstance(
                value, (int, float, Decimal)) and not isinstance(value, bool):
            try:
                too_big = value > param.maximum
            except TypeError:
                too_big = False
            if too_big:
                raise InputError(param.name, param.describe(), _describe_value(value))
        num = _exact_number(param, value)
        if param.kind == "int" and not num.is_Integer:
            raise InputError(param.name, param.describe(), _describe_value(value))
        if param.minimum is not None and num < param.minimum:
            raise InputError(param.name, param.describe(), _describe_value(value))
        if param.maximum is not None and num > param.maximum:
            raise InputError(param.name, param.describe(), _describe_value(value))
        if param.kind == "int":
            hook = _INPUT_HOOK.get()
            if param.trace == "whole" and hook is not None and not _CHECK_ONLY.get():
                return hook(num, param.name)
            return int(num)
        return _input_number(num, param.name)
    if param.kind == "choice":
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)  # base=2 on the command line arrives as the JSON number 2
        if not isinstance(value, str) or value not in param.choices:
            raise InputError(param.name, param.describe(), _describe_value(value))
        return value
    if param.kind == "choice_or_number":
        if isinstance(value, str) and value in param.choices:
            return value
        if isinstance(value, str) or isinstance(value, bool):
            raise InputError(param.name, param.describe(), _describe_value(value))
        num = _exact_number(param, value)
        if num <= 0 if param.minimum is None else num < param.minimum:
            raise InputError(param.name, param.describe(), _describe_value(value))
        return num
    if param.kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise InputError(param.name, Said("errors.true_or_false"), _describe_value(value))
    if param.kind == "string":
        if not isinstance(value, str):
            raise InputError(param.name, Said("errors.a_string"), _describe_value(value))
        return check_text(param.name, value, param.max_length)
    if param.kind == "json":
        _check_json(param, value, [0], 1)
        return value if param.reader is None else param.reader(param.name, value, limits)
    raise RuntimeError(f"parameter {param.name!r} has unknown kind {param.kind!r}")


def validate(params: Sequence[Param], given: Mapping[str, Any],
             limits: Mapping[str, int] | None = None) -> dict[str, Any]:
    """Checks given raw values against the declarations; returns validated values.

    ``limits`` caps dimension names (``{"T": 20}``): a size past its cap is refused as it binds,
    before the array's numbers are read. Arrays become ``sympy.ImmutableMatrix`` (a vector is a
    column), an array list a tuple of them, numbers exact rationals.

    Raises:
        InputError: naming the first parameter that is unknown, missing or malformed.
    """
    known = {p.name for p in params}
    for name in given:
        if name not in known:
            raise InputError(name, Said("core.errors.parameters", known=", ".join(sorted(known))),
                             Said("core.errors.unknown_parameter"))
    dims: dict[str, tuple[int, str]] = {}
    caps = dict(limits or {})
    out: dict[str, Any] = {}
    for p in params:
        if p.name in given and not (given[p.name] is None and p.default is None):
            out[p.name] = _check_one(p, given[p.name], dims, caps)
        elif p.default is REQUIRED:
            raise InputError(p.name, p.describe(), Said("errors.nothing_required"))
        else:
            out[p.name] = (
                _check_one(p, p.default, dims, caps) if p.default is not None else None
            )
    return out


def bind_dims(params: Sequence[Param], given: Mapping[str, Any],
              limits: Mapping[str, int] | None = None) -> dict[str, int]:
    """The dimension sizes that the given parameters fix (the others are left unbound).

    A sampler uses this to hold the sizes of parameters the caller fixed.

    Raises:
        InputError: a given parameter is unknown or malformed.
    """
    known = {p.name for p in params}
    for name in given:
        if name not in known:
            raise InputError(name, Said("core.errors.parameters", known=", ".join(sorted(known))),
                             Said("core.errors.unknown_parameter"))
    dims: dict[str, tuple[int, str]] = {}
    with checked_only():  # the sizes only: nothing is built
        for p in params:
            if p.name in given and given[p.name] is not None:
                _check_one(p, given[p.name], dims, dict(limits or {}))
    bound = {name: size for name, (size, _source) in dims.items()}
    return {**(_PINNED_DIMS.get() or {}), **bound}
