"""The multiclass SVM (hinge) loss, in the Weston-Watkins form that CS231n teaches.

For the scores s of k classes and the true class y,

    L = sum_{j != y} max(0, s_j - s_y + Delta),

each class j other than y paying what its score comes within the margin Delta of the true
class's (or exceeds it). Its (sub)gradient with respect to the scores is
dL/ds_j = 1[s_j - s_y + Delta > 0] for j != y, and dL/ds_y = -(the number of such j).

Convention at the kink: where s_j - s_y + Delta is exactly 0 the hinge is not differentiable and
any number from 0 to 1 is a subgradient. ``at_kink=0`` (the default) counts 0 there, as CS231n's
``margins > 0`` and PyTorch's ``MultiMarginLoss`` do; ``at_kink=1`` counts 1 (the slope of
``clamp(x, min=0)`` at 0 in PyTorch's autograd). The gradient under the other convention is
reported in ``info`` when some class sits exactly at the margin. The margins answer lists the
true class's entry as 0 (it is not part of the sum).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sympy as sp

from dlexam.derivations.contract import Answer, Mistake
from dlexam.derivations.core import Result, Step, derivation, terms_of
from dlexam.derivations.forms import Indicator, as_written, row_vector
from dlexam.derivations.params import Param, bind_dims
from dlexam.derivations.sampling import Draw
from dlexam.derivations.statements import NOTHING
from dlexam.errors import InputError, Said
from dlexam.notation import register_symbols, sym
from dlexam.notation.display import Listed, Phrase

register_symbols({
    "hinge_s": ("s", "s"),
    "hinge_s_j": ("s_j", "s_j"),
    "hinge_delta": (r"\Delta", "Δ"),
    "hinge_L": ("L", "L"),
    "hinge_L_j": ("L_j", "L_j"),
    "hinge_terms": (r"\ell", "ℓ"),
    "hinge_grad": (r"\nabla_{s} L", "∇_s L"),
    "hinge_dL_ds_j": (r"\frac{\partial L}{\partial s_j}", "∂L/∂s_j"),
})

KINK_CONVENTIONS = ("0", "1")

PARAMS = [
    Param("scores", "array", shapes=(("k",),)),
    Param("label", "int", minimum=0, maximum=7),
    Param("margin", "number", default=1, minimum=0),
    Param("at_kink", "choice", choices=KINK_CONVENTIONS, default="0"),
]


def _score_symbol(j: int) -> sp.Symbol:
    return sp.Symbol(f"s_{j}")


def _argument(s_j: Any, s_y: Any, delta: Any) -> sp.Basic:
    """s_j - s_y + Delta as written (the margin left out: s_j - s_y)."""
    parts = [s_j, sp.Mul(-1, s_y, evaluate=False)]
    if delta is not None:
        parts.append(delta)
    return sp.Add(*parts, evaluate=False)


def _hinge(argument: sp.Basic, clamp: bool) -> sp.Basic:
    """max(0, argument), or the argument alone (the max left out)."""
    return sp.Max(0, argument, evaluate=False) if clamp else argument


def _counts(value: sp.Basic, at_kink: str) -> bool:
    """Whether a hinge whose argument is ``value`` counts in the gradient: above 0, or at 0
    too under ``at_kink=1`` (a comparison a trace keeps as a guard)."""
    return bool(value >= 0) if at_kink == "1" else bool(value > 0)


def _keyed(key: str, mistake: str | None, own: tuple[str, ...]) -> str:
    """A step's catalog key: its own wording for the mistakes in ``own``."""
    return key + "_" + mistake.replace("-", "_") if mistake in own else key


def _condition(argument: sp.Basic, at_kink: str) -> sp.Basic:
    relation = sp.GreaterThan if at_kink == "1" else sp.StrictGreaterThan
    return Indicator(relation(argument, 0, evaluate=False))


