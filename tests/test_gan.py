"""GAN: D*, C(G) = -log 4 + 2 JSD against NumPy; the batch losses against torch's BCE."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import sympy as sp
import torch

from dlexam import derivations
from dlexam.notation import tex, text
from dlexam.render.prose import prose_text


def _kl(p: np.ndarray, q: np.ndarray) -> float:
    nz = p > 0
    return float(np.sum(p[nz] * np.log(p[nz] / q[nz])))


@pytest.mark.parametrize("k", [2, 4, 11])
def test_optimum_matches_numpy(k: int) -> None:
    rng = np.random.default_rng(k)
    p = rng.dirichlet(np.ones(k)).round(4)
    q = rng.dirichlet(np.ones(k)).round(4)
    r = derivations.solve("gan-optimum", {"p_data": p.tolist(), "p_g": q.tolist(),
                                          "normalize": True})
    p, q = p / p.sum(), q / q.sum()
    d = p / (p + q)
    np.testing.assert_allclose([float(x) for x in r.answers["D_star"]], d, rtol=1e-12)
    c_g = float(np.sum(p * np.log(d) + q * np.log(1 - d)))
    assert float(r.answers["C_G"]) == pytest.approx(c_g, rel=1e-12)
    m = (p + q) / 2
    jsd = (_kl(p, m) + _kl(q, m)) / 2
    assert float(r.answers["jsd"]) == pytest.approx(jsd, rel=1e-10)
    assert c_g == pytest.approx(-np.log(4) + 2 * jsd, rel=1e-12)


def test_equal_distributions_reach_minus_log_4() -> None:
    p = [0.1, 0.2, 0.3, 0.4]
    r = derivations.solve("gan-optimum", {"p_data": p, "p_g": p})
    assert r.answers["D_star"] == [sp.Rational(1, 2)] * 4
    assert sp.simplify(r.answers["C_G"] + sp.log(4)) == 0
    assert r.answers["jsd"] == 0
    assert float(r.answers["C_G_minimum"]) == pytest.approx(-1.386294, abs=1e-6)
    keys = [s.key for s in r.steps]
    assert keys[:8] == ["gan_optimum.given", "gan_optimum.value",
                        "gan_optimum.change_of_variable", "gan_optimum.support_sum",
                        "gan_optimum.objective", "gan_optimum.derivative",
                        "gan_optimum.stationary", "gan_optimum.second_derivative"]
    stationary = r.steps[6].symbolic
    a, b = sp.Symbol("gan_a", positive=True), sp.Symbol("gan_b", positive=True)
    assert sp.simplify(stationary - a / (a + b)) == 0
    equal_c = next(s for s in r.steps if s.key == "gan_optimum.equal_c")
    assert equal_c.value == -sp.log(4) and equal_c.data["equal"] is True


def test_outside_both_supports() -> None:
    r = derivations.solve("gan-optimum", {"p_data": [0.5, 0.5, 0], "p_g": [0.25, 0.75, 0]})
    assert r.answers["D_star"][2] == sp.Rational(1, 2)
    assert any(s.key == "gan_optimum.outside_support" and s.data["points"].items == (3,)
               for s in r.steps)


def test_outcomes_outside_both_supports_are_data_the_sentence_lists() -> None:
    """The step gives the outcomes as data (JSON: a list); the sentence joins them."""
    r = derivations.solve("gan-optimum", {"p_data": [0, 0.5, 0, 0.5], "p_g": [0, 1, 0, 0]})
    step = next(s for s in r.steps if s.key == "gan_optimum.outside_support_many")
    assert step.data["points"].items == (1, 3)
    assert r.as_dict()["steps"][r.steps.index(step)]["data"]["points"] == [1, 3]
    assert "outcomes 1, 3 both" in prose_text("en", step.key, step.data)


def test_batch_losses_match_torch() -> None:
    rng = np.random.default_rng(4)
    real = np.round(rng.uniform(0.05, 0.95, 5), 3)
    fake = np.round(rng.uniform(0.05, 0.95, 3), 3)
    r = derivations.solve("gan-value", {"d_real": real.tolist(), "d_fake": fake.tolist()})
    bce = torch.nn.functional.binary_cross_entropy
    tr, tf = torch.tensor(real), torch.tensor(fake)
    loss_d = bce(tr, torch.ones(5, dtype=torch.float64)) + bce(tf, torch.zeros(3,
                                                                              dtype=torch.float64))
    a = r.answers
    assert float(a["loss_D"]) == pytest.approx(loss_d.item(), rel=1e-12)
    assert float(a["V"]) == pytest.approx(-loss_d.item(), rel=1e-12)
    assert float(a["loss_G_nonsaturating"]) == pytest.approx(
        bce(tf, torch.ones(3, dtype=torch.float64)).item(), rel=1e-12)
    assert float(a["loss_G_minimax"]) == pytest.approx(float(np.mean(np.log(1 - fake))),
                                                       rel=1e-12)
    # gradients with respect to the discriminator's logits, per generated sample
    s = torch.logit(tf).requires_grad_(True)
    torch.log(1 - torch.sigmoid(s)).sum().backward()
    np.testing.assert_allclose([float(x) for x in a["grad_logit_minimax"]], s.grad.numpy(),
                               atol=1e-12)
    s2 = torch.logit(tf).requires_grad_(True)
    (-torch.log(torch.sigmoid(s2))).sum().backward()
    np.testing.assert_allclose([float(x) for x in a["grad_logit_nonsaturating"]],
                               s2.grad.numpy(), atol=1e-12)


@pytest.mark.parametrize("argv,param", [
    (["gan-optimum", "p_data=[0.5,0.5]", "p_g=[1.2,-0.2]"], "p_g"),
    (["gan-optimum", "p_data=[0.5,0.5]", "p_g=[0.2,0.3,0.5]"], "p_g"),
    (["gan-optimum", "p_data=[0.5,0.6]", "p_g=[0.5,0.5]"], "p_data"),
    (["gan-value", "d_real=[0.9,1]", "d_fake=[0.1]"], "d_real"),
    (["gan-value", "d_real=[0.9]", "d_fake=[0,0.2]"], "d_fake"),
    (["gan-value", "d_real=[[0.9]]", "d_fake=[0.2]"], "d_real"),
])
def test_bad_input_names_the_parameter(input_error: Callable[[list[str]], str],
                                       argv: list[str], param: str) -> None:
    assert input_error(["solve", *argv]).startswith(f"{param}: expected ")


def test_inputs_are_stated_before_they_are_used() -> None:
    r = derivations.solve("gan-optimum", {"p_data": [1, 3], "p_g": [1, 1], "normalize": True})
    given = r.steps[0]
    assert given.key == "gan_optimum.normalized"
    assert text(given.symbolic) == "[[0.25, 0.75], [0.50, 0.50]]"
    d_star = next(s for s in r.steps if s.key == "gan_optimum.d_star")
    # D* = p_data / (p_data + p_g): 0.25 / 0.75 = 1/3 and 0.75 / 1.25 = 3/5
    assert r.answers["D_star"] == [sp.Rational(1, 3), sp.Rational(3, 5)]
    assert r"\displaystyle \frac{0.25}{0.25 + 0.5}" in tex(d_star.substituted)
    batch = derivations.solve("gan-value", {"d_real": [0.9], "d_fake": [0.2, 0.4]}).steps[0]
    assert batch.key == "gan_value.batch"
    assert list(batch.data["d_real"]) == [sp.Rational(9, 10)]
    assert list(batch.data["d_fake"]) == [sp.Rational(1, 5), sp.Rational(2, 5)]


def test_minimax_generator_loss_is_named_not_repeated() -> None:
    r = derivations.solve("gan-value", {"d_real": [0.9, 0.8], "d_fake": [0.3, 0.1]})
    fake = next(s for s in r.steps if s.key == "gan_value.fake_term")
    minimax = next(s for s in r.steps if s.key == "gan_value.loss_g_minimax")
    assert minimax.symbolic == fake.lhs and minimax.substituted is None
    assert float(minimax.value) == pytest.approx(np.mean(np.log([0.7, 0.9])), rel=1e-12)


def test_value_function_comes_before_its_sum_over_the_support() -> None:
    r = derivations.solve("gan-optimum", {"p_data": [0.5, 0.5], "p_g": [0.25, 0.75]})
    steps = {s.key.split(".")[1]: s for s in r.steps}
    # Goodfellow et al. (2014), eq. 1, and the change of variable x = G(z) ~ p_g
    assert text(steps["value"].lhs) == "V(D, G)"
    assert text(steps["value"].symbolic) == ("E_(x~p_data)[log(D(x))] + "
                                             "E_(z~p_z)[log(1 - D(G(z)))]")
    assert text(steps["change_of_variable"].lhs) == "E_(z~p_z)[log(1 - D(G(z)))]"
    assert text(steps["change_of_variable"].symbolic) == "E_(x~p_g)[log(1 - D(x))]"
    assert text(steps["support_sum"].symbolic) == ("Σ_x (p_data(x)*log(D(x)) + "
                                                   "p_g(x)*log(1 - D(x)))")
    assert tex(steps["value"].symbolic).startswith(r"\mathrm{E}_{x \sim p_{\mathrm{data}}}")


def test_second_derivative_reads_one_minus_y() -> None:
    r = derivations.solve("gan-optimum", {"p_data": [0.5, 0.5], "p_g": [0.25, 0.75]})
    second = next(s for s in r.steps if s.key == "gan_optimum.second_derivative")
    assert text(second.symbolic) == "-(a/y^2 + b/(1 - y)^2)"
    assert r"\left(1 - y\right)^{2}" in tex(second.symbolic)
    # the written form is the derivative: d2/dy2 (a log y + b log(1 - y)), checked numerically
    a, b, y = 0.3, 0.7, 0.4
    h = 1e-4
    f = [a * np.log(t) + b * np.log(1 - t) for t in (y - h, y, y + h)]
    numeric = (f[0] - 2 * f[1] + f[2]) / h**2
    shown = second.symbolic.doit().subs({sp.Symbol("gan_a", positive=True): a,
                                         sp.Symbol("gan_b", positive=True): b,
                                         sp.Symbol("gan_y", positive=True): y})
    assert float(shown) == pytest.approx(numeric, rel=1e-6)

