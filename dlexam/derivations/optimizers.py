"""Beyond the exam: one optimiser step (or a few) by hand, as torch.optim takes it.

Every rule works entry by entry on w, a number, vector or matrix. With weight decay lambda the
gradient is g + lambda w (decoupled for AdamW: w - lr lambda w beside Adam's step). PyTorch's
forms and defaults:

- sgd: w <- w - lr g;
- momentum (``convention=pytorch``): v <- mu v + g, w <- w - lr v; (``classic``, as many
  textbooks write it): v <- mu v - lr g, w <- w + v. The two give the same weights from a zero
  velocity (v_classic = -lr v_pytorch) and part when a velocity is given; both are computed.
- nesterov: v as for momentum, w <- w - lr (g + mu v) (classic: w <- w + mu v - lr g);
- adagrad: v <- v + g^2, w <- w - lr g / (sqrt(v) + eps);
- rmsprop: v <- rho v + (1 - rho) g^2 (rho is PyTorch's ``alpha``), w as adagrad;
- adam: m <- b1 m + (1 - b1) g, v <- b2 v + (1 - b2) g^2, m_hat = m / (1 - b1^t),
  v_hat = v / (1 - b2^t), w <- w - lr m_hat / (sqrt(v_hat) + eps); adamw adds - lr lambda w.
"""

# ruff: noqa: N803, N806
# (W, M, S: the matrices and the sizes as the formulas write them)

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sympy as sp

from dlexam.derivations.contract import Answer, Mistake
from dlexam.derivations.core import Result, Step, derivation, evaluate_at, put_in, terms_of
from dlexam.derivations.forms import Ratio, as_written
from dlexam.derivations.params import Param, bind_dims
from dlexam.derivations.sampling import Draw
from dlexam.derivations.statements import NOTHING
from dlexam.errors import InputError, Said
from dlexam.notation import register_symbols, sym
from dlexam.notation.display import Phrase

register_symbols({
    "w_opt": ("w_t", "w_t"),
    "w_opt_prev": ("w_{t-1}", "w_{t-1}"),
    "g_opt": ("g_t", "g_t"),
    "g_opt_decayed": ("g'_t", "g'_t"),
    "vel_opt": ("v_t", "v_t"),
    "vel_opt_prev": ("v_{t-1}", "v_{t-1}"),
    "m_opt": ("m_t", "m_t"),
    "m_opt_prev": ("m_{t-1}", "m_{t-1}"),
    "s_opt": ("v_t", "v_t"),  # the second moment (Adam, RMSprop) or sum of squares (Adagrad)
    "s_opt_prev": ("v_{t-1}", "v_{t-1}"),
    "m_hat_opt": (r"\hat{m}_t", "m̂_t"),
    "v_hat_opt": (r"\hat{v}_t", "v̂_t"),
    "eta_opt": (r"\eta", "η"),
    "mu_opt": (r"\mu", "μ"),
    "beta1_opt": (r"\beta_1", "β_1"),
    "beta2_opt": (r"\beta_2", "β_2"),
    "eps_opt": (r"\epsilon", "ε"),
    "rho_opt": (r"\rho", "ρ"),
    "lambda_opt": (r"\lambda", "λ"),
    "t_opt": ("t", "t"),
})

OPTIMIZERS: tuple[str, ...] = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam",
                               "adamw")
CONVENTIONS: tuple[str, ...] = ("pytorch", "classic")
MOMENTUM = ("momentum", "nesterov")
ADAM = ("adam", "adamw")
ADAPTIVE = ("adagrad", "rmsprop", "adam", "adamw")

# torch.optim's defaults (2.x); momentum has none there (0, plain SGD): 0.9 is the usual value
DEFAULT_LR = {"sgd": "0.001", "momentum": "0.001", "nesterov": "0.001", "adagrad": "0.01",
              "rmsprop": "0.01", "adam": "0.001", "adamw": "0.001"}
DEFAULT_EPS = {"adagrad": "1e-10"}  # 1e-8 for the others
DEFAULT_DECAY = {"adamw": "0.01"}  # 0 for the others

_DIGITS = 30

