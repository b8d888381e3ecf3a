"""mlp by hand against published numbers, PyTorch autograd and the checker."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import pytest
import torch
from reference.mlp import mlp as reference_mlp

from dlexam import derivations
from dlexam.cli import main

# Mazur, "A Step by Step Backpropagation Example" (2015): a 2-2-2 sigmoid network, half-mse,
# lr = 0.5; his published numbers (he leaves the biases as they are)
MAZUR = {"x": [0.05, 0.10], "W": [[[0.15, 0.20], [0.25, 0.30]], [[0.40, 0.45], [0.50, 0.55]]],
         "b": [[0.35, 0.35], [0.60, 0.60]], "activations": "sigmoid", "target": [0.01, 0.99],
         "lr": 0.5}


def _close(got: Any, want: Any, rel: float = 1e-9) -> bool:
    if isinstance(want, list):
        return isinstance(got, list) and len(got) == len(want) and all(
            _close(g, w, rel) for g, w in zip(got, want, strict=True))
    return math.isclose(float(got), float(want), rel_tol=rel, abs_tol=1e-12)


def test_mazur_published_values() -> None:
    answers = derivations.solve("mlp", MAZUR).plain_answers()
    assert math.isclose(answers["a"][0][0], 0.593269992, abs_tol=1e-9)  # out_h1
    assert math.isclose(answers["output"][0], 0.75136507, abs_tol=1e-8)  # out_o1
    assert math.isclose(answers["loss"], 0.298371109, abs_tol=1e-9)
    w2, w1 = answers["W_new"][1], answers["W_new"][0]
    assert [round(v, 8) for v in (w2[0][0], w2[0][1], w2[1][0], w2[1][1])] == [
        0.35891648, 0.40866619, 0.51130127, 0.56137012]  # w5+ .. w8+
    assert [round(v, 8) for v in (w1[0][0], w1[0][1], w1[1][0], w1[1][1])] == [
        0.14978072, 0.19956143, 0.24975114, 0.29950229]  # w1+ .. w4+
    # his biases stay as they are: the mistake "bias-not-updated" is his walk-through
    mistaken = derivations.solve("mlp", MAZUR, mistake="bias-not-updated").plain_answers()
    assert mistaken["b_new"] == MAZUR["b"]
    assert answers["b_new"] != MAZUR["b"]


@pytest.mark.parametrize("case", [
    # the gradient of a neuron: one sigmoid unit, no loss
    {"x": [1.0, 2.0], "W": [[[0.5, -0.3]]], "b": [[0.1]], "activations": "sigmoid",
     "loss": "none"},
    # a tanh hidden layer and a linear output, the gradient of the output, with a step
    {"x": [0.5, -1.0, 2.0], "W": [[[0.1, 0.2, -0.3], [0.4, -0.5, 0.6]], [[0.7, -0.8]]],
     "b": [[0.0, 0.1], [0.2]], "activations": "tanh, linear", "loss": "none", "lr": 0.1},
    # softmax and cross-entropy: delta_L = p - y
    {"x": [1.0, -1.0], "W": [[[0.3, -0.2], [0.1, 0.4]], [[0.5, -0.5], [0.2, 0.3], [-0.1, 0.6]]],
     "b": [[0.0, 0.0], [0.1, 0.0, -0.1]], "activations": "relu, softmax",
     "loss": "cross-entropy", "target": [0, 0, 1]},
    # sigmoid outputs and binary cross-entropy, mse with a relu at exactly 0 (derivative 0)
    {"x": [1.0, 1.0], "W": [[[0.5, -0.5], [0.3, 0.2]], [[1.0, -1.0], [0.5, 0.5]]],
     "b": [[0.0, 0.1], [0.0, 0.0]], "activations": "relu, sigmoid",
     "loss": "cross-entropy", "target": [1, 0], "lr": 1},
    {"x": [1.0, 1.0], "W": [[[0.5, -0.5], [0.3, 0.2]], [[1.0, -1.0]]],
     "b": [[0.0, 0.1], [0.2]], "activations": "relu, linear", "loss": "mse", "target": [0.3]},
    # three layers, no biases given
    {"x": [0.2, -0.4], "W": [[[0.1, 0.9], [-0.6, 0.3]], [[0.5, 0.5], [-0.2, 0.8]],
                              [[1.0, -1.0]]],
     "activations": "sigmoid, tanh, sigmoid", "target": 0.5, "lr": 0.5},
])
def test_hand_made_cases_match_autograd(case: dict[str, Any]) -> None:
    d = derivations.get("mlp")
    shown = d.shown_params(case)
    ours = d.run(case).plain_answers()
    theirs = reference_mlp(shown, None)
    assert set(theirs) <= set(ours)
    for name, value in theirs.items():
        assert _close(ours[name], value), (name, ours[name], value)
    for m in d.applicable_mistakes(case):
        mine = d.run(case, mistake=m.id).plain_answers()
        for name, value in reference_mlp(shown, m.id).items():
            assert _close(mine[name], value), (m.id, name, mine[name], value)


def test_relu_derivative_at_zero_is_pytorchs() -> None:
    case = {"x": [1.0, 1.0], "W": [[[0.5, -0.5]], [[2.0]]], "b": [[0.0], [0.0]],
            "activations": "relu, linear", "loss": "none"}
    answers = derivations.solve("mlp", case).plain_answers()
    assert answers["z"][0] == [0] and answers["dL_dW"][0] == [[0, 0]]
    x = torch.zeros(1, requires_grad=True)
    torch.relu(x).backward()
    assert x.grad.item() == 0.0


@pytest.mark.parametrize(("argv", "message"), [
    (["W=[[[1,2],[3,4]],[[1,2,3]]]", "target=[1]"], "W: expected layer 2's matrix with 2 columns"),
    (["target=[1]", "W=[[[1,2,3]]]", "b=[[0]]"], "W: expected layer 1's matrix with 2 columns"),
    (["activations=sigmoid,relu,tanh", "target=[0.1,0.2]"], "activations: expected one name"),
    (["activations=swish", "target=[0.1,0.2]"], "activations: expected names from"),
    (["loss=none"], "loss: expected half-mse, mse or cross-entropy"),
    ([], "target: expected 2 number"),
    (["loss=cross-entropy", "activations=sigmoid,linear", "target=[0,1]"],
     "loss: expected half-mse, mse or none"),
    (["loss=cross-entropy", "activations=sigmoid,softmax", "target=[0.5,0.6]"],
     "target: expected a one-hot or soft label"),
    (["b=[[1,2],[1,2,3]]", "target=[1,2]"], "b: expected layer 2's bias with 2 numbers"),
    (["x=[1,2]", "W=[[1,2]]", "target=[1]"], "W: expected a list"),
    (["x=[1,2,3,4,5,6,7,8,9]", "target=[1,2]"], "x: expected D at most 8"),
])
def test_bad_input_is_one_line(input_error: Callable[[list[str]], str], argv: list[str],
                               message: str) -> None:
    given = {a.split("=", 1)[0] for a in argv}
    mazur = [f"{k}={json.dumps(v)}" for k, v in MAZUR.items()
             if k not in given and k not in ("target", "lr")]
    assert input_error(["solve", "mlp", *mazur, *argv]).startswith(message)


def test_checker_reads_a_layer_and_names_the_mistake(capsys: pytest.CaptureFixture[str]) -> None:
    params = [f"{k}={json.dumps(v)}" for k, v in MAZUR.items()]
    wrong = derivations.solve("mlp", MAZUR, mistake="no-activation-derivative").plain_answers()
    right = derivations.solve("mlp", MAZUR).plain_answers()
    code = main(["check", "mlp", *params, "-a", f"delta[2]={json.dumps(right['delta'][1])}",
                 "-a", f"delta[1]={json.dumps(wrong['delta'][0])}", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1
    verdicts = {(v["answer"], tuple(v["index"])): v for v in out["verdicts"]}
    assert verdicts[("delta", (2, 1))]["correct"]
    assert not verdicts[("delta", (1, 1))]["correct"]
    assert verdicts[("delta", (1, 1))]["mistake"]["id"] == "no-activation-derivative"


def test_an_exam_asks_a_layer_not_the_whole_list(tmp_path: Any,
                                                 input_error: Callable[[list[str]], str]) -> None:
    """A per-layer answer is asked item by item (its layers differ in size): asking it whole
    is refused before any work, naming the TOML path."""
    exam = tmp_path / "exam.toml"
    exam.write_text('title = { en = "t", zh-Hant = "t" }\n[[questions]]\nid = "q1"\n'
                    'derivation = "mlp"\npoints = 10\nask = ["z[2]", "dL_dW"]\n', "utf-8")
    message = input_error(["exam", str(exam), "--variants", "2", "--seed", "1", "--out",
                           str(tmp_path / "out"), "--no-pdf"])
    assert message.startswith(f"{exam}: questions[1].ask[2]: expected one item of dL_dW")
    assert not (tmp_path / "out").exists()


def test_practice_asks_layer_by_layer() -> None:
    from dlexam.check.practice import items

    d = derivations.get("mlp")
    refs = [it.ref for it in items(d, derivations.solve("mlp", MAZUR).plain_answers())]
    assert refs[:4] == ["z[1]", "z[2]", "a[1]", "a[2]"] and "dL_dW[2]" in refs


def test_an_exam_asking_the_step_draws_a_learning_rate(tmp_path: Any) -> None:
    """W_new exists only with lr: a draw without one is refused and drawn again (it was a
    KeyError), and the variants keep the first one's form (lr is held)."""
    exam = tmp_path / "exam.toml"
    exam.write_text('title = { en = "t", zh-Hant = "t" }\n[[questions]]\nid = "q1"\n'
                    'derivation = "mlp"\npoints = 10\nask = ["W_new[1]", "delta[1]"]\n', "utf-8")
    assert main(["exam", str(exam), "--variants", "3", "--seed", "1", "--out",
                 str(tmp_path / "out"), "--no-pdf"]) == 0
    key = json.loads((tmp_path / "out" / "key.json").read_text("utf-8"))
    rates = {v["questions"][0]["params"]["lr"] for v in key["variants"]}
    assert len(rates) == 1 and None not in rates
