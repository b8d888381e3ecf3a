"""Q4: the forward pass of a simple RNN, in the exam's column convention or the book's row one.

Column (as the exam writes it): a_t = U x_t + W h_{t-1} + b, h_t = f(a_t), y_t = g(V h_t + c).
Row (as the textbook's NumPy code computes it, ``np.dot(state, W)``): the state is a row vector
and a_t = x_t U^T + h_{t-1} W + b. Since h_{t-1} W = (W^T h_{t-1})^T, the two readings are the same
network only when W is symmetric; they agree at t = 1 whenever h_0 = 0. Both are computed: the
answers follow the chosen convention and the other one is reported beside it.
"""

# ruff: noqa: N803, N806
# (matrix names follow the exam's letters: U, W, V, H, D; the registry passes them by these names)

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

import sympy as sp

from dlexam.derivations.cells import (
    DIGITS,
    EXAMPLE_RNN,
    HIDDEN_ACTIVATIONS,
    OUTPUT_ACTIVATIONS,
    Activation,
    apply,
    flat,
    inputs_of,
    msym,
    numbers_step,
    settle,
    zeros,
)
from dlexam.derivations.contract import Answer, Carry, Follow, Mistake, with_params
from dlexam.derivations.core import Result, Step, derivation, to_plain
from dlexam.derivations.forms import Stack, as_written
from dlexam.derivations.params import Param, bind_dims, validate
from dlexam.derivations.sampling import Draw
from dlexam.derivations.statements import inputs_phrase
from dlexam.errors import InputError, Said
from dlexam.notation import register_symbols, sym

register_symbols({
    "V": ("V", "V"),
    "c": ("c", "c"),
    "y_t": ("y_t", "y_t"),
    "o_out": ("o_t", "o_t"),  # output pre-activation (Goodfellow et al.'s o^(t))
    "U_T": (r"U^{\top}", "U^T"),
    "V_T": (r"V^{\top}", "V^T"),
})

CONVENTIONS: tuple[str, ...] = ("column", "row")



@dataclass(frozen=True)
class Network:
    """A simple RNN's weights in column form, and how its inputs and outputs are shaped.

    Attributes:
        U: H x D input weights.
        W: H x H recurrent weights.
        V: O x H output weights.
        b: hidden bias (H).
        c: output bias (O).
        scalar_in: each input is one number (D = 1, given as a list of numbers).
        scalar_out: one output, given as V = an H list: y_t is a number.
        activation: the hidden activation f.
        output_activation: the output activation g.
    """

    U: sp.ImmutableMatrix
    W: sp.ImmutableMatrix
    V: sp.ImmutableMatrix
    b: sp.ImmutableMatrix
    c: sp.ImmutableMatrix
    scalar_in: bool
    scalar_out: bool
    activation: str
    output_activation: str

    @property
    def sizes(self) -> tuple[int, int, int]:
        """(H, D, O)."""
        return self.W.rows, self.U.cols, self.V.rows


@dataclass(frozen=True)
class Pass:
    """One convention's forward pass: its steps and values (vectors as columns)."""

    steps: list[Step]
    pre: list[sp.ImmutableMatrix]
    h: list[sp.ImmutableMatrix]
    y: list[Any]



def output_weights(V: sp.ImmutableMatrix, H: int) -> tuple[sp.ImmutableMatrix, bool]:
    """V as O x H, and whether it was given as an H list (one output, y_t a number)."""
    if V.shape == (H, 1):
        return sp.ImmutableMatrix(V.T), True
    return V, False


def output_bias(c: Any, n_out: int, scalar_out: bool) -> sp.ImmutableMatrix:
    """The output bias as an O-vector (a number is added to every output).

    Raises:
        InputError: c has the wrong length for a single output.
    """
    if isinstance(c, sp.MatrixBase):
        if scalar_out and c.rows != 1:
            raise InputError("c", Said("rnn.errors.one_output"),
                             Said("inputs.a_list_of", n=c.rows))
        return c
    return sp.ImmutableMatrix([c] * n_out)


def _shape(rows: int, convention: str) -> tuple[int, int]:
    """A vector of ``rows`` entries as the convention writes it: a column or a row."""
    return (rows, 1) if convention == "column" else (1, rows)


