"""Entropy, cross-entropy, KL, JSD and softmax cross-entropy: published anchors, NumPy, torch."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from fractions import Fraction

import keras
import numpy as np
import pytest
import sympy as sp
import torch

from dlexam import derivations
from dlexam.cli import main
from dlexam.notation import tex, text
from dlexam.render import prose_text

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
    # batches, reductions, bases, renormalisation
    (["softmax-cross-entropy", "logits=[[1,2,3],[0,1,0]]", "label=[0,3]"], "label"),
    (["softmax-cross-entropy", "logits=[[1,2,3],[0,1,0]]", "label=[0,1,2]"], "label"),
    (["softmax-cross-entropy", "logits=[[1,2,3],[0,1,0]]", "label=1"], "label"),
    (["softmax-cross-entropy", "logits=[[1,2,3],[0,1,0]]", "label=[[1,0,0]]"], "label"),
    (["softmax-cross-entropy", "logits=[[1,2,3],[0,1,0]]", "label=[[1,0,0],[0.5,0.4,0]]"],
     "label"),
    (["softmax-cross-entropy", "logits=[1,2,3]", "label=[[1,0,0],[0,1,0]]"], "label"),
    (["softmax-cross-entropy", "logits=[1,2,3]", "label=0", "reduction=avg"], "reduction"),
    (["softmax-cross-entropy", "logits=[1,2,3]", "label=0", "base=3"], "base"),
    (["information", "p=[[0.5,0.5],[0.2,0.8]]", "q=[[0.5,0.5],[0.2,0.8],[0.1,0.9]]"], "q"),
    (["information", "p=[[0.5,0.5],[0.2,0.8]]", "q=[0.5,0.5]"], "q"),
    (["information", "p=[0.5,0.5]", "q=[[0.5,0.5],[0.2,0.8]]"], "q"),
    (["information", "p=[[0.5,0.5],[0.2,0.79]]", "q=[[0.5,0.5],[0.2,0.8]]"], "p"),
    (["information", "p=[0.5,0.500002]", "q=[0.5,0.5]"], "p"),
    (["information", "p=[0.5,0.5]", "q=[0.5,0.5]", "reduction=max"], "reduction"),
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


# --- batches, reductions, the JS distance ------------------------------------------------------


def _js_distance(p: np.ndarray, q: np.ndarray, base: float) -> float:
    """sqrt(JSD) from its definition (what scipy.spatial.distance.jensenshannon computes: it
    divides p and q by their sums, then the square root of the mean KL from the mixture)."""
    p, q = p / p.sum(), q / q.sum()
    m = (p + q) / 2
    return math.sqrt((_np_kl(p, m, base) + _np_kl(q, m, base)) / 2)


@pytest.mark.parametrize("base,b", [("e", np.e), ("2", 2.0), ("10", 10.0)])
def test_js_distance_is_the_square_root_of_the_divergence(base: str, b: float) -> None:
    rng = np.random.default_rng(11)
    for k in (2, 4, 9):
        p = rng.dirichlet(np.ones(k)).round(4)
        q = rng.dirichlet(np.ones(k)).round(4)
        r = derivations.solve("information", {"p": p.tolist(), "q": q.tolist(), "base": base,
                                              "normalize": True})
        assert float(r.answers["js_distance"]) == pytest.approx(_js_distance(p, q, b),
                                                                rel=1e-12)
        assert float(r.answers["js_distance"]) ** 2 == pytest.approx(float(r.answers["jsd"]),
                                                                     rel=1e-12)
    # published, the examples of scipy.spatial.distance.jensenshannon's documentation:
    # ([1, 0, 0], [0, 1, 0], base 2) -> 1.0 and ([1, 0], [0.5, 0.5], natural logs) -> 0.4645...
    r = derivations.solve("information", {"p": [1, 0, 0], "q": [0, 1, 0], "base": "2"})
    assert float(r.answers["js_distance"]) == pytest.approx(1.0, abs=1e-15)
    r = derivations.solve("information", {"p": [1, 0], "q": [0.5, 0.5]})
    assert float(r.answers["js_distance"]) == pytest.approx(0.46450140402245893, rel=1e-14)
    step = next(s for s in r.steps if s.key == "information.js_distance")
    prose = prose_text("en", step.key, step.data)
    assert "square root" in prose and "scipy.spatial.distance.jensenshannon" in prose


def test_sums_within_a_millionth_are_renormalised_and_said_so() -> None:
    rounded = [0.333333, 0.333333, 0.333333]  # sums to 0.999999
    r = derivations.solve("information", {"p": P_REF, "q": rounded})
    exact = derivations.solve("information", {"p": P_REF, "q": [Fraction(1, 3)] * 3})
    for name in exact.answers:
        assert float(r.answers[name]) == pytest.approx(float(exact.answers[name]), rel=1e-12)
    notes = [s for s in r.steps if s.key == "information.renormalized"]
    assert len(notes) == 1 and notes[0].data["name"] == sp.Symbol("q")
    for lang in ("en", "zh-Hant"):
        text_ = prose_text(lang, notes[0].key, notes[0].data)
        assert "0.999999" in text_ and "1e-6" in text_
    assert "renormalised" in prose_text("en", notes[0].key, notes[0].data)
    # a sum of exactly 1 is used as given, with no note
    assert not [s for s in exact.steps if s.key == "information.renormalized"]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_batches_of_distributions_match_numpy(reduction: str) -> None:
    rng = np.random.default_rng(5)
    p = rng.dirichlet(np.ones(4), size=3).round(6)
    q = rng.dirichlet(np.ones(4), size=3).round(6)
    p, q = p / p.sum(1, keepdims=True), q / q.sum(1, keepdims=True)  # within 1e-6 of 1 anyway
    r = derivations.solve("information", {"p": p.tolist(), "q": q.tolist(), "base": "2",
                                          "reduction": reduction})
    rows = {
        "entropy_p": [_np_entropy(x, 2) for x in p],
        "entropy_q": [_np_entropy(x, 2) for x in q],
        "cross_entropy": [float(-np.sum(x * np.log2(y))) for x, y in zip(p, q, strict=True)],
        "kl_pq": [_np_kl(x, y, 2) for x, y in zip(p, q, strict=True)],
        "kl_qp": [_np_kl(y, x, 2) for x, y in zip(p, q, strict=True)],
        "js_distance": [_js_distance(x, y, 2) for x, y in zip(p, q, strict=True)],
    }
    plain = r.plain_answers()
    for name, values in rows.items():
        expected = {"mean": np.mean(values), "sum": np.sum(values), "none": values}[reduction]
        np.testing.assert_allclose(plain[name], expected, rtol=1e-9, err_msg=name)
    assert r.info["reduction"] == reduction and r.info["rows"] == 3
    keys = [s.key for s in r.steps]
    assert keys.count("information.row") == 3 and f"information.batch_{reduction}" in keys
    assert keys.count(f"information.reduced_{reduction}") == len(plain)


def test_batch_cross_entropy_is_keras_categorical_crossentropy() -> None:
    p = np.array([[0, 1, 0], [0.2, 0.5, 0.3]], dtype=float)  # targets
    q = np.array([[0.05, 0.95, 0], [0.1, 0.8, 0.1]], dtype=float)  # predictions
    q[0] = [0.05, 0.9, 0.05]
    r = derivations.solve("information", {"p": p.tolist(), "q": q.tolist()})
    keras_value = float(keras.losses.CategoricalCrossentropy()(p, q))
    assert float(r.answers["cross_entropy"]) == pytest.approx(keras_value, rel=1e-6)
    none = keras.losses.CategoricalCrossentropy(reduction=None)(p, q)
    r = derivations.solve("information", {"p": p.tolist(), "q": q.tolist(),
                                          "reduction": "none"})
    np.testing.assert_allclose(r.plain_answers()["cross_entropy"],
                               torch.as_tensor(none).tolist(), rtol=1e-6)


def _torch_batch(logits: np.ndarray, target: torch.Tensor, reduction: str
                 ) -> tuple[np.ndarray, np.ndarray]:
    z = torch.tensor(logits, dtype=torch.float64, requires_grad=True)
    loss = torch.nn.functional.cross_entropy(z, target, reduction=reduction)
    (loss.sum() if reduction == "none" else loss).backward()
    assert z.grad is not None
    return loss.detach().numpy(), z.grad.numpy()


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("targets", ["indices", "probabilities"])
def test_softmax_batches_match_torch(reduction: str, targets: str) -> None:
    rng = np.random.default_rng(3)
    logits = np.round(rng.normal(size=(3, 4)) * 2, 2)
    if targets == "indices":
        label: list = [2, 0, 3]
        target = torch.tensor(label)
    else:
        label = [[0.1, 0.2, 0.3, 0.4], [0, 0, 1, 0], [0.25, 0.25, 0.25, 0.25]]
        target = torch.tensor(label, dtype=torch.float64)
    r = derivations.solve("softmax-cross-entropy", {"logits": logits.tolist(), "label": label,
                                                    "reduction": reduction})
    loss, grad = _torch_batch(logits, target, reduction)
    plain = r.plain_answers()
    np.testing.assert_allclose(plain["loss"], loss, rtol=1e-12)
    np.testing.assert_allclose(plain["grad_logits"], grad, atol=1e-14)
    probs = torch.softmax(torch.tensor(logits), 1).numpy()
    np.testing.assert_allclose(plain["probs"], probs, atol=1e-14)
    assert isinstance(plain["loss"], list) == (reduction == "none")


def test_softmax_batch_matches_keras() -> None:
    logits = np.array([[2.0, 1.0, 0.1], [0.5, 2.5, 0.3]])
    sparse = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    r = derivations.solve("softmax-cross-entropy", {"logits": logits.tolist(), "label": [0, 1]})
    assert float(r.answers["loss"]) == pytest.approx(float(sparse(np.array([0, 1]), logits)),
                                                     rel=1e-6)
    soft = np.array([[0.7, 0.2, 0.1], [0, 1, 0]])
    dense = keras.losses.CategoricalCrossentropy(from_logits=True)
    r = derivations.solve("softmax-cross-entropy", {"logits": logits.tolist(),
                                                    "label": soft.tolist()})
    assert float(r.answers["loss"]) == pytest.approx(float(dense(soft, logits)), rel=1e-6)
    dense_sum = keras.losses.CategoricalCrossentropy(from_logits=True, reduction="sum")
    r = derivations.solve("softmax-cross-entropy", {"logits": logits.tolist(),
                                                    "label": soft.tolist(), "reduction": "sum"})
    assert float(r.answers["loss"]) == pytest.approx(float(dense_sum(soft, logits)), rel=1e-6)


@pytest.mark.parametrize("base,b", [("2", 2.0), ("10", 10.0)])
def test_softmax_loss_and_gradient_in_other_bases(base: str, b: float) -> None:
    logits = [2.0, 1.0, 0.1]
    r = derivations.solve("softmax-cross-entropy", {"logits": logits, "label": 0, "base": base})
    z = np.array(logits)
    p = np.exp(z) / np.exp(z).sum()
    assert float(r.answers["loss"]) == pytest.approx(-np.log(p[0]) / np.log(b), rel=1e-12)
    # d/dz of -log_b p_0 = (p - y) / ln b
    np.testing.assert_allclose([float(x) for x in r.answers["grad_logits"]],
                               (p - np.array([1, 0, 0])) / np.log(b), atol=1e-14)
    keys = [s.key for s in r.steps]
    assert f"softmax_cross_entropy.loss_base{base}" in keys
    assert "softmax_cross_entropy.gradient_scaled_base" in keys
    assert r.info["unit"] == {"2": "bits", "10": "hartleys"}[base]
    # the base-10 slip does not apply when base 10 is asked
    mistakes = [m.id for m in derivations.get("softmax-cross-entropy").applicable_mistakes(
        {"logits": logits, "label": 0, "base": base})]
    assert ("log-base-10" in mistakes) == (base != "10")


def test_batch_from_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["solve", "softmax-cross-entropy", "logits=[[2,1,0.1],[0.5,2.5,0.3]]",
                 "label=[0,1]", "reduction=none", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and len(out["answers"]["loss"]) == 2
    assert out["answers"]["loss"][0] == pytest.approx(0.4170300162778335, rel=1e-12)
    code = main(["solve", "information", "p=[[0.5,0.5],[0.9,0.1]]", "q=[[0.2,0.8],[0.3,0.7]]",
                 "reduction=sum", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and isinstance(out["answers"]["js_distance"], float)
    code = main(["show", "softmax-cross-entropy"])
    shown = capsys.readouterr().out
    assert code == 0 and "reduction" in shown and "n x k" in shown
    code = main(["show", "information"])
    shown = capsys.readouterr().out
    assert code == 0 and "js_distance" in shown and "reduction" in shown
