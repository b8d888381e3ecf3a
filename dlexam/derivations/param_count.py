"""Q5: the number of trainable parameters of a stacked Keras / PyTorch model.

A recurrent layer with ``k`` gate blocks, ``n`` units and input width ``m`` has ``k`` input weight
matrices (n x m), ``k`` recurrent matrices (n x n) and ``beta`` bias vectors per gate: Keras keeps
one (beta = 1) for SimpleRNN, LSTM and GRU(reset_after=False), two for GRU(reset_after=True, its
default); PyTorch keeps two everywhere (b_ih and b_hh). So P = k n (n + m + beta).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import sympy as sp

from dlexam.derivations.contract import ANY, Answer, Follow, Mistake
from dlexam.derivations.conv_geometry import grow, output_length, span
from dlexam.derivations.core import Result, Step, derivation, evaluate_at, terms_of, three_part
from dlexam.derivations.model_spec import (
    MODEL_MAX_LENGTH,
    MODEL_MAX_NUMBER,
    LayerSpec,
    parse_chains,
    parse_model,
)
from dlexam.derivations.params import Param
from dlexam.derivations.sampling import Draw
from dlexam.errors import InputError, Said
from dlexam.notation import register_symbols, sym
from dlexam.notation.display import Series

register_symbols({
    "n_units": ("n", "n"),
    "n_in": ("m", "m"),
    "n_gates": ("k", "k"),
    "n_bias": (r"\beta", "β"),
    "P": ("P", "P"),
    "P_total": (r"P_{\mathrm{total}}", "P_total"),
    "vocab": ("v", "v"),
    "emb_dim": ("d", "d"),
    "conv_filters": ("f", "f"),
    "conv_channels": ("C", "C"),
    "kernel_h": ("k_h", "k_h"),
    "kernel_w": ("k_w", "k_w"),
    "mha_heads": ("h", "h"),
    "mha_key_dim": ("d_k", "d_k"),
    "mha_value_dim": ("d_v", "d_v"),
    "rf_k": ("k", "k"),
    "rf_s": ("s", "s"),
    "rf_d": ("d", "d"),
})

n, m, v, d = sym("n_units"), sym("n_in"), sym("vocab"), sym("emb_dim")
f_, c_, kh_, kw_ = sym("conv_filters"), sym("conv_channels"), sym("kernel_h"), sym("kernel_w")
h_, dk_, dv_ = sym("mha_heads"), sym("mha_key_dim"), sym("mha_value_dim")

# Keras name -> gate blocks
_RECURRENT = {"SimpleRNN": 1, "LSTM": 4, "GRU": 3}
_RNN_KWARGS = {"units", "return_sequences", "input_shape", "activation", "return_state",
               "use_bias"}
_CONV_KWARGS = {"filters", "kernel_size", "strides", "padding", "use_bias", "activation",
                "input_shape", "dilation_rate"}
_POOL_KWARGS = {"pool_size", "strides", "padding", "input_shape"}
_POOLING = {f"{kind}Pooling{rank}D": rank for kind in ("Max", "Average") for rank in (1, 2)}
_GLOBAL = {f"Global{kind}Pooling{rank}D": rank for kind in ("Max", "Average") for rank in (1, 2)}
_ALLOWED_KWARGS: dict[str, set[str]] = {
    "SimpleRNN": _RNN_KWARGS, "LSTM": _RNN_KWARGS, "GRU": _RNN_KWARGS | {"reset_after"},
    "Dense": {"units", "activation", "use_bias", "input_shape"},
    "Embedding": {"input_dim", "output_dim", "input_length", "input_shape", "mask_zero"},
    "Bidirectional": {"layer", "merge_mode", "input_shape"},
    "Dropout": {"rate", "input_shape"},
    "Flatten": {"input_shape"},
    "Input": {"shape"},
    "Activation": {"activation", "input_shape"},
    "RepeatVector": {"n", "input_shape"},
    "Reshape": {"target_shape", "input_shape"},
    "Conv1D": _CONV_KWARGS, "Conv2D": _CONV_KWARGS,
    **{kind: _POOL_KWARGS for kind in _POOLING},
    **{kind: {"input_shape"} for kind in _GLOBAL},
    "BatchNormalization": {"momentum", "epsilon", "input_shape"},
    "LayerNormalization": {"epsilon", "input_shape"},
    "TimeDistributed": {"layer", "input_shape"},
    "MultiHeadAttention": {"num_heads", "key_dim", "value_dim", "use_bias", "dropout",
                           "input_shape"},
    **{kind: {"padding", "input_shape"} for kind in ("ZeroPadding1D", "ZeroPadding2D")},
}

# the arguments that change a count or a shape, and must be True or False (a quoted 'False' is
# a string, which Python would read as true: refused rather than guessed)
_BOOL_KWARGS = ("return_sequences", "reset_after", "use_bias", "return_state", "mask_zero")

# the keyword each positional argument stands for
_POSITIONAL: dict[str, tuple[str, ...]] = {
    "SimpleRNN": ("units",), "LSTM": ("units",), "GRU": ("units",), "Dense": ("units",),
    "Embedding": ("input_dim", "output_dim"), "Bidirectional": ("layer",),
    "Dropout": ("rate",), "Input": ("shape",), "Activation": ("activation",),
    "RepeatVector": ("n",), "Reshape": ("target_shape",),
    "Conv1D": ("filters", "kernel_size"), "Conv2D": ("filters", "kernel_size"),
    **{kind: ("pool_size",) for kind in _POOLING},
    "TimeDistributed": ("layer",),
    "ZeroPadding1D": ("padding",), "ZeroPadding2D": ("padding",),
}
_MERGE_MODES = ("concat", "sum", "mul", "ave")
_PADDINGS = {"Conv1D": ("valid", "same", "causal"), "Conv2D": ("valid", "same")}

Shape = tuple[int | None, ...]
_ARG = "param_count.errors.argument"  # a layer's argument in a message: "layer 2 (LSTM): units"


@dataclass(frozen=True)
class _Layer:
    kind: str
    options: dict[str, Any]
    where: str
    inner: _Layer | None = None

    @property
    def units(self) -> int:
        return int(self.options.get("units") or 0)


def _positive_int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InputError("model", Said("param_count.errors.positive", what=what), repr(value))
    return value


def _int_pair(value: object, rank: int, what: str) -> tuple[int, ...]:
    """A size given as one integer or as a tuple of ``rank`` integers (a kernel, a stride)."""
    items = value if isinstance(value, tuple) else (value,) * rank
    if len(items) != rank:
        raise InputError("model", Said("param_count.errors.one_or_rank", what=what, rank=rank),
                         repr(value))
    return tuple(_positive_int(x, what) for x in items)


def _options(spec: LayerSpec, where: str) -> tuple[dict[str, Any], str]:
    """A layer's arguments by name (positional ones named), checked against its kind's known
    arguments; returns them and the layer's place in messages (`where (kind)`)."""
    kind = spec.kind
    if kind not in _ALLOWED_KWARGS:
        raise InputError(
            "model", Said("param_count.errors.kinds", where=where,
                          kinds=", ".join(sorted(_ALLOWED_KWARGS))),
            f"{kind!r}"
        )
    where = Said("param_count.errors.where_kind", where=where, kind=kind)
    unknown = set(spec.kwargs) - _ALLOWED_KWARGS[kind]
    if unknown:
        raise InputError("model", Said("param_count.errors.known_arguments", where=where,
                                       kind=kind, known=", ".join(sorted(_ALLOWED_KWARGS[kind]))),
                         f"{', '.join(sorted(unknown))}")
    names = _POSITIONAL.get(kind, ())
    if len(spec.args) > len(names):
        raise InputError("model", Said("param_count.errors.positional_one" if len(names) == 1
                                       else "param_count.errors.positional", where=where,
                                       n=len(names)), f"{len(spec.args)}")
    options = dict(spec.kwargs)
    for key, value in zip(names, spec.args, strict=False):
        if key in options:
            raise InputError("model", Said("param_count.errors.given_once", where=where, name=key),
                             Said("errors.both"))
        options[key] = value
    for key in _BOOL_KWARGS:
        if key in options and not isinstance(options[key], bool):
            raise InputError("model", Said("param_count.errors.true_false", where=where, name=key),
                             repr(options[key]))
    return options, where


