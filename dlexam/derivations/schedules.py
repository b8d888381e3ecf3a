"""Learning-rate schedules: the rate at each epoch asked, as torch.optim.lr_scheduler sets it.

Epochs count from 0, as PyTorch's schedulers do (the rate of epoch e is the rate after e calls of
``scheduler.step()``). ``step``, ``multistep``, ``exponential`` and ``cosine`` are StepLR,
MultiStepLR, ExponentialLR and CosineAnnealingLR (its closed form, which the recursive form
PyTorch steps equals). Two schedules have more parameters in PyTorch than an exam states; the
conventions taken:

- ``linear-warmup``: eta_e = eta_base * min(1, e / W), from 0 to the base rate over W =
  ``warmup_steps`` epochs, then constant (Hugging Face's constant schedule with warmup;
  ``LambdaLR`` with that factor). PyTorch's ``LinearLR`` cannot start from 0.
- ``one-cycle``: OneCycleLR with max_lr = ``lr``, total_steps = ``T_max``, pct_start =
  ``warmup_steps / T_max``, cosine annealing, two phases, and ``div_factor`` and
  ``final_div_factor`` (PyTorch's defaults 25 and 10^4): from lr / div_factor up to lr over steps
  0 .. W - 1, then down to lr / (div_factor * final_div_factor) at step T_max - 1.
"""

# ruff: noqa: N803
# (T_max is PyTorch's name for the parameter)

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import pairwise
from typing import Any

import sympy as sp

from dlexam.derivations.contract import Answer, Mistake, with_params
from dlexam.derivations.core import Result, Step, derivation, row_of
from dlexam.derivations.forms import Ratio
from dlexam.derivations.params import Param, bind_dims
from dlexam.derivations.sampling import Draw
from dlexam.errors import InputError, Said
from dlexam.notation import register_symbols, sym, sym_sub
from dlexam.notation.display import plain_number

register_symbols({
    "sched_eta": (r"\eta", "η"),
    "sched_eta_e": (r"\eta_{e}", "η_e"),
    "sched_base": (r"\eta_{\mathrm{base}}", "η_base"),
    "sched_gamma": (r"\gamma", "γ"),
    "sched_e": ("e", "e"),
    "sched_s": ("s", "s"),
    "sched_k": ("k_{e}", "k_e"),
    "sched_T": (r"T_{\max}", "T_max"),
    "sched_min": (r"\eta_{\min}", "η_min"),
    "sched_W": ("W", "W"),
    "sched_d": ("d", "d"),
    "sched_f": ("f", "f"),
    "sched_p": ("p", "p"),
    "sched_start": (r"\eta_{\mathrm{start}}", "η_start"),
    "sched_end": (r"\eta_{\mathrm{end}}", "η_end"),
})

SCHEDULES = ("step", "multistep", "exponential", "cosine", "linear-warmup", "one-cycle")
EPOCH_MAX = 10_000
"""The largest epoch (and step size, T_max, milestone, warmup) a question may name."""

DECAYING = ("step", "multistep", "exponential")

SCHEDULE_PARAMS = [
    Param("schedule", "choice", default="step", choices=SCHEDULES),
    Param("lr", "number", default=0.1),
    Param("epochs", "array", shapes=(("E",),), trace="none"),
    Param("step_size", "int", default=10, minimum=1, maximum=EPOCH_MAX),
    Param("gamma", "number", default=0.1),
    Param("milestones", "array", shapes=(("M",),), default=None, trace="none"),
    Param("T_max", "int", default=100, minimum=1, maximum=EPOCH_MAX),
    Param("eta_min", "number", default=0, minimum=0),
    Param("warmup_steps", "int", default=5, minimum=1, maximum=EPOCH_MAX),
    Param("div_factor", "number", default=25),
    Param("final_div_factor", "number", default=10_000),
]


def _whole(name: str, values: Any, least: int) -> list[int]:
    """A list of whole numbers from ``least`` to :data:`EPOCH_MAX`, or an InputError."""
    out = []
    for i, v in enumerate(values, start=1):
        if not (v.is_Integer and least <= v <= EPOCH_MAX):
            raise InputError(name, Said("inputs.whole_from_to", low=least, high=EPOCH_MAX),
                             Said("inputs.entry", name=name, index=i,
                                  value=plain_number(v, "echo")))
        out.append(int(v))
    return out


