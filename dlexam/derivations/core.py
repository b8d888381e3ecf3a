"""The result type every derivation returns, and the registry that names them.

A derivation is a pure function of validated parameters that returns a :class:`Result`: the
parameters as given, the convention used, an ordered tuple of :class:`Step` records and the named
answers. Nothing here prints, writes files or holds language text: a step names its prose by a
catalog key (``templates/i18n``) and carries the values the prose refers to.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from decimal import Decimal
from fractions import Fraction
from types import MappingProxyType
from typing import Any

import sympy as sp

from dlexam.derivations.contract import Answer, Carry, Follow, Mistake, shape_problem
from dlexam.derivations.params import (
    JSON_MAX_DEPTH,
    Param,
    bind_dims,
    checked_only,
    exact,
    validate,
    watched,
)
from dlexam.derivations.sampling import Draw
from dlexam.errors import InputError, Said
from dlexam.notation.display import Listed, Plain


def _freeze(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


ELIDABLE_MEASURES = ("rows", "rows_inexact", "rows_per_head", "terms", "matrix")
"""The layout's measures a step can be shortened by (attributes of
:class:`dlexam.notation.display.Layout`)."""

SHORTER_FIELDS = frozenset({"lhs", "symbolic", "substituted", "data"})
"""The fields a step's shorter form may replace: never its key or its value."""


@dataclass(frozen=True)
class Elidable:
    """Where the layout may shorten a derivation: a step a derivation builds in full, which a
    renderer leaves out or shows in a shorter form when it exceeds the layout.

    Derivations do not choose what is shown: they build every step (every row of an attention
    matrix, a sum written out term by term, a product with its matrices written out) and mark
    here what the layout may shorten; every renderer shows the steps through
    :func:`dlexam.notation.display.laid_out`, which keeps a step when ``size`` is at most the
    layout's ``measure``.

    Attributes:
        measure: the layout's measure that decides (one of :data:`ELIDABLE_MEASURES`):
            ``rows``, ``rows_inexact``, ``rows_per_head`` (the step is row ``size`` of ``of``
            in ``group``), ``terms`` (a sum or vector of ``size`` terms written out),
            ``matrix`` (matrices of up to ``size`` rows and columns written out in a formula).
        size: what the measure is compared with (the row's number, from 1; the number of
            terms; the largest number of rows or columns).
        of: the size of the whole (the number of rows), or None.
        group: what the rows belong to (``"self_attention.rows"``), or None.
        instead: the step's shorter form, as the fields it replaces (of
            :data:`SHORTER_FIELDS`: the general Sigma form for a sum written out, no numbers
            put in for a product of large matrices), shown when the layout leaves the full
            form out; None: the step is left out.
    """

    measure: str
    size: int
    of: int | None = None
    group: str | None = None
    instead: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.measure not in ELIDABLE_MEASURES:
            raise ValueError(f"unknown layout measure {self.measure!r}")
        if self.instead is not None:
            wrong = set(self.instead) - SHORTER_FIELDS
            if wrong:
                raise ValueError(f"a shorter form may not replace {sorted(wrong)}")
            object.__setattr__(self, "instead", _freeze(self.instead))


def row_of(measure: str, row: int, rows: int, group: str) -> Elidable:
    """Row ``row`` (from 1) of ``rows`` in ``group``: shown while the layout's ``measure``
    reaches it."""
    return Elidable(measure, row, of=rows, group=group)


def terms_of(terms: int, **instead: Any) -> Elidable:
    """A sum (or a vector) written out term by term, shown as ``instead`` (its general form)
    when it has more terms than the layout writes out."""
    return Elidable("terms", terms, instead=instead)


