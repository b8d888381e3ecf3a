"""Convolutions and pooling by hand: ``conv2d`` and ``pooling``.

Conventions, those of PyTorch's ``torch.nn.functional`` (channels first):

- X is H x W (one channel) or C x H x W; a kernel K is kh x kw, C x kh x kw (one filter over C
  channels) or F x C x kh x kw (F filters, F output maps); b is one number per output map.
- ``op=cross-correlation`` (the default, what ``conv2d`` and Keras' ``Conv2D`` compute) slides K
  as it is: Y[i, j] = sum_{c, m, n} X~[c, S(i - 1) + m, S(j - 1) + n] K[c, m, n] + b, with X~ the
  input padded with P zeros on every side and S the stride, everything counted from 1.
  ``op=convolution`` (the mathematical convolution of signal processing and of many textbooks)
  flips the kernel by 180 degrees first: K[c, kh + 1 - m, kw + 1 - n].
- The output size is floor((H + 2P - kh) / S) + 1 (PyTorch's default ``ceil_mode=False``).
- Max pooling pads with minus infinity (PyTorch), so a padded position is never chosen; PyTorch
  allows a padding of at most half the window. ``argmax`` is the chosen position as a 1-based
  (row, column) in the input without its padding; on a tie the first maximum in row-major order
  (PyTorch's kernel keeps the first). PyTorch's ``return_indices`` gives the same position as
  one 0-based index, (row - 1) W + (column - 1), reported in ``info``.
- Average pooling divides by the whole window, padded zeros included, by default
  (``count_include_pad=true``, PyTorch's default); ``count_include_pad=false`` divides by the
  input entries the window covers (Keras' ``padding="same"`` pooling, TensorFlow). Both are
  computed: the other one's Y is reported in ``info``.
"""

# ruff: noqa: N803, N806
# (X, K, Y, H, W, C, F as the convolution literature writes them)

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import sympy as sp

from dlexam.derivations.contract import Answer, Mistake, with_params
from dlexam.derivations.core import Result, Step, derivation, terms_of, three_part
from dlexam.derivations.forms import Operator, Ratio
from dlexam.derivations.params import Param, bind_dims
from dlexam.derivations.sampling import Draw
from dlexam.derivations.statements import NOTHING
from dlexam.errors import InputError, Said
from dlexam.notation import register_symbols, sym
from dlexam.notation.display import Phrase

register_symbols({
    "conv_X": ("X", "X"),
    "conv_X_pad": (r"\tilde{X}", "X~"),  # the input with its padding
    "conv_K": ("K", "K"),
    "conv_K_rot": (r"K^{\mathrm{rot}}", "K^rot"),  # the kernel turned by 180 degrees
    "conv_Y": ("Y", "Y"),
    "conv_b": ("b", "b"),
    "conv_H": ("H", "H"),
    "conv_W": ("W", "W"),
    "conv_H_out": ("H'", "H'"),
    "conv_W_out": ("W'", "W'"),
    "conv_kh": ("k_h", "k_h"),
    "conv_kw": ("k_w", "k_w"),
    "conv_k": ("k", "k"),  # a pooling window's size
    "conv_P": ("P", "P"),
    "conv_S": ("S", "S"),
})

OPS: tuple[str, ...] = ("cross-correlation", "convolution")
MODES: tuple[str, ...] = ("max", "avg")


class EntrySum(Operator):
    """The sum of a matrix's entries, sum(A ⊙ B): a window times the kernel, added up."""

    name = "sum"


class WindowMax(Operator):
    """The largest entry of a window."""

    name = "max"


class WindowMean(Operator):
    """The mean of a window's entries."""

    name = "mean"


def _indexed(key: str, *index: Any) -> sp.Symbol:
    """The registered symbol ``key`` with a subscript written as given (``Y_{1,2}``,
    ``X_{m+2,n}``, ``X_{1:2,3:4}``)."""
    sym(key)  # a key that is not registered is a bug
    return sp.Symbol(f"{key}[{','.join(str(i) for i in index)}]")


def _planes(value: Any) -> Any:
    """An array as matrices: a matrix stays one, a C x H x W array becomes a tuple of C
    matrices, an F x C x kh x kw array a tuple of F such tuples."""
    if isinstance(value, sp.MatrixBase):
        return value
    if value.rank() == 2:
        return sp.ImmutableMatrix(value.tolist())
    return tuple(_planes(value[i]) for i in range(value.shape[0]))


def _channels(X: Any) -> list[sp.ImmutableMatrix]:
    """The input's channels (an H x W input is one channel)."""
    X = _planes(X)
    return [X] if isinstance(X, sp.MatrixBase) else list(X)


