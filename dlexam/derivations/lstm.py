"""Q1: the LSTM cell, symbolically (lstm-gates) and with numbers (lstm-forward).

Olah's notation, with [h_{t-1}, x_t] the previous hidden state stacked above the input:

    f_t = σ(W_f [h_{t-1}, x_t] + b_f)       forget gate
    i_t = σ(W_i [h_{t-1}, x_t] + b_i)       input gate
    C~_t = tanh(W_C [h_{t-1}, x_t] + b_C)   candidate values
    C_t = f_t ⊙ C_{t-1} + i_t ⊙ C~_t        cell state (memory)
    o_t = σ(W_o [h_{t-1}, x_t] + b_o)       output gate
    h_t = o_t ⊙ tanh(C_t)                   hidden state

The course notes stack the same cell: (i, f, o, g) = (σ, σ, σ, tanh) W (h_{t-1}; x_t), with g the
candidate C~_t and W the four weight matrices stacked by rows.

Named mistakes (computed by the derivation itself, from start to end, so a wrong h_1 feeds step 2):
``forget-input-swapped`` (C_t = i_t ⊙ C_{t-1} + f_t ⊙ C~_t), ``no-output-gate``
(h_t = tanh(C_t)) and ``sigmoid-candidate`` (C~_t through a sigmoid). lstm-gates names the first
of them as a symbolic slip too: the first two sigmoid layers of Olah's figure read the other way.
"""

# ruff: noqa: N803, N806
# (matrix names follow Olah's letters: W_f, W_C, C0; the registry passes them by these names)

from __future__ import annotations

from typing import Any

import sympy as sp

from dlexam.derivations.cells import (
    DIGITS,
    Activation,
    carry,
    check_sizes,
    column_of,
    example,
    flat,
    msym,
    numbers_step,
    rows_of,
    stack,
    zeros,
)
from dlexam.derivations.contract import Answer, Follow, Mistake
from dlexam.derivations.core import Result, Step, derivation, evaluate_at, to_plain
from dlexam.derivations.forms import Stack, as_written
from dlexam.derivations.params import Param, bind_dims, exact
from dlexam.derivations.sampling import Draw
from dlexam.derivations.statements import inputs_phrase
from dlexam.errors import InputError, Said
from dlexam.notation import SYMBOLS, register_symbols, sym

register_symbols({
    "C_t": ("C_t", "C_t"),
    "C_prev": ("C_{t-1}", "C_{t-1}"),
    "C_tilde": (r"\tilde{C}_t", "C~_t"),
    "f_t": ("f_t", "f_t"),
    "i_t": ("i_t", "i_t"),
    "o_t": ("o_t", "o_t"),
    "g_t": ("g_t", "g_t"),
    "W_f": ("W_f", "W_f"),
    "W_i": ("W_i", "W_i"),
    "W_C": ("W_C", "W_C"),
    "W_o": ("W_o", "W_o"),
    "b_f": ("b_f", "b_f"),
    "b_i": ("b_i", "b_i"),
    "b_C": ("b_C", "b_C"),
    "b_o": ("b_o", "b_o"),
    "hx": (r"\left[h_{t-1}, x_t\right]", "[h_{t-1}, x_t]"),
    "hx_stack": (r"\begin{pmatrix} h_{t-1} \\ x_t \end{pmatrix}", "(h_{t-1}; x_t)"),
    "c_t": ("c_t", "c_t"),
    "c_prev": ("c_{t-1}", "c_{t-1}"),
    "st_i": ("i", "i"),  # the stacked notation's gate letters
    "st_f": ("f", "f"),
    "st_o": ("o", "o"),
    "st_g": ("g", "g"),
    "y": ("y", "y"),
})

# the gates in the order of Olah's figure (left to right): key, activation, weight and bias keys
GATES: tuple[tuple[str, str, str, str], ...] = (
    ("f_t", "sigmoid", "W_f", "b_f"),
    ("i_t", "sigmoid", "W_i", "b_i"),
    ("C_tilde", "tanh", "W_C", "b_C"),
    ("o_t", "sigmoid", "W_o", "b_o"),
)
# the stacked notation's letters -> Olah's symbols
STACKED: dict[str, str] = {"i": "i_t", "f": "f_t", "o": "o_t", "g": "C_tilde", "c_t": "C_t",
                           "h_t": "h_t"}

