"""Gradient clipping (clip-gradient): by norm (tf.clip_by_norm, along axes too), by value
(tf.clip_by_value, torch.clamp) and by the global norm of several tensors
(tf.clip_by_global_norm, torch.nn.utils.clip_grad_norm_), exact arithmetic on the entries.
"""

# ruff: noqa: N806

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from fractions import Fraction
from typing import Any

import sympy as sp

from dlexam.derivations.contract import Answer, Follow, Mistake, with_params
from dlexam.derivations.core import (
    Result,
    Step,
    derivation,
    evaluate_at,
    put_in,
    terms_of,
    to_plain,
)
from dlexam.derivations.forms import simplified
from dlexam.derivations.params import Param, exact
from dlexam.derivations.sampling import Draw
from dlexam.errors import InputError, Said
from dlexam.notation import msym, register_symbols, sym
from dlexam.notation.display import Phrase

register_symbols({
    "beta": (r"\beta", "β"),
    "g": (r"\mathbf{g}", "g"),
    "g_i": (r"\mathbf{g}_i", "g_i"),
    "norm_g": (r"\lVert \mathbf{g} \rVert", "||g||"),
    "g_clipped": (r"\hat{\mathbf{g}}", "ĝ"),
    "norm_g_clipped": (r"\lVert \hat{\mathbf{g}} \rVert", "||ĝ||"),
})


CLIP_MODES = ("norm", "value", "global-norm")

CLIP_PARAMS = [
    # a vector (a list of numbers), a matrix (a list of rows), or for mode=global-norm a list of
    # tensors of any shapes (numbers, vectors, matrices: the gradients of W, U and b)
    Param("g", "array_list", shapes=((), ("N",), ("N", "M")), default=[3, 4], items="K",
          free_items=True),
    Param("threshold", "number", default=1),
    # norm: g <- beta g / ||g|| (tf.clip_by_norm, torch's clip_grad_norm_ of one tensor);
    # value: each entry into [-beta, beta] (tf.clip_by_value, torch.clamp);
    # global-norm: every tensor scaled by beta / global norm (tf.clip_by_global_norm)
    Param("mode", "choice", choices=CLIP_MODES, default="norm"),
    # mode=norm only: the axes the norm is taken over (tf.clip_by_norm(t, c, axes)): for a
    # matrix axes=1 clips each row by its own norm, axes=0 each column; an integer or a list
    Param("axes", "array", shapes=((), ("A",)), default=None, trace="none"),
]

CLIP_ANSWERS = [
    # the clipped gradient, in the shape of g (a vector, or a matrix given row by row); for
    # mode=global-norm every entry of every tensor in order, each tensor row by row (info.tensors
    # keeps them tensor by tensor)
    Answer("g", "vectors", shapes=(("N",), ("N", "M"))),
    # one number, or one per row (column) when the norm is taken along axes
    Answer("norm_before", "vectors", shapes=((), ("R",))),
    Answer("norm_after", "vectors", shapes=((), ("R",))),
    # the factor g is multiplied by: beta / ||g|| when clipped, else 1 (one per row with axes)
    Answer("scale", "vectors", shapes=((), ("R",))),
]


def _no_axes(params: Mapping[str, Any]) -> bool:
    return params.get("axes") is None


CLIP_MISTAKES = [
    # each component clipped to [-beta, beta] on its own (clipping by value, not by norm); with
    # mode=value that is the right method, and the mistake is the reverse one (clip-by-norm)
    Mistake("clip-by-value", changes=("g", "norm_after", "scale"), formula=True,
            applies=lambda p: p.get("mode", "norm") != "value" and _no_axes(p)),
    # the sum of squares, ||g||^2, taken as the norm (the square root forgotten); clipping by
    # value takes no norm
    Mistake("squared-norm", changes=("g", "norm_before", "norm_after", "scale"), formula=True,
            applies=lambda p: p.get("mode", "norm") != "value"),
    # asked to clip by value, the gradient scaled by its norm instead
    Mistake("clip-by-norm", changes=("g", "norm_after", "scale"),
            params=with_params(mode="norm"),
            applies=lambda p: p.get("mode", "norm") == "value"),
    # asked for the global norm, each tensor clipped by its own norm
    Mistake("per-tensor-norm", changes=("g", "norm_after", "scale"), formula=True,
            applies=lambda p: p.get("mode", "norm") == "global-norm"),
    # the norm above the threshold, and the gradient left as it is (the operation skipped)
    Mistake("not-clipped", changes=("g", "norm_after", "scale"), formula=True,
            applies=lambda p: _whole_norm(p) and _exceeds(p)),
    # the ratio turned over: g multiplied by ||g|| / beta, which grows it
    Mistake("inverted-ratio", changes=("g", "norm_after", "scale"), formula=True,
            applies=lambda p: _whole_norm(p) and _exceeds(p)),
    # the L1 norm (the sum of |g_i|) taken for the L2 norm
    Mistake("l1-norm", changes=("g", "norm_before", "norm_after", "scale"), formula=True,
            applies=lambda p: _whole_norm(p) and _l1_differs(p)),
]


