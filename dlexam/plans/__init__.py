"""Derivations prepared once per shape, for tools that need many answers fast.

Checking a class's answers, or drawing a thousand exam variants, asks the same derivation for
its answers again and again on parameters of the same shape. Running the SymPy derivation each
time (building every displayed step) costs tens of milliseconds; this module runs it once per
*shape* with a symbol standing for every input number (a *trace*), keeps the answers and the
steps' values as formulas in those symbols, and compiles them (``sympy.lambdify`` on MPFR
numbers through gmpy2, each operation correctly rounded, or on mpmath's for a function MPFR is
not given, at the same 30 digits as :func:`~dlexam.derivations.params.numeric_inputs`) into a
*plan*. Later
parameters of that shape are put into the compiled formulas: the same derivation, not a second
copy of it. A :class:`Planner` traces a shape when it sees it a second time (the first is run
the ordinary way, so that one-off shapes never pay for a trace), or at once when ``eager``.

The shape (the :class:`Signature`) is everything but the input numbers: the derivation, the
mistake when it is computed by its own formula (one declared by its parameters is the right
derivation on other parameters), the sizes of the arrays, every non-numeric parameter, and where
a parameter declares ``trace="nonzero"``, which of its inputs are 0 (they stay exact, so that
``p_i == 0`` tests see what they would).

A derivation may decide by value (``if norm > threshold``; SymPy's ``Max``). While tracing, such
a comparison is decided at the traced numbers and kept as a *guard*: a plan serves only
parameters that decide every guard the same way, by a clear margin (a comparison on its edge at
the traced numbers, a tie that exact arithmetic decides, serves only the same tie). Anything the
trace cannot follow (``float()`` of an input, ``round``, a function neither MPFR nor mpmath has)
leaves that shape to the ordinary run, as does any value that comes out not finite, a question
of more than :data:`MAX_INPUTS` numbers, and a trace whose formulas grow past
:data:`TREE_BUDGET` nodes (a long recurrence nests each state in the next; the derivation
layer's tracing interface, :func:`~dlexam.derivations.params.input_hook` and
:func:`~dlexam.derivations.params.step_watch`, is how a trace reads the inputs and watches the
steps). A recurrence keeps its formulas small by *names*: tanh and exp of traced formulas
(:func:`~dlexam.derivations.params.applied`) and a state's entries passed on
(:func:`~dlexam.derivations.params.named`) stand as symbols of their own, each defined by the
inputs and the names before it and computed in that order by the compiled plan (SymPy then never
asks the assumptions of a large nested sum, which made an LSTM's trace cost seconds).
``tests/test_plans.py`` compares the two on sampled parameters for every derivation and
mistake.
"""

from __future__ import annotations

import operator
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import Any

import gmpy2
import mpmath
import sympy as sp
from mpmath.libmp import from_man_exp, from_rational, to_float
from sympy.core import relational
from sympy.core.numbers import mpf_norm

from dlexam.derivations.core import Derivation, Prepared, Result, to_plain
from dlexam.derivations.params import NUMERIC_DIGITS, exact, input_hook, name_hook, step_watch

PLAIN_PRECISION = 60  # bits: to_plain rounds a number as Float.evalf(17) does
GUARD_MARGIN = mpmath.mpf("1e-27")  # a guard closer to its edge than this is not trusted
TINY = mpmath.mpf("1e-24")  # a value this small is checked at 60 digits: 0, or truly small
MAX_PLANS = 1024  # shapes kept (the least recently used go first)
MAX_GUARDED = 4  # plans kept for one shape, told apart by their guards
TREE_BUDGET = 20_000  # nodes of a step's formulas as trees: past it a trace stops
NAMED_DIGITS = 2 * NUMERIC_DIGITS  # a named value's digits where the trace decides by value
MAX_INPUTS = 256  # input numbers: a larger question is run the ordinary way (a trace of it
# costs seconds, and its plan would be large)

_NUMERIC_KINDS = ("array", "array_list", "number")
_MPF = mpmath.mp.make_mpf
_COMPARE: dict[type, Callable[[Any, Any], bool]] = {
    relational.StrictGreaterThan: operator.gt,
    relational.GreaterThan: operator.ge,
    relational.StrictLessThan: operator.lt,
    relational.LessThan: operator.le,
    relational.Equality: operator.eq,
    relational.Unequality: operator.ne,
}