def _layer(spec: LayerSpec, where: str) -> _Layer:
    """A layer of the model checked: its arguments by name, each of the right kind and size.

    Raises:
        InputError: an unknown layer or argument, or an argument out of its range.
    """
    kind = spec.kind
    options, where = _options(spec, where)
    if kind in ("Bidirectional", "TimeDistributed"):
        inner_spec = options.get("layer")
        wanted = _RECURRENT if kind == "Bidirectional" else ("Dense",)
        if not isinstance(inner_spec, LayerSpec) or inner_spec.kind not in wanted:
            example = Said("param_count.errors.bidirectional" if kind == "Bidirectional" else
                           "param_count.errors.time_distributed")
            raise InputError("model", example, where)
        merge = options.get("merge_mode", "concat")
        if kind == "Bidirectional" and merge not in _MERGE_MODES:
            raise InputError("model", Said("param_count.errors.merge_mode", where=where,
                                           modes=", ".join(repr(x) for x in _MERGE_MODES)),
                             repr(merge))
        return _Layer(kind, options, where, _layer(inner_spec, where))
    if kind in _RECURRENT or kind == "Dense":
        _positive_int(options.get("units"), Said(_ARG, where=where, name="units"))
    elif kind == "Embedding":
        _positive_int(options.get("input_dim"), Said("param_count.errors.vocabulary",
                                                     where=where))
        _positive_int(options.get("output_dim"), Said("param_count.errors.embedding_width",
                                                      where=where))
        options["units"] = options["output_dim"]
    elif kind == "RepeatVector":
        _positive_int(options.get("n"), Said(_ARG, where=where, name="n"))
    elif kind == "Dropout":
        rate = options.get("rate")
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate < 1:
            raise InputError("model", Said("param_count.errors.rate", where=where), repr(rate))
    elif kind in ("Conv1D", "Conv2D"):
        rank = 1 if kind == "Conv1D" else 2
        _positive_int(options.get("filters"), Said(_ARG, where=where, name="filters"))
        options["kernel"] = _int_pair(options.get("kernel_size"), rank,
                                      Said(_ARG, where=where, name="kernel_size"))
        options["stride"] = _int_pair(options.get("strides", 1), rank,
                                      Said(_ARG, where=where, name="strides"))
        options["dilation"] = _int_pair(options.get("dilation_rate", 1), rank,
                                        Said(_ARG, where=where, name="dilation_rate"))
        options["pads"] = _padding(options.get("padding", "valid"), _PADDINGS[kind], rank, where)
    elif kind in _POOLING:
        rank = _POOLING[kind]
        options["kernel"] = _int_pair(options.get("pool_size", 2), rank,
                                      Said(_ARG, where=where, name="pool_size"))
        strides = options.get("strides")
        options["stride"] = options["kernel"] if strides is None else \
            _int_pair(strides, rank, Said(_ARG, where=where, name="strides"))
        options["dilation"] = (1,) * rank
        options["pads"] = _padding(options.get("padding", "valid"), ("valid", "same"), rank,
                                   where)
        if not isinstance(options["pads"], str) and any(
                pad > kernel // 2 for pad, kernel in zip(options["pads"], options["kernel"],
                                                         strict=True)):
            # as torch.nn.MaxPool2d / AvgPool2d refuse it
            raise InputError("model", Said("param_count.errors.pool_padding", where=where),
                             repr(options.get("padding")))
    elif kind in ("ZeroPadding1D", "ZeroPadding2D"):
        options["sides"] = _zero_padding(options.get("padding", 1),
                                         1 if kind == "ZeroPadding1D" else 2, where)
    elif kind == "MultiHeadAttention":
        _positive_int(options.get("num_heads"), Said(_ARG, where=where, name="num_heads"))
        _positive_int(options.get("key_dim"), Said(_ARG, where=where, name="key_dim"))
        if options.get("value_dim") is not None:
            _positive_int(options.get("value_dim"), Said(_ARG, where=where, name="value_dim"))
    return _Layer(kind, options, where)


def _padding(value: object, words: tuple[str, ...], rank: int, where: str
             ) -> str | tuple[int, ...]:
    """A convolution's or a pooling's padding: Keras' word, or PyTorch's zeros on each side
    (one number, or one per axis)."""
    if isinstance(value, str) and value in words:
        return value
    items = value if isinstance(value, tuple) else (value,) * rank
    if len(items) == rank and all(isinstance(x, int) and not isinstance(x, bool) and x >= 0
                                  for x in items):
        return tuple(items)  # type: ignore[arg-type]
    raise InputError("model", Said("param_count.errors.padding", where=where, rank=rank,
                                   words=", ".join(repr(x) for x in words)), repr(value))


def _zero_padding(value: object, rank: int, where: str) -> tuple[tuple[int, int], ...]:
    """ZeroPadding1D/2D's padding as (before, after) per axis: ``p``, ``(a, b)`` (before and
    after for 1-D, per axis for 2-D) or ``((top, bottom), (left, right))``."""
    def count(x: object) -> int:
        if isinstance(x, bool) or not isinstance(x, int) or x < 0:
            raise InputError("model", Said("param_count.errors.zeros", where=where),
                             repr(value))
        return x

    if not isinstance(value, tuple):
        return ((count(value),) * 2,) * rank
    if rank == 1 and len(value) == 2 and not any(isinstance(x, tuple) for x in value):
        return ((count(value[0]), count(value[1])),)
    if rank == 2 and len(value) == 2:
        sides = []
        for x in value:
            if isinstance(x, tuple) and len(x) == 2:
                sides.append((count(x[0]), count(x[1])))
            else:
                sides.append((count(x),) * 2)
        return tuple(sides)
    raise InputError("model", Said("param_count.errors.zero_padding_1d" if rank == 1 else
                                   "param_count.errors.zero_padding_2d", where=where),
                     repr(value))


