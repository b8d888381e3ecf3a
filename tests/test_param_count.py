"""param-count against independent counts: PyTorch's own modules and Keras 3 (torch backend)."""

from __future__ import annotations

import random

import keras
import pytest
import torch

from dlexam import derivations
from dlexam.notation import text
from dlexam.render.question import question_text

EXAM_MODEL = "LSTM(30, return_sequences=True), LSTM(30), Dense(1)"


def torch_count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def keras_counts(layers: list[keras.layers.Layer], input_dim: int, steps: int = 3) -> list[int]:
    model = keras.Sequential([keras.Input(shape=(steps, input_dim)), *layers])
    return [layer.count_params() for layer in model.layers]


def test_exam_model_keras_matches_keras_itself() -> None:
    result = derivations.solve("param-count", model=EXAM_MODEL, input_dim=1, framework="keras")
    expected = keras_counts(
        [
            keras.layers.LSTM(30, return_sequences=True),
            keras.layers.LSTM(30),
            keras.layers.Dense(1),
        ],
        input_dim=1,
    )
    assert result.answers["layers"] == expected
    assert result.answers["total"] == sum(expected) == 11191  # the exam's published total


def test_exam_model_pytorch_matches_torch_modules() -> None:
    result = derivations.solve("param-count", model=EXAM_MODEL, input_dim=1, framework="pytorch")
    expected = [
        torch_count(torch.nn.LSTM(1, 30)),
        torch_count(torch.nn.LSTM(30, 30)),
        torch_count(torch.nn.Linear(30, 1)),
    ]
    assert result.answers["layers"] == expected == [3960, 7440, 31]


def test_steps_show_formula_numbers_and_value() -> None:
    result = derivations.solve("param-count", model=EXAM_MODEL, input_dim=1)
    first = result.steps[0]
    assert text(first.symbolic) == "4*n*(n + m + 1)"
    assert text(first.substituted) == "4*30*(30 + 1 + 1)"
    assert first.value == 3840
    total = next(s for s in result.steps if s.key == "param_count.total")
    assert text(total.substituted) == "3840 + 7320 + 31"
    assert any(s.key == "param_count.convention_keras" for s in result.steps)


def test_input_shape_on_first_layer_sets_width_and_steps() -> None:
    model = "LSTM(30, return_sequences=True, input_shape=(3, 1)), LSTM(30), Dense(1)"
    result = derivations.solve("param-count", model=model)
    assert result.answers["layers"] == [3840, 7320, 31]
    assert result.info["output_shapes"] == [[None, 3, 30], [None, 30], [None, 1]]


@pytest.mark.parametrize("seed", range(4))
def test_random_recurrent_stacks_both_frameworks(seed: int) -> None:
    rng = random.Random(seed)
    width_in = rng.randint(1, 12)
    units = [rng.randint(1, 24) for _ in range(3)]
    kinds = [rng.choice(["SimpleRNN", "LSTM", "GRU"]) for _ in range(3)]
    reset_after = rng.choice([True, False])
    dense = rng.randint(1, 5)
    spec = ", ".join(
        f"{k}({u}, return_sequences=True" + (f", reset_after={reset_after}" if k == "GRU" else "")
        + ")"
        for k, u in zip(kinds, units, strict=True)
    ) + f", Dense({dense})"

    keras_layers: list[keras.layers.Layer] = []
    for k, u in zip(kinds, units, strict=True):
        if k == "GRU":
            keras_layers.append(keras.layers.GRU(u, return_sequences=True, reset_after=reset_after))
        else:
            keras_layers.append(getattr(keras.layers, k)(u, return_sequences=True))
    keras_layers.append(keras.layers.Dense(dense))
    expected_keras = keras_counts(keras_layers, width_in)
    got = derivations.solve("param-count", model=spec, input_dim=width_in, framework="keras")
    assert got.answers["layers"] == expected_keras

    torch_cls = {"SimpleRNN": torch.nn.RNN, "LSTM": torch.nn.LSTM, "GRU": torch.nn.GRU}
    widths = [width_in, *units]
    expected_torch = [torch_count(torch_cls[k](widths[i], u)) for i, (k, u) in
                      enumerate(zip(kinds, units, strict=True))]
    expected_torch.append(torch_count(torch.nn.Linear(units[-1], dense)))
    if "GRU" in kinds and not reset_after:
        return  # PyTorch has no reset_after=False GRU: checked as an input error below
    got_pt = derivations.solve("param-count", model=spec, input_dim=width_in, framework="pytorch")
    assert got_pt.answers["layers"] == expected_torch