def _raw_entries(params: Mapping[str, Any]) -> list[float]:
    g = params["g"]
    return [float(v) for v in (g if not isinstance(g[0], list) else
                               [x for row in g for x in row])]


def _whole_norm(params: Mapping[str, Any]) -> bool:
    """Clipping by the norm of all entries of one tensor (no axes, no list of tensors)."""
    g = params.get("g")
    return (params.get("mode", "norm") == "norm" and _no_axes(params)
            and isinstance(g, list) and bool(g)
            and not (isinstance(g[0], list) and g[0] and isinstance(g[0][0], list)))


def _exceeds(params: Mapping[str, Any]) -> bool:
    return sum(v * v for v in _raw_entries(params)) > float(params["threshold"]) ** 2


def _l1_differs(params: Mapping[str, Any]) -> bool:
    """The L1 norm clips (it is above the threshold) and is not the L2 norm (two entries or
    more not 0)."""
    entries = _raw_entries(params)
    return sum(abs(v) for v in entries) > float(params["threshold"]) and \
        sum(1 for v in entries if v != 0) > 1


def _clip_numbers(fixed: Mapping[str, Any], draw: Draw, shape: tuple[int, ...],
                  whole: bool) -> tuple[Any, Any]:
    """One draw of a tensor and the threshold: whole numbers up to 9 with a threshold 1 to 5, or
    one decimal up to 3 with a threshold 0.5 to 2."""
    g = draw.array(shape, -9, 9, 0, nonzero=True) if whole else draw.array(shape, -3, 3,
                                                                              nonzero=True)
    threshold = draw.integer(1, 5) if whole else draw.decimal(0.5, 2)
    return g, fixed.get("threshold", threshold)


def _good_clip(params: Mapping[str, Any]) -> bool:
    """Whether each mistake is told apart: the norm exceeds the threshold (the rule clips), some
    component exceeds it in size (clipping by value changes it) and another one does not (so that
    the by-value answer is not simply +-threshold everywhere), and ||g|| is not 1 (where the
    squared norm is the norm). Exact arithmetic on the decimals as written. With axes=1 (0), the
    same for some row (column), and no row's norm near 1; for the global norm, some tensor's own
    norm also within the threshold (so that clipping each tensor on its own differs)."""
    beta = Fraction(str(params["threshold"]))
    axes = params.get("axes")
    if axes is not None:
        rows = params["g"] if axes == 1 else [list(c) for c in zip(*params["g"], strict=True)]
        sums = [sum((Fraction(str(v)) ** 2 for v in row), Fraction(0)) for row in rows]
        return (any(q > beta * beta for q in sums) and any(q < beta * beta for q in sums)
                and all(abs(q - 1) > Fraction(1, 10) and abs(q - beta) > Fraction(1, 10)
                        for q in sums))
    entries = [Fraction(str(v)) for v in _flat(params["g"])]
    squares = sum((v * v for v in entries), Fraction(0))
    good = (squares > beta * beta and any(abs(v) > beta for v in entries)
            and any(abs(v) <= beta for v in entries) and abs(squares - 1) > Fraction(1, 10))
    if params.get("mode") == "global-norm":
        own = [sum(Fraction(str(v)) ** 2 for v in _flat(t)) for t in params["g"]]
        good = good and any(q < squares for q in own) and any(q > beta * beta for q in own)
    return good


def _flat(value: Any) -> list[Any]:
    return [v for item in value for v in _flat(item)] if isinstance(value, list) else [value]


