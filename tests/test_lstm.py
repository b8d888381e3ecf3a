"""lstm-forward against torch.nn.LSTM (float64); lstm-gates' answers and identities by SymPy."""

# ruff: noqa: N806
# (the usual letters: H units, D inputs, T steps, C the cell state)

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pytest
import sympy as sp
import torch

from dlexam import derivations
from dlexam.cli import main
from dlexam.derivations.core import to_plain
from dlexam.derivations.lstm import cell_partials
from dlexam.notation import sym, tex, text
from dlexam.render import render_text


def plain(result, name):
    return np.array(to_plain(result.answers[name]), dtype=float)


def torch_lstm_as_olah(lstm: torch.nn.LSTM) -> dict[str, list]:
    """PyTorch's stacked weights (gate order i, f, g, o; two biases) as Olah's four matrices,
    each acting on [h_{t-1}; x_t]."""
    H = lstm.hidden_size
    w_ih = lstm.weight_ih_l0.detach().numpy()
    w_hh = lstm.weight_hh_l0.detach().numpy()
    bias = (lstm.bias_ih_l0 + lstm.bias_hh_l0).detach().numpy()
    params = {}
    for block, (w_name, b_name) in enumerate([("W_i", "b_i"), ("W_f", "b_f"), ("W_C", "b_C"),
                                              ("W_o", "b_o")]):
        rows = slice(block * H, (block + 1) * H)
        params[w_name] = np.hstack([w_hh[rows], w_ih[rows]]).tolist()
        params[b_name] = bias[rows].tolist()
    return params


@pytest.mark.parametrize("seed", [0, 1])
def test_random_against_torch_lstm(seed: int) -> None:
    torch.manual_seed(seed)
    H, D, T = 2, 2, 3
    lstm = torch.nn.LSTM(D, H, batch_first=True, dtype=torch.float64)
    with torch.no_grad():  # short decimals keep the exact arithmetic quick
        for p in lstm.parameters():
            p.copy_(torch.round(p, decimals=2))
    rng = np.random.default_rng(seed)
    xs, h0, c0 = (rng.normal(size=s).round(2) for s in [(T, D), H, H])
    with torch.no_grad():
        out, (_h_n, c_n) = lstm(torch.tensor(xs)[None], (torch.tensor(h0)[None, None],
                                                        torch.tensor(c0)[None, None]))
    result = derivations.solve("lstm-forward", {
        **torch_lstm_as_olah(lstm), "x": xs.tolist(), "h0": h0.tolist(), "C0": c0.tolist(),
    })
    assert plain(result, "h") == pytest.approx(out[0].numpy(), abs=1e-10)
    assert plain(result, "C")[-1] == pytest.approx(c_n[0, 0].numpy(), abs=1e-10)
    # the gates, recomputed in NumPy from the same weights
    p = {k: np.array(v) for k, v in torch_lstm_as_olah(lstm).items()}
    hx = np.concatenate([h0, xs[0]])
    sig = lambda a: 1 / (1 + np.exp(-a))  # noqa: E731
    assert plain(result, "f")[0] == pytest.approx(sig(p["W_f"] @ hx + p["b_f"]), abs=1e-12)
    assert plain(result, "i")[0] == pytest.approx(sig(p["W_i"] @ hx + p["b_i"]), abs=1e-12)
    assert plain(result, "C_tilde")[0] == pytest.approx(np.tanh(p["W_C"] @ hx + p["b_C"]),
                                                        abs=1e-12)
    assert plain(result, "o")[0] == pytest.approx(sig(p["W_o"] @ hx + p["b_o"]), abs=1e-12)


def test_scalar_inputs_and_default_example() -> None:
    result = derivations.solve("lstm-forward")
    lstm = torch.nn.LSTM(1, 1, batch_first=True, dtype=torch.float64)
    w = {k: np.array(v) for k, v in {"W_i": [[0.3, 0.6]], "W_f": [[0.5, 0.4]],
                                     "W_C": [[0.2, 0.8]], "W_o": [[0.7, 0.1]]}.items()}
    order = ["W_i", "W_f", "W_C", "W_o"]
    with torch.no_grad():
        lstm.weight_hh_l0.copy_(torch.tensor(np.vstack([w[k][:, :1] for k in order])))
        lstm.weight_ih_l0.copy_(torch.tensor(np.vstack([w[k][:, 1:] for k in order])))
        lstm.bias_ih_l0.zero_()
        lstm.bias_hh_l0.zero_()
        out, _ = lstm(torch.tensor([[[1.0], [2.0]]], dtype=torch.float64))
    assert plain(result, "h") == pytest.approx(out[0].numpy(), abs=1e-12)


