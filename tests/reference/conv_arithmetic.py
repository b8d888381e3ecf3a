"""conv-arithmetic by torch.nn (right answers) and by the mistaken formulas written out.

Right sizes are the shapes ``torch.nn.Conv2d`` / ``Conv1d`` give on an input of that size (with
its own ``padding``, ``stride`` and ``dilation``); ``same`` pads as TensorFlow documents it
(``tf.nn.convolution``: out = ceil(n / s), pad_total = max((out - 1) s + (k - 1) d + 1 - n, 0),
pad_top = pad_total // 2), the padded input then run through torch with no padding. Parameters
are those of the torch modules of the same sizes.
"""

from __future__ import annotations

import math
from typing import Any

from reference import reference


def _axes(p: dict[str, Any]) -> tuple[list[int], list[int], list[int], list[int]]:
    n = p["n"] if isinstance(p["n"], list) else [p["n"]]

    def per_axis(value: Any) -> list[int]:
        return list(value) if isinstance(value, list) else [value] * len(n)

    return n, per_axis(p["k"]), per_axis(p["s"]), per_axis(p["d"])


def _torch_out(n: int, k: int, s: int, d: int, before: int, after: int) -> int:
    """The output length torch.nn.Conv1d gives on n positions with these zeros around."""
    import torch

    x = torch.zeros(1, 1, n + before + after)
    conv = torch.nn.Conv1d(1, 1, k, stride=s, dilation=d, bias=False)
    if n + before + after < (k - 1) * d + 1:
        return 0
    with torch.no_grad():
        return int(conv(x).shape[-1])


def _tf_same(n: int, k: int, s: int, d: int) -> tuple[int, int]:
    out = math.ceil(n / s)
    total = max((out - 1) * s + (k - 1) * d + 1 - n, 0)
    return total, total // 2


def _layer(n: int, k: int, s: int, d: int, p: Any, mistake: str | None) -> tuple[int, int, int]:
    """(size, padding per side as answered, padding in all as answered)."""
    reach = (k - 1) * d + 1
    if p == "same":
        out = math.ceil(n / s)
        total, top = _tf_same(n, k, s, d)
        if mistake == "padding-once":
            return out, total, 2 * total
        if mistake == "no-plus-one":
            total = max(out * s + reach - n, 0)
            return out, total // 2, total
        return _torch_out(n, k, s, d, top, total - top), top, total
    pad = 0 if p == "valid" else p
    if mistake == "padding-once":
        return math.floor((n + pad - reach) / s) + 1, pad, 2 * pad
    if mistake == "no-plus-one":
        return math.floor((n + 2 * pad - reach) / s), pad, 2 * pad
    if mistake == "stride-first":
        return math.floor((n + 2 * pad) / s) - reach + 1, pad, 2 * pad
    return _torch_out(n, k, s, d, pad, pad), pad, 2 * pad


def _params(kernel: list[int], channels: int, filters: int, bias: bool) -> int:
    import torch

    conv = torch.nn.Conv2d if len(kernel) == 2 else torch.nn.Conv1d
    module = conv(channels, filters, tuple(kernel), bias=bias)
    return sum(t.numel() for t in module.parameters())


@reference("conv-arithmetic")
def conv_arithmetic(p: dict[str, Any], mistake: str | None) -> dict[str, Any]:
    n, k, s, d = _axes(p)
    sizes, first = [], None
    current = list(n)
    for _ in range(p["repeat"]):
        layer = [_layer(current[a], k[a], s[a], d[a], p["p"], mistake) for a in range(len(n))]
        first = first or layer
        current = [entry[0] for entry in layer]
        sizes.append(current)

    def shown(values: list[int]) -> Any:
        return values[0] if len(values) == 1 else values

    out: dict[str, Any] = {"output_size": shown(sizes[-1]), "sizes": [shown(x) for x in sizes],
                           "padding": shown([e[1] for e in first]),
                           "padding_total": shown([e[2] for e in first])}
    square = len(n) == 1 and p.get("rank", "2") == "2"
    filters, channels = p.get("filters"), p.get("channels")
    if filters is not None:
        out["output_volume"] = math.prod(sizes[-1]) ** (2 if square else 1) * filters
    if filters is not None and channels is not None:
        kernel = [k[0], k[0]] if square else k
        bias = mistake != "no-bias"
        if mistake == "no-channels":  # each filter as if it read one channel
            channels = 1
        out["params"] = _params(kernel, channels, filters, bias) + (p["repeat"] - 1) * _params(
            kernel, 1 if mistake == "no-channels" else filters, filters, bias)
    return out
