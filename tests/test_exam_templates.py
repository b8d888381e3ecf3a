"""String parameters with drawn values (``model = { template = "LSTM({u}), Dense({o})", u = {
integers = [8, 64] }, ... }``): each variant's string drawn from the file's specs, counted right
(Keras's formulas, computed here by plain arithmetic from the string the test reads itself),
reproducible from the seed, shown in every text of the variant, and refused in one line naming
the TOML path when a draw gives a string the derivation cannot read."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from dlexam.cli import main
from dlexam.errors import InputError
from dlexam.exams.model import load_exam

EXAM = """
title = {{ en = "Counting", zh-Hant = "計數" }}
lang = "bilingual"

[[questions]]
id = "pc"
derivation = "param-count"
points = 2
ask = ["total"]
[questions.params]
model = {model}
input_dim = {{ integers = [3, 10] }}
framework = "keras"
"""

MODEL = ('{ template = "{kind}({u}), Dense({o}, activation=\\"{a}\\")", '
         'kind = { choice = ["LSTM", "SimpleRNN", "GRU"] }, u = { integers = [8, 64] }, '
         'o = { choice = [1, 2, 5] }, a = { choice = ["relu", "linear"] } }')


def _write(tmp_path: Path, model: str) -> Path:
    path = tmp_path / "exam.toml"
    path.write_text(EXAM.format(model=model), encoding="utf-8")
    return path


def _keras_total(model: str, d: int) -> int:
    """Keras's parameter count of "<RNN>(u), Dense(o, ...)" on inputs of width d: per gate
    u(d + u) weights and u biases (GRU with reset_after=True, Keras's default, two bias
    vectors per gate); Dense o(u + 1)."""
    match = re.fullmatch(r'(LSTM|SimpleRNN|GRU)\((\d+)\), Dense\((\d+), activation="(\w+)"\)',
                         model)
    assert match, model
    kind, u, o = match.group(1), int(match.group(2)), int(match.group(3))
    gates = {"LSTM": 4, "SimpleRNN": 1, "GRU": 3}[kind]
    biases = 2 if kind == "GRU" else 1
    return gates * (u * (d + u) + biases * u) + o * (u + 1)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("templates")
    exam = _write(tmp, MODEL)
    assert main(["exam", str(exam), "--variants", "12", "--seed", "7", "--out",
                 str(tmp / "a"), "--no-pdf"]) == 0
    return tmp


def _variants(folder: Path) -> list[dict]:
    key = json.loads((folder / "key.json").read_text(encoding="utf-8"))
    return [v["questions"][0] for v in key["variants"]]


def test_each_variant_counts_its_own_drawn_model(built: Path) -> None:
    variants = _variants(built / "a")
    models = [q["params"]["model"] for q in variants]
    for question in variants:
        params = question["params"]
        assert question["asked"][0]["expected"] == _keras_total(params["model"],
                                                               params["input_dim"])
    units = {int(re.search(r"\((\d+)\)", m).group(1)) for m in models}  # type: ignore[union-attr]
    assert len(set(models)) > 6 and len(units) > 4 and all(8 <= u <= 64 for u in units)
    assert {m.split("(")[0] for m in models} <= {"LSTM", "SimpleRNN", "GRU"}


def test_the_same_seed_draws_the_same_strings(built: Path) -> None:
    exam = built / "exam.toml"
    assert main(["exam", str(exam), "--variants", "12", "--seed", "7", "--out",
                 str(built / "b"), "--no-pdf"]) == 0
    assert (built / "a" / "key.json").read_bytes() == (built / "b" / "key.json").read_bytes()
    assert main(["exam", str(exam), "--variants", "12", "--seed", "8", "--out",
                 str(built / "c"), "--no-pdf"]) == 0
    first = [q["params"]["model"] for q in _variants(built / "a")]
    assert first != [q["params"]["model"] for q in _variants(built / "c")]


def test_moodle_shows_each_variant_its_own_string(built: Path) -> None:
    xml = (built / "a" / "moodle.xml").read_text(encoding="utf-8")
    for question in _variants(built / "a"):
        # the statement writes the input shape into the first layer: LSTM(37, input_shape=...)
        first, second = re.findall(r"\w+\(\d+", question["params"]["model"])
        assert re.search(re.escape(first) + r"[,)].*" + re.escape(second) + "[,)]", xml), first


@pytest.mark.parametrize(("model", "path", "says"), [
    ('{ template = "LSTM({u}), Dense({o})", u = { integers = [0, 64] }, o = 1 }',
     "questions[1].params.model.template", '"LSTM(0), Dense(1)" in one draw'),
    ('{ template = "LSTM({u}), Dense({o})", u = 8, o = { choice = [1, "relu"] } }',
     "questions[1].params.model.template", '"LSTM(8), Dense(relu)" in one draw'),
    ('{ template = "LSTM({u}), Dense({o})", u = { integers = [8, 64] } }',
     "questions[1].params.model.o", "field {o}"),
    ('{ template = "LSTM({u})", u = 8, v = 2 }', "questions[1].params.model.v",
     "a field the template names (u)"),
    ('{ template = "LSTM({u)", u = 8 }', "questions[1].params.model.template",
     "fields written {name}"),
    ('{ template = "LSTM({u})", u = { integers = [1, 2], shape = [2] } }',
     "questions[1].params.model.u", "without shape"),
    ('{ template = "LSTM({u})", u = { template = "{v}", v = 1 } }',
     "questions[1].params.model.u", "without shape"),
    ('{ template = "LSTM({u})", u = [1, 2] }', "questions[1].params.model.u",
     "a number, a string or true/false"),
    ('{ template = 3 }', "questions[1].params.model.template", "a string with {name} fields"),
])
def test_bad_templates_name_their_toml_path(tmp_path: Path, model: str, path: str,
                                            says: str) -> None:
    with pytest.raises(InputError) as caught:
        load_exam(_write(tmp_path, model))
    message = str(caught.value)
    assert f"exam.toml: {path}:" in message and says in message, message
    assert caught.value.said_in("zh-Hant") != message  # from the catalogs


def test_a_template_only_for_a_string_parameter(tmp_path: Path) -> None:
    path = tmp_path / "exam.toml"
    path.write_text(EXAM.format(model='"LSTM(4)"').replace(
        "input_dim = { integers = [3, 10] }", 'input_dim = { template = "{u}", u = 3 }'),
        encoding="utf-8")
    with pytest.raises(InputError, match=r"questions\[1\]\.params\.input_dim\.template: "
                                         r"expected a template only for a string parameter"):
        load_exam(path)


def test_the_readme_example_builds(tmp_path: Path) -> None:
    model = ('{ template = "LSTM({u}), Dense({o})", u = { integers = [8, 64] }, '
             'o = { choice = [1, 2, 5] } }')
    assert main(["exam", str(_write(tmp_path, model)), "--variants", "3", "--seed", "1",
                 "--out", str(tmp_path / "o"), "--no-pdf"]) == 0
    for question in _variants(tmp_path / "o"):
        params = question["params"]
        u, o = map(int, re.findall(r"\d+", params["model"]))
        d = params["input_dim"]
        assert question["asked"][0]["expected"] == 4 * (u * (d + u) + u) + o * (u + 1)
