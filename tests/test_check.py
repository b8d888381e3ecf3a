"""dlexam check: verdicts, named mistakes, rounding, follow-through, and what it refuses.

Expected values come from the NumPy reference (tests/reference), not from dlexam."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from reference import load

from dlexam import derivations
from dlexam.check.verdicts import Checker, check
from dlexam.cli import main

REFERENCES = load()
RNN = derivations.get("rnn-forward")
Q4 = RNN.shown_params({})
RIGHT = REFERENCES["rnn-forward"](Q4, None)
ROWS = REFERENCES["rnn-forward"](Q4, "row-convention")


def run_json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:
    code = main(argv)
    return code, json.loads(capsys.readouterr().out)


def test_issue_example_row_convention_named(capsys: pytest.CaptureFixture[str]) -> None:
    y1, y2 = RIGHT["y"]
    assert round(y2, 4) == 2.7371 and round(ROWS["y"][1], 4) == 2.6704  # the exam's numbers
    code, out = run_json(["check", "rnn-forward", "-a", f"y[1]={y1:.4f}", "-a",
                          f"y[2]={ROWS['y'][1]:.4f}", "--json"], capsys)
    assert code == 1
    assert set(out) == {"derivation", "params", "verdicts", "correct", "total"}
    first, second = out["verdicts"]
    assert first["correct"] is True and first["index"] == [1] and first["mistake"] is None
    assert second["correct"] is False and second["index"] == [2]
    assert second["expected"] == pytest.approx(y2, rel=1e-12)
    assert second["mistake"]["id"] == "row-convention"
    assert second["departs_at"] == "rnn_forward.pre"
    assert second["follows_from"] is None
    assert second["tolerance"] == {"rel": 5e-4, "abs": 1e-12}
    assert (out["correct"], out["total"]) == (1, 2)


def test_all_right_exits_zero_and_a_whole_vector_gives_one_verdict_each(
        capsys: pytest.CaptureFixture[str]) -> None:
    h = json.dumps(RIGHT["h"])
    code, out = run_json(["check", "rnn-forward", "-a", f"h={h}", "--json"], capsys)
    assert code == 0
    assert [v["index"] for v in out["verdicts"]] == [[1, 1], [1, 2], [2, 1], [2, 2]]
    assert out["correct"] == out["total"] == 4


@pytest.mark.parametrize("typed,correct,note", [
    ("2.74", True, "rounded"),  # 3 figures, rounded right: accepted whatever the tolerance
    ("2.737", True, None),  # inside the tolerance
    ("2.73", False, "rounding-slip"),  # one unit off in the last figure
    ("2.75", False, "rounding-slip"),
    ("2.7", False, None),  # 2 figures: not a rounding verdict
    ("2.80", False, None),
])
def test_rounding_verdicts(typed: str, correct: bool, note: str | None) -> None:
    assert round(RIGHT["y"][1], 2) == 2.74
    (verdict,) = check(RNN, {}, {"y[2]": typed}).verdicts
    assert (verdict.correct, verdict.note) == (correct, note)


def test_integers_are_exact() -> None:
    count = derivations.get("param-count")
    params = {"model": "LSTM(30), Dense(1)", "input_dim": 1}
    right = 4 * 30 * (30 + 1 + 1) + 31  # Keras: 4 gates x units x (units + input + 1 bias)
    assert check(count, params, {"total": str(right)}).verdicts[0].correct
    assert not check(count, params, {"total": str(right + 1)}).verdicts[0].correct
    assert not check(count, params, {"total": f"{right}.4"}).verdicts[0].correct


def test_follow_through_from_a_wrong_first_state() -> None:
    p = {k: np.array(v, dtype=float) for k, v in Q4.items() if k in "UWVbc"}
    wrong_h1 = np.array([0.5, 0.1])
    h2 = np.tanh(p["U"] * Q4["x"][1] + p["W"] @ wrong_h1 + p["b"])
    y2 = float(p["V"] @ h2 + p["c"])
    report = check(RNN, {}, {"h[1]": json.dumps(wrong_h1.tolist()),
                             "h[2]": json.dumps(h2.tolist()), "y[2]": repr(y2)})
    by_ref = {v.ref: v for v in report.verdicts}
    assert not by_ref["h[1][1]"].correct and by_ref["h[1][1]"].follows_from is None
    for ref in ("h[2][1]", "h[2][2]", "y[2]"):
        # right as carried forward: counted right, with the note of where it follows from
        assert by_ref[ref].correct is True and by_ref[ref].carried
        assert by_ref[ref].follows_from == ("h", (1,)), ref
    assert report.correct == 3
    # a later value that is simply wrong does not follow
    report = check(RNN, {}, {"h[1]": json.dumps(wrong_h1.tolist()), "y[2]": "1.0"})
    assert report.verdicts[-1].follows_from is None


@pytest.mark.parametrize("name", [n for n in derivations.names()
                                  if derivations.get(n).sampler is not None
                                  and derivations.get(n).answers])
def test_each_mistake_is_named_on_sampled_parameters(name: str) -> None:
    d = derivations.get(name)
    for seed in (3, 4):
        params = d.sample(seed)
        # one checker for the question, as an exam's grading has: it works out the right
        # values and each mistake's once, and judges every set of answers below against them
        # (a checker per set did the same work once per mistake)
        checker = Checker(d, params)
        right = d.run(params).plain_answers()
        report = checker.check({a: v for a, v in right.items() if d.answer(a).kind != "text"})
        assert report.correct == report.total, [v.ref for v in report.verdicts if not v.correct]
        for m in d.applicable_mistakes(params):
            theirs = d.run(params, mistake=m.id).plain_answers()
            given = {a: theirs[a] for a in m.changes
                     if a in theirs and d.answer(a).kind != "text"}
            report = checker.check(given)
            wrong = [v for v in report.verdicts if not v.correct]
            named = {v.mistake for v in wrong}
            assert m.id in named or not wrong, (seed, m.id, named)


@pytest.mark.parametrize("typed", [
    "__import__('os').system('touch {marker}')",
    "open('{marker}', 'w')",
    "().__class__.__bases__[0].__subclasses__()",
    r"\input{/etc/passwd}",
    r"\immediate\write18{touch {marker}}",
    "9^9^9^9",
    "[" * 10_000 + "]" * 10_000,
    "1" * 200_000,
    "exp(exp(exp(100)))",
    "1\x1b[2J",
])
def test_hostile_answers_are_refused_and_nothing_runs(typed: str, tmp_path: Path,
                                                      input_error) -> None:
    marker = tmp_path / "ran"
    line = input_error(["check", "rnn-forward", "-a", "y[2]=" + typed.replace(
        "{marker}", str(marker))])
    assert line.startswith("y[2]: expected a number, list or expression"), line
    assert not marker.exists()
    assert len(line) < 300


@pytest.mark.parametrize("argv,start", [
    (["check", "rnn-forward", "-a", "z=1"], "z: expected an answer of rnn-forward"),
    (["check", "rnn-forward", "-a", "y[3]=1"], "y[3]: expected a position inside"),
    (["check", "rnn-forward", "-a", "y=[1, 2, 3]"], "y: expected a list of 2"),
    (["check", "rnn-forward", "-a", "y[1]=[1, 2]"], "y[1]: expected a single number"),
    (["check", "rnn-forward", "-a", "y2"], "-a y2: expected an answer written as NAME=VALUE"),
    (["check", "rnn-forward"], "-a: expected at least one answer"),
    (["check", "rnn-forward", "W=[1]", "-a", "y=1"], "W: expected"),
])
def test_bad_requests_are_one_line_errors(argv: list[str], start: str, input_error) -> None:
    assert input_error(argv).startswith(start)


def test_reads_in_chinese(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "rnn-forward", "-a", "y[2]=2.6704", "--lang", "zh-Hant"]) == 1
    out = capsys.readouterr().out
    assert "列向量慣例" in out and "正確答案為" in out
    assert os.linesep.join(out.splitlines()) and "wrong" not in out
