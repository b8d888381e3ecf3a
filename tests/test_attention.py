"""Attention (Q3, Q6, multi-head): published anchors, NumPy and PyTorch on random cases, errors."""

# ruff: noqa: N806
# (matrix names as in the transformer literature: X, W_Q, W_O)

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import sympy as sp
import torch

from dlexam import derivations
from dlexam.derivations.core import to_plain
from dlexam.notation import tex, text
from dlexam.render import prose_tex, prose_text

EXAM_WEIGHTS = [[0.6, 0.2, 0.2], [0.2, 0.7, 0.1], [0.3, 0.2, 0.5]]


def _np(value: object) -> np.ndarray:
    """An answer (SymPy matrix, list of numbers) as a float array."""
    if isinstance(value, sp.MatrixBase):
        return np.array(value.evalf(17).tolist(), dtype=np.float64)
    return np.array([float(sp.sympify(v)) for v in value], dtype=np.float64)  # type: ignore[attr-defined]


def _softmax(s: np.ndarray) -> np.ndarray:
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _rand(rng: np.random.Generator, *shape: int) -> list:
    return np.round(rng.uniform(-1, 1, size=shape), 3).tolist()


# --- Q6: Alammar's numbers ------------------------------------------------------------------


def test_alammar_scores_give_published_weights() -> None:
    r = derivations.solve("self-attention", {"scores": [112, 96], "d_k": 64})
    assert r.answers["scaled"] == sp.ImmutableMatrix([[14, 12]])
    w = r.answers["weights"]
    # published: 0.88 and 0.12, exactly e^2 / (1 + e^2) and 1 / (1 + e^2)
    assert sp.simplify(w[0, 0] - sp.exp(2) / (1 + sp.exp(2))) == 0
    assert sp.simplify(w[0, 1] - 1 / (1 + sp.exp(2))) == 0
    assert float(w[0, 0]) == pytest.approx(0.880797, abs=1e-6)
    assert float(w[0, 1]) == pytest.approx(0.119203, abs=1e-6)
    assert "Z" not in r.answers


def test_row_one_of_z_is_the_weighted_sum_of_value_rows() -> None:
    values = [[1.0, 2.0, 0.5], [3.0, -1.0, 2.0]]
    r = derivations.solve("self-attention", {"scores": [[112, 96]], "d_k": 64,
                                              "values": values})
    row = next(s for s in r.steps if s.key == "self_attention.row")
    assert text(row.substituted) == "0.8808*v_1 + 0.1192*v_2"
    assert tex(row.substituted) == "0.8808 v_{1} + 0.1192 v_{2}"
    a = 1 / (1 + np.exp(-2.0))
    expected = a * np.array(values[0]) + (1 - a) * np.array(values[1])
    np.testing.assert_allclose(_np(r.answers["Z"])[0], expected, rtol=1e-12)
    np.testing.assert_allclose(_np(row.value)[0], expected, rtol=1e-12)