PARAMS = [
    Param("optimizer", "choice", choices=OPTIMIZERS, default="sgd"),
    Param("w", "array", shapes=((), ("N",), ("N", "M")), default=[1.0, -0.5]),
    Param("g", "array", shapes=((), ("A",), ("A", "B"), ("A", "B", "C")), default=[0.2, -0.4]),
    Param("lr", "number", default=None, minimum=0),
    Param("momentum", "number", default=None, minimum=0),
    Param("beta1", "number", default=0.9, minimum=0),
    Param("beta2", "number", default=0.999, minimum=0),
    Param("eps", "number", default=None, minimum=0),
    Param("rho", "number", default=0.99, minimum=0),
    Param("weight_decay", "number", default=None, minimum=0),
    Param("convention", "choice", choices=CONVENTIONS, default="pytorch"),
    Param("velocity", "array", shapes=((), ("N",), ("N", "M")), default=None),
    Param("m", "array", shapes=((), ("N",), ("N", "M")), default=None),
    Param("v", "array", shapes=((), ("N",), ("N", "M")), default=None),
    # t <= 10: exact Adam takes 30 s or more (or overflows SymPy) past about 100 steps
    Param("t", "int", default=0, minimum=0, maximum=10, held=True),
]

_LIMITS = {"N": 4, "M": 4, "A": 10, "B": 4, "C": 4}


def _number(value: Any, default: str) -> Any:
    return sp.Rational(default) if value is None else value


@dataclass(frozen=True)
class Hyper:
    """The hyper-parameters of a run, defaults filled in (exact numbers)."""

    optimizer: str
    lr: Any
    mu: Any
    beta1: Any
    beta2: Any
    eps: Any
    rho: Any
    decay: Any
    convention: str


RATE_MAX_DECIMALS = 8


def _decimals(value: Any) -> int:
    """The decimals a rate is written with (a float or SymPy float as its shortest decimal,
    an exact fraction by its denominator's powers of 2 and 5); 0 for what is not a number yet
    (a traced symbol)."""
    if isinstance(value, sp.Rational):
        q, twos, fives = int(value.q), 0, 0
        while q % 2 == 0:
            q, twos = q // 2, twos + 1
        while q % 5 == 0:
            q, fives = q // 5, fives + 1
        return max(twos, fives) if q == 1 else RATE_MAX_DECIMALS + 1
    if isinstance(value, (float, sp.Float)):
        text = repr(value) if isinstance(value, float) else str(value)
        exponent = Decimal(text).normalize().as_tuple().exponent
        return max(0, -exponent) if isinstance(exponent, int) else 0
    return 0


def _hyper(optimizer: str, lr: Any, momentum: Any, beta1: Any, beta2: Any, eps: Any, rho: Any,
           weight_decay: Any, convention: str) -> Hyper:
    """The hyper-parameters with PyTorch's defaults for this optimiser.

    Raises:
        InputError: a hyper-parameter another optimiser takes, or a rate outside [0, 1).
    """
    if momentum is not None and optimizer not in MOMENTUM:
        raise InputError("momentum", Said("optimizers.errors.no_momentum", optimizer=optimizer),
                         str(momentum))
    for name, value in (("beta1", beta1), ("beta2", beta2), ("rho", rho),
                        ("momentum", momentum)):
        if value is not None and not value < 1:
            raise InputError(name, Said("optimizers.errors.rate"), str(value))
        # the steps are exact: every step squares the decimals of these rates into nested
        # roots, which past a few steps outgrow what SymPy can take to a float
        if value is not None and _decimals(value) > RATE_MAX_DECIMALS:
            raise InputError(name, Said("optimizers.errors.decimals", n=RATE_MAX_DECIMALS),
                             str(sp.N(value, 21)))
    return Hyper(optimizer=optimizer, lr=_number(lr, DEFAULT_LR[optimizer]),
                 mu=_number(momentum, "0.9"), beta1=beta1, beta2=beta2,
                 eps=_number(eps, DEFAULT_EPS.get(optimizer, "1e-8")), rho=rho,
                 decay=_number(weight_decay, DEFAULT_DECAY.get(optimizer, "0")),
                 convention=convention)


