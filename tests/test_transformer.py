"""Positional encoding and the encoder layer against NumPy and torch.nn.TransformerEncoderLayer."""

# ruff: noqa: N806
# (matrix names as in the transformer literature: X, W_Q, W_O)

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import sympy as sp
import torch

from dlexam import derivations
from dlexam.notation import tex, text
from dlexam.render import prose_tex, prose_text


def _np(value: object) -> np.ndarray:
    assert isinstance(value, sp.MatrixBase)
    return np.array(value.evalf(17).tolist(), dtype=np.float64)


def _pe_numpy(n: int, d: int) -> np.ndarray:
    pe = np.zeros((n, d))
    for pos in range(n):
        for i in range(0, d, 2):
            pe[pos, i] = np.sin(pos / 10000 ** (i / d))
            if i + 1 < d:
                pe[pos, i + 1] = np.cos(pos / 10000 ** (i / d))
    return pe


@pytest.mark.parametrize("n,d", [(3, 4), (7, 10), (4, 5), (50, 16)])
def test_positional_encoding_matches_numpy(n: int, d: int) -> None:
    pe = derivations.solve("positional-encoding", {"n": n, "d": d}).answers["PE"]
    assert pe.shape == (n, d)
    np.testing.assert_allclose(_np(pe), _pe_numpy(n, d), atol=1e-12)


def test_positional_encoding_exact_when_small() -> None:
    r = derivations.solve("positional-encoding", {"n": 3, "d": 4})
    pe = r.answers["PE"]
    assert pe[1, 0] == sp.sin(1) and pe[1, 1] == sp.cos(1)
    assert pe[2, 2] == sp.sin(sp.Rational(1, 50))  # 2 / 10000^(2/4)
    assert float(pe[1, 0]) == pytest.approx(0.841471, abs=1e-6)
    even = next(s for s in r.steps if s.key == "positional_encoding.even")
    assert even.value == sp.sin(sp.Rational(1, 100))


def _torch_layer(values: dict, heads: int, eps: float) -> torch.nn.TransformerEncoderLayer:
    """A torch encoder layer (post-norm, dropout 0, float64) holding our weights."""
    WQ, WK, WV = (np.hstack(values[k]) for k in ("W_Q", "W_K", "W_V"))
    d_model, d_ff = WQ.shape[0], values["W_1"].shape[1]
    layer = torch.nn.TransformerEncoderLayer(d_model, heads, dim_feedforward=d_ff, dropout=0.0,
                                             batch_first=True, norm_first=False,
                                             layer_norm_eps=eps, dtype=torch.float64)

    def t(a: np.ndarray) -> torch.Tensor:
        return torch.tensor(a, dtype=torch.float64)

    with torch.no_grad():
        layer.self_attn.in_proj_weight.copy_(t(np.vstack([WQ.T, WK.T, WV.T])))
        layer.self_attn.in_proj_bias.zero_()
        layer.self_attn.out_proj.weight.copy_(t(values["W_O"].T))
        layer.self_attn.out_proj.bias.zero_()
        layer.linear1.weight.copy_(t(values["W_1"].T))
        layer.linear1.bias.copy_(t(values["b_1"]))
        layer.linear2.weight.copy_(t(values["W_2"].T))
        layer.linear2.bias.copy_(t(values["b_2"]))
        for name in ("gamma_1", "beta_1", "gamma_2", "beta_2"):
            if name in values:
                norm = layer.norm1 if name.endswith("1") else layer.norm2
                param = norm.weight if name.startswith("gamma") else norm.bias
                param.copy_(t(values[name]))
    return layer.eval()


@pytest.mark.parametrize("positional", [False, True])
def test_encoder_layer_matches_torch(positional: bool) -> None:
    rng = np.random.default_rng(21 + positional)
    n, d_model, heads, d_ff = 4, 6, 2, 10
    d_k = d_model // heads

    def r(*shape: int) -> np.ndarray:
        return np.round(rng.uniform(-1, 1, size=shape), 3)

    values = {"X": r(n, d_model), "W_Q": [r(d_model, d_k) for _ in range(heads)],
              "W_K": [r(d_model, d_k) for _ in range(heads)],
              "W_V": [r(d_model, d_k) for _ in range(heads)], "W_O": r(d_model, d_model),
              "W_1": r(d_model, d_ff), "b_1": r(d_ff), "W_2": r(d_ff, d_model),
              "b_2": r(d_model), "gamma_1": 1 + r(d_model) / 2, "beta_1": r(d_model),
              "gamma_2": 1 + r(d_model) / 2, "beta_2": r(d_model)}
    params = {k: (v.tolist() if isinstance(v, np.ndarray) else [w.tolist() for w in v])
              for k, v in values.items()}
    result = derivations.solve("encoder-layer", {**params, "positional": positional})
    layer = _torch_layer(values, heads, 1e-5)
    x = torch.tensor(values["X"], dtype=torch.float64)
    if positional:
        x = x + torch.tensor(_pe_numpy(n, d_model), dtype=torch.float64)
    with torch.no_grad():
        out = layer(x[None])[0]
        attention = layer.self_attn(x[None], x[None], x[None], need_weights=False)[0][0]
        norm_1 = layer.norm1(x + attention)
        hidden = torch.relu(layer.linear1(norm_1))
    a = result.answers
    np.testing.assert_allclose(_np(a["input"] if positional else result.info["input"]),
                               x.numpy(), atol=1e-12)
    np.testing.assert_allclose(_np(a["attention"]), attention.numpy(), atol=1e-12)
    np.testing.assert_allclose(_np(a["norm_1"]), norm_1.numpy(), atol=1e-12)
    np.testing.assert_allclose(_np(a["hidden"]), hidden.numpy(), atol=1e-12)
    np.testing.assert_allclose(_np(a["output"]), out.numpy(), atol=1e-10)
    assert ("PE" in a) == positional
    assert result.convention == "post-norm"