def test_bidirectional_and_embedding_match_keras() -> None:
    spec = "Embedding(50, 8), Bidirectional(LSTM(16)), Dense(3)"
    model = keras.Sequential([
        keras.Input(shape=(4,)),
        keras.layers.Embedding(50, 8),
        keras.layers.Bidirectional(keras.layers.LSTM(16)),
        keras.layers.Dense(3),
    ])
    expected = [layer.count_params() for layer in model.layers]
    result = derivations.solve("param-count", model=spec)
    assert result.answers["layers"] == expected
    assert result.info["output_widths"] == [8, 32, 3]


def test_bidirectional_matches_torch() -> None:
    result = derivations.solve("param-count", model="Bidirectional(LSTM(16))", input_dim=5,
                               framework="pytorch")
    assert result.answers["layers"] == [torch_count(torch.nn.LSTM(5, 16, bidirectional=True))]


def test_dense_without_bias() -> None:
    result = derivations.solve("param-count", model="Dense(4, use_bias=False)", input_dim=3)
    assert result.answers["layers"] == [torch_count(torch.nn.Linear(3, 4, bias=False))]


# ---- the named mistakes, each checked against a framework that counts that way ---------------

def test_pytorch_biases_on_a_keras_question_are_torch_counts() -> None:
    result = derivations.get("param-count").run(
        {"model": EXAM_MODEL, "input_dim": 1, "framework": "keras"}, mistake="pytorch-biases")
    expected = [torch_count(torch.nn.LSTM(1, 30)), torch_count(torch.nn.LSTM(30, 30)),
                torch_count(torch.nn.Linear(30, 1))]
    assert result.answers["layers"] == expected
    assert result.answers["total"] == sum(expected)
    assert text(result.steps[0].symbolic) == "4*n*(n + m + 2)"


def test_pytorch_biases_leave_a_keras_gru_with_two_unchanged() -> None:
    d = derivations.get("param-count")
    params = {"model": "GRU(4, return_sequences=True), SimpleRNN(3)", "input_dim": 2}
    right = d.run(params).answers["layers"]
    wrong = d.run(params, mistake="pytorch-biases").answers["layers"]
    assert wrong[0] == right[0] == torch_count(torch.nn.GRU(2, 4))
    assert wrong[1] == torch_count(torch.nn.RNN(4, 3)) != right[1]


def test_keras_biases_on_a_pytorch_question_are_keras_counts() -> None:
    result = derivations.get("param-count").run(
        {"model": EXAM_MODEL, "input_dim": 1, "framework": "pytorch"}, mistake="keras-biases")
    expected = keras_counts([keras.layers.LSTM(30, return_sequences=True), keras.layers.LSTM(30),
                             keras.layers.Dense(1)], input_dim=1)
    assert result.answers["layers"] == expected


@pytest.mark.parametrize("framework", ["keras", "pytorch"])
def test_no_bias_counts_modules_built_without_bias(framework: str) -> None:
    result = derivations.get("param-count").run(
        {"model": "GRU(5, return_sequences=True), Bidirectional(LSTM(3)), Dense(2)",
         "input_dim": 4, "framework": framework}, mistake="no-bias")
    expected = [torch_count(torch.nn.GRU(4, 5, bias=False)),
                torch_count(torch.nn.LSTM(5, 3, bias=False, bidirectional=True)),
                torch_count(torch.nn.Linear(6, 2, bias=False))]
    assert result.answers["layers"] == expected


def test_no_gate_factor_counts_a_simple_rnn_of_the_same_sizes() -> None:
    d = derivations.get("param-count")
    keras_q = d.run({"model": EXAM_MODEL, "input_dim": 1}, mistake="no-gate-factor")
    assert keras_q.answers["layers"] == keras_counts(
        [keras.layers.SimpleRNN(30, return_sequences=True), keras.layers.SimpleRNN(30),
         keras.layers.Dense(1)], input_dim=1)
    assert text(keras_q.steps[0].symbolic) == "n*(n + m + 1)"
    torch_q = d.run({"model": "GRU(6), Dense(2)", "input_dim": 3, "framework": "pytorch"},
                    mistake="no-gate-factor")
    assert torch_q.answers["layers"] == [torch_count(torch.nn.RNN(3, 6)),
                                         torch_count(torch.nn.Linear(6, 2))]


