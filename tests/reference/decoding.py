"""decoding and sequence-probability, written again from the definitions in floats (NumPy):
beam search as D2L's chapter states it (keep the k best extensions by log-probability, a kept
sequence that ends leaves the beam; rank the finished ones by log P / L^alpha), and each named
mistake."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from reference import reference

EOS = "<eos>"


def _search(tree: dict[str, Any], k: int, per_parent: bool, skip_eos: bool
            ) -> list[tuple[list[str], float]]:
    beam: list[tuple[list[str], float, dict[str, Any]]] = [([], 0.0, tree)]
    done: list[tuple[list[str], float]] = []
    first = True
    while beam:
        options = []
        for parent, (seq, lp, children) in enumerate(beam):
            for order, (token, (p, below)) in enumerate(children.items()):
                step = 0.0 if (skip_eos and token == EOS) else math.log(float(p))
                options.append((lp + step, parent, order, [*seq, token], below))
        if per_parent and not first:
            chosen = []
            for parent in range(len(beam)):
                mine = [o for o in options if o[1] == parent]
                if mine:
                    chosen.append(max(mine, key=lambda o: (o[0], -o[2])))
        else:
            chosen = sorted(options, key=lambda o: (-round(o[0], 12), o[1], o[2]))[:k]
        first = False
        beam = []
        for lp, _parent, _order, seq, below in sorted(
                chosen, key=lambda o: (-round(o[0], 12), o[1], o[2])):
            if seq[-1] == EOS or not below:
                done.append((seq, lp))
            else:
                beam.append((seq, lp, below))
    return done


@reference("decoding")
def decoding(params: dict[str, Any], mistake: str | None) -> dict[str, Any]:
    k = 1 if params["method"] == "greedy" or mistake == "greedy-as-optimal" else \
        params["beam_width"]
    lp_param = params["length_penalty"]
    alpha = None if lp_param == "none" or mistake == "length-penalty-ignored" else \
        float(lp_param)
    done = _search(params["tree"], k, mistake == "beam-as-greedy-paths",
                   mistake == "eos-probability-ignored")
    scores = [lp if alpha is None else lp / len(seq) ** alpha for seq, lp in done]
    order = sorted(range(len(done)), key=lambda i: -round(scores[i], 12))  # ties: as found
    out: dict[str, Any] = {
        "sequences": " | ".join(" ".join(done[i][0]) for i in order),
        "best": " ".join(done[order[0]][0]),
        "log_probs": [done[i][1] for i in order],
        "probabilities": [math.exp(done[i][1]) for i in order],
    }
    if lp_param != "none":
        out["scores"] = [scores[i] for i in order]
    return out


@reference("sequence-probability")
def sequence_probability(params: dict[str, Any], mistake: str | None) -> dict[str, Any]:
    p = np.array(params["probs"], dtype=float)
    if mistake == "probabilities-added":
        return {"probability": float(p.sum()), "log_probability": float(np.log(p.sum()))}
    logs = np.log(p)
    if mistake == "log-base-10":
        return {"probability": float(p.prod()), "log_probability": float(np.log10(p).sum())}
    if mistake == "log-base-2":
        return {"probability": float(p.prod()), "log_probability": float(np.log2(p).sum())}
    if mistake == "mean-log-probability":
        return {"probability": float(p.prod()), "log_probability": float(logs.mean())}
    return {"probability": float(p.prod()), "log_probability": float(logs.sum())}
