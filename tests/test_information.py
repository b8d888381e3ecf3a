"""Entropy, cross-entropy, KL, JSD and softmax cross-entropy: published anchors, NumPy, torch."""

from __future__ import annotations

import json
from collections.abc import Callable
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp
import torch

from dlexam import derivations
from dlexam.cli import main
from dlexam.notation import tex, text
from dlexam.templates import prose_text

P_REF = [0.36, 0.48, 0.16]


def _np_entropy(p: np.ndarray, base: float) -> float:
    nz = p > 0
    return float(-np.sum(p[nz] * np.log(p[nz])) / np.log(base))


def _np_kl(p: np.ndarray, q: np.ndarray, base: float) -> float:
    nz = p > 0
    return float(np.sum(p[nz] * np.log(p[nz] / q[nz])) / np.log(base))


@pytest.mark.parametrize("q", [[1, 1, 1], [Fraction(1, 3)] * 3, [0.3333333333] * 3])
def test_reference_case_in_nats(q: list) -> None:
    params = {"p": P_REF, "q": q, "normalize": q == [1, 1, 1]}
    r = derivations.solve("information", params)
    # published: KL(P||Q) = 0.0852996 nats, KL(Q||P) = 0.0974550 nats
    assert float(r.answers["kl_pq"]) == pytest.approx(0.0852996, abs=5e-8)
    assert float(r.answers["kl_qp"]) == pytest.approx(0.0974550, abs=5e-8)
    assert r.info["unit"] == "nats" and r.convention == "nats"
    assert "unit" not in r.answers and "base" not in r.answers  # metadata, not gradable


def test_reference_case_exact() -> None:
    third = Fraction(1, 3)
    r = derivations.solve("information", {"p": P_REF, "q": [third] * 3})
    p = [sp.Rational(9, 25), sp.Rational(12, 25), sp.Rational(4, 25)]
    kl = sum(x * sp.log(3 * x) for x in p)
    assert sp.simplify(r.answers["kl_pq"] - kl) == 0
    assert sp.simplify(r.answers["entropy_q"] - sp.log(3)) == 0
    assert sp.simplify(r.answers["kl_pq"] - (r.answers["cross_entropy"]
                                             - r.answers["entropy_p"])) == 0


@pytest.mark.parametrize("base,unit,b", [("2", "bits", 2.0), ("e", "nats", np.e),
                                         ("10", "hartleys", 10.0)])
def test_random_distributions_match_numpy_and_torch(base: str, unit: str, b: float) -> None:
    rng = np.random.default_rng(len(unit))
    for k in (2, 5, 12):
        p = rng.dirichlet(np.ones(k)).round(6)
        q = rng.dirichlet(np.ones(k)).round(6)
        r = derivations.solve("information", {"p": p.tolist(), "q": q.tolist(),
                                              "base": base, "normalize": True})
        p, q = p / p.sum(), q / q.sum()
        a = r.answers
        assert r.info["unit"] == unit and r.info["base"] == base
        assert float(a["entropy_p"]) == pytest.approx(_np_entropy(p, b), rel=1e-12)
        assert float(a["entropy_q"]) == pytest.approx(_np_entropy(q, b), rel=1e-12)
        assert float(a["cross_entropy"]) == pytest.approx(
            float(-np.sum(p * np.log(q)) / np.log(b)), rel=1e-12)
        torch_kl = torch.nn.functional.kl_div(torch.tensor(np.log(q)), torch.tensor(p),
                                              reduction="sum").item() / np.log(b)
        assert float(a["kl_pq"]) == pytest.approx(torch_kl, rel=1e-10)
        assert float(a["kl_qp"]) == pytest.approx(_np_kl(q, p, b), rel=1e-10)
        m = (p + q) / 2
        jsd = (_np_kl(p, m, b) + _np_kl(q, m, b)) / 2
        assert float(a["jsd"]) == pytest.approx(jsd, rel=1e-10)
        assert 0 <= float(a["jsd"]) <= np.log(2) / np.log(b) + 1e-15


def test_disjoint_supports_in_bits() -> None:
    r = derivations.solve("information", {"p": [1, 0], "q": [0, 1], "base": 2})
    assert r.answers["entropy_p"] == 0  # 0 log 0 = 0
    assert r.answers["jsd"] == 1  # one bit, the maximum
    assert r.answers["kl_pq"] == sp.oo and r.answers["kl_qp"] == sp.oo


