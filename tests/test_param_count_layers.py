"""param-count on the layers of the models people print (issue 10): no-parameter layers,
convolutions and pooling, normalisations, TimeDistributed, MultiHeadAttention, use_bias on
recurrent layers, Bidirectional merge modes and functional chains, against Keras 3 (counts,
non-trainable weights and the summary's output shapes) and torch.nn modules."""

from __future__ import annotations

import math

import keras
import pytest
import torch

from dlexam import derivations


def solve(model: str, **params: object) -> derivations.Result:
    return derivations.solve("param-count", model=model, **params)


def keras_summary(shape: tuple, layers: list) -> tuple[list[int], list[int], list[list]]:
    """Per layer: Keras' Param #, its non-trainable count and its output shape (batch None)."""
    x = keras.Input(shape=shape)
    counts, frozen, shapes = [], [], []
    for layer in layers:
        y = layer(x, x) if isinstance(layer, keras.layers.MultiHeadAttention) else layer(x)
        counts.append(layer.count_params())
        frozen.append(sum(math.prod(w.shape) for w in layer.non_trainable_weights))
        shapes.append([None, *y.shape[1:]])
        x = y
    return counts, frozen, shapes


def params_of(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


Z = {"kernel_initializer": "zeros"}
L = keras.layers

CASES = [
    ("Conv2D(32, (3, 3), activation='relu', input_shape=(28, 28, 1)), MaxPooling2D((2, 2)), "
     "Conv2D(64, (3, 3), strides=2, padding='same'), Flatten(), Dropout(0.5), Dense(10)",
     (28, 28, 1),
     lambda: [L.Conv2D(32, (3, 3), activation="relu", **Z), L.MaxPooling2D((2, 2)),
              L.Conv2D(64, (3, 3), strides=2, padding="same", **Z), L.Flatten(), L.Dropout(0.5),
              L.Dense(10, **Z)]),
    ("Conv1D(16, 3, padding='causal', use_bias=False, input_shape=[20, 4]), "
     "AveragePooling1D(3, strides=2, padding='same'), Conv1D(8, 5, strides=2), "
     "GlobalMaxPooling1D(), RepeatVector(3), LSTM(6, return_sequences=True), "
     "TimeDistributed(Dense(2))",
     (20, 4),
     lambda: [L.Conv1D(16, 3, padding="causal", use_bias=False, **Z),
              L.AveragePooling1D(3, strides=2, padding="same"), L.Conv1D(8, 5, strides=2, **Z),
              L.GlobalMaxPooling1D(), L.RepeatVector(3),
              L.LSTM(6, return_sequences=True, recurrent_initializer="zeros", **Z),
              L.TimeDistributed(L.Dense(2, **Z))]),
    ("Input(shape=(None, 12)), MultiHeadAttention(num_heads=3, key_dim=5), "
     "LayerNormalization(), BatchNormalization(), GRU(4, use_bias=False, return_sequences=True), "
     "GlobalAveragePooling1D(), Activation('relu'), Reshape((2, 2))",
     (None, 12),
     lambda: [L.MultiHeadAttention(num_heads=3, key_dim=5), L.LayerNormalization(),
              L.BatchNormalization(), L.GRU(4, use_bias=False, return_sequences=True,
                                            recurrent_initializer="zeros", **Z),
              L.GlobalAveragePooling1D(), L.Activation("relu"), L.Reshape((2, 2))]),
    ("Bidirectional(LSTM(5, use_bias=False, return_sequences=True), merge_mode='sum', "
     "input_shape=(None, 3)), Bidirectional(GRU(4), merge_mode='mul'), "
     "Dense(6), BatchNormalization(), Dense(1)",
     (None, 3),
     lambda: [L.Bidirectional(L.LSTM(5, use_bias=False, return_sequences=True,
                                     recurrent_initializer="zeros", **Z), merge_mode="sum"),
              L.Bidirectional(L.GRU(4, recurrent_initializer="zeros", **Z), merge_mode="mul"),
              L.Dense(6, **Z), L.BatchNormalization(), L.Dense(1, **Z)]),
    ("SimpleRNN(7, use_bias=False, return_sequences=True, input_shape=(5, 2)), "
     "Bidirectional(SimpleRNN(3), merge_mode='ave')",
     (5, 2),
     lambda: [L.SimpleRNN(7, use_bias=False, return_sequences=True,
                          recurrent_initializer="zeros", **Z),
              L.Bidirectional(L.SimpleRNN(3, recurrent_initializer="zeros", **Z),
                              merge_mode="ave")]),
    ("Conv2D(4, 3, strides=(2, 1), input_shape=(9, 7, 3)), AveragePooling2D(pool_size=(2, 3)), "
     "GlobalMaxPooling2D()",
     (9, 7, 3),
     lambda: [L.Conv2D(4, 3, strides=(2, 1), **Z), L.AveragePooling2D(pool_size=(2, 3)),
              L.GlobalMaxPooling2D()]),
]


@pytest.mark.parametrize(("model", "shape", "layers"), CASES,
                         ids=[f"model{i}" for i in range(len(CASES))])
def test_counts_non_trainable_and_shapes_match_keras(model: str, shape: tuple, layers) -> None:
    counts, frozen, shapes = keras_summary(shape, layers())
    result = solve(model)
    assert result.answers["layers"] == counts
    assert result.answers["total"] == sum(counts) == result.answers["chains"][0]
    assert result.answers["non_trainable"] == sum(frozen)
    assert result.answers["trainable"] == sum(counts) - sum(frozen)
    assert result.info["non_trainable_layers"] == frozen
    assert result.info["output_shapes"] == shapes


def test_batch_normalization_reported_apart_as_keras_summary_does() -> None:
    result = solve("Dense(64, input_shape=(20,)), BatchNormalization(), Dense(1)")
    # Keras' summary of this model: Total 1,665, Trainable 1,537, Non-trainable 128
    assert result.answers["layers"] == [1344, 256, 65]
    assert (result.answers["total"], result.answers["trainable"],
            result.answers["non_trainable"]) == (1665, 1537, 128)
    torch_result = solve("Dense(64, input_shape=(20,)), BatchNormalization(), Dense(1)",
                         framework="pytorch")
    bn = torch.nn.BatchNorm1d(64)
    assert torch_result.answers["layers"][1] == params_of(bn) == 128
    # PyTorch: what parameters() counts, every one trainable; the running statistics (and
    # num_batches_tracked) are buffers, reported apart
    net = torch.nn.Sequential(torch.nn.Linear(20, 64), bn, torch.nn.Linear(64, 1))
    total = sum(p.numel() for p in net.parameters())
    trainable = sum(p.numel() for p in net.parameters() if p.requires_grad)
    assert (torch_result.answers["total"], torch_result.answers["trainable"],
            torch_result.answers["non_trainable"]) == (total, trainable, total - trainable)
    assert torch_result.answers["non_trainable"] == 0
    assert torch_result.info["buffers"] == sum(b.numel() for b in net.buffers()) == 129


@pytest.mark.parametrize("framework", ["keras", "pytorch"])
def test_parts_add_up_to_the_total(framework: str) -> None:
    # the case: Dense(4), BatchNormalization() on 3 inputs gave 24 = 24 + 8 under pytorch
    result = solve("Dense(4), BatchNormalization()", input_dim=3, framework=framework)
    answers = result.answers
    assert answers["trainable"] + answers["non_trainable"] == answers["total"]
    if framework == "pytorch":
        net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
        assert answers["total"] == sum(p.numel() for p in net.parameters()) == 24
        assert result.info["buffers"] == sum(b.numel() for b in net.buffers()) == 9
    else:
        net = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4),
                                keras.layers.BatchNormalization()])
        assert answers["total"] == net.count_params() == 32
        assert answers["non_trainable"] == sum(
            math.prod(w.shape) for w in net.non_trainable_weights) == 8


