"""A statement says only what applies to the question drawn, and every text a variant shows is
made from its own parameters (issue 18, items 3 and 4): a drawn mask, mode, base, loss or
convention is one sentence about it, in every language; nothing of the choices not drawn."""

from __future__ import annotations

import re
from typing import Any

import pytest

from dlexam import derivations
from dlexam.langs import codes
from dlexam.render.question import question_text

SEEDS = range(1, 13)

# what a statement printed before, when it listed every choice or named a parameter's value
_SPEC_LIKE = [r"\(mask: ", r"mask: (none|causal)", r"[（；]遮罩：", r"mode = ", r"axes = ",
              r"reduction=", r"half-mse:", r"RMSprop only", r"僅 RMSprop",
              r"convention (pytorch|classic)", r"慣例 (pytorch|classic)",
              r"where it has several", r"若有多個通道",
              r"t = 1, \.\.\., 1\)", r"reset_after` (is|為)", r"for a uniform law, its bound",
              r"（均勻分布時的）", r"\{[a-z_]+\}", r"base \{", r"Take 1 steps"]


def _statement(name: str, params: dict[str, Any], lang: str) -> str:
    return question_text(derivations.get(name), params, lang)


def _drawn(name: str, fixed: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    spec = derivations.get(name)
    return [spec.sample(seed, fixed) for seed in SEEDS]


@pytest.mark.parametrize("name", derivations.names())
def test_no_statement_lists_choices_that_were_not_drawn(name: str) -> None:
    assert derivations.get(name).sampler is not None, "every derivation has a sampler"
    for params in _drawn(name)[:4]:
        for lang in codes():
            text = _statement(name, params, lang)
            for pattern in _SPEC_LIKE:
                assert not re.search(pattern, text), (name, lang, pattern, text)


@pytest.mark.parametrize("name", ["self-attention", "multi-head-attention"])
def test_a_drawn_mask_is_a_sentence(name: str) -> None:
    for mask in ("none", "causal"):
        for params in _drawn(name, {"mask": mask})[:3]:
            en = _statement(name, params, "en")
            zh = _statement(name, params, "zh-Hant")
            assert ("Use a causal mask: position i attends to positions 1 to i only." in en) == (
                mask == "causal"), en
            assert ("使用因果遮罩" in zh) == (mask == "causal"), zh
            assert "mask" not in en.replace("causal mask", ""), en


@pytest.mark.parametrize(("name", "param"), [("information", "base"),
                                             ("softmax-cross-entropy", "base"),
                                             ("sequence-metrics", "base")])
def test_the_drawn_base_is_said_in_words(name: str, param: str) -> None:
    words = {"e": "natural logarithms (in nats)", "2": "logarithms to base 2 (in bits)",
             "10": "logarithms to base 10 (in hartleys)"}
    zh = {"e": "自然對數", "2": "以 2 為底的對數", "10": "以 10 為底的對數"}
    fixed = {"metric": "perplexity"} if name == "sequence-metrics" else {}
    for base in words:
        for params in _drawn(name, {**fixed, param: base})[:3]:
            text = _statement(name, params, "en")
            assert words[base] in text, text
            assert all(words[b] not in text for b in words if b != base), text
            assert zh[base] in _statement(name, params, "zh-Hant")
            if base != "e":
                assert "natural" not in text, text


def test_batch_reductions_are_told_only_to_a_batch() -> None:
    for params in _drawn("softmax-cross-entropy"):
        text = _statement("softmax-cross-entropy", params, "en")
        logits = params["logits"]
        batch = isinstance(logits[0], list)
        assert ("one example per row" in text) == batch, text
        said = {r for r, w in (("mean", "the mean over the examples"),
                               ("sum", "the sum over the examples"),
                               ("none", "one loss per example")) if w in text}
        assert said == ({params.get("reduction", "mean")} if batch else set()), text
    for params in _drawn("information"):
        text = _statement("information", params, "en")
        batch = isinstance(params["p"][0], list)
        assert ("Each row of p and q is one pair" in text) == batch, text


@pytest.mark.parametrize(("mode", "axes", "words"), [
    ("norm", None, "Clip by norm: when the norm of g (over all its entries) exceeds"),
    ("norm", 1, "Clip each row of g by its own norm"),
    ("norm", 0, "Clip each column of g by its own norm"),
    ("value", None, "Clip by value: each component is cut to the interval"),
    ("global-norm", None, "Clip by the global norm"),
])
def test_clipping_explains_the_drawn_mode_only(mode: str, axes: Any, words: str) -> None:
    g = [[1.5, -2.0], [0.5, 3.0]] if axes is not None else (
        [[1.5, -2.0], 3.0] if mode == "global-norm" else [1.5, -2.0, 3.0])
    params = {"g": g, "threshold": 2, "mode": mode, "axes": axes}
    text = _statement("clip-gradient", params, "en")
    assert words in text, text
    others = ["Clip by norm", "Clip each row", "Clip each column", "Clip by value",
              "Clip by the global norm"]
    assert sum(o in text for o in others) == 1, text
    assert "依" in _statement("clip-gradient", params, "zh-Hant") or "每一" in _statement(
        "clip-gradient", params, "zh-Hant")


@pytest.mark.parametrize("name", [n for n in derivations.names() if n.endswith("-forward")])
def test_one_time_step_is_not_told_about_every_step(name: str) -> None:
    spec = derivations.get(name)
    params = spec.sample(3)
    x = params["x"] if "x" in params else None
    assert x is not None
    one = dict(params, x=x[:1])
    for lang, many_words, one_words in (("en", "t = 1, ..., ", "(one time step)"),
                                        ("zh-Hant", "t = 1, ..., ", "（一個時間步長）")):
        assert one_words in _statement(name, one, lang)
        assert many_words not in _statement(name, one, lang)
        if len(x) > 1:
            many = _statement(name, params, lang)
            assert f"{many_words}{len(x)}" in many and one_words not in many


def test_gru_says_b_hn_only_with_reset_after() -> None:
    for params in _drawn("gru-forward", {"reset_after": True})[:2]:
        assert "b_hn is the recurrent bias" in _statement("gru-forward", params, "en")
    for params in _drawn("gru-forward", {"reset_after": False})[:2]:
        text = _statement("gru-forward", params, "en")
        assert "b_hn" not in text and "reset_after" not in text, text


def test_optimisers_say_their_own_hyper_parameters() -> None:
    for optimizer in ("rmsprop", "adagrad"):
        for params in _drawn("optimizer-step", {"optimizer": optimizer})[:2]:
            text = _statement("optimizer-step", params, "en")
            assert ("the decay" in text) == (optimizer == "rmsprop"), text
    for convention, words in (("pytorch", "PyTorch's"), ("classic", "the classic one")):
        params = derivations.get("optimizer-step").sample(1, {"optimizer": "momentum",
                                                              "convention": convention})
        assert f"Convention: {words}" in _statement("optimizer-step", params, "en")


def test_mlp_names_the_drawn_loss_only() -> None:
    words = {"half-mse": "half the sum of the squared errors",
             "mse": "the mean of the squared errors",
             "cross-entropy": "the cross-entropy of the output"}
    for params in _drawn("mlp"):
        text = _statement("mlp", params, "en")
        loss = params.get("loss", "half-mse")
        assert {k for k, w in words.items() if w in text} == (
            {loss} if loss in words else set()), text


def test_a_base_mistake_says_the_base_it_uses() -> None:
    """The steps of solve --mistake log-base-10 (gan-value) and log-base-2 (gan-optimum) say
    the base their numbers are in, not natural logarithms."""
    from dlexam.render.prose import prose_text

    value = derivations.get("gan-value")
    params = value.sample(1)
    steps = value.run(params, mistake="log-base-10").steps
    first = prose_text("en", steps[0].key, steps[0].data)
    assert "base 10" in first and "natural" not in first
    optimum = derivations.get("gan-optimum")
    run = optimum.run(optimum.sample(1), mistake="log-base-2")
    texts = [prose_text("en", s.key, s.data) for s in run.steps]
    assert not any("nats" in t or "natural" in t for t in texts), texts


def test_mistake_feedback_does_not_contradict_the_drawn_base() -> None:
    """A mistake that applies under a base (the loss in base 10 where bits or nats were asked)
    explains itself without naming a base the question did not draw."""
    from dlexam.render.prose import prose_text

    spec = derivations.get("softmax-cross-entropy")
    for params in _drawn("softmax-cross-entropy", {"base": "2"})[:2]:
        for mistake in spec.mistakes:
            if mistake.applies is not None and not mistake.applies(spec.shown_params(params)):
                continue
            text = prose_text("en", spec.mistake_key(mistake.id) + ".explain")
            assert "uses natural logarithms" not in text, (mistake.id, text)


def test_the_slope_at_a_kink_is_said_only_when_a_term_is_on_it() -> None:
    on = {"scores": [1, 2, 3], "label": 1}  # s_1 - s_2 + 1 = 0: a term exactly at its kink
    off = {"scores": [1, 2.5, 3], "label": 1}
    assert "count the slope as 0" in _statement("hinge-loss", on, "en")
    assert "slope" not in _statement("hinge-loss", off, "en")
    assert "斜率取 0" in _statement("hinge-loss", on, "zh-Hant")


# words a text may use only when the variant drew that choice
_ONLY_WHEN = [
    (lambda p: str(p.get("base", "e")) != "e", ["uses natural logarithms", "asks for nats",
                                                 "natural logarithms (in nats)"]),
    (lambda p: str(p.get("base", "e")) != "2", ["logarithms to base 2 (in bits)"]),
    (lambda p: p.get("mask", "none") != "causal", ["causal mask", "因果遮罩"]),
    (lambda p: p.get("reduction", "mean") != "mean", ["asks for their mean",
                                                      "the mean over the examples"]),
]


@pytest.mark.parametrize("name", [n for n in derivations.names() if {
    p.name for p in derivations.get(n).params} & {"base", "mask", "reduction"}])
def test_no_text_of_a_variant_contradicts_its_parameters(name: str) -> None:
    """The statement and every applicable mistake's feedback of sampled variants (what the paper,
    the key and Moodle show) name no base, mask or reduction the variant did not draw."""
    from dlexam.render.prose import prose_text

    spec = derivations.get(name)
    for params in _drawn(name):
        shown = spec.shown_params(params)
        texts = [_statement(name, params, lang) for lang in ("en", "zh-Hant")]
        texts += [prose_text("en", spec.mistake_key(m.id) + ".explain") for m in spec.mistakes
                  if m.applies is None or m.applies(shown)]
        for unless, words in _ONLY_WHEN:
            if not unless(shown):
                continue
            for text in texts:
                assert not any(w in text for w in words), (name, shown, text)


# --- the task sentence names exactly what is asked (issue 18, item 3) -------------------------


def test_an_asked_task_names_the_asked_items_only() -> None:
    from dlexam.render.labels import answer_label
    from dlexam.render.prose import prose_text
    from dlexam.render.question import keyed

    spec = derivations.get("clip-gradient")
    params = {"g": [3, -4, 12], "threshold": 5}
    asked = [answer_label(spec, "norm_before"), answer_label(spec, "g")]
    said = {lang: prose_text(lang, *keyed(spec, params, asked)) for lang in codes()}
    assert said["en"].endswith("Compute the norm of g before clipping and the clipped gradient.")
    assert said["zh-Hant"].endswith("求截斷前 g 的範數與截斷後的梯度。")
    assert said["zh-Hans"].endswith("求裁剪前 g 的范数与裁剪后的梯度。")
    three = [*asked, answer_label(spec, "scale")]
    assert prose_text("en", *keyed(spec, params, three)).endswith(
        "Compute the norm of g before clipping, the clipped gradient and the factor by which g "
        "is multiplied.")
    whole = question_text(spec, params, "en")  # every answer: the derivation's own task
    assert ", its norm ||" in whole and ", its norm" not in said["en"]
    assert all("factor" not in said[lang] and "倍數" not in said[lang] for lang in said)


@pytest.mark.parametrize("name", derivations.names())
def test_every_statement_has_one_task_that_follows_the_asked_items(name: str) -> None:
    """For every derivation and language: the setup says no task of its own, so the exam's
    statement is the setup and one sentence naming the asked item (its label), and the
    derivation's whole task is not in it."""
    from dlexam.render.labels import answer_label
    from dlexam.render.prose import prose_text
    from dlexam.render.question import keyed

    spec = derivations.get(name)
    params = spec.sample(2)
    answer = next(a.name for a in spec.answers if a.asked)
    label = answer_label(spec, answer)
    for lang in codes():
        key, data = keyed(spec, params, [label])
        text = prose_text(lang, key, data)
        task = data["task"]
        asked = prose_text(lang, task.key, task.data)
        assert text.endswith(asked), (lang, text)
        assert prose_text(lang, label.key) in asked
        whole_key, whole = keyed(spec, params)
        own = prose_text(lang, whole["task"].key, whole["task"].data)
        assert own == asked or own not in text, (lang, text)
        assert prose_text(lang, whole_key, whole).endswith(own)
        assert not re.search(r"\{(task|items|[a-z]+_rule)\}", text), text  # all filled
