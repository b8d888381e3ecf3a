"""Q5: the number of trainable parameters of a stacked Keras / PyTorch model.

A recurrent layer with ``k`` gate blocks, ``n`` units and input width ``m`` has ``k`` input weight
matrices (n x m), ``k`` recurrent matrices (n x n) and ``beta`` bias vectors per gate: Keras keeps
one (beta = 1) for SimpleRNN, LSTM and GRU(reset_after=False), two for GRU(reset_after=True, its
default); PyTorch keeps two everywhere (b_ih and b_hh). So P = k n (n + m + beta).
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from dlexam.derivations.core import Result, Step, derivation, three_part
from dlexam.derivations.model_spec import (
    MODEL_MAX_LENGTH,
    MODEL_MAX_NUMBER,
    LayerSpec,
    parse_model,
)
from dlexam.derivations.params import Param
from dlexam.errors import InputError
from dlexam.notation import register_symbols, sym

register_symbols({
    "n_units": ("n", "n"),
    "n_in": ("m", "m"),
    "n_gates": ("k", "k"),
    "n_bias": (r"\beta", "beta"),
    "P": ("P", "P"),
    "P_total": (r"P_{\mathrm{total}}", "P_total"),
    "vocab": ("v", "v"),
    "emb_dim": ("d", "d"),
})

n, m, v, d = sym("n_units"), sym("n_in"), sym("vocab"), sym("emb_dim")

# Keras name -> (gate blocks, PyTorch module)
_RECURRENT = {"SimpleRNN": 1, "LSTM": 4, "GRU": 3}
_ALLOWED_KWARGS = {
    "SimpleRNN": {"units", "return_sequences", "input_shape", "activation", "return_state"},
    "LSTM": {"units", "return_sequences", "input_shape", "activation", "return_state"},
    "GRU": {
        "units", "return_sequences", "input_shape", "activation", "return_state", "reset_after"
    },
    "Dense": {"units", "activation", "use_bias", "input_shape"},
    "Embedding": {"input_dim", "output_dim", "input_length", "input_shape", "mask_zero"},
    "Bidirectional": {"layer", "merge_mode", "input_shape"},
}


# the arguments that change a count or a shape, and must be True or False (a quoted 'False' is
# a string, which Python would read as true: refused rather than guessed)
_BOOL_KWARGS = ("return_sequences", "reset_after", "use_bias", "return_state", "mask_zero")


@dataclass(frozen=True)
class _Layer:
    kind: str
    units: int
    options: dict[str, object]
    inner: _Layer | None = None


# the keyword each positional argument stands for
_POSITIONAL = {
    "SimpleRNN": ((0, "units"),), "LSTM": ((0, "units"),), "GRU": ((0, "units"),),
    "Dense": ((0, "units"),), "Embedding": ((0, "input_dim"), (1, "output_dim")),
    "Bidirectional": ((0, "layer"),),
}


def _positive_int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InputError("model", f"{what} as a whole number > 0", repr(value))
    return value


def _layer(spec: LayerSpec, position: int) -> _Layer:
    kind = spec.kind
    where = f"layer {position} ({kind})"
    if kind not in _ALLOWED_KWARGS:
        raise InputError(
            "model", "layers of the kinds " + ", ".join(sorted(_ALLOWED_KWARGS)), f"{kind!r}"
        )
    unknown = set(spec.kwargs) - _ALLOWED_KWARGS[kind]
    if unknown:
        raise InputError("model", f"known arguments for {kind}", f"{', '.join(sorted(unknown))}")
    options = dict(spec.kwargs)
    for key in _BOOL_KWARGS:
        if key in options and not isinstance(options[key], bool):
            raise InputError("model", f"{where}: {key}=True or {key}=False",
                             repr(options[key]))
    for position_index, key in _POSITIONAL.get(kind, ()):
        if len(spec.args) > position_index and key in options:
            raise InputError("model", f"{where}: {key} given once (positionally or as {key}=)",
                             "both")
    if kind == "Bidirectional":
        inner_spec = spec.args[0] if spec.args else options.get("layer")
        if not isinstance(inner_spec, LayerSpec) or inner_spec.kind not in _RECURRENT:
            raise InputError("model", "Bidirectional(LSTM(n)) wrapping a recurrent layer", where)
        merge = options.get("merge_mode", "concat")
        if merge != "concat":
            raise InputError("model", "Bidirectional with merge_mode='concat'", repr(merge))
        inner = _layer(inner_spec, position)
        return _Layer(kind, 2 * inner.units, options, inner)
    if kind == "Embedding":
        args = list(spec.args)
        vocab = args[0] if len(args) > 0 else options.get("input_dim")
        dim = args[1] if len(args) > 1 else options.get("output_dim")
        vocab = _positive_int(vocab, f"{where}: a vocabulary size")
        dim = _positive_int(dim, f"{where}: an embedding width")
        return _Layer(kind, dim, {**options, "vocab": vocab})
    units = spec.args[0] if spec.args else options.get("units")
    if len(spec.args) > 1:
        raise InputError("model", f"{where}: one positional argument (units)", f"{len(spec.args)}")
    return _Layer(kind, _positive_int(units, f"{where}: units"), options)


def _input_shape(spec: LayerSpec) -> object:
    """The first layer's input_shape: on the layer, or on the layer a Bidirectional wraps."""
    if "input_shape" in spec.kwargs:
        return spec.kwargs["input_shape"]
    if spec.kind == "Bidirectional":
        inner = spec.args[0] if spec.args else spec.kwargs.get("layer")
        if isinstance(inner, LayerSpec):
            return inner.kwargs.get("input_shape")
    return None