def sample_hinge(draw: Draw, fixed: dict[str, Any]) -> dict[str, Any]:
    """Three to five one-decimal scores in [-3, 5], a true class, and the margin 1 (one question
    in five 0.5 or 2). Some class lies inside the margin (a positive term, so the gradient is not
    zero) and some outside it (so leaving out the max shows); none exactly at it (the kink)."""
    dims = bind_dims(PARAMS, fixed)
    label = fixed.get("label")
    least = 3 if label is None else max(3, int(label) + 1)
    k = dims.get("k", max(draw.choice((3, 3, 4, 4, 5)), least))
    out: dict[str, Any] = {}
    for _ in range(200):
        out = {
            "scores": draw.array((k,), -3, 5),
            "label": draw.integer(0, k - 1),
            "margin": draw.choice((1, 1, 1, 1, 0.5, 2)),
        }
        out.update(fixed)
        if "scores" in fixed:
            break
        s, y = [sp.Rational(str(v)) for v in out["scores"]], int(out["label"])
        delta = sp.Rational(str(out["margin"]))
        args = [s[j] - s[y] + delta for j in range(len(s)) if j != y]
        if any(a > 0 for a in args) and any(a < 0 for a in args) and all(a != 0 for a in args):
            break
    return out


def _question(values: dict[str, Any]) -> dict[str, Any]:
    """The true class counted from 1 as well, and the margin as written; the slope at a kink
    is said only when a term sits exactly on it."""
    scores, y = list(values["scores"]), int(values["label"])
    on_kink = any(scores[j] - scores[y] + values["margin"] == 0
                  for j in range(len(scores)) if j != y)
    return {"index": y + 1,
            "kink_rule": (Phrase("hinge_loss.says.kink", {"at_kink": values["at_kink"]})
                          if on_kink else NOTHING)}


@derivation(
    "hinge-loss",
    params=PARAMS,
    answers=[
        Answer("margins", "vector", shapes=(("k",),)),
        Answer("loss", "number"),
        Answer("grad", "vector", shapes=(("k",),)),
    ],
    limits={"k": 8},
    mistakes=[
        # the sum taken over every class, the true one's own term max(0, Delta) = Delta with it
        Mistake("true-class-counted", changes=("margins", "loss"), formula=True,
                applies=lambda p: p["margin"] != 0),
        Mistake("no-max", changes=("margins", "loss", "grad"), formula=True),
        Mistake("grad-sign", changes=("grad",), formula=True),
        # before no-margin: a gradient whose true-class entry alone is 0 is this mistake's
        # (no-margin's can give that entry too, but changes the terms as well)
        Mistake("true-class-grad-left-out", changes=("grad",), formula=True),
        Mistake("no-margin", changes=("margins", "loss", "grad"), formula=True,
                applies=lambda p: p["margin"] != 0),
    ],
    sampler=sample_hinge,
    question=_question,
)
def hinge_loss(scores: sp.ImmutableMatrix, label: int, margin: sp.Rational, at_kink: str,
               mistake: str | None = None) -> Result:
    """The multiclass SVM loss of one example, its per-class terms and its subgradient.

    Args:
        scores: the class scores s (k of them).
        label: the true class, counted from 0.
        margin: Delta, the margin the true class's score should lead by (default 1).
        at_kink: the subgradient counted where s_j - s_y + Delta is exactly 0: ``0`` (the
            default, CS231n's and PyTorch MultiMarginLoss's) or ``1``.
        mistake: ``true-class-counted`` (the sum over every class, the true one's own term
            Delta too), ``no-max`` (max(0, .) left out), ``grad-sign`` (the gradient's sign
            reversed), ``no-margin`` (Delta left out), ``true-class-grad-left-out`` (the
            true class's entry of the gradient left at 0).

    Raises:
        InputError: a label that is not a class of the scores.
    """
    s = list(scores)
    k = len(s)
    if not 0 <= label < k:
        raise InputError("label", Said("inputs.class_index", last=k - 1), str(label))
    delta = None if mistake == "no-margin" else margin
    h = _Hinge(s=s, y=label, delta=delta, clamp=mistake != "no-max", at_kink=at_kink,
               mistake=mistake,
               # the margin as the formulas write it and as its number is put in (None: left
               # out)
               d_used=None if delta is None else sym("hinge_delta"),
               d_shown=None if delta is None else as_written(delta))
    steps: list[Step] = [Step(
        key="hinge_loss.scores", lhs=sym("hinge_s"),
        symbolic=row_vector([as_written(v) for v in s]),
        data={"k": k, "label": label, "index": label + 1, "true_score": h.s_y_sym,
              "margin": margin})]
    more, terms, args, loss = _margin_steps(h, margin)
    steps += more
    grad_step, grad = _gradient_step(h, args)
    steps.append(grad_step)
    info: dict[str, Any] = {"at_kink": at_kink}
    kink = _kink_step(h, args, grad)
    if kink is not None:
        steps.append(kink[0])
        info["grad_other_convention"] = kink[1]
    return Result(convention=f"at_kink={at_kink}", steps=tuple(steps),
                  answers={"margins": terms, "loss": loss, "grad": grad}, info=info)