def _decays(params: Mapping[str, Any], epoch: int) -> int:
    """How many times the rate has been multiplied by gamma at ``epoch`` (raw parameters)."""
    schedule = params["schedule"]
    if schedule == "step":
        return epoch // int(params["step_size"])
    if schedule == "multistep":
        return sum(1 for m in params["milestones"] or () if m <= epoch)
    return epoch


def _compounds(params: Mapping[str, Any]) -> bool:
    """Whether some epoch asked comes after two decays or more (where compounding shows)."""
    return params["schedule"] in DECAYING and any(
        _decays(params, int(e)) >= 2 for e in params["epochs"])


SCHEDULE_MISTAKES = [
    Mistake("epoch-from-one", changes=("lr",), formula=True),
    Mistake("decay-not-compounded", changes=("lr",), formula=True, applies=_compounds),
    Mistake("cosine-full-period", changes=("lr",), formula=True,
            applies=lambda p: p["schedule"] == "cosine"),
    Mistake("eta-min-ignored", changes=("lr",), params=with_params(eta_min=0),
            applies=lambda p: p["schedule"] == "cosine" and float(p["eta_min"]) != 0),
    # step decay as gamma^(e / s): the floor left out, the rate decaying between the steps
    Mistake("no-floor", changes=("lr",), formula=True,
            applies=lambda p: p["schedule"] == "step" and any(
                int(e) % int(p["step_size"]) for e in p["epochs"])),
]


def _spread(draw: Draw, lo: int, hi: int, count: int, must: Sequence[int] = ()) -> list[int]:
    """``count`` distinct epochs from lo to hi (those in ``must`` among them), sorted."""
    chosen = {m for m in must if lo <= m <= hi}
    for _ in range(200):
        if len(chosen) >= min(count, hi - lo + 1):
            break
        chosen.add(draw.integer(lo, hi))
    return sorted(chosen)


def sample_schedule(draw: Draw, fixed: dict[str, Any]) -> dict[str, Any]:
    """One of the six schedules with exam-sized numbers, and four or five epochs chosen so
    that an epoch counted from 1 shows: one just before each decay, one inside the warmup."""
    bind_dims(SCHEDULE_PARAMS, fixed)
    schedule = fixed.get("schedule", draw.choice(SCHEDULES))
    out: dict[str, Any] = {"schedule": schedule, "lr": draw.choice((0.1, 0.05, 0.01, 0.2, 0.5))}
    count = draw.integer(4, 5)
    if schedule == "step":
        s = draw.integer(2, 10)
        out.update(step_size=s, gamma=draw.choice((0.1, 0.5, 0.2, 0.9)))
        out["epochs"] = _spread(draw, 0, 4 * s, count, (s - 1, 2 * s + draw.integer(0, s - 1)))
    elif schedule == "multistep":
        first = draw.integer(2, 15)
        second = first + draw.integer(2, 15)
        out.update(milestones=[first, second], gamma=draw.choice((0.1, 0.5, 0.2)))
        out["epochs"] = _spread(draw, 0, second + 10, count, (first - 1, second))
    elif schedule == "exponential":
        out["gamma"] = draw.choice((0.9, 0.95, 0.8, 0.5, 0.99))
        out["epochs"] = _spread(draw, 1, 20, count, (draw.integer(2, 5),))
    elif schedule == "cosine":
        t_max = draw.choice((10, 20, 50, 100))
        floor_share = draw.choice((0, 0, 0.01, 0.1))  # eta_min well below the base rate
        out.update(T_max=t_max, eta_min=round(out["lr"] * floor_share, 6))
        out["epochs"] = _spread(draw, 1, t_max, count)
    elif schedule == "linear-warmup":
        w = draw.integer(3, 10)
        out["warmup_steps"] = w
        out["epochs"] = _spread(draw, 0, 2 * w, count, (draw.integer(1, w - 1), w + 1))
    else:
        t_max = draw.choice((10, 20, 50, 100))
        w = max(2, round(t_max * draw.choice((0.2, 0.25, 0.3))))
        out.update(T_max=t_max, warmup_steps=w)
        out["epochs"] = _spread(draw, 0, t_max - 1, count, (draw.integer(1, w - 1),
                                                            draw.integer(w, t_max - 1)))
    out.update(fixed)
    return out


