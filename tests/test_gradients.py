"""bptt against torch.autograd Jacobians and NumPy; clip-gradient against the rule and torch."""

# ruff: noqa: N803, N806
# (the exam's letters: W, U, H, D, T)

from __future__ import annotations

import json
import time
from collections.abc import Callable

import numpy as np
import pytest
import sympy as sp
import torch

from dlexam import derivations
from dlexam.cli import main
from dlexam.derivations.core import to_plain
from dlexam.notation import sym, text
from dlexam.templates import prose_text, render_text

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


def test_thousand_steps_well_under_a_second() -> None:
    rng = np.random.default_rng(0)
    H, T = 8, 1000
    params = {"W": (rng.normal(size=(H, H)) / 3).tolist(), "U": rng.normal(size=H).tolist(),
              "b": rng.normal(size=H).tolist(), "x": rng.normal(size=T).tolist()}
    start = time.perf_counter()
    result = derivations.solve("bptt", params)
    elapsed = time.perf_counter() - start
    assert elapsed < 1.0
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
    assert result.answers["clipped"] is False
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
                              "clipped": True, "scale": 0.5}


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
        ("bptt", ["W=[[1, 2, 3], [4, 5, 6], [7, 8, 9]]"], "U", "H = 3 (set by W)"),
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
    assert "the threshold beta = 5" in prose_text("en", given.key, given.data)
    assert "閾值 beta = 5" in prose_text("zh-Hant", given.key, given.data)
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
    assert long.key == "bptt.cell_long" and long.data["steps"] == 40