def _as_matrix(value: Any) -> sp.ImmutableMatrix:
    return value if isinstance(value, sp.MatrixBase) else sp.ImmutableMatrix([[value]])


def _gradients(w: Any, g: Any) -> list[sp.ImmutableMatrix]:
    """The gradients, one per step, each of w's shape (as matrices).

    Raises:
        InputError: g is neither one gradient of w's shape nor a list of them.
    """
    W = _as_matrix(w)
    scalar, vector = not isinstance(w, sp.MatrixBase), isinstance(w, sp.MatrixBase) and \
        w.cols == 1
    if isinstance(g, sp.NDimArray):  # a list of matrices (three dimensions)
        steps = [sp.ImmutableMatrix(rows) for rows in g.tolist()]
        if not scalar and not vector and all(x.shape == W.shape for x in steps):
            return steps
    elif not isinstance(g, sp.MatrixBase):
        if scalar:
            return [_as_matrix(g)]
    elif scalar and g.cols == 1:
        return [sp.ImmutableMatrix([[x]]) for x in g]
    elif vector and g.shape == W.shape:
        return [g]
    elif vector and g.cols == W.rows:
        return [sp.ImmutableMatrix(g.row(i)).T for i in range(g.rows)]
    elif not scalar and not vector and g.shape == W.shape:
        return [g]
    shape = "a number" if scalar else (f"{W.rows} numbers" if vector else
                                       f"a {W.rows} x {W.cols} matrix")
    raise InputError("g", Said("optimizers.errors.gradients", shape=shape),
                     Said("show.kind.a_number") if not isinstance(g, (sp.NDimArray, sp.MatrixBase))
                     else Said("optimizers.errors.another_shape"))


def _start(value: Any, W: sp.ImmutableMatrix, name: str) -> sp.ImmutableMatrix:
    if value is None:
        return sp.ImmutableMatrix.zeros(*W.shape)
    M = _as_matrix(value)
    if M.shape != W.shape:
        raise InputError(name, Said("optimizers.errors.shape_of_w"), f"{M.rows} x {M.cols}")
    return M


def _settle(M: sp.ImmutableMatrix) -> sp.ImmutableMatrix:
    """A state carried to the next step: exact while rational, else 30-digit decimals (a
    root nested in the next step's roots costs seconds and changes no shown digit)."""
    if all(x.is_Rational or x.is_Float for x in M):
        return M
    return sp.ImmutableMatrix(M.evalf(_DIGITS))


class Lines:
    """Builds the steps of a run: each formula written once in scalar symbols and computed
    entry by entry on w's shape, the numbers put in entry by entry."""

    def __init__(self, shape: tuple[int, int], scalar: bool) -> None:
        self.shape = shape
        self.scalar = scalar
        self.steps: list[Step] = []

    def line(self, key: str, lhs: str, formula: sp.Basic, values: Mapping[sp.Basic, Any],
             **data: Any) -> sp.ImmutableMatrix:
        """Adds the step ``lhs = formula`` and returns its value (a matrix of w's shape)."""
        rows, cols = self.shape

        used = {s: v for s, v in values.items() if s in formula.free_symbols}

        def at(i: int, j: int, written: bool) -> dict[sp.Basic, Any]:
            return {s: (as_written(v[i, j]) if written else v[i, j])
                    if isinstance(v, sp.MatrixBase) else (as_written(v) if written else v)
                    for s, v in used.items()}

        with sp.evaluate(True):  # (the formulas are built, and this called, unevaluated)
            value = sp.ImmutableMatrix([[evaluate_at(formula, at(i, j, False))
                                         for j in range(cols)] for i in range(rows)])
        with sp.evaluate(False):
            put = [[put_in(formula, at(i, j, True)) for j in range(cols)] for i in range(rows)]
        substituted = put[0][0] if self.scalar else sp.ImmutableMatrix(put)
        self.steps.append(Step(key=key, lhs=sym(lhs), symbolic=formula, substituted=substituted,
                               value=value[0, 0] if self.scalar else value, data=data,
                               elidable=None if self.scalar else terms_of(
                                   rows * cols, substituted=None)))
        return value