def test_cell_is_linear_in_the_old_state_with_slope_f() -> None:
    """C_1 = f_1 C_0 + i_1 C~_1, and no gate reads C_0: the exact slope is f_1."""
    base = derivations.solve("lstm-forward", C0=[0], x=[1])
    shifted = derivations.solve("lstm-forward", C0=[1], x=[1])
    slope = shifted.answers["C"][0][0] - base.answers["C"][0][0]
    assert sp.simplify(slope - base.answers["f"][0][0]) == 0
    assert base.answers["f"][0][0] == 1 / (1 + sp.exp(-sp.Rational(2, 5)))  # σ(0.4 * 1)


def test_chain_rule_through_the_cell_matches_sympy() -> None:
    """dh_t/dC_{t-1} of the composed cell equals (dh_t/dC_t)(dC_t/dC_{t-1}) from cell_partials."""
    f, i, C_tilde, o, C_prev = (sym(k) for k in ("f_t", "i_t", "C_tilde", "o_t", "C_prev"))
    composed = o * sp.tanh(f * C_prev + i * C_tilde)
    partials = cell_partials()
    chain = partials["dh_dC"].subs(sym("C_t"), f * C_prev + i * C_tilde) * partials["dC_dCprev"]
    assert sp.simplify(sp.diff(composed, C_prev) - chain) == 0
    assert partials["dC_dCprev"] == f
    assert sp.simplify(partials["dh_dC"] - o * (1 - sp.tanh(sym("C_t")) ** 2)) == 0


def test_gates_answers_name_the_gates() -> None:
    result = derivations.solve("lstm-gates")
    a, info = result.answers, result.info
    assert (a["forget_gate"], a["input_gate"], a["output_gate"]) == ("f_t", "i_t", "o_t")
    assert a["cell_path"] == "diag(f_t)"
    assert info["figure_order"] == ["f_t", "i_t", "C~_t", "o_t"]
    assert info["stacked_mapping"]["g"] == "C~_t"
    assert info["gate_activations"]["C~_t"] == "tanh"
    assert a["y_from"] == "h_3"
    assert [u["outputs"] for u in info["unfolded"]] == [["h_1", "C_1"], ["h_2", "C_2"],
                                                        ["h_3", "C_3"]]
    forget = next(s for s in result.steps if s.key == "lstm_gates.f_t")
    assert text(forget.symbolic) == "σ(W_f*[h_{t-1}, x_t] + b_f)"
    stacked = next(s for s in result.steps if s.key == "lstm_gates.stacked")
    assert text(stacked.lhs) == "[[i], [f], [o], [g]]"


def test_gates_unfold_any_number_of_steps() -> None:
    result = derivations.solve("lstm-gates", steps=5)
    assert result.answers["y_from"] == "h_5"
    # one group of equations, one line per step
    (unfold,) = [s for s in result.steps if s.key == "lstm_gates.unfold"]
    assert text(unfold.lhs) == "[(h_1, C_1); (h_2, C_2); (h_3, C_3); (h_4, C_4); (h_5, C_5)]"
    assert text(unfold.symbolic).startswith("[LSTM(x_1, h_0, C_0); LSTM(x_2, h_1, C_1);")
    assert text(unfold.symbolic).endswith("LSTM(x_5, h_4, C_4)]")
    assert tex(unfold.lhs).count(r"\\") == 4 and unfold.data["steps"] == 5


def test_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["solve", "lstm-forward", "x=[[1], [2], [3]]", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["answers"]) == {"h", "C", "f", "i", "C_tilde", "o"}
    assert len(out["answers"]["h"]) == 3


@pytest.mark.parametrize("name,lang,word", [
    ("lstm-forward", "en", "Forget gate"), ("lstm-forward", "zh-Hant", "遺忘門"),
    ("lstm-gates", "en", "the output gate is o_t"), ("lstm-gates", "zh-Hant", "輸入門是 i_t"),
])
def test_reads_in_both_languages(name: str, lang: str, word: str) -> None:
    assert word in render_text(derivations.solve(name), lang)