@pytest.mark.parametrize("n,d_model,d_k,d_v,mask", [
    (2, 3, 2, 2, "none"),   # exact
    (3, 4, 3, 2, "causal"),  # exact, masked
    (6, 5, 4, 3, "none"),   # floats
    (5, 4, 2, 3, "causal"),  # floats, masked
])
def test_self_attention_matches_torch(n: int, d_model: int, d_k: int, d_v: int,
                                      mask: str) -> None:
    rng = np.random.default_rng(n * 100 + d_k)
    X, WQ, WK, WV = (_rand(rng, n, d_model), _rand(rng, d_model, d_k),
                     _rand(rng, d_model, d_k), _rand(rng, d_model, d_v))
    r = derivations.solve("self-attention", {"X": X, "W_Q": WQ, "W_K": WK, "W_V": WV,
                                              "mask": mask})
    x = torch.tensor(X, dtype=torch.float64)
    q, k, v = (x @ torch.tensor(w, dtype=torch.float64) for w in (WQ, WK, WV))
    z = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=mask == "causal")
    np.testing.assert_allclose(_np(r.answers["Z"]), z.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(_np(r.answers["Q"]), q.numpy(), atol=1e-12)
    scaled = (q @ k.T / np.sqrt(d_k)).numpy()
    np.testing.assert_allclose(_np(r.answers["scaled"]), scaled, atol=1e-12)
    if mask == "causal":
        scaled = np.where(np.tril(np.ones((n, n))) == 1, scaled, -np.inf)
        assert r.answers["masked"][0, n - 1] == -sp.oo
    np.testing.assert_allclose(_np(r.answers["weights"]), _softmax(scaled), atol=1e-12)


def test_scores_with_values_match_numpy() -> None:
    rng = np.random.default_rng(5)
    scores, values = _rand(rng, 3, 4), _rand(rng, 4, 2)
    r = derivations.solve("self-attention", {"scores": scores, "d_k": 3, "values": values})
    w = _softmax(np.array(scores) / np.sqrt(3))
    np.testing.assert_allclose(_np(r.answers["weights"]), w, atol=1e-12)
    np.testing.assert_allclose(_np(r.answers["Z"]), w @ np.array(values), atol=1e-12)


# --- Q3: contexts --------------------------------------------------------------------------


def test_exam_contexts_symbolic() -> None:
    r = derivations.solve("attention-context", {
        "weights": EXAM_WEIGHTS, "input_labels": "Tom,Chase,Jerry",
        "output_labels": "湯姆,追逐,傑瑞"})
    h1, h2, h3 = sp.symbols("h_1 h_2 h_3")
    expected = [sp.Rational(3, 5) * h1 + h2 / 5 + h3 / 5,
                h1 / 5 + sp.Rational(7, 10) * h2 + h3 / 10,
                sp.Rational(3, 10) * h1 + h2 / 5 + h3 / 2]
    # with the states as symbols the contexts are formulas, not gradable numbers: in info
    assert r.answers == {}
    assert r.info["weights"] == sp.ImmutableMatrix(EXAM_WEIGHTS).applyfunc(sp.nsimplify)
    for got, want in zip(r.info["contexts"], expected, strict=True):
        assert sp.expand(got - want) == 0
    assert r.info["context_no_attention"] == h3
    # one equation group per idea, one line per output (as the unfolded LSTM), not a step each
    keys = [s.key.split(".")[1] for s in r.steps]
    assert keys == ["formula", "states", "contexts", "no_attention", "decoder_fixed",
                    "decoder_attention", "difference"]
    steps = {s.key.split(".")[1]: s for s in r.steps}
    assert text(steps["contexts"].lhs) == "[C_1; C_2; C_3]"
    assert text(steps["contexts"].substituted) == (
        "[0.6*h_1 + 0.2*h_2 + 0.2*h_3; 0.2*h_1 + 0.7*h_2 + 0.1*h_3; "
        "0.3*h_1 + 0.2*h_2 + 0.5*h_3]")
    assert steps["contexts"].data["outputs"] == "湯姆, 追逐, 傑瑞"
    assert steps["states"].data["inputs"] == "Tom, Chase, Jerry"
    assert text(steps["states"].data["states"]) == "[[h_1, h_2, h_3]]"
    assert text(steps["decoder_fixed"].lhs) == "[y_1; y_2; y_3]"
    assert text(steps["decoder_fixed"].symbolic) == "[f(C); f(C, y_1); f(C, y_1, y_2)]"
    assert text(steps["decoder_attention"].symbolic) == "[f(C_1); f(C_2, y_1); f(C_3, y_1, y_2)]"
    prose = prose_text("en", "attention_context.states", steps["states"].data)
    assert "(h_1, h_2, h_3)" in prose and "Tom, Chase, Jerry" in prose
    assert prose.count("hidden state") == 1


def test_contexts_without_labels_list_the_default_symbols() -> None:
    r = derivations.solve("attention-context", {"weights": [[0.5, 0.5], [1, 0]]})
    steps = {s.key.split(".")[1]: s for s in r.steps}
    assert prose_text("en", "attention_context.states", steps["states"].data).count("x_") == 2
    assert text(steps["contexts"].data["outputs"]) == "[[y_1, y_2]]"


def test_contexts_with_states_and_scores_match_numpy() -> None:
    rng = np.random.default_rng(11)
    scores, states = _rand(rng, 2, 4), _rand(rng, 4, 3)
    r = derivations.solve("attention-context", {"scores": scores, "states": states})
    w = _softmax(np.array(scores))
    np.testing.assert_allclose(_np(r.answers["weights"]), w, atol=1e-12)
    np.testing.assert_allclose(np.array(r.as_dict()["answers"]["contexts"]),
                               w @ np.array(states), atol=1e-12)
    assert r.as_dict()["answers"]["context_no_attention"] == pytest.approx(states[-1])
    # the group of contexts shows the same numbers, one row per output
    group = next(s for s in r.steps if s.key == "attention_context.contexts")
    np.testing.assert_allclose(_np(group.value), w @ np.array(states), atol=1e-12)
    given = next(s for s in r.steps if s.key == "attention_context.states")
    assert text(given.lhs) == "[h_1; h_2; h_3; h_4]"
    np.testing.assert_allclose(_np(given.symbolic), np.array(states), atol=0)


# --- multi-head ----------------------------------------------------------------------------


def test_multi_head_matches_torch() -> None:
    rng = np.random.default_rng(3)
    n, heads, d_k = 4, 2, 3
    d_model = heads * d_k
    X = _rand(rng, n, d_model)
    WQ, WK, WV = ([_rand(rng, d_model, d_k) for _ in range(heads)] for _ in range(3))
    WO = _rand(rng, heads * d_k, d_model)
    r = derivations.solve("multi-head-attention",
                          {"X": X, "W_Q": WQ, "W_K": WK, "W_V": WV, "W_O": WO})
    mha = torch.nn.MultiheadAttention(d_model, heads, bias=False, batch_first=True,
                                      dtype=torch.float64)

    def stacked(ws: list) -> torch.Tensor:
        return torch.tensor(np.hstack(ws).T, dtype=torch.float64)

    with torch.no_grad():
        mha.in_proj_weight.copy_(torch.cat([stacked(WQ), stacked(WK), stacked(WV)]))
        mha.out_proj.weight.copy_(torch.tensor(WO, dtype=torch.float64).T)
        x = torch.tensor(X, dtype=torch.float64)[None]
        out, attn = mha(x, x, x, average_attn_weights=False)
    np.testing.assert_allclose(_np(r.answers["output"]), out[0].numpy(), atol=1e-12)
    for h in range(heads):
        np.testing.assert_allclose(_np(r.answers["weights"][h]), attn[0, h].numpy(), atol=1e-12)


def test_multi_head_general_shapes_match_numpy() -> None:
    rng = np.random.default_rng(8)
    n, d_model, heads, d_k, d_v, d_out = 3, 5, 3, 2, 4, 2
    X = _rand(rng, n, d_model)
    WQ, WK = ([_rand(rng, d_model, d_k) for _ in range(heads)] for _ in range(2))
    WV = [_rand(rng, d_model, d_v) for _ in range(heads)]
    WO = _rand(rng, heads * d_v, d_out)
    r = derivations.solve("multi-head-attention",
                          {"X": X, "W_Q": WQ, "W_K": WK, "W_V": WV, "W_O": WO})
    x = np.array(X)
    zs = [_softmax((x @ np.array(q)) @ (x @ np.array(k)).T / np.sqrt(d_k)) @ (x @ np.array(v))
          for q, k, v in zip(WQ, WK, WV, strict=True)]
    concat = np.hstack(zs)
    np.testing.assert_allclose(_np(r.answers["concat"]), concat, atol=1e-12)
    np.testing.assert_allclose(_np(r.answers["output"]), concat @ np.array(WO), atol=1e-12)
    assert r.info["generated"] == []


def test_seeded_walk_through_has_the_exam_table_shapes() -> None:
    params = {"seed": 7, "tokens": 5, "d_model": 6, "heads": 3, "d_k": 4, "d_out": 6}
    r = derivations.solve("multi-head-attention", params)
    assert r.info["generated"] == ["X", "W_Q", "W_K", "W_V", "W_O"]
    assert r.answers["concat"].shape == (5, 12)
    assert r.info["W_O"].shape == (12, 6)
    assert r.answers["output"].shape == (5, 6)
    assert [(s.data["rows"], s.data["cols"]) for s in r.steps
            if s.key.endswith(("concat", "projection"))] == [(5, 12), (5, 6)]
    concat = next(s for s in r.steps if s.key == "multi_head_attention.concat")
    assert prose_text("en", concat.key, concat.data).endswith(
        "each 5 × 4, placed side by side give a 5 × 12 matrix.")
    assert r"$5$ $\times$ $12$ matrix" in prose_tex("en", concat.key, concat.data)
    numbers = [x for m in [r.info["X"], r.info["W_O"], *r.info["W_Q"]] for x in m]
    assert all(x.is_Rational and 0 <= x <= sp.Rational(99, 100) and (100 * x).is_Integer
               for x in numbers)
    generated = next(s for s in r.steps if s.key == "multi_head_attention.generated")
    assert generated.data["seed"] == 7
    assert text(generated.data["names"]) == "X, W^Q, W^K, W^V, W^O"
    assert tex(generated.data["names"]) == "X, W^{Q}, W^{K}, W^{V}, W^{O}"
    again = derivations.solve("multi-head-attention", params)
    assert again.answers["output"] == r.answers["output"]
    # recomputed from the generated matrices, independently
    x = _np(r.info["X"])
    zs = [_softmax((x @ _np(q)) @ (x @ _np(k)).T / 2.0) @ (x @ _np(v)) for q, k, v in
          zip(r.info["W_Q"], r.info["W_K"], r.info["W_V"], strict=True)]
    np.testing.assert_allclose(_np(r.answers["output"]), np.hstack(zs) @ _np(r.info["W_O"]),
                               atol=1e-12)


def test_given_matrices_are_kept_and_only_missing_ones_generated() -> None:
    X = [[0.1, 0.2], [0.3, 0.4]]
    r = derivations.solve("multi-head-attention", {"X": X, "seed": 1, "heads": 2, "d_k": 1})
    assert r.info["generated"] == ["W_Q", "W_K", "W_V", "W_O"]
    assert "X" not in r.info and "X" not in r.answers
    assert r.answers["output"].shape == (2, 2)


# --- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize("argv,param", [
    (["attention-context", "weights=[[0.5,0.4],[0.5,0.5]]"], "weights"),
    (["attention-context", "weights=[[1.5,-0.5]]"], "weights"),
    (["attention-context", "weights=[[1,0]]", "states=[[1],[2],[3]]"], "states"),
    (["attention-context", "weights=[[1,0]]", "input_labels=a,b,c"], "input_labels"),
    (["attention-context"], "weights"),
    (["self-attention", "X=[[1,2,3]]", "W_Q=[[1],[2]]", "W_K=[[1],[2]]", "W_V=[[1],[2]]"],
     "W_Q"),
    (["self-attention", "X=[[1,2]]", "W_Q=[[1],[2]]", "W_K=[[1,2],[2,1]]", "W_V=[[1],[2]]"],
     "W_K"),
    (["self-attention", "X=[[1,2]]", "W_Q=[[1],[2]]", "W_K=[[1],[2]]", "W_V=[[1],[2]]",
      "mask=future"], "mask"),
    (["self-attention", "scores=[[1,2]]"], "d_k"),
    (["self-attention", "scores=[[1,2]]", "d_k=4", "values=[[1],[2],[3]]"], "values"),
    (["self-attention", "scores=[[1,2]]", "d_k=4", "mask=causal"], "mask"),
    (["multi-head-attention", "X=[[1,2]]", "W_Q=[[[1],[2]]]", "W_K=[[[1],[2]],[[1],[2]]]",
      "W_V=[[[1],[2]]]", "W_O=[[1]]"], "W_K"),
    (["multi-head-attention", "X=[[1,2]]", "W_Q=[[[1],[2]]]", "W_K=[[[1],[2]]]",
      "W_V=[[[1],[2]]]", "W_O=[[1],[2]]"], "W_O"),
    (["multi-head-attention", "seed=1", "tokens=2", "heads=2", "d_k=2"], "d_model"),
    (["multi-head-attention", "X=[[1,2]]", "tokens=3", "seed=1", "heads=1", "d_k=1"], "tokens"),
    (["multi-head-attention", "X=[[1,2]]"], "W_Q"),
])
def test_bad_input_names_the_parameter(input_error: Callable[[list[str]], str],
                                       argv: list[str], param: str) -> None:
    assert input_error(["solve", *argv]).startswith(f"{param}: expected ")


