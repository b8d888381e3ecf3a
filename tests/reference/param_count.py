"""param-count counted by Keras 3 and torch.nn (right answers), and by the formulas (mistakes).

The model text is read with Python's own ``ast`` parser (never evaluated): each layer is a call
such as ``LSTM(30, return_sequences=True)``, chains of a functional model are separated by ``;``.
The right counts come from the frameworks themselves: Keras' ``count_params()`` (and its
non-trainable weights) on a functional model built from each chain, or the parameters of the
``torch.nn`` modules of the same sizes (the input widths read off the Keras model). A mistake's
counts are written out here from the formulas, with the mistaken k, m or beta. Keras runs on the
torch backend (tests/conftest.py sets KERAS_BACKEND before any test imports it).
"""

from __future__ import annotations

import ast
import math
from functools import cache
from typing import Any

from reference import reference

GATES = {"SimpleRNN": 1, "LSTM": 4, "GRU": 3}
_POSITIONAL = {
    "Embedding": ("input_dim", "output_dim"), "Bidirectional": ("layer",),
    "TimeDistributed": ("layer",), "Dropout": ("rate",), "Input": ("shape",),
    "Activation": ("activation",), "RepeatVector": ("n",), "Reshape": ("target_shape",),
    "Conv1D": ("filters", "kernel_size"), "Conv2D": ("filters", "kernel_size"),
    "MaxPooling1D": ("pool_size",), "MaxPooling2D": ("pool_size",),
    "AveragePooling1D": ("pool_size",), "AveragePooling2D": ("pool_size",),
    "ZeroPadding1D": ("padding",), "ZeroPadding2D": ("padding",),
}


def _value(node: ast.expr) -> Any:
    if isinstance(node, ast.Call):
        return _layer(node)
    value = ast.literal_eval(node)
    return tuple(value) if isinstance(value, list) else value


def _layer(node: ast.Call) -> dict[str, Any]:
    func = node.func
    kind = func.attr if isinstance(func, ast.Attribute) else func.id  # type: ignore[attr-defined]
    names = _POSITIONAL.get(kind, ("units",))
    out: dict[str, Any] = {"kind": kind}
    for name, arg in zip(names, node.args, strict=False):
        out[name] = _value(arg)
    for keyword in node.keywords:
        out[keyword.arg] = _value(keyword.value)
    return out


def chains_of(model: str) -> list[list[dict[str, Any]]]:
    """The model text as chains of layer dictionaries (``kind``, ``units``, keyword arguments)."""
    chains = []
    for text in model.split(";"):
        if not text.strip():
            continue
        tree = ast.parse(text.strip(), mode="eval").body
        items: list[ast.expr] = [tree] if isinstance(tree, ast.Call) else list(tree.elts)  # type: ignore[attr-defined]
        chains.append([_layer(item) for item in items])  # type: ignore[arg-type]
    return chains


def layers_of(model: str) -> list[dict[str, Any]]:
    """Every layer of the model, chain after chain."""
    return [layer for chain in chains_of(model) for layer in chain]


def input_shape(chain: list[dict[str, Any]], params: dict[str, Any]) -> tuple[Any, ...]:
    """A chain's input shape (batch left out): input_shape, Input(shape), or the parameters."""
    first = chain[0]
    if first["kind"] == "Input":
        return tuple(first["shape"])
    shape = first.get("input_shape") or (first.get("layer") or {}).get("input_shape") or \
        params.get("input_shape")
    steps, width = params.get("timesteps"), params.get("input_dim")
    if shape is not None:
        shape = tuple(shape)
        return (steps, shape[1]) if len(shape) == 2 and steps is not None else shape
    if first["kind"] == "Embedding":
        return (steps,)
    return (width,) if first["kind"] == "Dense" else (steps, width)


_ZEROS = {"kernel_initializer": "zeros"}


def _keras_layer(layer: dict[str, Any]) -> Any:
    import keras

    kind = layer["kind"]
    options = {k: v for k, v in layer.items() if k not in ("kind", "input_shape")}
    if kind in ("Bidirectional", "TimeDistributed"):
        options["layer"] = _keras_layer(layer["layer"])
    elif kind in GATES:
        options.update(recurrent_initializer="zeros", **_ZEROS)
    elif kind in ("Dense", "Conv1D", "Conv2D"):
        options.update(_ZEROS)
    elif kind == "Embedding":
        options.update(embeddings_initializer="zeros")
    return getattr(keras.layers, kind)(**options)


def _keras_layers(layer: dict[str, Any]) -> list[Any]:
    """The Keras layers of one layer: PyTorch's zeros on each side (``padding=2``) become a
    ZeroPadding layer in front of the same layer with ``padding='valid'``."""
    import keras

    padding = layer.get("padding")
    if layer["kind"] in ("ZeroPadding1D", "ZeroPadding2D") or not isinstance(padding, (int,
                                                                                      tuple)):
        return [_keras_layer(layer)]
    rank = 2 if layer["kind"].endswith("2D") else 1
    pad = getattr(keras.layers, f"ZeroPadding{rank}D")(padding if rank == 2 or isinstance(
        padding, int) else padding[0])
    return [pad, _keras_layer({**layer, "padding": "valid"})]