def _tensor_list(g: Any) -> bool:
    """Whether a raw g can only be a list of tensors: neither numbers (a vector) nor rows of
    numbers of one length (a matrix)."""
    if not isinstance(g, list) or all(not isinstance(t, list) for t in g):
        return False
    return not (all(isinstance(t, list) and _depth(t) == 1 for t in g)
                and len({len(t) for t in g}) == 1)


def _depth(value: Any) -> int:
    return 1 + _depth(value[0]) if isinstance(value, list) and value else 0


def sample_clip(draw: Draw, fixed: Mapping[str, Any]) -> dict[str, Any]:
    """A gradient of 2 to 4 components (whole numbers, or one decimal) and a threshold that its
    norm exceeds, with some components above the threshold in size and some below.

    One question in ten clips by value, one in ten takes the global norm of two or three tensors
    (a 2 x 2 matrix, a vector of 2 and sometimes a number: the gradients of W, b and c), one in
    ten clips a 2 x 2 or 3 x 2 matrix row by row (axes=1). A fixed mode, axes or g is held: a
    fixed g nested three deep (or ragged) is a list of tensors, so the global norm.
    """
    g_fixed = fixed.get("g")
    if "mode" in fixed:
        mode = str(fixed["mode"])
    elif "axes" in fixed:
        mode = "norm"
    elif g_fixed is not None and _tensor_list(g_fixed):
        mode = "global-norm"
    else:
        mode = draw.choice(("norm",) * 7 + ("value", "global-norm", "norm-axes"))
    axes = fixed.get("axes")
    if mode == "norm-axes":
        mode, axes = "norm", 1
    if mode != "norm":
        axes = None
    if g_fixed is not None and axes is not None and _depth(g_fixed) != 2:
        axes = fixed.get("axes")
    whole = draw.chance(0.5)
    out: dict[str, Any] = {}
    for _ in range(500):
        if g_fixed is not None:
            g, threshold = g_fixed, _clip_numbers(fixed, draw, (1,), whole)[1]
        elif mode == "global-norm":
            shapes = [(2, 2), (2,)] + ([()] if draw.chance(0.5) else [])
            parts = [_clip_numbers(fixed, draw, shape, whole) for shape in shapes]
            g, threshold = [p[0] for p in parts], parts[0][1]
        elif axes is not None:
            g, threshold = _clip_numbers(fixed, draw, (draw.integer(2, 3), 2), whole)
        else:
            N = draw.integer(2, 4)
            g, threshold = _clip_numbers(fixed, draw, (N,), whole)
        out = {"g": g, "threshold": threshold}
        if mode != "norm":
            out["mode"] = mode
        if axes is not None:
            out["axes"] = axes
        out.update(fixed)
        if axes is not None and _depth(out["g"]) != 2:
            return out
        if _good_clip(out):
            return out
    return out


def _layout(g: Any, mode: str) -> tuple[str, Any]:
    """How g was given: ("vector", N x 1 matrix), ("matrix", N x M matrix) or ("list", tuple of
    tensors, each a number or a matrix).

    Raises:
        InputError: a list of tensors (or rows of unequal length) other than for the global norm.
    """
    shapes = getattr(g, "shapes", None) or tuple(() if not isinstance(t, sp.MatrixBase)
                                                 else (t.rows,) for t in g)
    if mode != "global-norm":
        if all(s == () for s in shapes):
            return "vector", sp.ImmutableMatrix(len(g), 1, list(g))
        if all(len(s) == 1 for s in shapes) and len({s[0] for s in shapes}) == 1:
            return "matrix", sp.ImmutableMatrix([list(t) for t in g])
        raise InputError("g", Said("clipping.errors.vector_or_matrix"),
                         Said("clipping.errors.shapes", shapes=", ".join(
                             " x ".join(map(str, s)) or "()" for s in shapes)))
    return "list", tuple(g)


def _entries(tensor: Any) -> list[Any]:
    return list(tensor) if isinstance(tensor, sp.MatrixBase) else [tensor]


def _axes_of(axes: Any, ndim: int) -> tuple[int, ...] | None:
    """The axes as a sorted tuple of 0-based indices (negative ones counted from the end), or None
    when the norm is over the whole tensor.

    Raises:
        InputError: an axis that is not a whole number in range, or given twice.
    """
    if axes is None:
        return None
    given = list(axes) if isinstance(axes, sp.MatrixBase) else [axes]
    out = []
    for a in given:
        if not (getattr(a, "is_Integer", False) and -ndim <= a < ndim):
            raise InputError("axes", Said("clipping.errors.axes_range" if ndim > 1 else
                                          "clipping.errors.axes_range_one",
                                          low=-ndim, high=ndim - 1, n=ndim), str(a))
        out.append(int(a) % ndim)
    if len(set(out)) != len(out):
        raise InputError("axes", Said("clipping.errors.each_axis_once"), str(given))
    return None if len(out) == ndim else tuple(sorted(out))


