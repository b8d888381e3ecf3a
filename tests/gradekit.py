"""A class to grade: an exam's key.json and the answers of students who make known mistakes.

The key comes from ``dlexam exam FILE --variants N --seed S --no-pdf`` when that command exists;
until it does, from :func:`fixture_key`, which writes key.json exactly as issue 12 specifies it
(``{"title", "seed", "variants": [{"code", "seed", "questions": [{"id", "derivation", "params",
"points", "asked": [{"answer", "index", "expected", "tolerance", "mistakes"}]}]}]}``), plus the
optional ``"partial"`` grading reads.

The students' right answers are computed here with NumPy from the key's parameters (not taken
from the key), so a wrong key value would show too; their mistaken answers apply the mistake
with NumPy (row convention: W transposed; log base 10; the gradient's sign reversed).
"""

from __future__ import annotations

import atexit
import contextlib
import io
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from dlexam.cli import main
from dlexam.derivations.contract import element, format_ref, parse_ref

EXAM_TOML = """
title = { en = "Deep Learning Quiz 3", zh-Hant = "深度學習小考三" }
lang = "bilingual"

[[questions]]
id = "q1"
derivation = "rnn-forward"
points = 30
ask = ["h[1]", "h[2]", "y[2]"]
partial = { row-convention = 0.5 }
[questions.params]
convention = "column"
activation = "tanh"
output_activation = "identity"

[[questions]]
id = "q2"
derivation = "softmax-cross-entropy"
points = 20
ask = ["loss", "grad_logits"]
[questions.params]
logits = { uniform = [-2, 2], decimals = 1, shape = [3] }
reduction = "mean"
base = "e"
"""

QUESTIONS = [
    {"id": "q1", "derivation": "rnn-forward", "points": 30, "ask": ["h[1]", "h[2]", "y[2]"],
     "partial": {"row-convention": 0.5},
     "fixed": {"convention": "column", "activation": "tanh", "output_activation": "identity"}},
    {"id": "q2", "derivation": "softmax-cross-entropy", "points": 20,
     "ask": ["loss", "grad_logits"], "partial": {},
     "fixed": {"reduction": "mean", "base": "e"}},
]