def _run(hyper: Hyper, w0: sp.ImmutableMatrix, grads: list[sp.ImmutableMatrix],
         state: dict[str, sp.ImmutableMatrix], t0: int, scalar: bool, mistake: str | None
         ) -> tuple[list[Step], list[sp.ImmutableMatrix], dict[str, sp.ImmutableMatrix]]:
    """Runs the steps; returns the steps, w after each step and the final state."""
    S = {k: sym(k) for k in ("w_opt_prev", "g_opt", "g_opt_decayed", "vel_opt_prev",
                             "vel_opt", "m_opt_prev", "m_opt", "s_opt_prev", "s_opt",
                             "m_hat_opt", "v_hat_opt", "eta_opt", "mu_opt", "beta1_opt",
                             "beta2_opt", "eps_opt", "rho_opt", "lambda_opt", "t_opt")}
    lines = Lines(w0.shape, scalar)
    opt = hyper.optimizer
    common = {S["eta_opt"]: hyper.lr, S["mu_opt"]: hyper.mu, S["beta1_opt"]: hyper.beta1,
              S["beta2_opt"]: hyper.beta2, S["eps_opt"]: hyper.eps, S["rho_opt"]: hyper.rho,
              S["lambda_opt"]: hyper.decay}
    st = _State(w=w0, vel=state["velocity"], m=state["m"], v=state["v"])
    ws: list[sp.ImmutableMatrix] = []
    eta, lam = S["eta_opt"], S["lambda_opt"]
    wp, g_sym = S["w_opt_prev"], S["g_opt"]
    for step, g in enumerate(grads, start=1):
        t = t0 + step
        vals: dict[sp.Basic, Any] = {**common, wp: st.w, g_sym: g, S["t_opt"]: sp.Integer(t)}
        lines.steps.append(Step(key="optimizer_step.step", data={"t": t, "step": step}))
        decay_in_gradient = hyper.decay != 0 and (opt != "adamw" or mistake == "l2-in-adamw")
        if decay_in_gradient:
            with sp.evaluate(False):
                f = sp.Add(g_sym, sp.Mul(lam, wp))
            g = lines.line("optimizer_step.decay_gradient" if opt != "adamw"
                           else "optimizer_step.decay_gradient_adamw", "g_opt_decayed", f, vals,
                           t=t)
            vals[g_sym] = g
        with sp.evaluate(False):
            if opt == "sgd":
                st.w = lines.line("optimizer_step.sgd", "w_opt",
                                  sp.Add(wp, sp.Mul(-1, eta, g_sym)), vals, t=t)
            elif opt in MOMENTUM:
                _momentum_lines(lines, S, vals, hyper, mistake, t, st)
            else:
                _adaptive_lines(lines, S, vals, hyper, mistake, t, st)
        st.w, st.vel, st.m, st.v = _settle(st.w), _settle(st.vel), _settle(st.m), _settle(st.v)
        ws.append(st.w)
    final = {"velocity": st.vel, "m": st.m, "v": st.v}
    if st.m_hat is not None and st.v_hat is not None:
        final.update(m_hat=st.m_hat, v_hat=st.v_hat)
    return lines.steps, ws, final


@dataclass
class _State:
    """The weights and the optimizer's state as the steps run: the velocity (momentum), the
    moments m and v (Adam; v is the running sum or average of g^2 for AdaGrad and RMSProp) and
    the last bias-corrected moments."""

    w: sp.ImmutableMatrix
    vel: sp.ImmutableMatrix
    m: sp.ImmutableMatrix
    v: sp.ImmutableMatrix
    m_hat: sp.ImmutableMatrix | None = None
    v_hat: sp.ImmutableMatrix | None = None