def _clip_question(values: dict[str, Any]) -> dict[str, Any]:
    """g as given: a vector, a matrix, or the list of tensors."""
    kind, g = _layout(values["g"], values["mode"])
    axes = values["axes"]
    every = [0] if kind == "vector" else [0, 1]
    shown_axes: Any = every if axes is None or kind == "list" else (
        list(axes) if isinstance(axes, sp.MatrixBase) else axes)
    mode = values["mode"]
    if mode == "norm" and kind == "matrix":  # along one axis: each row, or each column
        along: dict[tuple[int, ...], str] = {(1,): "rows", (0,): "columns"}
        how = along.get(_axes_of(axes, 2) or (), "norm")
    else:
        how = {"value": "value", "global-norm": "global"}.get(mode, "norm")
    return {"g": g, "axes": shown_axes, "how": Phrase(f"clip_gradient.says.{how}")}


def _clipped_by_own_norm(params: Mapping[str, Any], student: Mapping[str, Any]
                         ) -> dict[str, Any] | None:
    """g, the factor and the norm after, from the student's own norm (follow-through): the
    rule's own clipping step (:func:`_clip_step`) given their norm (clipping by norm, no
    axes)."""
    if params.get("mode", "norm") != "norm" or params.get("axes") is not None:
        return None
    norm, threshold = exact(student["norm_before"]), exact(params["threshold"])
    if norm <= 0:
        return None
    _kind, g = _layout([exact(v) if not isinstance(v, list) else
                       sp.ImmutableMatrix([exact(x) for x in v]) for v in params["g"]], "norm")
    _step, new, clipped = _clip_step(g, threshold, norm, None)
    after = evaluate_at(_after_formula(clipped), {sym("beta"): threshold, sym("norm_g"): norm})
    return {"g": to_plain(_shaped(new)), "scale": to_plain(_scale(norm, threshold, clipped, None)),
            "norm_after": to_plain(after)}


@derivation(
    "clip-gradient",
    params=CLIP_PARAMS,
    # at the limits (8 tensors of 8 x 8 for the global norm) it answers in about a second; 16
    # tensors of 32 x 32 took 10 s (K = N: a matrix's rows count against both)
    limits={"N": 8, "M": 8, "K": 8, "A": 2},
    answers=CLIP_ANSWERS,
    mistakes=CLIP_MISTAKES,
    sampler=sample_clip,
    question=_clip_question,
    follows=[Follow(("norm_before",), ("g", "scale", "norm_after"), _clipped_by_own_norm)],
)
def clip_gradient(g: Any, threshold: sp.Rational, mode: str, axes: Any,
                  mistake: str | None = None) -> Result:
    """Gradient clipping: by norm (if ||g|| > β then g <- β g / ||g||, along axes if given), by
    value (each entry into [-β, β]) or by the global norm of a list of tensors.

    Args:
        g: the gradient, a vector or a matrix (its norm is then the Frobenius norm); for
            mode=global-norm a list of tensors.
        threshold: β, the largest norm (or value) allowed (> 0).
        mode: ``norm``, ``value`` or ``global-norm``.
        axes: for mode=norm, the axes the norm is taken over (None: all).
        mistake: a declared mistake's id (``clip-by-value``: each component clipped to [-β, β];
            ``squared-norm``: the sum of squares used as the norm; ``per-tensor-norm``: each
            tensor of a list clipped by its own norm).

    Raises:
        InputError: a threshold not above 0; axes out of range or with a mode other than norm;
            a list of tensors other than for the global norm.
    """
    if threshold <= 0:
        raise InputError("threshold", Said("inputs.positive"), str(threshold))
    if axes is not None and mode != "norm":
        raise InputError("axes", Said("clipping.errors.no_axes", mode=mode),
                         str(list(axes) if isinstance(axes, sp.MatrixBase) else axes))
    kind, value = _layout(g, mode)
    if kind == "list":
        return _clip_global(value, threshold, mistake)
    if mode == "value":
        return _clip_by_value(value, threshold)
    chosen = _axes_of(axes, 1 if kind == "vector" else 2)
    if chosen is not None:
        return _clip_along(value, threshold, chosen[0] == 1, mistake == "squared-norm")
    return _clip_whole(value, threshold, mistake)