def matrices_of(*matrices: sp.MatrixBase, **instead: Any) -> Elidable:
    """A formula with these matrices written out, shown as ``instead`` when one of them has
    more rows or columns than the layout writes out."""
    return Elidable("matrix", max(max(m.rows, m.cols) for m in matrices), instead=instead)


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
        elidable: where the layout may leave this step out or shorten it, or None (always
            shown as it is).
    """

    key: str
    lhs: sp.Basic | None = None
    symbolic: sp.Basic | None = None
    substituted: sp.Basic | None = None
    value: Any = None
    data: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    elidable: Elidable | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "data", _freeze(self.data))
        watched(self.value)


@dataclass(frozen=True, repr=False)
class Result:
    """What a derivation returns.

    A derivation function fills ``convention``, ``steps``, ``answers`` and ``info``;
    :meth:`Derivation.run` stamps ``derivation`` and ``params`` and checks ``answers`` against the
    declaration.

    Attributes:
        convention: the convention used, where one applies (``"keras"``, ``"column"``).
        steps: the ordered steps.
        answers: the gradable answers, exactly those declared (values are SymPy numbers,
            matrices, lists or strings).
        info: everything else worth reporting: metadata (the unit, the other convention's
            values, which step differs), echoed or generated inputs.
        derivation: the registered name (``"param-count"``).
        params: the parameters as given (after defaults), JSON-compatible.
    """

    convention: str | None
    steps: tuple[Step, ...]
    answers: Mapping[str, Any]
    info: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    derivation: str = ""
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", _freeze(self.params))
        object.__setattr__(self, "answers", _freeze(self.answers))
        object.__setattr__(self, "info", _freeze(self.info))
        object.__setattr__(self, "steps", tuple(self.steps))

    # Jupyter's display protocol and the JSON form, through the views the rendering layer
    # registers (dlexam.render); a result is data and renders nothing itself
    def _repr_html_(self) -> str | None:
        return _view("html", self)

    def _repr_markdown_(self) -> str | None:
        return _view("markdown", self)

    def _repr_latex_(self) -> str | None:
        return _view("latex", self)

    def __repr__(self) -> str:
        answers = ", ".join(self.answers)
        return f"<{self.derivation or 'derivation'}: {len(self.steps)} steps; answers {answers}>"

    def plain_answers(self) -> dict[str, Any]:
        """The answers as plain JSON data."""
        return {k: to_plain(v) for k, v in self.answers.items()}

    def as_dict(self) -> dict[str, Any]:
        """The result as plain JSON data (:func:`dlexam.render.data.result_json`).

        Raises:
            RuntimeError: the rendering layer is not loaded (``import dlexam.render``).
        """
        out = _view("json", self)
        if out is None:
            raise RuntimeError("a result's JSON form is rendered by dlexam.render: import it")
        return out


VIEWS: dict[str, Callable[..., Any]] = {}  # (result) or (result, lang) for html/markdown
"""The forms of a result the rendering layer (:mod:`dlexam.render`) registers when imported:
``html``, ``markdown`` and ``latex`` (Jupyter's display protocol) and ``json``
(:meth:`Result.as_dict`)."""


def _view(name: str, result: Result) -> Any:
    view = VIEWS.get(name)
    if view is None:
        return None
    lang = result.__dict__.get("_lang")  # set by dlexam.solve(..., lang=...)
    return view(result, lang) if lang is not None and name in ("html", "markdown") else \
        view(result)


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
    if isinstance(value, Listed):
        return list(value.items)
    if isinstance(value, Plain):
        return to_plain(value.value)
    if isinstance(value, sp.Basic):
        if value in (sp.oo, sp.zoo):
            return "inf"
        if value == -sp.oo:
            return "-inf"
        if value.is_Integer:
            return int(value)
        if value.is_number:
            try:
                return to_plain(float(value.evalf(17)))
            except TypeError:  # a number-valued object with no float (a law N(0, 1), a complex)
                return sp.sstr(value)
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


Sampler = Callable[[Draw, dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Prepared:
    """What one run calls the derivation function with.

    Attributes:
        effective: the raw parameters the run derives from (the mistaken student's for a
            mistake declared by its parameters, else those given).
        values: ``effective`` validated.
        shown: the parameters as given, with the defaults (JSON data).
        call: extra keyword arguments (``mistake=<id>`` for a mistake computed by formula).
        mistake: the mistake made, or None.
    """

    effective: Mapping[str, Any]
    values: Mapping[str, Any]
    shown: dict[str, Any]
    call: Mapping[str, Any]
    mistake: str | None


@dataclass(frozen=True)
class Derivation:
    """A registered derivation, declared as a whole.

    Attributes:
        name: the registered name (``"rnn-forward"``).
        params: the declared parameters.
        fn: the function that derives (validated parameters -> :class:`Result`); it also takes
            ``mistake=<id>`` when some mistake is declared with ``formula=True``.
        answers: the gradable answers.
        mistakes: the named wrong methods.
        sampler: (draw, fixed raw parameters) -> raw parameters of a good exam question.
        question: validated parameters -> extra fields of the question statement (the
            statement is filled from the parameters by name, the dimension sizes, and these).
        carry: how a state answer starts the next step (for the checker's follow-through).
        follows: which later answers are computed from earlier ones (follow-through within a
            step: h -> y, weights -> Z, layers -> total).
    """

    name: str
    params: tuple[Param, ...]
    fn: Callable[..., Result]
    limits: Mapping[str, int] = field(default_factory=dict)
    answers: tuple[Answer, ...] = ()
    mistakes: tuple[Mistake, ...] = ()
    sampler: Sampler | None = None
    question: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    carry: Carry | None = None
    follows: tuple[Follow, ...] = ()

    @property
    def key(self) -> str:
        """The catalog prefix (``"rnn_forward"``)."""
        return self.name.replace("-", "_")

    @property
    def summary_key(self) -> str:
        """Catalog key of the one-line summary."""
        return self.key + ".summary"

    @property
    def question_key(self) -> str:
        """Catalog key of the question statement, filled from the parameters."""
        return self.key + ".question"

    @property
    def json_depths(self) -> dict[str, int]:
        """How deep each JSON parameter's value may nest (read by the command line)."""
        return {p.name: JSON_MAX_DEPTH for p in self.params if p.kind == "json"}

    def mistake_key(self, mistake_id: str) -> str:
        """Catalog key of a mistake's table (``.name``: a line; ``.explain``: the explanation)."""
        return f"{self.key}.mistakes.{mistake_id}"

    def answer(self, name: str) -> Answer:
        """The declared answer called ``name``.

        Raises:
            KeyError: no such answer.
        """
        for a in self.answers:
            if a.name == name:
                return a
        raise KeyError(name)

    def get_mistake(self, mistake_id: str) -> Mistake:
        """The declared mistake with this id.

        Raises:
            InputError: unknown id, listing the known ones.
        """
        for m in self.mistakes:
            if m.id == mistake_id:
                return m
        known = ", ".join(m.id for m in self.mistakes) or "-"
        raise InputError("--mistake", Said("core.errors.mistake_of", name=self.name, known=known),
                         repr(mistake_id))

    def shown_params(self, raw: Mapping[str, Any] | None) -> dict[str, Any]:
        """The raw parameters with the defaults filled in (as JSON data)."""
        given = dict(raw or {})
        return to_plain({p.name: given.get(p.name, p.default) for p in self.params})

    def applicable_mistakes(self, raw: Mapping[str, Any] | None) -> list[Mistake]:
        """The mistakes a student can make on the question with these raw parameters."""
        shown = self.shown_params(raw)
        return [m for m in self.mistakes if m.applies_to(shown)]

    def prepare(self, raw: Mapping[str, Any] | None = None, mistake: str | None = None,
                build: bool = True) -> Prepared:
        """Validates raw parameters and works out what a run (as a student making ``mistake``,
        when given) calls the derivation function with.

        With ``build=False`` the parameters are only checked: ``values`` is then not for the
        derivation function (arrays are flat lists), for callers that run it otherwise.

        Raises:
            InputError: a parameter is missing, unknown or malformed; the mistake is unknown or
                does not apply to this question.
        """
        given = dict(raw or {})
        with nullcontext() if build else checked_only():
            right = Prepared(given, validate(self.params, given, self.limits),
                             self.shown_params(given), {}, None)
            return right if mistake is None else self._mistaken(right, mistake)

    def mistaken(self, right: Prepared, mistake: str, build: bool = True) -> Prepared:
        """A run as a student making ``mistake``, from the right run's preparation: the
        parameters are not checked again unless the mistake changes them.

        Raises:
            InputError: the mistake is unknown or does not apply to this question.
        """
        with nullcontext() if build else checked_only():
            return self._mistaken(right, mistake)

    def combined(self, right: Prepared, first: str, second: str,
                 build: bool = True) -> Prepared | None:
        """A run as a student making two mistakes at once (the checker's search for a
        combination that explains a whole answer), or None when the two cannot be made together
        here (either does not apply, or the combined parameters are refused).

        Parameter rules are applied one after the other; mistakes computed by formula are
        passed together (:class:`Mistakes`, equal to each of its ids), so the derivation makes
        each where it would make it alone.
        """
        chosen = [self.get_mistake(first), self.get_mistake(second)]
        if not all(m.applies_to(right.shown) for m in chosen):
            return None
        effective: Mapping[str, Any] = right.effective
        values = right.values
        try:
            with nullcontext() if build else checked_only():
                if any(m.params is not None for m in chosen):
                    shown = dict(right.shown)
                    for m in chosen:
                        if m.params is not None:
                            shown = m.params(shown)
                    effective = shown
                    values = validate(self.params, effective, self.limits)
        except InputError:
            return None
        formulas = [m.id for m in chosen if m.formula]
        call = {} if not formulas else {
            "mistake": formulas[0] if len(formulas) == 1 else Mistakes(formulas)}
        return Prepared(effective, values, right.shown, call, f"{first}+{second}")

    def _mistaken(self, right: Prepared, mistake: str) -> Prepared:
        chosen = self.get_mistake(mistake)
        if not chosen.applies_to(right.shown):
            raise InputError("--mistake", Said("core.errors.applies", known=", ".join(
                m.id for m in self.applicable_mistakes(right.shown))), repr(mistake))
        effective, values = right.effective, right.values
        if chosen.params is not None:
            effective = chosen.params(dict(right.shown))
            values = validate(self.params, effective, self.limits)
        call = {"mistake": mistake} if chosen.formula else {}
        return Prepared(effective, values, right.shown, call, mistake)

    def run(self, raw: Mapping[str, Any] | None = None, *, mistake: str | None = None,
            **kwargs: Any) -> Result:
        """Validates raw parameters (JSON-like values) and runs the derivation.

        Args:
            raw: the parameters as typed (JSON-like values); omitted ones take their defaults.
            mistake: run as a student who makes this declared mistake from start to end.

        Raises:
            InputError: a parameter is missing, unknown or malformed; the mistake is unknown or
                does not apply to this question.
        """
        given = dict(raw or {})
        given.update(kwargs)
        prepared = self.prepare(given, mistake)
        stamped = self.finish(self.fn(**prepared.values, **prepared.call), prepared)
        self.check_answers(stamped)
        return stamped

    def finish(self, result: Result, prepared: Prepared) -> Result:
        """The function's result stamped with the derivation's name, the parameters and the
        mistake made."""
        info = dict(result.info)
        if prepared.mistake is not None:
            info["mistake"] = prepared.mistake
        return replace(result, derivation=self.name, params=prepared.shown, info=info)

    def check_answers(self, result: Result) -> None:
        """Checks that a result's answers are exactly the declared ones, in their shapes.

        Raises:
            ContractError: a bug: the derivation returned something it does not declare.
        """
        declared = {a.name for a in self.answers}
        extra = set(result.answers) - declared
        if extra:
            raise ContractError(f"{self.name}: undeclared answers {sorted(extra)}")
        dims: dict[str, int] = {}
        for a in self.answers:
            if a.name not in result.answers:
                if not a.optional:
                    raise ContractError(f"{self.name}: declared answer {a.name!r} missing")
                continue
            problem = shape_problem(a, to_plain(result.answers[a.name]), dims)
            if problem is not None:
                raise ContractError(f"{self.name}: {problem}")

    def question_data(self, raw: Mapping[str, Any] | None) -> dict[str, Any]:
        """The fields of the question statement: validated parameters by name, the dimension
        sizes (``T``, ``H``), and the derivation's own extra fields.

        Raises:
            InputError: the parameters are malformed.
        """
        given = dict(raw or {})
        values = validate(self.params, given, self.limits)
        data: dict[str, Any] = dict(bind_dims(self.params, self.shown_params(given)))
        data.update({k: v for k, v in values.items() if v is not None})
        if self.question is not None:
            data.update(self.question(values))
        return data

    def sample(self, seed: int, fixed: Mapping[str, Any] | None = None,
               keep: Callable[[dict[str, Any]], bool] | None = None) -> dict[str, Any] | None:
        """Raw parameters of a good exam question drawn from ``seed``; ``fixed`` ones held.
        With ``keep``, a draw it refuses gives None before anything is checked or built.

        Raises:
            InputError: a fixed parameter is malformed or unknown.
        """
        if self.sampler is None:
            raise ContractError(f"{self.name} declares no sampler")
        fixed = dict(fixed or {})
        known = {p.name for p in self.params}
        for name in fixed:
            if name not in known:
                raise InputError(name, Said("core.errors.parameters", known=", ".join(
                    sorted(known))), Said("core.errors.unknown_parameter"))
        drawn = self.sampler(Draw(seed), fixed)
        drawn.update(fixed)
        if keep is not None and not keep(drawn):
            return None
        with checked_only():
            validate(self.params, drawn, self.limits)
        return to_plain(drawn)


class Mistakes(str):
    """Several mistakes made at once, passed to a derivation function as its ``mistake``: it
    compares equal to each of its ids (``mistake == "no-scaling"``, ``mistake in (...)``), so
    that a derivation written for one mistake makes each of them where it would."""

    ids: tuple[str, ...]

    def __new__(cls, ids: Iterable[str]) -> Mistakes:
        ids = tuple(ids)
        made = super().__new__(cls, "+".join(ids))
        made.ids = ids
        return made

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and (other in self.ids or str.__eq__(self, other))

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return str.__hash__(self)


class ContractError(RuntimeError):
    """A derivation broke its own declaration: a bug, never the user's fault."""


REGISTRY: dict[str, Derivation] = {}


def derivation(
    name: str,
    params: Iterable[Param],
    limits: Mapping[str, int] | None = None,
    *,
    answers: Iterable[Answer] = (),
    mistakes: Iterable[Mistake] = (),
    sampler: Sampler | None = None,
    question: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    carry: Carry | None = None,
    follows: Iterable[Follow] = (),
) -> Callable[[Callable[..., Result]], Callable[..., Result]]:
    """Registers a derivation function under ``name`` with its declarations.

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
            limits=MappingProxyType(dict(limits or {})),
            answers=tuple(answers),
            mistakes=tuple(mistakes),
            sampler=sampler,
            question=question,
            carry=carry,
            follows=tuple(follows),
        )
        return fn

    return register