def test_scaled_scores_have_their_own_name() -> None:
    # Q6: S holds the scores as given; the softmax reads S-hat = S / sqrt(d_k), entry by entry
    r = derivations.solve("self-attention", {"scores": [112, 96], "d_k": 64})
    given, scaled, row, weights = (next(s for s in r.steps if s.key == f"self_attention.{k}")
                                   for k in ("given_scores", "scaled", "softmax_row", "weights"))
    assert tex(given.lhs) == "S" and given.symbolic == sp.ImmutableMatrix([[112, 96]])
    assert tex(scaled.lhs) == r"\hat{S}" and text(scaled.symbolic) == "S/(sqrt(d_k))"
    assert scaled.value == sp.ImmutableMatrix([[112 / sp.Integer(8), 96 / sp.Integer(8)]])
    assert r"e^{\hat{s}_{11}}" in tex(row.symbolic) and "s_{11}" not in tex(row.symbolic)
    assert r"\displaystyle \frac{e^{14}}{e^{14} + e^{12}}" in tex(row.substituted)
    assert tex(weights.symbolic) == r"\operatorname{softmax}\left(\hat{S}\right)"
    assert "$\\hat{S}$" in prose_tex("en", row.key, row.data)


def test_multi_head_notation_transpose_and_concat() -> None:
    r = derivations.solve("multi-head-attention", {"seed": 1, "tokens": 3, "d_model": 4,
                                                   "heads": 2, "d_k": 2})
    printed = " ".join(tex(part) for s in r.steps for part in (s.lhs, s.symbolic, s.substituted)
                       if part is not None)
    assert r"K^{\top}_{1}" in printed and r"\right]^{\top}" in printed
    assert "^{T}" not in printed
    concat = next(s for s in r.steps if s.key == "multi_head_attention.concat")
    assert tex(concat.lhs) == r"Z_{\mathrm{cat}}"
    scaled = next(s for s in r.steps if s.key == "multi_head_attention.scaled")
    assert tex(scaled.lhs) == r"\hat{S}_{1}"