def _clip_whole(g: sp.ImmutableMatrix, threshold: sp.Rational, mistake: str | None) -> Result:
    """Clipping by the norm of all entries (or a mistake's variant of it)."""
    if threshold <= 0:
        raise InputError("threshold", Said("inputs.positive"), str(threshold))
    if mistake == "clip-by-value":
        return _clip_by_value(g, threshold)
    squared = mistake == "squared-norm"
    l1 = mistake == "l1-norm"
    beta, norm_sym, g_sym = sym("beta"), sym("norm_g"), msym("g", g.rows, g.cols)
    entries = list(g)
    rule = _rule(g_sym, mistake)
    with sp.evaluate(False):
        squares = sp.Add(*[sp.Pow(v, 2) for v in entries]) if len(entries) > 1 else sp.Pow(
            entries[0], 2)
        norm_shown = squares if squared else sp.sqrt(squares)
        if l1:
            norm_shown = sp.Add(*[sp.Abs(v) for v in entries])
    norm = sp.Add(*[v**2 for v in entries])
    norm = norm if squared else sp.sqrt(norm)
    i = sp.Symbol("i")
    norm_formula = sp.Sum(sp.IndexedBase("g")[i] ** 2, (i, 1, len(entries)))
    norm_formula = norm_formula if squared else sp.sqrt(norm_formula)
    if l1:  # the L1 norm taken for the L2 norm
        norm = sp.Add(*[sp.Abs(v) for v in entries])
        norm_formula = sp.Sum(sp.Abs(sp.IndexedBase("g")[i]), (i, 1, len(entries)))
    # the rule is displayed once, as a formula; the clipping step shows only the numbers put in
    steps: list[Step] = [
        Step(key="clip_gradient.given", lhs=g_sym, symbolic=g,
             data={"threshold": threshold}),
        Step(key="clip_gradient.rule", lhs=sym("g_clipped"), symbolic=rule,
             data={"threshold": threshold}),
        Step(key="clip_gradient.norm", lhs=norm_sym, symbolic=norm_formula,
             substituted=norm_shown, value=norm,
             elidable=terms_of(len(entries), substituted=None)),
    ]
    step, new, clipped = _clip_step(g, threshold, norm, mistake)
    steps.append(step)
    after = sp.Add(*[v**2 for v in new])
    norm_after = simplified(after if squared else sp.sqrt(after))
    if l1:
        norm_after = simplified(sp.Add(*[sp.Abs(v) for v in new]))
    if squared and clipped:  # the same sum of squares, now of the clipped entries
        with sp.evaluate(False):
            after_formula: sp.Basic = sp.Add(*[sp.Pow(v, 2) for v in new])
    elif mistake == "inverted-ratio" and clipped:
        with sp.evaluate(False):
            after_formula = sp.Mul(sp.Pow(norm_sym, 2), sp.Pow(beta, -1))
        norm_after = simplified(norm**2 / threshold)
    else:
        after_formula = _after_formula(clipped)
    steps.append(Step(key="clip_gradient.norm_after", lhs=sym("norm_g_clipped"),
                      symbolic=after_formula, value=norm_after,
                      data={"clipped": clipped}))
    steps.append(Step(key="clip_gradient.why"))
    return Result(
        convention=None,
        steps=tuple(steps),
        answers={
            "g": _shaped(new),
            "norm_before": norm,
            "norm_after": norm_after,
            "scale": _scale(norm, threshold, clipped, mistake),
        },
        info={"clipped": clipped},
    )


def _rule(g_sym: sp.MatrixSymbol, mistake: str | None) -> sp.Basic:
    """The rule by norm, ĝ = (β / ||g||) g (the ratio turned over under ``inverted-ratio``)."""
    beta, norm_sym = sym("beta"), sym("norm_g")
    with sp.evaluate(False):
        if mistake == "inverted-ratio":
            return sp.MatMul(sp.Mul(norm_sym, sp.Pow(beta, -1)), g_sym)
        return sp.MatMul(sp.Mul(beta, sp.Pow(norm_sym, -1)), g_sym)


