"""The GRU cell with numbers: update gate, reset gate, candidate state, new state.

    z_t = σ(W_z x_t + U_z h_{t-1} + b_z)                      update gate
    r_t = σ(W_r x_t + U_r h_{t-1} + b_r)                      reset gate
    h~_t = tanh(W_h x_t + b_h + r_t ⊙ (U_h h_{t-1} + b_hn))   reset_after (PyTorch, Keras' default)
    h~_t = tanh(W_h x_t + U_h (r_t ⊙ h_{t-1}) + b_h)          reset before (Cho et al., 2014)
    h_t = z_t ⊙ h_{t-1} + (1 - z_t) ⊙ h~_t

The two candidate forms differ in where the reset gate acts: on the recurrent product (with its
own bias b_hn, PyTorch's b_hn) or on the previous state before the product.

Named mistakes (computed by the derivation itself, from start to end): ``update-rule-swapped``
(h_t = (1 - z_t) ⊙ h_{t-1} + z_t ⊙ h~_t: z weighting the candidate instead of the old state) and
``reset-after-swapped`` (the candidate with the reset gate in the other place; on a reset_after
question the bias b_hn is kept, added outside the gate).
"""

# ruff: noqa: N803, N806
# (matrix names follow the usual letters: W_z, U_h; the registry passes them by these names)

from __future__ import annotations

from collections.abc import Mapping
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
    inputs_of,
    msym,
    numbers_step,
    zeros,
)
from dlexam.derivations.contract import Answer, Follow, Mistake
from dlexam.derivations.core import Result, Step, derivation, evaluate_at, to_plain
from dlexam.derivations.params import Param, bind_dims, exact
from dlexam.derivations.sampling import Draw
from dlexam.derivations.statements import NOTHING, inputs_phrase
from dlexam.errors import InputError, Said
from dlexam.notation import register_symbols, sym
from dlexam.notation.display import Phrase

register_symbols({
    "z_t": ("z_t", "z_t"),
    "r_t": ("r_t", "r_t"),
    "h_tilde": (r"\tilde{h}_t", "h~_t"),
    "W_z": ("W_z", "W_z"),
    "W_r": ("W_r", "W_r"),
    "W_h": ("W_h", "W_h"),
    "U_z": ("U_z", "U_z"),
    "U_r": ("U_r", "U_r"),
    "U_h": ("U_h", "U_h"),
    "b_z": ("b_z", "b_z"),
    "b_r": ("b_r", "b_r"),
    "b_h": ("b_h", "b_h"),
    "b_hn": (r"b_{hn}", "b_hn"),
    "ones": (r"\mathbf{1}", "1"),
})

# a small example cell (one unit, a scalar input) used when no weights are given
EXAMPLE: dict[str, Any] = {
    "W_z": [0.5], "W_r": [0.3], "W_h": [0.8],
    "U_z": [[0.4]], "U_r": [[0.2]], "U_h": [[0.6]],
    "x": [1, 2],
}