class Values:
    """A run's answers and its steps' values, as plain JSON data (no formulas, no prose).

    Attributes:
        answers: the declared answers, as :meth:`Result.plain_answers` gives them.
        steps: (catalog key, plain value or None) of every step, in order (made on first
            need when the values come from a plan).
        params: the parameters as given, with the defaults.
    """

    def __init__(self, answers: dict[str, Any],
                 steps: tuple[tuple[str, Any], ...] | Callable[[], tuple[tuple[str, Any], ...]],
                 params: dict[str, Any]) -> None:
        self.answers = answers
        self._steps = steps
        self.params = params

    @property
    def steps(self) -> tuple[tuple[str, Any], ...]:
        """(catalog key, plain value or None) of every step, in order."""
        if callable(self._steps):
            self._steps = self._steps()
        return self._steps

    @property
    def valued_steps(self) -> list[tuple[str, Any]]:
        """(key, value) of the steps with a value, in order (prose-only steps left out)."""
        return [(k, v) for k, v in self.steps if v is not None]

    @classmethod
    def of(cls, result: Result) -> Values:
        """The values of a full run."""
        return cls(result.plain_answers(),
                   tuple((s.key, None if s.value is None else to_plain(_explicit(s.value)))
                         for s in result.steps),
                   dict(result.params))


class TraceError(Exception):
    """The trace cannot follow this derivation on this shape (it is left to ordinary runs)."""


class _Trace:
    """Symbols for the input numbers, and the comparisons decided on the way."""

    def __init__(self, derivation: Derivation) -> None:
        self.trace = {p.name: p.trace for p in derivation.params}
        self.symbols: list[sp.Symbol] = []
        self.numbers: list[sp.Rational] = []
        self.values: dict[sp.Symbol, sp.Rational] = {}
        self.guards: list[tuple[sp.Expr, Callable[[Any, Any], bool], bool]] = []
        # named values (tanh, exp of traced formulas), in order: each defined in terms of the
        # inputs and the names before it; valued at NAMED_DIGITS digits (to decide by value)
        self.named: list[tuple[sp.Symbol, sp.Expr]] = []
        self.named_values: dict[sp.Symbol, sp.Float] = {}

    def name(self, value: sp.Expr) -> sp.Symbol:
        """A symbol standing for ``value`` (an elementary function of traced formulas)."""
        symbol = sp.Symbol(f"_dlxn{len(self.named)}", real=True,
                           positive=True if isinstance(value, sp.exp) else None)
        self.named.append((symbol, value))
        self.named_values[symbol] = value.xreplace(self.values).xreplace(
            self.named_values).evalf(NAMED_DIGITS)
        return symbol

    def input(self, number: sp.Rational, name: str) -> sp.Basic:
        kept = self.trace[name]
        if kept == "none" or (kept == "nonzero" and number == 0):
            return number
        symbol = sp.Symbol(f"_dlx{len(self.symbols)}", real=True)
        self.symbols.append(symbol)
        self.numbers.append(number)
        self.values[symbol] = number
        return symbol

    def decide(self, rel: relational.Relational) -> bool:
        compare = _COMPARE.get(type(rel))
        diff = rel.lhs - rel.rhs
        if compare is None or not diff.free_symbols or \
                not diff.free_symbols <= set(self.values) | set(self.named_values):
            return _UNDECIDED(rel)
        number = diff.xreplace(self.values).xreplace(self.named_values).evalf(NUMERIC_DIGITS)
        if not (number.is_number and number.is_extended_real):
            raise TypeError(f"cannot decide {rel} at the traced numbers")
        if compare in (operator.eq, operator.ne):  # equal: within the 30 digits' noise
            outcome = (abs(number) < GUARD_MARGIN) == (compare is operator.eq)
        elif abs(number) < GUARD_MARGIN:
            # on its edge (a tie: 4 > 4, 0 < 0): decided as exact arithmetic decides it, and
            # kept as a guard of equality (within the 30 digits' noise, as == is), so that
            # the plan serves the inputs with the same tie; a value merely near the edge is
            # left to ordinary runs (as is a tie of named values: known to NAMED_DIGITS only)
            if diff.free_symbols & set(self.named_values) or \
                    diff.xreplace(self.values).is_zero is not True:
                raise TraceError(f"{type(rel).__name__} on its edge at the traced numbers")
            self.guards.append((diff, operator.eq, True))
            return bool(compare(0, 0))
        else:
            outcome = bool(compare(number, 0))
        self.guards.append((diff, compare, outcome))
        return outcome