def test_new_layers_match_torch_modules() -> None:
    model = ("Conv1D(8, 3, input_shape=(10, 4)), LayerNormalization(), "
             "MultiHeadAttention(num_heads=2, key_dim=4), Conv1D(5, 2, use_bias=False), "
             "BatchNormalization(), TimeDistributed(Dense(3)), GRU(6, use_bias=False)")
    result = solve(model, framework="pytorch")
    assert result.answers["layers"] == [
        params_of(torch.nn.Conv1d(4, 8, 3)), params_of(torch.nn.LayerNorm(8)),
        params_of(torch.nn.MultiheadAttention(8, 2)),
        params_of(torch.nn.Conv1d(8, 5, 2, bias=False)),
        params_of(torch.nn.BatchNorm1d(5)), params_of(torch.nn.Linear(5, 3)),
        params_of(torch.nn.GRU(3, 6, bias=False)),
    ]
    conv2d = solve("Conv2D(6, (3, 5), use_bias=False, input_shape=(8, 8, 2))", framework="pytorch")
    assert conv2d.answers["layers"] == [params_of(torch.nn.Conv2d(2, 6, (3, 5), bias=False))]


def test_merge_mode_changes_the_width_not_the_count() -> None:
    counts = set()
    for mode, width in (("concat", 16), ("sum", 8), ("mul", 8), ("ave", 8)):
        result = solve(f"Bidirectional(LSTM(8), merge_mode='{mode}', input_shape=(3, 2)), Dense(1)")
        assert result.info["output_shapes"][0] == [None, width]
        counts.add(result.answers["layers"][0])
        assert result.answers["layers"][1] == width + 1
    assert counts == {2 * 4 * 8 * (8 + 2 + 1)}