@cache
def keras_model(model: str, shapes: tuple[tuple[Any, ...], ...]) -> list[list[dict[str, Any]]]:
    """Each chain's layers as Keras builds them: each one's count, non-trainable count, input
    and output shapes."""
    import keras

    chains = []
    for chain, shape in zip(chains_of(model), shapes, strict=True):
        out: list[dict[str, Any]] = []
        chains.append(out)
        x = keras.Input(shape=shape)
        for layer in chain:
            if layer["kind"] == "Input":
                continue
            *padding, built = _keras_layers(layer)
            x_padded = x
            for extra in padding:
                x_padded = extra(x_padded)
            y = built(x_padded, x_padded) if layer["kind"] == "MultiHeadAttention" else \
                built(x_padded)
            out.append({"count": built.count_params(),
                        "frozen": sum(math.prod(w.shape) for w in built.non_trainable_weights),
                        "in": tuple(x.shape[1:]), "out": tuple(y.shape), "layer": layer})
            x = y
    return chains


def _shapes(model: str, params: dict[str, Any]) -> tuple[tuple[Any, ...], ...]:
    return tuple(input_shape(chain, params) for chain in chains_of(model))


def torch_count(layer: dict[str, Any], shape_in: tuple[Any, ...]) -> tuple[int, int]:
    """The parameters of the torch.nn module of the same sizes, and its running statistics."""
    import torch

    kind, width = layer["kind"], shape_in[-1]
    bias = layer.get("use_bias", True)
    modules = {"SimpleRNN": torch.nn.RNN, "LSTM": torch.nn.LSTM, "GRU": torch.nn.GRU}
    if kind == "Embedding":
        module: torch.nn.Module = torch.nn.Embedding(layer["input_dim"], layer["output_dim"])
    elif kind in ("Dense", "TimeDistributed"):
        dense = layer.get("layer", layer)
        module = torch.nn.Linear(width, dense["units"], bias=dense.get("use_bias", True))
    elif kind in ("Conv1D", "Conv2D"):
        conv = torch.nn.Conv1d if kind == "Conv1D" else torch.nn.Conv2d
        module = conv(width, layer["filters"], layer["kernel_size"], bias=bias)
    elif kind == "BatchNormalization":
        module = torch.nn.BatchNorm1d(width)
    elif kind == "LayerNormalization":
        module = torch.nn.LayerNorm(width)
    elif kind == "MultiHeadAttention":
        module = torch.nn.MultiheadAttention(width, layer["num_heads"], bias=bias)
    elif kind in GATES or kind == "Bidirectional":
        cell = layer.get("layer", layer)
        module = modules[cell["kind"]](width, cell["units"], bias=cell.get("use_bias", True),
                                       bidirectional=kind == "Bidirectional")
    else:
        return 0, 0
    running = sum(b.numel() for name, b in module.named_buffers() if name.startswith("running"))
    return sum(p.numel() for p in module.parameters()), running


def formula_count(layer: dict[str, Any], m: int, framework: str, mistake: str | None) -> int:
    """One layer's count from the formulas, with the mistake's k, m or beta."""
    kind = layer["kind"]
    bias = layer.get("use_bias", True) and mistake != "no-bias"
    if kind == "Embedding":
        return layer["input_dim"] * layer["output_dim"]
    if kind in ("Dense", "TimeDistributed"):
        dense = layer.get("layer", layer)
        return dense["units"] * (m + (dense.get("use_bias", True) and mistake != "no-bias"))
    if kind in ("Conv1D", "Conv2D"):
        size = layer["kernel_size"]
        window = math.prod(size) if isinstance(size, tuple) else size ** (1 + (kind == "Conv2D"))
        return layer["filters"] * (window * m + bias)
    if kind == "BatchNormalization":
        return 4 * m if framework == "keras" else 2 * m
    if kind == "LayerNormalization":
        return 2 * m
    if kind == "MultiHeadAttention":
        h, dk = layer["num_heads"], layer["key_dim"]
        dv = layer.get("value_dim") or dk
        return 2 * h * dk * (m + bias) + h * dv * (m + bias) + m * h * dv + (m if bias else 0)
    if kind in GATES or kind == "Bidirectional":
        cell = layer.get("layer", layer)
        n, k = cell["units"], GATES[cell["kind"]]
        if not cell.get("use_bias", True):
            beta = 0
        else:
            if framework == "pytorch":
                beta = 2
            else:
                beta = 2 if cell["kind"] == "GRU" and cell.get("reset_after", True) else 1
            beta = {"pytorch-biases": 2, "keras-biases": 1, "no-bias": 0}.get(mistake, beta)
            if mistake == "keras-gru-one-bias" and cell["kind"] == "GRU":
                beta = 1
        if mistake == "no-gate-factor":
            k = 1
        recurrent = 0 if mistake == "recurrent-weights-left-out" else n
        doubled = kind == "Bidirectional" and mistake != "bidirectional-not-doubled"
        return k * n * (recurrent + m + beta) * (2 if doubled else 1)
    return 0