def _formulas(H: int, D: int, scalar_in: bool, reset_after: bool,
              mistake: str | None = None, update_rule: str = "cho") -> dict[str, Any]:
    """The cell's formulas and the symbols they are written in.

    Args:
        H: units; D: inputs per step; scalar_in: each input is one number.
        reset_after: the question's placement of the reset gate.
        mistake: ``reset-after-swapped`` writes the candidate with the other placement (keeping
            b_hn, outside the gate, when the question has one); ``update-rule-swapped`` uses
            the other update rule than ``update_rule``.
        update_rule: ``cho`` (z keeps the old state) or ``olah`` (z weights the candidate).
    """
    s: dict[str, Any] = {
        "x_t": sym("x_t") if scalar_in else msym("x_t", D),
        "h_prev": msym("h_prev", H),
        "ones": msym("ones", H),
        **{k: msym(k, H, D) for k in ("W_z", "W_r", "W_h")},
        **{k: msym(k, H, H) for k in ("U_z", "U_r", "U_h")},
        **{k: msym(k, H) for k in ("b_z", "b_r", "b_h", "b_hn", "z_t", "r_t", "h_tilde")},
    }
    x, h = s["x_t"], s["h_prev"]
    with sp.evaluate(False):
        for gate, w, u, b in (("z_t", "W_z", "U_z", "b_z"), ("r_t", "W_r", "U_r", "b_r")):
            s[f"{gate}_formula"] = Activation("sigmoid", sp.MatAdd(
                sp.MatMul(s[w], x), sp.MatMul(s[u], h), s[b]))
        if mistake == "reset-gate-left-out":  # the old state seen whole: no r_t anywhere
            terms = [sp.MatMul(s["W_h"], x), sp.MatMul(s["U_h"], h), s["b_h"]]
            if reset_after:
                terms.append(s["b_hn"])
            candidate = sp.MatAdd(*terms)
        elif reset_after == (mistake != "reset-after-swapped"):
            # the reset gate after the recurrent product (b_hn inside, zero on a question that
            # has none)
            recurrent = (sp.MatAdd(sp.MatMul(s["U_h"], h), s["b_hn"]) if reset_after
                         else sp.MatMul(s["U_h"], h))
            candidate = sp.MatAdd(sp.MatMul(s["W_h"], x), s["b_h"],
                                  sp.HadamardProduct(s["r_t"], recurrent))
        else:
            terms = [sp.MatMul(s["W_h"], x),
                     sp.MatMul(s["U_h"], sp.HadamardProduct(s["r_t"], h)), s["b_h"]]
            if reset_after:  # the mistaken placement keeps the question's b_hn, outside r_t
                terms.append(s["b_hn"])
            candidate = sp.MatAdd(*terms)
        # no-candidate-tanh: the pre-activation taken as the candidate
        s["h_tilde_formula"] = (candidate if mistake == "no-candidate-tanh"
                                else Activation("tanh", candidate))
        keep, take = s["z_t"], sp.MatAdd(s["ones"], sp.MatMul(-1, s["z_t"]))
        if (update_rule == "olah") != (mistake == "update-rule-swapped"):
            keep, take = take, keep
        s["h_formula"] = sp.MatAdd(sp.HadamardProduct(keep, h),
                                   sp.HadamardProduct(take, s["h_tilde"]))
        if mistake == "update-gate-left-out":  # the candidate taken as the new state
            s["h_formula"] = s["h_tilde"]
    return s


UPDATE_RULES = ("cho", "olah")

PARAMS = [
    Param("W_z", "array", shapes=(("H",), ("H", "D")), default=None),
    Param("W_r", "array", shapes=(("H",), ("H", "D")), default=None),
    Param("W_h", "array", shapes=(("H",), ("H", "D")), default=None),
    Param("U_z", "array", shapes=(("H", "H"),), default=None),
    Param("U_r", "array", shapes=(("H", "H"),), default=None),
    Param("U_h", "array", shapes=(("H", "H"),), default=None),
    Param("b_z", "array", shapes=(("H",),), default=None),
    Param("b_r", "array", shapes=(("H",),), default=None),
    Param("b_h", "array", shapes=(("H",),), default=None),
    Param("b_hn", "array", shapes=(("H",),), default=None),
    Param("x", "array", shapes=(("T",), ("T", "D")), default=None),
    Param("h0", "array", shapes=(("H",),), default=None, trace="nonzero"),
    Param("reset_after", "bool", default=True),
    # cho: h_t = z h_{t-1} + (1 - z) h~ (Cho et al., PyTorch, Keras); olah: z weights h~
    Param("update_rule", "choice", default="cho", choices=UPDATE_RULES),
]

# the state feeds every later gate, so each mistake can move all the answers
_ALL = ("h", "z", "r", "h_tilde")
MISTAKES = [
    # the other rule than the question's (its h_other is then the question's states)
    Mistake("update-rule-swapped", changes=(*_ALL, "h_other"), formula=True),
    # with one unit and no b_hn, r (U h) = U (r h): the placements give the same numbers
    Mistake("reset-after-swapped", changes=(*_ALL, "h_other"), formula=True,
            applies=lambda p: bool(p["reset_after"]) or _units(p) > 1),
    # the candidate computed from the whole old state: the reset gate left out
    Mistake("reset-gate-left-out", changes=(*_ALL, "h_other"), formula=True),
    # the candidate without its tanh: the pre-activation itself
    Mistake("no-candidate-tanh", changes=(*_ALL, "h_other"), formula=True),
    # h_t = h~_t: the update gate left out, the old state forgotten
    Mistake("update-gate-left-out", changes=(*_ALL, "h_other"), formula=True),
]

def _units(params: Mapping[str, Any]) -> int:
    """H, read off the recurrent weights (the example cell has one unit)."""
    return 1 if params["U_z"] is None else len(params["U_z"])


# |pre-activation| stays below this bound in sampled questions, away from σ's and tanh's flat ends
_SATURATION = 2.5


def _is_flat(value: Any) -> bool:
    return isinstance(value, list) and all(not isinstance(v, list) for v in value)


