"""conv2d and pooling by PyTorch (``torch.nn.functional.conv2d``, ``max_pool2d`` with
``return_indices=True``, ``avg_pool2d``), in float64, and each named mistake as a student would
make it (the question's numbers changed, or the frameworks' results read another way)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812 (PyTorch's own short name)

from reference import reference

# the mistakes a student makes by reading the question's numbers otherwise
_CONV_CHANGES: dict[str | None, dict[str, Any]] = {
    "kernel-flipped": {"op": "convolution"}, "kernel-not-flipped": {"op": "cross-correlation"},
    "padding-ignored": {"padding": 0}, "stride-ignored": {"stride": 1},
    "bias-left-out": {"b": None},
}
_POOL_CHANGES: dict[str | None, dict[str, Any]] = {
    "stride-one": {"stride": 1}, "padding-ignored": {"padding": 0},
    "pad-zeros-not-counted": {"count_include_pad": False},
    "pad-zeros-counted": {"count_include_pad": True},
}


def _tensor(value: Any) -> torch.Tensor:
    return torch.tensor(value, dtype=torch.float64)


def conv2d_torch(params: dict[str, Any], mistake: str | None = None) -> Any:
    """Y as nested lists: H' x W' for a kernel without a filter dimension, else F x H' x W'."""
    p = {**params, **_CONV_CHANGES.get(mistake, {})}
    x = _tensor(p["X"])
    if x.dim() == 2:
        x = x[None]
    k = _tensor(p["K"])
    banked = k.dim() == 4
    while k.dim() < 4:
        k = k[None]
    if mistake == "channels-not-summed":
        x, k = x[:1], k[:, :1]
    if p["op"] == "convolution":
        k = torch.flip(k, dims=(-2, -1))
    bias = None
    if p["b"] is not None:
        bias = _tensor(p["b"]).reshape(-1)
        bias = bias.expand(k.shape[0]) if bias.numel() == 1 else bias
    y = F.conv2d(x[None], k, bias, stride=p["stride"], padding=p["padding"])[0]
    return y.tolist() if banked else y[0].tolist()


@reference("conv2d")
def conv2d(params: dict[str, Any], mistake: str | None) -> dict[str, Any]:
    return {"Y": conv2d_torch(params, mistake)}


def pooling_torch(params: dict[str, Any], mistake: str | None = None) -> dict[str, Any]:
    """Y and, for max pooling, argmax as 1-based (row, column) pairs in the input."""
    p = {**params, **_POOL_CHANGES.get(mistake, {})}
    x = _tensor(p["X"])
    one_channel = x.dim() == 2
    if one_channel:
        x = x[None]
    channels, width = x.shape[0], x.shape[2]
    as_max = (p["mode"] == "max") != (mistake in ("average-for-max", "max-for-average"))
    if p["global"]:
        flat = x.reshape(channels, -1)
        y = flat.amax(dim=1) if as_max else flat.mean(dim=1)
        index = flat.argmax(dim=1)  # the first maximum, as documented
        windows = torch.zeros_like(index)  # the whole map is the window
        starts = (windows, windows)
    else:
        size, padding = p["size"], p["padding"]
        stride = p["stride"] if p["stride"] is not None else size
        if as_max:
            y = F.max_pool2d(x[None], size, stride, padding)[0]
        else:
            y = F.avg_pool2d(x[None], size, stride, padding,
                             count_include_pad=p["count_include_pad"])[0]
        _, index = F.max_pool2d(x[None], size, stride, padding, return_indices=True)
        index = index[0]
        ho, wo = index.shape[-2:]
        starts = (torch.arange(ho)[:, None] * stride - padding,
                  torch.arange(wo)[None, :] * stride - padding)
    out: dict[str, Any] = {"Y": y.tolist() if not one_channel else y[0].tolist()}
    if p["mode"] == "max":
        rows, cols = index // width + 1, index % width + 1
        if mistake == "argmax-zero-based":
            rows, cols = rows - 1, cols - 1
        elif mistake == "argmax-in-window":
            rows, cols = rows - starts[0], cols - starts[1]
        pairs = torch.stack((rows, cols), dim=-1)
        out["argmax"] = pairs.tolist() if not one_channel else pairs[0].tolist()
    return out


@reference("pooling")
def pooling(params: dict[str, Any], mistake: str | None) -> dict[str, Any]:
    return pooling_torch(params, mistake)
