# ruff: noqa: N806, E741 - the dimension names as the derivations write them (T, H, O)
"""`make bench` group `limits`: every derivation timed at its documented limits.

Each derivation gets the largest inputs its declaration allows (the sizes read from the
registry, so a lowered limit is what is timed), over its input forms and switches; the worst
case per derivation is reported against the target of issue 24: every documented limit answers
within 5 s. The numbers are drawn from a fixed seed, two decimals, away from anything special.
Run alone: `.venv/bin/python bench/bench.py --only limits`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from typing import Any

TARGET_S = 5.0

Case = tuple[str, dict[str, Any]]


def _numbers(seed: int) -> tuple[Callable[..., Any], Callable[[int], list[float]]]:
    rng = random.Random(seed)

    def vec(n: int, low: float = -0.5, high: float = 0.5) -> list[float]:
        return [round(rng.uniform(low, high), 2) or 0.01 for _ in range(n)]

    def mat(r: int, c: int, low: float = -0.5, high: float = 0.5) -> list[list[float]]:
        return [vec(c, low, high) for _ in range(r)]

    return mat, vec


def _dist(n: int, rows: int | None = None, seed: int = 0) -> Any:
    rng = random.Random(n * 1000 + seed)

    def one() -> list[float]:
        raw = [rng.randint(1, 9) for _ in range(n)]
        return [r / sum(raw) for r in raw]

    return one() if rows is None else [one() for _ in range(rows)]


def cases(limits: dict[str, dict[str, int]]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(derivation, case name, parameters) at the limits."""
    mat, vec = _numbers(2024)
    L = limits
    b = L["bptt"]
    T, H, D, O, S = b["T"], b["H"], b["D"], b["O"], b["S"]
    yield "bptt", f"T={T} H={H} D={D}", {"W": mat(H, H), "U": mat(H, D), "b": vec(H),
                                         "x": mat(T, D), "h0": vec(H), "f": mat(T, H, 0.1, 0.9)}
    yield "bptt", f"targets T=S={S} O={O}", {
        "W": mat(H, H), "U": mat(H, D), "b": vec(H), "x": mat(S, D), "h0": vec(H),
        "V": mat(O, H), "c": vec(O), "target": mat(S, O)}
    yield "bptt", f"last target T={S}", {
        "W": mat(H, H), "U": mat(H, D), "b": vec(H), "x": mat(S, D), "h0": vec(H),
        "V": mat(O, H), "c": vec(O), "target": vec(O), "loss_at": "last"}
    c = L["clip-gradient"]
    N, M, K = c["N"], c["M"], c["K"]
    yield "clip-gradient", f"global-norm K={K} of {N}x{M}", {
        "g": [mat(N, M, -9, 9) for _ in range(K)], "threshold": 1, "mode": "global-norm"}
    yield "clip-gradient", f"norm {N}x{M} axes=1", {"g": mat(N, M, -9, 9), "threshold": 1,
                                                    "axes": 1}
    yield "clip-gradient", f"value {N}x{M}", {"g": mat(N, M, -9, 9), "threshold": 1,
                                              "mode": "value"}
    a = L["attention-context"]
    yield "attention-context", "scores and states", {
        "scores": mat(a["n_out"], a["n_in"], -2, 2), "states": mat(a["n_in"], a["d"])}
    yield "attention-context", "scores, symbolic states", {
        "scores": mat(a["n_out"], a["n_in"], -2, 2)}
    e = L["encoder-layer"]
    heads = e["heads"]
    yield "encoder-layer", "seeded at the limits", {
        "seed": 1, "tokens": e["tokens"], "d_model": e["d_model"], "heads": heads,
        "d_k": e["d_k"], "d_v": e["hd_v"] // heads, "d_ff": e["d_ff"], "positional": True}
    g = L["gan-optimum"]
    yield "gan-optimum", f"k={g['k']}", {"p_data": _dist(g["k"]), "p_g": _dist(g["k"], seed=1)}
    v = L["gan-value"]
    yield "gan-value", f"m=n={v['m']}", {"d_real": vec(v["m"], 0.05, 0.95),
                                         "d_fake": vec(v["n"], 0.05, 0.95)}
    r = L["gru-forward"]
    Tg, Hg, Dg = r["T"], r["H"], r["D"]
    gru = {k: mat(Hg, Dg) for k in ("W_z", "W_r", "W_h")}
    gru.update({k: mat(Hg, Hg) for k in ("U_z", "U_r", "U_h")})
    gru.update({k: vec(Hg) for k in ("b_z", "b_r", "b_h", "b_hn")})
    gru.update({"x": mat(Tg, Dg), "h0": vec(Hg)})
    yield "gru-forward", f"T={Tg} H={Hg} reset_after=true", {**gru, "reset_after": True}
    gru.pop("b_hn")
    yield "gru-forward", f"T={Tg} H={Hg} reset_after=false", {**gru, "reset_after": False}
    i = L["information"]
    for reduction in ("mean", "none"):
        yield "information", f"{i['n']} rows of {i['k']} reduction={reduction}", {
            "p": _dist(i["k"], i["n"]), "q": _dist(i["k"], i["n"], seed=1),
            "reduction": reduction, "base": "2"}
    lf = L["lstm-forward"]
    Tl, Hl, Dl = lf["T"], lf["H"], lf["D"]
    lstm = {k: mat(Hl, Hl + Dl) for k in ("W_f", "W_i", "W_C", "W_o")}
    lstm.update({k: vec(Hl) for k in ("b_f", "b_i", "b_C", "b_o", "h0", "C0")})
    yield "lstm-forward", f"T={Tl} H={Hl} D={Dl}", {**lstm, "x": mat(Tl, Dl)}
    yield "lstm-gates", "steps=10", {"steps": 10}
    m = L["multi-head-attention"]
    yield "multi-head-attention", "seeded at the limits", {
        "seed": 1, "tokens": m["tokens"], "d_model": m["d_model"], "heads": m["heads"],
        "d_k": m["d_k"], "d_v": m["hd_v"] // m["heads"], "d_out": m["d_out"]}
    yield "multi-head-attention", "seeded, causal", {
        "seed": 1, "tokens": m["tokens"], "d_model": m["d_model"], "heads": m["heads"],
        "d_k": m["d_k"], "d_v": m["hd_v"] // m["heads"], "d_out": m["d_out"], "mask": "causal"}
    model = ", ".join(["GRU(9999,return_sequences=True)"] * 30 + ["Dense(1)"])
    yield "param-count", f"31 layers, {len(model)} characters", {
        "model": model, "input_dim": 10_000_000, "framework": "pytorch"}
    yield "positional-encoding", "n=d=64", {"n": 64, "d": 64}
    rf = L["rnn-forward"]
    Tr, Hr, Dr, Or = rf["T"], rf["H"], rf["D"], rf["O"]
    for convention in ("column", "row"):
        yield "rnn-forward", f"T={Tr} H={Hr} O={Or} {convention} softmax", {
            "U": mat(Hr, Dr), "W": mat(Hr, Hr), "V": mat(Or, Hr), "b": vec(Hr), "c": vec(Or),
            "h0": vec(Hr), "x": mat(Tr, Dr), "convention": convention,
            "output_activation": "softmax"}
    s = L["self-attention"]
    n, dm, dk, dv = s["n"], s["d_model"], s["d_k"], s["d_v"]
    yield "self-attention", f"X {n}x{dm} causal", {
        "X": mat(n, dm), "W_Q": mat(dm, dk), "W_K": mat(dm, dk), "W_V": mat(dm, dv),
        "mask": "causal"}
    yield "self-attention", f"Q K V {n}x{s['m']}", {
        "Q": mat(n, dk), "K": mat(s["m"], dk), "V": mat(s["m"], dv)}
    yield "self-attention", "scores with values", {
        "scores": mat(n, s["m"], -20, 20), "d_k": 64, "values": mat(s["m"], dv)}
    sc = L["softmax-cross-entropy"]
    yield "softmax-cross-entropy", f"{sc['n']} rows of {sc['k']}, soft labels", {
        "logits": mat(sc["n"], sc["k"], -3, 3), "label": _dist(sc["k"], sc["n"]),
        "base": "2"}


def limits_bench(runs: int = 1) -> dict[str, tuple[float, str]]:
    """Times every case (the best of ``runs``), prints the worst case of each derivation and
    whether it meets the target; returns derivation -> (seconds, case)."""
    from dlexam import derivations

    limits = {name: dict(derivations.get(name).limits) for name in derivations.names()}
    worst: dict[str, tuple[float, str]] = {}
    for name, label, params in cases(limits):
        spec = derivations.get(name)
        best = float("inf")
        for _ in range(runs):
            start = time.perf_counter()
            spec.run(params)
            best = min(best, time.perf_counter() - start)
        if best > worst.get(name, (-1.0, ""))[0]:
            worst[name] = (best, label)
    print(f"derivations at their limits (worst case of each; target <= {TARGET_S:.0f} s):")
    for name in sorted(worst):
        seconds, label = worst[name]
        mark = "ok" if seconds <= TARGET_S else "OVER"
        print(f"  {name:24} {seconds:6.2f} s  {mark:4}  {label}")
    missing = sorted(set(derivations.names()) - set(worst))
    if missing:
        print("  not timed: " + ", ".join(missing))
    return worst


if __name__ == "__main__":
    limits_bench()