# a small example cell (one unit, one input) used when no weights are given
EXAMPLE: dict[str, Any] = {
    "W_f": [[0.5, 0.4]],
    "W_i": [[0.3, 0.6]],
    "W_C": [[0.2, 0.8]],
    "W_o": [[0.7, 0.1]],
    "x": [1, 2],
}


def _plain(key: str) -> str:
    return SYMBOLS[key][1]


def _gate_formula(gate: str, H: int, K: int, mistake: str | None = None
                  ) -> tuple[sp.MatrixExpr, sp.MatrixSymbol, sp.MatrixSymbol, sp.MatrixSymbol]:
    _key, activation, w_key, b_key = next(g for g in GATES if g[0] == gate)
    if gate == "C_tilde" and mistake == "sigmoid-candidate":
        activation = "sigmoid"
    W, hx, b = msym(w_key, H, K), msym("hx", K), msym(b_key, H)
    with sp.evaluate(False):
        formula = Activation(activation, sp.MatAdd(sp.MatMul(W, hx), b))
    return formula, W, hx, b


def _cell_formulas(H: int, mistake: str | None = None) -> tuple[sp.MatrixExpr, sp.MatrixExpr]:
    """The cell update and the hidden state, as written right or under a formula mistake."""
    f, i, C_tilde, o = (msym(k, H) for k in ("f_t", "i_t", "C_tilde", "o_t"))
    C_prev, C = msym("C_prev", H), msym("C_t", H)
    if mistake == "forget-input-swapped":
        f, i = i, f
    with sp.evaluate(False):
        cell = sp.MatAdd(sp.HadamardProduct(f, C_prev), sp.HadamardProduct(i, C_tilde))
        if mistake == "input-gate-left-out":  # the candidate added whole
            cell = sp.MatAdd(sp.HadamardProduct(f, C_prev), C_tilde)
        hidden = (Activation("tanh", C) if mistake == "no-output-gate"
                  else sp.HadamardProduct(o, C) if mistake == "no-tanh-of-cell"
                  else sp.HadamardProduct(o, Activation("tanh", C)))
    return cell, hidden


# the step keys whose prose changes under a mistake (the prose says what was computed)
_MISTAKEN_KEYS: dict[tuple[str, str], str] = {
    ("forget-input-swapped", "cell"): "cell_swapped",
    ("no-output-gate", "hidden"): "hidden_no_output_gate",
    ("sigmoid-candidate", "c_tilde"): "c_tilde_sigmoid",
    ("no-tanh-of-cell", "hidden"): "hidden_no_tanh",
    ("input-gate-left-out", "cell"): "cell_no_input_gate",
}


def _key(name: str, mistake: str | None) -> str:
    return "lstm_forward." + _MISTAKEN_KEYS.get((mistake or "", name), name)


def _inputs(x: sp.ImmutableMatrix, H: int, K: int, given: bool) -> list[sp.ImmutableMatrix]:
    """The inputs as D-vectors, checking that the weights act on H + D numbers.

    Raises:
        InputError: naming W_f when the weights were given, else x (the example has D = 1).
    """
    D = K - H
    if x.cols != D:
        if not given:
            raise InputError("x", Said("lstm.errors.example_width" if D != 1 else
                                       "lstm.errors.example_one", n=D), f"{x.rows} x {x.cols}")
        raise InputError("W_f", Said("lstm.errors.shape", shape=f"{H} x {H + x.cols}", H=H,
                                     D=x.cols), f"{H} x {K}")
    return rows_of(x)