def _pad(M: sp.MatrixBase, P: int, fill: Any) -> sp.ImmutableMatrix:
    """M with P rows and columns of ``fill`` on every side."""
    if P == 0:
        return sp.ImmutableMatrix(M)
    rows, cols = M.rows + 2 * P, M.cols + 2 * P
    return sp.ImmutableMatrix(rows, cols, lambda i, j: (
        M[i - P, j - P] if P <= i < P + M.rows and P <= j < P + M.cols else fill))


def _rot180(M: sp.MatrixBase) -> sp.ImmutableMatrix:
    """M turned by 180 degrees (flipped up-down and left-right)."""
    return sp.ImmutableMatrix(M.rows, M.cols, lambda i, j: M[M.rows - 1 - i, M.cols - 1 - j])


def _offset(var: str, start: int) -> str:
    return f"{var}+{start}" if start else var


def _size_steps(key: str, axes: Sequence[tuple[str, str, int, str, int]], P: int, S: int
                ) -> tuple[list[Step], list[int]]:
    """The output size along each axis, floor((n + 2P - k) / S) + 1; ``axes`` holds (output
    size symbol, input size symbol, n, kernel size symbol, k) per axis."""
    steps, out = [], []
    Ps, Ss = sym("conv_P"), sym("conv_S")
    for out_key, n_key, n, k_key, k in axes:
        ns, ks = sym(n_key), sym(k_key)
        with sp.evaluate(False):
            formula = sp.Add(sp.floor(sp.Mul(sp.Add(ns, sp.Mul(2, Ps), sp.Mul(-1, ks)),
                                              sp.Pow(Ss, -1))), 1)
        step = three_part(key, sym(out_key), formula, {ns: n, ks: k, Ps: P, Ss: S},
                          n=n, k=k, padding=P, stride=S)
        steps.append(step)
        out.append(int(step.value))
    return steps, out


# --- conv2d -----------------------------------------------------------------------------------

CONV_PARAMS = [
    Param("X", "array", shapes=(("H", "W"), ("C", "H", "W"))),
    Param("K", "array", shapes=(("kh", "kw"), ("C", "kh", "kw"), ("F", "C", "kh", "kw"))),
    Param("b", "array", shapes=((), ("F",)), default=None),
    Param("stride", "int", default=1, minimum=1, maximum=4),
    Param("padding", "int", default=0, minimum=0, maximum=2),
    Param("op", "choice", choices=OPS, default="cross-correlation"),
]

CONV_LIMITS = {"H": 8, "W": 8, "C": 3, "F": 3, "kh": 5, "kw": 5}
PADDED_MAX = 8
"""The padded input's largest side: every matrix the steps write (the padded input, the output)
stays 8 columns wide, which a page holds."""


def _depth(value: Any) -> int:
    """How deeply a raw (JSON) value nests lists."""
    return 1 + _depth(value[0]) if isinstance(value, list) and value else 0


def _raw_channels(X: Any) -> int:
    return len(X) if _depth(X) == 3 else 1


def _raw_size(X: Any) -> tuple[int, int]:
    plane = X[0] if _depth(X) == 3 else X
    return len(plane), len(plane[0])


def _raw_kernel(K: Any) -> tuple[int, int]:
    plane = K
    while _depth(plane) > 2:
        plane = plane[0]
    return len(plane), len(plane[0])


def _fits_unpadded(p: Mapping[str, Any]) -> bool:
    (H, W), (kh, kw) = _raw_size(p["X"]), _raw_kernel(p["K"])
    return kh <= H and kw <= W


def _nonzero(value: Any) -> bool:
    if isinstance(value, list):
        return any(_nonzero(v) for v in value)
    return value is not None and value != 0


CONV_MISTAKES = [
    Mistake("kernel-flipped", changes=("Y",), params=with_params(op="convolution"),
            applies=lambda p: p["op"] == "cross-correlation"),
    Mistake("kernel-not-flipped", changes=("Y",), params=with_params(op="cross-correlation"),
            applies=lambda p: p["op"] == "convolution"),
    Mistake("channels-not-summed", changes=("Y",), formula=True,
            applies=lambda p: _raw_channels(p["X"]) > 1),
    Mistake("padding-ignored", changes=("Y",), params=with_params(padding=0),
            applies=lambda p: p["padding"] > 0 and _fits_unpadded(p)),
    Mistake("stride-ignored", changes=("Y",), params=with_params(stride=1),
            applies=lambda p: p["stride"] > 1),
    Mistake("bias-left-out", changes=("Y",), params=with_params(b=None),
            applies=lambda p: _nonzero(p["b"])),
]