def _reach(params: dict[str, Any], xs: list[float], gate: str, unit: int) -> float:
    """A bound on |W x_t + U h_{t-1} + b| for one unit of a gate (|h| < 1, |x| <= max xs)."""
    row = params[f"W_{gate}"][unit]
    width = sum(abs(v) for v in row) if isinstance(row, list) else abs(row)
    return (width * max(xs) + sum(abs(v) for v in params[f"U_{gate}"][unit])
            + abs(params[f"b_{gate}"][unit]))


def sample_gru(draw: Draw, fixed: dict[str, Any]) -> dict[str, Any]:
    """A two- or three-step GRU of one or two units (two when the reset gate acts before the
    recurrent product, where one unit cannot tell the placements apart), h_0 = 0.

    Either placement of the reset gate (b_hn, non-zero, only with reset_after); inputs are small
    whole numbers (one per step) or one-decimal pairs. Every pre-activation is bounded by
    sum |W| max |x| + sum |U| + |b| + |b_hn| <= 2.5.
    """
    dims = bind_dims(PARAMS, fixed)
    if "reset_after" in fixed:
        reset_after = bool(fixed["reset_after"])
    else:
        reset_after = fixed.get("b_hn") is not None or draw.chance(0.5)
    # two units where the reset gate acts before the product: with one, both placements agree
    H = dims.get("H", draw.integer(1, 2) if reset_after else 2)
    if "D" in dims:
        D = dims["D"]
    elif any(_is_flat(fixed.get(k)) for k in ("W_z", "W_r", "W_h", "x")):
        D = 1
    else:
        D = draw.integer(1, 2)
    T = dims.get("T", draw.integer(2, 3))
    rule = fixed.get("update_rule") or ("olah" if draw.chance(0.3) else "cho")
    out: dict[str, Any] = {}
    for _ in range(200):
        out = {
            **{w: draw.array((H,) if D == 1 else (H, D), -1, 1, nonzero=True)
               for w in ("W_z", "W_r", "W_h")},
            **{u: draw.array((H, H), -0.6, 0.6, nonzero=True) for u in ("U_z", "U_r", "U_h")},
            **{b: draw.array((H,), -0.5, 0.5) for b in ("b_z", "b_r", "b_h")},
            "x": [draw.integer(1, 2) * draw.choice((-1, 1)) for _ in range(T)] if D == 1
            else draw.array((T, D), -1, 1, nonzero=True),
            "h0": [0] * H,
            "reset_after": reset_after,
        }
        if rule != "cho":
            out["update_rule"] = rule
        if reset_after:
            out["b_hn"] = draw.array((H,), -0.5, 0.5, nonzero=True)
        out.update(fixed)
        xs = [abs(v) for row in out["x"] for v in (row if isinstance(row, list) else [row])]
        hn = out.get("b_hn") or [0] * H

        if "x" in fixed or all(
            _reach(out, xs, "z", k) <= _SATURATION
            and _reach(out, xs, "r", k) <= _SATURATION
            and _reach(out, xs, "h", k) + abs(hn[k]) <= _SATURATION
            for k in range(H)
        ):
            return out
    return out


def _question(values: dict[str, Any]) -> dict[str, Any]:
    """The cell's equations for the statement, and the numbers it leaves out."""
    given = {k: values[k] for k in ("W_z", "W_r", "W_h", "U_z", "U_r", "U_h")}
    out: dict[str, Any] = {}
    if all(v is None for v in given.values()):
        given = {k: sp.ImmutableMatrix(EXAMPLE[k]).applyfunc(exact) for k in given}
        out.update(given)
        if values["x"] is None:
            out["x"] = sp.ImmutableMatrix(EXAMPLE["x"]).applyfunc(exact)
            out["T"] = len(EXAMPLE["x"])
    H, D = given["W_z"].shape
    x = out.get("x", values["x"])
    scalar_in = x is not None and x.cols == 1 and D == 1
    s = _formulas(H, D, scalar_in, values["reset_after"], update_rule=values["update_rule"])
    out.update(model_z=s["z_t_formula"], model_r=s["r_t_formula"],
               model_candidate=s["h_tilde_formula"], model_h=s["h_formula"])
    for name in ("b_z", "b_r", "b_h", "b_hn", "h0"):
        if values[name] is None:
            out[name] = zeros(H)
    out["inputs"] = inputs_phrase(x, x.rows)
    # b_hn and where the reset gate acts are said only for reset_after = true
    b_hn = out.get("b_hn", values["b_hn"])
    after = bool(values["reset_after"])
    out["reset_bias"] = Phrase("gru_forward.says.reset_bias", {"b_hn": b_hn}) if after else NOTHING
    out["reset_rule"] = Phrase("gru_forward.says.reset_after") if after else NOTHING
    return out


