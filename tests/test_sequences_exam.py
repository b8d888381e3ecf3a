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