def _orient(vector: sp.MatrixBase, convention: str) -> sp.ImmutableMatrix:
    return sp.ImmutableMatrix(vector if convention == "column" else vector.T)


def _column(vector: sp.MatrixBase) -> sp.ImmutableMatrix:
    return sp.ImmutableMatrix(vector if vector.cols == 1 else vector.T)


def _pre_formula(net: Network, convention: str) -> tuple[sp.MatrixExpr, dict[str, sp.Basic]]:
    """a_t in the convention's form, and its symbols by role."""
    return _pre_form(net.sizes, net.scalar_in, convention)


# The model's formulas depend on its sizes and convention alone: each is built once (building
# under sympy.evaluate(False) empties SymPy's caches twice, which every variant paid for).
@lru_cache(maxsize=256)
def _pre_form(sizes: tuple[int, int, int], scalar_in: bool, convention: str
              ) -> tuple[sp.MatrixExpr, dict[str, sp.Basic]]:
    H, D, _ = sizes
    x_t = sym("x_t") if scalar_in else msym("x_t", *_shape(D, convention))
    W = msym("W", H, H)
    h = msym("h_prev", *_shape(H, convention))
    b = msym("b", *_shape(H, convention))
    with sp.evaluate(False):
        if convention == "column":
            U = msym("U", H, D)
            formula = sp.MatAdd(sp.MatMul(U, x_t), sp.MatMul(W, h), b)
        else:
            U = msym("U_T", D, H)
            formula = sp.MatAdd(sp.MatMul(x_t, U), sp.MatMul(h, W), b)
    return formula, {"x": x_t, "U": U, "W": W, "h": h, "b": b}


def _output_formula(net: Network, convention: str) -> sp.Basic:
    """V h_t + c in the convention's form (h_t V^T + c for rows), before the output activation."""
    return _output_form(net.sizes, net.scalar_out, convention)


@lru_cache(maxsize=256)
def _output_form(sizes: tuple[int, int, int], scalar_out: bool, convention: str) -> sp.Basic:
    H, _, n_out = sizes
    with sp.evaluate(False):
        if scalar_out:
            if convention == "column":
                return sp.Add(sp.Mul(sym("V"), sym("h_t")), sym("c"))
            return sp.Add(sp.Mul(sym("h_t"), sym("V_T")), sym("c"))
        hs = msym("h_t", *_shape(H, convention))
        cs = msym("c", *_shape(n_out, convention))
        if convention == "column":
            return sp.MatAdd(sp.MatMul(msym("V", n_out, H), hs), cs)
        return sp.MatAdd(sp.MatMul(hs, msym("V_T", H, n_out)), cs)


def _output_step(net: Network, h: sp.ImmutableMatrix, convention: str, t: int) -> list[Step]:
    """y_t from h_t (a column): one step, or two when there is an output activation."""
    H, _, n_out = net.sizes
    g = net.output_activation
    key_pre = "rnn_forward.output" if g == "identity" else "rnn_forward.output_pre"
    lhs_pre = sym("y_t") if g == "identity" else sym("o_out")
    if net.scalar_out:
        Vs, hs, cs = sym("V"), sym("h_t"), sym("c")
        v, c = list(net.V), net.c[0]
        h_shown, c_shown = as_written(h), as_written(c)
        with sp.evaluate(False):
            if convention == "column":
                formula = sp.Add(sp.Mul(Vs, hs), cs)
                terms = [sp.Mul(v[j], h_shown[j]) for j in range(H)]
            else:
                formula = sp.Add(sp.Mul(hs, sym("V_T")), cs)
                terms = [sp.Mul(h_shown[j], v[j]) for j in range(H)]
            substituted = sp.Add(*terms, c_shown)
        value = sp.Add(*[v[j] * h[j] for j in range(H)]) + c
        steps = [Step(key=key_pre, lhs=lhs_pre, symbolic=formula, substituted=substituted,
                      value=value, data={"t": t})]
        if g == "sigmoid":
            o = sym("o_out")
            o_shown = as_written(value)
            with sp.evaluate(False):
                sig = sp.Pow(sp.Add(1, sp.exp(sp.Mul(-1, o))), -1)
                sig_in = sp.Pow(sp.Add(1, sp.exp(sp.Mul(-1, o_shown))), -1)
            steps.append(Step(
                key="rnn_forward.output_activation", lhs=sym("y_t"), symbolic=sig,
                substituted=sig_in, value=1 / (1 + sp.exp(-value)),
                data={"t": t, "activation": g},
            ))
        return steps
    hs = msym("h_t", *_shape(H, convention))
    cs = msym("c", *_shape(n_out, convention))
    with sp.evaluate(False):
        if convention == "column":
            Vs = msym("V", n_out, H)
            formula = sp.MatAdd(sp.MatMul(Vs, hs), cs)
            values = {Vs: net.V, hs: h, cs: net.c}
        else:
            Vs = msym("V_T", H, n_out)
            formula = sp.MatAdd(sp.MatMul(hs, Vs), cs)
            values = {Vs: net.V.T, hs: h.T, cs: net.c.T}
    first = numbers_step(key_pre, lhs_pre, formula, values, t=t)
    if g == "identity":
        return [first]
    o = msym("o_out", *_shape(n_out, convention))
    second = numbers_step("rnn_forward.output_activation", sym("y_t"), Activation(g, o),
                          {o: first.value}, t=t, activation=g)
    return [first, second]


