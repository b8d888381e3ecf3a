"""The benchmark's exam files (bench/exams, timed by `make bench`) keep building, and the one
meant to hold every derivation the exam format supports does."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from dlexam import derivations
from dlexam.cli import main

BENCH = Path(__file__).resolve().parents[1] / "bench" / "exams"
FILES = sorted(BENCH.glob("*.toml"))


def test_the_bench_set_has_its_four_shapes() -> None:
    assert {p.stem for p in FILES} >= {"quiz3", "models", "every", "largest"}


@pytest.mark.slow
@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_each_bench_exam_builds(path: Path, tmp_path: Path) -> None:
    """Two variants, no TeX: the file is still accepted and every question is drawn."""
    out = tmp_path / "o"
    assert main(["exam", str(path), "--variants", "2", "--seed", "1", "--out", str(out),
                 "--no-pdf"]) == 0
    key = json.loads((out / "key.json").read_text("utf-8"))
    questions = tomllib.loads(path.read_text("utf-8"))["questions"]
    assert len(key["variants"]) == 2
    for variant in key["variants"]:
        assert [q["id"] for q in variant["questions"]] == [q["id"] for q in questions]


def test_every_exam_derivation_is_in_the_bench() -> None:
    """Every derivation an exam can ask (one with a numeric answer) has a question in
    bench/exams/every.toml: a new derivation is timed as soon as it is registered."""
    asked = {q["derivation"] for q in
             tomllib.loads((BENCH / "every.toml").read_text("utf-8"))["questions"]}
    supported = {name for name in derivations.names()
                 if any(a.kind != "text" for a in derivations.get(name).answers)}
    assert supported - asked == set()
    assert asked <= supported