def _clip_step(g: sp.ImmutableMatrix, threshold: sp.Rational, norm: sp.Basic,
               mistake: str | None) -> tuple[Step, sp.ImmutableMatrix, bool]:
    """The clipping step of the rule by norm, given the norm: if ||g|| > β then
    g <- (β / ||g||) g (left as it is under ``not-clipped``). Returns the step, the new g and
    whether it was clipped."""
    beta, norm_sym, g_sym = sym("beta"), sym("norm_g"), msym("g", g.rows, g.cols)
    clipped = bool(norm > threshold)
    if clipped and mistake == "not-clipped":  # the norm is above, and nothing was done
        step = Step(key="clip_gradient.not_clipped", data={"norm": norm, "threshold": threshold})
        return step, g, False
    if clipped:
        rule = _rule(g_sym, mistake)
        values = {beta: threshold, norm_sym: norm, g_sym: g}
        step = Step(key="clip_gradient.clipped", lhs=sym("g_clipped"),
                    symbolic=put_in(rule, values), value=evaluate_at(rule, values),
                    data={"norm": norm, "threshold": threshold})
        return step, sp.ImmutableMatrix(step.value), True
    step = Step(key="clip_gradient.unchanged", data={"norm": norm, "threshold": threshold})
    return step, g, False


def _after_formula(clipped: bool) -> sp.Basic:
    """||ĝ||: β when clipped, else ||g|| itself."""
    return sym("beta") if clipped else sym("norm_g")


def _scale(norm: sp.Basic, threshold: sp.Rational, clipped: bool, mistake: str | None
           ) -> sp.Basic:
    """The factor g is multiplied by: β / ||g|| when clipped (turned over under
    ``inverted-ratio``), else 1."""
    if not clipped:
        return sp.Integer(1)
    return simplified(norm / threshold if mistake == "inverted-ratio" else threshold / norm)


def _shaped(matrix: sp.ImmutableMatrix) -> list[Any]:
    """A vector as a list, a matrix as a list of rows."""
    if matrix.cols == 1:
        return list(matrix)
    return [list(matrix.row(r)) for r in range(matrix.rows)]


def _clip_by_value(g: sp.ImmutableMatrix, threshold: sp.Rational) -> Result:
    """The mistake ``clip-by-value``: each component clipped to [-β, β] on its own.

    ``scale`` is then the factor the norm changed by, ||ĝ|| / ||g|| (for the rule by norm this is
    β / ||g||): the direction of g is not kept.
    """
    beta, norm_sym, g_sym = sym("beta"), sym("norm_g"), msym("g", g.rows, g.cols)
    clip = sp.Function("clip")
    entries = list(g)
    i = sp.Symbol("i")
    with sp.evaluate(False):
        rule = clip(sp.IndexedBase("g")[i], sp.Mul(-1, beta), beta)
        squares = sp.Add(*[sp.Pow(v, 2) for v in entries]) if len(entries) > 1 else sp.Pow(
            entries[0], 2)
        shown_clips = sp.ImmutableMatrix(g.rows, g.cols,
                                         [clip(v, -threshold, threshold) for v in entries])
    norm = sp.sqrt(sp.Add(*[v**2 for v in entries]))
    # Min and Max, not Python's min and max: a trace (dlexam.plans) keeps each entry's clip as
    # a formula, where a decision per entry would serve few other gradients; an entry was
    # clipped when its clipped value is another (on numbers the same count as |g_i| > beta)
    new = g.applyfunc(lambda v: sp.Max(sp.Min(v, threshold), -threshold))
    outside = sum(1 for v, w in zip(entries, new, strict=True) if v != w)
    norm_after = simplified(sp.sqrt(sp.Add(*[v**2 for v in new])))
    with sp.evaluate(False):
        after_shown = sp.sqrt(sp.Add(*[sp.Pow(v, 2) for v in new]))
    steps = [
        Step(key="clip_gradient.given", lhs=g_sym, symbolic=g, data={"threshold": threshold}),
        Step(key="clip_gradient.rule_by_value", lhs=sym("g_clipped"), symbolic=rule,
             data={"threshold": threshold}),
        Step(key="clip_gradient.norm", lhs=norm_sym,
             symbolic=sp.sqrt(sp.Sum(sp.IndexedBase("g")[i] ** 2, (i, 1, len(entries)))),
             substituted=sp.sqrt(squares, evaluate=False), value=norm,
             elidable=terms_of(len(entries), substituted=None)),
        Step(key="clip_gradient.clipped_by_value", lhs=sym("g_clipped"), symbolic=shown_clips,
             value=new, data={"threshold": threshold, "count": outside}),
        Step(key="clip_gradient.norm_after", lhs=sym("norm_g_clipped"), symbolic=after_shown,
             value=norm_after, data={"clipped": outside > 0},
             elidable=terms_of(len(entries), symbolic=sp.sqrt(sp.Sum(
                 sp.IndexedBase("g_clipped")[i] ** 2, (i, 1, len(entries)))))),
        Step(key="clip_gradient.why"),
    ]
    return Result(
        convention=None,
        steps=tuple(steps),
        answers={
            "g": _shaped(new),
            "norm_before": norm,
            "norm_after": norm_after,
            # nothing to scale in a zero gradient (0/0): its scale is 1, as clipping leaves it
            "scale": sp.Integer(1) if norm == 0 else simplified(norm_after / norm),
        },
        info={"clipped": outside > 0},
    )