def forward(net: Network, h0: sp.ImmutableMatrix, inputs: list[Any], convention: str) -> Pass:
    """Runs the network over the inputs in one convention, step by step."""
    H, _, _ = net.sizes
    pre_formula, roles = _pre_formula(net, convention)
    a_sym = msym("a_t", *_shape(H, convention))
    state_formula = apply(net.activation, a_sym)
    state_key = "rnn_forward.state" + ("_identity" if net.activation == "identity" else "")
    steps: list[Step] = []
    pres: list[sp.ImmutableMatrix] = []
    hs: list[sp.ImmutableMatrix] = []
    ys: list[Any] = []
    h = h0
    for t, x_t in enumerate(inputs, start=1):
        values: dict[sp.Basic, Any] = {
            roles["x"]: x_t if net.scalar_in else _orient(x_t, convention),
            roles["U"]: net.U if convention == "column" else net.U.T,
            roles["W"]: net.W,
            roles["h"]: _orient(h, convention),
            roles["b"]: _orient(net.b, convention),
        }
        pre_step = numbers_step("rnn_forward.pre", sym("a_t"), pre_formula, values, t=t,
                                convention=convention)
        a = _column(pre_step.value)
        state_step = numbers_step(state_key, sym("h_t"), state_formula,
                                  {a_sym: _orient(a, convention)}, t=t, activation=net.activation)
        h, to_decimals = settle(_column(state_step.value))
        steps += [pre_step, state_step]
        if to_decimals:
            steps.append(Step(key="recurrent.decimals", data={"t": t, "digits": DIGITS}))
        out = _output_step(net, h, convention, t)
        steps += out
        y = out[-1].value
        pres.append(a)
        hs.append(h)
        ys.append(y if net.scalar_out else _column(y))
    return Pass(steps=steps, pre=pres, h=hs, y=ys)


def _differs(a: Any, b: Any) -> bool:
    pairs = zip(a, b, strict=True) if isinstance(a, sp.MatrixBase) else [(a, b)]
    gaps = [sp.Abs(p - q, evaluate=False) for p, q in pairs if p != q]
    return bool(gaps) and sp.Add(*gaps) > _APART  # one comparison for the whole vector


_APART = sp.Float("1e-25")  # (comparisons a trace decides at its numbers, as they are)


def _flat_or_number(value: Any) -> Any:
    return flat(value) if isinstance(value, sp.MatrixBase) else value


def _shown_flat(value: Any) -> Any:
    shown_value = as_written(value)
    return sp.ImmutableMatrix(shown_value).T if isinstance(value, sp.MatrixBase) else shown_value


