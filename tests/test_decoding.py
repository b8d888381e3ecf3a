"""decoding on D2L's greedy-versus-optimal example and on hand-made trees; sequence-probability
against NumPy; the tree's refusals."""

from __future__ import annotations

import json
import math
from collections.abc import Callable

import numpy as np
import pytest

from dlexam import derivations

# D2L (Dive into Deep Learning, "Beam Search", greedy search figures): greedy picks A B C <eos>
# with 0.5 * 0.4 * 0.4 * 0.6 = 0.048, while A C B <eos> has 0.5 * 0.3 * 0.6 * 0.6 = 0.054.
D2L = {
    "A": [0.5, {
        "B": [0.4, {"C": [0.4, {"<eos>": [0.6, {}]}], "<eos>": [0.2, {}]}],
        "C": [0.3, {"B": [0.6, {"<eos>": [0.6, {}]}], "<eos>": [0.2, {}]}],
        "<eos>": [0.2, {}]}],
    "B": [0.2, {"<eos>": [0.1, {}]}],
    "C": [0.2, {"<eos>": [0.1, {}]}],
}


def test_greedy_is_not_optimal_on_d2l_example() -> None:
    greedy = derivations.solve("decoding", {"tree": D2L, "method": "greedy"}).plain_answers()
    assert greedy["best"] == "A B C <eos>"
    assert greedy["probabilities"] == pytest.approx([0.048])
    beam = derivations.solve("decoding", {"tree": D2L, "beam_width": 2}).plain_answers()
    assert beam["best"] == "A C B <eos>"
    assert beam["probabilities"][0] == pytest.approx(0.054)
    assert beam["log_probs"][0] == pytest.approx(math.log(0.054))
    mistaken = derivations.get("decoding").run({"tree": D2L, "beam_width": 2},
                                               mistake="greedy-as-optimal").plain_answers()
    assert mistaken["best"] == "A B C <eos>"


def test_beam_ranks_finished_hypotheses_and_length_penalty() -> None:
    tree = {"a": [0.6, {"<eos>": [0.4, {}], "b": [0.6, {"<eos>": [0.9, {}]}]}],
            "c": [0.4, {"<eos>": [1, {}]}]}
    # step 2 keeps c <eos> (0.4, finished) and a b (0.36); a <eos> (0.24) is pruned
    plain = derivations.solve("decoding", {"tree": tree, "beam_width": 2}).plain_answers()
    assert plain["sequences"] == "c <eos> | a b <eos>"
    assert plain["probabilities"] == pytest.approx([0.4, 0.324])
    penal = derivations.solve("decoding", {"tree": tree, "beam_width": 2,
                                           "length_penalty": 1}).plain_answers()
    scores = {"c <eos>": math.log(0.4) / 2, "a b <eos>": math.log(0.324) / 3}
    order = sorted(scores, key=lambda s: -scores[s])
    assert order == ["a b <eos>", "c <eos>"]  # the penalty favours the longer sequence
    assert penal["sequences"] == " | ".join(order)
    assert penal["scores"] == pytest.approx([scores[s] for s in order])


def test_sequence_probability_matches_numpy() -> None:
    probs = [0.5, 0.4, 0.9, 0.25]
    got = derivations.solve("sequence-probability", {"probs": probs}).plain_answers()
    assert got["probability"] == pytest.approx(float(np.prod(probs)), rel=1e-15)
    assert got["log_probability"] == pytest.approx(float(np.sum(np.log(probs))), rel=1e-15)


def _deep(levels: int) -> dict:
    tree: dict = {"<eos>": [1, {}]}
    for _ in range(levels):
        tree = {"a": [1, tree]}
    return tree


@pytest.mark.parametrize(("tree", "fragment"), [
    ({"a": [1.5, {}]}, "at most 1"),
    ({"a": [0.6, {}], "b": [0.6, {}]}, "summing to at most 1"),
    ({"a": 0.5}, "[probability, children]"),
    ({"<eos>": [1, {"a": [1, {}]}]}, "without children"),
    ({"a b": [1, {}]}, "one word"),
    ({"a|b": [1, {}]}, "without |"),
    ({}, "at least one token"),
    ([1, 2], "JSON object"),
    (_deep(7), "depth at most 6"),
    ({f"t{i}": [0.1, {}] for i in range(7)}, "branching at most 6"),
    (_deep(25), "nested at most"),
])
def test_bad_tree_is_one_line(input_error: Callable[[list[str]], str], tree: object,
                              fragment: str) -> None:
    message = input_error(["solve", "decoding", "tree=" + json.dumps(tree)])
    assert message.startswith("tree: expected"), message
    assert fragment in message, message
