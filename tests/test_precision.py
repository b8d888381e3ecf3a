"""A value rounded to the precision the question states is right (issue 26, item 8).

sigmoid(-2) = 1 / (1 + e^2) = 0.11920292...: at 2 significant figures 0.12 is right, which the
tolerance alone (5e-4 relative) refuses. The expected roundings come from Python's own
formatting of math.exp, not from dlexam.
"""

from __future__ import annotations

import io
import json
import math
from decimal import Decimal

import pytest

from dlexam import derivations
from dlexam.check.batch import run_batch
from dlexam.check.typed import Leaf
from dlexam.check.verdicts import check, judge_element
from dlexam.cli import main
from dlexam.derivations.contract import Precision, Tolerance

SIGMOID_M2 = 1 / (1 + math.exp(2))
# softmax over the logits [0, 2]: p_1 = 1 / (1 + e^2) = sigmoid(-2)
SOFTMAX = ["check", "softmax-cross-entropy", "logits=[0,2]", "label=0"]


def _verdict(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict]:
    code = main([*SOFTMAX, *argv, "--json"])
    return code, json.loads(capsys.readouterr().out)["verdicts"][0]


def test_two_figures_of_sigmoid_minus_two(capsys: pytest.CaptureFixture[str]) -> None:
    assert f"{SIGMOID_M2:.2g}" == "0.12"
    code, plain = _verdict(capsys, "-a", "probs[1]=0.12")
    assert code == 1 and plain["correct"] is False  # the tolerance alone refuses it
    code, stated = _verdict(capsys, "-a", "probs[1]=0.12", "--sig-figs", "2")
    assert code == 0 and stated["correct"] is True and stated["note"] == "rounded"
    assert stated["tolerance"] == {"rel": 5e-4, "abs": 1e-12, "sig_figs": 2}
    for wrong in ("0.11", "0.13", "0.1"):  # a wrong rounding, or fewer figures than asked
        code, out = _verdict(capsys, "-a", f"probs[1]={wrong}", "--sig-figs", "2")
        assert code == 1 and out["correct"] is False, wrong
    # more figures than asked, rounded right, are still right; the tolerance still holds
    assert _verdict(capsys, "-a", "probs[1]=0.119", "--sig-figs", "2")[1]["correct"]
    assert _verdict(capsys, "-a", "probs[1]=0.1192", "--sig-figs", "2")[1]["correct"]