def _comparison(mine: Pass, other: Pass, h0: sp.ImmutableMatrix, W: sp.ImmutableMatrix,
                convention: str, other_convention: str) -> tuple[Step, int | None]:
    """The step that says where the two readings agree and why, and the first t they differ."""
    first = next(
        (t for t, (p, q) in enumerate(zip(mine.h, other.h, strict=True), start=1)
         if _differs(p, q)),
        None,
    )
    data: dict[str, Any] = {"steps": len(mine.h)}
    if first is None:
        symmetric = W == W.T
        key = "rnn_forward.agree_symmetric" if symmetric else "rnn_forward.agree_all"
        return Step(key=key, data=data), None
    by_convention = {convention: mine.y[first - 1], other_convention: other.y[first - 1]}
    data.update(t=first, y_column=_shown_flat(by_convention["column"]),
                y_row=_shown_flat(by_convention["row"]))
    if first == 1:
        return Step(key="rnn_forward.differ_from_start", data=data), first
    zero_start = all(v == 0 for v in h0)
    key = "rnn_forward.agree_first" if zero_start else "rnn_forward.agree_until"
    data["last_agree"] = first - 1
    return Step(key=key, data=data), first



PARAMS = [
    Param("U", "array", shapes=(("H",), ("H", "D")), default=EXAMPLE_RNN["U"]),
    Param("W", "array", shapes=(("H", "H"),), default=EXAMPLE_RNN["W"]),
    Param("V", "array", shapes=(("H",), ("O", "H")), default=EXAMPLE_RNN["V"]),
    Param("b", "array", shapes=(("H",),), default=EXAMPLE_RNN["b"]),
    Param("c", "array", shapes=((), ("O",)), default=EXAMPLE_RNN["c"]),
    Param("h0", "array", shapes=(("H",),), default=None, trace="nonzero"),
    Param("x", "array", shapes=(("T",), ("T", "D")), default=EXAMPLE_RNN["x"]),
    Param("convention", "choice", choices=CONVENTIONS, default="column"),
    Param("activation", "choice", choices=HIDDEN_ACTIVATIONS, default="tanh"),
    Param("output_activation", "choice", choices=OUTPUT_ACTIVATIONS, default="identity"),
]


def _zeros_like(value: Any) -> Any:
    """The same nesting of lists with every number 0."""
    return [_zeros_like(v) for v in value] if isinstance(value, list) else 0


def _without(name: str) -> Any:
    """A mistake's rule: the parameter ``name`` taken as zero (the term left out)."""

    def rule(params: dict[str, Any]) -> dict[str, Any]:
        return {**params, name: _zeros_like(params[name])}

    return rule


MISTAKES = [
    Mistake("row-convention", changes=("h", "y", "pre", "h_other", "y_other"),
            params=with_params(convention="row"), applies=lambda p: p["convention"] == "column"),
    Mistake("column-convention", changes=("h", "y", "pre", "h_other", "y_other"),
            params=with_params(convention="column"), applies=lambda p: p["convention"] == "row"),
    Mistake("no-hidden-bias", changes=("h", "y", "pre", "h_other", "y_other"),
            params=_without("b")),
    Mistake("no-output-bias", changes=("y", "y_other"), params=_without("c")),
    Mistake("no-recurrence", changes=("h", "y", "pre", "h_other", "y_other"),
            params=_without("W")),
    # h_t = a_t: the hidden activation (tanh) left out
    Mistake("no-activation", changes=("h", "y", "pre", "h_other", "y_other"), formula=True,
            applies=lambda p: p["activation"] != "relu"),
]

# |a_t| stays below this bound in sampled questions, so tanh is not saturated
_SATURATION = 2.5


