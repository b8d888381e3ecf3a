"""skip-gram: closed forms (a zero centre vector, a vocabulary of two words), the checker's
named mistakes, and what it refuses. The sampled questions are checked against PyTorch's
autograd in tests/test_contract.py."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from dlexam import derivations
from dlexam.cli import main

SKIP = derivations.get("skip-gram")
U = [[0.1, 0.3], [-0.4, 0.2], [0.6, -0.1]]


def test_a_zero_centre_vector_gives_the_uniform_distribution() -> None:
    answers = SKIP.run({"v_c": [0, 0], "U": U, "target": "w2"}).plain_answers()
    assert answers["scores"] == [0, 0, 0]
    assert answers["probs"] == pytest.approx([1 / 3] * 3, rel=1e-15)
    assert answers["loss"] == pytest.approx(math.log(3), rel=1e-15)
    # U^T (p - y) with p uniform: the mean output vector minus the target's
    expected = np.mean(U, axis=0) - np.array(U[1])
    assert answers["grad_v_c"] == pytest.approx(expected.tolist(), rel=1e-14)


def test_two_words_reduce_to_a_sigmoid() -> None:
    # p(o | c) = sigmoid(s_o - s_other), L = ln(1 + e^(s_other - s_o)),
    # dL/dv_c = (1 - p_o) (u_other - u_o)
    u_o, u_x, v = np.array([0.5, -0.2]), np.array([0.3, 0.4]), np.array([1.0, 2.0])
    params = {"v_c": v.tolist(), "U": [u_x.tolist(), u_o.tolist()], "words": "cat, mat",
              "target": "mat"}
    answers = SKIP.run(params).plain_answers()
    gap = float(u_x @ v - u_o @ v)
    p_o = 1 / (1 + math.exp(gap))
    assert answers["probs"][1] == pytest.approx(p_o, rel=1e-14)
    assert answers["loss"] == pytest.approx(math.log1p(math.exp(gap)), rel=1e-14)
    assert answers["grad_v_c"] == pytest.approx(((1 - p_o) * (u_x - u_o)).tolist(), rel=1e-13)


@pytest.mark.parametrize("mistake", ["no-expectation", "gradient-sign", "log-base-10",
                                     "no-normalizer"])
def test_mistakes_named_by_the_checker(mistake: str, capsys: pytest.CaptureFixture[str]
                                       ) -> None:
    params = {"v_c": [0.5, -0.2], "U": U, "words": "cat, sat, mat", "target": "mat"}
    wrong = SKIP.run(params, mistake=mistake).plain_answers()
    name = "grad_v_c" if "expectation" in mistake or "sign" in mistake else "loss"
    argv = ["check", "skip-gram", "v_c=[0.5,-0.2]", f"U={json.dumps(U)}",
            "words=cat, sat, mat", "target=mat", "-a", f"{name}={json.dumps(wrong[name])}",
            "--json"]
    assert main(argv) == 1
    verdicts = json.loads(capsys.readouterr().out)["verdicts"]
    assert {v["mistake"]["id"] for v in verdicts if v["mistake"]} == {mistake}


@pytest.mark.parametrize("argv,message", [
    (["target=dog", "words=cat, sat, mat"], "target: expected one of the words (cat, sat, mat)"),
    (["target=cat", "words=cat, sat"], "words: expected 3 comma-separated words"),
    (["target=cat", "words=cat, cat, mat"], "words: expected each word once"),
    (["words=cat, sat, mat"], "target"),
])
def test_bad_input_refused(argv: list[str], message: str,
                           capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["solve", "skip-gram", "v_c=[0.5,-0.2]", f"U={json.dumps(U)}", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
