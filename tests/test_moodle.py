"""moodle.xml as Moodle reads it: a reader of the Cloze syntax written from Moodle's own rules
(question/type/multianswer/questiontype.php, filter/multilang), not from our writer, applied
to what `dlexam exam` writes; marks, partial credit, tolerances and fairness of variants."""

from __future__ import annotations

import html
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from dlexam.cli import main
from dlexam.derivations.contract import Tolerance, leaves
from dlexam.errors import InputError
from dlexam.exams.model import load_exam
from dlexam.exams.moodle import cloze_feedback, cloze_text

# Moodle's Cloze grammar (qtype_multianswer): a part starts at {weight:TYPE:, its answers are
# separated by ~, an answer's feedback follows its first #, and a feedback ends at the first ~
# or } not after a backslash. The feedback is then HTML-decoded once and only \} and \# are
# unescaped.
_FRACTION = r"=|%(-?[0-9]+(?:[.,][0-9]*)?)%"
_ANSWER = r".+?(?<!\\)(?<!&)(?<!&amp;)(?=[~#}]|$)"
_FEEDBACK = r".*?(?<!\\)(?=[~}]|$)"
_ALT = f"({_FRACTION})?({_ANSWER})(#({_FEEDBACK}))?"
_PART = re.compile(r"\{([0-9]*):(NUMERICAL|NM|SHORTANSWER|SA|MULTICHOICE|MC):"
                   f"({_ALT}(~{_ALT})*)" + r"\}", re.S)


def moodle_parts(text: str) -> list[dict]:
    """The embedded answers Moodle's importer finds in a Cloze question's text."""
    parts = []
    while (m := _PART.search(text)) is not None:
        answers, rest = [], m[3]
        while (a := re.match("~?" + _ALT, rest, re.S)) is not None and a[0]:
            feedback = html.unescape(a[5]) if a[5] is not None else ""
            feedback = feedback.replace("\\}", "}").replace("\\#", "#")
            value, _, tol = a[3].partition(":")
            answers.append({"fraction": 100.0 if a[1] == "=" else float(a[2] or 0),
                            "value": float(value), "tol": float(tol or 0),
                            "feedback": feedback})
            rest = rest[len(a[0]):]
        parts.append({"weight": int(m[1] or 1), "answers": answers})
        text = text[:m.start()] + f"{{#{len(parts)}}}" + text[m.end():]
    return parts


def multilang_spans(text: str) -> dict[str, str]:
    """Moodle's multilang filter: the text of each ``<span lang class="multilang">``."""
    spans = re.findall(r'<span lang="([a-z_]+)" class="multilang">(.*?)</span>', text, re.S)
    return dict(spans)


HOSTILE_FEEDBACK = ['Correct. / 正確。', 'h_{t-1} W, (W^T h_{t-1})^T', 'a ~ b # c } d { e',
                    '{1:NUMERICAL:=1}', r'\} \# \\ \{ back\slash', '"quoted" & <b>not bold</b>',
                    "it's &amp; already"]


@pytest.mark.parametrize("shown", HOSTILE_FEEDBACK)
def test_feedback_reads_as_written(shown: str) -> None:
    """Whatever the feedback says, Moodle stores the HTML we meant, and the browser shows the
    text: no stray backslash, nothing cut, no second part."""
    meant = html.escape(shown)
    part = "{2:NUMERICAL:=1.5:0.01#" + cloze_feedback(meant) + "~%50%3:0.01#" + \
        cloze_feedback(meant) + "}"
    (found,) = moodle_parts("<p>x = " + part + "</p>")
    assert found["weight"] == 2
    assert [a["value"] for a in found["answers"]] == [1.5, 3.0]
    for answer in found["answers"]:
        assert answer["feedback"] == meant
        assert html.unescape(re.sub(r"<[^>]*>", "", answer["feedback"])) == shown


def test_statement_braces_are_no_part() -> None:
    text = cloze_text(html.escape("a {1:NUMERICAL:=1} b {2:SA:=x}")) + "{1:NUMERICAL:=2:0.1}"
    parts = moodle_parts(text)
    assert len(parts) == 1 and parts[0]["answers"][0]["value"] == 2.0


