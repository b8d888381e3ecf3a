"""The attention family in NumPy: contexts, self-attention, multi-head attention, positional
encodings and a post-norm encoder layer, and each named mistake as a student would make it."""

# ruff: noqa: N803, N806
# (the literature's letters: X, W_Q, Q, K, V, Z)

from __future__ import annotations

from typing import Any

import numpy as np

from reference import reference


def _a(value: Any) -> np.ndarray:
    return np.array(value, dtype=float)


def _softmax(s: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(s - np.max(s, axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _attend(scores: np.ndarray, d_k: int | None, causal: bool, mistake: str | None,
            scale: Any = "sqrt") -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    if mistake == "no-scaling":
        divisor = 1.0
    elif mistake == "scaled-by-dk":
        divisor = float(d_k)
    elif scale == "sqrt":
        divisor = np.sqrt(d_k)
    elif scale == "none":
        divisor = 1.0
    else:
        divisor = float(scale)
    scaled = scores / divisor
    masked = None
    logits = scaled
    if causal:
        masked = np.where(np.tril(np.ones_like(scaled)) == 1, scaled, -np.inf)
        logits = masked
    weights = _softmax(logits, axis=0 if mistake == "softmax-by-column" else -1)
    return scaled, masked, weights


def _listed(m: np.ndarray) -> list[Any]:
    return [["-inf" if np.isneginf(v) else float(v) for v in row] for row in m]


@reference("self-attention")
def self_attention(p: dict[str, Any], mistake: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    causal = p["mask"] == "causal" and mistake != "no-mask"
    if p["scores"] is not None:
        S = _a(p["scores"])
        S = S.reshape(1, -1) if S.ndim == 1 else S
        d_k, V = p["d_k"], None if p["values"] is None else _a(p["values"])
    elif p["Q"] is not None:
        Q, K = _a(p["Q"]), _a(p["K"])
        V = None if p["V"] is None else _a(p["V"])
        S, d_k = (K @ Q.T if mistake == "transposed-scores" else Q @ K.T), Q.shape[1]
        out["scores"] = S.tolist()
    else:
        X = _a(p["X"])
        Q, K, V = X @ _a(p["W_Q"]), X @ _a(p["W_K"]), X @ _a(p["W_V"])
        S, d_k = (K @ Q.T if mistake == "transposed-scores" else Q @ K.T), Q.shape[1]
        out.update(Q=Q.tolist(), K=K.tolist(), V=V.tolist(), scores=S.tolist())
    if mistake == "mask-after-softmax":  # softmax of the unmasked scores, then zeros above
        scaled, masked, _weights = _attend(S, d_k, causal, None, p["scale"])
        weights = _attend(S, d_k, False, None, p["scale"])[2] * np.tril(np.ones_like(S))
    else:
        scaled, masked, weights = _attend(S, d_k, causal, mistake, p["scale"])
    out.update(scaled=scaled.tolist(), weights=weights.tolist())
    if masked is not None:
        out["masked"] = _listed(masked)
    if V is not None:
        out["Z"] = ((weights.T if mistake == "transposed-weights-in-z" else weights) @ V).tolist()
    return out


@reference("attention-context")
def attention_context(p: dict[str, Any], mistake: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if p["weights"] is not None:
        A = _a(p["weights"])
    else:
        S = _a(p["scores"])
        A = (S if mistake == "no-softmax" else _softmax(S, axis=0)
             if mistake == "softmax-by-column" else _softmax(S))
        out["weights"] = A.tolist()
    if p["states"] is None:
        return out
    H = _a(p["states"])
    H = H.reshape(-1, 1) if H.ndim == 1 else H
    used = A.T if mistake == "transposed-weights" else A
    out["contexts"] = (used @ H).tolist()
    out["context_no_attention"] = H[0 if mistake == "first-state-context" else -1].tolist()
    return out


def _multi_head(X: np.ndarray, WQ: list[Any], WK: list[Any], WV: list[Any], WO: np.ndarray,
                causal: bool, mistake: str | None, X_kv: np.ndarray | None = None,
                scale: Any = "sqrt") -> dict[str, Any]:
    kv = X if X_kv is None else X_kv
    heads, weights = [], []
    for wq, wk, wv in zip(WQ, WK, WV, strict=True):
        Q, K, V = X @ _a(wq), kv @ _a(wk), kv @ _a(wv)
        if mistake == "mask-after-softmax":  # softmax of the unmasked scores, zeros above
            A = _attend(Q @ K.T, Q.shape[1], False, None, scale)[2] * np.tril(
                np.ones((Q.shape[0], K.shape[0])))
        else:
            _scaled, _masked, A = _attend(Q @ K.T, Q.shape[1], causal, mistake, scale)
        heads.append((A.T if mistake == "transposed-weights-in-z" else A) @ V)
        weights.append(A)
    concat = np.hstack(heads)
    output = concat if mistake == "no-output-projection" else concat @ WO
    return {"heads": [h.tolist() for h in heads], "weights": [w.tolist() for w in weights],
            "concat": concat.tolist(), "output": output.tolist()}


@reference("multi-head-attention")
def multi_head_attention(p: dict[str, Any], mistake: str | None) -> dict[str, Any]:
    cross = p["X_q"] is not None
    return _multi_head(_a(p["X_q"] if cross else p["X"]), p["W_Q"], p["W_K"], p["W_V"],
                       _a(p["W_O"]), p["mask"] == "causal" and mistake != "no-mask", mistake,
                       _a(p["X_kv"]) if cross else None, p["scale"])


def _pe(n: int, d: int, mistake: str | None, base: float = 10000) -> np.ndarray:
    pe = np.zeros((n, d))
    for pos in range(n):
        for col in range(d):
            i = col // 2
            exponent = (i / d if mistake == "exponent-i" else col / d
                        if mistake == "exponent-column" else 2 * i / d)
            angle = (pos + (mistake == "positions-from-one")) / float(base)**exponent
            if mistake == "degrees":  # a calculator in degrees
                angle = angle * np.pi / 180
            sine = (col % 2 == 0) != (mistake == "sin-cos-swapped")
            pe[pos, col] = np.sin(angle) if sine else np.cos(angle)
    return pe


@reference("positional-encoding")
def positional_encoding(p: dict[str, Any], mistake: str | None) -> dict[str, Any]:
    return {"PE": _pe(p["n"], p["d"], mistake, p["base"]).tolist()}


def _layer_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=1, keepdims=True)
    var = x.var(axis=1, keepdims=True)  # biased, as torch.nn.LayerNorm
    return gamma * (x - mean) / np.sqrt(var + eps) + beta


@reference("encoder-layer")
def encoder_layer(p: dict[str, Any], mistake: str | None) -> dict[str, Any]:
    X = _a(p["X"])
    n, d = X.shape
    out: dict[str, Any] = {}
    if p["positional"]:
        pe = _pe(n, d, None)
        X = X + pe
        out.update(PE=pe.tolist(), input=X.tolist())
    eps = float(p["eps"])
    g1 = _a(p["gamma_1"]) if p["gamma_1"] is not None else np.ones(d)
    b1 = _a(p["beta_1"]) if p["beta_1"] is not None else np.zeros(d)
    g2 = _a(p["gamma_2"]) if p["gamma_2"] is not None else np.ones(d)
    b2 = _a(p["beta_2"]) if p["beta_2"] is not None else np.zeros(d)

    def ffn(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        hidden = x @ _a(p["W_1"]) + _a(p["b_1"])
        if mistake != "no-relu":
            hidden = np.maximum(0, hidden)
        return hidden, hidden @ _a(p["W_2"]) + _a(p["b_2"])

    def attention(x: np.ndarray) -> dict[str, Any]:
        return _multi_head(x, p["W_Q"], p["W_K"], p["W_V"], _a(p["W_O"]), False,
                           "no-scaling" if mistake == "no-scaling" else None)

    if mistake == "pre-norm":  # torch.nn.TransformerEncoderLayer(norm_first=True)
        n1 = _layer_norm(X, g1, b1, eps)
        mh = attention(n1)
        r1 = X + _a(mh["output"])
        hidden, f = ffn(_layer_norm(r1, g2, b2, eps))
        r2 = r1 + f
        y = r2
    else:
        mh = attention(X)
        r1 = _a(mh["output"]) + (0 if mistake == "no-residual" else X)
        n1 = _layer_norm(r1, g1, b1, eps)
        hidden, f = ffn(n1)
        r2 = f + (0 if mistake == "no-residual" else n1)
        y = _layer_norm(r2, g2, b2, eps)
    out.update(heads=mh["heads"], weights=mh["weights"], concat=mh["concat"],
               attention=mh["output"], residual_1=r1.tolist(), norm_1=n1.tolist(),
               hidden=hidden.tolist(), ffn=f.tolist(), residual_2=r2.tolist(),
               output=y.tolist())
    return out