PARAMS = [
    Param("W_f", "array", shapes=(("H", "K"),), default=None),
    Param("W_i", "array", shapes=(("H", "K"),), default=None),
    Param("W_C", "array", shapes=(("H", "K"),), default=None),
    Param("W_o", "array", shapes=(("H", "K"),), default=None),
    Param("b_f", "array", shapes=(("H",),), default=None),
    Param("b_i", "array", shapes=(("H",),), default=None),
    Param("b_C", "array", shapes=(("H",),), default=None),
    Param("b_o", "array", shapes=(("H",),), default=None),
    Param("x", "array", shapes=(("T",), ("T", "D")), default=None),
    Param("h0", "array", shapes=(("H",),), default=None, trace="nonzero"),
    Param("C0", "array", shapes=(("H",),), default=None, trace="nonzero"),
]

# every answer feeds the next step through h_t and C_t, so each mistake can move all of them
_ALL = ("h", "C", "f", "i", "C_tilde", "o")
MISTAKES = [
    Mistake("forget-input-swapped", changes=_ALL, formula=True),
    Mistake("no-output-gate", changes=_ALL, formula=True),
    Mistake("sigmoid-candidate", changes=_ALL, formula=True),
    # h_t = o_t * C_t: the tanh of the cell state left out
    Mistake("no-tanh-of-cell", changes=_ALL, formula=True),
    # C_t = f_t * C_{t-1} + C~_t: the input gate left out
    Mistake("input-gate-left-out", changes=_ALL, formula=True),
]

# |W [h, x] + b| stays below this bound in sampled questions, away from the flat ends of σ and tanh
_SATURATION = 2.5


def sample_lstm(draw: Draw, fixed: dict[str, Any]) -> dict[str, Any]:
    """A two- or three-step LSTM cell of one or two units, weights of one decimal.

    Inputs are small whole numbers (one per step) or one-decimal pairs; the initial cell state is
    non-zero (so the forget gate matters from the first step) and h_0 is zero. Every gate's
    pre-activation is bounded by sum |W| max(1, |x|) + |b| <= 2.5.
    """
    dims = bind_dims(PARAMS, fixed)
    H = dims.get("H", draw.integer(1, 2))
    if "D" in dims:
        D = dims["D"]
    elif "K" in dims:
        D = dims["K"] - H
    elif fixed.get("x") is not None:
        D = 1  # a flat list of inputs: one number per step
    else:
        D = draw.integer(1, 2)
    T = dims.get("T", draw.integer(2, 3))
    out: dict[str, Any] = {}
    for _ in range(200):
        out = {
            **{w: draw.array((H, H + D), -1, 1, nonzero=True)
               for w in ("W_f", "W_i", "W_C", "W_o")},
            **{b: draw.array((H,), -0.5, 0.5) for b in ("b_f", "b_i", "b_C", "b_o")},
            "x": [draw.integer(1, 2) * draw.choice((-1, 1)) for _ in range(T)] if D == 1
            else draw.array((T, D), -1, 1, nonzero=True),
            "h0": [0] * H,
            "C0": draw.array((H,), -1, 1, nonzero=True),
        }
        out.update(fixed)
        xs = [abs(v) for row in out["x"] for v in (row if isinstance(row, list) else [row])]
        reach = max([1.0, *xs])
        if "x" in fixed or all(
            sum(abs(w) for w in out[w_key][u]) * reach + abs(out[b_key][u]) <= _SATURATION
            for _gate, _act, w_key, b_key in GATES for u in range(H)
        ):
            return out
    return out


def _question(values: dict[str, Any]) -> dict[str, Any]:
    """The statement's numbers where the question leaves them out (the example cell, zeros)."""
    weights = {k: values[k] for k in ("W_f", "W_i", "W_C", "W_o")}
    out: dict[str, Any] = {}
    if all(v is None for v in weights.values()):
        out.update({k: sp.ImmutableMatrix(EXAMPLE[k]).applyfunc(exact) for k in weights})
        if values["x"] is None:
            out["x"] = sp.ImmutableMatrix(EXAMPLE["x"]).applyfunc(exact)
            out["T"] = len(EXAMPLE["x"])
    first = next((v for v in weights.values() if v is not None), out.get("W_f"))
    H = first.rows if first is not None else 1
    for name in ("b_f", "b_i", "b_C", "b_o", "h0", "C0"):
        if values[name] is None:
            out[name] = zeros(H)
    x = out.get("x", values["x"])
    out["inputs"] = inputs_phrase(x, x.rows)
    return out


