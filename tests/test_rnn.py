"""rnn-forward against published values, torch.nn.RNN (float64) and NumPy."""

# ruff: noqa: N803, N806
# (the exam's letters: U, W, V, H, D, T)

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pytest
import torch

from dlexam import derivations
from dlexam.cli import main
from dlexam.derivations.core import to_plain
from dlexam.render import render_text

# the textbook's own example (row convention): inputs [1, 2], b = [0.1, -0.1], the rest as Q4
BOOK = {"U": [0.5, 0.6], "W": [[0.1, 0.2], [0.3, 0.4]], "V": [1.0, 2.0], "b": [0.1, -0.1],
        "c": 0.1, "h0": [0, 0], "x": [1, 2]}


def numpy_rnn(U, W, V, b, c, h0, xs, convention="column", f=np.tanh, g=lambda o: o):
    """An independent forward pass in NumPy; U is H x D, V is O x H, inputs rows of D."""
    U, W, V, b, c = (np.asarray(a, dtype=float) for a in (U, W, V, b, c))
    h = np.asarray(h0, dtype=float)
    hs, ys = [], []
    for x in np.asarray(xs, dtype=float):
        if convention == "column":
            h = f(U @ np.atleast_1d(x) + W @ h + b)
        else:
            h = f(np.atleast_1d(x) @ U.T + h @ W + b)
        hs.append(h)
        ys.append(g(V @ h + c))
    return np.array(hs), np.array(ys)


def plain(result, name):
    """An answer, or a reported value (the other convention's), as a float array."""
    value = result.answers[name] if name in result.answers else result.info[name]
    return np.array(to_plain(value), dtype=float)


def test_textbook_published_outputs_row_convention() -> None:
    result = derivations.solve("rnn-forward", BOOK, convention="row")
    assert plain(result, "y") == pytest.approx([1.56128, 2.72707], abs=5e-6)
    # the pre-activations the book prints for its first step
    assert plain(result, "pre")[0] == pytest.approx([0.6, 0.5])
    assert result.convention == "row"


def test_textbook_numbers_column_convention_differ_at_step_two() -> None:
    result = derivations.solve("rnn-forward", BOOK)
    _, ys = numpy_rnn([[0.5], [0.6]], BOOK["W"], [[1.0, 2.0]], BOOK["b"], [0.1], [0, 0],
                      [[1], [2]])
    assert plain(result, "y") == pytest.approx(ys[:, 0], abs=1e-12)
    assert plain(result, "y_other") == pytest.approx([1.56128, 2.72707], abs=5e-6)
    assert result.info["first_difference"] == 2
    assert result.steps[-1].key == "rnn_forward.agree_first"


def test_exam_q4_defaults_both_conventions() -> None:
    result = derivations.solve("rnn-forward")
    W = [[0.1, 0.2], [0.3, 0.4]]
    U, V, b = [[0.5], [0.6]], [[1.0, 2.0]], [1.0, -1.0]
    h_col, y_col = numpy_rnn(U, W, V, b, [0.1], [0, 0], [[2], [3]])
    h_row, y_row = numpy_rnn(U, W, V, b, [0.1], [0, 0], [[2], [3]], convention="row")
    assert plain(result, "h") == pytest.approx(h_col, abs=1e-12)
    assert plain(result, "y") == pytest.approx(y_col[:, 0], abs=1e-12)
    assert plain(result, "y_other") == pytest.approx(y_row[:, 0], abs=1e-12)
    assert plain(result, "h_other") == pytest.approx(h_row, abs=1e-12)
    # h_1 = tanh(U x_1 + b) = tanh([2, 0.2]): exact, not a rounded decimal
    import sympy as sp

    assert result.answers["h"][0] == [sp.tanh(2), sp.tanh(sp.Rational(1, 5))]
    assert result.answers["pre"][0] == [2, sp.Rational(1, 5)]


