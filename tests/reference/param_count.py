"""param-count counted by Keras 3 and torch.nn (right answers), and by the formulas (mistakes).

The model text is read with Python's own ``ast`` parser (never evaluated): each layer is a call
such as ``LSTM(30, return_sequences=True)``. The right counts come from the frameworks
themselves: Keras' ``count_params()`` on a built ``Sequential`` model, or the parameters of the
``torch.nn`` modules of the same sizes. A mistake's counts are k n (n + m + beta) with the
mistaken k, m or beta, written out here from the formulas. Keras runs on the torch backend
(tests/conftest.py sets KERAS_BACKEND before any test imports it).
"""

from __future__ import annotations

import ast
from functools import cache
from typing import Any

from reference import reference

GATES = {"SimpleRNN": 1, "LSTM": 4, "GRU": 3}
_POSITIONAL = {"Embedding": ("input_dim", "output_dim")}


def _value(node: ast.expr) -> Any:
    if isinstance(node, ast.Call):
        return _layer(node)
    return ast.literal_eval(node)


def _layer(node: ast.Call) -> dict[str, Any]:
    func = node.func
    kind = func.attr if isinstance(func, ast.Attribute) else func.id  # type: ignore[attr-defined]
    names = _POSITIONAL.get(kind, ("layer",) if kind == "Bidirectional" else ("units",))
    out: dict[str, Any] = {"kind": kind}
    for name, arg in zip(names, node.args, strict=False):
        out[name] = _value(arg)
    for keyword in node.keywords:
        out[keyword.arg] = _value(keyword.value)
    return out


def layers_of(model: str) -> list[dict[str, Any]]:
    """The model text as a list of layer dictionaries (``kind``, ``units``, keyword arguments)."""
    tree = ast.parse(model.strip(), mode="eval").body
    if isinstance(tree, ast.Call):
        items: list[ast.expr] = [tree]
    else:
        items = list(tree.elts)  # type: ignore[attr-defined]
    return [_layer(item) for item in items]  # type: ignore[arg-type]


def _shape(layers: list[dict[str, Any]], params: dict[str, Any]) -> tuple[int | None, int | None]:
    """(timesteps, input width), from input_shape on the first layer or its wrapped layer."""
    first = layers[0]
    shape = first.get("input_shape") or (first.get("layer") or {}).get("input_shape")
    if shape is not None:
        return shape[0], shape[1]
    return params.get("timesteps"), params.get("input_dim")


def _out_width(layer: dict[str, Any]) -> int:
    if layer["kind"] == "Bidirectional":
        return 2 * layer["layer"]["units"]
    if layer["kind"] == "Embedding":
        return layer["output_dim"]
    return layer["units"]


@cache
def keras_counts(model: str, timesteps: int | None, width: int | None) -> tuple[int, ...]:
    """Keras' own count of every layer."""
    import keras

    # the count does not depend on the values; zeros skip the slow orthogonal initialisation
    zeros = {"kernel_initializer": "zeros"}

    def build(layer: dict[str, Any]) -> Any:
        kind = layer["kind"]
        if kind == "Bidirectional":
            return keras.layers.Bidirectional(build(layer["layer"]))
        if kind == "Embedding":
            return keras.layers.Embedding(layer["input_dim"], layer["output_dim"],
                                          embeddings_initializer="zeros")
        if kind == "Dense":
            return keras.layers.Dense(layer["units"], use_bias=layer.get("use_bias", True),
                                      **zeros)
        options = {"return_sequences": layer.get("return_sequences", False),
                   "recurrent_initializer": "zeros", **zeros}
        if kind == "GRU":
            options["reset_after"] = layer.get("reset_after", True)
        return getattr(keras.layers, kind)(layer["units"], **options)

    layers = layers_of(model)
    steps = timesteps or 4
    first = keras.Input(shape=(steps,) if width is None else (steps, width))
    built = keras.Sequential([first, *[build(layer) for layer in layers]])
    return tuple(layer.count_params() for layer in built.layers)


@cache
def torch_counts(model: str, width: int | None) -> tuple[int, ...]:
    """The parameters of the torch.nn modules of the same sizes."""
    import torch

    modules = {"SimpleRNN": torch.nn.RNN, "LSTM": torch.nn.LSTM, "GRU": torch.nn.GRU}
    counts = []
    for layer in layers_of(model):
        kind = layer["kind"]
        if kind == "Embedding":
            module: torch.nn.Module = torch.nn.Embedding(layer["input_dim"], layer["output_dim"])
        elif kind == "Dense":
            module = torch.nn.Linear(width, layer["units"], bias=layer.get("use_bias", True))
        else:
            cell = layer["layer"] if kind == "Bidirectional" else layer
            module = modules[cell["kind"]](width, cell["units"],
                                           bidirectional=kind == "Bidirectional")
        counts.append(sum(p.numel() for p in module.parameters()))
        width = _out_width(layer)
    return tuple(counts)


def formula_counts(layers: list[dict[str, Any]], width: int | None, framework: str,
                   mistake: str | None) -> list[int]:
    """k n (n + m + beta) per recurrent layer, n (m + 1) per dense layer, v d per embedding,
    with the mistake's k, m or beta."""
    model_width = width
    counts = []
    for layer in layers:
        m = model_width if mistake == "first-input-width" else width
        kind = layer["kind"]
        if kind == "Embedding":
            count = layer["input_dim"] * layer["output_dim"]
        elif kind == "Dense":
            bias = layer.get("use_bias", True) and mistake != "no-bias"
            count = layer["units"] * (m + (1 if bias else 0))
        else:
            cell = layer["layer"] if kind == "Bidirectional" else layer
            n, k = cell["units"], GATES[cell["kind"]]
            if framework == "pytorch":
                beta = 2
            else:
                beta = 2 if cell["kind"] == "GRU" and cell.get("reset_after", True) else 1
            beta = {"pytorch-biases": 2, "keras-biases": 1, "no-bias": 0}.get(mistake, beta)
            if mistake == "no-gate-factor":
                k = 1
            count = k * n * (n + m + beta) * (2 if kind == "Bidirectional" else 1)
        counts.append(count)
        width = _out_width(layer)
    return counts


@reference("param-count")
def param_count(p: dict[str, Any], mistake: str | None) -> dict[str, Any]:
    layers = layers_of(p["model"])
    timesteps, width = _shape(layers, p)
    if mistake is None:
        if p["framework"] == "keras":
            counts = list(keras_counts(p["model"], timesteps, width))
        else:
            counts = list(torch_counts(p["model"], width))
    else:
        counts = formula_counts(layers, width, p["framework"], mistake)
    return {"layers": counts, "total": sum(counts)}