def _sum_squares(entries: list[Any]) -> sp.Basic:
    with sp.evaluate(False):
        return sp.Add(*[sp.Pow(v, 2) for v in entries]) if len(entries) > 1 else sp.Pow(
            entries[0], 2)


def _clip_along(g: sp.ImmutableMatrix, threshold: sp.Rational, rows: bool,
                squared: bool) -> Result:
    """Clipping each row (``rows``; axes=1) or each column (axes=0) of a matrix by its own norm,
    as tf.clip_by_norm(t, c, axes) does; with ``squared`` (the mistake ``squared-norm``) each sum
    of squares is taken for the norm."""
    parts = [list(g.row(r)) for r in range(g.rows)] if rows else [
        list(g.col(c)) for c in range(g.cols)]
    g_sym = msym("g", g.rows, g.cols)
    steps: list[Step] = [
        Step(key="clip_gradient.given", lhs=g_sym, symbolic=g, data={"threshold": threshold}),
        Step(key="clip_gradient.rule_rows" if rows else "clip_gradient.rule_columns",
             lhs=sym("g_clipped"), data={"threshold": threshold}),
    ]
    norms, scales, new_parts, after = [], [], [], []
    for index, part in enumerate(parts, start=1):
        squares = sp.Add(*[v**2 for v in part])
        norm = squares if squared else sp.sqrt(squares)
        shown = _sum_squares(part)
        clipped = bool(norm > threshold)
        scale = simplified(threshold / norm) if clipped else sp.Integer(1)
        new = [simplified(scale * v) for v in part]
        new_squares = sp.Add(*[v**2 for v in new])
        norms.append(norm)
        scales.append(scale)
        new_parts.append(new)
        after.append(simplified(new_squares if squared else sp.sqrt(new_squares)))
        which = "row" if rows else "column"
        steps.append(Step(key=f"clip_gradient.{which}_{'clipped' if clipped else 'kept'}",
                          lhs=sym("norm_g"),
                          symbolic=shown if squared else sp.sqrt(shown, evaluate=False),
                          value=norm, data={"index": index, "threshold": threshold,
                                            "clipped": clipped, "scale": scale}))
    if rows:
        result = sp.ImmutableMatrix(new_parts)
    else:
        result = sp.ImmutableMatrix(new_parts).T
    steps.append(Step(key="clip_gradient.clipped_parts", lhs=sym("g_clipped"), symbolic=result,
                      data={"count": sum(1 for s in scales if s != 1), "parts": len(parts)}))
    steps.append(Step(key="clip_gradient.why"))
    return Result(convention=None, steps=tuple(steps),
                  answers={"g": _shaped(result), "norm_before": norms, "norm_after": after,
                           "scale": scales},
                  info={"clipped": any(s != 1 for s in scales)})


def _flat_vector(tensors: tuple[Any, ...]) -> sp.ImmutableMatrix:
    entries = [v for t in tensors for v in _entries(t)]
    return sp.ImmutableMatrix(len(entries), 1, entries)


def _reshape_like(tensors: tuple[Any, ...], flat: list[Any]) -> list[Any]:
    """The entries of ``flat`` put back into the shapes of ``tensors`` (plain nested lists)."""
    out: list[Any] = []
    at = 0
    for t in tensors:
        n = len(_entries(t))
        chunk = flat[at:at + n]
        at += n
        if not isinstance(t, sp.MatrixBase):
            out.append(chunk[0])
        elif t.cols == 1:
            out.append(chunk)
        else:
            out.append([chunk[r * t.cols:(r + 1) * t.cols] for r in range(t.rows)])
    return out