_TRACING: ContextVar[_Trace | None] = ContextVar("dlexam_tracing", default=None)
_UNDECIDED = relational.Relational.__bool__


def _decide(rel: relational.Relational) -> bool:
    trace = _TRACING.get()
    if trace is None:
        return _UNDECIDED(rel)
    return trace.decide(rel)


# SymPy refuses the truth of a comparison between symbols; while tracing it is decided at the
# traced numbers and kept as a guard. Outside a trace this is SymPy's own behaviour.
relational.Relational.__bool__ = _decide  # type: ignore[method-assign]


@dataclass(frozen=True)
class _Out:
    """A leaf of a template: the compiled output at this position."""

    index: int


class _Compiled:
    """Some of a plan's value formulas (then the guards' differences), compiled on first
    need."""

    def __init__(self, symbols: list[sp.Symbol], exprs: list[sp.Expr], indices: list[int],
                 guards: list[sp.Expr],
                 named: Sequence[tuple[sp.Symbol, sp.Expr]] = ()) -> None:
        self.symbols = symbols
        self.named = named
        self.formulas: list[sp.Expr] | None = [*(exprs[k] for k in indices), *guards]
        self.indices = indices  # the plan's output positions of the values computed
        self.outputs = len(indices)
        self._fn: Callable[..., Any] | None = None
        self.mpfr = False

    def __call__(self, numbers: list[sp.Rational], prec: int) -> list[Any]:
        """The formulas at these inputs, each rounded to ``prec`` bits as it is computed, as
        mpmath numbers (raises what the arithmetic raises)."""
        if self._fn is None:
            assert self.formulas is not None
            self._fn, self.mpfr = _compile(self.symbols, self.formulas, self.named)
            self.formulas = None
        if self.mpfr:  # MPFR (gmpy2): every operation correctly rounded, three times faster
            with gmpy2.context(precision=prec, allow_complex=False) as ctx:
                out = self._fn(*(ctx.div(gmpy2.mpz(n.p), gmpy2.mpz(n.q)) for n in numbers))
            return [_from_mpfr(v) for v in (out if isinstance(out, list) else [out])]
        args = [_MPF(from_rational(n.p, n.q, prec, "n")) for n in numbers]
        with mpmath.workprec(prec):
            out = self._fn(*args)
        return list(out) if isinstance(out, (list, tuple)) else [out]


# What compiled formulas call: with these alone they run on MPFR numbers (gmpy2); a formula
# that needs anything else runs on mpmath's. Constants come as mpmath's (sign, man, exp, bc).
_MPFR_NAMES: dict[str, Any] = {
    "mpf": lambda x: gmpy2.mpfr(x) if not isinstance(x, tuple) else
    gmpy2.mul_2exp(gmpy2.mpz(-x[1] if x[0] else x[1]), x[2]),
    "exp": gmpy2.exp, "log": gmpy2.log, "tanh": gmpy2.tanh, "sqrt": gmpy2.sqrt,
}


def _compile(symbols: list[sp.Symbol], formulas: list[sp.Expr],
             named: Sequence[tuple[sp.Symbol, sp.Expr]] = ()) -> tuple[Callable[..., Any], bool]:
    if not formulas:
        return (lambda *_args: []), False
    # the named values the formulas use (through each other too), computed first, in order
    needed = set().union(*(f.free_symbols for f in formulas))
    for symbol, value in reversed(named):
        if symbol in needed:
            needed |= value.free_symbols
    lets = [(symbol, value) for symbol, value in named if symbol in needed]

    def cse(exprs: Any) -> tuple[list[tuple[sp.Symbol, sp.Expr]], Any]:
        shared, reduced = sp.cse(exprs, list=False)
        return [*lets, *shared], reduced

    fn = sp.lambdify(symbols, formulas, modules=[_MPFR_NAMES, "mpmath"], cse=cse)
    used = set(fn.__code__.co_names) - {"abs", "max", "min"}  # (Python's: MPFR's too)
    if used <= set(_MPFR_NAMES):
        return fn, True
    return sp.lambdify(symbols, formulas, modules="mpmath", cse=cse), False