def sample_rnn(draw: Draw, fixed: dict[str, Any]) -> dict[str, Any]:
    """A two- or three-step RNN with a scalar input and output, weights of one decimal.

    W is never symmetric (so the row and column readings differ from step 2), every bias is
    non-zero (so leaving one out shows), and the hidden pre-activation is bounded by
    |U x| + sum |W| + |b| <= 2.5, away from tanh's flat ends.
    """
    dims = bind_dims(PARAMS, fixed)
    H = dims.get("H", draw.integer(2, 3))
    T = dims.get("T", draw.integer(2, 3))
    D = dims.get("D", 1)
    O = dims.get("O", 1)  # noqa: E741 (the output size, as the exam names it)
    for _ in range(200):
        out: dict[str, Any] = {
            "U": draw.array((H,) if D == 1 else (H, D), -1, 1, nonzero=True),
            "W": draw.array((H, H), -0.6, 0.6, nonzero=True),
            "V": draw.array((H,) if O == 1 else (O, H), -2, 2, nonzero=True),
            "b": draw.array((H,), -0.5, 0.5, nonzero=True),
            "c": draw.decimal(-0.5, 0.5, nonzero=True) if O == 1
            else draw.array((O,), -0.5, 0.5, nonzero=True),
            "x": [draw.integer(1, 3) * draw.choice((-1, 1)) for _ in range(T)] if D == 1
            else draw.array((T, D), -2, 2, nonzero=True),
            "convention": "column",
        }
        out.update(fixed)
        W, U, b = out["W"], out["U"], out["b"]
        if "W" not in fixed and any(W[i][j] == W[j][i] for i in range(H) for j in range(i)):
            continue  # (a W the caller fixed is what it is: drawing again cannot change it)
        xs = [abs(v) for v in (out["x"] if D == 1 else [v for row in out["x"] for v in row])]
        u_abs = [abs(u) if D == 1 else sum(abs(v) for v in u) for u in U]
        if all(u_abs[i] * max(xs) + sum(abs(w) for w in W[i]) + abs(b[i]) <= _SATURATION
               for i in range(H)) or "x" in fixed:
            return out
    return out


def _question(values: dict[str, Any]) -> dict[str, Any]:
    """The model's equations for the statement, in the question's convention."""
    x, U, V, W = values["x"], values["U"], values["V"], values["W"]
    scalar_in = U.cols == 1 and x.cols == 1
    V_rows, scalar_out = output_weights(V, W.rows)
    net = Network(U=U, W=W, V=V_rows, b=values["b"], c=sp.ImmutableMatrix([0]),
                  scalar_in=scalar_in, scalar_out=scalar_out, activation=values["activation"],
                  output_activation=values["output_activation"])
    pre, _roles = _pre_formula(net, values["convention"])
    return {
        "h0": values["h0"] if values["h0"] is not None else zeros(W.rows),
        "model_h": apply(values["activation"], pre),
        "model_y": apply(values["output_activation"], _output_formula(net, values["convention"])),
        "inputs": inputs_phrase(x, x.rows),
    }


def _network(U: sp.ImmutableMatrix, W: sp.ImmutableMatrix, V: sp.ImmutableMatrix,
             b: sp.ImmutableMatrix, c: Any, x: sp.ImmutableMatrix, activation: str,
             output_activation: str) -> tuple[Network, list[Any]]:
    """The network and its inputs, one per time step.

    Raises:
        InputError: a softmax over a single output.
    """
    inputs, scalar_in = inputs_of(U, x)
    V_rows, scalar_out = output_weights(V, W.rows)
    if scalar_out and output_activation == "softmax":
        raise InputError("output_activation", Said("rnn.errors.single_output"), "softmax")
    net = Network(U=U, W=W, V=V_rows, b=b, c=output_bias(c, V_rows.rows, scalar_out),
                  scalar_in=scalar_in, scalar_out=scalar_out, activation=activation,
                  output_activation=output_activation)
    return net, inputs


LIMITS = {"T": 20, "H": 4, "D": 4, "O": 3}  # a softmax over 4 outputs took 7 s (3: 4 s)


def outputs_from_states(params: Mapping[str, Any], student: Mapping[str, Any]
                        ) -> dict[str, Any] | None:
    """y from the student's own states h (follow-through): each y_t by the derivation's own
    output step (:func:`_output_step`) on the student's h_t."""
    values = validate(PARAMS, dict(params), LIMITS)
    net, _inputs = _network(values["U"], values["W"], values["V"], values["b"], values["c"],
                            values["x"], values["activation"], values["output_activation"])
    ys = []
    for t, h in enumerate(student["h"], start=1):
        column = sp.ImmutableMatrix([sp.Float(v, 30) for v in h])
        y = _output_step(net, column, values["convention"], t)[-1].value
        ys.append(to_plain(_flat_or_number(y if net.scalar_out else _column(y))))
    return {"y": ys}