def _momentum_lines(lines: Lines, S: dict[str, sp.Symbol], vals: dict[sp.Basic, Any],
                    hyper: Hyper, mistake: str | None, t: int, st: _State) -> None:
    """One momentum (or Nesterov) step's lines: the velocity, then w (in `st`). Built under
    sympy.evaluate(False)."""
    opt, classic = hyper.optimizer, hyper.convention == "classic"
    eta, mu = S["eta_opt"], S["mu_opt"]
    wp, g_sym = S["w_opt_prev"], S["g_opt"]
    vals[S["vel_opt_prev"]] = st.vel
    if classic:
        st.vel = lines.line("optimizer_step.velocity_classic", "vel_opt", sp.Add(
            sp.Mul(mu, S["vel_opt_prev"]), sp.Mul(-1, eta, g_sym)), vals, t=t)
    else:
        st.vel = lines.line("optimizer_step.velocity", "vel_opt", sp.Add(
            sp.Mul(mu, S["vel_opt_prev"]), g_sym), vals, t=t)
    vals[S["vel_opt"]] = st.vel
    v_s = S["vel_opt"]
    nesterov = opt == "nesterov" and mistake != "nesterov-as-momentum"
    sign = -1 if mistake == "momentum-sign" else 1
    if classic and nesterov:
        step_term = sp.Add(sp.Mul(mu, v_s), sp.Mul(-1, eta, g_sym))
        f, key = sp.Add(wp, step_term if sign == 1 else sp.Mul(-1, step_term)), \
            "optimizer_step.nesterov_classic"
    elif classic:
        f, key = sp.Add(wp, sp.Mul(sign, v_s)), "optimizer_step.momentum_classic"
    elif nesterov:
        f, key = sp.Add(wp, sp.Mul(-sign, eta, sp.Add(g_sym, sp.Mul(mu, v_s)))), \
            "optimizer_step.nesterov"
    else:
        f, key = sp.Add(wp, sp.Mul(-sign, eta, v_s)), "optimizer_step.momentum"
    if mistake == "momentum-sign":
        key += "_sign"
    elif mistake == "nesterov-as-momentum":
        key += "_not_nesterov"
    st.w = lines.line(key, "w_opt", f, vals, t=t)


def _adaptive_lines(lines: Lines, S: dict[str, sp.Symbol], vals: dict[sp.Basic, Any],
                    hyper: Hyper, mistake: str | None, t: int, st: _State) -> None:
    """One adaptive step's lines (AdaGrad, RMSProp, Adam, AdamW): the squared-gradient sum or
    average, Adam's moments and their bias correction, then w (in `st`). Built under
    sympy.evaluate(False)."""
    opt = hyper.optimizer
    eta, lam, eps = S["eta_opt"], S["lambda_opt"], S["eps_opt"]
    wp, g_sym = S["w_opt_prev"], S["g_opt"]
    vals[S["s_opt_prev"]] = st.v
    g2 = sp.Pow(g_sym, 2)
    if opt == "adagrad":
        st.v = lines.line("optimizer_step.adagrad_sum", "s_opt",
                          sp.Add(S["s_opt_prev"], g2), vals, t=t)
    elif opt == "rmsprop":
        rho = S["rho_opt"]
        st.v = lines.line("optimizer_step.rmsprop_average", "s_opt", sp.Add(
            sp.Mul(rho, S["s_opt_prev"]), sp.Mul(sp.Add(1, sp.Mul(-1, rho)), g2)),
            vals, t=t)
    else:
        b1, b2, t_s = S["beta1_opt"], S["beta2_opt"], S["t_opt"]
        vals[S["m_opt_prev"]] = st.m
        st.m = lines.line("optimizer_step.adam_m", "m_opt", sp.Add(
            sp.Mul(b1, S["m_opt_prev"]), sp.Mul(sp.Add(1, sp.Mul(-1, b1)), g_sym)),
            vals, t=t)
        st.v = lines.line("optimizer_step.adam_v", "s_opt", sp.Add(
            sp.Mul(b2, S["s_opt_prev"]), sp.Mul(sp.Add(1, sp.Mul(-1, b2)), g2)),
            vals, t=t)
        vals.update({S["m_opt"]: st.m, S["s_opt"]: st.v})
        if mistake == "no-bias-correction":
            st.m_hat = lines.line("optimizer_step.no_correction_m", "m_hat_opt",
                                  S["m_opt"], vals, t=t)
            st.v_hat = lines.line("optimizer_step.no_correction_v", "v_hat_opt",
                                  S["s_opt"], vals, t=t)
        else:
            st.m_hat = lines.line("optimizer_step.adam_m_hat", "m_hat_opt", Ratio(
                S["m_opt"], sp.Add(1, sp.Mul(-1, sp.Pow(b1, t_s)))), vals, t=t)
            st.v_hat = lines.line("optimizer_step.adam_v_hat", "v_hat_opt", Ratio(
                S["s_opt"], sp.Add(1, sp.Mul(-1, sp.Pow(b2, t_s)))), vals, t=t)
        vals.update({S["m_hat_opt"]: st.m_hat, S["v_hat_opt"]: st.v_hat})
    vals[S["s_opt"]] = st.v
    top, second = (S["m_hat_opt"], S["v_hat_opt"]) if opt in ADAM else (g_sym, S["s_opt"])
    inside = mistake == "eps-inside-sqrt"
    denominator = sp.sqrt(sp.Add(second, eps)) if inside else sp.Add(sp.sqrt(second), eps)
    ratio = Ratio(top, denominator)
    decoupled = opt == "adamw" and mistake != "l2-in-adamw"
    f = sp.Add(wp, sp.Mul(-1, eta, sp.Add(ratio, sp.Mul(lam, wp)) if decoupled else ratio))
    key = {"adam": "optimizer_step.adam", "adamw": "optimizer_step.adamw"}.get(
        opt, "optimizer_step.adaptive")
    if decoupled is False and opt == "adamw":
        key = "optimizer_step.adam"
    st.w = lines.line(key + ("_eps_inside" if inside else ""), "w_opt", f, vals, t=t,
                      optimizer=opt)


