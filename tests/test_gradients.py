"""bptt against torch.autograd Jacobians and NumPy; clip-gradient against the rule and torch."""

# ruff: noqa: N803, N806
# (the exam's letters: W, U, H, D, T)

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import sympy as sp
import torch

from dlexam import derivations
from dlexam.cli import main
from dlexam.derivations.core import to_plain
from dlexam.notation import sym, text
from dlexam.render import prose_text, render_text

EXAM_W = np.array([[0.1, 0.2], [0.3, 0.4]])


def torch_dhT_dhk_norms(W, U, b, xs, h0) -> list[float]:  # noqa: N802
    """||dh_T/dh_k||_2 for k = 0 .. T-1 by automatic differentiation (float64)."""
    W, U, b = (torch.tensor(a, dtype=torch.float64) for a in (W, U, b))
    xs = [torch.tensor(np.atleast_1d(x), dtype=torch.float64) for x in xs]

    def run_from(k: int, h: torch.Tensor) -> torch.Tensor:
        for x in xs[k:]:
            h = torch.tanh(W @ h + U @ x + b)
        return h

    states = [torch.tensor(h0, dtype=torch.float64)]
    for x in xs:
        states.append(torch.tanh(W @ states[-1] + U @ x + b))
    norms = []
    for k in range(len(xs)):
        jac = torch.autograd.functional.jacobian(lambda h, k=k: run_from(k, h), states[k])
        norms.append(float(torch.linalg.matrix_norm(jac, ord=2)))
    return norms


def test_exam_q4_network_vanishes() -> None:
    result = derivations.solve("bptt")
    a = to_plain(dict(result.answers))
    assert a["sigma_max_W"] == pytest.approx(np.linalg.svd(EXAM_W)[1][0], abs=1e-12)
    assert a["sigma_max_W"] == pytest.approx(0.5465, abs=1e-4)
    assert a["verdict"] == "vanishing"
    expected = torch_dhT_dhk_norms(EXAM_W, [[0.5], [0.6]], [1.0, -1.0], [2, 3], [0, 0])
    assert a["dhT_dhk_norm"] == pytest.approx(expected, abs=1e-12)
    assert "bptt.verdict_vanishing" in [s.key for s in result.steps]
    assert "lstm_path" not in a


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_against_torch_autograd(seed: int) -> None:
    rng = np.random.default_rng(seed)
    H, D, T = 4, 3, 6
    W, U, b = rng.normal(size=(H, H)), rng.normal(size=(H, D)), rng.normal(size=H)
    xs, h0 = rng.normal(size=(T, D)), rng.normal(size=H)
    result = derivations.solve("bptt", W=W.tolist(), U=U.tolist(), b=b.tolist(), x=xs.tolist(),
                               h0=h0.tolist())
    a = to_plain(dict(result.answers))
    assert a["dhT_dhk_norm"] == pytest.approx(torch_dhT_dhk_norms(W, U, b, xs, h0), rel=1e-9)
    # each factor diag(1 - h_t^2) W, recomputed in NumPy
    h, factor_norms = h0, []
    for x in xs:
        h = np.tanh(W @ h + U @ x + b)
        factor_norms.append(np.linalg.norm(np.diag(1 - h**2) @ W, 2))
    assert a["factor_norms"] == pytest.approx(factor_norms, rel=1e-12)
    sigma = np.linalg.norm(W, 2)
    assert a["bound"] == pytest.approx([sigma ** (T - k) for k in range(T)], rel=1e-12)
    assert all(n <= bnd * (1 + 1e-12) for n, bnd in zip(a["dhT_dhk_norm"], a["bound"],
                                                         strict=True))


def test_scaled_up_w_explodes() -> None:
    T = 12
    W = 4 * EXAM_W  # sigma_max about 2.19; at h = 0 every factor is W itself
    result = derivations.solve("bptt", W=W.tolist(), b=[0, 0], x=[0] * T)
    a = to_plain(dict(result.answers))
    assert a["verdict"] == "exploding"
    expected = [np.linalg.norm(np.linalg.matrix_power(W, T - k), 2) for k in range(T)]
    assert a["dhT_dhk_norm"] == pytest.approx(expected, rel=1e-10)
    assert a["dhT_dhk_norm"][0] > 1e3
    assert a["rate"] == pytest.approx(max(abs(np.linalg.eigvals(W))), rel=0.1)
    assert "bptt.verdict_exploding" in [s.key for s in result.steps]


