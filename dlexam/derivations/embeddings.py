"""Word embeddings: one skip-gram step with the full softmax over the vocabulary.

Skip-gram (Mikolov et al., 2013) predicts a context word o from the centre word c: with the
centre word's vector v_c and one output vector u_w per word of the vocabulary (the rows of U),

    s_w = u_w^T v_c,   p(w | c) = exp(s_w) / sum_x exp(s_x),   L = -ln p(o | c),

and the gradient of the loss with respect to the centre vector is

    dL/dv_c = -u_o + sum_w p(w | c) u_w = U^T (p - y),

the observed context word's vector taken away from the vectors expected under the model (y is
the one-hot vector of o). Natural logarithms, as the frameworks' losses.
"""

# ruff: noqa: N803, N806
# (U is the matrix of output vectors, as the literature names it)

from __future__ import annotations

from typing import Any

import sympy as sp

from dlexam.derivations.contract import Answer, Mistake
from dlexam.derivations.core import Result, Step, derivation, matrices_of, terms_of
from dlexam.derivations.distributions import Log
from dlexam.derivations.forms import WRITTEN_DIGITS, Ratio, as_written
from dlexam.derivations.params import Param, bind_dims
from dlexam.derivations.sampling import Draw
from dlexam.errors import InputError, Said
from dlexam.notation import msym, register_symbols, sym
from dlexam.notation.display import Listed

register_symbols({
    "sg_v_c": ("v_c", "v_c"),
    "sg_U": ("U", "U"),
    "sg_u_o": ("u_o", "u_o"),
    "sg_u_w": ("u_w", "u_w"),
    "sg_s": ("s", "s"),
    "sg_s_w": ("s_w", "s_w"),
    "sg_s_o": ("s_o", "s_o"),
    "sg_p": ("p", "p"),
    "sg_p_w": (r"p(w \mid c)", "p(w | c)"),
    "sg_p_o": (r"p(o \mid c)", "p(o | c)"),
    "sg_y": ("y", "y"),
    "sg_L": ("L", "L"),
    "sg_sum_exp": (r"\sum_{x} e^{s_x}", "Σ_x exp(s_x)"),
    "sg_expected_u": (r"\sum_{w} p(w \mid c)\, u_w", "Σ_w p(w | c) u_w"),
    "sg_grad": (r"\frac{\partial L}{\partial v_c}", "∂L/∂v_c"),
    "sg_U_T": (r"U^{\top}", "U^T"),
})

WORD_MAX_LENGTH = 24
WORDS_MAX_LENGTH = 300

PARAMS = [
    Param("v_c", "array", shapes=(("d",),)),
    Param("U", "array", shapes=(("V", "d"),)),
    Param("words", "string", default=None, max_length=WORDS_MAX_LENGTH),
    Param("target", "string", max_length=WORD_MAX_LENGTH),
]

_VOCABULARY = ("the", "cat", "sat", "on", "mat", "dog", "ran", "park", "deep", "learning",
               "is", "fun", "word", "vector", "king", "queen")


def words_of(words: str | None, count: int) -> list[str]:
    """The vocabulary's words: those given (comma-separated), or w1 .. wV.

    Raises:
        InputError: not one word per row of U, an empty or too long word, or a word twice.
    """
    if words is None:
        return [f"w{k}" for k in range(1, count + 1)]
    out = [part.strip() for part in words.split(",")]
    if len(out) != count or not all(out):
        raise InputError("words", Said("embeddings.errors.words", n=count), f"{len(out)}")
    for index, word in enumerate(out, start=1):
        if len(word) > WORD_MAX_LENGTH:
            raise InputError("words", Said("embeddings.errors.length", n=WORD_MAX_LENGTH),
                             Said("embeddings.errors.word_of", index=index, length=len(word)))
    if len(set(out)) != len(out):
        raise InputError("words", Said("embeddings.errors.once"), Said("inputs.a_word_twice"))
    return out


def _target_index(target: str, labels: list[str]) -> int:
    word = target.strip()
    if word not in labels:
        shown = ", ".join(labels) if len(labels) <= 8 else ", ".join(labels[:8]) + ", ..."
        raise InputError("target", Said("embeddings.errors.target", words=shown),
                         repr(target[:40]))
    return labels.index(word)


