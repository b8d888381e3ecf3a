"""Q5: the number of trainable parameters of a stacked Keras / PyTorch model.

A recurrent layer with ``k`` gate blocks, ``n`` units and input width ``m`` has ``k`` input weight
matrices (n x m), ``k`` recurrent matrices (n x n) and ``beta`` bias vectors per gate: Keras keeps
one (beta = 1) for SimpleRNN, LSTM and GRU(reset_after=False), two for GRU(reset_after=True, its
default); PyTorch keeps two everywhere (b_ih and b_hh). So P = k n (n + m + beta).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import sympy as sp

from dlexam.derivations.contract import Answer, Mistake
from dlexam.derivations.core import Result, Step, derivation, three_part
from dlexam.derivations.model_spec import (
    MODEL_MAX_LENGTH,
    MODEL_MAX_NUMBER,
    LayerSpec,
    parse_model,
)
from dlexam.derivations.params import Param
from dlexam.derivations.sampling import Draw
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


def _resolve(
    model: str, input_dim: int | None, timesteps: int | None
) -> tuple[list[_Layer], int | None, int | None]:
    """The model's layers, its input width and its sequence length (``input_shape`` read).

    Raises:
        InputError: the model is malformed, or its ``input_shape`` disagrees with ``input_dim``,
            or no input width is given where the first layer needs one.
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
    return layers, input_dim, timesteps


def _biases(cell: _Layer, framework: str, mistake: str | None) -> int:
    """Bias vectors per gate block of a recurrent cell, as counted (rightly or by a mistake)."""
    if mistake == "no-bias":
        return 0
    if mistake == "pytorch-biases":  # b_ih and b_hh; a GRU with reset_after=True has both already
        return 2
    if mistake == "keras-biases":
        return 1
    reset_after = bool(cell.options.get("reset_after", True))
    return 2 if framework == "pytorch" or (cell.kind == "GRU" and reset_after) else 1


def _recurrent_count(
    cell: _Layer, width_in: int, framework: str, index: int, mistake: str | None
) -> tuple[sp.Expr, str, dict[sp.Symbol, int], dict[str, object]]:
    """A recurrent cell's formula k n (n + m + beta), its catalog key, values and step data."""
    gates = _RECURRENT[cell.kind]
    reset_after = bool(cell.options.get("reset_after", True))
    if cell.kind == "GRU" and framework == "pytorch" and not reset_after:
        raise InputError(
            "model",
            "GRU without reset_after=False under framework=pytorch "
            "(torch.nn.GRU always applies the reset gate after the product, like reset_after=True)",
            f"layer {index}",
        )
    biases = _biases(cell, framework, mistake)
    key = f"param_count.{cell.kind.lower()}" + ("_two_biases" if biases == 2 else "")
    with sp.evaluate(False):
        inner = sp.Add(n, m, biases) if biases else sp.Add(n, m)
        if mistake == "no-gate-factor" and gates > 1:
            formula = sp.Mul(n, inner)  # one block counted where there are `gates`
            key = "param_count.no_gate_factor"
        else:
            formula = sp.Mul(gates, n, inner)
            if not biases:
                key = "param_count.recurrent_no_bias"
    data = {"gates": gates, "biases": biases, "reset_after": reset_after}
    return formula, key, {n: cell.units, m: width_in}, data


def _layer_step(
    layer: _Layer, index: int, width: int, framework: str, mistake: str | None
) -> Step:
    """The step counting one layer's parameters from its input width."""
    lhs = sp.Symbol(f"P_{index}")
    if layer.kind == "Embedding":
        vocab = int(layer.options["vocab"])  # type: ignore[call-overload]
        with sp.evaluate(False):
            formula = sp.Mul(v, d)
        return three_part("param_count.embedding", lhs, formula, {v: vocab, d: layer.units},
                          index=index, layer="Embedding", vocab=vocab, units=layer.units)
    if layer.kind == "Dense":
        use_bias = bool(layer.options.get("use_bias", True)) and mistake != "no-bias"
        with sp.evaluate(False):
            formula = sp.Mul(n, sp.Add(m, 1)) if use_bias else sp.Mul(n, m)
        return three_part(
            "param_count.dense" if use_bias else "param_count.dense_nobias", lhs, formula,
            {n: layer.units, m: width}, index=index, layer="Dense", units=layer.units,
            width_in=width,
        )
    cell = layer.inner or layer
    formula, key, values, data = _recurrent_count(cell, width, framework, index, mistake)
    if layer.kind == "Bidirectional":
        with sp.evaluate(False):
            formula = sp.Mul(2, formula)
        key = "param_count.bidirectional"
    return three_part(key, lhs, formula, values, index=index, layer=layer.kind, cell=cell.kind,
                      units=cell.units, width_in=width, framework=framework, **data)


