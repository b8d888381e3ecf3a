"""The new derivations through the generic drivers, with no code of their own: an exam file
(examples/sequences.toml) built without PDFs, then graded, a right and a mistaken student."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from dlexam.cli import main

EXAM = Path(__file__).resolve().parent.parent / "examples" / "sequences.toml"


def _ref(asked: dict) -> str:
    return asked["answer"] + "".join(f"[{i}]" for i in asked["index"] or ())


def test_exam_and_grading(tmp_path: Path, capsys) -> None:
    out = tmp_path / "exam"
    assert main(["exam", str(EXAM), "--variants", "3", "--seed", "7", "--out", str(out),
                 "--no-pdf"]) == 0
    key = json.loads((out / "key.json").read_text())
    moodle = (out / "moodle.xml").read_text()
    assert moodle.count("<question ") >= 6 * 3 and "StepLR" in moodle
    variants = key["variants"]
    columns = [f"{q['id']}.{_ref(a)}" for q in variants[0]["questions"] for a in q["asked"]]
    rows = []
    for n, variant in enumerate(variants[:2]):
        row = {"student": f"s{n}", "variant": variant["code"]}
        for q in variant["questions"]:
            for a in q["asked"]:
                value = a["expected"]
                if n == 1 and a["mistakes"]:
                    value = next(iter(a["mistakes"].values()))
                row[f"{q['id']}.{_ref(a)}"] = json.dumps(value)
        rows.append(row)
    answers = tmp_path / "answers.csv"
    with answers.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["student", "variant", *columns])
        writer.writeheader()
        writer.writerows(rows)
    assert main(["grade", str(out / "key.json"), str(answers), "--out",
                 str(tmp_path / "grades"), "--no-pdf"]) == 0
    graded = json.loads((tmp_path / "grades" / "grades.json").read_text())
    total = sum(q["points"] for q in variants[0]["questions"])
    by_student = {s["student"]: s for s in graded["students"]}
    assert by_student["s0"]["total"] == total
    assert by_student["s1"]["total"] < total
    named = {m for q in graded["mistakes"].values() for m in q}
    assert {"log-base-mixed", "probabilities-added"} <= named


def test_json_parameters_are_literal_tables_in_an_exam_file(tmp_path: Path) -> None:
    """A TOML table given for a JSON parameter (a tree, a table of counts) is its value, not a
    draw; { choice = [...] } alone draws one of the listed values."""
    exam = tmp_path / "tree.toml"
    exam.write_text('''title = { en = "Tree", zh-Hant = "樹" }
lang = "bilingual"

[[questions]]
id = "q1"
derivation = "decoding"
points = 10
ask = ["probabilities[1]"]
[questions.params]
method = "beam"
beam_width = { integers = [1, 2] }
[questions.params.tree]
a = [0.5, { c = [0.6, { "<eos>" = [1, {}] }], "<eos>" = [0.4, {}] }]
b = [0.4, { c = [0.9, { "<eos>" = [1, {}] }] }]

[[questions]]
id = "q2"
derivation = "sequence-metrics"
points = 10
ask = ["perplexity"]
[questions.params]
counts = { choice = [{ the = 3, cat = 2, sat = 1 }, { the = 1, cat = 1, sat = 1 }] }
test = "the cat sat"
''', encoding="utf-8")
    out = tmp_path / "out"
    assert main(["exam", str(exam), "--variants", "2", "--seed", "1", "--out", str(out),
                 "--no-pdf"]) == 0
    key = json.loads((out / "key.json").read_text())
    trees = [v["questions"][0]["params"]["tree"] for v in key["variants"]]
    assert all(t["a"][0] == 0.5 and "<eos>" in t["a"][1] for t in trees)
    expected = sorted(v["questions"][0]["asked"][0]["expected"] for v in key["variants"])
    assert expected == [0.3, 0.36]  # greedy (width 1) and beam (width 2)
    counts = [v["questions"][1]["params"]["counts"] for v in key["variants"]]
    assert all(set(c) == {"the", "cat", "sat"} for c in counts)