def _state_from_cell(_params: Any, student: Any) -> dict[str, Any]:
    """h_t = o_t ⊙ tanh(C_t) from the student's own cell states and output gates
    (follow-through): the cell's own hidden-state formula (:func:`_cell_formulas`) evaluated
    at their values."""
    out = []
    for o_t, c_t in zip(student["o"], student["C"], strict=True):
        H = len(c_t)
        hidden = _cell_formulas(H)[1]
        value = evaluate_at(hidden, {msym("o_t", H): column_of(o_t),
                                     msym("C_t", H): column_of(c_t)})
        out.append([to_plain(v) for v in value])
    return {"h": out}


@derivation(
    "lstm-forward",
    params=PARAMS,
    answers=[Answer(name, "vectors", shapes=(("T", "H"),)) for name in _ALL],
    mistakes=MISTAKES,
    sampler=sample_lstm,
    question=_question,
    limits={"T": 6, "H": 4, "D": 4, "K": 8},
    follows=[Follow(("C", "o"), ("h",), _state_from_cell, by_step=True)],
)
def lstm_forward(
    W_f: sp.ImmutableMatrix | None,
    W_i: sp.ImmutableMatrix | None,
    W_C: sp.ImmutableMatrix | None,
    W_o: sp.ImmutableMatrix | None,
    b_f: sp.ImmutableMatrix | None,
    b_i: sp.ImmutableMatrix | None,
    b_C: sp.ImmutableMatrix | None,
    b_o: sp.ImmutableMatrix | None,
    x: sp.ImmutableMatrix | None,
    h0: sp.ImmutableMatrix | None,
    C0: sp.ImmutableMatrix | None,
    mistake: str | None = None,
) -> Result:
    """Runs an LSTM cell over the inputs in Olah's notation, gate by gate.

    Args:
        W_f: forget-gate weights, H x (H + D), acting on [h_{t-1}; x_t]. With no weights and
            no inputs given, a small example cell runs.
        W_i: input-gate weights, H x (H + D).
        W_C: candidate weights, H x (H + D).
        W_o: output-gate weights, H x (H + D).
        b_f: forget-gate bias (H); zeros when not given. Likewise b_i, b_C, b_o.
        b_i: input-gate bias.
        b_C: candidate bias.
        b_o: output-gate bias.
        x: the inputs, one per time step: numbers, or lists of D numbers.
        h0: the initial hidden state (zeros when not given).
        C0: the initial cell state (zeros when not given).
        mistake: compute as a student making this declared mistake (``forget-input-swapped``,
            ``no-output-gate``, ``sigmoid-candidate``), from start to end.
    """
    weights = example({"W_f": W_f, "W_i": W_i, "W_C": W_C, "W_o": W_o}, EXAMPLE,
                      Said("lstm.errors.gate_weights"))
    if x is None:
        if W_f is not None:
            raise InputError("x", Said("cells.errors.inputs"), Said("errors.nothing"))
        x = sp.ImmutableMatrix(EXAMPLE["x"]).applyfunc(exact)
    H, K = weights["W_f"].shape
    inputs = _inputs(x, H, K, given=W_f is not None)
    check_sizes(H, {"b_f": b_f, "b_i": b_i, "b_C": b_C, "b_o": b_o, "h0": h0, "C0": C0})
    biases = {"b_f": b_f, "b_i": b_i, "b_C": b_C, "b_o": b_o}
    biases = {k: zeros(H) if v is None else v for k, v in biases.items()}
    h = zeros(H) if h0 is None else h0
    C = zeros(H) if C0 is None else C0
    cell_formula, hidden_formula = _cell_formulas(H, mistake)
    vec = {k: msym(k, H) for k in ("f_t", "i_t", "C_tilde", "o_t", "C_prev", "C_t")}

    steps: list[Step] = [Step(key="lstm_forward.model", data={"units": H, "inputs": K - H,
                                                              "steps": len(inputs)})]
    answers: dict[str, list[Any]] = {k: [] for k in ("h", "C", "f", "i", "C_tilde", "o")}
    decimals = False  # whether the state is carried as decimals yet
    for t, x_t in enumerate(inputs, start=1):
        hx_value = stack([h, x_t])
        steps.append(Step(key="lstm_forward.concat",
                          data={"t": t, "hx": as_written(hx_value).T, "units": H, "inputs": K - H}))
        gate_values: dict[str, sp.ImmutableMatrix] = {}
        for key, _activation, w_key, b_key in GATES:
            formula, W, hx, b = _gate_formula(key, H, K, mistake)
            if key == "o_t":
                # Olah updates the cell state before he reads the output gate
                cell = numbers_step(_key("cell", mistake), sym("C_t"), cell_formula, {
                    vec["f_t"]: gate_values["f_t"], vec["C_prev"]: C,
                    vec["i_t"]: gate_values["i_t"], vec["C_tilde"]: gate_values["C_tilde"],
                }, t=t)
                steps.append(cell)
            step = numbers_step(_key(key.lower(), mistake), sym(key), formula,
                                {W: weights[w_key], hx: hx_value, b: biases[b_key]}, t=t)
            steps.append(step)
            gate_values[key] = step.value
        hidden_values = {vec["C_t"]: cell.value}
        if mistake != "no-output-gate":
            hidden_values[vec["o_t"]] = gate_values["o_t"]
        hidden = numbers_step(_key("hidden", mistake), sym("h_t"), hidden_formula,
                              hidden_values, t=t)
        steps.append(hidden)
        answers["h"].append(flat(hidden.value))
        answers["C"].append(flat(cell.value))
        if t < len(inputs):
            h, h_decimal = carry(hidden.value)
            C, C_decimal = carry(cell.value)
            if (C_decimal or h_decimal) and not decimals:
                decimals = True
                steps.append(Step(key="recurrent.decimals", data={"t": t + 1, "digits": DIGITS}))
        answers["f"].append(flat(gate_values["f_t"]))
        answers["i"].append(flat(gate_values["i_t"]))
        answers["C_tilde"].append(flat(gate_values["C_tilde"]))
        answers["o"].append(flat(gate_values["o_t"]))
    return Result(convention="olah", steps=tuple(steps), answers=answers)


