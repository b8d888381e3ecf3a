"""hinge-loss: CS231n's published example, the kink convention against PyTorch's autograd, the
named mistakes through the checker, and what it refuses.

Published numbers: CS231n (Stanford, "Linear classification", lecture 3) scores three images
over the classes cat, car, frog: cat [3.2, 5.1, -1.7] (true: cat) loses 2.9, car
[1.3, 4.9, 2.0] (true: car) 0, frog [2.2, 2.5, -3.1] (true: frog) 12.9; the mean is 5.27.
"""

from __future__ import annotations

import json

import pytest
import torch

from dlexam import derivations
from dlexam.cli import main

HINGE = derivations.get("hinge-loss")


@pytest.mark.parametrize("scores,label,loss", [
    ([3.2, 5.1, -1.7], 0, 2.9),
    ([1.3, 4.9, 2.0], 1, 0.0),
    ([2.2, 2.5, -3.1], 2, 12.9),
])
def test_cs231n_published_losses(scores: list[float], label: int, loss: float) -> None:
    answers = HINGE.run({"scores": scores, "label": label}).plain_answers()
    assert answers["loss"] == pytest.approx(loss, abs=1e-12)
    assert answers["margins"][label] == 0


def test_cs231n_cat_terms_and_gradient() -> None:
    answers = HINGE.run({"scores": [3.2, 5.1, -1.7], "label": 0}).plain_answers()
    assert answers["margins"] == pytest.approx([0, 2.9, 0])
    assert answers["grad"] == [-1, 1, 0]


def _torch_grad(scores: list[float], label: int, clamp: bool) -> list[float]:
    """sum_{j != y} of the hinge written with clamp(min=0) (slope 1 at 0) or relu (slope 0)."""
    s = torch.tensor(scores, dtype=torch.float64, requires_grad=True)
    terms = s - s[label] + 1.0
    hinge = torch.clamp(terms, min=0) if clamp else torch.relu(terms)
    mask = torch.ones(len(scores), dtype=torch.float64)
    mask[label] = 0
    (hinge * mask).sum().backward()
    assert s.grad is not None
    return s.grad.tolist()


def test_the_kink_convention_names_both_and_matches_autograd() -> None:
    # class 2 sits exactly at the margin: 0 - 1 + 1 = 0 (scores whose floats are exact)
    scores = [1.0, 0.0, 0.5]
    zero = HINGE.run({"scores": scores, "label": 0})
    one = HINGE.run({"scores": scores, "label": 0, "at_kink": 1})
    assert zero.plain_answers()["grad"] == _torch_grad(scores, 0, clamp=False) == [-1, 0, 1]
    assert one.plain_answers()["grad"] == _torch_grad(scores, 0, clamp=True) == [-2, 1, 1]
    assert zero.plain_answers()["loss"] == one.plain_answers()["loss"] == 0.5
    assert zero.info["grad_other_convention"] == [-2, 1, 1]
    assert one.info["grad_other_convention"] == [-1, 0, 1]
    assert any(s.key == "hinge_loss.kink" for s in zero.steps)


@pytest.mark.parametrize("typed,mistake", [
    ("loss=3.9", "true-class-counted"),  # 2.9 + the true class's own Delta
    ("grad=[1, -1, 0]", "grad-sign"),
    ("grad=[0, 1, 0]", "true-class-grad-left-out"),
    ("loss=-1.0", "no-max"),  # 2.9 + (-1.7 - 3.2 + 1)
    ("loss=1.9", "no-margin"),
])
def test_mistakes_named_by_the_checker(typed: str, mistake: str,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "hinge-loss", "scores=[3.2,5.1,-1.7]", "label=0", "-a", typed,
                 "--json"]) == 1
    verdicts = json.loads(capsys.readouterr().out)["verdicts"]
    assert {v["mistake"]["id"] for v in verdicts if v["mistake"]} == {mistake}


@pytest.mark.parametrize("argv,message", [
    (["scores=[1,2,3]", "label=3"], "label: expected a class index from 0 to 2"),
    (["scores=[1,2,3]", "label=0", "margin=-1"], "margin"),
    (["scores=[1,2,3]"], "label"),
])
def test_bad_input_refused(argv: list[str], message: str,
                           capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["solve", "hinge-loss", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