def test_first_input_width_builds_every_layer_on_the_model_input() -> None:
    result = derivations.get("param-count").run(
        {"model": "LSTM(8, return_sequences=True), GRU(4), Dense(2)", "input_dim": 3},
        mistake="first-input-width")
    expected = [keras_counts([layer], input_dim=3)[0] for layer in
                (keras.layers.LSTM(8), keras.layers.GRU(4), keras.layers.Dense(2))]
    assert result.answers["layers"] == expected
    assert [s.data["width_in"] for s in result.steps[:3]] == [3, 3, 3]


@pytest.mark.parametrize(("argv", "mistake"), [
    (["model=LSTM(3), Dense(1)", "input_dim=2", "framework=pytorch"], "pytorch-biases"),
    (["model=LSTM(3), Dense(1)", "input_dim=2"], "keras-biases"),
    (["model=GRU(3), Dense(1)", "input_dim=2"], "pytorch-biases"),  # a Keras GRU has two
    (["model=SimpleRNN(3), Dense(1)", "input_dim=2"], "no-gate-factor"),
    (["model=LSTM(3)", "input_dim=2"], "first-input-width"),
    (["model=Embedding(10, 4), LSTM(3)"], "first-input-width"),
    (["model=Dense(2, use_bias=False), Embedding(10, 4)", "input_dim=2"], "no-bias"),
])
def test_a_mistake_that_cannot_show_is_refused(input_error, argv: list[str],
                                               mistake: str) -> None:
    message = input_error(["solve", "param-count", *argv, "--mistake", mistake])
    assert message.startswith("--mistake: expected a mistake that applies to this question")


def test_sampled_questions_are_small_models_where_every_mistake_shows() -> None:
    d = derivations.get("param-count")
    for seed in range(1, 41):
        params = d.sample(seed)
        right = d.run(params).answers
        if "Conv2D" in params["model"]:  # an image classifier (issue 25): its own shape
            assert 3 <= len(right["layers"]) <= 8 and "receptive_field" in right
            applicable = {m.id for m in d.applicable_mistakes(params)}
            assert applicable == {"no-bias", "first-input-width"}
            for mistake in applicable:
                assert d.run(params, mistake=mistake).answers["total"] != right["total"]
            continue
        assert 2 <= len(right["layers"]) <= 5
        assert 2 <= len([c for c in right["layers"] if c]) <= 4
        applicable = {m.id for m in d.applicable_mistakes(params)}
        assert {"no-bias", "no-gate-factor"} <= applicable
        assert ("pytorch-biases" if params["framework"] == "keras" else "keras-biases") in (
            applicable)
        if not params["model"].startswith("Embedding"):
            assert "first-input-width" in applicable
        for mistake in applicable:
            assert d.run(params, mistake=mistake).answers["total"] != right["total"], mistake


def test_question_states_the_model_and_its_input_width() -> None:
    d = derivations.get("param-count")
    params = {"model": "LSTM(30), Dense(1)", "input_dim": 2, "timesteps": 5,
              "framework": "pytorch"}
    en = question_text(d, params, "en")
    zh = question_text(d, params, "zh-Hant")
    for statement in (en, zh):
        assert "LSTM(30, input_shape=(5, 2)), Dense(1)" in statement
        assert "PyTorch" in statement


def test_a_fixed_model_without_a_width_gets_one_drawn() -> None:
    d = derivations.get("param-count")
    params = d.sample(3, {"model": "LSTM(3), Dense(1)"})
    assert params["model"] == "LSTM(3), Dense(1)"
    assert 1 <= params["input_dim"] <= 16 and 2 <= params["timesteps"] <= 10
    width = params["input_dim"]
    assert d.run(params).answers["layers"][0] == keras_counts([keras.layers.LSTM(3)], width)[0]
    embedded = d.sample(3, {"model": "Embedding(100, 8), GRU(4)"})
    assert "input_dim" not in embedded