def _from_mpfr(value: Any) -> Any:
    """An MPFR number (or a constant) as the mpmath number of the same value (not finite:
    mpmath's nan, which the plan refuses)."""
    if isinstance(value, (int, float)):
        return mpmath.mpf(value)
    if not gmpy2.is_finite(value):
        return mpmath.mpf("nan")
    man, exp = value.as_mantissa_exp()
    return _MPF(from_man_exp(int(man), int(exp)))


@dataclass
class Plan:
    """One shape's derivation as compiled formulas: every value's (answers and steps), and
    the answers' alone, or some of them (what tools that need no steps evaluate), each
    compiled on first need."""

    symbols: list[sp.Symbol]
    exprs: list[sp.Expr]  # every value's formula: the answers', then the steps'
    diffs: list[sp.Expr]  # the guards' differences
    # (what a value is on whole inputs, _whole's WHOLE, ALGEBRAIC or INEXACT; the positions of
    # the inputs it uses): printed as integers where an ordinary run prints them so
    integer: tuple[tuple[int, tuple[int, ...]], ...]
    guards: tuple[tuple[Callable[[Any, Any], bool], bool], ...]
    answers: dict[str, Any]  # templates
    steps: tuple[tuple[str, Any], ...]
    # the named values the formulas may use (symbol, its formula in the inputs and the names
    # before it), in order
    named: list[tuple[sp.Symbol, sp.Expr]] = field(default_factory=list)
    _parts: dict[frozenset[str] | None, _Compiled] = field(default_factory=dict)

    def part(self, names: frozenset[str] | None = None, steps: bool = False) -> _Compiled:
        """The compiled formulas of every value (``steps``), or of the answers (those named)."""
        key = _EVERY_VALUE if steps else names
        if key not in self._parts:
            if steps:
                indices = list(range(len(self.exprs)))
            else:
                chosen = [t for k, t in self.answers.items() if names is None or k in names]
                indices = sorted({o.index for o in _outs(chosen)})
            self._parts[key] = _Compiled(self.symbols, self.exprs, indices, self.diffs,
                                         self.named)
        return self._parts[key]

    def evaluate(self, numbers: list[sp.Rational], steps: bool = True,
                 names: frozenset[str] | None = None) -> _Outputs | None:
        """The compiled values at these inputs (the answers' alone, or those ``names``,
        unless ``steps``), or None when a guard decides otherwise or a value is not finite."""
        fn = self.part(names, steps)
        out = self._at(fn, numbers, NUMERIC_DIGITS)
        if out is None:
            return None
        for (compare, outcome), diff in zip(self.guards, out[fn.outputs:], strict=True):
            if not _holds(compare, outcome, diff):
                return None
        values = {k: mpmath.mpf(v) if isinstance(v, (int, float)) else v  # a formula that
                  for k, v in zip(fn.indices, out, strict=False)}  # cancels to a constant
        for value in values.values():
            if not isinstance(value, mpmath.mpf) or not mpmath.isfinite(value):
                return None
        tiny = [(k, i) for i, (k, v) in enumerate(values.items()) if v and abs(v) < TINY]
        if tiny:  # 0 to 30 digits' noise (1e-32), or a value that small? Ask 60 digits
            finer = self._at(fn, numbers, 2 * NUMERIC_DIGITS)
            if finer is None:
                return None
            for k, i in tiny:
                if abs(finer[i]) < abs(values[k]) * TINY:
                    values[k] = mpmath.mpf(0)  # exact arithmetic's 0: the noise shrank
        return _Outputs(values, self.integer, numbers)

    def _at(self, fn: _Compiled, numbers: list[sp.Rational], digits: int) -> list[Any] | None:
        """The compiled formulas (values, then guards) at these inputs to ``digits`` digits,
        or None when mpmath fails on them (the ordinary run then says what is wrong)."""
        if not (fn.outputs or self.guards):
            return []
        with mpmath.workdps(digits):
            prec = mpmath.mp.prec
        try:
            return fn(numbers, prec)
        except Exception:
            return None


_EVERY_VALUE = frozenset({"\0every value"})  # the part's key of every value, steps too


def _outs(template: Any) -> Iterator[_Out]:
    if isinstance(template, _Out):
        yield template
    elif isinstance(template, list):
        for t in template:
            yield from _outs(t)
    elif isinstance(template, dict):
        for t in template.values():
            yield from _outs(t)