def cell_partials(swapped: bool = False) -> dict[str, sp.Expr]:
    """The cell update's partial derivatives, by SymPy, for one unit (every gate acts entry by
    entry, so the vector case is the diagonal matrix of these).

    Args:
        swapped: differentiate the update with the forget and input gates exchanged
            (the ``forget-input-swapped`` mistake), which gives i_t.

    Returns:
        ``"dC_dCprev"``: ∂C_t/∂C_{t-1} along the direct (additive) path, which is f_t.
        ``"dh_dC"``: ∂h_t/∂C_t = o_t (1 - tanh(C_t)^2).
    """
    f, i, C_tilde, o, C_prev, C = (sym(k) for k in ("f_t", "i_t", "C_tilde", "o_t", "C_prev",
                                                      "C_t"))
    if swapped:
        f, i = i, f
    cell = f * C_prev + i * C_tilde
    return {
        "dC_dCprev": sp.diff(cell, C_prev),
        "dh_dC": sp.diff(o * sp.tanh(C), C),
    }


def sample_gates(draw: Draw, fixed: dict[str, Any]) -> dict[str, Any]:
    """How many steps to unfold: two to five (the exam asks for three)."""
    return {"steps": fixed.get("steps", draw.integer(2, 5))}


def _gates_question(values: dict[str, Any]) -> dict[str, Any]:
    """The inputs of the unfolded cell, x_1 to x_T, for the statement."""
    steps = values["steps"]
    inputs = [sp.Symbol(f"x_{t}") for t in range(1, steps + 1)]
    with sp.evaluate(False):
        listed = sp.Tuple(*inputs)
    return {"inputs": listed, "last_input": inputs[-1]}


# gradable answers: a symbol, or a formula written in the notation's plain text
_GATE_ANSWERS = ("forget_gate", "input_gate", "output_gate", "candidate", "cell_state",
                 "hidden_state", "cell_path", "y_from")