def _clip_global(tensors: tuple[Any, ...], threshold: sp.Rational,
                 mistake: str | None) -> Result:
    """tf.clip_by_global_norm: every tensor scaled by β / global norm when the global norm, the
    norm of all the tensors' entries together, exceeds β. ``per-tensor-norm``: each tensor
    clipped by its own norm instead."""
    flat = _flat_vector(tensors)
    symbols = [msym("g_i", t.rows, t.cols) if isinstance(t, sp.MatrixBase) else sym("g")
               for t in tensors]
    given = [Step(key="clip_gradient.given_tensor", lhs=symbols[i], symbolic=t,
                  data={"index": i + 1, "threshold": threshold})
             for i, t in enumerate(tensors)]
    if mistake == "per-tensor-norm":
        return _clip_each(tensors, threshold, given)
    whole = (_clip_by_value(flat, threshold) if mistake == "clip-by-value"
             else _clip_whole(flat, threshold, mistake))
    new_flat = list(whole.answers["g"])
    shaped = _reshape_like(tensors, new_flat)
    steps = [*given, Step(key="clip_gradient.global", data={"count": len(tensors),
                                                            "entries": flat.rows})]
    steps += [st for st in whole.steps if st.key not in ("clip_gradient.given",
                                                          "clip_gradient.why")]
    steps.append(Step(key="clip_gradient.tensors_after", data={"count": len(tensors)}))
    at = 0
    for i, t in enumerate(tensors):
        n = len(_entries(t))
        chunk = new_flat[at:at + n]
        at += n
        shown = sp.ImmutableMatrix(t.rows, t.cols, chunk) if isinstance(t, sp.MatrixBase) \
            else chunk[0]
        steps.append(Step(key="clip_gradient.tensor_after", lhs=symbols[i], symbolic=shown,
                          data={"index": i + 1}))
    steps.append(Step(key="clip_gradient.why"))
    return replace(whole, steps=tuple(steps),
                   info={**whole.info, "tensors": to_plain_list(shaped)})


def to_plain_list(value: Any) -> Any:
    """SymPy numbers in nested lists as ints or floats (for info)."""
    if isinstance(value, list):
        return [to_plain_list(v) for v in value]
    return int(value) if getattr(value, "is_Integer", False) else float(value)


def _clip_each(tensors: tuple[Any, ...], threshold: sp.Rational, given: list[Step]) -> Result:
    """The mistake ``per-tensor-norm``: each tensor of the list clipped by its own norm."""
    steps = list(given)
    new_flat: list[Any] = []
    for i, t in enumerate(tensors):
        entries = _entries(t)
        norm = sp.sqrt(sp.Add(*[v**2 for v in entries]))
        clipped = bool(norm > threshold)
        scale = simplified(threshold / norm) if clipped else sp.Integer(1)
        new = [simplified(scale * v) for v in entries]
        new_flat += new
        steps.append(Step(key=f"clip_gradient.tensor_{'clipped' if clipped else 'kept'}",
                          lhs=sym("norm_g"),
                          symbolic=sp.sqrt(_sum_squares(entries), evaluate=False), value=norm,
                          data={"index": i + 1, "threshold": threshold, "clipped": clipped,
                                "scale": scale}))
    flat = _flat_vector(tensors)
    before = sp.sqrt(sp.Add(*[v**2 for v in flat]))
    after = simplified(sp.sqrt(sp.Add(*[v**2 for v in new_flat])))
    with sp.evaluate(False):
        after_shown = sp.sqrt(_sum_squares(new_flat))
    steps.append(Step(key="clip_gradient.norm_after", lhs=sym("norm_g_clipped"),
                      symbolic=after_shown, value=after, data={"clipped": True}))
    steps.append(Step(key="clip_gradient.why"))
    return Result(convention=None, steps=tuple(steps),
                  answers={"g": new_flat, "norm_before": before, "norm_after": after,
                           "scale": sp.Integer(1) if before == 0 else simplified(after / before)},
                  info={"clipped": any(v != w for v, w in zip(new_flat, flat, strict=True)),
                        "tensors": to_plain_list(_reshape_like(tensors, new_flat))})