def test_saturated_states_still_vanish_with_large_w() -> None:
    result = derivations.solve("bptt", W=(4 * EXAM_W).tolist(), x=[5, 5, 5, 5])
    assert result.answers["verdict"] == "vanishing"
    assert result.answers["sigma_max_W"] > 1
    assert "bptt.verdict_vanishing_saturated" in [s.key for s in result.steps]


def test_lstm_cell_path_for_comparison() -> None:
    T = 20
    result = derivations.solve("bptt", x=[1] * T, f=0.9)
    a = to_plain(dict(result.answers))
    assert a["lstm_path"] == pytest.approx([0.9 ** (T - k) for k in range(T)], rel=1e-12)
    assert a["lstm_path"][0] > 1e3 * a["dhT_dhk_norm"][0]
    rng = np.random.default_rng(4)
    gates = rng.uniform(0.5, 1.0, size=(5, 2))
    result = derivations.solve("bptt", x=[1, 2, 3, 4, 5], f=gates.tolist())
    expected = [np.prod(gates[k:], axis=0).max() for k in range(5)]
    assert to_plain(result.answers["lstm_path"]) == pytest.approx(expected, rel=1e-12)


def test_jacobian_derived_by_sympy_is_diag_times_w() -> None:
    """SymPy's Jacobian of a three-unit cell equals diag(1 - h^2) W (the chain rule)."""
    W = sp.Matrix(3, 3, lambda i, j: sp.Symbol(f"w{i}{j}"))
    s = sp.Matrix(sp.symbols("s0:3"))
    c = sp.Matrix(sp.symbols("c0:3"))
    new = (W * s + c).applyfunc(sp.tanh)
    diag = sp.diag(*[1 - v**2 for v in new])
    assert sp.simplify(new.jacobian(s) - diag * W) == sp.zeros(3)
    step = next(s for s in derivations.solve("bptt").steps if s.key == "bptt.jacobian_two_units")
    assert step.data["agrees"] is True
    w = sp.Matrix(2, 2, lambda i, j: sp.Symbol(f"W_{i + 1}{j + 1}"))
    h = [sp.Symbol("h_{t,1}"), sp.Symbol("h_{t,2}")]  # the entries of h_t
    assert sp.simplify(step.symbolic - sp.diag(*[1 - v**2 for v in h]) * w) == sp.zeros(2)


def test_thousand_steps_answer_every_k() -> None:
    # how fast this runs is measured by `make bench` (bench/bench.py, bptt T=1000), not here
    rng = np.random.default_rng(0)
    H, T = 8, 1000
    params = {"W": (rng.normal(size=(H, H)) / 3).tolist(), "U": rng.normal(size=H).tolist(),
              "b": rng.normal(size=H).tolist(), "x": rng.normal(size=T).tolist()}
    result = derivations.solve("bptt", params)
    assert len(result.answers["dhT_dhk_norm"]) == T
    assert "bptt.skipped" in [s.key for s in result.steps]


def test_long_products_do_not_overflow() -> None:
    result = derivations.solve("bptt", W=(4 * EXAM_W).tolist(), b=[0, 0], x=[0] * 1000)
    a = result.as_dict()["answers"]
    assert a["dhT_dhk_norm"][0] == "inf"  # beyond float range, reported as such
    assert a["dhT_dhk_norm"][-1] == pytest.approx(np.linalg.norm(4 * EXAM_W, 2))
    assert a["verdict"] == "exploding"


def test_clip_gradient_default_and_torch() -> None:
    result = derivations.solve("clip-gradient")
    assert result.answers["g"] == [sp.Rational(3, 5), sp.Rational(4, 5)]
    assert (result.answers["norm_before"], result.answers["norm_after"]) == (5, 1)
    rng = np.random.default_rng(1)
    g = rng.normal(size=(3, 4)).round(3)
    got = derivations.solve("clip-gradient", g=g.tolist(), threshold=0.5)
    param = torch.nn.Parameter(torch.zeros(3, 4, dtype=torch.float64))
    param.grad = torch.tensor(g)
    before = torch.nn.utils.clip_grad_norm_([param], max_norm=0.5)
    assert float(to_plain(got.answers["norm_before"])) == pytest.approx(float(before), rel=1e-12)
    # torch divides by (norm + 1e-6); the rule itself divides by the norm
    assert np.array(to_plain(got.answers["g"])) == pytest.approx(param.grad.numpy(), rel=1e-5)
    assert np.array(to_plain(got.answers["g"])) == pytest.approx(
        0.5 * g / np.linalg.norm(g), rel=1e-12)
    assert float(to_plain(got.answers["norm_after"])) == pytest.approx(0.5, rel=1e-12)