def test_three_words_from_a_seed() -> None:
    params = {"seed": 3, "tokens": 3, "d_model": 4, "heads": 2, "d_ff": 8, "positional": True}
    r = derivations.solve("encoder-layer", params)
    a = {**r.info, **r.answers}
    assert r.info["generated"] == ["X", "W_Q", "W_K", "W_V", "W_O", "W_1", "b_1", "W_2", "b_2"]
    assert a["output"].shape == (3, 4) and a["hidden"].shape == (3, 8)
    assert len(a["heads"]) == 2 and a["heads"][0].shape == (3, 2)  # d_k = d_model / heads
    assert all(-1 <= x <= 1 for x in a["W_1"])
    values = {k: _np(a[k]) for k in ("X", "W_O", "W_1", "W_2")}
    values.update({k: [_np(w) for w in a[k]] for k in ("W_Q", "W_K", "W_V")})
    values.update({k: np.array([float(x) for x in a[k]]) for k in ("b_1", "b_2")})
    layer = _torch_layer(values, 2, 1e-5)
    x = torch.tensor(values["X"] + _pe_numpy(3, 4), dtype=torch.float64)
    with torch.no_grad():
        out = layer(x[None])[0]
    np.testing.assert_allclose(_np(a["output"]), out.numpy(), atol=1e-10)
    # each normalised row has mean 0 and (biased) variance 1 with the default affine
    rows = _np(a["output"])
    np.testing.assert_allclose(rows.mean(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(rows.var(axis=1), 1, atol=1e-4)


@pytest.mark.parametrize("argv,param", [
    (["positional-encoding", "n=0", "d=4"], "n"),
    (["positional-encoding", "n=3"], "d"),
    (["encoder-layer", "seed=1", "tokens=3", "d_model=5", "heads=2", "d_ff=4"], "d_k"),
    (["encoder-layer", "X=[[1,2]]", "W_Q=[[[1],[2]]]", "W_K=[[[1],[2]]]", "W_V=[[[1],[2]]]",
      "W_O=[[1,2],[3,4]]", "W_1=[[1],[2]]", "b_1=[1]", "W_2=[[1,2]]", "b_2=[1,2]"], "W_O"),
    (["encoder-layer", "X=[[1,2]]", "W_Q=[[[1],[2]]]", "W_K=[[[1],[2]]]", "W_V=[[[1],[2]]]",
      "W_O=[[1,2]]", "W_1=[[1],[2]]", "b_1=[1,2]"], "b_1"),
    (["encoder-layer", "X=[[1,2]]", "W_Q=[[[1],[2]]]", "W_K=[[[1],[2]]]", "W_V=[[[1],[2]]]",
      "W_O=[[1,2]]", "W_1=[[1],[2]]", "b_1=[1]", "b_2=[1,2]"], "W_2"),
    (["encoder-layer", "seed=1", "tokens=2", "d_model=2", "heads=1", "d_ff=2", "eps=0"], "eps"),
])
def test_bad_input_names_the_parameter(input_error: Callable[[list[str]], str],
                                       argv: list[str], param: str) -> None:
    assert input_error(["solve", *argv]).startswith(f"{param}: expected ")


def test_positional_exponent_is_put_in_cleanly() -> None:
    r = derivations.solve("positional-encoding", {"n": 3, "d": 4})
    even = next(s for s in r.steps if s.key == "positional_encoding.even")
    assert tex(even.substituted, numbers=True) == (
        r"\sin{\left(\frac{1}{10000^{2 \cdot 1/4}} \right)}")
    assert text(even.symbolic) == "sin(pos/10000^(2*i/d_model))"
    assert "count from 0" in prose_text("en", even.key, even.data)


def test_encoder_names_the_attention_and_the_layer_norm_defaults() -> None:
    r = derivations.solve("encoder-layer", {"seed": 2, "tokens": 3, "d_model": 4, "heads": 2,
                                            "d_ff": 6})
    residual = next(s for s in r.steps if s.key == "encoder_layer.residual_1")
    assert text(residual.symbolic) == "X + MultiHead(X)"
    norm = next(s for s in r.steps if s.key == "encoder_layer.layer_norm")
    prose = prose_tex("en", norm.key, norm.data)
    assert r"$\varepsilon$ = $0.00001$" in prose
    assert r"$\gamma$ = 1 and $\beta$ = 0" in prose
    given = derivations.solve("encoder-layer", {"seed": 2, "tokens": 3, "d_model": 4, "heads": 2,
                                                "d_ff": 6, "gamma_1": [2, 2, 2, 2]})
    assert "encoder_layer.layer_norm_given" in [s.key for s in given.steps]
