"""The exam model: an exam file (TOML) read and checked into an :class:`Exam` of :class:`Question`s.

An exam file says which derivation answers each question, which of its declared answers are
asked, for how many points, and with which numbers: each parameter is a literal (fixed) or a draw
(``uniform``, ``integers``, ``choice`` with a ``shape``); what the file leaves out the
derivation's own sampler draws. Everything is checked when the file is read, before any work
starts; a mistake is one :class:`~dlexam.errors.InputError` naming its TOML path
(``questions[2].params.W.uniform: expected two numbers, got "a"``). Questions are counted from 1
in these paths, as exams number them.

Text from the file (title, instructions, a question's ``text``) is untrusted: it is checked
against the characters the fonts have, its ``$...$`` mathematics is parsed by
:mod:`dlexam.exams.mathtext`, and it reaches TeX only escaped.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from dlexam import derivations
from dlexam.derivations.contract import (
    RAGGED_KINDS,
    Precision,
    Tolerance,
    element,
    parse_ref,
    plain_shape,
    precision_of,
)
from dlexam.derivations.core import Derivation, to_plain
from dlexam.derivations.params import bind_dims, check_text, numeric_inputs, pinned_dims
from dlexam.derivations.sampling import MAX_SEED, Draw
from dlexam.errors import DlexamError, InputError, Said, UnknownDerivationError, echo
from dlexam.langs import BILINGUAL, codes, langs_for, parse_choice

MAX_QUESTIONS = 50
MAX_ASK = 20
MAX_TEXT = 2000
MAX_TITLE = 200
MAX_DRAW_ENTRIES = 400  # entries of one drawn array (exam-sized: a few dozen at most)
MAX_SIZE = 1_000_000_000
MAX_DECIMALS = 6
MAX_CHOICES = 1000
MAX_POINTS = 1000
# the grades Moodle's importer accepts for an answer, in percent (an exam's partial credit is
# one of them, so that Moodle and `dlexam grade` give the same marks)
MOODLE_FRACTIONS = (100, 90, 83.33333, 80, 75, 70, 66.66667, 60, 50, 40, 33.33333, 30, 25, 20,
                    16.66667, 14.28571, 12.5, 11.11111, 10, 5, 0)
_FRACTION_SLACK = 5e-4  # percentage points: 1/3 written 0.333333 is Moodle's 33.33333


def moodle_fraction(credit: float) -> float:
    """The grade Moodle accepts nearest to ``credit`` (0 to 1), in percent."""
    return min(MOODLE_FRACTIONS, key=lambda f: (abs(f - 100 * credit), f))


def moodle_credit(path: str, credit: float) -> float:
    """A partial credit as Moodle can give it (0 to 1: one of its fractions).

    Raises:
        InputError: naming ``path`` and the nearest credits Moodle allows.
    """
    nearest = sorted(MOODLE_FRACTIONS, key=lambda f: (abs(f - 100 * credit), f))
    if abs(nearest[0] - 100 * credit) <= _FRACTION_SLACK:
        return round(nearest[0] / 100, 7)
    below = max((f for f in MOODLE_FRACTIONS if f < 100 * credit), default=None)
    above = min((f for f in MOODLE_FRACTIONS if f > 100 * credit), default=None)
    near = tuple(f"{f / 100:.7g}" for f in (below, above) if f is not None)
    raise InputError(path, Said("exam.errors.moodle_credit", near=near), f"{credit:g}")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
_TOP_KEYS = {"title", "instructions", "course", "date", "duration", "lang", "questions", "book",
             "rounding_slip", "sig_figs"}
_QUESTION_KEYS = {"id", "derivation", "points", "ask", "tolerance", "sig_figs", "decimals",
                  "text", "partial", "dims",
                  "params", "space", "answer_layout"}
ANSWER_LAYOUTS = ("boxes", "lines")
_SPACE = re.compile(r"^(?P<size>\d{1,2}(?:\.\d{1,2})?)\s*(?P<unit>cm|mm|in)$")
_SPACE_MAX_CM = {"cm": 1.0, "mm": 0.1, "in": 2.54}  # a unit's size in cm
MAX_SPACE_CM = 25  # at most one page of working space


def _got(value: Any) -> str:
    """A short description of a TOML value for an error message."""
    shown = json.dumps(to_plain(value), ensure_ascii=False, default=str)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def _nothing() -> Said:
    return Said("errors.nothing")


def _unknown(what: str = "key") -> Said:
    return Said(f"exam.errors.unknown_{what}")


def _listed(names: Sequence[str]) -> str | Said:
    """Names for a message, or the catalog's "none"."""
    return ", ".join(names) if names else Said("exam.errors.none")


def _is_number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


# --- parameter specifications -----------------------------------------------------------------