def _shape_tuple(value: object, what: str) -> Shape:
    """An input shape: a tuple or list of whole numbers > 0, None allowed first (the time axis)."""
    if not isinstance(value, tuple) or not value or len(value) > 3:
        raise InputError("model", Said("param_count.errors.sizes", what=what), repr(value))
    for position, x in enumerate(value):
        if x is None and position == 0 and len(value) > 1:
            continue
        _positive_int(x, Said("param_count.errors.each_size", what=what))
    return value


def _input_shape(spec: LayerSpec) -> object:
    """The first layer's input_shape: on the layer, on the layer it wraps, or Input(shape)."""
    if spec.kind == "Input":
        return spec.kwargs.get("shape", spec.args[0] if spec.args else None)
    if "input_shape" in spec.kwargs:
        return spec.kwargs["input_shape"]
    if spec.kind in ("Bidirectional", "TimeDistributed"):
        inner = spec.args[0] if spec.args else spec.kwargs.get("layer")
        if isinstance(inner, LayerSpec):
            return inner.kwargs.get("input_shape")
    return None


@dataclass(frozen=True)
class _Chain:
    layers: list[_Layer]
    input_shape: Shape


def _resolve(
    model: str, input_dim: int | None, timesteps: int | None,
    input_shape: tuple[int, ...] | None = None,
) -> list[_Chain]:
    """The model's chains: each with its layers and its input shape (batch axis left out).

    ``input_shape`` (the parameter) is the input of every chain that names none of its own.

    Raises:
        InputError: the model is malformed, or its ``input_shape`` disagrees with ``input_dim``
            or with the parameter ``input_shape``, or no input width is given where the first
            layer needs one.
    """
    spec_chains = parse_chains(model)
    chains = []
    for number, specs in enumerate(spec_chains, start=1):
        layers = [_layer(s, Said("param_count.errors.chain_layer", chain=number, layer=i + 1)
                         if len(spec_chains) > 1 else
                         Said("param_count.errors.layer", layer=i + 1))
                  for i, s in enumerate(specs)]
        for layer in layers[1:]:
            if layer.kind == "Input":
                raise InputError("model", Said("param_count.errors.input_first"), layer.where)
        given = _input_shape(specs[0])
        if input_shape is not None:
            if given is not None and tuple(given) != input_shape:  # type: ignore[arg-type]
                raise InputError("input_shape", Said("param_count.errors.own_input_shape",
                                                     shape=repr(given)), repr(list(input_shape)))
            given = input_shape
        if layers[0].kind == "Input" and given is None:
            raise InputError("model", Said("param_count.errors.input_shape"), layers[0].where)
        if given is not None:
            shape = _shape_tuple(given, "input_shape")
            if input_dim is not None and shape[-1] != input_dim:
                raise InputError("input_dim", Said("param_count.errors.as_input_shape",
                                                   n=shape[-1]), str(input_dim))
            if len(shape) == 2 and timesteps is not None:
                shape = (timesteps, shape[1])
        elif layers[0].kind == "Embedding":
            shape = (timesteps,)
        elif input_dim is None:
            raise InputError("input_dim", Said("param_count.errors.input_width"),
                             Said("errors.nothing"))
        elif layers[0].kind == "Dense":
            shape = (input_dim,)
        else:
            shape = (timesteps, input_dim)
        if layers[0].kind == "Input":
            layers = layers[1:]
            if not layers:
                raise InputError("model", Said("param_count.errors.after_input"),
                                 Said("errors.nothing"))
        chains.append(_Chain(layers, shape))
    return chains


def _biases(cell: _Layer, framework: str, mistake: str | None) -> int:
    """Bias vectors per gate block of a recurrent cell, as counted (rightly or by a mistake)."""
    if mistake == "no-bias" or not cell.options.get("use_bias", True):
        return 0
    if mistake == "pytorch-biases":  # b_ih and b_hh; a GRU with reset_after=True has both already
        return 2
    if mistake == "keras-biases":
        return 1
    if mistake == "keras-gru-one-bias" and cell.kind == "GRU":
        return 1  # reset_after=True (the default) counted as if it were False
    reset_after = bool(cell.options.get("reset_after", True))
    return 2 if framework == "pytorch" or (cell.kind == "GRU" and reset_after) else 1