def test_infinite_kl_is_reported_with_a_reason(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["solve", "information", "p=[0.5,0.5,0]", "q=[0.5,0,0.5]", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["answers"]["kl_pq"] == "inf"
    assert out["answers"]["kl_qp"] == "inf"
    assert out["answers"]["cross_entropy"] == "inf"
    assert out["answers"]["jsd"] == pytest.approx(
        (_np_kl(np.array([.5, .5, 0]), np.array([.5, .25, .25]), np.e)
         + _np_kl(np.array([.5, 0, .5]), np.array([.5, .25, .25]), np.e)) / 2)
    reasons = {s["key"]: s["data"] for s in out["steps"] if s["key"].endswith("_infinite")}
    assert reasons["information.kl_pq_infinite"] == {"index": 2, "first": "p", "second": "q",
                                                     "value": 0.5}
    assert reasons["information.kl_qp_infinite"]["index"] == 3


def test_zero_terms_are_written_as_zero() -> None:
    r = derivations.solve("information", {"p": [0.5, 0.5, 0], "q": [0.25, 0.25, 0.5],
                                          "base": 2})
    entropy, entropy_q = (s for s in r.steps if s.key.startswith("information.entropy"))
    assert text(entropy.substituted) == "-(0.5*log_2(0.5) + 0.5*log_2(0.5) + 0)"
    assert entropy.value == 1 and entropy.data["zeros"] == 1
    assert entropy.key == "information.entropy_zeros"
    assert entropy_q.key == "information.entropy"  # q has no zeros


# --- softmax cross-entropy -----------------------------------------------------------------


@pytest.mark.parametrize("k", [3, 7, 20])
def test_softmax_cross_entropy_matches_torch(k: int) -> None:
    rng = np.random.default_rng(k)
    logits = np.round(rng.normal(size=k) * 2, 3)
    label = int(rng.integers(k))
    r = derivations.solve("softmax-cross-entropy", {"logits": logits.tolist(), "label": label})
    z = torch.tensor(logits, dtype=torch.float64, requires_grad=True)
    loss = torch.nn.functional.cross_entropy(z[None], torch.tensor([label]))
    loss.backward()
    a = r.answers
    assert float(a["loss"]) == pytest.approx(loss.item(), rel=1e-12)
    np.testing.assert_allclose([float(x) for x in a["probs"]],
                               torch.softmax(z, 0).detach().numpy(), atol=1e-14)
    np.testing.assert_allclose([float(x) for x in a["grad_logits"]], z.grad.numpy(), atol=1e-14)
    assert r.info["target"] == [1 if j == label else 0 for j in range(k)]


def test_soft_and_one_hot_targets_match_torch() -> None:
    logits = [2.0, 1.0, 0.1]
    for target in ([0, 1, 0], [0.2, 0.5, 0.3]):
        r = derivations.solve("softmax-cross-entropy", {"logits": logits, "label": target})
        z = torch.tensor(logits, dtype=torch.float64, requires_grad=True)
        loss = torch.nn.functional.cross_entropy(z[None], torch.tensor([target],
                                                                       dtype=torch.float64))
        loss.backward()
        assert float(r.answers["loss"]) == pytest.approx(loss.item(), rel=1e-12)
        np.testing.assert_allclose([float(x) for x in r.answers["grad_logits"]],
                                   z.grad.numpy(), atol=1e-14)


def test_gradient_is_derived_symbolically() -> None:
    r = derivations.solve("softmax-cross-entropy", {"logits": [14, 12], "label": 0})
    derivative = next(s for s in r.steps if s.key == "softmax_cross_entropy.derivative")
    assert text(derivative.value) == "p_i - y_i"
    zi, yi = sp.Symbol("z_i"), sp.Symbol("y_i")
    assert derivative.symbolic.has(zi) and derivative.symbolic.has(yi)
    # exact: p_1 = e^2 / (1 + e^2), as in Alammar's softmax of 14 and 12
    assert sp.simplify(r.answers["probs"][0] - sp.exp(2) / (1 + sp.exp(2))) == 0
    assert sp.simplify(r.answers["grad_logits"][0] + 1 / (1 + sp.exp(2))) == 0


@pytest.mark.parametrize("argv,param", [
    (["information", "p=[0.5,0.6,-0.1]", "q=[0.2,0.3,0.5]"], "p"),
    (["information", "p=[0.5,0.5]", "q=[0.2,0.3]"], "q"),
    (["information", "p=[0.5,0.5]", "q=[0.2,0.3,0.5]"], "q"),
    (["information", "p=[0.5,0.5]", "q=[0.5,0.5]", "base=3"], "base"),
    (["information", "p=[0.5,0.5]", "q=[0.5,0.5]", "base=bits"], "base"),
    (["information", "p=[0,0]", "q=[0.5,0.5]", "normalize=true"], "p"),
    (["information", "p=[0.5,0.5]", "q=[0.5,\"0.5\"]"], "q"),
    (["softmax-cross-entropy", "logits=[1,2,3]", "label=3"], "label"),
    (["softmax-cross-entropy", "logits=[1,2,3]", "label=1.5"], "label"),
    (["softmax-cross-entropy", "logits=[1,2,3]", "label=[0.5,0.6,0]"], "label"),
    (["softmax-cross-entropy", "logits=[1,2,3]", "label=[0,1]"], "label"),
])
def test_bad_input_names_the_parameter(input_error: Callable[[list[str]], str],
                                       argv: list[str], param: str) -> None:
    assert input_error(["solve", *argv]).startswith(f"{param}: expected ")


def test_exact_thirds_stay_fractions() -> None:
    r = derivations.solve("information", {"p": P_REF, "q": [1, 1, 1], "normalize": True})
    keys = [s.key for s in r.steps]
    assert keys[:2] == ["information.unit_nats", "information.normalized"]
    given = r.steps[1]
    assert text(given.lhs) == "[p; q]"
    assert text(given.symbolic) == "[[0.36, 0.48, 0.16], [1/3, 1/3, 1/3]]"
    entropy_q = next(s for s in r.steps if s.lhs == sp.Symbol("H_q"))
    third = r"\frac{1}{3} \cdot \ln\left(\frac{1}{3}\right)"
    assert tex(entropy_q.substituted, numbers=True) == f"- ({third} + {third} + {third})"
    assert sp.simplify(entropy_q.value - sp.log(3)) == 0  # H of the uniform distribution
    mixture = next(s for s in r.steps if s.key == "information.mixture")
    # m = (p + q) / 2 is kept exactly, (9/25 + 1/3) / 2 = 26/75, ..., but shown as decimals
    m = [(Fraction(p).limit_denominator(100) + Fraction(1, 3)) / 2 for p in P_REF]
    assert m == [Fraction(26, 75), Fraction(61, 150), Fraction(37, 150)]
    assert list(mixture.value) == [sp.Rational(x.numerator, x.denominator) for x in m]
    assert mixture.substituted is None
    assert text(mixture.value.evalf(4)) == "[[0.3467, 0.4067, 0.2467]]"
    # and the decimals are what the logarithms show: ln(0.36 / 0.3467), not ln(0.36 / (26/75))
    kl_pm = next(s for s in r.steps if s.key == "information.kl_pm")
    assert text(kl_pm.substituted) == ("0.36*ln(0.36/0.3467) + 0.48*ln(0.48/0.4067) + "
                                       "0.16*ln(0.16/0.2467)")
    assert r"\frac{0.36}{0.3467}" in tex(kl_pm.substituted, numbers=True)
    kl_qm = next(s for s in r.steps if s.key == "information.kl_qm")
    assert "/" + "75" not in text(kl_qm.substituted) and "0.4067" in text(kl_qm.substituted)
    # while the value is the exact one
    p_np, m_np = np.array(P_REF), np.array([float(x) for x in m])
    assert float(kl_pm.value) == pytest.approx(float(np.sum(p_np * np.log(p_np / m_np))),
                                               rel=1e-12)


def test_kl_direction_is_named_with_the_symbol_first() -> None:
    # D_KL(p || q) is the divergence of p from q (p 相對於 q), never "of q from p"
    for key, en, zh in [
        ("information.kl_pq", "KL(p || q), the KL divergence of p from q", "p 相對於 q"),
        ("information.kl_qp", "KL(q || p), the other way round: the KL divergence of q from p",
         "q 相對於 p"),
        ("information.kl_pm", "KL(p || m), the KL divergence of p from the mixture m",
         "p 相對於混合分布 m"),
        ("information.kl_qm", "KL(q || m), the KL divergence of q from the mixture m",
         "q 相對於混合分布 m"),
        ("gan_optimum.kl_data_mixture", "KL(p_data || m), the KL divergence of p_data from "
         "the mixture m", "p_data 相對於混合分布 m"),
        ("gan_optimum.kl_g_mixture", "KL(p_g || m), the KL divergence of p_g from the mixture m",
         "p_g 相對於混合分布 m"),
    ]:
        data = {"a": sp.Symbol("a_i"), "b": sp.Symbol("b_i")}
        assert prose_text("en", key, data).startswith(en), key
        zh_text = prose_text("zh-Hant", key, data)
        assert zh_text.startswith(en.split(",")[0]) and zh in zh_text, key


def test_softmax_cross_entropy_states_its_inputs_and_counts_classes_from_one() -> None:
    r = derivations.solve("softmax-cross-entropy", {"logits": [2, 1, 0.1], "label": 2})
    first, target = r.steps[0], r.steps[1]
    assert first.key == "softmax_cross_entropy.logits"
    assert text(first.symbolic) == "[[2.0, 1.0, 0.1]]"  # entries share their decimals
    assert target.data["label"] == 2 and target.data["index"] == 3
    prose = prose_text("en", target.key, target.data)
    assert "label 2 (labels count from 0) is class 3 of 3, the class of the logit z_3" in prose
    lse = next(s for s in r.steps if s.key == "softmax_cross_entropy.logsumexp")
    assert text(lse.symbolic).startswith("-z_3 + ")
    assert "counted from 0" not in prose_text("en", lse.key, lse.data)