@pytest.mark.parametrize("scale", ["sqrt", "none", 4])
def test_qkv_cross_attention_against_torch_sdpa(scale: Any) -> None:
    """Q, K, V given (3 queries over 4 keys), every scale, against
    torch.nn.functional.scaled_dot_product_attention (scale = 1 / divisor)."""
    rng = np.random.default_rng(5)
    Q, K, V = (rng.normal(size=s).round(2) for s in ((3, 2), (4, 2), (4, 3)))
    result = derivations.solve("self-attention", {"Q": Q.tolist(), "K": K.tolist(),
                                                  "V": V.tolist(), "scale": scale})
    factor = {"sqrt": 1 / np.sqrt(2), "none": 1.0}.get(scale, 1 / 4)  # type: ignore[arg-type]
    expected = torch.nn.functional.scaled_dot_product_attention(
        *(torch.tensor(m)[None] for m in (Q, K, V)), scale=factor)[0].numpy()
    z = np.array(to_plain(result.answers["Z"]), dtype=float)
    assert z.shape == (3, 3)
    assert z == pytest.approx(expected, abs=1e-10)


def test_cross_multi_head_against_torch_multihead_attention() -> None:
    """X_q (2 x 4) attends over X_kv (3 x 3): torch.nn.MultiheadAttention(4, 2, kdim=3, vdim=3,
    bias=False) with the heads' weights stacked (torch computes x W^T, so the transposes)."""
    rng = np.random.default_rng(9)
    Xq, Xkv = rng.normal(size=(2, 4)).round(2), rng.normal(size=(3, 3)).round(2)
    WQ = [rng.normal(size=(4, 2)).round(2) for _ in range(2)]
    WK = [rng.normal(size=(3, 2)).round(2) for _ in range(2)]
    WV = [rng.normal(size=(3, 2)).round(2) for _ in range(2)]
    WO = rng.normal(size=(4, 4)).round(2)
    result = derivations.solve("multi-head-attention", {
        "X_q": Xq.tolist(), "X_kv": Xkv.tolist(), "W_Q": [w.tolist() for w in WQ],
        "W_K": [w.tolist() for w in WK], "W_V": [w.tolist() for w in WV], "W_O": WO.tolist()})
    mha = torch.nn.MultiheadAttention(4, 2, kdim=3, vdim=3, bias=False, batch_first=True,
                                      dtype=torch.float64)
    with torch.no_grad():
        mha.q_proj_weight.copy_(torch.tensor(np.hstack(WQ).T))
        mha.k_proj_weight.copy_(torch.tensor(np.hstack(WK).T))
        mha.v_proj_weight.copy_(torch.tensor(np.hstack(WV).T))
        mha.out_proj.weight.copy_(torch.tensor(WO.T))
        out, _ = mha(torch.tensor(Xq)[None], torch.tensor(Xkv)[None], torch.tensor(Xkv)[None])
    got = np.array(to_plain(result.answers["output"]), dtype=float)
    assert got == pytest.approx(out[0].numpy(), abs=1e-10)
    assert np.array(to_plain(result.answers["weights"][0])).shape == (2, 3)


