"""The precision an exam file states flows through key.json, Moodle and grading (issue 26, item
8), on examples/quiz-losses.toml: skip-gram asks 2 significant figures, the sigmoid RNN 3
decimals. The students' values come from the torch references (tests/reference) rounded by
Python's own formatting, not from the key.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import pytest
from reference import load

from dlexam import derivations
from dlexam.cli import main

EXAM = Path(__file__).parent.parent / "examples" / "quiz-losses.toml"
REFERENCES = load()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("losses")
    assert main(["exam", str(EXAM), "--variants", "3", "--seed", "26", "--out", str(out),
                 "--no-pdf"]) == 0
    return out


def _key(built: Path) -> dict[str, Any]:
    return json.loads((built / "key.json").read_text("utf-8"))


def _question(variant: dict[str, Any], qid: str) -> dict[str, Any]:
    return next(q for q in variant["questions"] if q["id"] == qid)


def test_key_states_each_questions_precision(built: Path) -> None:
    for variant in _key(built)["variants"]:
        tolerances = {q["id"]: [a["tolerance"] for a in q["asked"]] for q in variant["questions"]}
        assert all("sig_figs" not in t and "decimals" not in t for t in tolerances["svm"])
        assert all(t["sig_figs"] == 2 for t in tolerances["w2v"])
        assert all(t["decimals"] == 3 for t in tolerances["rnn"])


def test_moodle_accepts_the_rounded_value(built: Path) -> None:
    key = _key(built)
    xml = (built / "moodle.xml").read_text("utf-8")
    # the right answer of each cloze part: {w:NUMERICAL:=<value>:<tolerance>#...}
    parts = [(float(v), float(t)) for v, t in re.findall(r"NUMERICAL:=([^:~#]+):([^#]+)#", xml)]
    for variant in key["variants"]:
        loss = _question(variant, "w2v")["asked"][0]["expected"]
        rounded = float(f"{loss:.2g}")
        (tolerance,) = [t for v, t in parts if abs(v - loss) <= 1e-9 * abs(loss)]
        assert abs(rounded - loss) <= tolerance < 0.05 * abs(loss)


def _row(variant: dict[str, Any], student: str, rounding: dict[str, str]) -> dict[str, str]:
    """A student who works every value right (by the references) and rounds as told."""
    row = {"student": student, "variant": variant["code"]}
    for q in variant["questions"]:
        # the parameters with the derivation's defaults, as the references take them
        params = derivations.get(q["derivation"]).shown_params(q["params"])
        answers = REFERENCES[q["derivation"]](params, None)
        for asked in q["asked"]:
            value = answers[asked["answer"]]
            if asked["index"]:
                value = value[asked["index"][0] - 1]
            fmt = rounding.get(q["id"], ".6g")
            text = (json.dumps([float(format(v, fmt)) for v in value]) if isinstance(value, list)
                    else format(value, fmt))
            ref = asked["answer"] + "".join(f"[{i}]" for i in asked["index"] or [])
            row[f"{q['id']}.{ref}"] = text
    return row


def test_grading_accepts_values_rounded_as_asked(built: Path, tmp_path: Path) -> None:
    key = _key(built)
    rows = []
    for n, variant in enumerate(key["variants"]):
        rows.append(_row(variant, f"exact{n}", {}))
        rows.append(_row(variant, f"asked{n}", {"w2v": ".2g", "rnn": ".3f"}))
        # one figure fewer than asked: not what the question states
        rows.append(_row(variant, f"short{n}", {"w2v": ".1g", "rnn": ".1f"}))
    path = tmp_path / "answers.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    assert main(["grade", str(built / "key.json"), str(path), "--out", str(tmp_path / "g"),
                 "--no-pdf"]) == 0
    grades = json.loads((tmp_path / "g" / "grades.json").read_text("utf-8"))
    totals = {s["student"]: s["total"] for s in grades["students"]}
    for n in range(len(key["variants"])):
        assert totals[f"exact{n}"] == totals[f"asked{n}"] == 30
        assert totals[f"short{n}"] < 30