def _bank(K: Any, C: int) -> tuple[list[list[sp.ImmutableMatrix]], bool]:
    """The kernel as filters of C channels each, and whether it was given as a bank of filters
    (F x C x kh x kw: the output has F maps).

    Raises:
        InputError: the kernel's channels do not match the input's.
    """
    K = _planes(K)
    if isinstance(K, sp.MatrixBase):
        if C != 1:
            raise InputError("K", Said("convolution.errors.planes", n=C),
                             Said("convolution.errors.one_plane"))
        return [[K]], False
    if isinstance(K[0], sp.MatrixBase):
        filters, banked = [list(K)], False
    else:
        filters, banked = [list(f) for f in K], True
    if len(filters[0]) != C:
        raise InputError("K", Said("convolution.errors.channels_one" if C == 1 else
                                   "convolution.errors.channels", n=C), f"{len(filters[0])}")
    return filters, banked


def _biases(b: Any, filters: int, banked: bool) -> list[Any] | None:
    """One bias per output map, or None.

    Raises:
        InputError: a list of biases for one output map, or a number for a bank of filters.
    """
    if b is None:
        return None
    if isinstance(b, sp.MatrixBase):
        if not banked:
            raise InputError("b", Said("convolution.errors.one_map"),
                             Said("check.errors.list_of", n=b.rows))
        return list(b)
    if banked:
        raise InputError("b", Said("convolution.errors.per_filter", n=filters),
                         Said("show.kind.a_number"))
    return [b]


def _entry_step(f: int | None, i: int, j: int, windows: list[sp.ImmutableMatrix],
                kernels: list[sp.ImmutableMatrix], bias: Any, rows: tuple[int, int],
                cols: tuple[int, int], padded: bool, op: str) -> Step:
    """Y[f, i, j]: the window of each channel times the kernel, entry by entry, added up."""
    C = len(windows)
    kh, kw = kernels[0].shape
    at = (i, j) if f is None else (f, i, j)
    x_key = "conv_X_pad" if padded else "conv_X"
    m, n, c = sp.Symbol("m"), sp.Symbol("n"), sp.Symbol("c")
    x_index = [_offset("m", rows[0] - 1), _offset("n", cols[0] - 1)]
    k_index = [f"{kh + 1}-m", f"{kw + 1}-n"] if op == "convolution" else ["m", "n"]
    if C > 1:
        x_index, k_index = ["c", *x_index], ["c", *k_index]
    if f is not None:
        k_index = [str(f), *k_index]
    bounds = [(m, 1, kh), (n, 1, kw)] if C == 1 else [(c, 1, C), (m, 1, kh), (n, 1, kw)]
    bias_sym = None if bias is None else (sym("conv_b") if f is None
                                          else _indexed("conv_b", f))
    slid = [_rot180(k) if op == "convolution" else k for k in kernels]
    products = [[sp.Mul(window[a, e], kernel[a, e], evaluate=False)
                 for a in range(kh) for e in range(kw)]
                for window, kernel in zip(windows, slid, strict=True)]
    channel_sums = [sp.Add(*[p.args[0] * p.args[1] for p in ps]) for ps in products]
    value = sp.Add(*channel_sums) + (0 if bias is None else bias)
    formula = sp.Sum(sp.Mul(_indexed(x_key, *x_index), _indexed("conv_K", *k_index),
                            evaluate=False), *bounds)
    with sp.evaluate(False):
        written = [p for ps in products for p in ps]
        if bias is not None:
            formula = sp.Add(formula, bias_sym)
            written.append(bias)
        substituted = sp.Add(*written)
        if C == 1:
            short: list[Any] = [EntrySum(sp.HadamardProduct(windows[0], slid[0]))]
        else:
            short = list(channel_sums)
        if bias is not None:
            short.append(bias)
        shorter = sp.Add(*short) if len(short) > 1 else short[0]
    return Step(
        key=("conv2d.entry" if C == 1 else "conv2d.entry_channels")
        + ("_padded" if padded else ""),
        lhs=_indexed("conv_Y", *at), symbolic=formula, substituted=substituted, value=value,
        data={"i": i, "j": j, "channels": C, "products": C * kh * kw,
              "rows": f"{rows[0]}-{rows[1]}", "cols": f"{cols[0]}-{cols[1]}"},
        elidable=terms_of(len(written), substituted=shorter),
    )


def _conv_question(values: dict[str, Any]) -> dict[str, Any]:
    variant = "convolution" if values["op"] == "convolution" else ""
    if values["b"] is not None:
        variant = f"{variant}_bias" if variant else "bias"
    return {"statement": variant or None, "channel_note": _channel_note(values["X"], "conv2d")}


def _channel_note(X: Any, key: str) -> Phrase:
    """Where the channels are, said only for an input with several."""
    return Phrase(f"{key}.says.channels") if len(getattr(X, "shape", ())) == 3 else NOTHING


