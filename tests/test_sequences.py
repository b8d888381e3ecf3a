"""sequence-metrics on published cases (Papineni et al. 2002; Jurafsky and Martin) and NLTK,
and its refusals of bad JSON."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import pytest
import sympy as sp
from nltk.translate.bleu_score import corpus_bleu

from dlexam import derivations

REFS = ["the cat is on the mat", "there is a cat on the mat"]


def test_papineni_clipped_unigram_precision() -> None:
    """Papineni et al. (2002), section 2.1: "the the the the the the the" against the two
    references has modified unigram precision 2/7 (unclipped: 7/7)."""
    params = {"metric": "bleu", "candidate": "the the the the the the the",
              "references": REFS, "max_n": 1}
    d = derivations.get("sequence-metrics")
    right = d.run(params)
    assert right.answers["precisions"] == [sp.Rational(2, 7)]
    assert right.plain_answers()["matches"] == [2] and right.plain_answers()["totals"] == [7]
    wrong = d.run(params, mistake="precision-not-clipped")
    assert wrong.answers["precisions"] == [1]


@pytest.mark.parametrize("candidate", ["the cat is on the mat", "the cat sat on the mat",
                                       "a cat is on mat", "on the mat the cat is there now"])
@pytest.mark.parametrize("max_n", [1, 2, 4])
def test_bleu_matches_nltk(candidate: str, max_n: int) -> None:
    got = derivations.solve("sequence-metrics", {"metric": "bleu", "candidate": candidate,
                                                 "references": REFS, "max_n": max_n})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = corpus_bleu([[r.split() for r in REFS]], [candidate.split()],
                           weights=[1 / max_n] * max_n)
    assert float(got.answers["bleu"]) == pytest.approx(want, rel=1e-12, abs=1e-12)


def test_brevity_ties_go_to_the_shorter_reference() -> None:
    """A 5-word candidate between references of 4 and 6 words: r = 4 (NLTK, sacrebleu), BP 1."""
    got = derivations.solve("sequence-metrics", {
        "metric": "bleu", "candidate": "a b c d e", "references": ["a b c d", "a b c d e f"],
        "max_n": 1})
    assert got.answers["brevity_penalty"] == 1
    short = derivations.solve("sequence-metrics", {
        "metric": "bleu", "candidate": "a b c", "references": ["a b c d e f"], "max_n": 1})
    assert short.answers["brevity_penalty"] == sp.exp(-1)


def test_perplexity_of_uniform_digits() -> None:
    """Jurafsky and Martin (chapter 3): digits each with probability 1/10 have perplexity 10."""
    got = derivations.solve("sequence-metrics", {"probs": [0.1] * 7, "base": "2"})
    assert got.answers["perplexity"] == 10
    assert float(got.answers["cross_entropy"]) == pytest.approx(math.log2(10))


def test_unigram_perplexity_and_unseen_word() -> None:
    counts = {"the": 3, "cat": 2, "sat": 1}
    got = derivations.solve("sequence-metrics", {"counts": counts, "test": "the cat sat"})
    p = [3 / 6, 2 / 6, 1 / 6]
    assert float(got.answers["perplexity"]) == pytest.approx(math.prod(p) ** (-1 / 3))
    unseen = derivations.solve("sequence-metrics", {"counts": counts, "test": "the dog"})
    assert unseen.plain_answers()["perplexity"] == "inf"


def test_base_mixed_mistake() -> None:
    d = derivations.get("sequence-metrics")
    params = {"probs": [0.5, 0.25], "base": "2"}  # H = 1.5 bits, PP = 2^1.5
    wrong = d.run(params, mistake="log-base-mixed").plain_answers()
    assert wrong["perplexity"] == pytest.approx(math.e ** 1.5)


@pytest.mark.parametrize(("argv", "param", "fragment"), [
    (["counts={\"the\": -1}", "test=the"], "counts", "whole-number counts"),
    (["counts={\"the\": 1.5}", "test=the"], "counts", "whole-number counts"),
    (["counts=[1, 2]", "test=the"], "counts", "JSON object"),
    (["counts={\"a b\": 1}", "test=the"], "counts", "one word"),
    (["counts={}", "test=the"], "counts", "an empty object"),
    (["probs=[0.5]", "counts={\"a\": 1}", "test=a"], "probs", "either probs or counts"),
    (["probs=[0, 0.5]"], "probs", "above 0"),
    (["probs=[0.5]", "candidate=a b"], "candidate", "no candidate with metric=perplexity"),
    (["metric=bleu", "candidate=a b", "references=[\"a\"]", "test=a"], "test",
     "no test with metric=bleu"),
    (["metric=bleu", "candidate=a b", "references=\"a b\""], "references", "JSON list"),
    (["metric=bleu", "candidate=a b", "references=[\"a\", 3]"], "references", "texts"),
    (["metric=bleu", "candidate=a b", "references=[\"a\"]", "weights=[0.5, 0.5]"],
     "weights", "max_n = 4 weights"),
    (["metric=bleu", "candidate=a b", "references=[" + ",".join(['"a"'] * 9) + "]"],
     "references", "R at most 8"),
    (["metric=bleu", "candidate=a b", "references=[\"a\\u0007\"]"], "references", "no control"),
    (["metric=bleu", "candidate=a b", "references=[" + ",".join(['"a"'] * 6000) + "]"],
     "references", "at most 5000 values in all"),
    (["counts={\"a\": true}", "test=a"], "counts", "a JSON object, token -> count"),
    (["metric=bleu", "candidate=" + "a " * 600, "references=[\"a\"]"], "candidate",
     "at most 1000 characters"),
])
def test_bad_input_is_one_line(input_error: Callable[[list[str]], str], argv: list[str],
                               param: str, fragment: str) -> None:
    message = input_error(["solve", "sequence-metrics", *argv])
    assert message.startswith(f"{param}: expected"), message
    assert fragment in message, message