def _state_from_gates(params: Mapping[str, Any], student: Mapping[str, Any]
                      ) -> dict[str, Any]:
    """h_t from the student's own update gate, candidate and previous state (follow-through):
    the cell's own state formula (:func:`_formulas`, under the question's update rule)
    evaluated at their values."""
    H = len(student["z"][0])
    # the state formula reads no input: its width does not matter here
    s = _formulas(H, 1, True, bool(params["reset_after"]), update_rule=params["update_rule"])
    previous = column_of(params["h0"]) if params.get("h0") is not None else zeros(H)
    out = []
    for t, (z_t, cand_t) in enumerate(zip(student["z"], student["h_tilde"], strict=True)):
        if t > 0:
            previous = column_of(student["h"][t - 1])
        value = evaluate_at(s["h_formula"], {
            s["z_t"]: column_of(z_t), s["h_tilde"]: column_of(cand_t), s["h_prev"]: previous,
            s["ones"]: sp.ImmutableMatrix.ones(H, 1)})
        out.append([to_plain(v) for v in value])
    return {"h": out}


@derivation(
    "gru-forward",
    params=PARAMS,
    answers=[*[Answer(name, "vectors", shapes=(("T", "H"),))
               for name in _ALL],
             # the states under the other update rule, so that both readings can be asked
             Answer("h_other", "vectors", shapes=(("T", "H"),), asked=False)],
    mistakes=MISTAKES,
    sampler=sample_gru,
    question=_question,
    limits={"T": 6, "H": 4, "D": 4},
    follows=[Follow(("z", "h_tilde", "h"), ("h",), _state_from_gates, by_step=True)],
)
def gru_forward(
    W_z: sp.ImmutableMatrix | None,
    W_r: sp.ImmutableMatrix | None,
    W_h: sp.ImmutableMatrix | None,
    U_z: sp.ImmutableMatrix | None,
    U_r: sp.ImmutableMatrix | None,
    U_h: sp.ImmutableMatrix | None,
    b_z: sp.ImmutableMatrix | None,
    b_r: sp.ImmutableMatrix | None,
    b_h: sp.ImmutableMatrix | None,
    b_hn: sp.ImmutableMatrix | None,
    x: sp.ImmutableMatrix | None,
    h0: sp.ImmutableMatrix | None,
    reset_after: bool,
    update_rule: str,
    mistake: str | None = None,
) -> Result:
    """Runs a GRU cell over the inputs, gate by gate.

    Args:
        W_z: update-gate input weights, H x D (an H list for a scalar input).
        W_r: reset-gate input weights.
        W_h: candidate input weights.
        U_z: update-gate recurrent weights, H x H.
        U_r: reset-gate recurrent weights.
        U_h: candidate recurrent weights.
        b_z: update-gate bias (zeros when not given); likewise b_r, b_h.
        b_r: reset-gate bias.
        b_h: candidate bias on the input side.
        b_hn: candidate bias on the recurrent side, inside the reset gate (PyTorch's b_hn);
            only with reset_after.
        x: the inputs, one per time step: numbers, or lists of D numbers.
        h0: the initial state (zeros when not given).
        reset_after: True (PyTorch, Keras' default) applies the reset gate after the recurrent
            product; False (the original paper, Cho et al. 2014) before it.
        update_rule: ``cho`` (h_t = z h_{t-1} + (1 - z) h~_t: Cho et al., PyTorch, Keras) or
            ``olah`` (h_t = (1 - z) h_{t-1} + z h~_t: Olah's post, many course notes); the
            states under the other rule are reported beside them (``h_other``).
        mistake: compute as a student making this declared mistake (``update-rule-swapped``,
            ``reset-after-swapped``), from start to end.
    """
    w = example({"W_z": W_z, "W_r": W_r, "W_h": W_h, "U_z": U_z, "U_r": U_r, "U_h": U_h},
                EXAMPLE, Said("cells.errors.gate_weights"))
    H, D = w["W_z"].shape
    for name in ("W_r", "W_h"):
        if w[name].cols != D:
            raise InputError(name, Said("gru.errors.shape", shape=f"{H} x {D}"),
                             f"{w[name].rows} x {w[name].cols}")
    if x is None:
        if W_z is not None:
            raise InputError("x", Said("cells.errors.inputs"), Said("errors.nothing"))
        x = sp.ImmutableMatrix(EXAMPLE["x"]).applyfunc(exact)
    if b_hn is not None and not reset_after:
        raise InputError("b_hn", Said("gru.errors.b_hn"), Said("inputs.a_value"))
    check_sizes(H, {"b_z": b_z, "b_r": b_r, "b_h": b_h, "b_hn": b_hn, "h0": h0})
    inputs, scalar_in = inputs_of(w["W_z"], x)
    # the rule this derivation follows (the other one under update-rule-swapped)
    rule = update_rule if mistake != "update-rule-swapped" else _other(update_rule)
    s = _formulas(H, D, scalar_in, reset_after, mistake, update_rule)
    fixed: dict[sp.Basic, Any] = {
        **{s[k]: v for k, v in w.items()},
        s["b_z"]: zeros(H) if b_z is None else b_z,
        s["b_r"]: zeros(H) if b_r is None else b_r,
        s["b_h"]: zeros(H) if b_h is None else b_h,
        s["b_hn"]: zeros(H) if b_hn is None else b_hn,
        s["ones"]: sp.ImmutableMatrix.ones(H, 1),
    }
    h = zeros(H) if h0 is None else h0
    convention = "reset_after" if reset_after else "reset_before"
    # where the candidate's formula puts the reset gate (the other place under the mistake)
    placement = ("reset_after" if reset_after == (mistake != "reset-after-swapped")
                 else "reset_before")
    if placement != convention and reset_after:
        placement = "reset_before_with_hn"
    if mistake == "reset-gate-left-out":
        placement = "no_reset"
    if mistake == "no-candidate-tanh":
        placement = "no_tanh"
    steps: list[Step] = [
        Step(key=f"gru_forward.{convention}", data={"units": H, "steps": len(inputs)}),
    ]
    more, answers = _run(s, fixed, inputs, h, placement,
                         "gru_forward.state_candidate" if mistake == "update-gate-left-out"
                         else "gru_forward.state" if rule == "cho"
                         else "gru_forward.state_swapped")
    steps += more
    # the other update rule from start to end, on the same weights (the same placement)
    placement_mistake = mistake if mistake in ("reset-after-swapped", "reset-gate-left-out",
                                               "no-candidate-tanh", "update-gate-left-out"
                                               ) else None
    other = _formulas(H, D, scalar_in, reset_after, placement_mistake, _other(rule))
    # the same symbols (the formulas name the weights alike), so the same numbers put in
    _other_steps, other_answers = _run(other, fixed, inputs, zeros(H) if h0 is None else h0,
                                       placement, "gru_forward.state")
    answers["h_other"] = other_answers["h"]
    states = sp.ImmutableMatrix([list(row) for row in other_answers["h"]])
    steps.append(Step(key=f"gru_forward.other_{_other(rule)}", lhs=sym("h_t"),
                      symbolic=other["h_formula"], value=states,
                      data={"steps": len(inputs), "states": states}))
    return Result(convention=convention, steps=tuple(steps), answers=answers,
                  info={"update_rule": update_rule, "other_rule": _other(update_rule)})