def _shaped(M: sp.ImmutableMatrix, w: Any) -> Any:
    """A matrix back in w's shape: a number, a flat list, or rows."""
    if not isinstance(w, sp.MatrixBase):
        return M[0, 0]
    if w.cols == 1:
        return list(M)
    return [list(M.row(i)) for i in range(M.rows)]


MISTAKES = [
    Mistake("no-bias-correction", changes=("w", "w_steps", "m_hat", "v_hat", "update"),
            formula=True, applies=lambda p: p["optimizer"] in ADAM),
    Mistake("eps-inside-sqrt", changes=("w", "w_steps", "update"), formula=True,
            applies=lambda p: p["optimizer"] in ADAPTIVE and p.get("eps") is not None
            and p["eps"] >= 0.01),
    Mistake("momentum-sign", changes=("w", "w_steps", "update", "velocity"), formula=True,
            applies=lambda p: p["optimizer"] in MOMENTUM),
    Mistake("nesterov-as-momentum", changes=("w", "w_steps", "update", "velocity"),
            formula=True, applies=lambda p: p["optimizer"] == "nesterov"),
    Mistake("l2-in-adamw", changes=("w", "w_steps", "m", "v", "m_hat", "v_hat", "update"),
            formula=True, applies=lambda p: p["optimizer"] == "adamw"
            and (p.get("weight_decay") is None or p["weight_decay"] > 0)),
]


def sample_optimizer(draw: Draw, fixed: Mapping[str, Any]) -> dict[str, Any]:
    """One to three steps on a scalar, a 2- or 3-vector or a 2 x 2 matrix, numbers of one
    decimal; an epsilon of 0.1 now and then, so that where it stands shows."""
    dims = bind_dims(PARAMS, fixed)
    opt = fixed.get("optimizer", draw.choice(OPTIMIZERS))
    form = draw.choice(("scalar", "vector", "vector", "vector", "matrix"))
    if "N" in dims:
        form = "matrix" if "M" in dims else "vector"
    elif "w" in fixed and not isinstance(fixed["w"], list):
        form = "scalar"
    shape: tuple[int, ...] = {"scalar": (), "vector": (dims.get("N", draw.integer(2, 3)),),
                              "matrix": (dims.get("N", 2), dims.get("M", 2))}[form]
    steps = draw.choice((1, 1, 2, 3))
    out: dict[str, Any] = {
        "optimizer": opt,
        "w": draw.array(shape, -1, 1, nonzero=True),
        "g": draw.array(shape, -1, 1, nonzero=True) if steps == 1 else
        [draw.array(shape, -1, 1, nonzero=True) for _ in range(steps)],
        "lr": draw.choice((0.1, 0.1, 0.01)) if opt != "sgd" else draw.choice((0.1, 0.5)),
    }
    if opt in MOMENTUM:
        out["momentum"] = draw.choice((0.9, 0.5))
        out["convention"] = draw.choice(CONVENTIONS)
        if draw.chance(0.3):
            out["velocity"] = draw.array(shape, -0.5, 0.5, nonzero=True)
    if opt in ADAPTIVE and draw.chance(0.4):
        out["eps"] = 0.1
    if opt == "adamw":
        out["weight_decay"] = draw.choice((0.1, 0.5))
        out["lr"] = 0.1
    if opt in ADAM and draw.chance(0.3):
        out["m"] = draw.array(shape, -0.5, 0.5, nonzero=True)
        out["v"] = draw.array(shape, 0.1, 0.5)
        out["t"] = draw.integer(1, 3)
    if opt == "rmsprop":
        out["rho"] = draw.choice((0.9, 0.99))
    out.update(fixed)
    return out