def sample_skip_gram(draw: Draw, fixed: dict[str, Any]) -> dict[str, Any]:
    """A vocabulary of three to five words, vectors of two or three one-decimal numbers in
    [-1, 1] (none all zero), and a context word to predict. The gradient's two parts differ
    visibly: the expected output vector is not near 0, nor near the target's own vector."""
    dims = bind_dims(PARAMS, fixed)
    given = fixed.get("words")
    d = dims.get("d", draw.integer(2, 3))
    n = dims.get("V", len(given.split(",")) if isinstance(given, str)
                 else draw.integer(3, 5))
    target = fixed.get("target")
    out: dict[str, Any] = {}
    for _ in range(200):
        if isinstance(given, str):
            chosen = [w.strip() for w in given.split(",")]
        else:
            vocabulary = [w for w in _VOCABULARY if w != target]
            chosen = [] if target is None else [target.strip()]
            while len(chosen) < n:
                word = draw.choice(vocabulary)
                vocabulary.remove(word)
                chosen.insert(draw.integer(0, len(chosen)), word)
        out = {
            "v_c": draw.array((d,), -1, 1, nonzero=True),
            "U": draw.array((n, d), -1, 1, nonzero=True),
            "words": ", ".join(chosen),
            "target": draw.choice(chosen),
        }
        out.update(fixed)
        if out["target"].strip() not in chosen:
            break  # a fixed target that the fixed words lack: the run says so
        if any(k in fixed for k in ("v_c", "U")):
            break
        if _good(out):
            break
    return out


def _good(params: dict[str, Any]) -> bool:
    """Whether each mistake's gradient is apart from the right one (floats, for drawing)."""
    import math

    v, U = params["v_c"], params["U"]
    labels = words_of(params.get("words"), len(U))
    o = labels.index(params["target"].strip())
    s = [sum(a * b for a, b in zip(row, v, strict=True)) for row in U]
    top = max(s)
    e = [math.exp(x - top) for x in s]
    p = [x / sum(e) for x in e]
    expected = [sum(p[w] * U[w][i] for w in range(len(U))) for i in range(len(v))]
    grad = [expected[i] - U[o][i] for i in range(len(v))]
    return (max(abs(g) for g in grad) > 0.05 and max(abs(x) for x in expected) > 0.05
            and abs(math.log(sum(e)) + top) > 0.05)


def _decimal(value: sp.Basic) -> sp.Basic:
    """An inexact value put into a formula as a decimal (a traced formula as it is)."""
    if value.free_symbols:
        return value
    return sp.Float(value.evalf(WRITTEN_DIGITS), WRITTEN_DIGITS)


def _question(values: dict[str, Any]) -> dict[str, Any]:
    U = values["U"]
    return {"word_list": Listed(words_of(values.get("words"), U.rows))}


