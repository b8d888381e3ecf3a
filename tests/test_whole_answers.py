"""Issue 20: whole answers diagnosed, follow-through credit, grading by item, answers as students
write them, practice, the Python API.

Every expected number comes from NumPy written here from the formulas (never from dlexam's own
output); what is checked is dlexam's verdict on those numbers.
"""

# ruff: noqa: N806
# (the literature's letters: U, W)

from __future__ import annotations

import csv
import io
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

import dlexam
from dlexam.check.typed import Leaf, TypedError, parse
from dlexam.cli import main

Q = [[1.0, 0.0], [0.5, 1.0], [0.0, 2.0]]
K = [[1.0, 1.0], [0.0, 2.0], [1.5, -0.5]]
V = [[1.0, 2.0], [3.0, -1.0], [0.0, 1.0]]
ATTENTION = {"Q": Q, "K": K, "V": V, "mask": "causal"}


def _softmax(s: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(s - np.max(s, axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _weights(scale: float, by_column: bool = False, mask: bool = True) -> np.ndarray:
    s = np.array(Q) @ np.array(K).T / scale
    if mask:
        s = np.where(np.tril(np.ones_like(s)) > 0, s, -np.inf)
    return _softmax(s, axis=0 if by_column else -1)


def _typed(value: np.ndarray) -> str:
    return json.dumps(np.round(value, 6).tolist())


# --- item 2: whole-answer diagnosis -----------------------------------------------------------

def test_a_mistake_matching_some_entries_by_coincidence_is_not_named() -> None:
    # clipping by value gives 3 and -4 for the first two entries of g = [3, -4, 12] at 6.5,
    # as leaving the gradient unclipped does: the third tells them apart
    report = dlexam.check("clip-gradient", {"g": [3, -4, 12], "threshold": 6.5},
                          {"g": "[3, -4, 12]"})
    assert all("clip-by-value" not in v.mistakes for v in report.verdicts)


def test_one_mistake_explains_the_whole_item_and_is_said_once() -> None:
    d_k = 2
    dk_weights = _weights(d_k)  # divided by d_k, not its square root
    report = dlexam.check("self-attention", ATTENTION, {"weights": _typed(dk_weights)})
    wrong = [v for v in report.verdicts if not v.correct]
    assert wrong and {v.mistake for v in wrong} == {"scaled-by-dk"}
    # the first row (masked to [1, 0, 0]) agrees with the right one: listed, right, no mistake
    assert all(v.correct for v in report.verdicts if v.index and v.index[0] == 1)
    text = str(report)
    explain = dlexam.derivations.get("self-attention")
    from dlexam.render.prose import prose_text

    explanation = prose_text("en", explain.mistake_key("scaled-by-dk") + ".explain")
    assert text.count(explanation) == 1
    assert text.count("weights[") == 9  # every entry still listed


def test_two_mistakes_at_once_are_found_when_their_combination_explains_the_item() -> None:
    both = _weights(1.0, by_column=True)  # no scaling, and the softmax down each column
    report = dlexam.check("self-attention", ATTENTION, {"weights": _typed(both)})
    named = {v.mistakes for v in report.verdicts if not v.correct}
    assert named == {("no-scaling", "softmax-by-column")}
    assert "together with" in str(report)


# --- item 3: follow-through ---------------------------------------------------------------------

def test_y_from_the_students_own_h_is_right_carried_forward() -> None:
    # the example RNN: U = [0.5, 0.6], V = [1, 2], c = 0.1 (README); h[1] typed wrong
    h1 = np.array([0.95, 0.2])
    y1 = float(np.array([1.0, 2.0]) @ h1 + 0.1)
    report = dlexam.check("rnn-forward", {}, {"h[1]": json.dumps(h1.tolist()),
                                              "y[1]": f"{y1:.4f}"})
    y = next(v for v in report.verdicts if v.answer == "y")
    assert y.correct and y.carried and y.note is None  # not "a rounding slip"
    assert y.follows_from == ("h", (1,))
    assert "carried forward" in str(report)
    # a value that follows from nothing the student gave stays wrong
    report = dlexam.check("rnn-forward", {}, {"h[1]": json.dumps(h1.tolist()), "y[1]": "1.0"})
    assert not report.verdicts[-1].correct


def test_z_from_the_students_own_weights_and_total_from_own_layers() -> None:
    own = _weights(1.0)  # unscaled weights: wrong, but Z computed from them
    z = own @ np.array(V)
    report = dlexam.check("self-attention", ATTENTION, {"weights": _typed(own), "Z": _typed(z)})
    zs = [v for v in report.verdicts if v.answer == "Z"]
    assert all(v.correct for v in zs)
    # row 1 (masked to the first value row) is right in itself; rows 2 and 3 follow
    assert all(v.carried for v in zs if v.index[0] > 1)
    model = "Dense(10, input_shape=(4,)), Dense(3)"
    report = dlexam.check("param-count", {"model": model}, {"layers": "[40, 33]",
                                                             "total": "73"})
    total = next(v for v in report.verdicts if v.answer == "total")
    assert total.correct and total.carried  # 4*10+10 = 50 is right; 40 + 33 follows


def test_kl_from_own_entropy_and_g_from_own_norm() -> None:
    p, q = np.array([0.1, 0.9]), np.array([0.06, 0.94])
    cross = float(-(p * np.log(q)).sum())
    report = dlexam.check("information", {"p": p.tolist(), "q": q.tolist()},
                          {"entropy_p": "0.33", "cross_entropy": f"{cross:.6f}",
                           "kl_pq": f"{cross - 0.33:.6f}"})
    kl = next(v for v in report.verdicts if v.answer == "kl_pq")
    assert kl.carried and kl.follows_from == ("entropy_p", None)
    g = np.array([3.0, -4.0, 12.0])
    own = g * 6.5 / 14
    report = dlexam.check("clip-gradient", {"g": g.tolist(), "threshold": 6.5},
                          {"norm_before": "14", "g": _typed(own)})
    assert all(v.carried for v in report.verdicts if v.answer == "g")


# --- item 5: answers as students write them ---------------------------------------------------

def _values(parsed: object) -> object:
    return [_values(p) for p in parsed] if isinstance(parsed, list) else parsed.value


@pytest.mark.parametrize("typed,expected", [
    ("5,058", 5058.0),
    ("-1,234,567.5", -1234567.5),
    ("5 058", 5058.0),
    ("5 058.25", 5058.25),
    ("[5 058, 3]", [5058.0, 3.0]),
    ("[5, 058]", [5.0, 58.0]),  # a comma inside a list separates entries
    ("[5 058]", [5.0, 58.0]),  # spaces separate a MATLAB list's entries
    ("(0.98, -0.0997)", [0.98, -0.0997]),
    ("((1, 2), (3, 4))", [[1.0, 2.0], [3.0, 4.0]]),
    ("(1 + 2) * 3", 9.0),
    (r"\begin{bmatrix} 1 & 2 \\ 3 & 4 \end{bmatrix}", [[1.0, 2.0], [3.0, 4.0]]),
    (r"\begin{pmatrix} 0.5 \\ -1 \end{pmatrix}", [[0.5], [-1.0]]),
    ("$0.25$", 0.25),
    (r"$$\frac{1}{4}$$", 0.25),
    (r"[1, -\infty]", [1.0, -math.inf]),
    (r"\infinity", math.inf),
    ("-∞", -math.inf),
])
def test_student_forms(typed: str, expected: object) -> None:
    assert _values(parse(typed)) == expected


@pytest.mark.parametrize("typed", ["5,05", "1,2345", "__import__('os')", "5,058,",
                                   r"\begin{bmatrix} 1 & 2 \\ 3 \end{bmatrix}",
                                   r"\begin{evil}1\end{evil}", "$" * 3])
def test_forms_that_stay_refused(typed: str) -> None:
    with pytest.raises(TypedError):
        parse(typed)


def test_thousands_keep_their_figures_and_limits() -> None:
    leaf = parse("5 058")
    assert isinstance(leaf, Leaf) and leaf.literal == "5058"
    with pytest.raises(TypedError):
        parse("[" * 60 + "1" + "]" * 60)


def test_a_plain_number_for_a_one_element_answer() -> None:
    params = {"g": [[3.0]], "threshold": 2.0}
    report = dlexam.check("clip-gradient", params, {"g[1]": "2", "norm_before": "3"})
    assert report.correct == report.total == 2


# --- item 7: the Python API --------------------------------------------------------------------

def test_python_api_solve_and_check_with_lang() -> None:
    result = dlexam.solve("rnn-forward", lang="zh-Hant", x=[2, 3])
    assert "簡單 RNN" in result._repr_html_()
    report = dlexam.check("rnn-forward", {}, {"y[2]": "2.6704"}, lang="zh-Hant")
    assert "列向量慣例" in str(report) and "答對" in str(report)
    assert str(dlexam.check("rnn-forward", {}, {"y[2]": "2.7371"})).startswith(
        "rnn-forward: 1 of 1 right")
    with pytest.raises(dlexam.errors.DlexamError):
        dlexam.check("rnn-forward", {}, {"y[2]": "1"}, lang="fr")


# --- item 4: grading by item, review and overrides ----------------------------------------------

def _key(partial: dict[str, float], slip: float = 0.0) -> dict:
    right = _weights(math.sqrt(2))
    asked = [{"answer": "weights", "index": None, "expected": right.tolist(),
              "tolerance": {"rel": 5e-4, "abs": 1e-12},
              "mistakes": {"scaled-by-dk": _weights(2).tolist(),
                           "no-scaling": _weights(1).tolist()}},
             {"answer": "Z", "index": [2], "expected": (right @ np.array(V))[1].tolist(),
              "tolerance": {"rel": 5e-4, "abs": 1e-12}, "mistakes": {}}]
    question = {"id": "q1", "derivation": "self-attention", "params": ATTENTION, "points": 10,
                "asked": asked, "partial": partial}
    if slip:
        question["rounding_slip"] = slip
    return {"title": {"en": "Quiz", "zh-Hant": "小考"}, "seed": 1,
            "variants": [{"code": "A1", "seed": 1, "questions": [question]}]}


def _grade(tmp_path: Path, key: dict, rows: list[dict[str, str]], *extra: str
           ) -> tuple[int, dict]:
    (tmp_path / "key.json").write_text(json.dumps(key))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, ["student", "variant", "q1.weights", "q1.Z[2]"])
    writer.writeheader()
    writer.writerows(rows)
    (tmp_path / "class.csv").write_text(buffer.getvalue())
    status = main(["grade", str(tmp_path / "key.json"), str(tmp_path / "class.csv"), "--out",
                   str(tmp_path / "out"), "--no-pdf", *extra])
    grades = json.loads((tmp_path / "out" / "grades.json").read_text()) if status == 0 else {}
    return status, grades


def test_grading_scores_a_mistake_by_item(tmp_path: Path) -> None:
    right = _weights(math.sqrt(2))
    z2 = (right @ np.array(V))[1]
    rows = [
        # d_k for sqrt(d_k): its partial is 0, though row 1 agrees with the right weights
        {"student": "dk", "variant": "a1", "q1.weights": _typed(_weights(2)),
         "q1.Z[2]": _typed(z2)},
        {"student": "half", "variant": "A1", "q1.weights": _typed(_weights(1)),
         "q1.Z[2]": _typed(z2)},
    ]
    status, grades = _grade(tmp_path, _key({"scaled-by-dk": 0.0, "no-scaling": 0.5}), rows)
    assert status == 0
    scores = {s["student"]: s["total"] for s in grades["students"]}
    assert scores["dk"] == pytest.approx(5.0)  # 0 for the weights, 5 for Z
    assert scores["half"] == pytest.approx(7.5)


def test_rounding_slip_policy_review_and_overrides(tmp_path: Path) -> None:
    right = _weights(math.sqrt(2))
    z2 = (right @ np.array(V))[1]
    slipped = [float(f"{z2[0]:.3g}"), z2[1]]
    last = 10.0 ** (math.floor(math.log10(abs(slipped[0]))) - 2)
    slipped[0] += last  # the last of 3 figures off by one
    rows = [{"student": "slip", "variant": "A1", "q1.weights": _typed(right),
             "q1.Z[2]": f"[{slipped[0]:.3g}, {z2[1]:.6f}]"},
            {"student": "odd", "variant": "A1", "q1.weights": "[[1, 0, 0], [0, 1, 0], [0, 0, 1]]",
             "q1.Z[2]": "what?"}]
    review = tmp_path / "review.csv"
    status, grades = _grade(tmp_path, _key({}, slip=0.5), rows, "--review", str(review))
    assert status == 0
    scores = {s["student"]: s["total"] for s in grades["students"]}
    assert scores["slip"] == pytest.approx(5 + 5 * (1 + 0.5) / 2)
    lines = list(csv.reader(review.read_text().splitlines()))
    assert lines[0] == ["student", "item", "text", "reason"]
    found = {(r[0], r[1]) for r in lines[1:]}
    assert ("odd", "q1.weights") in found and ("odd", "q1.Z[2]") in found
    assert ("slip", "q1.weights") not in found
    overrides = tmp_path / "decided.csv"
    overrides.write_text("student,item,points,note\nodd,q1.Z[2],2.5,shown work\n")
    status, grades = _grade(tmp_path, _key({}, slip=0.5), rows, "--overrides", str(overrides))
    odd = next(s for s in grades["students"] if s["student"] == "odd")
    # the identity's entries: 4 of 9 agree with the right weights (no mistake named: entry
    # by entry), and the decided 2.5 for Z[2]
    assert odd["total"] == pytest.approx(5 * 4 / 9 + 2.5, abs=1e-5)
    assert odd["questions"][0]["overrides"] == [
        {"item": "q1.Z[2]", "points": 2.5, "note": "shown work"}]


@pytest.mark.parametrize("text,where", [
    ("student,item,points,note\nnobody,q1.Z[2],1,x\n", "row 2, column student"),
    ("student,item,points,note\nodd,q9.Z,1,x\n", "row 2, column item"),
    ("student,item,points,note\nodd,q1.Z[2],7,x\n", "row 2, column points"),
    ("who,what\n", "row 1"),
])
def test_overrides_refused_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       text: str, where: str) -> None:
    rows = [{"student": "odd", "variant": "A1", "q1.weights": "1", "q1.Z[2]": "1"}]
    (tmp_path / "decided.csv").write_text(text)
    status, _grades = _grade(tmp_path, _key({}), rows, "--overrides",
                             str(tmp_path / "decided.csv"))
    err = capsys.readouterr().err
    assert status == 2 and where in err and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err and not (tmp_path / "out" / "grades.json").exists()


# --- item 6: practice ---------------------------------------------------------------------------

def test_practice_skip_shows_the_answer_and_passes_when_every_answer_was_right() -> None:
    from test_practice import Terminal

    from dlexam import derivations

    d = derivations.get("clip-gradient")
    params = d.shown_params(d.sample(5))
    g = np.array(params["g"], dtype=float)
    norm = float(np.sqrt((g ** 2).sum()))
    term = Terminal([sys.executable, "-m", "dlexam", "practice", "clip-gradient", "--seed",
                     "5"])
    for k in range(1, len(g) + 1):
        term.read_until(f"g[{k}] (a number) >")
        term.type("skip")
        term.read_until(f"Skipped: g[{k}] = ")
    term.read_until("norm_before (a number) >")
    term.type(f"{norm:.6f}")
    term.read_until("✓ right")
    term.type("quit")
    term.read_until("Score: 1 of 1 answered right")
    assert term.close() == 0


def test_exam_rounding_slip_and_sig_figs_rules() -> None:
    from dlexam.errors import InputError
    from dlexam.exams.model import parse_exam

    def exam(**top: object) -> dict:
        return {"title": {"en": "Q", "zh-Hant": "Q"}, **top, "questions": [
            {"id": "q1", "derivation": "rnn-forward", "points": 10, "ask": ["y[2]"]},
            {"id": "q2", "derivation": "rnn-forward", "points": 10, "ask": ["y[1]"],
             "decimals": 2}]}

    parsed = parse_exam(exam(rounding_slip=0.5, sig_figs=3))
    first, second = parsed.questions
    assert first.rounding_slip == 0.5 and first.precision.sig_figs == 3
    assert second.precision.decimals == 2  # a question's own precision comes first
    assert parse_exam(exam()).questions[0].rounding_slip == 0.0
    for bad, where in (({"rounding_slip": 2}, "rounding_slip"),
                       ({"rounding_slip": "half"}, "rounding_slip"),
                       ({"sig_figs": 0}, "sig_figs")):
        with pytest.raises(InputError, match=where):
            parse_exam(exam(**bad))


def test_practice_carries_forward_from_the_students_own_earlier_value() -> None:
    from test_practice import Terminal

    from dlexam import derivations

    d = derivations.get("rnn-forward")
    p = d.shown_params(d.sample(11))
    W, b = np.array(p["W"], dtype=float), np.array(p["b"], dtype=float)
    U = np.array(p["U"], dtype=float).reshape(len(b), -1)
    own_h1 = np.array([0.5, 0.1] + [0.2] * (len(b) - 2))
    x2 = np.array(p["x"][1], dtype=float).reshape(-1)
    h2 = np.tanh(U @ x2 + W @ own_h1 + b)
    term = Terminal([sys.executable, "-m", "dlexam", "practice", "rnn-forward", "--seed", "11"])
    term.read_until("h[1] (a list of")
    for _ in range(2):
        term.type(json.dumps(own_h1.tolist()))
        term.read_until("Not right.")
    term.read_until("h[2] (a list of")
    term.type(json.dumps(np.round(h2, 6).tolist()))
    term.read_until("carried forward")
    term.type("quit")
    term.read_until("Score: 1 of 2 answered right")
    assert term.close() == 1


def test_lstm_h_from_own_cell_and_gru_h_from_own_gate() -> None:
    # the example LSTM cell: o_1 = sigma(W_o [h_0, x_1]) = sigma(0.7 * 0 + 0.1 * 1); C[1] typed
    # wrong, h[1] = o_1 tanh(C_1) from it
    o1 = 1 / (1 + np.exp(-0.1))
    report = dlexam.check("lstm-forward", {}, {"C[1]": "[0.5]",
                                               "h[1]": f"[{o1 * np.tanh(0.5):.4f}]"})
    h = next(v for v in report.verdicts if v.answer == "h")
    assert h.correct and h.carried and h.follows_from == ("C", (1,))
    # the example GRU: h~_1 = tanh(W_h x_1) = tanh(0.8) (h_0 = 0); z[1] typed wrong as 0.4:
    # h_1 = (1 - z) h~ under Cho's rule, z h~ under Olah's
    for rule, weight in (("cho", 0.6), ("olah", 0.4)):
        report = dlexam.check("gru-forward", {"update_rule": rule},
                              {"z[1]": "[0.4]", "h[1]": f"[{weight * np.tanh(0.8):.4f}]"})
        h = next(v for v in report.verdicts if v.answer == "h")
        assert h.correct and h.carried, rule
    # a norm typed within the threshold: g left as it is, ||g^|| = the student's norm
    report = dlexam.check("clip-gradient", {"g": [3, 4], "threshold": 6},
                          {"norm_before": "5.5", "g": "[3, 4]", "norm_after": "5.5"})
    after = next(v for v in report.verdicts if v.answer == "norm_after")
    assert after.correct and after.carried