EXAM = """
title = { en = "Quiz", zh-Hant = "小考" }
lang = "bilingual"

[[questions]]
id = "rnn"
derivation = "rnn-forward"
points = 7
ask = ["y[2]", "h[1]"]
partial = { row-convention = 0.3333333 }
text.en = "Braces {1:NUMERICAL:=1} and $W h$ with W = {W}."
text.zh-Hant = "大括號 {1:NUMERICAL:=1} 與 $W h$。"
[questions.dims]
H = { integers = [2, 3] }
[questions.params]
x = [2, 3]
W = { uniform = [-0.5, 0.5], decimals = 1, shape = ["H", "H"] }

[[questions]]
id = "ce"
derivation = "softmax-cross-entropy"
points = 2.5
ask = ["loss"]
partial = { log-base-10 = 0.5 }
[questions.params]
logits = { uniform = [-2, 2], decimals = 1, shape = [3] }
label = { integers = [0, 2] }

[[questions]]
id = "att"
derivation = "self-attention"
points = 10
ask = ["weights[2]"]
[questions.params]
mask = "causal"
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("moodle")
    exam = tmp / "exam.toml"
    exam.write_text(EXAM, encoding="utf-8")
    assert main(["exam", str(exam), "--variants", "4", "--seed", "5", "--out", str(tmp / "o"),
                 "--no-pdf"]) == 0
    return tmp / "o"


def _questions(built: Path) -> tuple[dict, list[ET.Element]]:
    key = json.loads((built / "key.json").read_text("utf-8"))
    root = ET.parse(built / "moodle.xml").getroot()
    return key, [q for q in root.findall("question") if q.get("type") != "category"]


def test_marks_equal_points(built: Path) -> None:
    """A Cloze question's mark is the sum of its parts' weights: the exam file's points."""
    _key, questions = _questions(built)
    points = {"rnn": 7, "ce": 2.5, "att": 10}
    for q in questions:
        qid = q.findtext("name/text").split()[0]
        if q.get("type") == "cloze":
            parts = moodle_parts(q.findtext("questiontext/text"))
            assert sum(p["weight"] for p in parts) == points[qid]
            assert all(p["weight"] >= 1 for p in parts)
        else:
            assert float(q.findtext("defaultgrade")) == points[qid]


def test_statement_text_is_no_part_and_math_is_mathjax(built: Path) -> None:
    key, questions = _questions(built)
    for q in questions:
        text = q.findtext("questiontext/text")
        qid = q.findtext("name/text").split()[0]
        variant = next(v for v in key["variants"]
                       if v["code"] == q.findtext("name/text").split()[1])
        asked = next(x for x in variant["questions"] if x["id"] == qid)["asked"]
        if q.get("type") == "cloze":
            assert len(moodle_parts(text)) == sum(len(leaves(a["expected"])) for a in asked)
        # the statement: the first span of each language (each part's label follows it)
        spans = dict(reversed(re.findall(r'<span lang="([a-z_]+)" class="multilang">(.*?)</span>',
                                         text.split("{", 1)[0], re.S)))
        assert set(spans) == {"en", "zh_tw"}
        shown = html.unescape(re.sub(r"<[^>]*>", "", spans["en"]))
        assert "\\(" in shown and "$" not in shown and "allowbreak" not in shown
        assert not re.search(r"[\u4e00-\u9fff]", shown)
        if qid == "rnn":
            assert "{1:NUMERICAL:=1}" in shown
            # each part is named by its label in every language, not by y[2][1]
            assert "the output at time step" in text and "輸出" in text and "y[" not in text


def test_every_feedback_one_language_no_stray_escape(built: Path) -> None:
    _key, questions = _questions(built)
    feedbacks = []
    for q in questions:
        if q.get("type") == "cloze":
            feedbacks += [a["feedback"] for p in moodle_parts(q.findtext("questiontext/text"))
                          for a in p["answers"]]
        else:
            feedbacks += [a.findtext("feedback/text") for a in q.findall("answer")]
    assert feedbacks
    for fb in feedbacks:
        spans = multilang_spans(fb)
        assert set(spans) == {"en", "zh_tw"}, fb
        assert " / " not in fb
        for lang, text in spans.items():
            shown = html.unescape(re.sub(r"<[^>]*>", "", text))
            assert not re.search(r"\\[^A-Za-z0-9\s]", shown), shown
            assert bool(re.search(r"[\u4e00-\u9fff]", shown)) == (lang == "zh_tw"), shown


