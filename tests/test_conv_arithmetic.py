"""conv-arithmetic (issue 25): output sizes, same padding, volume and parameters, against torch,
Keras 3 and published examples; its mistakes, errors, the checker and its answer sheet."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
import torch
from reference.conv_arithmetic import conv_arithmetic as reference

from dlexam import derivations
from dlexam.build.document import assemble, fragment
from dlexam.build.tex import compile_pdf
from dlexam.check.verdicts import check
from dlexam.errors import InputError
from dlexam.langs import langs_for


def solve(**params: object) -> derivations.Result:
    return derivations.solve("conv-arithmetic", **params)


@pytest.mark.parametrize(("params", "sizes"), [
    # Dumoulin and Visin, "A guide to convolution arithmetic" (2016): relationships 1, 2, 5, 6
    # and 15 on their figures' sizes
    ({"n": 4, "k": 3}, [2]),
    ({"n": 5, "k": 4, "p": 2}, [6]),
    ({"n": 5, "k": 3, "s": 2, "p": 1}, [3]),
    ({"n": 6, "k": 3, "s": 2, "p": 1}, [3]),
    ({"n": 7, "k": 3, "d": 2}, [3]),
    # CS231n: a 7 x 7 input, 3 x 3 filter, stride 1 and 2, no padding
    ({"n": 7, "k": 3}, [5]),
    ({"n": 7, "k": 3, "s": 2}, [3]),
    # AlexNet's conv1 on 227; ResNet's conv1 (7 x 7, stride 2, padding 3) on 224
    ({"n": 227, "k": 11, "s": 4}, [55]),
    ({"n": 224, "k": 7, "s": 2, "p": 3}, [112]),
    # VGG's 3 x 3 same convolutions keep 224; five 2 x 2 poolings halve it to 7
    ({"n": 224, "k": 3, "p": "same", "repeat": 2}, [224, 224]),
    ({"n": 224, "k": 2, "s": 2, "repeat": 5}, [112, 56, 28, 14, 7]),
    ({"n": [224, 100], "k": [7, 3], "s": 2, "p": "valid"}, [[109, 49]]),
])
def test_published_sizes(params: dict, sizes: list) -> None:
    result = solve(**params)
    assert result.answers["sizes"] == sizes
    assert result.answers["output_size"] == sizes[-1]


def test_alexnet_volume_and_parameters() -> None:
    """Krizhevsky et al.'s first layer: 55 x 55 x 96 outputs, 96 (11 * 11 * 3 + 1) weights."""
    result = solve(n=227, k=11, s=4, channels=3, filters=96)
    assert result.answers["output_volume"] == 55 * 55 * 96 == 290_400
    conv = torch.nn.Conv2d(3, 96, 11, stride=4)
    assert result.answers["params"] == sum(p.numel() for p in conv.parameters()) == 34_944
    assert result.info["params_other_rank"] == 96 * (11 * 3 + 1)  # read as a 1-D convolution


def test_a_stack_counts_later_layers_on_the_filters() -> None:
    result = solve(n=32, k=3, p=1, repeat=3, channels=3, filters=16)
    layers = [torch.nn.Conv2d(3, 16, 3, padding=1), torch.nn.Conv2d(16, 16, 3, padding=1),
              torch.nn.Conv2d(16, 16, 3, padding=1)]
    assert result.answers["params"] == sum(p.numel() for m in layers for p in m.parameters())
    one_d = solve(n=50, k=5, s=2, rank="1", channels=4, filters=8)
    conv = torch.nn.Conv1d(4, 8, 5, stride=2)
    assert one_d.answers["params"] == sum(p.numel() for p in conv.parameters())
    assert one_d.answers["output_volume"] == conv(torch.zeros(1, 4, 50)).numel()


