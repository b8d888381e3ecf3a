"""The benchmark's exam files (bench/exams, timed by `make bench`) keep building, and the one
meant to hold every derivation the exam format supports does."""

from __future__ import annotations

import inspect
import json
import re
import sys
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
def test_each_bench_exam_builds(path: Path, tmp_path: Path,
                                request: pytest.FixtureRequest) -> None:
    """Two variants, no TeX: the file is still accepted and every question is drawn. The
    largest file is read from the session's build of it (``largest_exam`` in conftest.py: the
    same two variants of seed 1, with its PDFs, which test_largest_exams.py reads)."""
    if path.stem == "largest":
        built = request.getfixturevalue("largest_exam")
        assert built.code == 0
        out = built.out
    else:
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


def _every_of(ids: set[str], folder: Path) -> Path:
    """every.toml cut down to the questions ``ids`` (a file of its own)."""
    head, *blocks = (BENCH / "every.toml").read_text("utf-8").split("[[questions]]")
    kept = [b for b in blocks if tomllib.loads(b)["derivation"] in ids]
    assert len(kept) >= 3, ids  # a cut, not an empty file
    path = folder / "cut.toml"
    path.write_text("[[questions]]".join([head, *kept]), "utf-8")
    return path


def _cell_users() -> set[str]:
    """The derivations whose topic builds on the shared cells (dlexam/derivations/cells.py),
    where plans name values (tanh and exp of traced formulas, a recurrent state's entries):
    the recurrent cells, the MLP and bptt (whose float steps come from NumPy)."""
    out = set()
    for name in derivations.names():
        module = sys.modules[derivations.get(name).fn.__module__]
        if re.search(r"^from dlexam\.derivations\.cells import", inspect.getsource(module),
                     re.M):
            out.add(name)
    return out


CUT = _cell_users()


@pytest.mark.slow
@pytest.mark.parametrize("exam", ["models", "every-cut"])
def test_a_cached_build_is_byte_identical_to_one_without_caches(
        exam: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What is kept across variants (plans traced once per shape and evaluated on MPFR, the
    variants drawn in chunks on two forked workers) changes no byte of key.json and
    moodle.xml: the same exam built with every run the ordinary exact one, one variant after
    the other, in this process."""
    from dlexam import plans
    from dlexam.exams import parallel, variants

    path = BENCH / "models.toml" if exam == "models" else _every_of(CUT, tmp_path)
    monkeypatch.setattr(variants, "CHUNKED_FROM", 4)  # 9 variants: two chunks, two workers
    monkeypatch.setattr(parallel, "workers", lambda: 2)
    assert main(["exam", str(path), "--variants", "9", "--seed", "5", "--out",
                 str(tmp_path / "cached"), "--no-pdf"]) == 0
    monkeypatch.setattr(plans, "MAX_INPUTS", -1)  # no shape is ever traced: every run exact
    monkeypatch.setattr(parallel, "workers", lambda: 1)
    assert main(["exam", str(path), "--variants", "9", "--seed", "5", "--out",
                 str(tmp_path / "plain"), "--no-pdf"]) == 0
    for name in ("key.json", "moodle.xml"):
        cached = (tmp_path / "cached" / name).read_bytes()
        assert cached == (tmp_path / "plain" / name).read_bytes(), name
    key = json.loads((tmp_path / "cached" / "key.json").read_text("utf-8"))
    assert len(key["variants"]) == 9


def test_softmax_questions_of_many_classes_are_drawn() -> None:
    """The largest file's 64 classes: soft labels of tenths cannot give each of 64 classes
    0.1 (the sampler raised ValueError, a traceback); some probabilities are then 0."""
    from dlexam.derivations.params import pinned_dims

    spec = derivations.get("softmax-cross-entropy")
    soft = 0
    for seed in range(40):
        with pinned_dims({"n": 2, "k": 64}):
            params = spec.sample(seed, {"reduction": "sum"})  # a batch
        assert params is not None and len(params["logits"]) == 2
        for label in params["label"]:
            if isinstance(label, list):
                soft += 1
                assert len(label) == 64 and abs(sum(label) - 1) < 1e-9 and min(label) >= 0
    assert soft > 0