class _Outputs:
    """A plan's values at some inputs, each made plain (as an ordinary run prints it) on
    first need."""

    def __init__(self, values: dict[int, Any], integer: tuple[tuple[int, tuple[int, ...]], ...],
                 numbers: list[sp.Rational]) -> None:
        self.values = values
        self.integer = integer
        self.numbers = numbers
        self.plain: dict[int, Any] = {}
        self.exact = all(n.is_Integer for n in numbers)  # an ordinary run is exact throughout

    def __getitem__(self, index: int) -> Any:
        if index not in self.plain:
            value = self.values[index]
            whole, uses = self.integer[index]
            if not value or (whole != INEXACT and all(
                    self.numbers[i].is_Integer for i in uses) and (
                    whole == WHOLE or _near_int(value))):
                # SymPy makes an exact 0 of floats that cancel; on whole inputs an ordinary run
                # is exact, and SymPy prints a whole value (sqrt(36 + 64), Max(-3, -2)) as an
                # integer
                self.plain[index] = int(mpmath.nint(value))
            else:
                self.plain[index] = _plain_float(value)
        return self.plain[index]


def _near_int(value: mpmath.mpf) -> bool:
    """Whether a 30-digit value is an integer but for the rounding of its operations (an
    algebraic formula of whole numbers: 5 * 17 / 17 computed as 4.99...9)."""
    return bool(abs(value - mpmath.nint(value)) <= TINY * max(1, abs(value)))


def _holds(compare: Callable[[Any, Any], bool], outcome: bool, diff: Any) -> bool:
    """Whether a guard decides as it did in the trace, by a clear margin."""
    if compare in (operator.eq, operator.ne):
        return (abs(diff) < GUARD_MARGIN) == (outcome == (compare is operator.eq))
    return abs(diff) >= GUARD_MARGIN and bool(compare(diff, 0)) == outcome


def _plain_float(value: mpmath.mpf) -> float:
    """The float :func:`to_plain` gives for this 30-digit number (rounded to 17 digits first)."""
    return float(to_float(mpf_norm(mpf_norm(value._mpf_, PLAIN_PRECISION), 53)))


def tree_size(value: Any, limit: int) -> int:
    """How many nodes the value's formulas have written out as trees (a shared subformula
    counted each time it occurs), counted up to just past ``limit``, in time linear in the
    distinct subformulas.

    A recurrence traced with symbols nests each state in the next: H^T nodes as a tree,
    which SymPy's tree walks (``xreplace``, ``count_ops``) visit one by one.
    """
    sizes: dict[sp.Basic, int] = {}

    def size(node: sp.Basic) -> int:
        known = sizes.get(node)
        if known is None:
            known = 1 + sum(size(a) for a in node.args) if node.args else 1
            sizes[node] = known = min(known, limit + 1)
        return known

    total = 0
    for leaf in _basics(value):
        total += size(leaf)
        if total > limit:
            break
    return total


def _basics(value: Any) -> Iterator[sp.Basic]:
    if isinstance(value, sp.MatrixBase):
        yield from value
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _basics(v)
    elif isinstance(value, sp.Basic):
        yield value


def _watch(value: Any) -> None:
    """Stops a trace whose step value has grown past :data:`TREE_BUDGET` nodes."""
    if tree_size(value, TREE_BUDGET) > TREE_BUDGET:
        raise TraceError(f"a step's formulas grow past {TREE_BUDGET:,} nodes (a long "
                         "recurrence): left to ordinary runs")


def _explicit(value: Any) -> Any:
    """A product of explicit matrices left unevaluated (``c*Matrix(...)``), as its matrix."""
    if isinstance(value, sp.MatrixExpr) and not isinstance(value, sp.MatrixBase):
        return value.as_explicit()
    return value


WHOLE, ALGEBRAIC, INEXACT = 2, 1, 0  # what a formula is on whole inputs (see _whole)


def _whole(expr: sp.Expr) -> int:
    """What the formula is when its inputs are whole numbers, as an ordinary run prints it:

    :data:`WHOLE`: sums, products and whole powers of them and of integers (always an integer);
    :data:`ALGEBRAIC`: also quotients, roots, ``Max``, ``Min``, ``Abs``, ``floor`` and
    ``ceiling`` (SymPy evaluates these exactly on integers, and a whole value comes out as an
    integer: sqrt(36 + 64) = 10);
    :data:`INEXACT`: anything else (a logarithm ratio log 4 / log 2 stays a formula, a decimal
    constant makes a float), printed as a float even where its value is whole.
    """
    if expr.atoms(sp.Float):
        return INEXACT
    kind = WHOLE
    for node in sp.preorder_traversal(expr):
        if isinstance(node, (sp.Add, sp.Mul, sp.Symbol, sp.Integer)):
            continue
        if isinstance(node, sp.Pow) and node.exp.is_Integer and node.exp >= 0:
            continue
        if isinstance(node, (sp.Pow, sp.Max, sp.Min, sp.Abs, sp.Rational, sp.floor,
                             sp.ceiling)) and (
                not isinstance(node, sp.Pow) or node.exp.is_Rational):
            kind = ALGEBRAIC
            continue
        return INEXACT
    return kind