def test_partial_credit_and_mistake_tolerances_agree_with_key(built: Path) -> None:
    """key.json's partial is the fraction Moodle imports; each mistake's tolerance comes from
    its own value by the question's rule."""
    key, questions = _questions(built)
    by_name = {q.findtext("name/text"): q for q in questions}
    checked = 0
    for variant in key["variants"]:
        for entry in variant["questions"]:
            q = by_name[f"{entry['id']} {variant['code']}"]
            if q.get("type") == "cloze":
                answers = [a for p in moodle_parts(q.findtext("questiontext/text"))
                           for a in p["answers"][1:]]
            else:
                answers = [{"value": float(a.findtext("text")), "tol": float(
                    a.findtext("tolerance")), "fraction": float(a.get("fraction"))}
                    for a in q.findall("answer")[1:]]
            for item in entry["asked"]:
                tol = Tolerance(**item["tolerance"])
                for mid, value in item["mistakes"].items():
                    for _pos, v in leaves(value):
                        hit = [a for a in answers if a["value"] == pytest.approx(v, rel=1e-9)]
                        if not hit:
                            continue  # the right number in this position
                        assert hit[0]["tol"] == pytest.approx(tol.allowed(v), rel=1e-6)
                        assert hit[0]["fraction"] / 100 == pytest.approx(
                            entry.get("partial", {}).get(mid, 0), abs=1e-7)
                        checked += 1
    assert checked > 4
    partial = key["variants"][0]["questions"][0]["partial"]
    assert partial == {"row-convention": 0.3333333}


def test_partial_moodle_cannot_give_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "exam.toml"
    path.write_text(EXAM.replace("row-convention = 0.3333333", "row-convention = 0.35"),
                    encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_exam(str(path))
    assert err.value.param.endswith("exam.toml: questions[1].partial.row-convention")
    assert "0.3333333 or 0.4" in str(err.value)


def test_too_few_points_for_cloze_refused(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "exam.toml"
    path.write_text(EXAM.replace("points = 7", "points = 2"), encoding="utf-8")
    assert main(["exam", str(path), "--variants", "2", "--seed", "5", "--out",
                 str(tmp_path / "o"), "--no-pdf"]) == 2
    err = capsys.readouterr().err
    assert "questions[1].points" in err and "whole number of at least" in err
    assert not (tmp_path / "o").exists()


def test_answer_that_cannot_vary_refused(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """The first row of causal attention weights is [1, 0, ...] in every draw."""
    path = tmp_path / "exam.toml"
    path.write_text(EXAM.replace('ask = ["weights[2]"]', 'ask = ["weights[1]"]'),
                    encoding="utf-8")
    assert main(["exam", str(path), "--variants", "3", "--seed", "5", "--out",
                 str(tmp_path / "o"), "--no-pdf"]) == 2
    err = capsys.readouterr().err
    assert "questions[3].ask" in err and "weights[1]" in err and "every draw" in err
    assert err.count("\n") == 1 and not (tmp_path / "o").exists()


FEW = """
title = { en = "Few" }
lang = "en"

[[questions]]
id = "count"
derivation = "param-count"
points = 1
ask = ["total"]
[questions.params]
model = { choice = ["LSTM(4), Dense(1)", "GRU(4), Dense(1)", "SimpleRNN(4), Dense(1)"] }
input_dim = { integers = [1, 3] }
framework = "keras"
"""


def _totals(tmp_path: Path, name: str) -> list[int]:
    path = tmp_path / "few.toml"
    path.write_text(FEW, encoding="utf-8")
    assert main(["exam", str(path), "--variants", "9", "--seed", "1", "--out",
                 str(tmp_path / name), "--no-pdf"]) == 0
    key = json.loads((tmp_path / name / "key.json").read_text("utf-8"))
    return [v["questions"][0]["asked"][0]["expected"] for v in key["variants"]]


def test_answers_repeat_only_when_they_must(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """Three models and three input widths give eight totals (Keras' LSTM on 1 input and GRU
    on 2 both have 96 weights): a draw that repeats another variant's total is drawn again
    (a few times), so nine variants get more different totals than without the rule, and the
    rest reuse one rather than fail; the summary says how many."""
    from dlexam.exams import variants

    totals = _totals(tmp_path, "o")
    # counted by hand: LSTM 4 gates x 4(4 + d + 1), Keras GRU (reset_after: two biases)
    # 3 x 4(4 + d + 2), SimpleRNN 4(4 + d + 1), and Dense(1) on 4 units 5
    possible = {n + 5 for d in (1, 2, 3)
                for n in (16 * (4 + d + 1), 12 * (4 + d + 2), 4 * (4 + d + 1))}
    assert len(possible) == 8
    assert set(totals) <= possible and len(set(totals)) >= 7
    err = capsys.readouterr().err
    assert re.search(rf"^count: {len(set(totals))} different answers in 9 variants, answers "
                     rf"from {min(totals)} to {max(totals)}", err, re.M)
    monkeypatch.setattr(variants, "ANSWER_REDRAWS", 0)
    assert len(set(_totals(tmp_path, "without"))) < len(set(totals))