@dataclass(frozen=True)
class Spec:
    """How one parameter (or dimension size) gets its value in each variant.

    Attributes:
        kind: ``fixed``, ``uniform``, ``integers``, ``choice`` or ``template``.
        value: the literal (``fixed``).
        lo, hi: the range (``uniform``, ``integers``).
        decimals: the grid of a ``uniform`` draw.
        options: the values of a ``choice``.
        shape: sizes or dimension names; ``()`` draws one value.
        template: a string with ``{name}`` fields (``template``), each filled by its draw in
            ``fields`` (name -> a spec of one value), in the order the file gives them.
    """

    kind: str
    value: Any = None
    lo: float = 0
    hi: float = 0
    decimals: int = 1
    options: tuple[Any, ...] = ()
    shape: tuple[int | str, ...] = ()
    template: str = ""
    fields: tuple[tuple[str, Spec], ...] = ()

    def outcomes(self, dims: Mapping[str, int]) -> int:
        """How many different values one draw can give (sizes bound by ``dims``)."""
        if self.kind == "fixed":
            return 1
        if self.kind == "template":
            count = 1
            for _name, spec in self.fields:
                count = min(count * spec.outcomes(dims), 10**12)
            return count
        entries = 1
        for d in self.shape:
            entries *= d if isinstance(d, int) else dims[d]
        if self.kind == "uniform":
            scale = 10**self.decimals
            per = round(self.hi * scale) - round(self.lo * scale) + 1
        elif self.kind == "integers":
            per = int(self.hi - self.lo + 1)
        else:
            per = len(self.options)
        return min(per**entries, 10**12)

    def draw(self, draw: Draw, dims: Mapping[str, int]) -> Any:
        """One value (nested lists when it has a shape)."""
        if self.kind == "fixed":
            return self.value
        if self.kind == "template":
            return self.filled({name: spec.draw(draw, dims) for name, spec in self.fields})
        shape = [d if isinstance(d, int) else dims[d] for d in self.shape]
        return self._array(draw, shape)

    def _array(self, draw: Draw, shape: Sequence[int]) -> Any:
        if shape:
            return [self._array(draw, shape[1:]) for _ in range(shape[0])]
        if self.kind == "uniform":
            scale = 10**self.decimals
            k = draw.integer(round(self.lo * scale), round(self.hi * scale))
            return k if self.decimals == 0 else round(k / scale, self.decimals)
        if self.kind == "integers":
            return draw.integer(int(self.lo), int(self.hi))
        return self.options[draw.integer(0, len(self.options) - 1)]

    def filled(self, values: Mapping[str, Any]) -> str:
        """The template with its fields' values (a number as Python writes it: a ``uniform``
        draw is rounded to its decimals already, 0.25 rather than 0.250000001)."""
        shown = {name: str(values[name]) for name, _spec in self.fields}
        return _TEMPLATE_FIELD.sub(lambda m: "{" if m.group() == "{{" else "}" if
                                   m.group() == "}}" else shown[m.group("name")], self.template)

    def corners(self) -> list[str]:
        """Strings a template can give, enough to check each field's every kind of value: all
        fields at their first value, all at their last, and each value of each field (every
        option of a choice, both ends of a range) with the others at their first."""
        values = {name: _ends(spec) for name, spec in self.fields}
        first = {name: v[0] for name, v in values.items()}
        out = [self.filled(first), self.filled({n: v[-1] for n, v in values.items()})]
        for name, options in values.items():
            out += [self.filled({**first, name: option}) for option in options[1:]]
        return list(dict.fromkeys(out))


_TEMPLATE_FIELD = re.compile(r"\{\{|\}\}|\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)\}")
MAX_TEMPLATE_FIELDS = 20


def _ends(spec: Spec) -> list[Any]:
    if spec.kind == "fixed":
        return [spec.value]
    if spec.kind == "choice":
        return list(spec.options)
    lo, hi = (int(spec.lo), int(spec.hi)) if spec.kind == "integers" else (spec.lo, spec.hi)
    return [lo, hi]


def parse_template(path: str, value: Mapping[str, Any]) -> Spec:
    """A string parameter with drawn values: ``{ template = "LSTM({u}), Dense({o})", u = {
    integers = [8, 64] }, o = { choice = [1, 2, 5] } }``. Each field is a literal or one draw
    (``uniform``, ``integers``, ``choice``, no shape); every field the template names is given
    and every one given is named.

    Raises:
        InputError: naming the TOML path of the first problem.
    """
    template = value["template"]
    if not isinstance(template, str) or not template:
        raise InputError(f"{path}.template", Said("authoring.template_string"), _got(template))
    named = [m.group("name") for m in _TEMPLATE_FIELD.finditer(template) if m.group("name")]
    stray = _TEMPLATE_FIELD.sub("", template)
    if "{" in stray or "}" in stray:
        raise InputError(f"{path}.template", Said("authoring.template_fields"), _got(template))
    given = [k for k in value if k != "template"]
    for name in named:
        if name not in given:
            raise InputError(f"{path}.{name}", Said("authoring.template_missing", name=name),
                             Said("errors.nothing"))
    for name in given:
        if name not in named:
            raise InputError(f"{path}.{name}", Said("authoring.template_unknown",
                                                    names=", ".join(dict.fromkeys(named))),
                             Said("authoring.unknown_key"))
    if len(given) > MAX_TEMPLATE_FIELDS:
        raise InputError(path, Said("authoring.template_count", n=MAX_TEMPLATE_FIELDS),
                         _got(len(given)))
    fields = []
    for name in given:
        where = f"{path}.{name}"
        raw = value[name]
        if isinstance(raw, dict) and ("template" in raw or "shape" in raw):
            raise InputError(where, Said("authoring.template_field"), _got(raw))
        spec = parse_spec(where, raw, {})
        literals = [spec.value] if spec.kind == "fixed" else list(spec.options)
        if any(isinstance(v, (dict, list)) for v in literals):
            raise InputError(where, Said("authoring.template_scalar"), _got(raw))
        fields.append((name, spec))
    return Spec("template", template=template, fields=tuple(fields))


