"""param-count on convolutional stacks (issue 25): output shapes graded, receptive fields and
jumps, PyTorch-style zero padding, ZeroPadding1D/2D, dilation, the input_shape parameter; VGG16
and AlexNet against Keras 3, torch and their published figures."""

from __future__ import annotations

import keras
import pytest
import torch
from reference.param_count import layers_of, torch_fields

from dlexam import derivations
from dlexam.errors import InputError

L = keras.layers


def solve(model: str, **params: object) -> derivations.Result:
    return derivations.solve("param-count", model=model, **params)


def same(filters: int) -> str:
    return f"Conv2D({filters}, 3, padding='same')"


VGG16 = ", ".join([same(64), same(64), "MaxPooling2D()", same(128), same(128),
                   "MaxPooling2D()", same(256), same(256), same(256), "MaxPooling2D()",
                   same(512), same(512), same(512), "MaxPooling2D()", same(512), same(512),
                   same(512), "MaxPooling2D()", "Flatten()", "Dense(4096)", "Dense(4096)",
                   "Dense(1000)"])

ALEXNET = ("Conv2D(96, 11, strides=4), MaxPooling2D(3, strides=2), "
           "Conv2D(256, 5, padding='same'), MaxPooling2D(3, strides=2), "
           "Conv2D(384, 3, padding='same'), Conv2D(384, 3, padding='same'), "
           "Conv2D(256, 3, padding='same'), MaxPooling2D(3, strides=2), Flatten(), "
           "Dense(4096), Dense(4096), Dense(1000)")


def test_vgg16_matches_keras_torch_and_the_published_count() -> None:
    """Simonyan and Zisserman's VGG16 has 138,357,544 parameters (torchvision's and
    keras.applications' figure); each layer's count is torch's (built on the meta device: no
    memory), its output shape Keras' ``compute_output_shape``."""
    result = solve(VGG16, input_shape=[224, 224, 3])
    assert result.answers["total"] == 138_357_544
    counts, shapes, channels, shape = [], [], 3, (None, 224, 224, 3)
    for spec in layers_of(VGG16):
        if spec["kind"] == "Conv2D":
            module = torch.nn.Conv2d(channels, spec["filters"], 3, padding=1, device="meta")
            layer = L.Conv2D(spec["filters"], 3, padding="same")
            channels = spec["filters"]
        elif spec["kind"] == "Dense":
            module = torch.nn.Linear(shape[-1], spec["units"], device="meta")
            layer = L.Dense(spec["units"])
        else:
            module = torch.nn.Identity()
            layer = getattr(L, spec["kind"])()
        counts.append(sum(p.numel() for p in module.parameters()))
        shape = layer.compute_output_shape(shape)
        shapes.append(list(shape[1:]))
    assert result.answers["layers"] == counts
    assert result.answers["output_shapes"] == shapes
    # the last pooling's receptive field, 212 pixels, 32 apart (Araujo et al., Distill 2019)
    pool5 = result.answers["output_shapes"].index([7, 7, 512])
    assert result.answers["receptive_field"][pool5] == 212
    assert result.answers["jump"][pool5] == 32


def test_alexnet_matches_torch_and_the_published_figures() -> None:
    """The single-tower AlexNet on 227 x 227 x 3: 62,378,344 parameters, conv1 gives
    55 x 55 x 96, pool5 sees 195 pixels (Araujo et al.)."""
    result = solve(ALEXNET, input_shape=[227, 227, 3], framework="pytorch")
    assert result.answers["total"] == 62_378_344
    assert result.answers["output_shapes"][0] == [55, 55, 96]
    assert result.answers["output_shapes"][7] == [6, 6, 256]
    assert result.answers["receptive_field"][:8] == [11, 19, 51, 67, 99, 131, 163, 195]
    assert result.answers["jump"][:8] == [4, 8, 8, 16, 16, 16, 16, 32]
    assert result.answers["receptive_field"][8:] == [227] * 4  # Flatten on: the whole input
    with torch.device("meta"):
        torch_alexnet = torch.nn.Sequential(
            torch.nn.Conv2d(3, 96, 11, stride=4), torch.nn.MaxPool2d(3, 2),
            torch.nn.Conv2d(96, 256, 5, padding=2), torch.nn.MaxPool2d(3, 2),
            torch.nn.Conv2d(256, 384, 3, padding=1), torch.nn.Conv2d(384, 384, 3, padding=1),
            torch.nn.Conv2d(384, 256, 3, padding=1), torch.nn.MaxPool2d(3, 2),
            torch.nn.Flatten(), torch.nn.Linear(9216, 4096), torch.nn.Linear(4096, 4096),
            torch.nn.Linear(4096, 1000))
    assert result.answers["total"] == sum(p.numel() for p in torch_alexnet.parameters())


def _torch_shapes(modules: list[torch.nn.Module], shape: tuple[int, ...]) -> list[list[int]]:
    """The output shapes (channels last, batch left out) of torch modules run in turn."""
    x = torch.zeros(1, shape[-1], *shape[:-1])
    out = []
    with torch.no_grad():
        for module in modules:
            x = module(x)
            out.append([*x.shape[2:], x.shape[1]] if x.dim() > 2 else list(x.shape[1:]))
    return out