def test_decimal_places(capsys: pytest.CaptureFixture[str]) -> None:
    assert f"{SIGMOID_M2:.1f}" == "0.1" and f"{SIGMOID_M2:.3f}" == "0.119"
    assert _verdict(capsys, "-a", "probs[1]=0.1", "--decimals", "1")[1]["correct"]
    assert _verdict(capsys, "-a", "probs[1]=0.12", "--decimals", "2")[1]["correct"]
    assert not _verdict(capsys, "-a", "probs[1]=0.12", "--decimals", "3")[1]["correct"]
    # the whole-vector form and the second entry, 0.8808 at 2 decimals
    code = main([*SOFTMAX, "-a", "probs=[0.12, 0.88]", "--decimals", "2", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["correct"] == out["total"] == 2


def test_the_text_names_the_precision(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*SOFTMAX, "-a", "probs[1]=0.12", "--sig-figs", "2"]) == 0
    assert "rounded to 2 significant figures, as asked" in capsys.readouterr().out
    assert main([*SOFTMAX, "-a", "probs[1]=0.13", "--sig-figs", "2", "--lang", "zh-Hant"]) == 1
    out = capsys.readouterr().out
    assert "2 位有效數字" in out and "0.12" in out


def test_ties_and_whole_numbers() -> None:
    two = Precision(sig_figs=2)
    # halfway: rounded up or down by the student's rule, both accepted
    assert two.rounded(0.125) == (Decimal("0.12"), Decimal("0.13"))
    assert Precision(decimals=0).rounded(2.5) == (Decimal(2), Decimal(3))
    assert two.rounded(0.1251) == (Decimal("0.13"),)
    tol = Tolerance(precision=two)
    # a whole number typed for a value that rounds to one: 3 and 3.0 alike
    assert tol.rounded_right(Decimal("3"), 2.98) and tol.rounded_right(Decimal("3.0"), 2.98)
    assert tol.rounded_right(Decimal("12000"), 12345.0)
    # integer answers stay exact whatever the precision
    verdict = judge_element("n", (), Leaf(120.0, "120"), 123, tol, "integer")
    assert verdict.correct is False


def test_mistakes_rounded_as_asked_are_still_named() -> None:
    spec = derivations.get("softmax-cross-entropy")
    params = {"logits": [0, 2], "label": 0}
    wrong = spec.run(params, mistake="log-base-10").plain_answers()["loss"]
    typed = f"{wrong:.2g}"
    report = check(spec, params, {"loss": typed}, Precision(sig_figs=2))
    (verdict,) = report.verdicts
    assert verdict.correct is False and verdict.mistake == "log-base-10"


def test_batch_requests_state_their_precision() -> None:
    lines = [{"derivation": "softmax-cross-entropy", "params": {"logits": [0, 2], "label": 0},
              "answers": {"probs[1]": "0.12"}, "sig_figs": 2},
             {"derivation": "softmax-cross-entropy", "params": {"logits": [0, 2], "label": 0},
              "answers": {"probs[1]": "0.12"}},
             {"derivation": "softmax-cross-entropy", "params": {"logits": [0, 2], "label": 0},
              "answers": {"probs[1]": "0.12"}, "sig_figs": 2, "decimals": 2}]
    out = io.StringIO()
    run_batch(io.BytesIO("\n".join(json.dumps(x) for x in lines).encode()), out, "en")
    first, second, third = (json.loads(x) for x in out.getvalue().splitlines())
    assert first["correct"] == 1 and second["correct"] == 0
    assert "sig_figs or decimals, not both" in third["error"]


@pytest.mark.parametrize("argv,message", [
    (["--sig-figs", "0"], "--sig-figs: expected a whole number from 1 to 15"),
    (["--decimals", "x"], "--decimals"),
    (["--sig-figs", "2", "--decimals", "2"], "not allowed with"),
])
def test_bad_precision_refused(argv: list[str], message: str,
                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*SOFTMAX, "-a", "probs[1]=0.12", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_moodle_interval_reaches_the_rounded_value() -> None:
    tol = Tolerance(precision=Precision(sig_figs=2))
    width = tol.interval(SIGMOID_M2)
    assert abs(0.12 - SIGMOID_M2) <= width < abs(0.11 - SIGMOID_M2)
    # a mistake that rounds to the same two figures cannot be told apart; one that does not can
    assert not tol.tells_apart(SIGMOID_M2, 0.1235)
    assert tol.tells_apart(SIGMOID_M2, 0.1260)


@pytest.mark.parametrize("precision,right", [(Precision(sig_figs=2), True), (None, False)])
def test_practice_takes_the_stated_precision(precision: Precision | None, right: bool) -> None:
    """A student who types every skip-gram value to 2 figures (from the torch reference)."""
    from reference import load

    from dlexam.check.practice import run_practice
    from dlexam.derivations.contract import element, parse_ref

    spec = derivations.get("skip-gram")
    seed = 5
    answers = load()["skip-gram"](spec.shown_params(spec.sample(seed)), None)

    def two_figures(value: object) -> str:
        if isinstance(value, list):
            return json.dumps([float(f"{v:.2g}") for v in value])
        return f"{value:.2g}"

    def ask(prompt: str) -> str:
        name, index = parse_ref(prompt.split(" (")[0])
        return two_figures(element(answers[name], index))

    said: list[str] = []
    session = run_practice(spec, seed, "en", ask, said.append, precision=precision)
    assert session.answered == 4
    assert session.passed is right