def _pair(path: str, value: Any, whole: bool) -> tuple[float, float]:
    what = Said("exam.errors.two_whole_numbers" if whole else "exam.errors.two_numbers")
    if (not isinstance(value, list) or len(value) != 2
            or not all(_is_number(v) and (not whole or isinstance(v, int)) for v in value)):
        raise InputError(path, what, _got(value))
    lo, hi = value
    if lo > hi:
        raise InputError(path, Said("exam.errors.smaller_first", what=what), _got(value))
    if max(abs(lo), abs(hi)) >= MAX_SIZE:
        raise InputError(path, Said("exam.errors.below_in_size", what=what,
                                    limit=f"{MAX_SIZE:.0e}"), _got(value))
    return lo, hi


def _shape(path: str, value: Any, dims: Mapping[str, Spec]) -> tuple[int | str, ...]:
    if not isinstance(value, list):
        raise InputError(path, Said("exam.errors.sizes_or_dims"), _got(value))
    out: list[int | str] = []
    for i, d in enumerate(value, start=1):
        if isinstance(d, bool) or not isinstance(d, (int, str)):
            raise InputError(f"{path}[{i}]", Said("exam.errors.size_or_dim"), _got(d))
        if isinstance(d, int) and not 1 <= d <= MAX_DRAW_ENTRIES:
            raise InputError(f"{path}[{i}]", Said("exam.errors.size_from", n=MAX_DRAW_ENTRIES),
                             _got(d))
        if isinstance(d, str) and d not in dims:
            raise InputError(f"{path}[{i}]", Said("exam.errors.drawn_dim",
                                                  dims=_listed(list(dims))), _got(d))
        out.append(d)
    return tuple(out)


def _largest(spec: Spec) -> int:
    """The largest value a dimension spec can give."""
    if spec.kind == "fixed":
        return int(spec.value)
    if spec.kind == "integers":
        return int(spec.hi)
    return max(int(v) for v in spec.options)


def parse_spec(path: str, value: Any, dims: Mapping[str, Spec]) -> Spec:
    """A parameter's specification: a literal, or a table with one draw and its options.

    Raises:
        InputError: naming the TOML path of the first problem.
    """
    if not isinstance(value, dict):
        return Spec("fixed", value=value)
    if "template" in value:
        return parse_template(path, value)
    kinds = [k for k in ("uniform", "integers", "choice") if k in value]
    if len(kinds) != 1:
        raise InputError(path, Said("exam.errors.value_or_draw"), _got(value))
    kind = kinds[0]
    allowed = {kind, "shape"} | ({"decimals"} if kind == "uniform" else set())
    extra = sorted(set(value) - allowed)
    if extra:
        raise InputError(f"{path}.{extra[0]}", Said("exam.errors.one_of",
                                                    items=", ".join(sorted(allowed))), _unknown())
    shape = _shape(f"{path}.shape", value.get("shape", []), dims)
    entries = 1
    for d in shape:
        entries *= d if isinstance(d, int) else _largest(dims[d])
    if entries > MAX_DRAW_ENTRIES:
        raise InputError(f"{path}.shape", Said("exam.errors.at_most_entries", n=MAX_DRAW_ENTRIES),
                         Said("exam.errors.up_to", n=entries))
    if kind == "uniform":
        lo, hi = _pair(f"{path}.uniform", value["uniform"], whole=False)
        decimals = value.get("decimals", 1)
        if isinstance(decimals, bool) or not isinstance(decimals, int) \
                or not 0 <= decimals <= MAX_DECIMALS:
            raise InputError(f"{path}.decimals", Said("exam.errors.whole_from", low=0,
                                                      high=MAX_DECIMALS), _got(decimals))
        scale = 10**decimals
        if round(hi * scale) < round(lo * scale):
            raise InputError(f"{path}.uniform", Said("exam.errors.range_holding", n=decimals),
                             _got(value["uniform"]))
        return Spec("uniform", lo=lo, hi=hi, decimals=decimals, shape=shape)
    if kind == "integers":
        lo, hi = _pair(f"{path}.integers", value["integers"], whole=True)
        return Spec("integers", lo=lo, hi=hi, shape=shape)
    options = value["choice"]
    if not isinstance(options, list) or not 1 <= len(options) <= MAX_CHOICES:
        raise InputError(f"{path}.choice", Said("exam.errors.list_of_values", n=MAX_CHOICES),
                         _got(options))
    return Spec("choice", options=tuple(options), shape=shape)


def _dim_spec(path: str, value: Any, cap: int | None) -> Spec:
    top = cap if cap is not None else MAX_DRAW_ENTRIES
    expected = Said("exam.errors.whole_numbers_from", low=1, high=top)
    if isinstance(value, dict):
        spec = parse_spec(path, value, {})
        if spec.kind in ("uniform", "template") or spec.shape:
            raise InputError(path, Said("exam.errors.size_or_draw"), _got(value))
    else:
        spec = Spec("fixed", value=value)
    sizes = ([spec.value] if spec.kind == "fixed" else
             [spec.lo, spec.hi] if spec.kind == "integers" else list(spec.options))
    for size in sizes:
        if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= top:
            where = {"fixed": path, "integers": f"{path}.integers",
                     "choice": f"{path}.choice"}[spec.kind]
            raise InputError(where, expected, _got(value.get(spec.kind) if
                                                   isinstance(value, dict) else value))
    return spec