def _kinds(exprs: list[sp.Expr], position: Mapping[sp.Symbol, int],
           named: Sequence[tuple[sp.Symbol, sp.Expr]]) -> tuple[tuple[int, tuple[int, ...]], ...]:
    """What each value's formula is on whole inputs (:func:`_whole`) and the positions of the
    inputs it uses, through the named values it uses: a name is what its formula is (tanh of
    the inputs inexact, a sum of their products whole)."""
    known: dict[sp.Symbol, tuple[int, frozenset[int]]] = {
        symbol: (WHOLE, frozenset({k})) for symbol, k in position.items()}
    for symbol, definition in named:  # each defined by the inputs and the names before it
        parts = [known[x] for x in definition.free_symbols]
        known[symbol] = (min([_whole(definition), *(k for k, _u in parts)]),
                         frozenset().union(*(u for _k, u in parts)))
    out = []
    for expr in exprs:
        parts = [known[x] for x in expr.free_symbols]
        out.append((min([_whole(expr), *(k for k, _u in parts)]),
                    tuple(sorted(frozenset().union(*(u for _k, u in parts))))))
    return tuple(out)


def _template(value: Any, exprs: list[sp.Expr], symbols: set[sp.Symbol]) -> Any:
    """``value`` as plain data whose numbers that depend on the inputs are :class:`_Out`."""
    value = _explicit(value)
    if isinstance(value, sp.MatrixBase):
        return [[_template(x, exprs, symbols) for x in value.row(i)] for i in range(value.rows)]
    if isinstance(value, Mapping):
        return {str(k): _template(v, exprs, symbols) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_template(v, exprs, symbols) for v in value]
    if isinstance(value, sp.Basic) and value.free_symbols & symbols:
        if not value.free_symbols <= symbols:
            raise TraceError(f"a value holds other symbols: {sorted(map(str, value.free_symbols))}")
        exprs.append(value)
        return _Out(len(exprs) - 1)
    return to_plain(value)


class _Zeros:
    """Outputs that are all 0: a template's shape alone."""

    def __getitem__(self, index: int) -> int:
        return 0


_ZEROS = _Zeros()


def _fill(template: Any, values: _Outputs | _Zeros) -> Any:
    if isinstance(template, _Out):
        return values[template.index]
    if isinstance(template, list):
        return [_fill(t, values) for t in template]
    if isinstance(template, dict):
        return {k: _fill(t, values) for k, t in template.items()}
    return template


def _inputs(derivation: Derivation, effective: Mapping[str, Any],
            ) -> tuple[tuple[Any, ...], list[sp.Rational]]:
    """(the shape of the parameters, their input numbers but the zeros in validation order)."""
    numbers: list[sp.Rational] = []

    def walk(value: Any, zeros: bool) -> Any:
        if isinstance(value, (list, tuple)):
            return tuple(walk(v, zeros) for v in value)
        number = exact(value)
        if zeros and number == 0:
            return "0"
        numbers.append(number)
        return "#"

    shape = []
    for p in derivation.params:
        value = effective.get(p.name, p.default)
        if ((p.kind in _NUMERIC_KINDS and p.trace != "none") or p.trace == "whole") and \
                value is not None:
            shape.append((p.name, walk(value, p.trace == "nonzero")))
        else:
            shape.append((p.name, repr(to_plain(value))))
    return tuple(shape), numbers


Signature = tuple[str, str | None, tuple[Any, ...]]