@derivation(
    "lstm-gates",
    params=[Param("steps", "int", default=3, minimum=1, maximum=10)],
    answers=[Answer(name, "text") for name in _GATE_ANSWERS],
    mistakes=[
        # the first two sigmoid layers of Olah's figure read the other way round
        Mistake("forget-input-swapped", changes=("forget_gate", "input_gate", "cell_path"),
                formula=True),
        # y read from the last cell state C_T instead of the last hidden state h_T
        Mistake("y-from-cell-state", changes=("y_from",), formula=True),
        # y read from the first hidden state h_1: the wrong time step
        Mistake("y-from-first-state", changes=("y_from",), formula=True,
                applies=lambda p: p["steps"] > 1),
    ],
    sampler=sample_gates,
    question=_gates_question,
)
def lstm_gates(steps: int, mistake: str | None = None) -> Result:
    """The LSTM cell in symbols: every gate's equation in Olah's notation and in the stacked
    notation of the course notes, which symbol is which gate, and the cell unfolded many-to-one.

    Args:
        steps: how many time steps to unfold (the exam asks for three: x1, x2, x3 -> y).
        mistake: ``forget-input-swapped``: the first sigmoid layer taken for the input gate and
            the second for the forget gate, from start to end (so C_{t-1} is weighted by i_t).
    """
    swapped = mistake == "forget-input-swapped"

    def named(key: str) -> str:
        return _named(key, swapped)

    out = _olah_steps(mistake)
    out += _stacked_steps(swapped)
    # which symbol is which gate
    out.append(Step(key="lstm_gates.forget_gate", data={"symbol": sym(named("f_t"))}))
    out.append(Step(key="lstm_gates.input_gate", data={"symbol": sym(named("i_t"))}))
    out.append(Step(key="lstm_gates.output_gate", data={"symbol": sym("o_t")}))

    # the additive path: a derivative taken by SymPy (of the cell update as written)
    partials = cell_partials(swapped)
    keeper = named("f_t")
    out.append(Step(key="lstm_gates.cell_path", lhs=sym("dC_dCprev"),
                    symbolic=sp.Function("diag")(sym(keeper)) if swapped else sym("diag_f"),
                    data={"partial": partials["dC_dCprev"]}))
    more, unfolded, last = _unfold_steps(steps, mistake)
    out += more

    return Result(
        convention="olah",
        steps=tuple(out),
        answers={
            "forget_gate": _plain(named("f_t")),
            "input_gate": _plain(named("i_t")),
            "output_gate": _plain("o_t"),
            "candidate": _plain("C_tilde"),
            "cell_state": _plain("C_t"),
            "hidden_state": _plain("h_t"),
            "cell_path": "diag(" + _plain(keeper) + ")",
            "y_from": str(last),
        },
        # the same facts as structures (not graded as a whole)
        info={
            "figure_order": [_plain(named(k)) for k, *_ in GATES],
            "gate_activations": {_plain(named(k)): a for k, a, *_ in GATES},
            "stacked_mapping": {letter: _plain(named(k)) for letter, k in STACKED.items()},
            "unfolded": unfolded,
        },
    )


def _named(key: str, swapped: bool) -> str:
    """The gate symbol the student writes for Olah's gate `key` (the forget and input gates
    trade places under forget-input-swapped)."""
    said = {"f_t": "i_t", "i_t": "f_t"} if swapped else {}
    return said.get(key, key)


def _olah_steps(mistake: str | None) -> list[Step]:
    """Olah's equations, one step per gate, the cell and the hidden state; the shapes are one
    unit wide (the symbols print the same for H units)."""
    swapped = mistake == "forget-input-swapped"
    out: list[Step] = []
    cell, hidden = _cell_formulas(1, mistake)
    for key, activation, _w_key, _b_key in GATES:
        formula, *_ = _gate_formula(key, 1, 2)
        if key == "o_t":
            out.append(Step(key="lstm_gates.cell_swapped" if swapped else "lstm_gates.cell",
                            lhs=sym("C_t"), symbolic=cell))
        out.append(Step(key=f"lstm_gates.{key.lower()}", lhs=sym(key), symbolic=formula,
                        data={"symbol": sym(key), "activation": activation}))
    out.append(Step(key="lstm_gates.hidden", lhs=sym("h_t"), symbolic=hidden))
    return out


