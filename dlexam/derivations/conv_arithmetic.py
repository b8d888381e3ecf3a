"""The output size of a convolution (or of a stack of equal ones) by the formula.

Along each axis: n' = floor((n + 2p - d (k - 1) - 1) / s) + 1 (Dumoulin and Visin, 2016), for
padding given as a number of zeros on each side (``valid`` is 0). ``same`` follows TensorFlow,
Keras and PyTorch (``padding='same'``): n' = ceil(n / s), reached by max((n' - 1) s + d (k - 1)
+ 1 - n, 0) zeros in all, half of them (rounded down) on the top or left and the rest on the
bottom or right. With ``channels`` and ``filters`` the stack also has an output volume
(n'_H n'_W f) and parameters: f (k_h k_w C + 1) for each layer, C being the layer's input
channels (``filters`` after the first layer).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sympy as sp

from dlexam.derivations.contract import Answer, Mistake
from dlexam.derivations.conv_geometry import same_padding, span
from dlexam.derivations.core import Result, Step, derivation, row_of, three_part
from dlexam.derivations.params import Param
from dlexam.derivations.sampling import Draw
from dlexam.errors import InputError, Said
from dlexam.notation import register_symbols, sym
from dlexam.notation.display import Series

register_symbols({
    "ca_n": ("n", "n"),
    "ca_k": ("k", "k"),
    "ca_s": ("s", "s"),
    "ca_p": ("p", "p"),
    "ca_d": ("d", "d"),
    "ca_out": ("n'", "n'"),
    "ca_span": (r"\hat{k}", "k̂"),
    "ca_total": (r"p_{\mathrm{total}}", "p_total"),
    "ca_filters": ("f", "f"),
    "ca_channels": ("C", "C"),
    "ca_volume": ("V", "V"),
    "ca_params": ("P", "P"),
})

N, K, S, P, D = (sym(x) for x in ("ca_n", "ca_k", "ca_s", "ca_p", "ca_d"))
OUT, SPAN, TOTAL = sym("ca_out"), sym("ca_span"), sym("ca_total")
F, C = sym("ca_filters"), sym("ca_channels")

SIZE_MAX = 100_000
"""The largest input size, kernel, stride, dilation or padding."""
REPEAT_MAX = 32
PADDINGS = ("same", "valid")
AXES = ("H", "W")

# the answers a mistake in the size formula changes (under `same` only the padding's)
_SIZES = ("output_size", "sizes", "padding", "padding_total", "output_volume")


def _whole(name: str, value: Any, low: int = 1) -> int:
    """A validated number that must be a whole number from ``low`` to :data:`SIZE_MAX`."""
    # a validated number, never text: nothing here is parsed (no sympify of an input)
    number = (sp.Integer(value) if isinstance(value, int) and not isinstance(value, bool)
              else value if isinstance(value, sp.Basic) else None)
    if number is None or not number.is_Integer or not low <= int(number) <= SIZE_MAX:
        raise InputError(name, Said("inputs.a_whole_from_to", low=low, high=SIZE_MAX),
                         str(value))
    return int(number)


def _pairs(values: Mapping[str, Any]) -> tuple[int, dict[str, list[int]]]:
    """(the number of axes, each of n, k, s, d per axis) from validated values.

    Raises:
        InputError: a size is not a whole number in range, or is a pair for a number ``n``.
    """
    def entries(name: str) -> list[Any]:
        value = values[name]
        return list(value) if isinstance(value, sp.MatrixBase) else [value]

    n = [_whole("n", x) for x in entries("n")]
    axes = len(n)
    out = {"n": n}
    for name in ("k", "s", "d"):
        got = [_whole(name, x) for x in entries(name)]
        if len(got) > axes:
            raise InputError(name, Said("conv_arithmetic.errors.one_number"),
                             Said("conv_arithmetic.errors.pair", pair=", ".join(map(str, got))))
        out[name] = got * axes if len(got) == 1 else got
    return axes, out


def _padding(values: Mapping[str, Any]) -> str | int:
    p = values["p"]
    return p if isinstance(p, str) else _whole("p", p, low=0)


def _axis(size: int, k: int, s: int, d: int, p: str | int, mistake: str | None
          ) -> tuple[int, int, int]:
    """(output size, padding before, padding in all) of one layer along one axis, as counted
    rightly or by the mistake (same: the size is ceil(n / s) by definition, the mistake is in
    the padding that gives it)."""
    window = span(k, d)
    if p == "same":
        same = same_padding(size, k, s, d)
        if mistake == "padding-once":  # n + p - k^ + 1 = n': the whole total on each side
            return same.output, same.total, 2 * same.total
        if mistake == "no-plus-one":  # (n + p_total - k^) / s = n'
            total = max(same.output * s + window - size, 0)
            return same.output, total // 2, total
        return same.output, same.before, same.total
    pad = 0 if p == "valid" else int(p)
    if mistake == "padding-once":
        return (size + pad - window) // s + 1, pad, 2 * pad
    if mistake == "no-plus-one":
        return (size + 2 * pad - window) // s, pad, 2 * pad
    if mistake == "stride-first":
        return (size + 2 * pad) // s - window + 1, pad, 2 * pad
    return (size + 2 * pad - window) // s + 1, pad, 2 * pad


def _stack(axes: int, dims: dict[str, list[int]], p: str | int, repeat: int,
           mistake: str | None) -> list[list[tuple[int, int, int, int]]] | None:
    """Per layer, per axis: (input size, output size, padding before, padding in all); None
    when a size comes out below 1."""
    layers = []
    sizes = list(dims["n"])
    for _ in range(repeat):
        layer = []
        for a in range(axes):
            out, before, total = _axis(sizes[a], dims["k"][a], dims["s"][a], dims["d"][a], p,
                                       mistake)
            if out < 1:
                return None
            layer.append((sizes[a], out, before, total))
        layers.append(layer)
        sizes = [entry[1] for entry in layer]
    return layers


def _parsed(params: Mapping[str, Any]) -> tuple[int, dict[str, list[int]], str | int] | None:
    """Raw parameters (defaults filled in) read as the derivation reads them, or None."""
    try:
        values = dict(params)
        for name in ("n", "k", "s", "d"):
            if isinstance(values[name], list):
                values[name] = sp.Matrix(values[name])
        axes, dims = _pairs(values)
        p = values["p"]
        if not (isinstance(p, str) and p in PADDINGS):
            p = _whole("p", p, low=0)
        return axes, dims, p
    except (InputError, TypeError, ValueError, KeyError, sp.SympifyError):
        return None


def _applies(mistake: str) -> Any:
    def rule(params: Mapping[str, Any]) -> bool:
        parsed = _parsed(params)
        if parsed is None:
            return False
        axes, dims, p = parsed
        repeat = int(params.get("repeat") or 1)
        if mistake == "no-bias":
            return params.get("channels") is not None and params.get("filters") is not None
        if mistake == "no-channels":  # with one channel and one layer the counts agree
            return (params.get("channels") is not None and params.get("filters") is not None
                    and (int(params["channels"]) > 1 or repeat > 1))
        if mistake == "padding-once":
            if p == "same":
                return any(same_padding(n, k, s, d).total > 0 for n, k, s, d in
                           zip(dims["n"], dims["k"], dims["s"], dims["d"], strict=True))
            if p in ("valid", 0):
                return False
        if mistake == "stride-first" and (p == "same" or max(dims["s"]) == 1):
            return False
        return _stack(axes, dims, p, repeat, mistake) is not None

    return rule


MISTAKES = [
    Mistake("padding-once", changes=_SIZES, formula=True, applies=_applies("padding-once")),
    Mistake("no-plus-one", changes=_SIZES, formula=True, applies=_applies("no-plus-one")),
    Mistake("stride-first", changes=_SIZES, formula=True, applies=_applies("stride-first")),
    Mistake("no-bias", changes=("params",), formula=True, applies=_applies("no-bias")),
    # each filter counted as k_h k_w weights and a bias: the input channels left out
    Mistake("no-channels", changes=("params",), formula=True, applies=_applies("no-channels")),
]


def _told_apart(params: dict[str, Any]) -> bool:
    """Whether every mistake that applies gives other answers than the right method."""
    parsed = _parsed(params)
    if parsed is None:
        return False
    axes, dims, p = parsed
    right = _stack(axes, dims, p, params["repeat"], None)
    if right is None:
        return False
    for m in MISTAKES:
        if m.id in ("no-bias", "no-channels") or not m.applies_to(params):  # counts, not sizes
            continue
        if _stack(axes, dims, p, params["repeat"], m.id) == right:
            return False
    return True


def sample_conv_arithmetic(draw: Draw, fixed: Mapping[str, Any]) -> dict[str, Any]:
    """A question as textbooks and exams set it: an image of 5 to 227 pixels (now and then
    H x W), a kernel of 1 to 11, stride 1, 2 or 4, padding a number, ``same`` or ``valid``,
    now and then dilation 2 or a stack of 2 to 4 layers, and (mostly) channels and filters.
    Every mistake that applies changes an answer."""
    for _ in range(200):
        k = draw.choice((1, 2, 3, 3, 3, 4, 5, 5, 7, 11))
        s = draw.choice((1, 1, 2, 2, 4)) if k > 2 else draw.choice((1, 2))
        square = draw.chance(0.8)
        n: Any = draw.choice((7, 8, 13, 28, 32, 32, 56, 64, 96, 128, 224, 227))
        if not square:
            n = [n, draw.choice((10, 16, 28, 32, 48, 64, 100))]
        mode = draw.choice(("number", "number", "number", "same", "valid"))
        p: Any = {"same": "same", "valid": "valid"}.get(mode)
        if p is None:
            p = draw.integer(1, k // 2 + 1) if draw.chance(0.8) else 0
        d = 2 if k > 1 and draw.chance(0.15) else 1
        repeat = draw.integer(2, 4) if draw.chance(0.3) else 1
        params: dict[str, Any] = {"n": n, "k": k, "s": s, "p": p, "d": d, "repeat": repeat,
                                  "channels": None, "filters": None}
        if draw.chance(0.7):
            params["channels"] = draw.choice((1, 3, 3, 16, 32, 64))
            params["filters"] = draw.choice((6, 8, 10, 16, 32, 64, 96))
        elif draw.chance(0.3):
            params["filters"] = draw.choice((6, 8, 16, 32))
        params.update(fixed)
        if _told_apart(params):
            break
    return {key: value for key, value in params.items() if value is not None}


def _shown(value: list[int]) -> Any:
    """A size per axis as the answers give it: one number for one axis, else [H, W]."""
    return value[0] if len(value) == 1 else list(value)


def _text(value: list[int]) -> Series:
    return Series("axes", value)


def _one(value: list[int]) -> Series:
    """A stride or dilation as a question writes it: one number when the axes share it."""
    return _text(value[:1]) if len(set(value)) == 1 else _text(value)


def _question(values: dict[str, Any]) -> dict[str, Any]:
    axes, dims = _pairs(values)
    p = _padding(values)
    fields = {"size_text": _text(dims["n"]) if axes == 2 or values["rank"] == "1" else
              _text([dims["n"][0]] * 2),
              "kernel_text": _text(dims["k"]) if axes == 2 or values["rank"] == "1" else
              _text([dims["k"][0]] * 2),
              "stride_text": _one(dims["s"]), "dilation_text": _one(dims["d"]),
              "padding_text": str(p), "repeat": values["repeat"]}
    kind = "" if values.get("filters") is None else (
        "params" if values.get("channels") is not None else "volume")
    # one layer is asked about as a layer, several as a stack
    statement = "_".join(part for part in ("one" if values["repeat"] == 1 else "", kind) if part)
    if statement:
        fields["statement"] = statement
    return fields


def _size_step(layer: int, axis: str | None, size: int, k: int, s: int, d: int,
               p: str | int, mistake: str | None, layers: int, out: int) -> list[Step]:
    """The steps of one layer along one axis: the formula, the numbers put in, the size."""
    name = f"{axis}_{layer}" if axis else f"n_{layer}"
    lhs = sp.Symbol(name)
    where = {"layer": layer, "axis": axis or "", "size_in": size, "layers": layers,
             "span": span(k, d)}
    row = row_of("rows", layer, layers, "conv_arithmetic.layers") if layers > 1 else None
    window = SPAN if d > 1 else K
    numbers: dict[sp.Basic, int] = {N: size, K: k, S: s, D: d, SPAN: span(k, d)}
    steps = []
    if p == "same":
        numbers[OUT] = out
        with sp.evaluate(False):
            output = sp.ceiling(sp.Mul(N, sp.Pow(S, -1)))
            if mistake == "no-plus-one":
                total = sp.Max(sp.Add(sp.Mul(S, OUT), window, sp.Mul(-1, N)), 0)
            else:
                total = sp.Max(sp.Add(sp.Mul(S, sp.Add(OUT, -1)), window, sp.Mul(-1, N)), 0)
        steps.append(_marked(three_part("conv_arithmetic.same_output", lhs, output, numbers,
                                        **where), row))
        key = {"padding-once": "same_padding_once", "no-plus-one": "same_padding_no_plus_one"
               }.get(mistake or "", "same_padding")
        total_name = f"p_{axis},{layer}" if axis else f"p_{layer}"
        steps.append(_marked(three_part(f"conv_arithmetic.{key}", sp.Symbol(total_name),
                                        total, numbers, **where), row))
        value = int(steps[-1].value)
        before = value if mistake == "padding-once" else value // 2
        steps.append(_marked(Step(key="conv_arithmetic.same_split",
                                  data={**where, "total": value, "before": before,
                                        "after": value - value // 2,
                                        "once": mistake == "padding-once"}), row))
        return steps
    pad = 0 if p == "valid" else int(p)
    numbers[P] = pad
    with sp.evaluate(False):
        reach = sp.Add(N, sp.Mul(2, P), sp.Mul(-1, window))
        if mistake == "padding-once":
            reach = sp.Add(N, P, sp.Mul(-1, window))
        if mistake == "stride-first":
            formula = sp.Add(sp.floor(sp.Mul(sp.Add(N, sp.Mul(2, P)), sp.Pow(S, -1))),
                             sp.Mul(-1, window), 1)
        elif s == 1:
            formula = reach if mistake == "no-plus-one" else sp.Add(reach, 1)
        else:
            formula = sp.floor(sp.Mul(reach, sp.Pow(S, -1)))
            formula = formula if mistake == "no-plus-one" else sp.Add(formula, 1)
    key = {"padding-once": "output_padding_once", "no-plus-one": "output_no_plus_one",
           "stride-first": "output_stride_first"}.get(mistake or "", "output")
    steps.append(_marked(three_part(f"conv_arithmetic.{key}", lhs, formula, numbers,
                                    padding=pad, valid=p == "valid", **where), row))
    return steps


def _marked(step: Step, row: Any) -> Step:
    if row is None:
        return step
    return Step(key=step.key, lhs=step.lhs, symbolic=step.symbolic,
                substituted=step.substituted, value=step.value, data=step.data, elidable=row)


@derivation(
    "conv-arithmetic",
    params=[
        Param("n", "array", shapes=((), (2,)), trace="none"),
        Param("k", "array", shapes=((), (2,)), trace="none"),
        Param("s", "array", shapes=((), (2,)), default=1, trace="none"),
        Param("p", "choice_or_number", choices=PADDINGS, default=0, minimum=0),
        Param("d", "array", shapes=((), (2,)), default=1, trace="none"),
        Param("repeat", "int", default=1, minimum=1, maximum=REPEAT_MAX),
        Param("channels", "int", default=None, minimum=1, maximum=SIZE_MAX),
        Param("filters", "int", default=None, minimum=1, maximum=SIZE_MAX),
        Param("rank", "choice", choices=("2", "1"), default="2"),
    ],
    answers=[
        Answer("output_size", "integers", shapes=((), (2,))),
        Answer("sizes", "integers", shapes=(("R",), ("R", 2))),
        Answer("padding", "integers", shapes=((), (2,))),
        Answer("padding_total", "integers", shapes=((), (2,)), asked=False),
        Answer("output_volume", "integer", optional=True),
        Answer("params", "integer", optional=True),
    ],
    mistakes=MISTAKES,
    sampler=sample_conv_arithmetic,
    question=_question,
)
def conv_arithmetic(
    n: Any, k: Any, s: Any, p: str | sp.Rational, d: Any, repeat: int,
    channels: int | None, filters: int | None, rank: str, mistake: str | None = None,
) -> Result:
    """The output size of ``repeat`` equal convolutions (or poolings), the padding they use,
    and with ``filters`` (and ``channels``) the output volume and the parameters.

    Args:
        n: the input size, or [H, W].
        k, s, d: the kernel, the stride and the dilation: one number, or one per axis.
        p: zeros on each side, ``valid`` (none) or ``same`` (as TensorFlow pads).
        repeat: how many equal layers are stacked.
        channels: the input's channels (for the parameters).
        filters: the layers' filters (each layer's output channels).
        rank: ``2`` (the default): a number n is a square image, k a square kernel; ``1``: a
            sequence of n steps (a 1-D convolution). n = [H, W] is always 2-D.
        mistake: a declared mistake, made in every layer.
    """
    axes, dims = _pairs({"n": n, "k": k, "s": s, "d": d})
    pad = _padding({"p": p})
    if axes == 2 and rank == "1":
        raise InputError("rank", Said("conv_arithmetic.errors.rank"), "1")
    if channels is not None and filters is None:
        raise InputError("filters", Said("conv_arithmetic.errors.filters"),
                         Said("errors.nothing"))
    stack = _stack(axes, dims, pad, repeat, None)
    if stack is None:
        raise InputError("k", Said("conv_arithmetic.errors.kernel_one" if repeat == 1 else
                                   "conv_arithmetic.errors.kernel", n=repeat), _text(dims["k"]))
    mistaken = _stack(axes, dims, pad, repeat, mistake) if mistake else stack
    if mistaken is None:
        raise InputError("--mistake", Said("conv_arithmetic.errors.mistake"), repr(mistake))
    steps, sizes = _size_steps(axes, dims, pad, repeat, mistake, mistaken)
    first = mistaken[0]
    padding = [entry[2] for entry in first]
    totals = [entry[3] for entry in first]
    if pad == "same":
        steps.append(Step(key="conv_arithmetic.same_convention", data={
            "before": _text(padding), "after": _text([t - t // 2 for t in totals]),
            "odd": any(t % 2 for t in totals)}))
    answers: dict[str, Any] = {
        "output_size": _shown(sizes[-1]),
        "sizes": [_shown(row) for row in sizes],
        "padding": _shown(padding),
        "padding_total": _shown(totals),
    }
    info: dict[str, Any] = {
        "padding_after": [_shown([t - b for b, t in zip(
            [e[2] for e in layer], [e[3] for e in layer], strict=True)]) for layer in mistaken],
        "padding_before": [_shown([e[2] for e in layer]) for layer in mistaken],
        "axes": axes,
    }
    square = axes == 1 and rank == "2"
    if filters is not None:
        steps.append(_volume_step(axes, sizes[-1], filters, repeat, square))
        answers["output_volume"] = int(steps[-1].value)
    if channels is not None and filters is not None:
        more, answers["params"], other_rank = _params_steps(
            axes, dims["k"], channels, filters, repeat, square, mistake)
        steps += more
        if other_rank is not None:
            info["params_other_rank"] = other_rank
    steps.append(Step(key="conv_arithmetic.sizes", data={
        "sizes": Series("sizes", [_text(row) for row in sizes]), "layers": repeat}))
    return Result(convention="tensorflow-same" if pad == "same" else "formula",
                  steps=tuple(steps), answers=answers, info=info)


def _size_steps(axes: int, dims: dict[str, list[int]], pad: str | sp.Rational, repeat: int,
                mistake: str | None, mistaken: list[Any]) -> tuple[list[Step], list[list[int]]]:
    """The sizes step group: the dilated kernel's span (when dilated), then each layer's output
    size along each axis. Returns the steps and each layer's sizes."""
    steps: list[Step] = []
    names = AXES if axes == 2 else (None,)
    if max(dims["d"]) > 1:
        for a, axis in enumerate(names):
            with sp.evaluate(False):
                formula = sp.Add(sp.Mul(D, sp.Add(K, -1)), 1)
            steps.append(three_part("conv_arithmetic.span", SPAN, formula,
                                    {D: dims["d"][a], K: dims["k"][a]}, axis=axis or ""))
    sizes: list[list[int]] = []
    for layer, entries in enumerate(mistaken, start=1):
        row = []
        for a, axis in enumerate(names):
            size, out, _before, _total = entries[a]
            made = _size_step(layer, axis, size, dims["k"][a], dims["s"][a], dims["d"][a], pad,
                              mistake, repeat, out)
            steps += made
            value = out if pad == "same" else int(made[-1].value)
            row.append(value)
        sizes.append(row)
    return steps, sizes