def test_dense_first_with_input_dim_has_no_time_axis() -> None:
    result = solve("Dense(32, activation='relu'), Dense(10)", input_dim=784)
    model = keras.Sequential([keras.Input(shape=(784,)), L.Dense(32, **Z), L.Dense(10, **Z)])
    assert result.answers["layers"] == [layer.count_params() for layer in model.layers]
    assert result.info["output_shapes"] == [[None, 32], [None, 10]]


@pytest.mark.parametrize("shape", ["[3, 1]", "(3, 1)", "(None, 1)", "[None, 1]"])
def test_input_shape_as_list_or_tuple_with_none(shape: str) -> None:
    result = solve(f"LSTM(30, return_sequences=True, input_shape={shape}), LSTM(30), Dense(1)")
    assert result.answers["layers"] == [3840, 7320, 31]
    steps = None if "None" in shape else 3
    assert result.info["output_shapes"] == [[None, steps, 30], [None, 30], [None, 1]]


def test_functional_chains_counted_per_layer_chain_and_total() -> None:
    model = "Embedding(1000, 64), LSTM(64); Embedding(2000, 64), LSTM(64), Dense(10)"
    encoder_in, decoder_in = keras.Input(shape=(None,)), keras.Input(shape=(None,))
    encoder = [L.Embedding(1000, 64), L.LSTM(64, recurrent_initializer="zeros", **Z)]
    decoder = [L.Embedding(2000, 64), L.LSTM(64, recurrent_initializer="zeros", **Z),
               L.Dense(10, **Z)]
    x, y = encoder_in, decoder_in
    for layer in encoder:
        x = layer(x)
    for layer in decoder:
        y = layer(y)
    built = keras.Model([encoder_in, decoder_in], [x, y])
    result = solve(model)
    layers = encoder + decoder
    assert result.answers["layers"] == [layer.count_params() for layer in layers]
    assert result.answers["chains"] == [sum(layer.count_params() for layer in encoder),
                                        sum(layer.count_params() for layer in decoder)]
    assert result.answers["total"] == built.count_params() == 258698
    assert result.info["output_shapes"] == [[None, None, 64], [None, 64], [None, None, 64],
                                            [None, 64], [None, 10]]