def exam_command_exists() -> bool:
    """Whether this dlexam has ``dlexam exam`` (issue 12)."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return main(["exam", "--help"]) == 0


_BUILT: dict[tuple[int, int], Path] = {}
"""Builds of the exam above by ``dlexam exam`` in this process, by (variants, seed), in folders
of their own: a test gets a copy, which it may change."""


def make_key(folder: Path, variants: int = 3, seed: int = 7) -> Path:
    """key.json for the exam above, by ``dlexam exam`` when it exists, else the fixture. The
    exam is built once per process for each (variants, seed) and its outputs copied into
    ``folder`` (a build takes seconds; several tests only change a copy of its key)."""
    folder.mkdir(parents=True, exist_ok=True)
    if exam_command_exists():
        exam = folder.parent / f"{folder.name}-exam.toml"  # the folder holds one build only
        exam.write_text(EXAM_TOML, encoding="utf-8")
        built = _BUILT.get((variants, seed))
        if built is None:
            home = tempfile.mkdtemp(prefix="dlexam-key-")
            atexit.register(shutil.rmtree, home, True)
            built = Path(home) / "exam"
            assert main(["exam", str(exam), "--variants", str(variants), "--seed", str(seed),
                         "--out", str(built), "--no-pdf"]) == 0
            _BUILT[(variants, seed)] = built
        shutil.copytree(built, folder, dirs_exist_ok=True)
        return folder / "key.json"
    path = folder / "key.json"
    path.write_text(json.dumps(fixture_key(variants, seed), ensure_ascii=False),
                    encoding="utf-8")
    return path


def _differs(a: Any, b: Any, rel: float = 5e-4, abs_: float = 1e-12) -> bool:
    la, lb = np.ravel(np.asarray(a, float)), np.ravel(np.asarray(b, float))
    return bool(np.any(np.abs(la - lb) > np.maximum(abs_, rel * np.abs(la))))


def fixture_key(variants: int, seed: int) -> dict[str, Any]:
    """A key as issue 12 specifies it, drawn with the derivations' own samplers; a draw whose
    mistakes cannot be told apart in every element is drawn again."""
    from dlexam import derivations

    out: list[dict[str, Any]] = []
    draw = seed * 1000
    for v in range(variants):
        questions = []
        for q in QUESTIONS:
            d = derivations.get(q["derivation"])
            while True:
                draw += 1
                params = d.sample(draw, q["fixed"])
                right = d.run(params).plain_answers()
                wrong = {m.id: d.run(params, mistake=m.id).plain_answers()
                         for m in d.applicable_mistakes(params)}
                asked, ok = [], True
                for ref in q["ask"]:
                    name, index = parse_ref(ref)
                    answer = d.answer(name)
                    expected = element(right[name], index)
                    mistakes = {}
                    for mid, theirs in wrong.items():
                        value = element(theirs[name], index)
                        if not _differs(expected, value, 1e-9):
                            continue
                        ok = ok and all(_differs(e, w) for e, w in zip(
                            np.ravel(expected), np.ravel(value), strict=True))
                        mistakes[mid] = value
                    values = list(mistakes.values())
                    ok = ok and all(_differs(a, b) for i, a in enumerate(values)
                                    for b in values[i + 1:])
                    asked.append({"answer": name, "index": list(index) or None,
                                  "expected": expected,
                                  "tolerance": {"rel": answer.rel, "abs": answer.abs},
                                  "mistakes": mistakes})
                if ok:
                    break
            question = {"id": q["id"], "derivation": q["derivation"], "params": params,
                        "points": q["points"], "asked": asked}
            if q["partial"]:
                question["partial"] = q["partial"]
            questions.append(question)
        out.append({"code": f"V{v + 1:02d}", "seed": seed * 100 + v, "questions": questions})
    return {"title": {"en": "Deep Learning Quiz 3", "zh-Hant": "深度學習小考三"}, "seed": seed,
            "variants": out}


# --- independent answers (NumPy) ---

def rnn_states(params: dict[str, Any], transpose: bool = False,
               h1: np.ndarray | None = None) -> tuple[list[np.ndarray], list[float]]:
    """h_t and y_t of the question's RNN (tanh, identity output, scalar input, one output);
    with ``transpose`` as a student using the row convention; with ``h1`` from that state."""
    w = np.asarray(params["W"], float)
    w = w.T if transpose else w
    u = np.asarray(params["U"], float)
    v = np.asarray(params["V"], float)
    b = np.asarray(params["b"], float)
    c = float(params["c"])
    h = np.zeros(len(b)) if params.get("h0") is None else np.asarray(params["h0"], float)
    hs, ys = [], []
    for t, x in enumerate(params["x"], start=1):
        h = h1 if (t == 1 and h1 is not None) else np.tanh(w @ h + u * float(x) + b)
        hs.append(h)
        ys.append(float(v @ h + c))
    return hs, ys


def softmax_answers(params: dict[str, Any], mistake: str | None = None) -> dict[str, Any]:
    """loss and grad_logits of softmax cross-entropy, or as a student making the mistake."""
    z = np.asarray(params["logits"], float)
    p = np.exp(z - z.max())
    p /= p.sum()
    y = np.zeros_like(p)
    y[int(params["label"])] = 1.0
    loss = float(-np.log(p[int(params["label"])]))
    if mistake == "log-base-10":
        loss = float(-np.log10(p[int(params["label"])]))
    grad = (y - p) if mistake == "gradient-sign" else (p - y)
    return {"loss": loss, "grad_logits": grad.tolist()}


def typed(value: Any) -> str:
    """What a student types for a value: 6 significant figures."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return "[" + ", ".join(typed(v) for v in value) + "]"
    return f"{float(value):.6g}"


def columns() -> list[str]:
    """The answer columns: ``q1.h[1]``, ..."""
    out = []
    for q in QUESTIONS:
        for ref in q["ask"]:
            name, index = parse_ref(ref)
            out.append(f"{q['id']}.{format_ref(name, index)}")
    return out