def _question(values: dict[str, Any]) -> dict[str, Any]:
    hyper = _hyper(values["optimizer"], values["lr"], values["momentum"], values["beta1"],
                   values["beta2"], values["eps"], values["rho"], values["weight_decay"],
                   values["convention"])
    grads = _gradients(values["w"], values["g"])
    opt = values["optimizer"]
    family = ("momentum" if opt in MOMENTUM else "adam" if opt in ADAM else
              "adaptive" if opt in ADAPTIVE else "sgd")
    w = values["w"]
    W = _as_matrix(w)

    def start(name: str) -> Any:
        value = values[name]
        return value if value is not None else (
            sp.ImmutableMatrix.zeros(*W.shape) if isinstance(w, sp.MatrixBase) else 0)

    return {"statement": family, "lr": hyper.lr, "eps": hyper.eps,
            "weight_decay": hyper.decay, "momentum": hyper.mu, "steps": len(grads),
            "t_first": values["t"] + 1, "velocity_start": start("velocity"),
            "m_start": start("m"), "v_start": start("v"),
            # the drawn convention as a sentence; the decay rho only for RMSprop
            "convention_rule": Phrase(f"optimizer_step.convention_{hyper.convention}"),
            "steps_words": (Phrase("optimizer_step.says.steps_one") if len(grads) == 1 else
                            Phrase("optimizer_step.says.steps_many", {"n": len(grads)})),
            "rho_rule": (Phrase("optimizer_step.says.rho", {"rho": hyper.rho})
                         if opt == "rmsprop" else NOTHING)}


ANSWERS = [
    Answer("w", "vectors", shapes=((), ("N",), ("N", "M"))),
    Answer("w_steps", "vectors", shapes=(("S",), ("S", "N"), ("S", "N", "M"))),
    Answer("velocity", "vectors", shapes=((), ("N",), ("N", "M")), optional=True),
    Answer("m", "vectors", shapes=((), ("N",), ("N", "M")), optional=True),
    Answer("v", "vectors", shapes=((), ("N",), ("N", "M")), optional=True),
    Answer("m_hat", "vectors", shapes=((), ("N",), ("N", "M")), optional=True),
    Answer("v_hat", "vectors", shapes=((), ("N",), ("N", "M")), optional=True),
    Answer("update", "vectors", shapes=((), ("N",), ("N", "M"))),
    # the other momentum convention's values, so that both readings can be asked
    Answer("w_other", "vectors", shapes=((), ("N",), ("N", "M")), optional=True, asked=False),
    Answer("velocity_other", "vectors", shapes=((), ("N",), ("N", "M")), optional=True,
           asked=False),
]