def test_pytorch_padding_numbers_pairs_and_dilation_match_torch() -> None:
    model = ("Conv2D(8, 5, padding=2), Conv2D(4, (3, 5), strides=2, padding=(1, 2)), "
             "MaxPooling2D(3, strides=2, padding=1), Conv2D(6, 3, dilation_rate=2, padding=2), "
             "AveragePooling2D((2, 3), padding=(1, 1))")
    result = solve(model, input_shape=[31, 29, 3], framework="pytorch")
    modules = [torch.nn.Conv2d(3, 8, 5, padding=2),
               torch.nn.Conv2d(8, 4, (3, 5), stride=2, padding=(1, 2)),
               torch.nn.MaxPool2d(3, stride=2, padding=1),
               torch.nn.Conv2d(4, 6, 3, dilation=2, padding=2),
               torch.nn.AvgPool2d((2, 3), padding=(1, 1))]
    assert result.answers["output_shapes"] == _torch_shapes(modules, (31, 29, 3))
    assert result.answers["layers"] == [sum(p.numel() for p in m.parameters()) for m in modules]
    # along the rows: 5; +2*1 (3 taps); +2*2 (pool, jump 2); +2*2*4 (dilated, jump 4); +1*4
    assert result.answers["receptive_field"] == [5, 7, 11, 27, 31]
    assert result.answers["jump"] == [1, 2, 4, 4, 8]


def test_zero_padding_layers_match_keras() -> None:
    model = ("ZeroPadding2D(2), Conv2D(4, 3), ZeroPadding2D(((1, 0), (2, 3))), "
             "MaxPooling2D(), ZeroPadding2D((1, 2)), Flatten()")
    result = solve(model, input_shape=[10, 12, 3])
    x = keras.Input(shape=(10, 12, 3))
    shapes = []
    for layer in [L.ZeroPadding2D(2), L.Conv2D(4, 3), L.ZeroPadding2D(((1, 0), (2, 3))),
                  L.MaxPooling2D(), L.ZeroPadding2D((1, 2)), L.Flatten()]:
        x = layer(x)
        shapes.append(list(x.shape[1:]))
    assert result.answers["output_shapes"] == shapes
    one_d = solve("ZeroPadding1D((2, 1)), Conv1D(3, 4), ZeroPadding1D(1)", input_shape=[9, 2])
    y = keras.Input(shape=(9, 2))
    one_shapes = []
    for layer in [L.ZeroPadding1D((2, 1)), L.Conv1D(3, 4), L.ZeroPadding1D(1)]:
        y = layer(y)
        one_shapes.append(list(y.shape[1:]))
    assert one_d.answers["output_shapes"] == one_shapes
    assert one_d.answers["receptive_field"] == [1, 4, 4]


@pytest.mark.parametrize("model", [ALEXNET, "Conv1D(4, 3, dilation_rate=3), "
                                   "AveragePooling1D(2), Conv1D(2, 5, strides=2), "
                                   "GlobalMaxPooling1D(), Dense(1)"])
def test_receptive_fields_are_the_gradients_reach(model: str) -> None:
    """The measured reach of a middle unit's gradient (tests/reference) agrees with the
    recurrence."""
    from reference.param_count import chains_of

    shape = [227, 227, 3] if model == ALEXNET else [60, 4]
    result = solve(model, input_shape=shape)
    measured = torch_fields(chains_of(model)[0], shape[0])
    assert result.answers["receptive_field"] == [r for r, _j in measured]
    assert result.answers["jump"] == [j for _r, j in measured]


def test_input_shape_parameter_and_the_first_layers_agree_or_are_refused() -> None:
    inside = solve("Conv2D(8, 3, input_shape=(28, 28, 1)), Flatten(), Dense(10)")
    given = solve("Conv2D(8, 3), Flatten(), Dense(10)", input_shape=[28, 28, 1])
    assert inside.answers == given.answers
    both = solve("Conv2D(8, 3, input_shape=[28, 28, 1]), Flatten()", input_shape=[28, 28, 1])
    assert both.answers["output_shapes"] == [[26, 26, 8], [5408]]
    with pytest.raises(InputError, match="input_shape: expected the model's own"):
        solve("Conv2D(8, 3, input_shape=(28, 28, 1))", input_shape=[32, 32, 3])
    with pytest.raises(InputError, match="input_dim: expected 3"):
        solve("Conv2D(8, 3)", input_shape=[32, 32, 3], input_dim=1)
    with pytest.raises(InputError, match="input_shape: expected whole numbers"):
        solve("Conv2D(8, 3)", input_shape=[32, 32.5, 3])