# --- the exam -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Item:
    """One asked answer: ``y[2]`` is the answer ``y`` at the 1-based position ``(2,)``."""

    ref: str
    answer: str
    index: tuple[int, ...]


@dataclass(frozen=True)
class Question:
    """A question of an exam file.

    Attributes:
        id: its id (``"q1"``).
        number: its position in the file, from 1.
        derivation: the registered derivation's name.
        points: the points it is worth, shared equally among its asked items.
        ask: the asked references as written (``["y[2]", "h[1]"]``).
        items: the same, parsed.
        tolerance: the file's tolerance, overriding the declared ones, or None.
        precision: the precision the question states (``sig_figs`` or ``decimals``): a value
            rounded to it is right too; or None.
        partial: mistake id -> the fraction of an item's points it earns.
        rounding_slip: the fraction of an item's points a rounding slip earns (the exam file's
            ``rounding_slip``, default 0).
        text: language -> the statement that replaces the derivation's, or None.
        dims: dimension name -> its spec.
        params: parameter name -> its spec.
        space: the working space the paper leaves after the question (``"6cm"``), or None.
        answer_layout: the paper's answer space: ``"boxes"`` (shaped like the answer: a box
            per entry of a vector, a grid for a matrix) or ``"lines"`` (a line per item).
    """

    id: str
    number: int
    derivation: str
    points: float
    ask: tuple[str, ...]
    items: tuple[Item, ...]
    tolerance: Tolerance | None = None
    precision: Precision | None = None
    partial: Mapping[str, float] = field(default_factory=dict)
    rounding_slip: float = 0.0
    text: Mapping[str, str] | None = None
    dims: Mapping[str, Spec] = field(default_factory=dict)
    params: Mapping[str, Spec] = field(default_factory=dict)
    space: str | None = None
    answer_layout: str = "boxes"

    @property
    def path(self) -> str:
        """Its TOML path (``questions[2]``)."""
        return f"questions[{self.number}]"

    @property
    def spec(self) -> Derivation:
        """The registered derivation."""
        return derivations.get(self.derivation)

    def tolerance_for(self, item: Item) -> Tolerance:
        """The tolerance an item is graded with: the file's, or else the declared one, with
        the precision the question states (whole-number answers stay exact)."""
        declared = self.spec.answer(item.answer).tolerance
        if item_exact(self, item):
            return declared
        return (self.tolerance or declared).stating(self.precision)

    def fixed_params(self) -> dict[str, Any]:
        """The file's numbers, when it fixes every one it gives (the derivation's defaults fill
        the rest): what the answer book and `dlexam check --exam` use.

        Raises:
            InputError: naming the question when it draws any of its numbers.
        """
        if self.dims or any(spec.kind != "fixed" for spec in self.params.values()):
            raise InputError(self.path, Said("exam.errors.fixed_numbers"))
        return {name: spec.value for name, spec in self.params.items()}

    def item_points(self) -> float:
        """Each asked item's share of the points."""
        return self.points / len(self.items)

    def distinct_bound(self) -> int | None:
        """How many different parameter sets the file's draws allow, when the file fixes or draws
        every parameter the derivation has (else None: the sampler draws the rest)."""
        names = {p.name for p in self.spec.params}
        if not names <= set(self.params):
            return None
        total = 0
        for dims in _dim_choices(self.dims):
            count = 1
            for spec in self.params.values():
                count = min(count * spec.outcomes(dims), 10**12)
            total = min(total + count, 10**12)
        return total

    def draw(self, seed: int, structure: Structure | None = None) -> dict[str, Any]:
        """Concrete raw parameters (ready for ``solve``) drawn from ``seed``.

        The file's dimension sizes and parameters are drawn first, then the derivation's sampler
        fills the rest, holding the file's values fixed. A sampler result whose sizes differ from
        the file's drawn sizes is drawn again from the next seed (a bounded number of times).
        With a ``structure`` (the first variant's, :func:`structure_of`), what the sampler
        draws keeps that structure (input form, sizes, choices) and only its numbers change;
        when the file's draws for this variant do not fit it, the sampler draws freely.

        Raises:
            InputError: the file's values do not fit the derivation (naming the TOML path), or
                the sampler cannot meet the file's sizes.
        """
        rng = Draw(seed)
        dims = {name: spec.draw(rng, {}) for name, spec in self.dims.items()}
        fixed = {name: spec.draw(rng, dims) for name, spec in self.params.items()}
        derivation = self.spec
        try:
            bound = bind_dims(derivation.params, fixed, derivation.limits)
        except InputError as err:
            raise _located(self, err, fixed) from None
        for name, size in dims.items():
            if name in bound and bound[name] != size:
                raise InputError(f"{self.path}.dims.{name}", Said("exam.errors.size_given",
                                                                  n=bound[name]), _got(size))
        wanted = {k: v for k, v in dims.items() if k not in bound}
        if structure is not None and derivation.sampler is not None:
            held = {**structure.values, **fixed}
            pins = {**structure.dims, **wanted}
            for attempt in range(_HELD_TRIES):
                sub = _derive_seed(seed, "sampler", "held", attempt)
                try:
                    with pinned_dims(pins):
                        held_raw = derivation.sample(
                            sub, held, keep=lambda drawn: structure.fits(self, drawn))
                    if held_raw is None:
                        continue
                    got = bind_dims(derivation.params, held_raw, derivation.limits)
                except InputError:
                    break  # the file's draws do not fit the first variant's structure
                if all(got.get(k) == v for k, v in wanted.items()):
                    return to_plain(held_raw)
        for attempt in range(_SAMPLER_TRIES):
            sub = _derive_seed(seed, "sampler", attempt)
            try:
                with pinned_dims(wanted):
                    raw = derivation.sample(sub, fixed) if derivation.sampler is not None \
                        else dict(fixed)
                assert raw is not None
                got = bind_dims(derivation.params, raw, derivation.limits)
            except InputError as err:
                raise _located(self, err, fixed) from None
            if all(got.get(k) == v for k, v in wanted.items()):
                return to_plain(raw)
        raise InputError(f"{self.path}.dims", Said("exam.errors.sampler_sizes",
                                                   name=self.derivation), _got(wanted))