_WINDOWS = ("Conv1D", "Conv2D", "MaxPooling1D", "MaxPooling2D", "AveragePooling1D",
            "AveragePooling2D")
_ALONE = ("Dense", "TimeDistributed", "Dropout", "Activation", "BatchNormalization",
          "LayerNormalization", "Embedding", "ZeroPadding1D", "ZeroPadding2D")
_LENGTH = 8192


def _first(value: Any, default: int) -> int:
    if value is None:
        return default
    return value[0] if isinstance(value, tuple) else value


def _torch_window(layer: dict[str, Any]) -> Any:
    """The layer's window along the first axis as a torch op on one channel: a convolution
    with weights 1, or an average pooling (a max pooling's gradient reaches one input only)."""
    import torch

    if layer["kind"].startswith("Conv"):
        kernel = _first(layer["kernel_size"], 1)
        conv = torch.nn.Conv1d(1, 1, kernel, stride=_first(layer.get("strides"), 1),
                               dilation=_first(layer.get("dilation_rate"), 1), bias=False)
        torch.nn.init.ones_(conv.weight)
        return conv
    kernel = _first(layer.get("pool_size"), 2)
    return torch.nn.AvgPool1d(kernel, stride=_first(layer.get("strides"), kernel))


def torch_fields(chain: list[dict[str, Any]], whole: int) -> list[tuple[int, int]]:
    """Each layer's receptive field and jump along the first axis, measured: the input
    positions whose gradient reaches a middle unit (first to last), and how far the first of
    them moves to the next unit. Layers that mix every position give the whole input."""
    import torch

    ops: list[Any] = []
    out: list[tuple[int, int]] = []
    spread = False
    for layer in chain:
        if layer["kind"] == "Input":
            continue
        if spread or layer["kind"] not in (*_WINDOWS, *_ALONE):
            spread = True
            out.append((whole, whole))
            continue
        if layer["kind"] in _WINDOWS:
            ops.append(_torch_window(layer))
        if not ops:
            out.append((1, 1))
            continue
        starts = []
        field = 0
        for shift in (0, 1):
            x = torch.ones(1, 1, _LENGTH, requires_grad=True)
            y = x
            for op in ops:
                y = op(y)
            y[0, 0, y.shape[-1] // 2 + shift].backward()
            reached = torch.nonzero(x.grad[0, 0]).flatten()
            starts.append(int(reached[0]))
            field = int(reached[-1] - reached[0]) + 1
        out.append((field, starts[1] - starts[0]))
    return out


def _fields(p: dict[str, Any], shapes: tuple[tuple[Any, ...], ...]) -> list[tuple[int, int]] | None:
    chains = chains_of(p["model"])
    if not any(layer["kind"] in _WINDOWS for chain in chains for layer in chain):
        return None
    out: list[tuple[int, int]] = []
    for chain, shape in zip(chains, shapes, strict=True):
        spatial = len(shape) >= 2 or chain[0]["kind"] == "Embedding"
        if not spatial or shape[0] is None:
            return None
        out += torch_fields(chain, shape[0])
    return out


@reference("param-count")
def param_count(p: dict[str, Any], mistake: str | None) -> dict[str, Any]:
    built = keras_model(p["model"], _shapes(p["model"], p))
    counts, frozen, chains = [], [], []
    for chain, layers in zip(chains_of(p["model"]), built, strict=True):
        model_width = layers[0]["in"][-1]
        total = 0
        for entry in layers:
            layer = entry["layer"]
            if mistake is not None:
                m = entry["in"][-1]
                if mistake == "first-input-width" and chain[0]["kind"] != "Embedding":
                    m = model_width
                count = formula_count(layer, m, p["framework"], mistake)
                still = 2 * m if layer["kind"] == "BatchNormalization" else 0
            elif p["framework"] == "keras":
                count, still = entry["count"], entry["frozen"]
            else:
                count, still = torch_count(layer, entry["in"])
            counts.append(count)
            frozen.append(still)
            total += count
        chains.append(total)
    total, non_trainable = sum(counts), sum(frozen)
    trainable = total - non_trainable if p["framework"] == "keras" else total
    out: dict[str, Any] = {"layers": counts, "total": total, "trainable": trainable,
                           "non_trainable": non_trainable, "chains": chains}
    shapes = [list(entry["out"][1:]) for layers in built for entry in layers]
    if all(None not in shape for shape in shapes):
        out["output_shapes"] = shapes
    fields = _fields(p, _shapes(p["model"], p))
    if fields is not None:
        out["receptive_field"] = [field for field, _jump in fields]
        out["jump"] = [jump for _field, jump in fields]
    return out