def _other(rule: str) -> str:
    return "olah" if rule == "cho" else "cho"


def _run(s: dict[str, Any], fixed: dict[sp.Basic, Any], inputs: list[Any],
         h: sp.ImmutableMatrix, placement: str, state_key: str
         ) -> tuple[list[Step], dict[str, list[Any]]]:
    """The cell over every input with the formulas ``s``: the steps and the answers."""
    steps: list[Step] = []
    answers: dict[str, list[Any]] = {"h": [], "z": [], "r": [], "h_tilde": []}
    decimals = False  # whether the state is carried as decimals yet
    for t, x_t in enumerate(inputs, start=1):
        values = {**fixed, s["x_t"]: x_t, s["h_prev"]: h}
        z = numbers_step("gru_forward.update", sym("z_t"), s["z_t_formula"], values, t=t)
        r = numbers_step("gru_forward.reset", sym("r_t"), s["r_t_formula"], values, t=t)
        values[s["r_t"]] = r.value
        candidate = numbers_step(f"gru_forward.candidate_{placement}", sym("h_tilde"),
                                 s["h_tilde_formula"], values, t=t)
        values[s["z_t"]], values[s["h_tilde"]] = z.value, candidate.value
        new = numbers_step(state_key, sym("h_t"), s["h_formula"], values, t=t)
        steps += [z, r, candidate, new]
        answers["h"].append(flat(new.value))
        if t < len(inputs):
            h, to_decimals = carry(new.value)
            if to_decimals and not decimals:
                decimals = True
                steps.append(Step(key="recurrent.decimals", data={"t": t + 1, "digits": DIGITS}))
        answers["z"].append(flat(z.value))
        answers["r"].append(flat(r.value))
        answers["h_tilde"].append(flat(candidate.value))
    return steps, answers