@derivation(
    "rnn-forward",
    params=PARAMS,
    answers=[
        Answer("h", "vectors", shapes=(("T", "H"),)),
        Answer("y", "vectors", shapes=(("T",), ("T", "O"))),
        Answer("pre", "vectors", shapes=(("T", "H"),), asked=False),
        # the other convention's values, so that both readings can be asked
        Answer("h_other", "vectors", shapes=(("T", "H"),), asked=False),
        Answer("y_other", "vectors", shapes=(("T",), ("T", "O")), asked=False),
    ],
    limits=LIMITS,
    mistakes=MISTAKES,
    sampler=sample_rnn,
    question=_question,
    carry=Carry("h", lambda p, t, state: {**p, "h0": state, "x": p["x"][t:]}
                if t < len(p["x"]) else None),
    follows=[Follow(("h",), ("y",), outputs_from_states, by_step=True)],
)
def rnn_forward(
    U: sp.ImmutableMatrix,
    W: sp.ImmutableMatrix,
    V: sp.ImmutableMatrix,
    b: sp.ImmutableMatrix,
    c: Any,
    h0: sp.ImmutableMatrix | None,
    x: sp.ImmutableMatrix,
    convention: str,
    activation: str,
    output_activation: str,
    mistake: str | None = None,
) -> Result:
    """Runs a simple RNN forward over the inputs, one time step at a time.

    Args:
        U: input weights, H x D (an H list for a scalar input).
        W: recurrent weights, H x H.
        V: output weights, O x H (an H list for one output).
        b: hidden bias (H).
        c: output bias, a number or O numbers.
        h0: the initial state (zeros when not given).
        x: the inputs, one per time step: numbers, or lists of D numbers.
        convention: ``"column"`` (h_t = f(U x_t + W h_{t-1} + b), as the exam writes it) or
            ``"row"`` (the state as a row vector, h_{t-1} W, as np.dot(state, W) computes it).
        activation: the hidden activation: tanh, sigmoid or relu.
        output_activation: identity, sigmoid or softmax.
        mistake: ``no-activation`` (h_t = a_t, the hidden activation left out); the other
            mistakes are declared by their parameters.
    """
    H = W.rows
    if mistake == "no-activation":
        activation = "identity"
    net, inputs = _network(U, W, V, b, c, x, activation, output_activation)
    start = zeros(H) if h0 is None else h0
    other_convention = "row" if convention == "column" else "column"
    mine = forward(net, start, inputs, convention)
    other = forward(net, start, inputs, other_convention)

    pre_formula, _roles = _pre_formula(net, convention)
    # the model as one group of equations: the activations are read off the formulas (the
    # output line shows y_t = V h_t + c for the identity), so no activation is named in words
    steps: list[Step] = [
        Step(key="rnn_forward.model", lhs=Stack(sym("h_t"), sym("y_t")),
             symbolic=Stack(apply(activation, pre_formula),
                            apply(output_activation, _output_formula(net, convention))),
             data={"activation": activation, "output_activation": output_activation,
                   "steps": len(inputs)}),
        Step(key=f"rnn_forward.convention_{convention}", data={"convention": convention}),
        *mine.steps,
    ]
    for t, pre_step in enumerate(s for s in other.steps if s.key == "rnn_forward.pre"):
        steps.append(replace(pre_step, key=f"rnn_forward.other_{other_convention}", data={
            "t": t + 1,
            "h": _shown_flat(other.h[t]), "y": _shown_flat(other.y[t]),
        }))
    comparison, first_difference = _comparison(mine, other, start, W, convention,
                                               other_convention)
    steps.append(comparison)
    return Result(
        convention=convention,
        steps=tuple(steps),
        answers={
            "h": [flat(h) for h in mine.h],
            "y": [_flat_or_number(y) for y in mine.y],
            "pre": [flat(a) for a in mine.pre],
            "h_other": [flat(h) for h in other.h],
            "y_other": [_flat_or_number(y) for y in other.y],
        },
        info={
            "other_convention": other_convention,
            "first_difference": first_difference,
        },
    )
