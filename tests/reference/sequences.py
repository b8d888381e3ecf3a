"""sequence-metrics: BLEU from NLTK's corpus_bleu (its clipped counts, closest reference length
and brevity penalty), perplexity from NumPy, and each named mistake written from the formulas."""

from __future__ import annotations

import math
import warnings
from collections import Counter
from fractions import Fraction
from typing import Any

import numpy as np
from nltk.translate.bleu_score import (
    brevity_penalty,
    closest_ref_length,
    corpus_bleu,
    modified_precision,
)

from reference import reference

_BASES = {"2": 2.0, "e": math.e, "10": 10.0}


def _probabilities(params: dict[str, Any]) -> np.ndarray:
    if params["probs"] is not None:
        return np.array(params["probs"], dtype=float)
    counts = {k: float(v) for k, v in params["counts"].items()}
    total = sum(counts.values())
    return np.array([counts.get(w, 0.0) / total for w in params["test"].split()])


def _perplexity(params: dict[str, Any], mistake: str | None) -> dict[str, Any]:
    p = _probabilities(params)
    b = _BASES["2" if mistake == "bits-for-nats" else str(params["base"])]
    logs = np.log(p) / np.log(b)
    if mistake == "no-geometric-mean":
        return {"cross_entropy": float(-logs.sum()), "perplexity": float(1 / np.prod(p))}
    h = float(-logs.mean())
    if mistake == "log-base-mixed":
        other = {"2": math.e, "e": 2.0, "10": math.e}[str(params["base"])]
        return {"cross_entropy": h, "perplexity": other ** h}
    return {"cross_entropy": h, "perplexity": float(np.exp(-np.log(p).mean()))}


def _unclipped(cand: list[str], refs: list[list[str]], n: int) -> tuple[int, int]:
    grams = Counter(tuple(cand[i:i + n]) for i in range(len(cand) - n + 1))
    seen = set()
    for r in refs:
        seen |= {tuple(r[i:i + n]) for i in range(len(r) - n + 1)}
    return sum(k for g, k in grams.items() if g in seen), sum(grams.values())


def _bleu(params: dict[str, Any], mistake: str | None) -> dict[str, Any]:
    cand = params["candidate"].split()
    refs = [r.split() for r in params["references"]]
    n_max = int(params["max_n"])
    weights = ([float(w) for w in params["weights"]] if params["weights"] is not None
               else [1 / n_max] * n_max)
    matches, totals = [], []
    for n in range(1, n_max + 1):
        if mistake == "precision-not-clipped":
            m, t = _unclipped(cand, refs, n)
        else:
            frac = modified_precision(refs, cand, n)  # NLTK's clipped counts (unnormalised)
            m, t = frac.numerator, frac.denominator
            if m == 0:
                t = max(0, len(cand) - n + 1)
        matches.append(m)
        totals.append(t)
    bp = 1.0
    if params["brevity"] and mistake != "brevity-penalty-left-out":
        bp = brevity_penalty(closest_ref_length(refs, len(cand)), len(cand))
    precisions = [m / t if t else 0.0 for m, t in zip(matches, totals, strict=True)]
    if mistake is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # NLTK warns when a precision has no match
            score = corpus_bleu([refs], [cand], weights=weights) if params["brevity"] else None
    else:
        score = None
    if score is None:
        if any(p == 0 and w for p, w in zip(precisions, weights, strict=True)):
            score = 0.0
        else:
            score = bp * math.exp(sum(w * math.log(p) for p, w in
                                      zip(precisions, weights, strict=True) if w))
    return {"precisions": precisions, "matches": matches, "totals": totals,
            "brevity_penalty": bp, "bleu": score}


@reference("sequence-metrics")
def sequence_metrics(params: dict[str, Any], mistake: str | None) -> dict[str, Any]:
    if params["metric"] == "perplexity":
        return _perplexity(params, mistake)
    return _bleu(params, mistake)


__all__ = ["Fraction"]