@pytest.mark.parametrize(
    ("mistake", "expected"),
    [
        # Conv1D(8, 3) on 4 channels, Dense(2) on 8; a bias-free count drops f and n biases
        ("no-bias", [8 * 3 * 4, 0, 2 * 8]),
        # every weighted layer read the model's 4 input channels
        ("first-input-width", [8 * (3 * 4 + 1), 0, 2 * (4 + 1)]),
    ],
)
def test_mistakes_reach_the_new_layers(mistake: str, expected: list[int]) -> None:
    model = "Conv1D(8, 3, input_shape=(10, 4)), GlobalAveragePooling1D(), Dense(2)"
    result = derivations.get("param-count").run({"model": model}, mistake=mistake)
    assert result.answers["layers"] == expected


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("Conv2D(3, (5, 5), input_shape=(4, 4, 1))", "layer 1 (Conv2D): a kernel no larger"),
        ("Conv1D(3, 2, padding='full', input_shape=(4, 1))", "layer 1 (Conv1D): padding one of"),
        ("Conv2D(3, 2, input_shape=(4, 1))", "layer 1 (Conv2D): an input of shape (height"),
        ("MaxPooling1D(pool_size=(2, 2), input_shape=(4, 1))", "pool_size as one whole number"),
        ("Dense(4, input_shape=(None, 3)), Flatten()", "layer 2 (Flatten): an input of known"),
        ("Dense(6, input_shape=(3,)), Reshape((4, 2))", "layer 2 (Reshape): a target_shape of 6"),
        ("Dropout(1.5, input_shape=(3,))", "layer 1 (Dropout): a rate"),
        ("TimeDistributed(LSTM(3), input_shape=(2, 3))", "TimeDistributed(Dense(n))"),
        ("LSTM(3, input_shape=(2, 3)), Input(shape=(3,))", "only as the first layer"),
        ("LSTM(3, input_shape=(2, 3)); Conv1D(2, 9, input_shape=(4, 1))",
         "chain 2, layer 1 (Conv1D): a kernel no larger"),
        ("MultiHeadAttention(num_heads=2, key_dim=3, input_shape=(4, 8))",
         "num_heads * key_dim = 8"),
    ],
)
def test_bad_layers_get_one_line_naming_model(input_error, spec: str, fragment: str) -> None:
    framework = ["framework=pytorch"] if "MultiHeadAttention" in spec else []
    line = input_error(["solve", "param-count", f"model={spec}", *framework])
    assert line.startswith("model:"), line
    assert fragment in line, line


def test_chain_steps_show_each_branch_sum() -> None:
    result = solve("Embedding(10, 4), GRU(2); Dense(3, input_shape=(5,))")
    chain_steps = [s for s in result.steps if s.key == "param_count.chain_total"]
    assert [s.value for s in chain_steps] == result.answers["chains"] == [
        10 * 4 + 3 * 2 * (2 + 4 + 2), 3 * (5 + 1)]


def test_no_bias_on_attention_is_torch_without_bias() -> None:
    model = "MultiHeadAttention(num_heads=2, key_dim=4, input_shape=(3, 8))"
    wrong = derivations.get("param-count").run({"model": model, "framework": "pytorch"},
                                               mistake="no-bias")
    assert wrong.answers["layers"] == [params_of(torch.nn.MultiheadAttention(8, 2, bias=False))]


def test_bias_mistakes_leave_a_layer_without_bias_alone() -> None:
    d = derivations.get("param-count")
    model = "LSTM(4, use_bias=False, return_sequences=True, input_shape=(3, 2)), SimpleRNN(3)"
    right = d.run({"model": model}).answers["layers"]
    wrong = d.run({"model": model}, mistake="pytorch-biases").answers["layers"]
    assert wrong[0] == right[0] == 4 * 4 * (4 + 2)
    keras_only = "LSTM(4, use_bias=False, input_shape=(3, 2))"
    assert not any(m.id == "pytorch-biases" for m in d.applicable_mistakes({"model": keras_only}))


def test_layer_limit_counts_every_chain(input_error) -> None:
    chain = ", ".join(["Dense(2)"] * 17)
    line = input_error(["solve", "param-count", f"model={chain}; {chain}", "input_dim=2"])
    assert line.startswith("model:") and "at most 32 layers" in line, line
