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
from itertools import chain
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


def newer_cases(limits: dict[str, dict[str, int]]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """The derivations added in issue 26 at their limits, as `cases`."""
    mat, vec = _numbers(2026)
    L = limits
    n = L["activation"]["n"]
    for name in ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "gelu", "softplus", "softmax"):
        yield "activation", f"{name} n={n}", {"name": name, "x": vec(n, -3, 3)}
    yield "activation", f"gelu tanh n={n}", {"name": "gelu", "x": vec(n, -3, 3),
                                              "approximate": "tanh"}
    ca = L["conv-arithmetic"]
    big = 100_000
    for p in ("same", 0, 7):
        yield "conv-arithmetic", f"2-D n={big} repeat={ca['repeat']} p={p}", {
            "n": [big, big - 1], "k": [3, 5], "s": [1, 1], "p": p, "d": [1, 2],
            "repeat": ca["repeat"], "channels": ca["channels"], "filters": ca["filters"]}
    hk = L["hinge-loss"]["k"]
    for kink in ("0", "1"):
        scores = vec(hk, -2, 2)
        scores[1] = round(scores[0] - 1, 2)  # one term exactly at the kink
        yield "hinge-loss", f"k={hk} at_kink={kink}", {"scores": scores, "label": 0,
                                                       "at_kink": kink}
    iv = L["init-variance"]
    for scheme, distribution in (("standard", "normal"), ("xavier", "normal"),
                                 ("xavier", "uniform"), ("he", "normal"), ("he", "uniform"),
                                 ("lecun", "normal"), ("lecun", "uniform"),
                                 ("uniform-sqrt", "uniform")):
        inputs: tuple[dict[str, Any], ...] = ({"active": iv["active"] - 63},
                                              {"x_mean": 0.37, "x_variance": 1.73})
        for given in inputs:
            yield "init-variance", f"{scheme} {distribution} {', '.join(given)}", {
                "scheme": scheme, "distribution": distribution, "fan_in": iv["fan_in"] - 9,
                "fan_out": iv["fan_out"] - 27, "bias_variance": 0.11, **given}
    m = L["mlp"]
    Lm, D, K = m["L"], m["D"], m["K"]
    sizes = [D] + [m["R"]] * (Lm - 1) + [K]
    W = [mat(sizes[i + 1], sizes[i]) for i in range(Lm)]
    b = [vec(sizes[i + 1]) for i in range(Lm)]
    soft = [0.05] * K  # a soft label summing to 1 exactly, as two-decimal numbers
    soft[0] = round(1 - 0.05 * (K - 1), 2)
    for acts, loss in (("sigmoid", "half-mse"), ("tanh", "mse"), ("relu", "half-mse"),
                       ("softmax", "cross-entropy"), ("sigmoid", "cross-entropy")):
        hidden = ", ".join([acts if acts != "softmax" else "tanh"] * (Lm - 1))
        yield "mlp", f"L={Lm} of {m['R']} {acts} {loss}", {
            "x": vec(D), "W": W, "b": b, "activations": f"{hidden}, {acts}",
            "target": soft if loss == "cross-entropy" else vec(K), "loss": loss,
            "lr": 0.1}
    nm = L["normalization"]
    nn, d, C, H, Wd = nm["n"], nm["d"], nm["C"], nm["H"], nm["W"]
    X2 = mat(nn, d, -3, 3)
    X4 = [[mat(H, Wd, -3, 3) for _ in range(C)] for _ in range(nn)]
    for kind in ("batch", "layer"):
        for variance in ("biased", "unbiased"):
            yield "normalization", f"{kind} {nn}x{d} {variance}", {
                "kind": kind, "X": X2, "gamma": vec(d, 0.5, 1.5), "beta": vec(d),
                "variance": variance}
    for kind, groups in (("batch", None), ("layer", None), ("instance", None), ("group", 2)):
        yield "normalization", f"{kind} {nn}x{C}x{H}x{Wd}", {
            "kind": kind, "X": X4, "gamma": vec(C, 0.5, 1.5), "beta": vec(C),
            "variance": "unbiased", **({"groups": groups} if groups else {})}
    o = L["optimizer-step"]
    N, M, A = o["N"], o["M"], o["A"]
    steps = [mat(N, M, -2, 2) for _ in range(A)]
    w0 = mat(N, M)
    extra = {"sgd": {"weight_decay": 0.01}, "momentum": {"momentum": 0.9},
             "nesterov": {"momentum": 0.9}, "adagrad": {}, "rmsprop": {},
             "adam": {"t": o["t"]}, "adamw": {"t": o["t"], "weight_decay": 0.01}}
    for optimizer, more in extra.items():
        yield "optimizer-step", f"{optimizer} {A} steps of {N}x{M}", {
            "optimizer": optimizer, "w": w0, "g": steps, "lr": 0.01, **more}
    yield "optimizer-step", f"momentum classic {A} steps", {
        "optimizer": "momentum", "w": w0, "g": steps, "lr": 0.01, "momentum": 0.9,
        "convention": "classic", "velocity": mat(N, M)}
    sg = L["skip-gram"]
    V, ds = sg["V"], sg["d"]
    words = ", ".join(f"word{i:02d}" for i in range(V))
    yield "skip-gram", f"V={V} d={ds} words", {"v_c": vec(ds), "U": mat(V, ds),
                                                "words": words, "target": "word07"}
    yield "skip-gram", f"V={V} d={ds}", {"v_c": vec(ds), "U": mat(V, ds), "target": "w3"}

    cv = L["conv2d"]
    C, H, F, kh, kw = cv["C"], cv["H"], cv["F"], cv["kh"], cv["kw"]
    K4 = [[mat(kh, kw) for _ in range(C)] for _ in range(F)]
    pad = cv["padding"]  # the padded input is at most H x W
    for op in ("cross-correlation", "convolution"):
        for stride, size, padding in ((1, H, 0), (1, H - 2 * pad, pad), (cv["stride"], H, 0)):
            yield "conv2d", f"{C}x{size}x{size} * {F}x{C}x{kh}x{kw} stride={stride} " \
                f"padding={padding} {op}", {
                    "X": [mat(size, size, -2, 2) for _ in range(C)], "K": K4, "b": vec(F),
                    "stride": stride, "padding": padding, "op": op}
    pl = L["pooling"]
    Xp = [mat(pl["H"], pl["W"], -2, 2) for _ in range(pl["C"])]
    for mode in ("max", "avg"):
        for include in (True, False):
            yield "pooling", f"{mode} size={pl['size']} stride=1 pad={include}", {
                "X": Xp, "size": pl["size"], "stride": 1, "padding": pl["padding"],
                "mode": mode, "count_include_pad": include}
        yield "pooling", f"{mode} global", {"X": Xp, "mode": mode, "global": True}
    ls = L["lr-schedule"]
    epochs = [i * 311 for i in range(ls["E"])]
    for schedule, more in (
            ("step", {"step_size": 7, "gamma": 0.93}),
            ("multistep", {"milestones": [i * 601 + 3 for i in range(ls["M"])],
                           "gamma": 0.93}),
            ("exponential", {"gamma": 0.9993}),
            ("cosine", {"T_max": ls["T_max"], "eta_min": 0.0003}),
            ("linear-warmup", {"warmup_steps": ls["warmup_steps"]}),
            ("one-cycle", {"T_max": ls["T_max"]})):
        yield "lr-schedule", f"{schedule} E={ls['E']}", {
            "schedule": schedule, "lr": 0.37, "epochs": epochs, **more}
    sp_ = L["sequence-probability"]
    yield "sequence-probability", f"T={sp_['T']}", {"probs": vec(sp_["T"], 0.01, 0.99)}

    sm = L["sequence-metrics"]
    for base in ("2", "e", "10"):
        yield "sequence-metrics", f"perplexity N={sm['N']} base={base}", {
            "metric": "perplexity", "probs": vec(sm["N"], 0.01, 0.99), "base": base}
    vocabulary = [f"w{i:03d}" for i in range(sm["V"])]
    counts = {w: 1 + i % 7 for i, w in enumerate(vocabulary)}
    test = " ".join(vocabulary[(i * 37) % sm["V"]] for i in range(200))  # 999 characters
    yield "sequence-metrics", f"perplexity V={sm['V']} test of {len(test)}", {
        "metric": "perplexity", "counts": counts, "test": test}
    rng = random.Random(7)
    text = [" ".join(rng.choice(vocabulary[:12]) for _ in range(200)) for _ in range(sm["R"] + 1)]
    for brevity in (True, False):
        yield "sequence-metrics", f"bleu {sm['R']} references max_n={sm['n']} brevity={brevity}", {
            "metric": "bleu", "candidate": text[0], "references": text[1:],
            "max_n": sm["n"], "brevity": brevity}
    dc = L["decoding"]

    def tree(depth: int, budget: list[int]) -> dict[str, Any]:
        """Up to `branching` children a node while nodes remain, `<eos>` at the bottom."""
        if depth == dc["depth"] - 1 or budget[0] <= 0:
            return {}
        width = min(dc["branching"], budget[0])
        budget[0] -= width
        share = round(1 / width - 0.005, 2)
        return {(f"t{depth}{i}" if depth < dc["depth"] - 2 or i else "<eos>"):
                [share, tree(depth + 1, budget)] for i in range(width)}

    full = tree(0, [dc["nodes"]])
    for width in (1, dc["beam_width"]):
        for penalty in ("none", 0.7):
            yield "decoding", f"beam width={width} length_penalty={penalty}", {
                "tree": full, "method": "beam", "beam_width": width,
                "length_penalty": penalty}
    yield "decoding", "greedy", {"tree": full, "method": "greedy"}