def _check(schedule: str, lr: sp.Basic, gamma: sp.Basic, milestones: Any, T_max: int,
           warmup_steps: int, div_factor: sp.Basic, final_div_factor: sp.Basic,
           epochs: list[int]) -> list[int]:
    """What each schedule needs of its parameters, refused in one line; the milestones."""
    if not lr > 0:
        raise InputError("lr", Said("schedules.errors.lr"), plain_number(lr, "echo"))
    if schedule in DECAYING and not gamma > 0:
        raise InputError("gamma", Said("inputs.factor"), plain_number(gamma, "echo"))
    marks: list[int] = []
    if schedule != "multistep" and milestones is not None:
        raise InputError("milestones", Said("schedules.errors.multistep_only"),
                         f"schedule={schedule}")
    if schedule == "multistep":
        if milestones is None:
            raise InputError("milestones", Said("schedules.errors.milestones"),
                             Said("errors.nothing"))
        marks = _whole("milestones", list(milestones), 1)
        if any(b <= a for a, b in pairwise(marks)):
            raise InputError("milestones", Said("schedules.errors.increasing"),
                             ", ".join(map(str, marks)))
    if schedule == "one-cycle":
        for name, value in (("div_factor", div_factor), ("final_div_factor", final_div_factor)):
            if not value > 0:
                raise InputError(name, Said("inputs.factor"), plain_number(value, "echo"))
        if not 2 <= warmup_steps <= T_max - 1:
            raise InputError("warmup_steps", Said("schedules.errors.warmup", last=T_max - 1),
                             str(warmup_steps))
        late = [e for e in epochs if e > T_max - 1]
        if late:
            raise InputError("epochs", Said("schedules.errors.steps", last=T_max - 1),
                             str(late[0]))
    return marks


def _minus(x: sp.Basic) -> sp.Basic:
    """-x: a number negated, a symbol written with its minus sign."""
    return -x if x.is_number else sp.Mul(-1, x, evaluate=False)


def _cosine(start: sp.Basic, end: sp.Basic, p: sp.Basic) -> sp.Basic:
    """end + (start - end) (1 + cos(pi p)) / 2, written as it reads."""
    return sp.Add(end, sp.Mul(sp.Rational(1, 2), sp.Add(start, _minus(end), evaluate=False),
                              sp.Add(1, sp.cos(sp.Mul(sp.pi, p, evaluate=False),
                                               evaluate=False), evaluate=False),
                              evaluate=False), evaluate=False)


def _formula(schedule: str, mistake: str | None, a: Mapping[str, Any]) -> sp.Basic:
    """The schedule's formula over the atoms ``a`` (symbols, or the numbers put in): base,
    gamma, e, s, k, T, min, W, start, end, p."""
    if schedule in DECAYING:
        power = ((Ratio(a["e"], a["s"]) if mistake == "no-floor"
                  else sp.floor(Ratio(a["e"], a["s"]), evaluate=False)) if schedule == "step"
                 else a["k"] if schedule == "multistep" else a["e"])
        if mistake == "decay-not-compounded":
            power = sp.Min(1, power, evaluate=False)
        return sp.Mul(a["base"], sp.Pow(a["gamma"], power, evaluate=False), evaluate=False)
    if schedule == "cosine":
        turn = Ratio(a["e"], a["T"])
        if mistake == "cosine-full-period":
            turn = sp.Mul(2, turn, evaluate=False)
        return _cosine(a["base"], a["min"], turn)
    if schedule == "linear-warmup":
        return sp.Mul(a["base"], sp.Min(1, Ratio(a["e"], a["W"]), evaluate=False),
                      evaluate=False)
    return _cosine(a["start"], a["end"], a["p"])


def _key(schedule: str, mistake: str | None) -> str:
    key = f"lr_schedule.{schedule.replace('-', '_')}"
    if mistake == "decay-not-compounded" and schedule in DECAYING:
        return key + "_once"
    if mistake == "cosine-full-period" and schedule == "cosine":
        return key + "_full"
    if mistake == "no-floor" and schedule == "step":
        return key + "_no_floor"
    return key


_ATOMS = {"base": "sched_base", "gamma": "sched_gamma", "e": "sched_e", "s": "sched_s",
          "k": "sched_k", "T": "sched_T", "min": "sched_min", "W": "sched_W",
          "start": "sched_start", "end": "sched_end", "p": "sched_p"}