@derivation(
    "optimizer-step",
    params=PARAMS,
    limits=_LIMITS,
    answers=ANSWERS,
    mistakes=MISTAKES,
    sampler=sample_optimizer,
    question=_question,
)
def optimizer_step(optimizer: str, w: Any, g: Any, lr: Any, momentum: Any, beta1: Any,
                   beta2: Any, eps: Any, rho: Any, weight_decay: Any, convention: str,
                   velocity: Any, m: Any, v: Any, t: int,
                   mistake: str | None = None) -> Result:
    """One optimiser step per gradient given, as torch.optim takes it.

    Args:
        optimizer: sgd, momentum, nesterov, adagrad, rmsprop, adam or adamw.
        w: the weights: a number, a vector or a matrix.
        g: one gradient of w's shape, or a list of them (one per step).
        lr: the learning rate (PyTorch's default for the optimiser when not given).
        momentum: mu for momentum and nesterov (0.9 when not given).
        beta1, beta2: Adam's decay rates.
        eps: the term that keeps the denominator from 0 (1e-8; Adagrad 1e-10).
        rho: RMSprop's decay rate (PyTorch's ``alpha``).
        weight_decay: lambda (0; AdamW 0.01).
        convention: momentum as PyTorch writes it (``pytorch``) or as textbooks (``classic``).
        velocity, m, v: the state before the first step (zeros when not given).
        t: the steps taken before (the first step here is t + 1).
        mistake: a declared mistake's id, computed from start to end.

    Raises:
        InputError: g or a state of another shape than w; a hyper-parameter out of range.
    """
    hyper = _hyper(optimizer, lr, momentum, beta1, beta2, eps, rho, weight_decay, convention)
    W = _as_matrix(w)
    grads = _gradients(w, g)
    for name, value, used in (("velocity", velocity, MOMENTUM), ("m", m, ADAM),
                              ("v", v, ADAPTIVE)):
        if value is not None and optimizer not in used:
            raise InputError(name, Said("optimizers.errors.no_state", name=name,
                                        optimizer=optimizer, used=", ".join(used)),
                             Said("optimizers.errors.a_value"))
    if v is not None and any(x < 0 for x in _as_matrix(v)):
        raise InputError("v", Said("optimizers.errors.squares"),
                         Said("optimizers.errors.negative"))
    state = {"velocity": _start(velocity, W, "velocity"), "m": _start(m, W, "m"),
             "v": _start(v, W, "v")}
    scalar = not isinstance(w, sp.MatrixBase)
    steps: list[Step] = [Step(key=f"optimizer_step.rule_{optimizer}", data={
        "lr": hyper.lr, "momentum": hyper.mu, "beta1": hyper.beta1, "beta2": hyper.beta2,
        "eps": hyper.eps, "rho": hyper.rho, "weight_decay": hyper.decay,
        "steps": len(grads), "t": t + 1})]
    if optimizer in MOMENTUM:
        steps.append(Step(key=f"optimizer_step.convention_{convention}",
                          data={"convention": convention}))
    run_steps, ws, final = _run(hyper, W, grads, state, t, scalar, mistake)
    steps += run_steps
    before = W if len(ws) == 1 else ws[-2]
    update = sp.ImmutableMatrix(ws[-1] - before)
    answers: dict[str, Any] = {"w": _shaped(ws[-1], w), "w_steps": [_shaped(x, w) for x in ws],
                               "update": _shaped(update, w)}
    if optimizer in MOMENTUM:
        answers["velocity"] = _shaped(final["velocity"], w)
        other = "classic" if convention == "pytorch" else "pytorch"
        other_hyper = Hyper(**{**hyper.__dict__, "convention": other})
        _other_steps, other_ws, other_final = _run(other_hyper, W, grads, state, t, scalar,
                                                   None)
        answers["w_other"] = _shaped(other_ws[-1], w)
        answers["velocity_other"] = _shaped(other_final["velocity"], w)
        steps.append(Step(key=f"optimizer_step.other_{other}", data={
            "w": answers["w_other"], "velocity": answers["velocity_other"]}))
    if optimizer in ADAPTIVE:
        answers["v"] = _shaped(final["v"], w)
    if optimizer in ADAM:
        answers["m"] = _shaped(final["m"], w)
        answers["m_hat"] = _shaped(final["m_hat"], w)
        answers["v_hat"] = _shaped(final["v_hat"], w)
    steps.append(Step(key="optimizer_step.update", lhs=None, value=update[0, 0] if scalar
                      else update, data={"steps": len(grads)}))
    return Result(convention=convention if optimizer in MOMENTUM else None, steps=tuple(steps),
                  answers=answers, info={"other_convention": "classic" if convention ==
                                         "pytorch" else "pytorch"} if optimizer in MOMENTUM
                  else {})