@derivation(
    "skip-gram",
    params=PARAMS,
    answers=[
        Answer("scores", "vector", shapes=(("V",),)),
        Answer("probs", "vector", shapes=(("V",),)),
        Answer("loss", "number"),
        Answer("grad_v_c", "vector", shapes=(("d",),)),
    ],
    limits={"V": 16, "d": 8},
    mistakes=[
        Mistake("no-expectation", changes=("grad_v_c",), formula=True),
        Mistake("log-base-10", changes=("loss",), formula=True),
        Mistake("gradient-sign", changes=("grad_v_c",), formula=True),
        Mistake("no-normalizer", changes=("loss",), formula=True),
        # ln p(o | c) itself, the minus sign of the loss left out (a negative loss)
        Mistake("loss-sign", changes=("loss",), formula=True),
    ],
    sampler=sample_skip_gram,
    question=_question,
)
def skip_gram(v_c: sp.ImmutableMatrix, U: sp.ImmutableMatrix, words: str | None, target: str,
              mistake: str | None = None) -> Result:
    """One skip-gram prediction: scores, softmax probabilities, the loss -ln p(o | c) of the
    context word o, and its gradient with respect to the centre vector v_c.

    Args:
        v_c: the centre word's vector (d numbers).
        U: the output vectors, one row u_w per word of the vocabulary (V x d).
        words: the vocabulary's words, comma-separated, one per row of U (w1 .. wV when not
            given).
        target: the context word o to predict, one of the words.
        mistake: ``no-expectation`` (the gradient -u_o alone), ``log-base-10`` (the loss with
            common logarithms), ``gradient-sign`` (u_o - sum_w p(w | c) u_w), or
            ``no-normalizer`` (the loss -s_o, the log of the softmax's sum left out).

    Raises:
        InputError: words that do not match U's rows, or a target that is not one of them.
    """
    n, d = U.shape
    labels = words_of(words, n)
    o = _target_index(target, labels)
    v_sym, U_sym = msym("sg_v_c", d), msym("sg_U", n, d)
    steps: list[Step] = []
    with sp.evaluate(False):
        product = sp.MatMul(U_sym, v_sym)
    scores = [sp.Add(*[U[w, i] * v_c[i] for i in range(d)]) for w in range(n)]
    with sp.evaluate(False):
        numbers = sp.MatMul(sp.ImmutableMatrix(U), sp.ImmutableMatrix(v_c))
    steps.append(Step(key="skip_gram.scores", lhs=sym("sg_s"), symbolic=product,
                      substituted=numbers, value=sp.ImmutableMatrix(scores),
                      data={"V": n, "d": d, "words": Listed(labels)},
                      elidable=matrices_of(sp.ImmutableMatrix(U), substituted=None)))
    total = sp.Add(*[sp.exp(x) for x in scores])
    probs = [sp.exp(x) / total for x in scores]
    step, den_sym, den_num = _probs_step(scores, probs)
    steps.append(step)
    step, loss = _loss_step(scores, total, den_sym, den_num, o, labels, mistake)
    steps.append(step)
    more, grad = _gradient_steps(U, probs, o, labels, mistake)
    steps += more
    index = o + 1
    return Result(convention="nats", steps=tuple(steps),
                  answers={"scores": scores, "probs": probs, "loss": loss, "grad_v_c": grad},
                  info={"words": labels, "target_index": index, "unit": "nats"})


def _probs_step(scores: list[sp.Basic], probs: list[sp.Basic]
                ) -> tuple[Step, sp.Basic, sp.Basic]:
    """The softmax step: p(w | c) = e^{s_w} / sum_x e^{s_x}. Returns the step and the sum of
    exponentials as a formula and with the scores put in."""
    n = len(scores)
    sym_exps = [sp.exp(sp.Symbol(f"s_{w}"), evaluate=False) for w in range(1, n + 1)]
    num_exps = [sp.exp(as_written(x), evaluate=False) for x in scores]
    den_sym = sp.Add(*sym_exps, evaluate=False)
    den_num = sp.Add(*num_exps, evaluate=False)
    step = Step(
        key="skip_gram.probs", lhs=sym("sg_p"),
        symbolic=sp.ImmutableMatrix([Ratio(e, den_sym) for e in sym_exps]),
        substituted=sp.ImmutableMatrix([Ratio(e, den_num) for e in num_exps]),
        value=sp.ImmutableMatrix(probs), data={"V": n},
        elidable=terms_of(n, lhs=sym("sg_p_w"),
                          symbolic=Ratio(sp.exp(sym("sg_s_w"), evaluate=False),
                                         sym("sg_sum_exp")), substituted=None))
    return step, den_sym, den_num


