"""A hold-out catalogue of mistakes teachers see every year (issue 20), kept as data.

Written before the mistakes were added to the derivations, from the families the issue lists
(a mask, scale or normalisation left out or misplaced; transposes; a non-linearity or gate left
out; a sign; the wrong log base or norm; off by one; a factor lost; framework defaults and
counting; an operation skipped). Each case is a question (derivation and parameters) and the
answers a student making that mistake types, computed here with NumPy from the formulas as the
student would write them: never from dlexam. tests/test_holdout.py measures how many the checker
names, and that none is accepted as right.
"""

# ruff: noqa: N806
# (the literature's letters: Q, K, V, C)

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

Q = [[1.0, 0.0, 0.5], [0.5, 1.0, -0.5], [0.0, 2.0, 1.0]]
K = [[1.0, 1.0, 0.0], [0.0, 2.0, -1.0], [1.5, -0.5, 0.5]]
V = [[1.0, 2.0], [3.0, -1.0], [0.0, 1.0]]
QKV = {"Q": Q, "K": K, "V": V, "mask": "causal"}


def _softmax(s: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(s - np.max(s, axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _causal(s: np.ndarray) -> np.ndarray:
    return np.where(np.tril(np.ones_like(s)) > 0, s, -np.inf)


def _scores(transposed: bool = False) -> np.ndarray:
    q, k = np.array(Q), np.array(K)
    return (k @ q.T if transposed else q @ k.T) / math.sqrt(q.shape[1])


@dataclass(frozen=True)
class Case:
    """One hold-out mistake: the question, and the answers a student making it types."""

    family: str
    title: str
    derivation: str
    params: dict[str, Any]
    answers: Callable[[], dict[str, Any]]


def _mask_left_out() -> dict[str, Any]:
    return {"weights": _softmax(_scores())}


def _transposed_scores() -> dict[str, Any]:
    return {"weights": _softmax(_causal(_scores(transposed=True)))}


def _mask_and_scale_left_out() -> dict[str, Any]:
    return {"weights": _softmax(_scores() * math.sqrt(3))}


def _mask_after_softmax() -> dict[str, Any]:
    w = _softmax(_scores())
    return {"weights": np.where(np.tril(np.ones_like(w)) > 0, w, 0.0)}


def _weights_transposed_into_z() -> dict[str, Any]:
    w = _softmax(_causal(_scores()))
    return {"Z": w.T @ np.array(V)}


def _gru_one_bias() -> dict[str, Any]:
    n, m = 16, 8
    return {"layers": [3 * n * (n + m + 1)]}


def _bidirectional_once() -> dict[str, Any]:
    n, m = 8, 4
    return {"layers": [4 * n * (n + m + 1)]}


def _lstm_no_recurrent() -> dict[str, Any]:
    n, m = 10, 6
    return {"layers": [4 * n * (m + 1)]}


def _loss_in_bits() -> dict[str, Any]:
    p = _softmax(np.array([2.0, 1.0, 0.1]))
    return {"loss": -math.log2(p[0])}


def _entropy_in_bits() -> dict[str, Any]:
    p = np.array([0.2, 0.8])
    return {"entropy_p": float(-(p * np.log2(p)).sum())}


_G = np.array([3.0, -4.0, 12.0])


def _not_clipped() -> dict[str, Any]:
    return {"g": _G}


def _l1_norm() -> dict[str, Any]:
    return {"norm_before": float(np.abs(_G).sum())}


def _inverted_ratio() -> dict[str, Any]:
    norm = float(np.linalg.norm(_G))
    return {"g": _G * norm / 6.5}


_RNN = {"U": [0.5, 0.6], "W": [[0.1, 0.2], [0.3, 0.4]], "V": [1.0, 2.0], "b": [1.0, -1.0],
        "c": 0.1, "x": [2, 3]}


def _rnn_no_tanh() -> dict[str, Any]:
    U, W, b = np.array(_RNN["U"]), np.array(_RNN["W"]), np.array(_RNN["b"])
    h = np.zeros(2)
    hs = []
    for x in _RNN["x"]:
        h = U * x + W @ h + b  # tanh left out
        hs.append(h)
    return {"h": np.array(hs)}


_LSTM = {"W_f": [[0.5, 0.1, 0.2]], "W_i": [[0.4, 0.6, -0.9]], "W_C": [[-1.0, 0.7, -0.2]],
         "W_o": [[0.6, -1.0, -0.2]], "b_f": [0.2], "b_i": [-0.3], "b_C": [0.5], "b_o": [0.4],
         "x": [[1.0, -1.0], [0.5, 0.9]], "h0": [0], "C0": [0.3]}


def _lstm(variant: str) -> dict[str, Any]:
    def sig(v: np.ndarray) -> np.ndarray:
        return 1 / (1 + np.exp(-v))

    h, C = np.array(_LSTM["h0"], dtype=float), np.array(_LSTM["C0"], dtype=float)
    hs, Cs = [], []
    for x in _LSTM["x"]:
        hx = np.concatenate([h, x])
        f = sig(np.array(_LSTM["W_f"]) @ hx + _LSTM["b_f"])
        i = sig(np.array(_LSTM["W_i"]) @ hx + _LSTM["b_i"])
        cand = np.tanh(np.array(_LSTM["W_C"]) @ hx + _LSTM["b_C"])
        o = sig(np.array(_LSTM["W_o"]) @ hx + _LSTM["b_o"])
        C = f * C + (cand if variant == "no-input-gate" else i * cand)
        h = o * (C if variant == "no-tanh-of-cell" else np.tanh(C))
        hs.append(h)
        Cs.append(C)
    return {"h": np.array(hs)} if variant == "no-tanh-of-cell" else {"C": np.array(Cs)}


def _jsd_without_half() -> dict[str, Any]:
    p, q = np.array([0.2, 0.8]), np.array([0.5, 0.5])
    m = (p + q) / 2
    return {"jsd": float((p * np.log(p / m)).sum() + (q * np.log(q / m)).sum())}


def _gradient_without_target() -> dict[str, Any]:
    return {"grad_logits": _softmax(np.array([2.0, 1.0, 0.1]))}


def _gan_jsd_factor_lost() -> dict[str, Any]:
    p, g = np.array([0.82, 0.18]), np.array([0.74, 0.26])
    m = (p + g) / 2
    jsd = ((p * np.log(p / m)).sum() + (g * np.log(g / m)).sum()) / 2
    return {"C_G": float(-math.log(4) + jsd)}


def _positions_from_one() -> dict[str, Any]:
    n, d = 3, 4
    pe = np.zeros((n, d))
    for pos in range(n):
        for i in range(d // 2):
            angle = (pos + 1) / 10000 ** (2 * i / d)
            pe[pos, 2 * i], pe[pos, 2 * i + 1] = math.sin(angle), math.cos(angle)
    return {"PE": pe}


def _sequence_log2() -> dict[str, Any]:
    return {"log_probability": float(np.log2([0.78, 0.71, 0.3]).sum())}


def _gan_value_sign() -> dict[str, Any]:
    real, fake = np.array([0.8, 0.6]), np.array([0.3, 0.3, 0.4])
    value = np.log(real).mean() + np.log(1 - fake).mean()
    return {"loss_D": float(value)}  # V itself, the minus sign of -V left out


def _pe_in_degrees() -> dict[str, Any]:
    n, d = 3, 4
    pe = np.zeros((n, d))
    for pos in range(n):
        for i in range(d // 2):
            angle = math.radians(pos / 10000 ** (2 * i / d))  # the calculator in degrees
            pe[pos, 2 * i], pe[pos, 2 * i + 1] = math.sin(angle), math.cos(angle)
    return {"PE": pe}


_SKIP_GRAM = {"v_c": [0.5, -1.0], "U": [[1.0, 0.5], [-0.5, 1.0], [0.2, 0.3]], "target": "w2"}


def _skip_gram_loss_sign() -> dict[str, Any]:
    s = np.array(_SKIP_GRAM["U"]) @ np.array(_SKIP_GRAM["v_c"])
    return {"loss": float(s[1] - np.log(np.exp(s).sum()))}  # ln p(o | c), no minus sign


def _gan_value_pooled() -> dict[str, Any]:
    real, fake = np.array([0.8, 0.6]), np.array([0.3, 0.3, 0.4])
    pooled = np.concatenate([np.log(real), np.log(1 - fake)]).mean()  # BCELoss on both stacked
    return {"loss_D": float(-pooled)}


HOLDOUT: list[Case] = [
    Case("mask left out", "causal mask asked and left out", "self-attention", QKV,
         _mask_left_out),
    Case("transpose", "K Q^T for Q K^T", "self-attention", QKV, _transposed_scores),
    Case("mask and scale left out", "no mask and no scaling at once", "self-attention", QKV,
         _mask_and_scale_left_out),
    Case("mask misplaced", "mask after the softmax (no renormalisation)", "self-attention", QKV,
         _mask_after_softmax),
    Case("transpose", "A^T V for A V", "self-attention", QKV, _weights_transposed_into_z),
    Case("framework default", "Keras GRU reset_after=True with one bias", "param-count",
         {"model": "GRU(16, input_shape=(5, 8))"}, _gru_one_bias),
    Case("counting", "Bidirectional not doubled", "param-count",
         {"model": "Bidirectional(LSTM(8), input_shape=(5, 4))"}, _bidirectional_once),
    Case("counting", "recurrent weights left out", "param-count",
         {"model": "LSTM(10, input_shape=(3, 6))"}, _lstm_no_recurrent),
    Case("log base", "loss in bits where nats were asked", "softmax-cross-entropy",
         {"logits": [2.0, 1.0, 0.1], "label": 0}, _loss_in_bits),
    Case("log base", "entropy in bits where nats were asked", "information",
         {"p": [0.2, 0.8], "q": [0.5, 0.5], "base": "e"}, _entropy_in_bits),
    Case("operation skipped", "not clipped though the norm exceeds the threshold",
         "clip-gradient", {"g": [3, -4, 12], "threshold": 6.5}, _not_clipped),
    Case("norm", "L1 norm for the L2 norm", "clip-gradient",
         {"g": [3, -4, 12], "threshold": 6.5}, _l1_norm),
    Case("factor", "the clipping ratio inverted", "clip-gradient",
         {"g": [3, -4, 12], "threshold": 6.5}, _inverted_ratio),
    Case("non-linearity left out", "tanh left out of the RNN state", "rnn-forward", _RNN,
         _rnn_no_tanh),
    Case("non-linearity left out", "tanh of C_t left out", "lstm-forward", _LSTM,
         lambda: _lstm("no-tanh-of-cell")),
    Case("gate left out", "the input gate left out", "lstm-forward", _LSTM,
         lambda: _lstm("no-input-gate")),
    Case("factor", "JSD without its 1/2", "information",
         {"p": [0.2, 0.8], "q": [0.5, 0.5], "base": "e"}, _jsd_without_half),
    Case("sign / term left out", "softmax gradient without the target", "softmax-cross-entropy",
         {"logits": [2.0, 1.0, 0.1], "label": 0}, _gradient_without_target),
    Case("factor", "C(G) = -log 4 + JSD (2 JSD's factor lost)", "gan-optimum",
         {"p_data": [0.82, 0.18], "p_g": [0.74, 0.26]}, _gan_jsd_factor_lost),
    Case("off by one", "positions counted from 1", "positional-encoding", {"n": 3, "d": 4},
         _positions_from_one),
    Case("log base", "log-probability in bits", "sequence-probability",
         {"probs": [0.78, 0.71, 0.3]}, _sequence_log2),
    Case("sign left out", "the discriminator loss without its minus sign", "gan-value",
         {"d_real": [0.8, 0.6], "d_fake": [0.3, 0.3, 0.4]}, _gan_value_sign),
    Case("unit", "sin and cos in degrees (the calculator's mode)", "positional-encoding",
         {"n": 3, "d": 4}, _pe_in_degrees),
    Case("sign left out", "the skip-gram loss without its minus sign", "skip-gram", _SKIP_GRAM,
         _skip_gram_loss_sign),
    Case("framework default", "one mean over the real and generated samples (BCELoss)",
         "gan-value", {"d_real": [0.8, 0.6], "d_fake": [0.3, 0.3, 0.4]}, _gan_value_pooled),
]