def sample_conv(draw: Draw, fixed: dict[str, Any]) -> dict[str, Any]:
    """A small convolution a student works out by hand: an input of 3 x 3 to 5 x 5 whole
    numbers, a 2 x 2 or 3 x 3 kernel of small whole numbers that a 180-degree turn changes (so
    flipping shows), one channel mostly, sometimes two channels or two filters; a stride of 2
    or a padding of 1 now and then, a non-zero bias half the time."""
    dims = bind_dims(CONV_PARAMS, fixed)
    form = draw.choice(("plain", "plain", "plain", "channels", "filters"))
    C = dims.get("C", 2 if form != "plain" else 1)
    F = dims.get("F", 2 if form == "filters" else None)
    H = dims.get("H", draw.integer(3, 5))
    W = dims.get("W", H if "H" not in dims else draw.integer(3, 5))
    stride = fixed.get("stride", draw.choice((1, 1, 1, 2)))
    padding = fixed.get("padding", draw.choice((0, 0, 0, 1)))
    k_top = max(1, min(3, H + 2 * padding, W + 2 * padding))
    kh = dims.get("kh", draw.integer(min(2, k_top), k_top))
    kw = dims.get("kw", kh if kh <= W + 2 * padding else 1)
    x_shape = (H, W) if C == 1 and "C" not in dims else (C, H, W)
    k_shape: tuple[int, ...] = (kh, kw) if len(x_shape) == 2 and F is None else (C, kh, kw)
    if F is not None:
        k_shape = (F, C, kh, kw)
    out: dict[str, Any] = {}
    for _ in range(100):
        kernel = draw.array(k_shape, -1, 2, decimals=0)
        planes = [kernel] if len(k_shape) == 2 else (
            kernel if len(k_shape) == 3 else [p for f in kernel for p in f])
        if any(p != [row[::-1] for row in p[::-1]] for p in planes):
            break
    out = {
        "X": draw.array(x_shape, -2, 3, decimals=0),
        "K": kernel,
        "stride": stride,
        "padding": padding,
        "op": "convolution" if draw.chance(0.25) else "cross-correlation",
    }
    if draw.chance(0.5):
        out["b"] = ([draw.integer(1, 3) * draw.choice((-1, 1)) for _ in range(F)]
                    if F is not None else draw.integer(1, 3) * draw.choice((-1, 1)))
    out.update(fixed)
    return out