def _loss_step(scores: list[sp.Basic], total: sp.Basic, den_sym: sp.Basic, den_num: sp.Basic,
               o: int, labels: list[str], mistake: str | None) -> tuple[Step, sp.Basic]:
    """The loss step: -ln p(o | c) = -s_o + ln sum_w e^{s_w} (or as the mistake has it).
    Returns the step and the loss."""
    n = len(scores)
    index = o + 1
    s_o = sp.Symbol(f"s_{index}")
    log_sum = sp.log(total)
    if mistake == "no-normalizer":
        loss = -scores[o]
        with sp.evaluate(False):
            formula = sp.Mul(-1, s_o)
            put = sp.Mul(-1, as_written(scores[o]))
        key = "skip_gram.loss_no_normalizer"
    elif mistake == "loss-sign":
        loss = scores[o] - log_sum
        with sp.evaluate(False):
            formula = sp.Add(s_o, sp.Mul(-1, Log(den_sym, sp.E)))
            put = sp.Add(as_written(scores[o]), sp.Mul(-1, Log(den_num, sp.E)))
        key = "skip_gram.loss_sign"
    else:
        loss = log_sum - scores[o]
        if mistake == "log-base-10":
            loss = loss / sp.log(10)
        with sp.evaluate(False):
            formula = sp.Add(sp.Mul(-1, s_o), Log(den_sym, sp.E))
            put = sp.Add(sp.Mul(-1, as_written(scores[o])), Log(den_num, sp.E))
            if mistake == "log-base-10":  # log10 p = ln p / ln 10
                formula = Ratio(formula, Log(10, sp.E))
                put = Ratio(put, Log(10, sp.E))
        key = "skip_gram.loss" if mistake != "log-base-10" else "skip_gram.loss_log10"
    shorter = formula
    if mistake != "no-normalizer":  # the sum of exponentials in its Sigma form
        with sp.evaluate(False):
            shorter = sp.Add(sp.Mul(-1, s_o), Log(sym("sg_sum_exp"), sp.E))
            if mistake == "loss-sign":
                shorter = sp.Add(s_o, sp.Mul(-1, Log(sym("sg_sum_exp"), sp.E)))
            if mistake == "log-base-10":
                shorter = Ratio(shorter, Log(10, sp.E))
    step = Step(key=key, lhs=sym("sg_L"), symbolic=formula, substituted=put, value=loss,
                data={"target": labels[o], "index": index, "score": s_o},
                elidable=terms_of(n, symbolic=shorter, substituted=None))
    return step, loss


def _gradient_steps(U: sp.ImmutableMatrix, probs: list[sp.Basic], o: int, labels: list[str],
                    mistake: str | None) -> tuple[list[Step], list[sp.Basic]]:
    """The gradient step group: the expected output vector U^T p, then dL/dv_c = U^T p - u_o
    (or as the mistake has it). Returns the steps and the gradient."""
    n, d = U.shape
    index = o + 1
    u_o = [U[o, i] for i in range(d)]
    expected = [sp.Add(*[probs[w] * U[w, i] for w in range(n)]) for i in range(d)]
    if mistake == "no-expectation":
        grad = [-x for x in u_o]
    elif mistake == "gradient-sign":
        grad = [u_o[i] - expected[i] for i in range(d)]
    else:
        grad = [expected[i] - u_o[i] for i in range(d)]
    steps = [Step(key="skip_gram.expected", lhs=sym("sg_expected_u"),
                  symbolic=sp.MatMul(msym("sg_U_T", d, n), msym("sg_p", n), evaluate=False),
                  value=sp.ImmutableMatrix(expected), data={"V": n})]
    u_o_col = sp.ImmutableMatrix([as_written(x) for x in u_o])
    expected_col = sp.ImmutableMatrix([_decimal(x) for x in expected])
    u_sym, e_sym = msym("sg_u_o", d), msym("sg_expected_u", d)
    if mistake == "no-expectation":
        g_formula = sp.MatMul(-1, u_sym, evaluate=False)
        g_put = sp.MatMul(-1, u_o_col, evaluate=False)
        g_key = "skip_gram.gradient_no_expectation"
    elif mistake == "gradient-sign":
        g_formula = sp.MatAdd(u_sym, sp.MatMul(-1, e_sym, evaluate=False), evaluate=False)
        g_put = sp.MatAdd(u_o_col, sp.MatMul(-1, expected_col, evaluate=False), evaluate=False)
        g_key = "skip_gram.gradient_sign"
    else:
        g_formula = sp.MatAdd(sp.MatMul(-1, u_sym, evaluate=False), e_sym, evaluate=False)
        g_put = sp.MatAdd(sp.MatMul(-1, u_o_col, evaluate=False), expected_col,
                          evaluate=False)
        g_key = "skip_gram.gradient"
    steps.append(Step(key=g_key, lhs=sym("sg_grad"), symbolic=g_formula, substituted=g_put,
                      value=sp.ImmutableMatrix(grad),
                      data={"target": labels[o], "index": index},
                      elidable=matrices_of(u_o_col, substituted=None)))
    return steps, grad
