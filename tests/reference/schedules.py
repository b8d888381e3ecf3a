"""lr-schedule from torch.optim.lr_scheduler (CPU torch), and each named mistake in NumPy.

The right rates are read from PyTorch's schedulers stepped e times (the rate of epoch e);
linear-warmup is ``LambdaLR`` with the factor min(1, e / W), one-cycle ``OneCycleLR`` with
total_steps = T_max and pct_start = warmup_steps / T_max.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from reference import reference


def _scheduler(params: dict[str, Any], optimizer: torch.optim.Optimizer) -> Any:
    lr_sched = torch.optim.lr_scheduler
    schedule = params["schedule"]
    if schedule == "step":
        return lr_sched.StepLR(optimizer, step_size=params["step_size"], gamma=params["gamma"])
    if schedule == "multistep":
        return lr_sched.MultiStepLR(optimizer, milestones=params["milestones"],
                                    gamma=params["gamma"])
    if schedule == "exponential":
        return lr_sched.ExponentialLR(optimizer, gamma=params["gamma"])
    if schedule == "cosine":
        return lr_sched.CosineAnnealingLR(optimizer, T_max=params["T_max"],
                                          eta_min=params["eta_min"])
    if schedule == "linear-warmup":
        w = params["warmup_steps"]
        return lr_sched.LambdaLR(optimizer, lambda e: min(1.0, e / w))
    return lr_sched.OneCycleLR(optimizer, max_lr=params["lr"], total_steps=params["T_max"],
                               pct_start=params["warmup_steps"] / params["T_max"],
                               anneal_strategy="cos", cycle_momentum=False,
                               div_factor=params["div_factor"],
                               final_div_factor=params["final_div_factor"], three_phase=False)


def torch_rates(params: dict[str, Any], epochs: list[int]) -> list[float]:
    """The rate PyTorch's scheduler sets at each epoch (float64 parameters)."""
    weight = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([weight], lr=params["lr"])
    scheduler = _scheduler(params, optimizer)
    out, at = [], 0
    for epoch in sorted(epochs):
        while at < epoch:
            optimizer.step()
            scheduler.step()
            at += 1
        out.append(scheduler.get_last_lr()[0])
    by_epoch = dict(zip(sorted(epochs), out, strict=True))
    return [by_epoch[e] for e in epochs]


def _decays(params: dict[str, Any], e: int) -> int:
    if params["schedule"] == "step":
        return e // params["step_size"]
    if params["schedule"] == "multistep":
        return sum(1 for m in params["milestones"] if m <= e)
    return e


@reference("lr-schedule")
def lr_schedule(params: dict[str, Any], mistake: str | None) -> dict[str, Any]:
    epochs = [int(e) for e in params["epochs"]]
    lr, schedule = params["lr"], params["schedule"]
    if mistake is None:
        return {"lr": torch_rates(params, epochs)}
    if mistake == "eta-min-ignored":
        return {"lr": torch_rates({**params, "eta_min": 0}, epochs)}
    if mistake == "epoch-from-one":
        if schedule == "one-cycle":  # PyTorch stops at total_steps - 1: the formula goes on
            w, t = params["warmup_steps"], params["T_max"]
            start = lr / params["div_factor"]
            end = start / params["final_div_factor"]
            rates = []
            for e in epochs:
                e += 1
                if e <= w - 1:
                    a, b, p = start, lr, e / (w - 1)
                else:
                    a, b, p = lr, end, (e - w + 1) / (t - w)
                rates.append(b + (a - b) * (1 + math.cos(math.pi * p)) / 2)
            return {"lr": rates}
        return {"lr": torch_rates(params, [e + 1 for e in epochs])}
    if mistake == "decay-not-compounded":
        return {"lr": [lr * params["gamma"] ** min(1, _decays(params, e)) for e in epochs]}
    if mistake == "cosine-full-period":
        lo, t = params["eta_min"], params["T_max"]
        return {"lr": [lo + (lr - lo) * (1 + math.cos(2 * math.pi * e / t)) / 2
                       for e in epochs]}
    if mistake == "no-floor":  # gamma^(e / s), no floor
        return {"lr": [lr * params["gamma"] ** (e / params["step_size"]) for e in epochs]}
    raise KeyError(mistake)