@pytest.mark.parametrize(("n", "k", "s"), [(32, 4, 1), (32, 3, 2), (224, 7, 2), (13, 2, 3)])
def test_same_padding_is_tensorflows_split_as_keras_computes_it(n: int, k: int, s: int) -> None:
    """Keras' Conv1D(padding='same') gives the same numbers as torch's valid convolution on the
    input padded with `padding` zeros before and `padding_total - padding` after: the extra
    zero is after (bottom/right), as TensorFlow documents."""
    result = solve(n=n, k=k, s=s, p="same")
    before, total = result.answers["padding"], result.answers["padding_total"]
    assert result.info["padding_after"] == [total - before]
    rng = np.random.default_rng(n * k * s)
    x = rng.normal(size=(1, n, 1)).astype("float32")
    w = rng.normal(size=(k, 1, 1)).astype("float32")
    layer = keras.layers.Conv1D(1, k, strides=s, padding="same", use_bias=False)
    layer.build((1, n, 1))
    layer.set_weights([w])
    got = layer(x).detach().cpu().numpy()[0, :, 0]  # Keras runs on torch (tests/conftest.py)
    padded = torch.nn.functional.pad(torch.tensor(x).permute(0, 2, 1), (before, total - before))
    mine = torch.nn.functional.conv1d(padded, torch.tensor(w).permute(2, 1, 0), stride=s)
    assert got.shape[0] == result.answers["output_size"]
    np.testing.assert_allclose(got, mine[0, 0].numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(("mistake", "answer", "value"), [
    ("padding-once", "output_size", 111),  # (224 + 3 - 7) // 2 + 1
    ("no-plus-one", "output_size", 111),  # (224 + 6 - 7) // 2
    ("stride-first", "output_size", 109),  # (224 + 6) // 2 - 7 + 1
    ("no-bias", "params", 64 * 7 * 7 * 3),
])
def test_mistakes_by_hand_and_by_the_reference(mistake: str, answer: str, value: int) -> None:
    params = {"n": 224, "k": 7, "s": 2, "p": 3, "channels": 3, "filters": 64}
    result = solve(**params, mistake=mistake)
    assert result.answers[answer] == value
    shown = derivations.get("conv-arithmetic").shown_params(params)
    assert reference(shown, mistake)[answer] == value


def test_same_mistakes_are_in_the_padding() -> None:
    """Asked which padding keeps 32 with a 5-tap kernel: 2 a side; once-counted padding gives
    the whole total, 4, a side; the missing +1 solves (32 + p - 5) = 32 for p = 5."""
    assert solve(n=32, k=5, p="same").answers["padding"] == 2
    assert solve(n=32, k=5, p="same", mistake="padding-once").answers["padding"] == 4
    slip = solve(n=32, k=5, p="same", mistake="no-plus-one").answers
    assert slip["padding_total"] == 5 and slip["output_size"] == 32


@pytest.mark.parametrize(("params", "fragment"), [
    ({"n": 5, "k": 7}, "k: expected a kernel (d (k - 1) + 1 positions) that fits"),
    ({"n": 28, "k": 5, "repeat": 7}, "in each of the 7 layers"),
    ({"n": [28, 28], "k": 3, "rank": "1"}, "rank: expected 2 for n = [H, W]"),
    ({"n": 28, "k": [3, 3]}, "k: expected one number, as n is one"),
    ({"n": 28, "k": 3, "channels": 3}, "filters: expected the number of filters"),
    ({"n": 28, "k": 3, "p": 1.5}, "p: expected a whole number from 0"),
    ({"n": 28, "k": 3, "p": -1}, "p: expected same, valid or a number >= 0"),
    ({"n": 0, "k": 3}, "n: expected a whole number from 1 to 100000"),
    ({"n": 28.5, "k": 3}, "n: expected a whole number"),
    ({"n": 28, "k": 3, "s": 200000}, "s: expected a whole number from 1 to 100000"),
    ({"n": [28, 28, 3], "k": 3}, "n: expected"),
])
def test_bad_input_is_a_one_line_error(params: dict, fragment: str) -> None:
    with pytest.raises(InputError) as err:
        solve(**params)
    assert fragment in str(err.value), str(err.value)
    assert str(err.value).split(":")[0] in ("n", "k", "s", "p", "rank", "filters")


def test_the_command_line_refuses_bad_input_with_status_2(
        capsys: pytest.CaptureFixture[str]) -> None:
    from dlexam.cli import main

    assert main(["solve", "conv-arithmetic", "n=5", "k=7"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("dlexam: error: k: expected a kernel")
    assert main(["solve", "conv-arithmetic", "n=32", "k=4", "p=same", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["answers"] == {"output_size": 32, "sizes": [32], "padding": 1,
                               "padding_total": 3}
    assert data["convention"] == "tensorflow-same"


def test_the_checker_names_the_mistake() -> None:
    report = check(derivations.get("conv-arithmetic"),
                   {"n": 224, "k": 7, "s": 2, "p": 3, "channels": 3, "filters": 64},
                   {"output_size": "109", "params": "9472", "sizes": "[112]"})
    verdicts = {v.ref: v for v in report.verdicts}
    assert verdicts["output_size"].mistake == "stride-first"
    assert verdicts["params"].correct and verdicts["sizes[1]"].correct


@pytest.fixture(scope="module")
def sheets() -> str:
    """The TeX logs of answer sheets at the largest sizes the limits allow (bilingual)."""
    wide = derivations.solve("conv-arithmetic", n=[100000, 99999], k=[1000, 999], s=[3, 1000],
                             d=[3, 1], p="same", repeat=32, channels=100000, filters=100000)
    vgg = derivations.solve("param-count", model=", ".join(
        ["Conv2D(512, 3, padding='same')"] * 13 + ["MaxPooling2D()"] * 5
        + ["Flatten(), Dense(4096), Dense(4096), Dense(1000)"]), input_shape=[224, 224, 3])
    langs = langs_for("bilingual")
    parts = [fragment("sheet.tex.j2", langs=langs, result=result,
                      summary_key=result.derivation.replace("-", "_") + ".summary")
             for result in (wide, vgg)]
    return compile_pdf(assemble("sheets", langs, parts)).log  # both sheets in one TeX run


@pytest.mark.tex
def test_sheets_at_the_limits_fit_the_page(sheets: str) -> None:
    assert "Overfull \\hbox" not in sheets
    assert "Missing character" not in sheets