def _conv_length(size: int | None, kernel: int, stride: int, padding: str | int,
                 dilation: int = 1) -> int | None:
    """The output length along one axis: Keras' ``valid`` (no zeros), ``same`` and ``causal``
    (ceil(size / stride)), or PyTorch's ``padding`` zeros on each side."""
    if size is None:
        return None
    if isinstance(padding, str) and padding != "valid":
        return -(-size // stride)  # same and causal: ceil(size / stride)
    pad = 0 if padding == "valid" else int(padding)
    return output_length(size, kernel, stride, pad, pad, dilation)


def _output_shape(layer: _Layer, shape: Shape) -> Shape:
    """The shape a layer gives (batch axis left out), as Keras' summary prints it.

    Raises:
        InputError: the layer cannot read an input of this shape.
    """
    kind, options = layer.kind, layer.options

    def need(rank: int, what: str) -> None:
        if len(shape) != rank:
            raise InputError("model", Said("param_count.errors.input_of", where=layer.where,
                                           what=Said("param_count.errors." + what)),
                             Said("errors.shape", shape=_show(shape)))

    if kind in _RECURRENT or kind == "Bidirectional":
        need(2, "sequence")
        cell = layer.inner or layer
        width = cell.units
        if kind == "Bidirectional" and options.get("merge_mode", "concat") == "concat":
            width *= 2
        return (shape[0], width) if cell.options.get("return_sequences", False) else (width,)
    if kind in ("Dense", "TimeDistributed"):
        return (*shape[:-1], (layer.inner or layer).units)
    if kind == "Embedding":
        return (*shape, layer.units)
    if kind == "Flatten":
        if any(x is None for x in shape):
            raise InputError("model", Said("param_count.errors.known_size", where=layer.where),
                             _show(shape))
        size = 1
        for x in shape:
            size *= x  # type: ignore[operator]
        return (size,)
    if kind == "RepeatVector":
        need(1, "features")
        return (options["n"], shape[0])
    if kind == "Reshape":
        target = _shape_tuple(options.get("target_shape"),
                              Said(_ARG, where=layer.where, name="target_shape"))
        size = target_size = 1
        for x in shape:
            size *= x or 0
        for x in target:
            target_size *= x or 0
        if None in target or size != target_size:
            raise InputError("model", Said("param_count.errors.target_shape", where=layer.where,
                                           n=size), repr(options.get("target_shape")))
        return target
    if kind in ("Conv1D", "Conv2D") or kind in _POOLING:
        rank = 1 if kind == "Conv1D" else 2 if kind == "Conv2D" else _POOLING[kind]
        need(rank + 1, "steps" if rank == 1 else "image")
        pads = options["pads"]
        sizes: list[int | None] = []
        for axis, (extent, kernel, stride, dilation) in enumerate(zip(
                shape[:-1], options["kernel"], options["stride"], options["dilation"],
                strict=True)):
            padding = pads if isinstance(pads, str) else pads[axis]
            length = _conv_length(extent, kernel, stride, padding, dilation)
            if length is not None and length < 1:
                raise InputError("model", Said(
                    "param_count.errors.kernel", where=layer.where, extent=extent)
                    if padding == "valid" else Said(
                    "param_count.errors.kernel_padded", where=layer.where,
                    extent=f"{extent} + 2 x {padding}"), str(span(kernel, dilation)))
            sizes.append(length)
        channels = options["filters"] if kind in ("Conv1D", "Conv2D") else shape[-1]
        return (*sizes, channels)
    if kind in ("ZeroPadding1D", "ZeroPadding2D"):
        rank = len(options["sides"])
        need(rank + 1, "steps" if rank == 1 else "image")
        return (*(None if size is None else size + before + after
                  for size, (before, after) in zip(shape[:-1], options["sides"], strict=True)),
                shape[-1])
    if kind in _GLOBAL:
        need(_GLOBAL[kind] + 1, "steps" if _GLOBAL[kind] == 1 else "image")
        return (shape[-1],)
    if kind == "MultiHeadAttention":
        need(2, "sequence")
    return shape  # Dropout, Activation, the normalisations


def _count(value: Any) -> Any:
    """A whole number as a Python int; a traced width's formula (:mod:`dlexam.plans`) as it
    is."""
    if isinstance(value, int) or getattr(value, "is_Integer", False):
        return int(value)
    return value


def _show(shape: Shape) -> Series:
    """A layer's shape as Keras prints it, the batch axis (None) first."""
    return Series("shape", (None, *shape))


def _recurrent_count(
    cell: _Layer, width_in: int, framework: str, mistake: str | None
) -> tuple[sp.Expr, str, dict[sp.Symbol, int], dict[str, object]]:
    """A recurrent cell's formula k n (n + m + beta), its catalog key, values and step data."""
    gates = _RECURRENT[cell.kind]
    reset_after = bool(cell.options.get("reset_after", True))
    if cell.kind == "GRU" and framework == "pytorch" and not reset_after:
        raise InputError("model", Said("param_count.errors.gru_pytorch"), cell.where)
    biases = _biases(cell, framework, mistake)
    key = f"param_count.{cell.kind.lower()}" + ("_two_biases" if biases == 2 else "")
    with sp.evaluate(False):
        inner = sp.Add(n, m, biases) if biases else sp.Add(n, m)
        if mistake == "recurrent-weights-left-out":
            inner = sp.Add(m, biases) if biases else m  # no n x n recurrent matrices
            key = "param_count.no_recurrent_weights"
        if mistake == "no-gate-factor" and gates > 1:
            formula = sp.Mul(n, inner)  # one block counted where there are `gates`
            key = "param_count.no_gate_factor"
        else:
            formula = sp.Mul(gates, n, inner)
            if not biases and mistake != "recurrent-weights-left-out":
                key = "param_count.recurrent_no_bias"
    data: dict[str, object] = {"gates": gates, "biases": biases, "reset_after": reset_after}
    return formula, key, {n: cell.units, m: width_in}, data


def _layer_step(
    layer: _Layer, index: int, shape: Shape, width: int, framework: str, mistake: str | None
) -> tuple[Step, int]:
    """The step counting one layer's parameters, and its non-trainable count.

    ``shape`` is the layer's input shape, ``width`` the input width it is counted on (its last
    axis, or the model's input width under the mistake ``first-input-width``).
    """
    lhs = sp.Symbol(f"P_{index}")
    kind, options = layer.kind, layer.options
    out = _show(_output_shape(layer, shape))
    use_bias = bool(options.get("use_bias", True)) and mistake != "no-bias"
    if kind == "Embedding":
        vocab = int(options["input_dim"])
        with sp.evaluate(False):
            formula = sp.Mul(v, d)
        return three_part("param_count.embedding", lhs, formula, {v: vocab, d: layer.units},
                          index=index, layer="Embedding", vocab=vocab, units=layer.units,
                          shape=out), 0
    if kind in ("Dense", "TimeDistributed"):
        units = (layer.inner or layer).units
        use_bias = bool((layer.inner or layer).options.get("use_bias", True)) and \
            mistake != "no-bias"
        with sp.evaluate(False):
            formula = sp.Mul(n, sp.Add(m, 1)) if use_bias else sp.Mul(n, m)
        key = "param_count.dense" if use_bias else "param_count.dense_nobias"
        if kind == "TimeDistributed":
            key = "param_count.time_distributed" + ("" if use_bias else "_nobias")
        return three_part(key, lhs, formula, {n: units, m: width}, index=index, layer=kind,
                          units=units, width_in=width, shape=out), 0
    if kind in ("Conv1D", "Conv2D"):
        filters = int(options["filters"])
        kernel = options["kernel"]
        values: dict[sp.Symbol, int] = {f_: filters, c_: width, kw_: kernel[-1]}
        with sp.evaluate(False):
            window = sp.Mul(kw_, c_) if kind == "Conv1D" else sp.Mul(kh_, kw_, c_)
            formula = sp.Mul(f_, sp.Add(window, 1)) if use_bias else sp.Mul(f_, window)
        if kind == "Conv2D":
            values[kh_] = kernel[0]
        key = f"param_count.{kind.lower()}" + ("" if use_bias else "_nobias")
        return three_part(key, lhs, formula, values, index=index, layer=kind, filters=filters,
                          kernel=" x ".join(str(k) for k in kernel), width_in=width,
                          shape=out), 0
    if kind == "BatchNormalization":
        with sp.evaluate(False):
            formula = sp.Add(sp.Mul(2, c_), sp.Mul(2, c_)) if framework == "keras" \
                else sp.Mul(2, c_)
        return three_part(f"param_count.batch_norm_{framework}", lhs, formula, {c_: width},
                          index=index, layer=kind, width_in=width, shape=out), 2 * width
    if kind == "LayerNormalization":
        with sp.evaluate(False):
            formula = sp.Mul(2, c_)
        return three_part("param_count.layer_norm", lhs, formula, {c_: width}, index=index,
                          layer=kind, width_in=width, shape=out), 0
    if kind == "MultiHeadAttention":
        heads, key_dim = int(options["num_heads"]), int(options["key_dim"])
        value_dim = int(options.get("value_dim") or key_dim)
        if framework == "pytorch" and (heads * key_dim != width or value_dim != key_dim):
            raise InputError("model", Said("param_count.errors.attention_pytorch",
                                           where=layer.where, width=width),
                             f"num_heads={heads}, key_dim={key_dim}")
        with sp.evaluate(False):
            if use_bias:
                formula = sp.Add(sp.Mul(2, h_, dk_, sp.Add(m, 1)), sp.Mul(h_, dv_, sp.Add(m, 1)),
                                 sp.Mul(m, sp.Add(sp.Mul(h_, dv_), 1)))
            else:
                formula = sp.Add(sp.Mul(2, h_, dk_, m), sp.Mul(h_, dv_, m), sp.Mul(m, h_, dv_))
        return three_part("param_count.attention" + ("" if use_bias else "_nobias"), lhs,
                          formula, {h_: heads, dk_: key_dim, dv_: value_dim, m: width},
                          index=index, layer=kind, heads=heads, key_dim=key_dim,
                          value_dim=value_dim, width_in=width, shape=out), 0
    if kind in _RECURRENT or kind == "Bidirectional":
        cell = layer.inner or layer
        formula, key, values, data = _recurrent_count(cell, width, framework, mistake)
        if kind == "Bidirectional" and mistake != "bidirectional-not-doubled":
            with sp.evaluate(False):
                formula = sp.Mul(2, formula)
            key = "param_count.bidirectional"
            data["merge_mode"] = options.get("merge_mode", "concat")
        return three_part(key, lhs, formula, values, index=index, layer=kind, cell=cell.kind,
                          units=cell.units, width_in=width, framework=framework, shape=out,
                          **data), 0
    return three_part("param_count.no_params", lhs, sp.Integer(0), {}, index=index,
                      layer=kind, shape=out), 0


# layers that slide a window along the input's positions, and layers that act on each position
# alone (their units see what the layer below saw)
_WINDOWED = ("Conv1D", "Conv2D", *_POOLING)
_PER_POSITION = ("Dense", "TimeDistributed", "Dropout", "Activation", "BatchNormalization",
                 "LayerNormalization", "Embedding", "ZeroPadding1D", "ZeroPadding2D")


def _field_steps(chain: _Chain, first: int) -> tuple[list[Step], list[tuple[int, int]]] | None:
    """Each layer's receptive field and jump along the chain input's first axis (rows, or
    time steps), in input positions: the steps (layers numbered from ``first``) and the
    (field, jump) of each layer; None when the chain has no such axis of known size.

    A window of k taps d apart moved by s turns (r, j) into (r + d (k - 1) j, j s) (Araujo et
    al., 2019); a layer acting on each position keeps them; from a layer that mixes every
    position (Flatten, global pooling, a recurrent layer, attention) on, every unit sees the
    whole input: r = j = the input's size along the axis.
    """
    if not _has_axis(chain):
        return None
    whole = _count(chain.input_shape[0] or 0)
    field, jump, spread = 1, 1, False
    k_, s_, d_ = sym("rf_k"), sym("rf_s"), sym("rf_d")
    steps: list[Step] = []
    fields: list[tuple[int, int]] = []
    for index, layer in enumerate(chain.layers, start=first):
        fields.append((field, jump))  # replaced below by what this layer gives
        r_in, j_in = sp.Symbol(f"r_{index - 1}"), sp.Symbol(f"j_{index - 1}")
        r_out, j_out = sp.Symbol(f"r_{index}"), sp.Symbol(f"j_{index}")
        if not spread and layer.kind in _WINDOWED:
            kernel, stride = layer.options["kernel"][0], layer.options["stride"][0]
            dilation = layer.options["dilation"][0]
            numbers = {r_in: field, j_in: jump, k_: kernel, s_: stride, d_: dilation}
            with sp.evaluate(False):
                reach = sp.Add(k_, -1) if dilation == 1 else sp.Mul(d_, sp.Add(k_, -1))
                formula = sp.Add(r_in, sp.Mul(reach, j_in))
            steps.append(three_part("param_count.receptive_field", r_out, formula, numbers,
                                    index=index, layer=layer.kind))
            with sp.evaluate(False):
                jump_formula = sp.Mul(j_in, s_)
            steps.append(three_part("param_count.jump", j_out, jump_formula, numbers,
                                    index=index, layer=layer.kind))
            field, jump = grow(field, jump, kernel, stride, dilation)
            fields[-1] = (field, jump)
            continue
        if not spread and layer.kind not in _PER_POSITION:
            spread = True
            field = jump = whole
            fields[-1] = (field, jump)
            steps.append(Step(key="param_count.field_whole",
                              data={"index": index, "layer": layer.kind, "size": whole}))
            continue
        if not spread:
            steps.append(Step(key="param_count.field_kept",
                              data={"index": index, "layer": layer.kind, "field": field,
                                    "jump": jump}))
    return steps, fields


def _has_axis(chain: _Chain) -> bool:
    """Whether a chain's input has positions along a first axis of known size."""
    shape = chain.input_shape
    return (len(shape) >= 2 or chain.layers[0].kind == "Embedding") and shape[0] is not None


def _slides(chains: list[_Chain]) -> bool:
    """Whether the model has receptive fields to tell: a window slides (a convolution or a
    pooling) and every chain has a first axis of known size."""
    return any(layer.kind in _WINDOWED for chain in chains for layer in chain.layers) and all(
        _has_axis(chain) for chain in chains)


def _fields(chains: list[_Chain]) -> tuple[list[Step], list[tuple[int, int]]] | None:
    """The receptive-field steps and (field, jump) of every layer, chain after chain, when the
    model slides a window (a convolution or a pooling) and every chain has a first axis of
    known size; else None."""
    if not _slides(chains):
        return None
    steps: list[Step] = []
    fields: list[tuple[int, int]] = []
    for chain in chains:
        found = _field_steps(chain, len(fields) + 1)
        if found is None:
            return None
        steps += found[0]
        fields += found[1]
    return steps, fields


def _whole_sizes(shape: sp.MatrixBase | None) -> tuple[int, ...] | None:
    """The ``input_shape`` parameter as whole numbers.

    Raises:
        InputError: a size is not a whole number from 1 to the model's largest number.
    """
    if shape is None:
        return None
    sizes = []
    for x in shape:
        if not (x.is_Integer and 1 <= int(x) <= MODEL_MAX_NUMBER):
            raise InputError("input_shape", Said("inputs.whole_from_to", low=1,
                                                 high=MODEL_MAX_NUMBER), str(x))
        sizes.append(int(x))
    return tuple(sizes)


def _trace(chain: _Chain) -> list[Shape]:
    """The input shape of each layer of a chain, then the chain's output shape."""
    shapes = [chain.input_shape]
    for layer in chain.layers:
        shapes.append(_output_shape(layer, shapes[-1]))
    return shapes


# ---- the contract: mistakes, where each can be made, the sampler and the question ----------

_WEIGHTED = ("Dense", "TimeDistributed", "Conv1D", "Conv2D", "BatchNormalization",
             "LayerNormalization", "MultiHeadAttention", *_RECURRENT, "Bidirectional")


def _applies(test: Callable[[list[_Chain], str], bool]) -> Callable[..., bool]:
    """A mistake's ``applies``: ``test(chains, framework)`` on a model that parses."""

    def rule(params: Mapping[str, Any]) -> bool:
        try:
            shape = params.get("input_shape")
            chains = _resolve(params["model"], params.get("input_dim"), params.get("timesteps"),
                              None if shape is None else tuple(shape))
            for chain in chains:
                _trace(chain)
        except (InputError, TypeError, ValueError, KeyError):
            return False
        return test(chains, params.get("framework", "keras"))

    return rule


def _cells(chains: list[_Chain]) -> list[_Layer]:
    return [layer.inner or layer for chain in chains for layer in chain.layers
            if (layer.inner or layer).kind in _RECURRENT]


def _one_bias_cell(chains: list[_Chain], framework: str) -> bool:
    return framework == "keras" and any(_biases(c, "keras", None) == 1 for c in _cells(chains))


def _pytorch_recurrent(chains: list[_Chain], framework: str) -> bool:
    return framework == "pytorch" and any(_biases(c, "pytorch", None) for c in _cells(chains))


def _has_bias(chains: list[_Chain], _framework: str) -> bool:
    return any(_biases(c, "keras", None) for c in _cells(chains)) or any(
        bool((layer.inner or layer).options.get("use_bias", True))
        for chain in chains for layer in chain.layers
        if layer.kind in ("Dense", "TimeDistributed", "Conv1D", "Conv2D", "MultiHeadAttention"))


def _keras_gru_two_biases(chains: list[_Chain], framework: str) -> bool:
    return framework == "keras" and any(
        c.kind == "GRU" and _biases(c, "keras", None) == 2 for c in _cells(chains))


def _bidirectional(chains: list[_Chain], _framework: str) -> bool:
    return any(layer.kind == "Bidirectional" for chain in chains for layer in chain.layers)


def _recurrent(chains: list[_Chain], _framework: str) -> bool:
    return bool(_cells(chains))


def _gated(chains: list[_Chain], _framework: str) -> bool:
    return any(c.kind in ("LSTM", "GRU") for c in _cells(chains))


def _later_width_differs(chains: list[_Chain], _framework: str) -> bool:
    for chain in chains:
        if chain.layers[0].kind == "Embedding":
            continue
        shapes = _trace(chain)
        if any(layer.kind in _WEIGHTED and shape[-1] != chain.input_shape[-1]
               for layer, shape in zip(chain.layers, shapes, strict=False)):
            return True
    return False


_COUNTS = ("layers", "total", "trainable", "chains")
MISTAKES = [
    Mistake("pytorch-biases", changes=_COUNTS, formula=True, applies=_applies(_one_bias_cell)),
    Mistake("keras-biases", changes=_COUNTS, formula=True, applies=_applies(_pytorch_recurrent)),
    Mistake("no-bias", changes=_COUNTS, formula=True, applies=_applies(_has_bias)),
    Mistake("no-gate-factor", changes=_COUNTS, formula=True, applies=_applies(_gated)),
    Mistake("first-input-width", changes=(*_COUNTS, "non_trainable"), formula=True,
            applies=_applies(_later_width_differs)),
    # Keras' GRU keeps two bias vectors per gate by default (reset_after=True): 3n(n + m + 2)
    Mistake("keras-gru-one-bias", changes=_COUNTS, formula=True,
            applies=_applies(_keras_gru_two_biases)),
    Mistake("bidirectional-not-doubled", changes=_COUNTS, formula=True,
            applies=_applies(_bidirectional)),
    Mistake("recurrent-weights-left-out", changes=_COUNTS, formula=True,
            applies=_applies(_recurrent)),
]


def _units(draw: Draw) -> int:
    """A layer width as exams write them: a small number, or a round one up to 64."""
    if draw.chance(0.5):
        return draw.integer(2, 16)
    return draw.choice((20, 24, 30, 32, 40, 50, 64))


def _recurrent_code(draw: Draw, framework: str, last: bool) -> str:
    kind = draw.choice(("SimpleRNN", "LSTM", "LSTM", "GRU", "GRU"))
    args = [str(_units(draw))]
    if kind == "GRU" and framework == "keras" and draw.chance(0.3):
        args.append("reset_after=False")
    if not last:
        args.append("return_sequences=True")
    code = f"{kind}({', '.join(args)})"
    return f"Bidirectional({code})" if draw.chance(0.2) else code


def _with_input_shape(code: str, steps: int | None, width: int) -> str:
    """The first layer's code with ``input_shape=(T, m)`` as its last argument (``(m,)`` for a
    first Dense layer, which reads one vector)."""
    separator = "" if code.endswith("()") else ", "
    shape = f"({width},)" if code.startswith("Dense(") else f"({steps}, {width})"
    return f"{code[:-1]}{separator}input_shape={shape})"


def _draw_model(draw: Draw, framework: str, width: int | None, steps: int | None,
                embedding: bool) -> tuple[str, int | None]:
    """A 2-3 layer model: an optional Embedding, recurrent layers, an optional final Dense;
    sometimes a Dropout before the Dense or a Conv1D in front (layers with no parameters or
    another kind of weights, as printed models have)."""
    count = draw.integer(2, 3)
    first_embedding = embedding and draw.chance(0.2)
    dense = draw.chance(0.6)
    recurrent = count - first_embedding - dense
    if recurrent < 1:
        dense, recurrent = False, recurrent + 1
    codes = [_recurrent_code(draw, framework, last=i == recurrent - 1) for i in range(recurrent)]
    if dense:
        if draw.chance(0.2):  # a layer without parameters, as printed models have
            codes.append(f"Dropout({draw.choice((0.1, 0.2, 0.25, 0.5))})")
        codes.append(f"Dense({draw.integer(1, 10)})")
    if first_embedding:
        vocab = draw.choice((50, 100, 500, 1000, 5000, 10000))
        codes.insert(0, f"Embedding({vocab}, {_units(draw)})")
        return ", ".join(codes), None
    width = width if width is not None else draw.integer(1, 16)
    if steps is not None and steps >= 3 and draw.chance(0.15):
        # a 1-D convolution over the time steps in front of the recurrent layers
        kernel = draw.integer(2, 3)
        codes.insert(0, f"Conv1D({draw.integer(2, 16)}, {kernel}, padding='same')")
    codes[0] = _with_input_shape(codes[0], steps, width)
    return ", ".join(codes), width


def _draw_conv_model(draw: Draw, framework: str) -> str:
    """An image classifier as course exercises print them: 1-3 convolutions (kernel 3 or 5,
    padding valid or same, or under PyTorch its zeros on each side; now and then stride 2),
    pooling between some,
    then Flatten or global pooling and a dense layer, on 28-64 pixel images or 224 x 224."""
    for _ in range(100):
        size = draw.choice((28, 32, 32, 64, 224))
        channels = draw.choice((1, 3, 3))
        codes = []
        for _layer_number in range(draw.integer(1, 3)):
            kernel = draw.choice((3, 3, 5))
            padding = draw.choice(("'same'", "'valid'") if framework == "keras" else
                                  ("'valid'", str(kernel // 2), str(kernel // 2)))
            stride = ", strides=2" if draw.chance(0.2) else ""
            codes.append(f"Conv2D({draw.choice((8, 16, 32, 64))}, {kernel}{stride}, "
                         f"padding={padding})")
            if draw.chance(0.5):
                codes.append(draw.choice(("MaxPooling2D()", "MaxPooling2D(2)",
                                          "AveragePooling2D(2)", "MaxPooling2D(3, strides=2)")))
        codes.append("Flatten()" if draw.chance(0.7) else "GlobalAveragePooling2D()")
        codes.append(f"Dense({draw.choice((2, 10, 10, 100))})")
        codes[0] = f"{codes[0][:-1]}, input_shape=({size}, {size}, {channels}))"
        model = ", ".join(codes)
        try:
            shapes = [shape for chain in _resolve(model, None, None) for shape in _trace(chain)]
        except InputError:
            continue
        if max(shape[-1] or 0 for shape in shapes) > 20_000:
            continue  # a dense layer on a huge flattened image: no exam writes its weights out
        return model
    raise RuntimeError("no convolutional model drawn")  # pragma: no cover


def sample_param_count(draw: Draw, fixed: Mapping[str, Any]) -> dict[str, Any]:
    """A Keras or PyTorch question on a 2-3 layer model (now and then a Dropout or a Conv1D
    more), units 2-64, input width 1-16.

    The model has an LSTM or a GRU (so forgetting the gate factor shows), a second layer whose
    input width differs from the model's (unless it starts with an Embedding, which reads token
    ids), and under Keras a layer with one bias vector per gate (so two shows). A fixed model is
    kept, with an input width drawn only when it needs one.
    """
    framework = fixed.get("framework") or draw.choice(("keras", "pytorch"))
    out: dict[str, Any] = {"framework": framework}
    if "model" in fixed:
        first = parse_model(fixed["model"])[0]
        if first.kind in ("Conv2D", "ZeroPadding2D", *_POOLING) and first.kind[-2] == "2" and \
                _input_shape(first) is None and fixed.get("input_shape") is None:
            # an image the model reads: mostly square, 20 to 130 pixels
            img_h = draw.integer(20, 130)
            img_w = img_h if draw.chance(0.8) else draw.integer(20, 130)
            out["input_shape"] = [img_h, img_w, draw.choice((1, 3))]
        elif first.kind != "Embedding" and _input_shape(first) is None and \
                fixed.get("input_shape") is None:
            # the width the question states (with the sequence length) as input_shape=(T, m)
            if fixed.get("input_dim") is None:
                out["input_dim"] = draw.integer(1, 16)
            if fixed.get("timesteps") is None and first.kind != "Dense":
                out["timesteps"] = draw.integer(2, 10)
        return out
    width, steps = fixed.get("input_dim"), fixed.get("timesteps")
    if width is None and steps is None and fixed.get("input_shape") is None and \
            draw.chance(0.3):
        out["model"] = _draw_conv_model(draw, framework)
        return out
    steps = steps if steps is not None else draw.integer(2, 10)
    for _ in range(100):
        model, drawn_width = _draw_model(draw, framework, width, steps, embedding=width is None)
        params = {"model": model, "input_dim": None, "timesteps": None, "framework": framework}
        # the bias mistake of the other framework, and (unless token ids come in, which have
        # no width) the model's input width given to a later layer
        # (the mistakes of one layer kind, a Keras GRU's or a Bidirectional's, are not asked
        # of every model: they show when the drawn model has that layer)
        wanted_ids = {"no-bias", "no-gate-factor",
                      {"keras": "pytorch-biases", "pytorch": "keras-biases"}[framework]}
        if drawn_width is not None:
            wanted_ids.add("first-input-width")
        wanted = [m for m in MISTAKES if m.id in wanted_ids]
        if all(m.applies_to(params) for m in wanted):
            break
    out["model"] = model
    return out


def _model_code(values: Mapping[str, Any]) -> str:
    """The model as the question prints it: ``input_shape`` added when the width came apart."""
    model = str(values["model"]).strip()
    specs = parse_model(model)
    if specs[0].kind == "Embedding" or _input_shape(specs[0]) is not None:
        return model
    bracket = model.startswith("[") and model.endswith("]")
    body = model[1:-1].strip() if bracket else model
    # the first layer ends at the bracket that closes its own opening one
    depth = 0
    for position, char in enumerate(body):
        depth += char == "("
        depth -= char == ")"
        if char == ")" and depth == 0:
            shape = _whole_sizes(values.get("input_shape"))
            if shape is not None:  # the parameter, written where Keras code has it
                code = body[: position + 1]
                separator = "" if code.endswith("()") else ", "
                first = f"{code[:-1]}{separator}input_shape={Series('tuple', shape)})"
            else:
                first = _with_input_shape(body[: position + 1], values.get("timesteps"),
                                          values["input_dim"])
            body = first + body[position + 1 :]
            break
    return f"[{body}]" if bracket else body


def _question(values: dict[str, Any]) -> dict[str, Any]:
    fields = {"model_code": _model_code(values),
              "framework_name": {"keras": "Keras", "pytorch": "PyTorch"}[values["framework"]]}
    chains = _resolve(values["model"], values.get("input_dim"), values.get("timesteps"),
                      _whole_sizes(values.get("input_shape")))
    if _slides(chains):  # shapes and receptive fields are asked
        fields["statement"] = "fields"
    return fields


def _total_formula(layers: int) -> tuple[sp.Basic, list[sp.Symbol]]:
    """P_total = P_1 + ... + P_L, the total step's formula, and its terms."""
    parts = [sp.Symbol(f"P_{i}") for i in range(1, layers + 1)]
    with sp.evaluate(False):
        return (sp.Add(*parts) if len(parts) > 1 else parts[0]), parts


def _total_of_layers(_params: Any, student: Mapping[str, Any]) -> dict[str, Any] | None:
    """The total from the student's own layer counts (follow-through): the total step's
    formula (:func:`_total_formula`) at their counts."""
    layers = student.get("layers")
    if not isinstance(layers, list) or not layers or not all(
            float(v).is_integer() for v in layers):
        return None
    formula, parts = _total_formula(len(layers))
    return {"total": int(evaluate_at(formula, {p: int(v) for p, v in
                                               zip(parts, layers, strict=True)}))}


@derivation(
    "param-count",
    params=[
        Param("model", "string", max_length=MODEL_MAX_LENGTH),
        # widths and lengths only enter sums and products: a plan serves every value
        Param("input_dim", "int", default=None, minimum=1, maximum=MODEL_MAX_NUMBER,
              trace="whole"),
        Param("framework", "choice", default="keras", choices=("keras", "pytorch")),
        Param("timesteps", "int", default=None, minimum=1, maximum=MODEL_MAX_NUMBER,
              trace="whole"),
        Param("input_shape", "array", shapes=(("R",),), default=None, trace="none"),
    ],
    limits={"R": 3},
    answers=[
        Answer("layers", "integers", shapes=(("L",),)),
        Answer("total", "integer"),
        Answer("trainable", "integer"),
        Answer("non_trainable", "integer"),
        Answer("chains", "integers", shapes=(("C",),)),
        Answer("output_shapes", "integers", shapes=(("L", ANY),), optional=True),
        Answer("receptive_field", "integers", shapes=(("L",),), optional=True),
        Answer("jump", "integers", shapes=(("L",),), optional=True),
    ],
    mistakes=MISTAKES,
    sampler=sample_param_count,
    question=_question,
    follows=[Follow(("layers",), ("total",), _total_of_layers)],
)
def param_count(
    model: str, input_dim: int | None, framework: str, timesteps: int | None,
    input_shape: sp.MatrixBase | None = None, mistake: str | None = None,
) -> Result:
    """Counts each layer's trainable parameters and the total, in one framework's convention.

    Args:
        model: a Keras-style layer list, e.g. ``"LSTM(30, return_sequences=True), Dense(1)"``.
        input_dim: the width of one input vector (the features per time step). May instead come
            from ``input_shape=(timesteps, features)`` on the first layer.
        framework: ``"keras"`` or ``"pytorch"`` (whose recurrent layers keep two biases per gate).
        timesteps: the sequence length, used only for the output shapes.
        input_shape: the input's shape without the batch axis, ``[224, 224, 3]``, for a model
            whose first layer names none.
        mistake: count as a student making this declared mistake (see ``MISTAKES``), in every
            layer from the first to the last.
    """
    chains = _resolve(model, input_dim, timesteps, _whole_sizes(input_shape))
    c = _count_layers(chains, framework, mistake)
    steps, counts, frozen, chain_totals, shapes, kinds = (c.steps, c.counts, c.frozen,
                                                          c.chain_totals, c.shapes, c.kinds)
    shown_name = {"keras": "Keras", "pytorch": "PyTorch"}[framework]
    steps.append(_total_step(counts, shown_name))
    statistics = sum(frozen)
    total = sum(counts)
    # Keras counts the moving statistics in the layer's Param # and its total, as non-trainable;
    # PyTorch keeps them as buffers, outside parameters() (with each layer's scalar
    # num_batches_tracked): every parameter is trainable. trainable + non_trainable = total.
    non_trainable = statistics if framework == "keras" else 0
    trainable = total - non_trainable
    buffers = statistics + sum(1 for k in kinds if k == "BatchNormalization")
    if statistics:
        steps.append(Step(key=f"param_count.non_trainable_{framework}",
                          data={"trainable": trainable, "non_trainable": statistics,
                                "total": total, "buffers": buffers}))
    steps.append(Step(key=f"param_count.convention_{framework}", data={"framework": shown_name}))
    answers: dict[str, Any] = {"layers": counts, "total": total, "trainable": trainable,
                               "non_trainable": non_trainable, "chains": chain_totals}
    if all(None not in shape[1:] for shape in shapes):
        answers["output_shapes"] = [shape[1:] for shape in shapes]
    fields = _fields(chains)
    if fields is not None:
        steps += fields[0]
        answers["receptive_field"] = [field for field, _jump in fields[1]]
        answers["jump"] = [jump for _field, jump in fields[1]]
    return Result(
        convention=framework,
        steps=tuple(steps),
        answers=answers,
        # what the model's own description says: the layers' kinds, their output widths and
        # Keras' output shapes (None for the batch axis, and for an unknown sequence length)
        info={"layer_types": kinds, "output_widths": [s[-1] for s in shapes],
              "output_shapes": shapes,
              "non_trainable_layers": frozen if framework == "keras" else [0] * len(frozen),
              **({"buffers": buffers} if framework == "pytorch" else {})},
    )


@dataclass
class _Counted:
    """Every layer counted: its step, its parameters and non-trainable statistics, its output
    shape (batch axis None) and kind; each chain's total."""

    steps: list[Step]
    counts: list[int]
    frozen: list[int]
    chain_totals: list[int]
    shapes: list[list[int | None]]
    kinds: list[str]


def _count_layers(chains: list[Any], framework: str, mistake: str | None) -> _Counted:
    """The layers' step group: one step per layer, chain by chain, then each chain's sum (a
    functional model's branches)."""
    c = _Counted(steps=[], counts=[], frozen=[], chain_totals=[], shapes=[], kinds=[])
    chain_steps: list[Step] = []
    index = 0
    for chain in chains:
        shape = chain.input_shape
        model_width = _count(shape[-1] or 0)
        chain_count = 0
        for layer in chain.layers:
            index += 1
            width = _count(shape[-1] or 0)
            if mistake == "first-input-width" and layer.kind in _WEIGHTED and \
                    chain.layers[0].kind != "Embedding":
                width = model_width
            step, non_trainable = _layer_step(layer, index, shape, width, framework, mistake)
            c.steps.append(step)
            c.counts.append(_count(step.value))
            c.frozen.append(non_trainable)
            chain_count += _count(step.value)
            shape = _output_shape(layer, shape)
            c.shapes.append([None, *shape])
            c.kinds.append(layer.kind)
        c.chain_totals.append(chain_count)
        if len(chains) > 1:  # a branch of a functional model: its own sum
            first = index - len(chain.layers) + 1
            part_symbols = [sp.Symbol(f"P_{i}") for i in range(first, index + 1)]
            with sp.evaluate(False):
                chain_formula = sp.Add(*part_symbols) if len(part_symbols) > 1 \
                    else part_symbols[0]
            chain_steps.append(three_part(
                "param_count.chain_total", sp.Symbol(f"P_chain{len(c.chain_totals)}"),
                chain_formula, dict(zip(part_symbols, c.counts[first - 1:], strict=True)),
                chain=len(c.chain_totals), first=first, last=index))
    c.steps.extend(chain_steps)
    return c


def _total_step(counts: list[int], shown_name: str) -> Step:
    """The total: the layers' counts added (a deep model's sum shown as sum_i P_i, its terms
    being the layers' steps)."""
    total_formula, parts = _total_formula(len(counts))
    total_step = three_part("param_count.total", sym("P_total"), total_formula,
                            dict(zip(parts, counts, strict=True)), framework=shown_name)
    return replace(total_step, elidable=terms_of(
        len(parts), substituted=None,
        symbolic=sp.Sum(sp.Symbol("P_i"), (sp.Symbol("i"), 1, len(parts)))))