def trace(derivation: Derivation, prepared: Prepared,
          names: frozenset[str] | None = None) -> Plan:
    """Runs the derivation once with symbols for the input numbers and compiles its answers'
    values (those ``names``, when given; the rest are compiled on first need).

    Raises:
        TraceError: or any exception of the run: the trace cannot follow it.
    """
    from dlexam.derivations.params import validate

    state = _Trace(derivation)
    token = _TRACING.set(state)
    try:
        with input_hook(state.input), step_watch(_watch), name_hook(state.name):
            values = validate(derivation.params, prepared.effective, derivation.limits)
            result = derivation.finish(derivation.fn(**values, **prepared.call), prepared)
    finally:
        _TRACING.reset(token)
    _shape, numbers = _inputs(derivation, prepared.effective)
    if numbers != state.numbers:
        raise TraceError("the inputs were read in another order than the parameters list them")
    exprs: list[sp.Expr] = []
    named = {symbol for symbol, _value in state.named}
    symbols = set(state.symbols) | named
    answers = {k: _template(v, exprs, symbols) for k, v in result.answers.items()}
    steps = tuple((s.key, None if s.value is None else _template(s.value, exprs, symbols))
                  for s in result.steps)
    position = {symbol: k for k, symbol in enumerate(state.symbols)}
    integer = _kinds(exprs, position, state.named)
    plan = Plan(state.symbols, exprs, [diff for diff, _c, _o in state.guards], integer,
                tuple((c, o) for _d, c, o in state.guards), answers, steps, state.named)
    out = plan.evaluate(state.numbers, steps=names is None, names=names)
    if out is None:
        raise TraceError("the compiled formulas do not reproduce the traced run")
    derivation.check_answers(replace(result, answers={
        k: _fill(t, out if names is None or k in names else _ZEROS)
        for k, t in answers.items()}))  # (the shapes of those not compiled yet)
    return plan