@pytest.mark.parametrize(
    ("argv", "param", "fragment"),
    [
        (["Q=[[1, 0]]", "K=[[1, 0], [0, 1]]", "V=[[1], [2], [3]]"], "V", "m = 2"),
        (["Q=[[1, 0]]", "K=[[1, 0], [0, 1]]", "scale=0"], "scale", "a number > 0"),
        (["Q=[[1, 0]]", "K=[[1, 0], [0, 1]]", "scale=-1"], "scale", "a number > 0"),
        (["Q=[[1, 0]]", "K=[[1, 0], [0, 1]]", "scale=half"], "scale", "sqrt, none"),
        (["Q=[[1, 0]]", "V=[[1], [2]]"], "K", "the keys"),
        (["Q=[[1, 0]]", "K=[[1, 0], [0, 1]]", "mask=causal"], "mask", "as many queries"),
        (["X=[[1, 0]]", "Q=[[1, 0]]"], "Q", "one input form"),
    ],
)
def test_qkv_bad_input_exit_2_one_line(input_error: Any, argv: list[str], param: str,
                                       fragment: str) -> None:
    message = input_error(["solve", "self-attention", *argv])
    assert message.startswith(f"{param}: expected")
    assert fragment in message


def test_positional_encoding_base_against_numpy() -> None:
    result = derivations.solve("positional-encoding", {"n": 3, "d": 4, "base": 100})
    pos, col = np.arange(3)[:, None], np.arange(4)[None, :]
    angle = pos / 100.0 ** ((col - col % 2) / 4)
    expected = np.where(col % 2 == 0, np.sin(angle), np.cos(angle))
    assert np.array(to_plain(result.answers["PE"]), dtype=float) == pytest.approx(expected)