def _torch_rnn(U, W, b, h0, xs, nonlinearity):
    H, D = U.shape
    rnn = torch.nn.RNN(D, H, nonlinearity=nonlinearity, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(torch.tensor(U))
        rnn.weight_hh_l0.copy_(torch.tensor(W))
        rnn.bias_ih_l0.copy_(torch.tensor(b))
        rnn.bias_hh_l0.zero_()
        out, _ = rnn(torch.tensor(xs)[None], torch.tensor(h0)[None, None])
    return out[0].numpy()


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("convention", ["column", "row"])
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_random_against_torch_rnn(seed: int, convention: str, activation: str) -> None:
    rng = np.random.default_rng(seed)
    H, D, n_out, T = 3, 2, 2, 4
    U, W = rng.normal(size=(H, D)).round(2), rng.normal(size=(H, H)).round(2)
    V, b, c = rng.normal(size=(n_out, H)).round(2), rng.normal(size=H).round(2), rng.normal(
        size=n_out).round(2)
    h0, xs = rng.normal(size=H).round(2), rng.normal(size=(T, D)).round(2)
    result = derivations.solve("rnn-forward", {
        "U": U.tolist(), "W": W.tolist(), "V": V.tolist(), "b": b.tolist(), "c": c.tolist(),
        "h0": h0.tolist(), "x": xs.tolist(), "convention": convention, "activation": activation,
    })
    # the row convention is torch's RNN with the recurrent matrix transposed
    w_hh = W if convention == "column" else W.T
    hs = _torch_rnn(U, w_hh, b, h0, xs, activation)
    assert plain(result, "h") == pytest.approx(hs, abs=1e-10)
    assert plain(result, "y") == pytest.approx(hs @ V.T + c, abs=1e-10)
    other = _torch_rnn(U, W.T if convention == "column" else W, b, h0, xs, activation)
    assert plain(result, "h_other") == pytest.approx(other, abs=1e-10)


def test_sigmoid_hidden_softmax_output_against_numpy() -> None:
    rng = np.random.default_rng(7)
    H, D, n_out, T = 2, 3, 3, 3
    U, W, V = rng.normal(size=(H, D)), rng.normal(size=(H, H)), rng.normal(size=(n_out, H))
    b, c, xs = rng.normal(size=H), rng.normal(size=n_out), rng.normal(size=(T, D))

    def softmax(o):
        e = np.exp(o - o.max())
        return e / e.sum()

    result = derivations.solve("rnn-forward", {
        "U": U.tolist(), "W": W.tolist(), "V": V.tolist(), "b": b.tolist(), "c": c.tolist(),
        "x": xs.tolist(), "activation": "sigmoid", "output_activation": "softmax",
    })
    hs, ys = numpy_rnn(U, W, V, b, c, np.zeros(H), xs, f=lambda a: 1 / (1 + np.exp(-a)),
                       g=softmax)
    assert plain(result, "h") == pytest.approx(hs, abs=1e-10)
    assert plain(result, "y") == pytest.approx(ys, abs=1e-10)
    assert plain(result, "y").sum(axis=1) == pytest.approx(np.ones(T))


def test_scalar_output_with_sigmoid() -> None:
    result = derivations.solve("rnn-forward", output_activation="sigmoid")
    _, ys = numpy_rnn([[0.5], [0.6]], [[0.1, 0.2], [0.3, 0.4]], [[1.0, 2.0]], [1.0, -1.0],
                      [0.1], [0, 0], [[2], [3]], g=lambda o: 1 / (1 + np.exp(-o)))
    assert plain(result, "y") == pytest.approx(ys[:, 0], abs=1e-12)
    keys = [s.key for s in result.steps]
    assert keys.count("rnn_forward.output_activation") == 2


def test_symmetric_w_conventions_agree() -> None:
    result = derivations.solve("rnn-forward", W=[[0.1, 0.2], [0.2, 0.4]], h0=[0.3, -0.2])
    assert result.info["first_difference"] is None
    assert result.answers["y"] == result.answers["y_other"]
    assert result.steps[-1].key == "rnn_forward.agree_symmetric"


def test_nonzero_start_differs_at_step_one() -> None:
    result = derivations.solve("rnn-forward", h0=[0.5, -0.5])
    assert result.info["first_difference"] == 1
    assert result.steps[-1].key == "rnn_forward.differ_from_start"


def test_long_sequence_carries_decimals_and_still_matches_torch() -> None:
    rng = np.random.default_rng(3)
    H, D, T = 3, 2, 12
    U, W, b = rng.normal(size=(H, D)), rng.normal(size=(H, H)) / 2, rng.normal(size=H)
    xs = rng.normal(size=(T, D))
    result = derivations.solve("rnn-forward", {
        "U": U.tolist(), "W": W.tolist(), "V": [1, 1, 1], "b": b.tolist(), "c": 0,
        "x": xs.tolist(),
    })
    assert "recurrent.decimals" in [s.key for s in result.steps]
    hs = _torch_rnn(U, W, b, np.zeros(H), xs, "tanh")
    assert plain(result, "h") == pytest.approx(hs, abs=1e-12)


def test_steps_show_products_with_numbers_put_in() -> None:
    result = derivations.solve("rnn-forward")
    pre = [s for s in result.steps if s.key == "rnn_forward.pre"]
    assert len(pre) == 2
    from dlexam.notation import text

    assert text(pre[0].symbolic) == "U*x_t + W*h_{t-1} + b"
    assert text(pre[0].substituted) == (
        "[[0.5], [0.6]]*2 + [[0.1, 0.2], [0.3, 0.4]]*[[0], [0]] + [[1], [-1]]"
    )
    row = [s for s in result.steps if s.key == "rnn_forward.other_row"]
    assert text(row[1].symbolic) == "x_t*U^T + h_{t-1}*W + b"


@pytest.mark.parametrize("params,output", [
    ({}, "V*h_t + c"),
    ({"output_activation": "sigmoid"}, "σ(V*h_t + c)"),
    ({"convention": "row"}, "h_t*V^T + c"),
    ({"V": [[1, 2], [3, 4]], "c": [0, 1], "output_activation": "softmax"},
     "softmax(V*h_t + c)"),
])
def test_model_shows_the_activations_as_formulas(params: dict, output: str) -> None:
    from dlexam.notation import text
    from dlexam.render import prose_text

    model = derivations.solve("rnn-forward", params).steps[0]
    assert model.key == "rnn_forward.model"
    assert text(model.lhs) == "[h_t; y_t]"
    hidden = "x_t*U^T + h_{t-1}*W + b" if params.get("convention") == "row" else (
        "U*x_t + W*h_{t-1} + b")
    assert text(model.symbolic) == f"[tanh({hidden}); {output}]"
    # no activation named in words: the identity would be English inside the Chinese text
    for lang in ("en", "zh-Hant"):
        prose = prose_text(lang, model.key, model.data)
        assert "identity" not in prose and "sigmoid" not in prose, prose


def test_json_answer_names(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["solve", "rnn-forward", "convention=row", "b=[0.1, -0.1]", "x=[1, 2]",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"h", "y", "pre", "h_other", "y_other"} <= set(out["answers"])
    assert out["convention"] == "row"
    assert out["answers"]["y"] == pytest.approx([1.56128, 2.72707], abs=5e-6)
    assert len(out["answers"]["h"][0]) == 2  # a state is a flat list


@pytest.mark.parametrize("lang,words", [("en", ["Time step", "agree at t = 1"]),
                                        ("zh-Hant", ["時間步", "隱藏狀態"])])
def test_reads_in_both_languages(lang: str, words: list[str]) -> None:
    out = render_text(derivations.solve("rnn-forward"), lang)
    for word in words:
        assert word in out
    assert "{" not in out.replace("h_{t-1}", "")


@pytest.mark.parametrize(
    "argv,param,fragment",
    [
        (["W=[[0.1, 0.2, 0.3], [0.3, 0.4, 0.5]]"], "W", "H x H"),
        (["U=[[1, 2], [3, 4]]", "W=[[1, 0], [0, 1]]"], "x", "D = 2"),
        (["x=[[1, 2], [3, 4]]"], "x", "one number per time step"),
        (["convention=diagonal"], "convention", "column, row"),
        (["activation=softplus"], "activation", "tanh, sigmoid, relu"),
        (["output_activation=softmax"], "output_activation", "single output"),
        (['W=[[0.1, "a"], [0.3, 0.4]]'], "W", "number"),
        (["x=[]"], "x", "non-empty"),
        (["c=[1, 2]"], "c", "a number"),
        (["V=[1, 2, 3]"], "V", "H = 2"),
    ],
)
def test_bad_input_exit_2_one_line(input_error: Callable[[list[str]], str], argv: list[str],
                                   param: str, fragment: str) -> None:
    message = input_error(["solve", "rnn-forward", *argv])
    assert message.startswith(f"{param}: expected")
    assert fragment in message