@derivation(
    "lr-schedule",
    params=SCHEDULE_PARAMS,
    answers=[Answer("lr", "vector", shapes=(("E",),))],
    limits={"E": 32, "M": 16},
    mistakes=SCHEDULE_MISTAKES,
    sampler=sample_schedule,
    question=lambda v: {"statement": (None if v["schedule"] == "step"
                                      else v["schedule"].replace("-", "_")),
                        "epochs": [int(x) for x in v["epochs"]],
                        "milestones": ([int(x) for x in v["milestones"]]
                                       if v["milestones"] is not None else None)},
)
def lr_schedule(schedule: str, lr: sp.Basic, epochs: sp.ImmutableMatrix, step_size: int,
                gamma: sp.Basic, milestones: sp.ImmutableMatrix | None, T_max: int,
                eta_min: sp.Basic, warmup_steps: int, div_factor: sp.Basic,
                final_div_factor: sp.Basic, mistake: str | None = None) -> Result:
    """The learning rate at each epoch asked.

    Args:
        schedule: step, multistep, exponential, cosine, linear-warmup or one-cycle.
        lr: the base rate (the optimiser's ``lr``; one-cycle's ``max_lr``).
        epochs: the epochs asked, from 0.
        step_size, gamma: StepLR's period and factor (gamma also multistep's, exponential's).
        milestones: MultiStepLR's epochs of decay.
        T_max, eta_min: CosineAnnealingLR's half period and floor; T_max is one-cycle's
            total_steps.
        warmup_steps: the warmup's length; one-cycle's rising phase (pct_start * total_steps).
        div_factor, final_div_factor: one-cycle's (PyTorch's names and defaults).
        mistake: ``epoch-from-one``, ``decay-not-compounded`` or ``cosine-full-period``.
    """
    asked = _whole("epochs", list(epochs), 0)
    marks = _check(schedule, lr, gamma, milestones, T_max, warmup_steps, div_factor,
                   final_div_factor, asked)
    shift = 1 if mistake == "epoch-from-one" else 0
    symbols = {name: sym(key) for name, key in _ATOMS.items()}
    key, formula = _key(schedule, mistake), _formula(schedule, mistake, symbols)
    numbers: dict[str, Any] = {"base": lr, "gamma": gamma, "s": sp.Integer(step_size),
                               "T": sp.Integer(T_max), "min": eta_min,
                               "W": sp.Integer(warmup_steps)}
    start, peak = lr / div_factor, lr
    floor_lr = start / final_div_factor
    data: dict[str, Any] = {"E": len(asked)}
    steps = [Step(key="lr_schedule.asked", data={"epochs": asked, "count": len(asked)})]
    if schedule == "one-cycle":
        d, f = sym("sched_d"), sym("sched_f")
        steps += [
            Step(key="lr_schedule.one_cycle_start", lhs=sym("sched_start"),
                 symbolic=Ratio(symbols["base"], d), substituted=Ratio(lr, div_factor),
                 value=start),
            Step(key="lr_schedule.one_cycle_floor", lhs=sym("sched_end"),
                 symbolic=Ratio(sym("sched_start"), f),
                 substituted=Ratio(start, final_div_factor), value=floor_lr),
        ]
        data.update(rise=warmup_steps - 1, last=T_max - 1, peak=peak, start=start,
                    floor=floor_lr)
    if schedule == "multistep":
        data["milestones"] = marks
    steps.append(Step(key=key, lhs=sym("sched_eta_e"), symbolic=formula, data=data))
    if shift:
        steps.append(Step(key="lr_schedule.from_one", data={}))
    rates = []
    for row, epoch in enumerate(asked, start=1):
        e = sp.Integer(epoch + shift)
        here = {**numbers, "e": e}
        written = {**symbols, "e": e}
        extra: dict[str, Any] = {"epoch": epoch, "e": e}
        if schedule == "multistep":
            here["k"] = written["k"] = sp.Integer(sum(1 for m in marks if m <= e))
        if schedule == "one-cycle":
            rising = e <= warmup_steps - 1
            if rising:
                p = Ratio(e, sp.Integer(warmup_steps - 1))
                here.update(start=start, end=peak)
                written.update(start=symbols["start"], end=symbols["base"])
            else:
                p = Ratio(e - warmup_steps + 1, sp.Integer(T_max - warmup_steps))
                here.update(start=peak, end=floor_lr)
                written.update(start=symbols["base"], end=symbols["end"])
            here["p"] = written["p"] = p
            extra["phase"] = "rise" if rising else "fall"
        put = _formula(schedule, mistake, here)
        value = put.doit()
        rates.append(value)
        steps.append(Step(key="lr_schedule.epoch" + ("_one_cycle" if schedule == "one-cycle"
                                                      else ""),
                          lhs=sym_sub("sched_eta", epoch),
                          symbolic=_formula(schedule, mistake, written),
                          substituted=put, value=value, data=extra,
                          elidable=row_of("rows", row, len(asked), "lr_schedule.epochs")))
    return Result(convention="pytorch-epochs-from-0", steps=tuple(steps),
                  answers={"lr": rates})