@dataclass(frozen=True)
class _Hinge:
    """One example's question as every step group reads it: the scores, the true class y, the
    margin (None: left out), whether max(0, .) is taken, the kink's convention and the
    mistake."""

    s: list[sp.Rational]
    y: int
    delta: sp.Rational | None
    clamp: bool
    at_kink: str
    mistake: str | None
    d_used: sp.Symbol | None
    d_shown: sp.Basic | None

    @property
    def k(self) -> int:
        return len(self.s)

    @property
    def s_y_sym(self) -> sp.Symbol:
        return _score_symbol(self.y + 1)

    @property
    def others(self) -> list[int]:
        return [j for j in range(self.k) if j != self.y]


def _margin_steps(h: _Hinge, margin: sp.Rational
                  ) -> tuple[list[Step], list[sp.Basic], list[sp.Basic | None], sp.Basic]:
    """The margins step group: each counted class's hinge, then their sum. Returns the steps,
    the terms, each term's argument s_j - s_y + Delta (None: not counted) and the loss."""
    s, y, k, clamp, mistake = h.s, h.y, h.k, h.clamp, h.mistake
    counted = [j for j in range(k) if j != y or mistake == "true-class-counted"]
    sym_row: list[sp.Basic] = []
    num_row: list[sp.Basic] = []
    terms: list[sp.Basic] = []
    args: list[sp.Basic | None] = []
    for j in range(k):
        if j not in counted:
            sym_row.append(sp.Integer(0))
            num_row.append(sp.Integer(0))
            terms.append(sp.Integer(0))
            args.append(None)
            continue
        value = s[j] - s[y] + (h.delta if h.delta is not None else 0)
        args.append(value)
        sym_row.append(_hinge(_argument(_score_symbol(j + 1), h.s_y_sym, h.d_used), clamp))
        num_row.append(_hinge(_argument(as_written(s[j]), as_written(s[y]), h.d_shown), clamp))
        terms.append(value if not clamp or _counts(value, "0") else sp.Integer(0))
    general = sp.Max(0, _argument(sym("hinge_s_j"), h.s_y_sym, h.d_used), evaluate=False)
    key = _keyed("hinge_loss.margins", mistake, ("no-max", "no-margin", "true-class-counted"))
    # the terms and the gradient as columns: one class a line, so that they fit a page
    steps = [Step(key=key, lhs=sym("hinge_terms"), symbolic=sp.ImmutableMatrix(sym_row),
                  substituted=sp.ImmutableMatrix(num_row), value=sp.ImmutableMatrix(terms),
                  data={"k": k, "index": y + 1, "margin": margin},
                  elidable=terms_of(k, lhs=sym("hinge_L_j"),
                                    symbolic=general if clamp else general.args[1],
                                    substituted=None))]
    loss = sp.Add(*[terms[j] for j in counted])
    sym_terms = [sp.Symbol(f"L_{j + 1}") for j in counted]
    num_terms = [as_written(terms[j]) for j in counted]
    steps.append(Step(
        key="hinge_loss.loss", lhs=sym("hinge_L"),
        symbolic=sp.Add(*sym_terms, evaluate=False) if len(sym_terms) > 1 else sym_terms[0],
        substituted=sp.Add(*num_terms, evaluate=False) if len(num_terms) > 1 else num_terms[0],
        value=loss, data={"index": y + 1},
        elidable=terms_of(len(sym_terms), symbolic=sp.Sum(
            sym("hinge_L_j"), (sp.Symbol("j"), 1, k)), substituted=None)))
    return steps, terms, args, loss