# ---- the contract: mistakes, where each can be made, the sampler and the question ----------

def _widths_in(layers: list[_Layer], input_dim: int | None) -> list[int]:
    """The width each layer reads: the model's input, then the previous layer's output."""
    widths = [input_dim or 0]
    for layer in layers[:-1]:
        widths.append(layer.units)
    return widths


def _applies(test: Callable[[list[_Layer], int | None, str], bool]) -> Callable[..., bool]:
    """A mistake's ``applies``: ``test(layers, input_dim, framework)`` on a model that parses."""

    def rule(params: Mapping[str, Any]) -> bool:
        try:
            layers, input_dim, _steps = _resolve(params["model"], params.get("input_dim"),
                                                 params.get("timesteps"))
        except (InputError, TypeError, ValueError, KeyError):
            return False
        return test(layers, input_dim, params.get("framework", "keras"))

    return rule


def _cells(layers: list[_Layer]) -> list[_Layer]:
    return [layer.inner or layer for layer in layers
            if (layer.inner or layer).kind in _RECURRENT]


def _one_bias_cell(layers: list[_Layer], _width: int | None, framework: str) -> bool:
    return framework == "keras" and any(_biases(c, "keras", None) == 1 for c in _cells(layers))


def _pytorch_recurrent(layers: list[_Layer], _width: int | None, framework: str) -> bool:
    return framework == "pytorch" and bool(_cells(layers))


def _has_bias(layers: list[_Layer], _width: int | None, _framework: str) -> bool:
    return bool(_cells(layers)) or any(
        layer.kind == "Dense" and bool(layer.options.get("use_bias", True)) for layer in layers)


def _gated(layers: list[_Layer], _width: int | None, _framework: str) -> bool:
    return any(c.kind in ("LSTM", "GRU") for c in _cells(layers))


def _later_width_differs(layers: list[_Layer], width: int | None, _framework: str) -> bool:
    if layers[0].kind == "Embedding" or width is None:
        return False
    return any(layer.kind != "Embedding" and w != width
               for layer, w in zip(layers[1:], _widths_in(layers, width)[1:], strict=True))