def _volume_step(axes: int, last_sizes: list[int], filters: int, repeat: int,
                 square: bool) -> Step:
    """The output volume: the last layer's sizes times the filters."""
    names = AXES if axes == 2 else (None,)
    last = last_sizes * 2 if square else last_sizes
    factors = [sp.Symbol(f"{axis}_{repeat}") for axis in names] if not square else \
        [sp.Symbol(f"n_{repeat}"), sp.Symbol(f"n_{repeat}")]
    with sp.evaluate(False):
        formula = sp.Mul(*factors, F)
    values: dict[sp.Basic, int] = dict(zip(factors, last, strict=True))
    values[F] = filters
    return three_part("conv_arithmetic.volume", sym("ca_volume"), formula, values,
                      square=square, axes=axes)


def _params_steps(axes: int, k: list[int], channels: int, filters: int, repeat: int,
                  square: bool, mistake: str | None) -> tuple[list[Step], int, int | None]:
    """The parameters step group: the first layer's count, the second's (every later layer
    reads f channels too) and their total. Returns the steps, the total and the total under the
    other reading of one number n (1-D or a square image; None for n = [H, W])."""
    steps: list[Step] = []
    kernel = k * 2 if square else k
    counts: list[int] = []
    for layer in range(1, repeat + 1):
        width_in = channels if layer == 1 else filters
        kh, kw = sp.Symbol("k_h"), sp.Symbol("k_w")
        with sp.evaluate(False):
            window = sp.Mul(kh, kw, C) if len(kernel) == 2 else sp.Mul(K, C)
            if mistake == "no-channels":
                window = sp.Mul(kh, kw) if len(kernel) == 2 else K
            formula = sp.Mul(F, window) if mistake == "no-bias" else \
                sp.Mul(F, sp.Add(window, 1))
        numbers = {F: filters, C: width_in, K: kernel[0], kh: kernel[0], kw: kernel[-1]}
        if layer > 2:  # every later layer reads f channels, as the second: the same count
            counts.append(counts[-1])
            continue
        step = three_part("conv_arithmetic.params" + {"no-bias": "_nobias",
                                                       "no-channels": "_nochannels"}.get(
                                                           mistake or "", ""),
                          sp.Symbol(f"P_{layer}"), formula, numbers, layer=layer,
                          channels=width_in, filters=filters, later=layer == 2 and
                          repeat > 2, repeat=repeat)
        steps.append(step)
        counts.append(int(step.value))
    if repeat > 1:
        symbols = [sp.Symbol("P_1"), sp.Symbol("P_2")]
        with sp.evaluate(False):
            formula = sp.Add(symbols[0], sp.Mul(repeat - 1, symbols[1])) if repeat > 2 \
                else sp.Add(*symbols)
        steps.append(three_part("conv_arithmetic.params_total", sym("ca_params"), formula,
                                dict(zip(symbols, counts[:2], strict=True)),
                                others=repeat - 1))
    other_rank = None
    if square or axes == 1:  # the other reading of one number n: 1-D, or a square image
        other = k[0] if square else k[0] ** 2
        other_rank = sum(
            filters * (other * (1 if mistake == "no-channels" else channels if layer == 1
                                else filters)
                       + (mistake != "no-bias")) for layer in range(1, repeat + 1))
    return steps, sum(counts), other_rank