@derivation(
    "conv2d",
    params=CONV_PARAMS,
    answers=[Answer("Y", "vectors", shapes=(("Ho", "Wo"), ("F", "Ho", "Wo")))],
    limits=CONV_LIMITS,
    mistakes=CONV_MISTAKES,
    sampler=sample_conv,
    question=_conv_question,
)
def conv2d(X: Any, K: Any, b: Any, stride: int, padding: int, op: str,
           mistake: str | None = None) -> Result:
    """A 2-D convolution layer's output, entry by entry.

    Args:
        X: the input, H x W or C x H x W (channels first).
        K: the kernel, kh x kw, C x kh x kw (one filter) or F x C x kh x kw (F filters).
        b: the bias: a number, or one per filter; None: no bias.
        stride: the step between windows, the same along both axes.
        padding: zeros added on every side.
        op: ``cross-correlation`` (K as it is: PyTorch, Keras) or ``convolution`` (K turned by
            180 degrees first).
        mistake: ``channels-not-summed``: only the first channel's products are added.

    Raises:
        InputError: the kernel's channels differ from the input's, it is larger than the
            padded input, or the bias does not match the output maps.
    """
    channels = _channels(X)
    C = len(channels)
    H, W = channels[0].shape
    filters, banked = _bank(K, C)
    kh, kw = filters[0][0].shape
    if max(H, W) + 2 * padding > PADDED_MAX:
        raise InputError("padding", Said("convolution.errors.padded", n=PADDED_MAX,
                                              shape=f"{PADDED_MAX} x {PADDED_MAX}"),
                         Said("convolution.errors.padding_on", padding=padding,
                              shape=f"{H} x {W}"))
    if kh > H + 2 * padding or kw > W + 2 * padding:
        raise InputError("K", Said("convolution.errors.kernel_size",
                                      shape=f"{H + 2 * padding} x {W + 2 * padding}"),
                         f"{kh} x {kw}")
    biases = _biases(b, len(filters), banked)
    steps: list[Step] = [Step(key=f"conv2d.given_{op.replace('-', '_')}", data={
        "H": H, "W": W, "C": C, "kh": kh, "kw": kw, "filters": len(filters), "op": op,
        "stride": stride, "padding": padding})]
    size_steps, (Ho, Wo) = _size_steps("conv2d.size", [
        ("conv_H_out", "conv_H", H, "conv_kh", kh),
        ("conv_W_out", "conv_W", W, "conv_kw", kw)], padding, stride)
    steps += size_steps
    for f, kernels in enumerate(filters, start=1):
        for c, k in enumerate(kernels, start=1):
            index = [f, c] if banked else [c] if C > 1 else []
            steps.append(Step(key="conv2d.kernel", lhs=_indexed("conv_K", *index)
                              if index else sym("conv_K"), symbolic=k,
                              data={"filter": f, "channel": c}))
    padded = [_pad(x, padding, sp.Integer(0)) for x in channels]
    if not padding:
        for c, x in enumerate(channels, start=1):
            steps.append(Step(key="conv2d.input", lhs=_indexed("conv_X", c) if C > 1
                              else sym("conv_X"), symbolic=x, data={"channel": c}))
    else:
        for c, x in enumerate(padded, start=1):
            steps.append(Step(key="conv2d.padded",
                              lhs=sym("conv_X_pad") if C == 1 else _indexed("conv_X_pad", c),
                              symbolic=x, data={"channel": c, "channels": C,
                                                "padding": padding}))
    if op == "convolution":
        for f, kernels in enumerate(filters, start=1):
            for c, k in enumerate(kernels, start=1):
                index = [f, c] if banked else [c] if C > 1 else []
                steps.append(Step(key="conv2d.flipped", lhs=_indexed("conv_K_rot", *index)
                                  if index else sym("conv_K_rot"), symbolic=_rot180(k),
                                  data={"filter": f, "channel": c}))
    used = [0] if mistake == "channels-not-summed" else list(range(C))
    if mistake == "channels-not-summed":
        steps.append(Step(key="conv2d.one_channel", data={"channels": C}))
    maps = []
    for f, kernels in enumerate(filters, start=1):
        entries = []
        for i in range(1, Ho + 1):
            row = []
            for j in range(1, Wo + 1):
                r0, c0 = stride * (i - 1), stride * (j - 1)
                windows = [padded[c][r0:r0 + kh, c0:c0 + kw] for c in used]
                step = _entry_step(f if banked else None, i, j, windows,
                                   [kernels[c] for c in used],
                                   None if biases is None else biases[f - 1],
                                   (r0 + 1, r0 + kh), (c0 + 1, c0 + kw), padding > 0, op)
                steps.append(step)
                row.append(step.value)
            entries.append(row)
        maps.append(sp.ImmutableMatrix(entries))
    for f, Y in enumerate(maps, start=1):
        steps.append(Step(key="conv2d.result", lhs=_indexed("conv_Y", f) if banked
                          else sym("conv_Y"), symbolic=Y,
                          data={"filter": f, "Ho": Ho, "Wo": Wo}))
    return Result(convention=op, steps=tuple(steps),
                  answers={"Y": maps if banked else maps[0]},
                  info={"output_shape": [len(maps), Ho, Wo] if banked else [Ho, Wo]})


# --- pooling ----------------------------------------------------------------------------------

POOL_PARAMS = [
    Param("X", "array", shapes=(("H", "W"), ("C", "H", "W"))),
    Param("size", "int", default=2, minimum=1, maximum=5),
    Param("stride", "int", default=None, minimum=1, maximum=5),
    Param("padding", "int", default=0, minimum=0, maximum=2),
    Param("mode", "choice", choices=MODES, default="max"),
    Param("global", "bool", default=False),
    Param("count_include_pad", "bool", default=True),
]

POOL_LIMITS = {"H": 8, "W": 8, "C": 3}


def _stride_of(p: Mapping[str, Any]) -> int:
    return int(p["stride"]) if p["stride"] is not None else int(p["size"])