_COUNTS = ("layers", "total")
MISTAKES = [
    Mistake("pytorch-biases", changes=_COUNTS, formula=True, applies=_applies(_one_bias_cell)),
    Mistake("keras-biases", changes=_COUNTS, formula=True, applies=_applies(_pytorch_recurrent)),
    Mistake("no-bias", changes=_COUNTS, formula=True, applies=_applies(_has_bias)),
    Mistake("no-gate-factor", changes=_COUNTS, formula=True, applies=_applies(_gated)),
    Mistake("first-input-width", changes=_COUNTS, formula=True,
            applies=_applies(_later_width_differs)),
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
    """The first layer's code with ``input_shape=(T, m)`` as its last argument."""
    separator = "" if code.endswith("()") else ", "
    return f"{code[:-1]}{separator}input_shape=({steps}, {width}))"


def _draw_model(draw: Draw, framework: str, width: int | None, steps: int | None,
                embedding: bool) -> tuple[str, int | None]:
    """A 2-3 layer model: an optional Embedding, recurrent layers, an optional final Dense."""
    count = draw.integer(2, 3)
    first_embedding = embedding and draw.chance(0.2)
    dense = draw.chance(0.6)
    recurrent = count - first_embedding - dense
    if recurrent < 1:
        dense, recurrent = False, recurrent + 1
    codes = [_recurrent_code(draw, framework, last=i == recurrent - 1) for i in range(recurrent)]
    if dense:
        codes.append(f"Dense({draw.integer(1, 10)})")
    if first_embedding:
        vocab = draw.choice((50, 100, 500, 1000, 5000, 10000))
        codes.insert(0, f"Embedding({vocab}, {_units(draw)})")
        return ", ".join(codes), None
    width = width if width is not None else draw.integer(1, 16)
    codes[0] = _with_input_shape(codes[0], steps, width)
    return ", ".join(codes), width


def sample_param_count(draw: Draw, fixed: Mapping[str, Any]) -> dict[str, Any]:
    """A Keras or PyTorch question on a 2-3 layer model, units 2-64, input width 1-16.

    The model has an LSTM or a GRU (so forgetting the gate factor shows), a second layer whose
    input width differs from the model's (unless it starts with an Embedding, which reads token
    ids), and under Keras a layer with one bias vector per gate (so two shows). A fixed model is
    kept, with an input width drawn only when it needs one.
    """
    framework = fixed.get("framework") or draw.choice(("keras", "pytorch"))
    out: dict[str, Any] = {"framework": framework}
    if "model" in fixed:
        first = parse_model(fixed["model"])[0]
        if first.kind != "Embedding" and _input_shape(first) is None:
            # the width the question states (with the sequence length) as input_shape=(T, m)
            if fixed.get("input_dim") is None:
                out["input_dim"] = draw.integer(1, 16)
            if fixed.get("timesteps") is None:
                out["timesteps"] = draw.integer(2, 10)
        return out
    width, steps = fixed.get("input_dim"), fixed.get("timesteps")
    steps = steps if steps is not None else draw.integer(2, 10)
    for _ in range(100):
        model, drawn_width = _draw_model(draw, framework, width, steps, embedding=width is None)
        params = {"model": model, "input_dim": None, "timesteps": None, "framework": framework}
        # the bias mistake of the other framework, and (unless token ids come in, which have
        # no width) the model's input width given to a later layer
        unwanted = {"keras": "keras-biases", "pytorch": "pytorch-biases"}[framework]
        wanted = [m for m in MISTAKES if m.id != unwanted
                  and (drawn_width is not None or m.id != "first-input-width")]
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
            first = _with_input_shape(body[: position + 1], values.get("timesteps"),
                                      values["input_dim"])
            body = first + body[position + 1 :]
            break
    return f"[{body}]" if bracket else body


def _question(values: dict[str, Any]) -> dict[str, Any]:
    return {"model_code": _model_code(values),
            "framework_name": {"keras": "Keras", "pytorch": "PyTorch"}[values["framework"]]}


@derivation(
    "param-count",
    params=[
        Param("model", "string", max_length=MODEL_MAX_LENGTH),
        Param("input_dim", "int", default=None, minimum=1, maximum=MODEL_MAX_NUMBER),
        Param("framework", "choice", default="keras", choices=("keras", "pytorch")),
        Param("timesteps", "int", default=None, minimum=1, maximum=MODEL_MAX_NUMBER),
    ],
    answers=[
        Answer("layers", "integers", shapes=(("L",),)),
        Answer("total", "integer"),
    ],
    mistakes=MISTAKES,
    sampler=sample_param_count,
    question=_question,
)
def param_count(
    model: str, input_dim: int | None, framework: str, timesteps: int | None,
    mistake: str | None = None,
) -> Result:
    """Counts each layer's trainable parameters and the total, in one framework's convention.

    Args:
        model: a Keras-style layer list, e.g. ``"LSTM(30, return_sequences=True), Dense(1)"``.
        input_dim: the width of one input vector (the features per time step). May instead come
            from ``input_shape=(timesteps, features)`` on the first layer.
        framework: ``"keras"`` or ``"pytorch"`` (whose recurrent layers keep two biases per gate).
        timesteps: the sequence length, used only for the output shapes.
        mistake: count as a student making this declared mistake (see ``MISTAKES``), in every
            layer from the first to the last.
    """
    layers, input_dim, timesteps = _resolve(model, input_dim, timesteps)
    steps: list[Step] = []
    counts: list[int] = []
    widths: list[int] = []
    shapes: list[list[int | None]] = []
    sequence = True  # the data entering a layer has a time axis
    width = input_dim or 0
    for index, layer in enumerate(layers, start=1):
        width_in = (input_dim or 0) if mistake == "first-input-width" else width
        step = _layer_step(layer, index, width_in, framework, mistake)
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
        convention=framework,
        steps=tuple(steps),
        answers={"layers": counts, "total": sum(counts)},
        # what the model's own description says: the layers' kinds, their output widths and
        # Keras' output shapes (None for the batch axis, and for an unknown sequence length)
        info={"layer_types": [layer.kind for layer in layers], "output_widths": widths,
              "output_shapes": shapes},
    )