def _recurrent_count(
    layer: _Layer, width_in: int, framework: str, index: int
) -> tuple[sp.Expr, dict[sp.Symbol, int], dict[str, object]]:
    gates = _RECURRENT[layer.kind]
    reset_after = bool(layer.options.get("reset_after", True))
    if layer.kind == "GRU" and framework == "pytorch" and not reset_after:
        raise InputError(
            "model",
            "GRU without reset_after=False under framework=pytorch "
            "(torch.nn.GRU always applies the reset gate after the product, like reset_after=True)",
            f"layer {index}",
        )
    two_biases = framework == "pytorch" or (layer.kind == "GRU" and reset_after)
    biases = 2 if two_biases else 1
    with sp.evaluate(False):
        formula = sp.Mul(gates, n, sp.Add(n, m, biases))
    data = {"gates": gates, "biases": biases, "reset_after": reset_after}
    return formula, {n: layer.units, m: width_in}, data


@derivation(
    "param-count",
    params=[
        Param("model", "string", max_length=MODEL_MAX_LENGTH),
        Param("input_dim", "int", default=None, minimum=1, maximum=MODEL_MAX_NUMBER),
        Param("framework", "choice", default="keras", choices=("keras", "pytorch")),
        Param("timesteps", "int", default=None, minimum=1, maximum=MODEL_MAX_NUMBER),
    ],
)
def param_count(
    model: str, input_dim: int | None, framework: str, timesteps: int | None
) -> Result:
    """Counts each layer's trainable parameters and the total, in one framework's convention.

    Args:
        model: a Keras-style layer list, e.g. ``"LSTM(30, return_sequences=True), Dense(1)"``.
        input_dim: the width of one input vector (the features per time step). May instead come
            from ``input_shape=(timesteps, features)`` on the first layer.
        framework: ``"keras"`` or ``"pytorch"`` (whose recurrent layers keep two biases per gate).
        timesteps: the sequence length, used only for the output shapes.
    """
    specs = parse_model(model)
    layers = [_layer(s, i + 1) for i, s in enumerate(specs)]
    first_shape = _input_shape(specs[0])
    if first_shape is not None:
        if (
            not isinstance(first_shape, tuple)
            or len(first_shape) != 2
            or not all(isinstance(x, (int, type(None))) for x in first_shape)
        ):
            raise InputError("model", "input_shape=(timesteps, features)", repr(first_shape))
        shape_steps, shape_features = first_shape
        if input_dim is not None and shape_features != input_dim:
            raise InputError("input_dim", f"{shape_features} (as input_shape says)", str(input_dim))
        input_dim = shape_features if input_dim is None else input_dim
        timesteps = shape_steps if timesteps is None else timesteps
    if input_dim is None and layers[0].kind != "Embedding":
        raise InputError("input_dim", "the input width (or input_shape=(T, m) on the first layer)",
                         "nothing")

    steps: list[Step] = []
    counts: list[int] = []
    widths: list[int] = []
    shapes: list[list[int | None]] = []
    sequence = True  # the data entering a layer has a time axis
    width = input_dim or 0
    for index, layer in enumerate(layers, start=1):
        lhs = sp.Symbol(f"P_{index}")
        if layer.kind == "Embedding":
            vocab = int(layer.options["vocab"])  # type: ignore[call-overload]
            with sp.evaluate(False):
                formula = sp.Mul(v, d)
            step = three_part("param_count.embedding", lhs, formula, {v: vocab, d: layer.units},
                              index=index, layer="Embedding", vocab=vocab, units=layer.units)
        elif layer.kind == "Dense":
            use_bias = bool(layer.options.get("use_bias", True))
            with sp.evaluate(False):
                formula = sp.Mul(n, sp.Add(m, 1)) if use_bias else sp.Mul(n, m)
            step = three_part(
                "param_count.dense" if use_bias else "param_count.dense_nobias", lhs, formula,
                {n: layer.units, m: width}, index=index, layer="Dense", units=layer.units,
                width_in=width,
            )
        else:
            cell = layer.inner or layer
            formula, values, data = _recurrent_count(cell, width, framework, index)
            key = f"param_count.{cell.kind.lower()}"
            if data["biases"] == 2:
                key += "_two_biases"
            if layer.kind == "Bidirectional":
                with sp.evaluate(False):
                    formula = sp.Mul(2, formula)
                key = "param_count.bidirectional"
            step = three_part(key, lhs, formula, values, index=index, layer=layer.kind,
                              cell=cell.kind, units=cell.units, width_in=width,
                              framework=framework, **data)
        steps.append(step)
        counts.append(int(step.value))
        width = layer.units
        widths.append(width)
        cell = layer.inner or layer
        if cell.kind in _RECURRENT and not bool(cell.options.get("return_sequences", False)):
            sequence = False
        shapes.append([None, timesteps, width] if sequence else [None, width])

    parts = [sp.Symbol(f"P_{i}") for i in range(1, len(layers) + 1)]
    with sp.evaluate(False):
        total_formula = sp.Add(*parts) if len(parts) > 1 else parts[0]
    shown_name = {"keras": "Keras", "pytorch": "PyTorch"}[framework]
    steps.append(three_part("param_count.total", sym("P_total"), total_formula,
                            dict(zip(parts, counts, strict=True)), framework=shown_name))
    steps.append(Step(key=f"param_count.convention_{framework}", data={"framework": shown_name}))
    return Result(
        derivation="param-count",
        params={},
        convention=framework,
        steps=tuple(steps),
        answers={
            "layers": counts,
            "total": sum(counts),
            "layer_types": [layer.kind for layer in layers],
            "output_widths": widths,
            "output_shapes": shapes,
        },
    )