def _stacked_steps(swapped: bool) -> list[Step]:
    """The stacked notation of the course notes: one W, four blocks of rows, and which of
    Olah's symbols each block is."""
    letters = sp.ImmutableMatrix([sym(f"st_{k}") for k in ("i", "f", "o", "g")])
    acts = sp.ImmutableMatrix([sym("sigma"), sym("sigma"), sym("sigma"), sym("tanh")])
    W, hx_stack = sp.MatrixSymbol("W", 1, 1), msym("hx_stack", 1)
    f, i, o, g = (msym(f"st_{k}", 1) for k in ("f", "i", "o", "g"))
    with sp.evaluate(False):
        stacked = sp.MatMul(acts, W, hx_stack)  # read as the notes write it
        c_update = sp.MatAdd(sp.HadamardProduct(f, msym("c_prev", 1)), sp.HadamardProduct(i, g))
        h_update = sp.HadamardProduct(o, Activation("tanh", msym("c_t", 1)))
    blocks = sp.ImmutableMatrix([sym("W_i"), sym("W_f"), sym("W_o"), sym("W_C")])
    return [
        Step(key="lstm_gates.stacked", lhs=letters, symbolic=stacked),
        Step(key="lstm_gates.stacked_cell", lhs=sym("c_t"), symbolic=c_update),
        Step(key="lstm_gates.stacked_hidden", lhs=sym("h_t"), symbolic=h_update),
        Step(key="lstm_gates.stacked_weights", lhs=sym("W"), symbolic=blocks),
        Step(key="lstm_gates.mapping", data={
            "i": sym(_named("i_t", swapped)), "f": sym(_named("f_t", swapped)),
            "o": sym("o_t"), "g": sym("C_tilde"),
        }),
    ]


def _unfold_steps(steps: int, mistake: str | None = None
                  ) -> tuple[list[Step], list[dict[str, Any]], sp.Symbol]:
    """Unfolded many-to-one: one group of equations, one line per time step, then y from the
    last state. Returns the steps, the unfolded calls as data and the last state's symbol."""
    out: list[Step] = []
    unfolded: list[dict[str, Any]] = []
    lstm = sp.Function("LSTM")
    pairs, calls = [], []
    for t in range(1, steps + 1):
        h_t, C_t = sp.Symbol(f"h_{t}"), sp.Symbol(f"C_{t}")
        args = (sp.Symbol(f"x_{t}"), sp.Symbol(f"h_{t - 1}"), sp.Symbol(f"C_{t - 1}"))
        with sp.evaluate(False):
            pairs.append(sp.Tuple(h_t, C_t))
            calls.append(lstm(*args))
        unfolded.append({"t": t, "inputs": [str(a) for a in args], "outputs": [str(h_t),
                                                                               str(C_t)]})
    out.append(Step(key="lstm_gates.unfold", lhs=Stack(*pairs), symbolic=Stack(*calls),
                    data={"steps": steps}))
    last = sp.Symbol(f"h_{steps}")
    read_key = "lstm_gates.many_to_one"
    if mistake == "y-from-cell-state":  # the cell state read out
        last, read_key = sp.Symbol(f"C_{steps}"), "lstm_gates.many_to_one_cell"
    elif mistake == "y-from-first-state":  # the first step's state read out
        last, read_key = sp.Symbol("h_1"), "lstm_gates.many_to_one_first"
    with sp.evaluate(False):
        # W_y and b_y, not V and c: c_t is the cell state of the stacked notation
        y = sp.Add(sp.Mul(sp.Symbol("W_y"), last), sp.Symbol("b_y"))
    out.append(Step(key=read_key, lhs=sym("y"), symbolic=y,
                    data={"steps": steps, "last": last}))
    return out, unfolded, last