class Planner:
    """Plans by shape, made on first need (``eager``) or when a shape is seen a second time.

    A shape the trace cannot follow is remembered and always runs the ordinary way.
    """

    def __init__(self, eager: bool = False, size: int = MAX_PLANS) -> None:
        self.eager = eager
        self.size = size
        self._plans: OrderedDict[Signature, list[Plan] | None] = OrderedDict()
        self._seen: set[Signature] = set()
        # traces tried for a shape, failed ones too: a shape whose other branch cannot be
        # traced (a comparison on its edge, a float() of an input) is not traced again for
        # every request that its plans' guards send elsewhere
        self._tries: dict[Signature, int] = {}
        self.failures: dict[str, str] = {}  # derivation (mistake) -> why a trace failed
        self.counts = {"planned": 0, "ran": 0, "traced": 0}
        # per derivation: plans made, and values they gave (not ``eager``: a derivation whose
        # plans serve twice each on average has its new shapes traced at first sight too)
        self.made: dict[str, int] = {}
        self.served: dict[str, int] = {}

    def copy(self) -> Planner:
        """A planner that starts with this one's plans (shared) and goes its own way: the same
        history gives the same values, wherever the copy runs."""
        twin = Planner(self.eager, self.size)
        twin._plans = OrderedDict((k, list(v) if v is not None else None)
                                  for k, v in self._plans.items())
        twin._seen = set(self._seen)
        twin._tries = dict(self._tries)
        twin.failures = dict(self.failures)
        twin.counts = dict(self.counts)
        twin.made, twin.served = dict(self.made), dict(self.served)
        return twin

    def values(self, derivation: Derivation, raw: Mapping[str, Any] | None,
               mistake: str | None = None) -> Values:
        """The values of a run of ``derivation`` on ``raw`` (as a student making ``mistake``).

        Raises:
            InputError: as :meth:`Derivation.run` does.
        """
        return self._values(derivation, derivation.prepare(raw, mistake, build=False))

    def values_combined(self, derivation: Derivation, raw: Mapping[str, Any] | None,
                        first: str, second: str) -> Values | None:
        """The values of a run as a student making two mistakes at once, or None when the two
        cannot be made together on these parameters (:meth:`Derivation.combined`)."""
        from dlexam.errors import InputError

        right = derivation.prepare(raw, None, build=False)
        prepared = derivation.combined(right, first, second, build=False)
        if prepared is None:
            return None
        try:
            return self._values(derivation, prepared)
        except (InputError, ArithmeticError, ValueError):
            return None

    def values_of(self, derivation: Derivation, raw: Mapping[str, Any] | None,
                  mistakes: Sequence[str | None],
                  answers: Collection[str] | None = None) -> list[Values]:
        """The values of runs on the same parameters, right (None) or as a student making
        each mistake: the parameters are checked once, not once per run. With ``answers``,
        the values hold those answers at least (a plan computes only those).

        Raises:
            InputError: as :meth:`Derivation.run` does.
        """
        right = derivation.prepare(raw, None, build=False)
        names = None if answers is None else frozenset(answers)
        inputs: dict[int, tuple[tuple[Any, ...], list[sp.Rational]]] = {}
        out = []
        for mistake in mistakes:
            prepared = right if mistake is None else \
                derivation.mistaken(right, mistake, build=False)
            key = id(prepared.effective)  # a formula mistake keeps the right inputs
            if key not in inputs:
                inputs[key] = _inputs(derivation, prepared.effective)
            out.append(self._values(derivation, prepared, inputs[key], names))
        return out

    def _values(self, derivation: Derivation, prepared: Prepared,
                inputs: tuple[tuple[Any, ...], list[sp.Rational]] | None = None,
                names: frozenset[str] | None = None) -> Values:
        shape, numbers = inputs or _inputs(derivation, prepared.effective)
        # a mistake declared by its parameters is the right derivation on other parameters:
        # it shares the plans of that shape
        signature: Signature = (derivation.name, prepared.call.get("mistake"), shape)
        plans = self._plans.get(signature, [])
        if plans is not None:
            for plan in plans:
                found = self._planned(derivation, plan, numbers, prepared, names)
                if found is not None:
                    self._plans.move_to_end(signature)
                    return found
            name = derivation.name
            if self._tries.get(signature, 0) < MAX_GUARDED and len(numbers) <= MAX_INPUTS and (
                    self.eager or signature in self._seen or
                    self.served.get(name, 0) >= 2 * self.made.get(name, 0) > 0):
                traced = self._trace(derivation, prepared, signature, plans, names)
                found = None if traced is None else \
                    self._planned(derivation, traced, numbers, prepared, names)
                if found is not None:
                    return found
            if len(self._seen) >= 8 * self.size:
                self._seen.clear()  # bounded: a long batch of one-off shapes forgets them
            self._seen.add(signature)
        self.counts["ran"] += 1
        return Values.of(_numeric_run(derivation, prepared))

    def _planned(self, derivation: Derivation, plan: Plan, numbers: list[sp.Rational],
                 prepared: Prepared, names: frozenset[str] | None = None) -> Values | None:
        # every answer asked (the checker, grading): every value at once, in one compiled
        # call, as the steps are read too; some answers (the exam builder): those alone
        out = plan.evaluate(numbers, steps=names is None, names=names)
        if out is None:
            return None
        self.counts["planned"] += 1
        self.served[derivation.name] = self.served.get(derivation.name, 0) + 1

        def steps() -> tuple[tuple[str, Any], ...]:
            full = out if names is None else plan.evaluate(numbers)
            if full is None:  # a step's formula mpmath cannot evaluate here: run it
                return Values.of(_numeric_run(derivation, prepared)).steps
            return tuple((k, None if t is None else _fill(t, full)) for k, t in plan.steps)

        return Values({k: _fill(t, out) for k, t in plan.answers.items()
                       if names is None or k in names}, steps,
                      dict(prepared.shown))

    def _trace(self, derivation: Derivation, prepared: Prepared, signature: Signature,
               plans: list[Plan], names: frozenset[str] | None = None) -> Plan | None:
        self.counts["traced"] += 1
        self._tries[signature] = self._tries.get(signature, 0) + 1
        try:
            plan: Plan | None = trace(derivation, prepared, names)
            self.made[derivation.name] = self.made.get(derivation.name, 0) + 1
        except Exception as err:
            self.failures[f"{derivation.name} ({prepared.mistake or 'right'})"] = \
                f"{type(err).__name__}: {str(err)[:200]}"
            plan = None
        self._plans[signature] = [*plans, plan] if plan is not None else (plans or None)
        self._plans.move_to_end(signature)
        while len(self._plans) > self.size:  # the shapes no trace could follow count too
            evicted, _plans = self._plans.popitem(last=False)
            self._tries.pop(evicted, None)
        return plan


def _numeric_run(derivation: Derivation, prepared: Prepared) -> Result:
    from dlexam.derivations.params import numeric_inputs, validate

    with numeric_inputs():
        values = validate(derivation.params, prepared.effective, derivation.limits)
        result = derivation.finish(derivation.fn(**values, **prepared.call), prepared)
    derivation.check_answers(result)
    return result