def _pool_outputs(p: Mapping[str, Any]) -> int:
    """How many entries each output map has (1 for global pooling)."""
    if p["global"]:
        return 1
    H, W = _raw_size(p["X"])
    k, s, P = int(p["size"]), _stride_of(p), int(p["padding"])
    return ((H + 2 * P - k) // s + 1) * ((W + 2 * P - k) // s + 1)


def _local(p: Mapping[str, Any]) -> bool:
    return not p["global"]


def _max(p: Mapping[str, Any]) -> bool:
    return p["mode"] == "max"


POOL_MISTAKES = [
    Mistake("stride-one", changes=("Y", "argmax"), params=with_params(stride=1),
            applies=lambda p: _local(p) and _stride_of(p) > 1),
    Mistake("average-for-max", changes=("Y",), formula=True, applies=_max),
    Mistake("max-for-average", changes=("Y",), formula=True,
            applies=lambda p: p["mode"] == "avg"),
    Mistake("padding-ignored", changes=("Y", "argmax"), params=with_params(padding=0),
            applies=lambda p: _local(p) and p["padding"] > 0
            and int(p["size"]) <= min(_raw_size(p["X"]))),
    Mistake("pad-zeros-not-counted", changes=("Y",),
            params=with_params(count_include_pad=False),
            applies=lambda p: _local(p) and p["mode"] == "avg" and p["padding"] > 0
            and p["count_include_pad"]),
    Mistake("pad-zeros-counted", changes=("Y",), params=with_params(count_include_pad=True),
            applies=lambda p: _local(p) and p["mode"] == "avg" and p["padding"] > 0
            and not p["count_include_pad"]),
    Mistake("argmax-zero-based", changes=("argmax",), formula=True, applies=_max),
    Mistake("argmax-in-window", changes=("argmax",), formula=True,
            applies=lambda p: _max(p) and _local(p) and _pool_outputs(p) > 1),
]


def _pool_entry(at: tuple[int, ...], window: list[list[Any]], origin: tuple[int, int],
                P: int, mode: str, include_pad: bool, label: sp.Basic, mistake: str | None
                ) -> tuple[Step, Any, list[int] | None, Any]:
    """One output entry: its step, its value, the chosen position (max pooling: 1-based in the
    input without its padding) and the other divisor convention's value (average pooling).

    ``window`` holds the input's entries and None where it covers the padding."""
    cells_at = [(a, e) for a in range(len(window)) for e in range(len(window[0]))]
    real = [(a, e) for a, e in cells_at if window[a][e] is not None]
    cells = [window[a][e] for a, e in real]
    lhs = _indexed("conv_Y", *at)
    position = None
    if mode == "max":
        best = real[0]
        for a, e in real[1:]:  # row-major: a later entry wins only when strictly larger
            if window[a][e] > window[best[0]][best[1]]:
                best = (a, e)
        position = [origin[0] + best[0] - P, origin[1] + best[1] - P]
    as_max = (mode == "max") != (mistake in ("average-for-max", "max-for-average"))
    if as_max:
        value = window[best[0]][best[1]] if mode == "max" else _largest(cells)
        shown = _shown_window(window, -sp.oo)
        data = {} if position is None else {"row": position[0], "col": position[1]}
        step = Step(key="pooling.max_entry" if position else "pooling.max_instead", lhs=lhs,
                    symbolic=WindowMax(label), substituted=WindowMax(shown), value=value,
                    data=data)
        return step, value, position, value
    total = sp.Add(*cells)
    mean_all, mean_real = total / len(cells_at), total / len(cells)
    divisor = len(cells_at) if include_pad else len(cells)
    value, other = (mean_all, mean_real) if include_pad else (mean_real, mean_all)
    written = ([window[a][e] if window[a][e] is not None else sp.Integer(0)
                for a, e in cells_at] if include_pad else cells)
    with sp.evaluate(False):
        substituted = Ratio(sp.Add(*written) if len(written) > 1 else written[0],
                            sp.Integer(divisor))
    step = Step(key="pooling.avg_entry" if include_pad or len(cells) == len(cells_at)
                else "pooling.avg_entry_covered", lhs=lhs, symbolic=WindowMean(label),
                substituted=substituted, value=value,
                data={"divisor": divisor, "covered": len(cells)},
                elidable=terms_of(len(written), substituted=WindowMean(
                    _shown_window(window, sp.Integer(0)))))
    return step, value, position, other


def _largest(cells: list[Any]) -> Any:
    best = cells[0]
    for v in cells[1:]:
        if v > best:
            best = v
    return best


def _shown_window(window: list[list[Any]], fill: Any) -> sp.ImmutableMatrix:
    """A window as written, its padding shown as ``fill`` (minus infinity for max pooling, 0
    for average pooling)."""
    return sp.ImmutableMatrix([[fill if v is None else v for v in row] for row in window])


def _pool_question(values: dict[str, Any]) -> dict[str, Any]:
    variant = ("global_" if values["global"] else "") + (
        "avg" if values["mode"] == "avg" else "")
    counted = "pad_counted" if values["count_include_pad"] else "pad_not_counted"
    return {"statement": variant.rstrip("_") or None,
            "stride": values["stride"] if values["stride"] is not None else values["size"],
            "channel_note": (Phrase("pooling.says.global_channels") if values["global"]
                             and len(getattr(values["X"], "shape", ())) == 3
                             else _channel_note(values["X"], "pooling")),
            # whether padded zeros count is said only where there are padded zeros
            "pad_rule": Phrase(f"pooling.says.{counted}") if values["padding"] else NOTHING}


def sample_pool(draw: Draw, fixed: dict[str, Any]) -> dict[str, Any]:
    """A pooling question: a 4 x 4 to 6 x 6 input of whole numbers 0 to 9 (one channel
    mostly, two sometimes), a 2 x 2 window with stride 2 mostly, sometimes a 3 x 3 window
    with stride 2 (overlapping) or a padding of 1; max pooling mostly, average now and then
    (padded more often, with either divisor convention), global pooling once in ten."""
    dims = bind_dims(POOL_PARAMS, fixed)
    C = dims.get("C", draw.choice((1, 1, 1, 2)))
    H = dims.get("H", draw.integer(4, 6))
    W = dims.get("W", H if "H" not in dims else draw.integer(4, 6))
    shape = (H, W) if C == 1 and "C" not in dims else (C, H, W)
    mode = "avg" if draw.chance(0.3) else "max"
    form = draw.choice(("2x2", "2x2", "3x3", "padded", "padded") if mode == "avg"
                       else ("2x2", "2x2", "2x2", "3x3", "padded"))
    size = fixed.get("size", 3 if form == "3x3" else 2)
    out: dict[str, Any] = {
        "X": draw.array(shape, 0, 9, decimals=0),
        "size": size,
        "stride": None if form == "2x2" else 2,
        "padding": 1 if form == "padded" and size >= 2 else 0,
        "mode": mode,
        "global": draw.chance(0.1),
        "count_include_pad": not (mode == "avg" and draw.chance(0.4)),
    }
    out.update(fixed)
    if out["padding"] > int(out["size"]) // 2:
        out["padding"] = int(out["size"]) // 2
    return out


@derivation(
    "pooling",
    params=POOL_PARAMS,
    answers=[
        Answer("Y", "vectors", shapes=((), ("C",), ("Ho", "Wo"), ("C", "Ho", "Wo"))),
        Answer("argmax", "vectors", shapes=((2,), ("C", 2), ("Ho", "Wo", 2),
                                            ("C", "Ho", "Wo", 2)),
               rel=0.0, abs=0.0, optional=True),
    ],
    limits=POOL_LIMITS,
    mistakes=POOL_MISTAKES,
    sampler=sample_pool,
    question=_pool_question,
)
def pooling(X: Any, size: int, stride: int | None, padding: int, mode: str,
            count_include_pad: bool, mistake: str | None = None, **switches: bool) -> Result:
    """Max or average pooling of each channel, entry by entry (``global``: over the whole map).

    Args:
        X: the input, H x W or C x H x W (channels first).
        size: the window's side (a square window).
        stride: the step between windows; None: the window's size (PyTorch and Keras).
        padding: added on every side: minus infinity for max, zeros for average pooling.
        mode: ``max`` or ``avg``.
        count_include_pad: average pooling divides by the whole window, padding included
            (PyTorch's default) or by the input entries it covers.
        mistake: ``average-for-max``, ``max-for-average``, ``argmax-zero-based``,
            ``argmax-in-window`` (the others are declared by their parameters).
        switches: ``global`` (a Python keyword, so passed by name): one value per channel
            over the whole map; size, stride and padding are then not used.

    Raises:
        InputError: the padding is more than half the window (PyTorch refuses it), or the
            window is larger than the padded input.
    """
    is_global = bool(switches.get("global"))
    channels = _channels(X)
    C = len(channels)
    H, W = channels[0].shape
    steps, window = _pooling_windows(H, W, C, size, stride, padding, mode, count_include_pad,
                                     is_global)
    maps, positions, others = [], [], []
    for c, x in enumerate(channels, start=1):
        more, values, chosen, other_values = _pool_channel(
            c, x, C, window, mode, count_include_pad, is_global, mistake)
        steps += more
        maps.append(values)
        positions.append(chosen)
        others.append(other_values)
    P, S = window.padding, window.stride
    Y = _pooled(maps, True, is_global)
    for c, m in enumerate(maps, start=1):
        steps.append(Step(key="pooling.result",
                          lhs=_indexed("conv_Y", c) if C > 1 else sym("conv_Y"),
                          symbolic=sp.ImmutableMatrix(m), data={"channel": c}))
    answers: dict[str, Any] = {"Y": Y}
    info: dict[str, Any] = {"stride": S}
    if mode == "max":
        answers["argmax"] = _pooled(positions, False, is_global)
        info["torch_indices"] = _pooled(
            [[[None if p is None else (p[0] - 1) * W + (p[1] - 1) for p in row] for row in m]
             for m in positions], False, is_global)
        steps.append(Step(key="pooling.argmax"))
    elif P and not is_global:
        info["Y_other"] = _pooled(others, True, is_global)
        info["other_count_include_pad"] = not count_include_pad
    return Result(convention=mode, steps=tuple(steps), answers=answers, info=info)


@dataclass(frozen=True)
class _Windows:
    """Where pooling's windows lie: the window's side (None: global), the padding, the stride,
    the output's height and width, and the input's."""

    k: int | None
    padding: int
    stride: int
    Ho: int
    Wo: int
    H: int
    W: int


def _pooling_windows(H: int, W: int, C: int, size: int, stride: int | None, padding: int,
                     mode: str, count_include_pad: bool, is_global: bool
                     ) -> tuple[list[Step], _Windows]:
    """The given step group: the question's numbers, the output's size and the padding's
    meaning. Returns the steps and where the windows lie.

    Raises:
        InputError: the padding is more than half the window, or the window is larger than the
            padded input.
    """
    if is_global:
        step = Step(key=f"pooling.global_{mode}", data={"H": H, "W": W, "C": C})
        return [step], _Windows(k=None, padding=0, stride=1, Ho=1, Wo=1, H=H, W=W)
    S = size if stride is None else stride
    if padding > size // 2:
        raise InputError("padding", Said("convolution.errors.half_window", n=size // 2),
                         str(padding))
    if size > H + 2 * padding or size > W + 2 * padding:
        raise InputError("size", Said("convolution.errors.window_size",
                                      shape=f"{H + 2 * padding} x {W + 2 * padding}"),
                         str(size))
    P = padding
    steps = [Step(key=f"pooling.given_{mode}", data={
        "H": H, "W": W, "C": C, "size": size, "stride": S, "padding": P, "mode": mode,
        "default_stride": stride is None})]
    size_steps, (Ho, Wo) = _size_steps("pooling.size", [
        ("conv_H_out", "conv_H", H, "conv_k", size),
        ("conv_W_out", "conv_W", W, "conv_k", size)], P, S)
    steps += size_steps
    if P:
        steps.append(Step(key=f"pooling.padded_{mode}",
                          data={"padding": P, "include": count_include_pad}))
    return steps, _Windows(k=size, padding=P, stride=S, Ho=Ho, Wo=Wo, H=H, W=W)


def _pool_channel(c: int, x: Any, C: int, window: _Windows, mode: str,
                  count_include_pad: bool, is_global: bool, mistake: str | None
                  ) -> tuple[list[Step], list[list[Any]], list[list[Any]], list[list[Any]]]:
    """The entries step group of channel c: one step per output entry. Returns the steps, the
    pooled values, the argmax positions and the values under the other count_include_pad."""
    k, P, S, H, W = window.k, window.padding, window.stride, window.H, window.W
    steps: list[Step] = []
    grid = [[x[i - P, j - P] if P <= i < P + H and P <= j < P + W else None
             for j in range(W + 2 * P)] for i in range(H + 2 * P)]
    values, chosen, other_values = [], [], []
    for i in range(1, window.Ho + 1):
        row, row_pos, row_other = [], [], []
        for j in range(1, window.Wo + 1):
            if is_global:
                r0 = c0 = 0
                rows, cols = (1, H), (1, W)
            else:
                r0, c0 = S * (i - 1), S * (j - 1)
                side = k or 0  # not global: the window size
                rows, cols = (r0 + 1, r0 + side), (c0 + 1, c0 + side)
            cells = [line[cols[0] - 1:cols[1]] for line in grid[rows[0] - 1:rows[1]]]
            at: tuple[int, ...] = (i, j) if not is_global else ()
            if C > 1:
                at = (c, *at)
            label = (_indexed("conv_X" if not P else "conv_X_pad",
                              f"{rows[0]}:{rows[1]}", f"{cols[0]}:{cols[1]}")
                     if not (is_global and C == 1) else sym("conv_X"))
            if is_global and C > 1:
                label = _indexed("conv_X", c)
            step, value, position, other = _pool_entry(
                at or (1,), cells, (r0 + 1, c0 + 1), P, mode, count_include_pad, label,
                mistake)
            if not at:
                step = replace(step, lhs=sym("conv_Y"))
            steps.append(step)
            if position is not None:
                if mistake == "argmax-zero-based":
                    position = [position[0] - 1, position[1] - 1]
                elif mistake == "argmax-in-window":
                    position = [position[0] - r0 + P, position[1] - c0 + P]
            row.append(value)
            row_pos.append(position)
            row_other.append(other)
        values.append(row)
        chosen.append(row_pos)
        other_values.append(row_other)
    return steps, values, chosen, other_values


def _pooled(per_channel: list[list[list[Any]]], matrix: bool, is_global: bool) -> Any:
    """Per-channel maps as the answer gives them: one number per channel when global, a list
    over channels only when there are several."""
    C = len(per_channel)
    if is_global:
        flat = [m[0][0] for m in per_channel]
        return flat if C > 1 else flat[0]
    forms = [sp.ImmutableMatrix(m) if matrix else m for m in per_channel]
    return forms if C > 1 else forms[0]