def test_clip_gradient_leaves_small_gradients() -> None:
    result = derivations.solve("clip-gradient", g=[0.3, 0.4], threshold=1)
    assert result.info["clipped"] is False
    assert result.answers["scale"] == 1
    assert result.answers["g"] == [sp.Rational(3, 10), sp.Rational(2, 5)]
    assert result.answers["norm_after"] == sp.Rational(1, 2)
    assert "clip_gradient.unchanged" in [s.key for s in result.steps]


def test_json_answer_names(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["solve", "bptt", "f=0.95", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"dhT_dhk_norm", "factor_norms", "sigma_max_W", "bound", "lstm_path"} <= set(
        out["answers"])
    assert main(["solve", "clip-gradient", "g=[6, 8]", "threshold=5", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["answers"] == {"g": [3.0, 4.0], "norm_before": 10, "norm_after": 5,
                              "scale": 0.5}
    assert out["info"] == {"clipped": True}


@pytest.mark.parametrize("name,lang,words", [
    ("bptt", "en", ["vanishes", "Remedies"]), ("bptt", "zh-Hant", ["梯度消失", "梯度截斷"]),
    ("clip-gradient", "en", ["exploding"]), ("clip-gradient", "zh-Hant", ["梯度爆炸"]),
])
def test_reads_in_both_languages(name: str, lang: str, words: list[str]) -> None:
    out = render_text(derivations.solve(name), lang)
    for word in words:
        assert word in out


def test_exploding_reads_in_both_languages() -> None:
    result = derivations.solve("bptt", W=(4 * EXAM_W).tolist(), b=[0, 0], x=[0] * 5)
    assert "explodes" in render_text(result, "en")
    assert "梯度爆炸" in render_text(result, "zh-Hant")


@pytest.mark.parametrize(
    "name,argv,param,fragment",
    [
        ("bptt", ["W=[[1, 2, 3], [4, 5, 6]]"], "W", "H x H"),
        ("bptt", ["W=[[1, 2, 3], [4, 5, 6], [7, 8, 9]]"], "U", "where W sets H = 3"),
        ("bptt", ["x=[]"], "x", "non-empty"),
        ("bptt", ["f=1.5"], "f", "between 0 and 1"),
        ("bptt", ["f=[[0.9, 0.9]]"], "f", "T = 2"),
        ("bptt", ["h0=[0, \"zero\"]"], "h0", "number"),
        ("clip-gradient", ["threshold=0"], "threshold", "> 0"),
        ("clip-gradient", ["threshold=-1"], "threshold", "> 0"),
        ("clip-gradient", ["g=[]"], "g", "non-empty"),
        ("clip-gradient", ["g=[[[1]]]"], "g", "shape"),
        ("clip-gradient", ["threshold=big"], "threshold", "a number"),
    ],
)
def test_bad_input_exit_2_one_line(input_error: Callable[[list[str]], str], name: str,
                                   argv: list[str], param: str, fragment: str) -> None:
    message = input_error(["solve", name, *argv])
    assert message.startswith(f"{param}: expected")
    assert fragment in message


def test_clipping_formula_is_displayed_once() -> None:
    result = derivations.solve("clip-gradient", g=[6, -8], threshold=5)
    g_hat = sym("g_clipped")
    shown = [s for s in result.steps if s.lhs == g_hat]
    assert [s.key for s in shown] == ["clip_gradient.rule", "clip_gradient.clipped"]
    assert shown[0].symbolic.has(sym("norm_g"))  # the rule, in symbols
    assert not shown[1].symbolic.has(sym("norm_g")) and shown[1].substituted is None
    assert text(shown[1].symbolic) == "(5/10)*[[6], [-8]]"
    assert shown[1].value == sp.ImmutableMatrix([3, -4])  # 6 * 5/10, -8 * 5/10


def test_clipping_states_its_inputs_first() -> None:
    result = derivations.solve("clip-gradient", g=[6, -8], threshold=5)
    given = result.steps[0]
    assert given.key == "clip_gradient.given"
    assert text(given.lhs) == "g" and given.symbolic == sp.ImmutableMatrix([6, -8])
    assert given.data["threshold"] == 5
    assert "the threshold β = 5" in prose_text("en", given.key, given.data)
    assert "閾值 β = 5" in prose_text("zh-Hant", given.key, given.data)
    keys = [s.key for s in result.steps]
    assert keys.index("clip_gradient.given") < keys.index("clip_gradient.norm")


def test_vanilla_rnn_jacobian_names_no_memory_cell() -> None:
    # a simple RNN has no cell state: its Jacobian comes from differentiating the recurrence
    zh = prose_text("zh-Hant", "bptt.jacobian_two_units")
    assert "記憶單元" not in zh and "遞迴式" in zh
    assert "the cell" not in prose_text("en", "bptt.jacobian_two_units")


def test_bptt_prose_names_the_run() -> None:
    result = derivations.solve("bptt")
    cell = result.steps[0]
    assert cell.key == "bptt.cell" and list(cell.data["x"]) == [2, 3]
    assert "run over the inputs x_t = (2, 3), so T = 2" in prose_text("en", cell.key, cell.data)
    long = derivations.solve("bptt", x=[1] * 40).steps[0]
    assert long.key == "bptt.cell" and long.data["steps"] == 40 and len(long.data["x"]) == 40
    # 40 inputs are more than a sentence lists: the templates say the length instead
    shown = prose_text("en", long.key, long.data)
    assert "input sequence of length T = 40" in shown and "1, 1" not in shown


def _numpy_chain(W, U, b, xs, factor) -> tuple[list[float], list[float]]:
    """Factor norms and ||J_T ... J_{k+1}|| for k = 0 .. T-1, from a factor rule h_t -> J_t."""
    h, factors = np.zeros(W.shape[0]), []
    for x in xs:
        h = np.tanh(W @ h + U * x + b)
        factors.append(factor(h))
    products = []
    for k in range(len(xs)):
        prod = np.eye(W.shape[0])
        for J in reversed(factors[k:]):
            prod = prod @ J
        products.append(np.linalg.norm(prod, 2))
    return [np.linalg.norm(J, 2) for J in factors], products


EXAM_Q4_BPTT = (EXAM_W, np.array([0.5, 0.6]), np.array([1.0, -1.0]), [2, 3])


def test_bptt_no_tanh_derivative_is_powers_of_w() -> None:
    result = derivations.solve("bptt", mistake="no-tanh-derivative")
    a = to_plain(dict(result.answers))
    sigma = np.linalg.norm(EXAM_W, 2)
    assert a["factor_norms"] == pytest.approx([sigma, sigma], rel=1e-12)
    assert a["dhT_dhk_norm"] == pytest.approx(
        [np.linalg.norm(EXAM_W @ EXAM_W, 2), sigma], rel=1e-12)
    right = to_plain(dict(derivations.solve("bptt").answers))
    assert a["dhT_dhk_norm"][0] > 2 * right["dhT_dhk_norm"][0]  # the slopes shrink it a lot
    assert (a["sigma_max_W"], a["bound"], a["gamma"]) == (right["sigma_max_W"], right["bound"], 1)
    assert result.info["mistake"] == "no-tanh-derivative"
    keys = [s.key for s in result.steps]
    assert "bptt.jacobian_no_tanh_derivative" in keys and "bptt.jacobian" not in keys
    assert "bptt.jacobian_two_units" not in keys  # the right Jacobian is not derived
    factors = [s for s in result.steps if s.key == "bptt.factor_w_alone"]
    assert [s.value for s in factors] == [sp.ImmutableMatrix(EXAM_W.tolist())] * 2 or all(
        np.allclose(np.array(s.value.tolist(), dtype=float), EXAM_W) for s in factors)
    assert len(factors) == 2


def test_bptt_transposed_w_against_numpy() -> None:
    W = np.array([[0.5, -0.9], [0.2, 0.4]])
    U, b, xs = np.array([0.7, -0.3]), np.array([0.1, 0.2]), [1, -2, 2, 1]
    params = {"W": W.tolist(), "U": U.tolist(), "b": b.tolist(), "x": xs}
    result = derivations.solve("bptt", params, mistake="transposed-w")
    a = to_plain(dict(result.answers))
    norms, products = _numpy_chain(W, U, b, xs, lambda h: np.diag(1 - h**2) @ W.T)
    assert a["factor_norms"] == pytest.approx(norms, rel=1e-12)
    assert a["dhT_dhk_norm"] == pytest.approx(products, rel=1e-12)
    right = to_plain(dict(derivations.solve("bptt", params).answers))
    assert a["factor_norms"][0] != pytest.approx(right["factor_norms"][0], rel=1e-2)
    # each displayed factor is diag(1 - h_t^2) W^T with the numbers put in
    h = np.tanh(U * xs[0] + b)
    first = next(s for s in result.steps if s.key == "bptt.factor")
    assert np.array(first.value.tolist(), dtype=float) == pytest.approx(
        np.diag(1 - h**2) @ W.T, rel=1e-12)
    assert "W^T" in text(first.symbolic)
    # the transposed Jacobian W^T diag(1 - h^2) has the same norms: that is not the mistake
    same, _ = _numpy_chain(W, U, b, xs, lambda h: W.T @ np.diag(1 - h**2))
    assert right["factor_norms"] == pytest.approx(same, rel=1e-12)


def test_bptt_verdict_is_text_and_saturation_is_info() -> None:
    result = derivations.solve("bptt", W=(4 * EXAM_W).tolist(), x=[5, 5, 5, 5])
    assert result.answers["verdict"] == "vanishing"
    assert result.info["verdict_case"] == "vanishing_saturated"
    wrong = derivations.solve("bptt", W=(4 * EXAM_W).tolist(), x=[5, 5, 5, 5],
                              mistake="no-tanh-derivative")
    assert wrong.answers["verdict"] == "exploding"  # W alone grows: the saturation is missed


def test_clip_by_value_against_torch() -> None:
    result = derivations.solve("clip-gradient", g=[6, -8], threshold=5, mistake="clip-by-value")
    param = torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))
    param.grad = torch.tensor([6.0, -8.0], dtype=torch.float64)
    torch.nn.utils.clip_grad_value_([param], clip_value=5)
    assert [float(v) for v in result.answers["g"]] == param.grad.tolist() == [5.0, -5.0]
    assert result.answers["norm_before"] == 10
    assert result.answers["norm_after"] == 5 * sp.sqrt(2)  # above the threshold
    assert result.answers["scale"] == sp.sqrt(2) / 2  # ||g^|| / ||g||
    keys = [s.key for s in result.steps]
    assert "clip_gradient.rule_by_value" in keys and "clip_gradient.rule" not in keys
    step = next(s for s in result.steps if s.key == "clip_gradient.clipped_by_value")
    assert step.data["count"] == 2 and "clip(6, -5, 5)" in text(step.symbolic)


def test_clip_squared_norm() -> None:
    result = derivations.solve("clip-gradient", g=[6, -8], threshold=5, mistake="squared-norm")
    a = result.answers
    assert a["norm_before"] == 100  # 6^2 + 8^2, no square root
    assert a["g"] == [sp.Rational(3, 10), sp.Rational(-2, 5)]  # 5 g / 100
    assert (a["scale"], a["norm_after"]) == (sp.Rational(1, 20), sp.Rational(1, 4))
    norm = next(s for s in result.steps if s.key == "clip_gradient.norm")
    assert "sqrt" not in text(norm.symbolic)


def test_sampled_clip_questions_tell_the_mistakes_apart() -> None:
    d = derivations.get("clip-gradient")
    modes = set()
    for seed in range(1, 101):
        p = d.sample(seed)
        mode = p.get("mode", "norm") + ("-axes" if p.get("axes") is not None else "")
        modes.add(mode)
        beta = p["threshold"]
        if mode == "norm-axes":
            g = np.array(p["g"], dtype=float)
            rows = np.linalg.norm(g, axis=1)
            assert g.shape[1] == 2 and rows.max() > beta > rows.min()  # some rows clipped
            continue
        tensors = p["g"] if mode == "global-norm" else [p["g"]]
        g = np.concatenate([np.ravel(np.array(t, dtype=float)) for t in tensors])
        assert 2 <= g.size <= 7
        assert np.linalg.norm(g) > beta  # the rule clips
        assert np.abs(g).max() > beta >= np.abs(g).min()  # by value cuts some, not all
        assert all(round(v, 1) == v for v in [*g, beta])
        if mode == "global-norm":  # some tensor within the threshold on its own
            assert min(np.linalg.norm(np.ravel(t)) for t in tensors) < np.linalg.norm(g)
    assert modes == {"norm", "value", "global-norm", "norm-axes"}
    assert d.sample(3, {"g": [[1, 2], [3, 4]]})["g"] == [[1, 2], [3, 4]]
    assert d.sample(3, {"mode": "value"})["mode"] == "value"
    held = d.sample(4, {"axes": 1})
    assert held["axes"] == 1 and np.array(held["g"]).ndim == 2
    assert d.sample(5, {"g": [[1, 2], [3]]})["mode"] == "global-norm"


def test_sampled_bptt_questions() -> None:
    d = derivations.get("bptt")
    verdicts = set()
    for seed in range(1, 41):
        p = d.sample(seed)
        W = np.array(p["W"])
        with_target = p.get("target") is not None
        assert W.shape == (2, 2) and (2 if with_target else 3) <= len(p["x"]) <= (
            3 if with_target else 6)
        assert all(round(v, 1) == v for v in [*W.ravel(), *p["U"], *p["b"], *p["x"]])
        assert abs(W[0, 1]) != abs(W[1, 0])  # else W^T has the same factor norms
        verdicts.add(d.run(p).info["verdict_case"])
    assert verdicts == {"vanishing", "exploding", "vanishing_saturated"}
    held = d.sample(5, {"W": [[0.1, 0.2], [0.3, 0.4]], "x": [1, 2, 3, 4, 5]})
    assert held["W"] == [[0.1, 0.2], [0.3, 0.4]] and held["x"] == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("lang", ["en", "zh-Hant"])
def test_mistakes_from_the_command_line(capsys: pytest.CaptureFixture[str], lang: str) -> None:
    assert main(["solve", "clip-gradient", "g=[6, -8]", "threshold=5",
                 "--mistake", "squared-norm", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["answers"]["norm_before"] == 100 and out["info"]["mistake"] == "squared-norm"
    assert main(["solve", "bptt", "--mistake", "transposed-w", "--lang", lang]) == 0
    shown = capsys.readouterr().out
    assert "W^T" in shown


def test_clip_global_norm_against_torch() -> None:
    W = np.array([[1.0, 2.0], [3.0, 4.0]])
    b = np.array([5.0, 6.0])
    c = 7.0
    result = derivations.solve("clip-gradient", g=[W.tolist(), b.tolist(), c], threshold=5,
                               mode="global-norm")
    params = [torch.nn.Parameter(torch.zeros(np.shape(t), dtype=torch.float64))
              for t in (W, b, c)]
    for param, t in zip(params, (W, b, c), strict=True):
        param.grad = torch.tensor(t, dtype=torch.float64)
    total = float(torch.nn.utils.clip_grad_norm_(params, max_norm=5))
    a = result.answers
    assert float(a["norm_before"]) == pytest.approx(total) == pytest.approx(np.sqrt(140))
    expected = np.concatenate([p.grad.numpy().ravel() for p in params])
    assert np.allclose([float(v) for v in a["g"]], expected, rtol=1e-6)
    assert float(a["norm_after"]) == pytest.approx(5) and a["scale"] == 5 / sp.sqrt(140)
    tensors = result.info["tensors"]
    assert np.allclose(tensors[0], params[0].grad.numpy(), rtol=1e-6)
    assert np.allclose(tensors[1], params[1].grad.numpy(), rtol=1e-6)
    assert tensors[2] == pytest.approx(float(params[2].grad), rel=1e-6)
    keys = [s.key for s in result.steps]
    assert keys.count("clip_gradient.given_tensor") == 3 and "clip_gradient.global" in keys
    # each tensor clipped by its own norm: W (norm sqrt 30) and b and c scaled on their own
    own = derivations.solve("clip-gradient", g=[W.tolist(), b.tolist(), c], threshold=5,
                            mode="global-norm", mistake="per-tensor-norm").answers
    scaled = [t * min(1, 5 / np.linalg.norm(t)) for t in (W.ravel(), b, np.array([c]))]
    assert np.allclose([float(v) for v in own["g"]], np.concatenate(scaled))


def test_clip_by_value_mode_against_torch_clamp() -> None:
    g = [[6.0, -8.0], [0.5, -2.5]]
    result = derivations.solve("clip-gradient", g=g, threshold=2, mode="value")
    expected = torch.clamp(torch.tensor(g, dtype=torch.float64), -2, 2).numpy()
    assert np.array_equal(np.array(result.answers["g"], dtype=float), expected)
    wrong = derivations.solve("clip-gradient", g=g, threshold=2, mode="value",
                              mistake="clip-by-norm").answers
    norm = np.linalg.norm(g)
    assert np.allclose(np.array(wrong["g"], dtype=float), np.array(g) * 2 / norm)
    d = derivations.get("clip-gradient")
    applies = {m.id for m in d.mistakes if m.applies_to({"g": g, "threshold": 2,
                                                         "mode": "value", "axes": None})}
    assert applies == {"clip-by-norm"}


@pytest.mark.parametrize(("axes", "axis"), [(1, 1), (-1, 1), (0, 0), ([1], 1)])
def test_clip_along_axes_against_numpy(axes: Any, axis: int) -> None:
    g = np.array([[3.0, 4.0], [0.3, 0.4], [6.0, 8.0]])
    result = derivations.solve("clip-gradient", g=g.tolist(), threshold=2, axes=axes)
    norms = np.linalg.norm(g, axis=axis, keepdims=True)
    expected = g * 2 / np.maximum(norms, 2)
    a = result.answers
    assert np.allclose(np.array(a["g"], dtype=float), expected)
    assert np.allclose([float(v) for v in a["norm_before"]], norms.ravel())
    assert np.allclose([float(v) for v in a["norm_after"]],
                       np.linalg.norm(expected, axis=axis))
    whole = derivations.solve("clip-gradient", g=g.tolist(), threshold=2, axes=[0, 1])
    assert whole.answers["norm_before"] == derivations.solve(
        "clip-gradient", g=g.tolist(), threshold=2).answers["norm_before"]


@pytest.mark.parametrize(
    ("argv", "param", "fragment"),
    [
        (["g=[[1, 2], [3, 4]]", "axes=2"], "axes", "from -2 to 1"),
        (["g=[1, 2]", "axes=1"], "axes", "from -1 to 0"),
        (["g=[[1, 2], [3, 4]]", "axes=[1, 1]"], "axes", "each axis once"),
        (["axes=0.5"], "axes", "whole numbers"),
        (["mode=value", "axes=0"], "axes", "only mode=norm"),
        (["mode=clip"], "mode", "norm, value, global-norm"),
        (["g=[[1, 2], [3]]"], "g", "mode=global-norm"),
    ],
)
def test_clip_bad_modes_and_axes(input_error: Callable[[list[str]], str], argv: list[str],
                                 param: str, fragment: str) -> None:
    message = input_error(["solve", "clip-gradient", *argv])
    assert message.startswith(f"{param}: expected") and fragment in message


def _torch_bptt_gradients(W: np.ndarray, U: np.ndarray, b: np.ndarray, xs: np.ndarray,
                          V: np.ndarray, c: np.ndarray, targets: np.ndarray,
                          at: list[int]) -> tuple[float, list[np.ndarray]]:
    """L = 1/2 sum over the steps in ``at`` of ||V h_t + c - target||^2 and its gradients with
    respect to W, U, b, V, c by torch autograd in float64."""
    leaves = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in (W, U, b, V, c)]
    Wt, Ut, bt, Vt, ct = leaves
    h = torch.zeros(W.shape[0], dtype=torch.float64)
    loss = torch.zeros((), dtype=torch.float64)
    for t, x in enumerate(xs):
        h = torch.tanh(Wt @ h + Ut @ torch.tensor(x, dtype=torch.float64) + bt)
        if t in at:
            loss = loss + 0.5 * ((Vt @ h + ct - torch.tensor(targets[at.index(t)])) ** 2).sum()
    loss.backward()
    return float(loss.detach()), [leaf.grad.numpy() for leaf in leaves]


def test_bptt_gradients_two_steps_against_autograd() -> None:
    """The classic two-step question: one target per step, one output."""
    W, U, b = [[0.1, 0.2], [0.3, 0.4]], [0.5, 0.6], [1, -1]
    result = derivations.solve("bptt", W=W, U=U, b=b, x=[2, 3], h0=[0, 0], V=[1, 2], c=0.1,
                               target=[0.5, 1])
    loss, (dW, dU, db, dV, dc) = _torch_bptt_gradients(
        np.array(W, dtype=float), np.array(U, dtype=float).reshape(2, 1),
        np.array(b, dtype=float), np.array([[2.0], [3.0]]), np.array([[1.0, 2.0]]),
        np.array([0.1]), np.array([[0.5], [1.0]]), [0, 1])
    a = result.answers
    assert a["loss"] == pytest.approx(loss, rel=1e-12)
    assert np.allclose(a["dL_dW"], dW, rtol=1e-12)
    assert np.allclose(a["dL_dU"], dU[:, 0], rtol=1e-12)
    assert np.allclose(a["dL_db"], db, rtol=1e-12)
    assert np.allclose(a["dL_dV"], dV[0], rtol=1e-12)
    assert a["dL_dc"] == pytest.approx(float(dc[0]), rel=1e-12)
    keys = [s.key for s in result.steps]
    assert keys.count("bptt.output_error") == 2 and keys.count("bptt.grad_a") == 2
    assert "bptt.grad_W" in keys and "bptt.loss" in keys
    # the norms of the Jacobians are those without a target
    plain = derivations.solve("bptt", W=W, U=U, b=b, x=[2, 3], h0=[0, 0]).answers
    assert {k: a[k] for k in plain} == plain and "dL_dW" not in plain


def test_bptt_gradients_last_step_several_outputs_against_autograd() -> None:
    rng = np.random.default_rng(7)
    W, U, b = rng.normal(0, 0.5, (3, 3)), rng.normal(0, 0.5, (3, 2)), rng.normal(0, 0.3, 3)
    xs, V, c = rng.normal(0, 1, (4, 2)), rng.normal(0, 0.5, (2, 3)), rng.normal(0, 0.2, 2)
    target = rng.normal(0, 1, 2)
    result = derivations.solve("bptt", W=W.tolist(), U=U.tolist(), b=b.tolist(), x=xs.tolist(),
                               V=V.tolist(), c=c.tolist(), target=target.tolist(),
                               loss_at="last")
    loss, grads = _torch_bptt_gradients(W, U, b, xs, V, c, target[None, :], [3])
    a = result.answers
    assert a["loss"] == pytest.approx(loss, rel=1e-10)
    for name, grad in zip(("dL_dW", "dL_dU", "dL_db", "dL_dV", "dL_dc"), grads, strict=True):
        assert np.allclose(np.array(a[name], dtype=float), grad, rtol=1e-10, atol=1e-14), name
    keys = [s.key for s in result.steps]
    assert "bptt.loss_last" in keys and keys.count("bptt.output_error") == 1


def test_bptt_no_recurrent_path_mistake() -> None:
    W, U, b = [[0.1, 0.2], [0.3, 0.4]], [0.5, 0.6], [1, -1]
    params = {"W": W, "U": U, "b": b, "x": [2, 3], "V": [1, 2], "c": 0.1, "target": [0.5, 1]}
    wrong = derivations.solve("bptt", mistake="no-recurrent-path", **params).answers
    right = derivations.solve("bptt", **params).answers
    assert wrong["dL_dV"] == right["dL_dV"] and wrong["dL_db"] != right["dL_db"]
    assert wrong["dL_dW"] == right["dL_dW"]  # h_0 = 0: only delta_2 h_1^T, and delta_2 is right
    # by hand: dL/dh_1 = V^T e_1 only
    h1 = np.tanh(np.array(U) * 2 + np.array(b))
    e1 = float(np.array([1, 2]) @ h1 + 0.1 - 0.5)
    h2 = np.tanh(np.array(W) @ h1 + np.array(U) * 3 + np.array(b))
    e2 = float(np.array([1, 2]) @ h2 + 0.1 - 1)
    d1 = (1 - h1**2) * np.array([1, 2]) * e1
    d2 = (1 - h2**2) * np.array([1, 2]) * e2
    assert np.allclose(wrong["dL_db"], d1 + d2)


@pytest.mark.parametrize(
    ("argv", "param", "fragment"),
    [
        (["target=[1, 2]"], "V", "when a target is given"),
        (["V=[1, 2]", "target=[1, 2, 3]"], "target", "T = 2 targets"),
        (["V=[1, 2]", "target=[1, 2]", "loss_at=last"], "target", "one target"),
        (["V=[1, 2]", "target=[1, 2]", "c=[1, 2]"], "c", "one number (V has one row"),
        (["V=[1, 2]", "target=[1, 2]", "loss_at=first"], "loss_at", "all, last"),
        (["V=[1, 2, 3]", "target=[1, 2]"], "V", "H = 2"),
    ],
)
def test_bptt_bad_targets(input_error: Callable[[list[str]], str], argv: list[str],
                          param: str, fragment: str) -> None:
    message = input_error(["solve", "bptt", *argv])
    assert message.startswith(f"{param}: expected") and fragment in message


def test_bptt_gradients_from_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["solve", "bptt", "x=[2, 3]", "V=[1, 2]", "c=0.1", "target=0.5",
                 "loss_at=last", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["answers"]) >= {"loss", "dL_dW", "dL_dU", "dL_db", "dL_dV", "dL_dc"}
    d = derivations.get("bptt")
    held = d.sample(3, {"loss_at": "last"})
    assert held["loss_at"] == "last" and isinstance(held["target"], float)