@pytest.mark.parametrize(
    "name,argv,param,fragment",
    [
        ("lstm-forward", ["W_f=[[0.5, 0.4, 0.1]]"], "W_i", "since W_f is given"),
        ("lstm-forward", [f"{k}=[[0.5, 0.4, 0.1]]" for k in ("W_f", "W_i", "W_C", "W_o")]
         + ["x=[1, 2]"], "W_f", "1 x 2"),
        ("lstm-forward", ["x=[[1, 2]]"], "x", "one number per time step, as the example"),
        ("lstm-forward", ["W_f=[[0.5, 0.4]]", "W_i=[[0.5, 0.4], [0.1, 0.2]]"], "W_i",
         "where W_f sets H = 1"),
        ("lstm-forward", ["x=[]"], "x", "non-empty"),
        ("lstm-forward", ["b_f=[\"one\"]"], "b_f", "number"),
        ("lstm-forward", ["h0=[0, 0]"], "h0", "H = 1"),
        ("lstm-gates", ["steps=0"], "steps", "from 1 to 10"),
        ("lstm-gates", ["steps=two"], "steps", "whole number"),
    ],
)
def test_bad_input_exit_2_one_line(input_error: Callable[[list[str]], str], name: str,
                                   argv: list[str], param: str, fragment: str) -> None:
    message = input_error(["solve", name, *argv])
    assert message.startswith(f"{param}: expected")
    assert fragment in message


def test_gates_swapped_reading_follows_through() -> None:
    """forget-input-swapped: the gates' names, the cell update and its derivative all swap."""
    result = derivations.get("lstm-gates").run({}, mistake="forget-input-swapped")
    a = result.answers
    assert (a["forget_gate"], a["input_gate"], a["cell_path"]) == ("i_t", "f_t", "diag(i_t)")
    cell = next(s for s in result.steps if s.key == "lstm_gates.cell_swapped")
    assert text(cell.symbolic).startswith("i_t ⊙ C_{t-1}")
    path = next(s for s in result.steps if s.key == "lstm_gates.cell_path")
    assert path.data["partial"] == sym("i_t")


@pytest.mark.parametrize("mistake,key,formula", [
    ("forget-input-swapped", "lstm_forward.cell_swapped", "i_t ⊙ C_{t-1} + f_t ⊙ C~_t"),
    ("no-output-gate", "lstm_forward.hidden_no_output_gate", "tanh(C_t)"),
    ("sigmoid-candidate", "lstm_forward.c_tilde_sigmoid", "σ(W_C*[h_{t-1}, x_t] + b_C)"),
])
def test_mistaken_steps_show_the_mistaken_formula(mistake: str, key: str, formula: str) -> None:
    result = derivations.get("lstm-forward").run({}, mistake=mistake)
    shown = [text(s.symbolic) for s in result.steps if s.key == key]
    assert shown and all(f == formula for f in shown), shown
    assert result.info["mistake"] == mistake


def test_mistakes_agree_with_torch_where_torch_can_make_them() -> None:
    """no-output-gate is an LSTM whose output gate is always 1: torch.nn.LSTM with a huge
    output-gate bias; sigmoid-candidate is not a torch cell, so the NumPy reference covers it."""
    torch.manual_seed(3)
    lstm = torch.nn.LSTM(1, 1, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        for p in lstm.parameters():
            p.copy_(torch.round(p, decimals=1))
        lstm.bias_ih_l0[3] = 1000.0  # the o block (order i, f, g, o): σ(1000) = 1 in float64
    params = torch_lstm_as_olah(lstm)
    with torch.no_grad():
        out, _ = lstm(torch.tensor([[[1.0], [-2.0]]], dtype=torch.float64))
    params["b_o"] = [0.0]
    result = derivations.get("lstm-forward").run({**params, "x": [1, -2]},
                                                 mistake="no-output-gate")
    assert plain(result, "h") == pytest.approx(out[0].numpy(), abs=1e-12)


def test_numpy_reference_agrees_with_torch() -> None:
    """tests/reference/recurrent_cells.py (used by the contract self-test) against torch."""
    from reference.recurrent_cells import lstm_forward as reference_lstm

    torch.manual_seed(4)
    lstm = torch.nn.LSTM(2, 2, batch_first=True, dtype=torch.float64)
    xs = np.array([[0.5, -1.0], [1.5, 0.2], [-0.3, 0.8]])
    h0, c0 = np.array([0.1, -0.2]), np.array([0.3, 0.4])
    with torch.no_grad():
        out, (_h, c_n) = lstm(torch.tensor(xs)[None], (torch.tensor(h0)[None, None],
                                                      torch.tensor(c0)[None, None]))
    ref = reference_lstm({**torch_lstm_as_olah(lstm), "x": xs.tolist(), "h0": h0.tolist(),
                          "C0": c0.tolist()}, None)
    assert np.array(ref["h"]) == pytest.approx(out[0].numpy(), abs=1e-12)
    assert np.array(ref["C"])[-1] == pytest.approx(c_n[0, 0].numpy(), abs=1e-12)