def _gradient_step(h: _Hinge, args: list[sp.Basic | None]) -> tuple[Step, list[sp.Integer]]:
    """The gradient step: each counted hinge adds 1 to its class and -1 to the true class.
    Returns the step and the gradient."""
    s, y, k, clamp, mistake, at_kink = h.s, h.y, h.k, h.clamp, h.mistake, h.at_kink
    others = h.others
    ones = {j: (not clamp) or _counts(args[j], at_kink) for j in others}
    grad = [sp.Integer(1 if ones.get(j) else 0) for j in range(k)]
    grad[y] = -sp.Integer(sum(1 for j in others if ones[j]))
    if mistake == "true-class-grad-left-out":
        grad[y] = sp.Integer(0)
    if mistake == "grad-sign":
        grad = [-g for g in grad]
    grad_sym: list[sp.Basic] = []
    grad_num: list[sp.Basic] = []
    for j in others:
        if clamp:
            grad_sym.append(_condition(_argument(_score_symbol(j + 1), h.s_y_sym, h.d_used),
                                       at_kink))
            grad_num.append(_condition(_argument(as_written(s[j]), as_written(s[y]),
                                                 h.d_shown), at_kink))
        else:
            grad_sym.append(sp.Integer(1))
            grad_num.append(sp.Integer(1))
    true_sym = sp.Mul(-1, sp.Add(*grad_sym, evaluate=False) if len(grad_sym) > 1
                      else grad_sym[0], evaluate=False)
    true_num = sp.Mul(-1, sp.Add(*grad_num, evaluate=False) if len(grad_num) > 1
                      else grad_num[0], evaluate=False)
    if mistake == "true-class-grad-left-out":
        true_sym = true_num = sp.Integer(0)
    row_sym = list(grad_sym)
    row_num = list(grad_num)
    row_sym.insert(y, true_sym)
    row_num.insert(y, true_num)
    if mistake == "grad-sign":
        row_sym = [sp.Mul(-1, x, evaluate=False) for x in row_sym]
        row_num = [sp.Mul(-1, x, evaluate=False) for x in row_num]
    grad_key = _keyed("hinge_loss.gradient", mistake,
                      ("no-max", "grad-sign", "true-class-grad-left-out"))
    step = Step(key=grad_key, lhs=sym("hinge_grad"), symbolic=sp.ImmutableMatrix(row_sym),
                substituted=sp.ImmutableMatrix(row_num), value=sp.ImmutableMatrix(grad),
                data={"k": k, "index": y + 1, "at_kink": at_kink},
                elidable=terms_of(k, lhs=sym("hinge_dL_ds_j"),
                                  symbolic=_condition(_argument(
                                      sym("hinge_s_j"), h.s_y_sym, h.d_used), at_kink),
                                  substituted=None))
    return step, grad


def _kink_step(h: _Hinge, args: list[sp.Basic | None], grad: list[sp.Integer]
               ) -> tuple[Step, list[sp.Integer]] | None:
    """Where a hinge sits exactly at its kink: the step and the gradient under the other
    convention (None when no hinge does)."""
    kinks = [j for j in h.others
             if h.clamp and args[j] is not None and bool(sp.Eq(args[j], 0))]
    if not kinks:
        return None
    other = "1" if h.at_kink == "0" else "0"
    flipped = list(grad)
    sign = -1 if h.mistake == "grad-sign" else 1
    for j in kinks:
        step = sign * (1 if other == "1" else -1)
        flipped[j] += step
        if h.mistake != "true-class-grad-left-out":
            flipped[h.y] -= step
    return Step(key="hinge_loss.kink", data={
        "classes": Listed(j + 1 for j in kinks), "at_kink": h.at_kink,
        "other": other, "grad_other": row_vector(flipped)}), flipped