@dataclass(frozen=True)
class Structure:
    """What a question's first variant fixes for the others, of what the sampler drew (the
    file's own draws vary per variant as the file says): the choices (mask, convention, base),
    the sizes, and which parameters are given (the input form). Variants of one question are
    then the same exercise with other numbers: comparable work for every student, and answers
    of one shape (one plan) for the exam builder.

    Attributes:
        values: the choice and true/false parameters the sampler drew.
        dims: the sizes the sampler drew.
        skeleton: parameter -> its form (absent, an array of some depth, a held value, or a
            number).
    """

    values: Mapping[str, Any]
    dims: Mapping[str, int]
    skeleton: Mapping[str, str]

    def fits(self, question: Question, raw: Mapping[str, Any]) -> bool:
        """Whether parameters drawn for another variant keep this structure."""
        return _skeleton(question, raw) == self.skeleton


def _depth(value: Any) -> int:
    """How deeply an array nests (a number 0, a vector 1, a matrix 2): its sizes are held
    apart, by the pinned dimensions."""
    if isinstance(value, (list, tuple)):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


def _skeleton(question: Question, raw: Mapping[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for p in question.spec.params:
        if p.name in question.params:
            continue
        value = raw.get(p.name)
        if value is None:
            out[p.name] = "absent"
        elif p.kind in ("array", "array_list"):
            out[p.name] = f"array/{_depth(value)}"
        elif p.holds:
            out[p.name] = json.dumps(value)
        else:
            out[p.name] = "number"
    return out


def structure_of(question: Question, raw: Mapping[str, Any]) -> Structure | None:
    """The structure a question's first variant (its parameters ``raw``) fixes for the others,
    or None when the file draws or fixes every parameter itself."""
    spec = question.spec
    if spec.sampler is None or all(p.name in question.params for p in spec.params):
        return None
    values = {p.name: raw[p.name] for p in spec.params
              if p.name not in question.params and raw.get(p.name) is not None and p.holds}
    dims = {k: v for k, v in bind_dims(spec.params, raw, spec.limits).items()
            if k not in question.dims}
    return Structure(values, dims, _skeleton(question, raw))


_SAMPLER_TRIES = 20
_HELD_TRIES = 200  # draws refused before anything is built: cheap


def precision_key(precision: Precision) -> tuple[str, dict[str, int]]:
    """The catalog key and data of the sentence that states a question's precision."""
    if precision.sig_figs is not None:
        return "exam.round_sig_figs", {"n": precision.sig_figs}
    return "exam.round_decimals", {"n": int(precision.decimals or 0)}


def item_exact(question: Question, item: Item) -> bool:
    """Whether the item is an exact answer (whole numbers), whose tolerance stays exact."""
    declared = question.spec.answer(item.answer).tolerance
    return declared.rel == 0 and declared.abs == 0


def _dim_choices(dims: Mapping[str, Spec]) -> list[dict[str, int]]:
    combos: list[dict[str, int]] = [{}]
    for name, spec in dims.items():
        values = ([spec.value] if spec.kind == "fixed" else
                  list(range(int(spec.lo), int(spec.hi) + 1)) if spec.kind == "integers"
                  else list(spec.options))
        combos = [{**c, name: v} for c in combos for v in values][:1000]
    return combos


def _located(question: Question, err: InputError,
             drawn: Mapping[str, Any] | None = None) -> InputError:
    """A derivation's parameter error, named by its TOML path in the exam file (a template's
    with the string it gave in this draw, from ``drawn``)."""
    where = f"{question.path}.params.{err.param}" if err.param in question.params else \
        f"{question.path} ({question.derivation}: {err.param})"
    spec = question.params.get(err.param)
    if spec is not None and spec.kind == "template" and drawn and err.param in drawn:
        string = echo(json.dumps(drawn[err.param], ensure_ascii=False))
        got = Said("authoring.one_draw_why", string=string, why=err.got) if err.got else \
            Said("authoring.one_draw", string=string)
        return InputError(f"{where}.template", err.expected, got)
    return InputError(where, err.expected, err.got)


def _derive_seed(seed: int, *parts: Any) -> int:
    """A seed derived from another and labels: the same on every machine (SHA-256)."""
    text = ":".join(str(p) for p in (seed, *parts))
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big") & MAX_SEED


@dataclass(frozen=True)
class Exam:
    """An exam file, read and checked.

    Attributes:
        title: language -> title.
        instructions, course, date, duration: language -> text (empty when not given).
        lang: the papers' language choice: ``bilingual``, a language (``zh-Hans``) or two
            joined by ``+`` (``en+zh-Hans``; a list ``lang = ["en", "zh-Hans"]`` in the file).
        questions: the questions in file order.
        source: the file it was read from.
        book: the answer book's layout (only the built-in exam has one), else empty.
    """

    title: Mapping[str, str]
    questions: tuple[Question, ...]
    lang: str = "bilingual"
    instructions: Mapping[str, str] = field(default_factory=dict)
    course: Mapping[str, str] = field(default_factory=dict)
    date: Mapping[str, str] = field(default_factory=dict)
    duration: Mapping[str, str] = field(default_factory=dict)
    source: str = ""
    book: Mapping[str, Any] = field(default_factory=dict)

    @property
    def langs(self) -> tuple[str, ...]:
        """The languages the papers print, in order."""
        return langs_for(self.lang)

    def question(self, qid: str) -> Question:
        """The question with this id.

        Raises:
            KeyError: no such question.
        """
        for q in self.questions:
            if q.id == qid:
                return q
        raise KeyError(qid)

    @property
    def total_points(self) -> float:
        """The points of all questions."""
        return sum(q.points for q in self.questions)


def _text_table(path: str, value: Any, needed: Sequence[str], limit: int,
                params: Sequence[str] = ()) -> dict[str, str]:
    """A text given for every language (a table ``{en, zh-Hant}``, or one string for all)."""
    from dlexam.exams.mathtext import check_math, masked

    if isinstance(value, str):
        value = {lang: value for lang in codes()}
    if not isinstance(value, dict):
        raise InputError(path, Said("exam.errors.text_table"), _got(value))
    extra = sorted(set(value) - set(codes()))
    if extra:
        raise InputError(f"{path}.{extra[0]}", Said("exam.errors.one_of_languages",
                                                    items=", ".join(codes())), _unknown())
    for lang in needed:
        if lang not in value:
            raise InputError(f"{path}.{lang}", Said("exam.errors.text_in_lang"), _nothing())
    out: dict[str, str] = {}
    for lang, text in value.items():
        where = f"{path}.{lang}"
        if not isinstance(text, str):
            raise InputError(where, Said("errors.a_string"), _got(text))
        check_text(where, masked(text), limit)
        check_math(where, text, params)
        out[lang] = text
    return out


def _read_toml(path: str, raw: str) -> dict[str, Any]:
    from dlexam.safeio import load_toml

    return load_toml(raw, path)


def parse_exam(data: Mapping[str, Any], source: str = "") -> Exam:
    """An exam from the parsed TOML data.

    Raises:
        InputError: naming the TOML path of the first problem.
    """
    extra = sorted(set(data) - _TOP_KEYS)
    if extra:
        raise InputError(extra[0], Said("exam.errors.one_of_keys",
                                        items=", ".join(sorted(_TOP_KEYS))), _unknown())
    lang = data.get("lang", "bilingual")
    needed = parse_choice("lang", lang)
    if not isinstance(lang, str):
        lang = "+".join(needed)
    if "title" not in data:
        raise InputError("title", Said("exam.errors.title"), _nothing())
    title = _text_table("title", data["title"], needed, MAX_TITLE)
    extras = {key: _text_table(key, data[key], needed, MAX_TEXT if key == "instructions"
                               else MAX_TITLE)
              for key in ("instructions", "course", "date", "duration") if key in data}
    raw_questions = data.get("questions")
    if not isinstance(raw_questions, list) or not raw_questions:
        raise InputError("questions", Said("exam.errors.questions"),
                         _got(raw_questions) if raw_questions is not None else _nothing())
    if len(raw_questions) > MAX_QUESTIONS:
        raise InputError("questions", Said("exam.errors.at_most_questions", n=MAX_QUESTIONS),
                         str(len(raw_questions)))
    slip = data.get("rounding_slip", 0)
    if not _is_number(slip) or not 0 <= slip <= 1:
        raise InputError("rounding_slip", Said("exam.errors.slip_credit"), _got(slip))
    slip = moodle_credit("rounding_slip", float(slip)) if slip else 0.0
    stated = precision_of(data.get("sig_figs"), None, ("sig_figs", "decimals"))
    questions: list[Question] = []
    for number, raw in enumerate(raw_questions, start=1):
        q = parse_question(number, raw, needed)
        # the exam's rules: a question's own sig_figs / decimals come first
        q = replace(q, rounding_slip=slip, precision=q.precision or stated)
        if any(q.id == other.id for other in questions):
            raise InputError(f"questions[{number}].id", Said("exam.errors.unique_id"),
                             _got(q.id))
        questions.append(q)
    book = data.get("book", {})
    if not isinstance(book, dict):
        raise InputError("book", Said("exam.errors.a_table"), _got(book))
    return Exam(title=title, questions=tuple(questions), lang=lang, source=source, book=book,
                **extras)


def parse_question(number: int, raw: Any, needed: Sequence[str] = BILINGUAL) -> Question:
    """One ``[[questions]]`` table, checked against its derivation's declarations.

    Raises:
        InputError: naming the TOML path of the first problem.
    """
    path = f"questions[{number}]"
    if not isinstance(raw, dict):
        raise InputError(path, Said("exam.errors.a_table"), _got(raw))
    extra = sorted(set(raw) - _QUESTION_KEYS)
    if extra:
        raise InputError(f"{path}.{extra[0]}", Said("exam.errors.one_of_keys", items=", ".join(
            sorted(_QUESTION_KEYS))), _unknown())
    qid = raw.get("id", f"q{number}")
    if not isinstance(qid, str) or not _ID.match(qid):
        raise InputError(f"{path}.id", Said("exam.errors.id_chars"), _got(qid))
    name = raw.get("derivation")
    if not isinstance(name, str):
        raise InputError(f"{path}.derivation", Said("exam.errors.derivation_name"),
                         _got(name) if name is not None else _nothing())
    try:
        spec = derivations.get(name)
    except UnknownDerivationError:
        raise InputError(f"{path}.derivation", Said("exam.errors.one_of",
                                                    items=", ".join(derivations.names())),
                         _got(name)) from None
    if not spec.answers:
        raise InputError(f"{path}.derivation", Said("exam.errors.declares_answers"), _got(name))
    points = raw.get("points", 1)
    if not _is_number(points) or not 0 < points <= MAX_POINTS:
        raise InputError(f"{path}.points", Said("exam.errors.points", n=MAX_POINTS),
                         _got(points))
    ask = raw.get("ask")
    if not isinstance(ask, list) or not 1 <= len(ask) <= MAX_ASK:
        raise InputError(f"{path}.ask", Said("exam.errors.ask_list", n=MAX_ASK),
                         _got(ask) if ask is not None else _nothing())
    items: list[Item] = []
    for i, ref in enumerate(ask, start=1):
        where = f"{path}.ask[{i}]"
        if not isinstance(ref, str):
            raise InputError(where, Said("exam.errors.an_answer_such_as"), _got(ref))
        try:
            answer, index = parse_ref(ref)
        except ValueError:
            raise InputError(where, Said("exam.errors.answer_ref"), _got(ref)) from None
        names = [a.name for a in spec.answers if a.kind != "text"]
        if answer not in names:
            raise InputError(where, Said("exam.errors.numeric_answer_of", name=name,
                                         names=", ".join(names)), _got(ref))
        if any(it.ref == ref for it in items):
            raise InputError(where, Said("exam.errors.asked_twice"), _got(ref))
        if not index and spec.answer(answer).kind in RAGGED_KINDS:
            raise InputError(where, Said("exam.errors.one_item_of", answer=answer), _got(ref))
        items.append(Item(ref, answer, index))
    tolerance = None
    if "tolerance" in raw:
        tol = raw["tolerance"]
        if not isinstance(tol, dict) or not tol or set(tol) - {"rel", "abs"}:
            raise InputError(f"{path}.tolerance", Said("exam.errors.tolerance_table"), _got(tol))
        for key, value in tol.items():
            if not _is_number(value) or not 0 <= value < 1e6:
                raise InputError(f"{path}.tolerance.{key}", Said("exam.errors.non_negative"),
                                 _got(value))
        tolerance = Tolerance(rel=float(tol.get("rel", 0.0)), abs=float(tol.get("abs", 0.0)))
    precision = precision_of(raw.get("sig_figs"), raw.get("decimals"),
                             (f"{path}.sig_figs", f"{path}.decimals"))
    partial: dict[str, float] = {}
    if "partial" in raw:
        table = raw["partial"]
        if not isinstance(table, dict):
            raise InputError(f"{path}.partial", Said("exam.errors.partial_table"), _got(table))
        known = [m.id for m in spec.mistakes]
        for key, value in table.items():
            if key not in known:
                raise InputError(f"{path}.partial.{key}", Said("exam.errors.mistake_of", name=name,
                                                                known=_listed(known)),
                                 _unknown("mistake"))
            if not _is_number(value) or not 0 <= value <= 1:
                raise InputError(f"{path}.partial.{key}", Said("exam.errors.zero_to_one"),
                                 _got(value))
            partial[key] = moodle_credit(f"{path}.partial.{key}", float(value))
    used_dims = {d for p in spec.params for shape in p.shapes for d in shape
                 if isinstance(d, str)}
    dims: dict[str, Spec] = {}
    raw_dims = raw.get("dims", {})
    if not isinstance(raw_dims, dict):
        raise InputError(f"{path}.dims", Said("exam.errors.dims_table"), _got(raw_dims))
    for dname, value in raw_dims.items():
        if dname not in used_dims:
            raise InputError(f"{path}.dims.{dname}", Said("exam.errors.dim_of", name=name,
                                                           dims=_listed(sorted(used_dims))),
                             _unknown("name"))
        dims[dname] = _dim_spec(f"{path}.dims.{dname}", value, spec.limits.get(dname))
    params: dict[str, Spec] = {}
    raw_params = raw.get("params", {})
    if not isinstance(raw_params, dict):
        raise InputError(f"{path}.params", Said("exam.errors.params_table"), _got(raw_params))
    kinds = {p.name: p.kind for p in spec.params}
    for pname, value in raw_params.items():
        if pname not in kinds:
            raise InputError(f"{path}.params.{pname}", Said("exam.errors.param_of", name=name,
                                                             names=", ".join(kinds)),
                             _unknown("name"))
        if isinstance(value, dict) and "template" in value and kinds[pname] != "string":
            raise InputError(f"{path}.params.{pname}.template", Said("authoring.template_kind"),
                             Said("authoring.template_kind_got", kind=kinds[pname]))
        if kinds[pname] == "json" and isinstance(value, dict) and set(value) != {"choice"}:
            params[pname] = Spec("fixed", value=value)  # JSON data: the table is the value
        else:
            params[pname] = parse_spec(f"{path}.params.{pname}", value, dims)
    text = None
    if "text" in raw:
        text = _text_table(f"{path}.text", raw["text"], needed, MAX_TEXT,
                           [p.name for p in spec.params] + list(used_dims))
    question = Question(id=qid, number=number, derivation=name, points=points,
                        ask=tuple(ask), items=tuple(items), tolerance=tolerance,
                        precision=precision,
                        partial=partial, text=text, dims=dims, params=params,
                        space=_space(raw.get("space"), f"{path}.space"),
                        answer_layout=_answer_layout(raw.get("answer_layout", "boxes"),
                                                     f"{path}.answer_layout"))
    _trial(question)
    return question


def _space(value: Any, path: str) -> str | None:
    """A question's working space, ``"6cm"`` (cm, mm or in; at most a page), or None."""
    if value is None:
        return None
    match = _SPACE.match(value) if isinstance(value, str) else None
    if match is None or not 0 < float(match["size"]) * _SPACE_MAX_CM[match["unit"]] <= MAX_SPACE_CM:
        raise InputError(path, Said("exam.errors.space", n=MAX_SPACE_CM), _got(value))
    return f"{match['size']}{match['unit']}"


def _answer_layout(value: Any, path: str) -> str:
    if value not in ANSWER_LAYOUTS:
        raise InputError(path, Said("exam.errors.one_of",
                                    items=", ".join(f'"{v}"' for v in ANSWER_LAYOUTS)), _got(value))
    return str(value)


def _trial(question: Question) -> None:
    """Draws one variant to check that the file's values fit the derivation and that every
    asked position exists, so that such mistakes are refused before any work starts."""
    if spec_needs_sampler(question) and question.spec.sampler is None:
        raise InputError(f"{question.path}.params", Said("exam.errors.every_param",
                                                         name=question.derivation),
                         Said("exam.errors.some_left_out"))
    raw = question.draw(_derive_seed(0, "trial", question.id))
    try:
        with numeric_inputs():  # only the answers' shapes matter here: the fast path
            result = question.spec.run(raw)
    except InputError as err:
        raise _located(question, err, raw) from None
    _check_templates(question, raw)
    plain = result.plain_answers()
    for i, item in enumerate(question.items, start=1):
        if item.answer not in plain:
            raise InputError(f"{question.path}.ask[{i}]", Said("exam.errors.answer_given"),
                             _got(item.ref))
        try:
            element(plain[item.answer], item.index)
        except IndexError:
            raise InputError(f"{question.path}.ask[{i}]", Said(
                "exam.errors.position_inside", shape=_shape_of(plain[item.answer])),
                _got(item.ref)) from None


def _shape_of(value: Any) -> str | Said:
    """An answer's shape for a message (``3 x 2``; a single value, or ragged: its length)."""
    if not isinstance(value, list):
        return Said("show.kind.a_number")
    shape = plain_shape(value)
    return " x ".join(str(d) for d in shape) if shape else str(len(value))


def _check_templates(question: Question, raw: Mapping[str, Any]) -> None:
    """Each string a template parameter can give (:meth:`Spec.corners`: every option, both ends
    of every range) read by the derivation as a typed one would be, before any work starts.

    Raises:
        InputError: naming the template's TOML path, the string and why it is refused.
    """
    for name, spec in question.params.items():
        if spec.kind != "template":
            continue
        for corner in spec.corners():
            try:
                with numeric_inputs():
                    question.spec.run({**raw, name: corner})
            except InputError as err:
                raise _located(question, err, {name: corner}) from None


def spec_needs_sampler(question: Question) -> bool:
    """Whether some required parameter is left to the derivation's sampler."""
    from dlexam.derivations.params import REQUIRED

    return any(p.default is REQUIRED and p.name not in question.params
               for p in question.spec.params)


def exam_path(name_or_path: str | Path) -> tuple[str, str]:
    """The exam file's text and the name errors give it: a path, or a built-in exam's name."""
    text = str(name_or_path)
    if "/" not in text and not text.endswith(".toml"):
        entry = resources.files("dlexam.exams").joinpath(f"{text}.toml")
        if not entry.is_file():
            raise InputError("exam", Said("exam.errors.exam_file"), _got(text))
        return entry.read_text("utf-8"), f"{text}.toml"
    from dlexam.safeio import decode_utf8, read_file

    return decode_utf8(read_file(text, 1_000_000, "exam file"), text, bom=False), text


def file_lang(name_or_path: str | Path) -> str | None:
    """The language choice an exam file states, when it can be read and states a valid one
    (what its errors are said in without ``--lang``), else None."""
    try:
        raw, source = exam_path(name_or_path)
        lang = _read_toml(source, raw).get("lang")
        return "+".join(parse_choice("lang", lang)) if lang is not None else None
    except (DlexamError, OSError):
        return None


def load_exam(name_or_path: str | Path, lang: str | None = None) -> Exam:
    """Reads and checks an exam file (a path, or the name of a built-in exam such as
    ``final2023``); ``lang`` (``dlexam exam --lang``) replaces the file's ``lang``.

    Raises:
        InputError: one line naming the file and the TOML path of the first problem.
    """
    raw, source = exam_path(name_or_path)
    data = _read_toml(source, raw)
    if lang is not None:
        data = {**data, "lang": lang}
    try:
        return parse_exam(data, source)
    except InputError as err:
        raise InputError(f"{source}: {err.param}", err.expected, err.got) from None
    except DlexamError:
        raise
