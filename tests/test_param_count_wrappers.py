"""param-count for Bidirectional(...) and Embedding(...), against Keras 3 and torch.nn."""

from __future__ import annotations

import keras
import pytest
import torch

from dlexam import derivations
from dlexam.cli import main

L = keras.layers


def keras_layers(layers: list[keras.layers.Layer], input_shape: tuple) -> list[keras.Layer]:
    model = keras.Sequential([keras.Input(shape=input_shape), *layers])
    return list(model.layers)


def torch_count(*modules: torch.nn.Module) -> int:
    return sum(p.numel() for m in modules for p in m.parameters())


@pytest.mark.parametrize(
    "spec,layers,input_shape",
    [
        ("Bidirectional(LSTM(7)), Dense(2)",
         [L.Bidirectional(L.LSTM(7)), L.Dense(2)], (4, 3)),
        ("Bidirectional(GRU(5)), Dense(1)",
         [L.Bidirectional(L.GRU(5)), L.Dense(1)], (4, 3)),
        ("Bidirectional(GRU(5, reset_after=False)), Dense(1)",
         [L.Bidirectional(L.GRU(5, reset_after=False)), L.Dense(1)], (4, 3)),
        ("Bidirectional(SimpleRNN(6, return_sequences=True)), Bidirectional(LSTM(4)), Dense(3)",
         [L.Bidirectional(L.SimpleRNN(6, return_sequences=True)), L.Bidirectional(L.LSTM(4)),
          L.Dense(3)], (5, 2)),
        ("Embedding(1000, 16), LSTM(8), Dense(1)",
         [L.Embedding(1000, 16), L.LSTM(8), L.Dense(1)], (10,)),
        ("Embedding(input_dim=50, output_dim=4, mask_zero=True), Bidirectional(GRU(3))",
         [L.Embedding(50, 4, mask_zero=True), L.Bidirectional(L.GRU(3))], (6,)),
    ],
)
def test_counts_and_widths_match_keras(spec: str, layers: list, input_shape: tuple) -> None:
    built = keras_layers(layers, input_shape)
    # a sequence of vectors has a width; a sequence of token ids (Embedding first) has none
    width = {"input_dim": input_shape[-1]} if len(input_shape) == 2 else {}
    result = derivations.solve("param-count", model=spec, **width)
    assert result.answers["layers"] == [layer.count_params() for layer in built]
    assert result.answers["total"] == sum(layer.count_params() for layer in built)
    assert result.info["output_widths"] == [layer.output.shape[-1] for layer in built]


def test_bidirectional_doubles_the_layer() -> None:
    single = derivations.solve("param-count", model="LSTM(30)", input_dim=1)
    double = derivations.solve("param-count", model="Bidirectional(LSTM(30))", input_dim=1)
    assert double.answers["layers"] == [2 * single.answers["layers"][0]] == [7680]
    assert double.info["output_widths"] == [60]


@pytest.mark.parametrize(
    "spec,width,modules",
    [
        ("Bidirectional(LSTM(7))", 3, [torch.nn.LSTM(3, 7, bidirectional=True)]),
        ("Bidirectional(GRU(5))", 4, [torch.nn.GRU(4, 5, bidirectional=True)]),
        ("Bidirectional(SimpleRNN(6))", 2, [torch.nn.RNN(2, 6, bidirectional=True)]),
        ("Bidirectional(LSTM(4, return_sequences=True)), Dense(2)", 3,
         [torch.nn.LSTM(3, 4, bidirectional=True), torch.nn.Linear(8, 2)]),
    ],
)
def test_bidirectional_matches_torch(spec: str, width: int, modules: list) -> None:
    result = derivations.solve("param-count", model=spec, input_dim=width, framework="pytorch")
    assert result.answers["layers"] == [torch_count(m) for m in modules]


def test_embedding_matches_torch() -> None:
    result = derivations.solve("param-count", model="Embedding(1000, 16), LSTM(8)",
                               framework="pytorch")
    assert result.answers["layers"] == [torch_count(torch.nn.Embedding(1000, 16)),
                                        torch_count(torch.nn.LSTM(16, 8))]


@pytest.mark.parametrize("spec", [
    "Bidirectional(LSTM(16), input_shape=(5, 8)), Dense(1)",
    "Bidirectional(LSTM(16, input_shape=(5, 8))), Dense(1)",
])
def test_input_shape_on_the_wrapper_or_the_wrapped_layer(spec: str) -> None:
    built = keras_layers([L.Bidirectional(L.LSTM(16)), L.Dense(1)], (5, 8))
    result = derivations.solve("param-count", model=spec)
    assert result.answers["layers"] == [layer.count_params() for layer in built]
    assert result.info["output_shapes"] == [[None, 32], [None, 1]]


@pytest.mark.parametrize(
    "spec,fragment",
    [
        ("Bidirectional(Dense(3))", "wrapping a recurrent layer"),
        ("Bidirectional(LSTM(3), merge_mode=None)", "merge_mode one of"),
        ("Embedding(0, 8)", "vocabulary size"),
        ("Embedding(10, -2)", "embedding width"),
        ("Bidirectional(LSTM(0))", "units as a whole number > 0"),
        ("Conv3D(3)", "layers of the kinds"),
    ],
)
def test_bad_layers_exit_2_one_line(capsys: pytest.CaptureFixture[str], spec: str,
                                    fragment: str) -> None:
    assert main(["solve", "param-count", f"model={spec}", "input_dim=2"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("dlexam: error: model: expected")
    assert fragment in err