def limits_bench(runs: int = 1, only: frozenset[str] = frozenset()
                 ) -> dict[str, tuple[float, str]]:
    """Times every case (the best of ``runs``), prints the worst case of each derivation and
    whether it meets the target; returns derivation -> (seconds, case)."""
    from dlexam import derivations

    limits = {name: dict(derivations.get(name).limits) for name in derivations.names()}
    for name in limits:  # a whole-number parameter's maximum counts as a limit too (t, repeat)
        for param in derivations.get(name).params:
            if param.kind == "int" and param.maximum is not None:
                limits[name].setdefault(param.name, param.maximum)
    worst: dict[str, tuple[float, str]] = {}
    cpu: dict[str, float] = {}  # the CPU time of the worst case: the machine is shared
    for name, label, params in chain(cases(limits), newer_cases(limits)):
        if only and name not in only:
            continue
        spec = derivations.get(name)
        best, best_cpu = float("inf"), float("inf")
        for _ in range(runs):
            start, start_cpu = time.perf_counter(), time.process_time()
            spec.run(params)
            best = min(best, time.perf_counter() - start)
            best_cpu = min(best_cpu, time.process_time() - start_cpu)
        if best > worst.get(name, (-1.0, ""))[0]:
            worst[name] = (best, label)
            cpu[name] = best_cpu
    print(f"derivations at their limits (worst case of each, wall and CPU; "
          f"target <= {TARGET_S:.0f} s):")
    for name in sorted(worst):
        seconds, label = worst[name]
        mark = "ok" if seconds <= TARGET_S else "OVER"
        print(f"  {name:24} {seconds:6.2f} s {cpu[name]:6.2f} s CPU  {mark:4}  {label}")
    missing = sorted(set(only or derivations.names()) - set(worst))
    if missing:
        print("  not timed: " + ", ".join(missing))
    return worst


if __name__ == "__main__":
    import sys

    limits_bench(only=frozenset(sys.argv[1:]))  # derivation names: only those