@pytest.mark.parametrize(("model", "fragment"), [
    ("Conv2D(8, 3, padding=-1)", "padding one of 'valid', 'same', or zeros on each side"),
    ("Conv2D(8, 3, padding=(1, 2, 3))", "or 2 of them"),
    ("Conv2D(8, 3, padding='full')", "padding one of"),
    ("MaxPooling2D(2, padding=2)", "padding at most half the pool size"),
    ("Conv2D(8, 40, padding=2)", "a kernel no larger than its padded input (32 + 2 x 2)"),
    ("ZeroPadding2D(((1, 2), (3, 4), (5, 6)))", "((top, bottom), (left, right))"),
    ("ZeroPadding1D('x')", "padding as whole numbers >= 0"),
    ("Conv2D(8, 3, dilation_rate=0)", "dilation_rate as a whole number > 0"),
])
def test_bad_paddings_are_one_line_errors(model: str, fragment: str) -> None:
    with pytest.raises(InputError) as err:
        solve(model, input_shape=[32, 32, 3])
    assert fragment in str(err.value), str(err.value)


def test_shapes_are_answers_only_when_known_and_fields_only_for_windows() -> None:
    recurrent = solve("LSTM(8, return_sequences=True), Dense(1)", input_dim=3)
    assert "output_shapes" not in recurrent.answers  # the sequence length is unknown
    assert recurrent.info["output_shapes"] == [[None, None, 8], [None, None, 1]]
    assert "receptive_field" not in recurrent.answers
    known = solve("LSTM(8, return_sequences=True), Dense(1)", input_dim=3, timesteps=5)
    assert known.answers["output_shapes"] == [[5, 8], [5, 1]]
    assert "receptive_field" not in known.answers  # no window slides


def test_the_checker_grades_shapes_and_fields() -> None:
    from dlexam.check.verdicts import check

    report = check(derivations.get("param-count"), {"model": ALEXNET, "input_shape": [227, 227, 3]},
                   {"output_shapes[1]": "[55, 55, 96]", "output_shapes[2]": "[27, 27, 256]",
                    "receptive_field[8]": "195", "jump[8]": "16"})
    verdicts = {v.ref: v.correct for v in report.verdicts}
    assert verdicts["output_shapes[1][1]"] and verdicts["output_shapes[1][3]"]
    assert verdicts["output_shapes[2][1]"] and not verdicts["output_shapes[2][3]"]
    assert verdicts["receptive_field[8]"] and not verdicts["jump[8]"]


def test_whole_ragged_answers_are_read_and_their_lengths_checked() -> None:
    from dlexam.check.verdicts import check

    d = derivations.get("param-count")
    params = {"model": "Conv2D(4, 3), MaxPooling2D(), Flatten()", "input_shape": [8, 8, 1]}
    right = check(d, params, {"output_shapes": "[[6, 6, 4], [3, 3, 4], [36]]"})
    assert right.correct == right.total == 7
    json_given = check(d, params, {"output_shapes": [[6, 6, 4], [3, 3, 4], [35]]})
    assert json_given.correct == 6
    with pytest.raises(InputError, match="lists as long as the answer's own"):
        check(d, params, {"output_shapes": "[[6, 6, 4], [3, 3], [36]]"})
    with pytest.raises(InputError, match="rectangular"):  # other answers stay rectangular
        check(d, params, {"layers": "[[40], [0, 0]]"})


def test_an_exam_asks_shapes_and_fields_and_grading_reads_them(tmp_path) -> None:
    """The exam builder and grading take the new answers with no change of their own: the key
    holds one shape per layer, a student typing the reference's values scores full marks, one
    whose list of shapes is short scores nothing on it."""
    import csv
    import json

    from reference.param_count import param_count as reference

    from dlexam.cli import main

    exam = tmp_path / "conv.toml"
    exam.write_text('title = { en = "Conv", zh-Hant = "卷積" }\nlang = "en"\n[[questions]]\n'
                    'id = "c"\nderivation = "param-count"\npoints = 20\n'
                    'ask = ["output_shapes", "receptive_field"]\n[questions.params]\n'
                    'model = "Conv2D(4, 3, padding=1), MaxPooling2D(), Flatten(), Dense(2)"\n'
                    'framework = "pytorch"\n', encoding="utf-8")
    assert main(["exam", str(exam), "--variants", "1", "--seed", "5", "--no-pdf",
                 "--out", str(tmp_path / "out")]) == 0
    key = json.loads((tmp_path / "out" / "key.json").read_text("utf-8"))
    rows = []
    for number, variant in enumerate(key["variants"] * 2):
        question = variant["questions"][0]
        expected = reference(derivations.get("param-count").shown_params(question["params"]),
                             None)
        shapes = expected["output_shapes"] if number == 0 else expected["output_shapes"][:-1]
        rows.append({"student": f"s{number}", "variant": variant["code"],
                     "c.output_shapes": json.dumps(shapes),
                     "c.receptive_field": json.dumps(expected["receptive_field"])})
    with (tmp_path / "answers.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    assert main(["grade", str(tmp_path / "out" / "key.json"), str(tmp_path / "answers.csv"),
                 "--out", str(tmp_path / "grades"), "--no-pdf"]) == 0
    with (tmp_path / "grades" / "grades.csv").open(encoding="utf-8") as f:
        grades = list(csv.DictReader(f))
    assert [float(g["c"]) for g in grades] == [20.0, 10.0]
