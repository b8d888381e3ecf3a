"""Q3 and Q6: attention contexts, scaled dot-product self-attention and multi-head attention.

Row vectors, as in the transformer literature: token i is row i of X, the projections are
Q = X W^Q, K = X W^K, V = X W^V, and row i of Z = softmax(Q K^T / sqrt(d_k)) V is the weighted
sum of the rows of V with the softmax of row i of the scores as weights. Small cases stay exact
(the softmax of 14 and 12 is e^2 / (1 + e^2)); larger ones are evaluated in floats with NumPy.

The head pipeline, multi-head attention and the matrix helpers are shared with the transformer:
they live in :mod:`dlexam.derivations.heads`.
"""

# ruff: noqa: N803
# (matrix names follow the transformer literature: X, W_Q, Q, K, V, Z; the registry passes the
# parameters by these names)

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import sympy as sp

from dlexam.derivations.contract import Answer, Follow, Mistake, with_params
from dlexam.derivations.core import Result, Step, derivation, to_plain
from dlexam.derivations.forms import Stack, as_written, row_vector
from dlexam.derivations.heads import (
    ATTENTION_SEED_RANGE,
    CROSS_SLOTS,
    EXACT_LIMIT,
    MULTI_HEAD_DEFAULTS,
    MULTI_HEAD_SLOTS,
    NC,
    PARAM_SYMBOLS,
    HeadSymbols,
    Is,
    Names,
    Scale,
    Softmax,
    dim_size,
    generated_step,
    head_attention,
    indexed,
    matrices_given,
    multi_head,
    multi_head_values,
    scaled_attention,
    scores_step,
    seeded_inputs,
    shape_data,
    shape_text,
    softmax_row_step,
    softmax_rows_exact,
    weighted_values,
)
from dlexam.derivations.params import Param, bind_dims, numeric_inputs, validate
from dlexam.derivations.sampling import Draw
from dlexam.derivations.statements import mask_phrase
from dlexam.errors import InputError, Said
from dlexam.notation import register_symbols, sym
from dlexam.notation.display import Series

register_symbols({
    "C_ctx": ("C", "C"),
    "H_states": ("H", "H"),
    "C_i": ("C_i", "C_i"),
    "a_ij": ("a_{ij}", "a_ij"),
    "h_j": ("h_j", "h_j"),
    "n_states": ("n", "n"),
})

# ---------------------------------------------------------------------------------------------
# Q3: seq2seq contexts with and without attention


LABEL_MAX_LENGTH = 24
"""The longest single label (a word or a short phrase), in characters."""
LABELS_MAX_LENGTH = 300
"""The longest comma-separated list of labels, in characters."""


def _labels(name: str, text: str | None, count: int, fallback: str) -> list[Any]:
    if text is None:
        return [sp.Symbol(f"{fallback}_{k}") for k in range(1, count + 1)]
    labels = [part.strip() for part in text.split(",")]
    if len(labels) != count or not all(labels):
        shown = text if len(text) <= 40 else text[:37] + "..."
        raise InputError(name, Said("attention.errors.names", n=count), f"{len(labels)}: {shown!r}")
    for index, label in enumerate(labels, start=1):
        if len(label) > LABEL_MAX_LENGTH:
            raise InputError(name, Said("attention.errors.name_length", n=LABEL_MAX_LENGTH),
                             Said("attention.errors.name_of", index=index, length=len(label)))
    return labels


def _label_list(labels: list[Any]) -> Any:
    """Labels as prose lists them: the names given, comma-separated (``Tom, chase, Jerry``), or
    the default symbols as a vector (x_1, x_2, x_3)."""
    if all(isinstance(label, str) for label in labels):
        return Series("names", labels)
    return row_vector(labels)


def _check_weights(weights: sp.MatrixBase) -> None:
    for i in range(weights.rows):
        row = list(weights.row(i))
        if any(w < 0 for w in row):
            raise InputError("weights", Said("attention.errors.non_negative"),
                             Said("attention.errors.negative_in_row", row=i + 1))
        total = sp.Add(*row)
        if abs(total - 1) > sp.Rational(1, 10**9):
            raise InputError("weights", Said("attention.errors.rows_sum"),
                             Said("attention.errors.row_sums", row=i + 1,
                                  total=f"{float(total):g}"))


ATTENTION_CONTEXT_PARAMS = [
    Param("weights", "array", shapes=(("n_out", "n_in"),), default=None),
    Param("scores", "array", shapes=(("n_out", "n_in"),), default=None),
    Param("states", "array", shapes=(("n_in", "d"), ("n_in",)), default=None),
    Param("input_labels", "string", default=None, max_length=LABELS_MAX_LENGTH),
    Param("output_labels", "string", default=None, max_length=LABELS_MAX_LENGTH),
]


def _square(p: Mapping[str, Any]) -> bool:
    given = p["weights"] if p["weights"] is not None else p["scores"]
    return given is not None and len(given) == len(given[0])


ATTENTION_CONTEXT_MISTAKES = [
    # a_ji for a_ij: output i weighted with column i of the weights
    Mistake("transposed-weights", changes=("contexts",), formula=True,
            applies=lambda p: p["states"] is not None and _square(p)),
    Mistake("no-softmax", changes=("weights", "contexts"), formula=True,
            applies=lambda p: p["scores"] is not None and p["states"] is not None),
    # the softmax over each column of the scores (over the outputs) instead of each row
    Mistake("softmax-by-column", changes=("weights", "contexts"), formula=True,
            applies=lambda p: p["scores"] is not None and len(p["scores"]) > 1),
    # without attention, the first encoder state taken as the context instead of the last
    Mistake("first-state-context", changes=("context_no_attention",), formula=True,
            applies=lambda p: p["states"] is not None and len(p["states"]) > 1),
]


def sample_attention_context(draw: Draw, fixed: Mapping[str, Any]) -> dict[str, Any]:
    """Two or three inputs and as many outputs, numeric encoder states, and either weights
    (one-decimal rows summing to 1, not symmetric) or one-decimal scores in [-2, 2]."""
    dims = bind_dims(ATTENTION_CONTEXT_PARAMS, fixed)
    n_in = dims.get("n_in", draw.integer(2, 3))
    n_out = dims.get("n_out", n_in)
    d = dims.get("d", draw.integer(1, 3))
    use_scores = fixed.get("scores") is not None or (fixed.get("weights") is None
                                                     and draw.chance(0.5))
    out: dict[str, Any] = {}
    for _ in range(100):
        if use_scores:
            out = {"scores": draw.array((n_out, n_in), -2, 2)}
        else:
            out = {"weights": [draw.distribution(n_in, 1, floor=0.1) for _ in range(n_out)]}
        out["states"] = draw.array((n_in,) if d == 1 else (n_in, d), -1, 1, nonzero=True)
        out.update({k: v for k, v in fixed.items() if v is not None})
        a = out.get("weights") or out["scores"]
        if n_in != n_out or "weights" in fixed or "scores" in fixed or any(
                abs(a[i][j] - a[j][i]) >= 0.2 for i in range(n_in) for j in range(i)):
            break
    return out


def _attention_context_question(values: dict[str, Any]) -> dict[str, Any]:
    """The weights or scores and the encoder states as equations."""
    given = ([Is(sym("A_att", **NC), values["weights"])] if values["weights"] is not None
             else [Is(sym("S_att", **NC), values["scores"])])
    states = values["states"]
    if states is not None:
        given.append(Is(sp.Symbol("H", commutative=False),
                        states.T if states.cols == 1 else states))
    return {"given": Names(*given), "n_in": (values["weights"] if values["weights"] is not None
                                             else values["scores"]).cols}


@derivation(
    "attention-context",
    params=ATTENTION_CONTEXT_PARAMS,
    answers=[
        # computed only from scores (weights given are echoed in info)
        Answer("weights", "matrix", shapes=(("n_out", "n_in"),), optional=True),
        # numbers only with numeric states (else the weighted sums are formulas, in info)
        Answer("contexts", "vectors", shapes=(("n_out", "d"), ("n_out",)), optional=True),
        Answer("context_no_attention", "vectors", shapes=(("d",), ()), optional=True),
    ],
    mistakes=ATTENTION_CONTEXT_MISTAKES,
    sampler=sample_attention_context,
    question=_attention_context_question,
    limits={"n_out": 6, "n_in": 6, "d": 8},  # symbolic states of 8 x 8 took 5.6 s
)
def attention_context(
    weights: sp.ImmutableMatrix | None,
    scores: sp.ImmutableMatrix | None,
    states: sp.ImmutableMatrix | None,
    input_labels: str | None,
    output_labels: str | None,
    mistake: str | None = None,
) -> Result:
    """Q3: each output's context C_i = sum_j a_ij h_j, and the single context without attention.

    Args:
        weights: attention weights a_ij (n_out x n_in), each row summing to 1.
        scores: alignment scores instead of weights; each row goes through a softmax.
        states: the encoder states h_j, one row each; without them h_1..h_n stay symbols.
        input_labels: names of the inputs, comma-separated (``"Tom,Chase,Jerry"``).
        output_labels: names of the outputs, comma-separated (``"湯姆,追逐,傑瑞"``).
        mistake: ``transposed-weights`` (a_ji used for a_ij) or ``no-softmax`` (the scores
            used as weights).
    """
    if weights is None and scores is None:
        raise InputError("weights", Said("attention.errors.weights_or_scores"),
                         Said("errors.nothing"))
    if weights is not None and scores is not None:
        raise InputError("scores", Said("attention.errors.not_both", a="weights", b="scores"),
                         Said("errors.both"))
    steps: list[Step] = []
    rows, cols = (weights if weights is not None else scores).shape  # type: ignore[union-attr]
    ins = _labels("input_labels", input_labels, cols, "x")
    outs = _labels("output_labels", output_labels, rows, "y")
    h = [sp.Symbol(f"h_{j}") for j in range(1, cols + 1)]
    general = sp.Sum(sp.Mul(sym("a_ij"), sym("h_j"), evaluate=False),
                     (sp.Symbol("j"), 1, sym("n_states")))
    steps.append(Step(key="attention_context.formula", lhs=sym("C_i"), symbolic=general,
                      data={"n_in": cols, "n_out": rows}))
    more, used, computed_weights = _context_weights(weights, scores, outs, mistake)
    steps += more
    more, contexts, last = _context_steps(used, states, ins, outs,
                                          given_weights=weights is not None, mistake=mistake)
    steps += more
    steps += _decoder_steps(h, outs)
    answers: dict[str, Any] = {}
    info: dict[str, Any] = {}
    if weights is None:
        answers["weights"] = computed_weights
    else:
        info["weights"] = weights
    if states is None:  # the weighted sums of the symbols h_j: formulas, not numbers
        info.update(contexts=contexts, context_no_attention=last)
    else:
        answers.update(contexts=contexts, context_no_attention=list(last))
    return Result(convention="weighted-sum", steps=tuple(steps), answers=answers, info=info)


def _context_weights(weights: sp.ImmutableMatrix | None, scores: sp.ImmutableMatrix | None,
                     outs: list[str], mistake: str | None
                     ) -> tuple[list[Step], sp.ImmutableMatrix, sp.ImmutableMatrix]:
    """The weights step group: the weights as given (checked), or each row of scores through
    a softmax (or not: the mistake), then transposed (the mistake). Returns the steps, the
    weights used and the weights before any transposing."""
    steps: list[Step] = []
    if scores is not None and mistake == "no-softmax":
        weights = scores
        steps.append(Step(key="attention_context.no_softmax", lhs=sym("A_att", **NC),
                          symbolic=sym("S_att", **NC), value=scores, data=shape_data(scores)))
    elif scores is not None and mistake == "softmax-by-column":
        weights = sp.ImmutableMatrix(softmax_rows_exact(scores.T).T)
        steps.append(Step(key="attention_context.softmax_by_column", lhs=sym("A_att", **NC),
                          value=weights, data=shape_data(weights)))
    elif scores is not None:
        weights = softmax_rows_exact(scores)
        for i in range(scores.rows):
            steps.append(softmax_row_step("attention_context", i, scores, weights,
                                           {"output": outs[i]}, "s"))
    else:
        _check_weights(weights)  # type: ignore[arg-type]
    assert weights is not None
    computed_weights = weights
    rows, cols = weights.shape
    if mistake == "transposed-weights":
        if rows != cols:
            raise InputError("--mistake", Said("attention.errors.transposed_square"),
                             f"{rows} x {cols}")
        weights = sp.ImmutableMatrix(weights.T)
        steps.append(Step(key="attention_context.transposed", lhs=sym("A_att", **NC),
                          symbolic=sp.Transpose(sym("A_att", **NC)), value=weights,
                          data=shape_data(weights)))
    return steps, weights, computed_weights


def _context_steps(weights: sp.ImmutableMatrix, states: sp.ImmutableMatrix | None,
                   ins: list[str], outs: list[str], given_weights: bool,
                   mistake: str | None = None) -> tuple[list[Step], list[Any], Any]:
    """The contexts step group: the states, each output's weighted sum and the one context
    without attention (the last state). Returns the steps, the contexts and that last state."""
    rows, cols = weights.shape
    h = [sp.Symbol(f"h_{j}") for j in range(1, cols + 1)]
    # one equation group per idea, one line per state, output or decoder step (as the unfolded
    # LSTM): the prose explains the group once instead of once per line
    state_rows = [] if states is None else [row_vector(list(states.row(j))) for j in range(cols)]
    steps = [Step(key="attention_context.states",
                  lhs=Stack(*h) if states is not None else None,
                  symbolic=states if states is not None else None,
                  data={"states": row_vector(h), "inputs": _label_list(ins), "n_in": cols})]
    contexts: list[Any] = []
    symbolic_rows, substituted_rows, value_rows = [], [], []
    for i in range(rows):
        with sp.evaluate(False):
            symbolic_rows.append(sp.Add(*[sp.Mul(indexed("a", i + 1, j + 1), h[j])
                                          for j in range(cols)]))
            substituted_rows.append(sp.Add(*[sp.Mul(as_written(weights[i, j]), h[j])
                                             for j in range(cols)]))
        if states is None:
            combination = sp.Add(*[weights[i, j] * h[j] for j in range(cols)])
            # exact softmax weights share one denominator: (h_1 + e h_2) / (1 + e), written once
            contexts.append(combination if all(weights[i, j].is_Rational for j in range(cols))
                            else sp.factor_terms(sp.together(combination)))
        else:
            value_rows.append(sum((weights[i, j] * state_rows[j] for j in range(cols)),
                                  sp.zeros(1, states.cols)))
            contexts.append(list(value_rows[-1]))
    c_syms = [sp.Symbol(f"C_{i + 1}") for i in range(rows)]
    # with symbolic states the weighted sums with the weights put in are the answer itself
    steps.append(Step(key="attention_context.contexts", lhs=Stack(*c_syms),
                      symbolic=Stack(*symbolic_rows), substituted=Stack(*substituted_rows),
                      value=(sp.ImmutableMatrix.vstack(*value_rows) if states is not None
                             else Stack(*contexts) if not given_weights else None),
                      data={"outputs": _label_list(outs), "n_out": rows}))
    # the encoder's last state (its first under first-state-context)
    at = 0 if mistake == "first-state-context" else -1
    last = h[at] if states is None else state_rows[at]
    steps.append(Step(key="attention_context.no_attention" + ("_first" if at == 0 else ""),
                      lhs=sym("C_ctx"), symbolic=h[at], value=None if states is None else last,
                      data={"last": h[at], "input": ins[at], "n_in": cols}))
    return steps, contexts, last


def _decoder_steps(h: list[sp.Symbol], outs: list[str]) -> list[Step]:
    """The decoder step group: each output from the one fixed context, then from its own."""
    rows, cols = len(outs), len(h)
    c_syms = [sp.Symbol(f"C_{i + 1}") for i in range(rows)]
    c = sym("C_ctx")
    f = sp.Function("f")
    y = [sp.Symbol(f"y_{i}") for i in range(1, rows + 1)]
    data = {"outputs": _label_list(outs), "n_out": rows}
    return [
        Step(key="attention_context.decoder_fixed", lhs=Stack(*y),
             symbolic=Stack(*[f(c, *y[:i]) for i in range(rows)]), data=data),
        Step(key="attention_context.decoder_attention", lhs=Stack(*y),
             symbolic=Stack(*[f(c_syms[i], *y[:i]) for i in range(rows)]), data=data),
        Step(key="attention_context.difference", data={"n_out": rows, "n_in": cols}),
    ]


# ---------------------------------------------------------------------------------------------
# Q6: scaled dot-product self-attention


SCALES = ("sqrt", "none")
"""The words ``scale`` takes besides a positive number to divide by."""

SELF_ATTENTION_PARAMS = [
    Param("X", "array", shapes=(("n", "d_model"),), default=None),
    Param("W_Q", "array", shapes=(("d_model", "d_k"),), default=None),
    Param("W_K", "array", shapes=(("d_model", "d_k"),), default=None),
    Param("W_V", "array", shapes=(("d_model", "d_v"),), default=None),
    Param("scores", "array", shapes=(("n", "m"), ("m",)), default=None),
    Param("d_k", "int", default=None, minimum=1, maximum=4096, held=True),
    Param("values", "array", shapes=(("m", "d_v"),), default=None),
    Param("mask", "choice", default="none", choices=("none", "causal")),
    Param("Q", "array", shapes=(("n", "d_k"),), default=None),
    Param("K", "array", shapes=(("m", "d_k"),), default=None),
    Param("V", "array", shapes=(("m", "d_v"),), default=None),
    Param("scale", "choice_or_number", default="sqrt", choices=SCALES),
]
X_FORM = ("X", "W_Q", "W_K", "W_V")
SCORES_FORM = ("scores", "d_k", "values")
QKV_FORM = ("Q", "K", "V")

_AFTER_SCALING = ("scaled", "masked", "weights", "Z")
SELF_ATTENTION_MISTAKES = [
    # with scale=none the right method already leaves the scores as they are
    Mistake("no-scaling", changes=_AFTER_SCALING, formula=True,
            applies=lambda p: not Scale(p["scale"]).plain),
    # d_k for sqrt(d_k): a mistake of the sqrt(d_k) scale only (a number given is what it is)
    Mistake("scaled-by-dk", changes=_AFTER_SCALING, formula=True,
            applies=lambda p: Scale(p["scale"]).root),
    Mistake("softmax-by-column", changes=("weights", "Z"), formula=True),
    # the causal mask asked for and left out: every token attends to every other
    Mistake("no-mask", changes=("weights", "Z", "masked"), params=with_params(mask="none"),
            applies=lambda p: p["mask"] == "causal"),
    # K Q^T for Q K^T (the scores transposed), where queries and keys are as many
    Mistake("transposed-scores", changes=("scores", *_AFTER_SCALING), formula=True,
            applies=lambda p: p["scores"] is None and _square_scores(p)),
    # the mask applied to the weights after the softmax, the rows not renormalised
    Mistake("mask-after-softmax", changes=("weights", "Z"), formula=True,
            applies=lambda p: p["mask"] == "causal"),
    # Z = A^T V for A V
    Mistake("transposed-weights-in-z", changes=("Z",), formula=True,
            applies=lambda p: _square_scores(p) and _has_values(p)),
]


def _square_scores(params: Mapping[str, Any]) -> bool:
    """As many queries as keys (the scores are square)."""
    if params.get("scores") is not None:
        given = params["scores"]
        return isinstance(given[0], list) and len(given) == len(given[0])
    if params.get("Q") is not None:
        return len(params["Q"]) == len(params["K"])
    return True  # from X: the keys are the same tokens


def _has_values(params: Mapping[str, Any]) -> bool:
    return params.get("scores") is None or params.get("values") is not None


def _fixed_form(fixed: Mapping[str, Any]) -> str | None:
    """The input form the fixed parameters choose (``x``, ``scores``, ``qkv``), or None.

    Raises:
        InputError: parameters of two forms are fixed.
    """
    chosen = [(form, [k for k in keys if fixed.get(k) is not None])
              for form, keys in (("x", X_FORM), ("scores", SCORES_FORM), ("qkv", QKV_FORM))]
    chosen = [(form, keys) for form, keys in chosen if keys]
    if len(chosen) > 1:
        raise InputError(chosen[1][1][0], Said("attention.errors.one_form_fixed",
                                            fixed=chosen[0][1][0]), Said("errors.two_forms"))
    return chosen[0][0] if chosen else None


def _fixed_shape(fixed: Mapping[str, Any]) -> tuple[int, int] | None:
    """(queries, keys) when fixed parameters decide them (the scores, or Q and K), else None."""
    scores = fixed.get("scores")
    if isinstance(scores, list) and scores and isinstance(scores[0], list):
        return len(scores), len(scores[0])
    q, k = fixed.get("Q"), fixed.get("K")
    if isinstance(q, list) and isinstance(k, list):
        return len(q), len(k)
    return None


def sample_self_attention(draw: Draw, fixed: Mapping[str, Any]) -> dict[str, Any]:
    """One of three forms: the scores with d_k (a perfect square, so sqrt(d_k) is whole) and
    sometimes the values; 2-3 tokens with their weights; or Q, K, V given directly, with as
    many or more keys than queries (cross-attention). Fixing a parameter of one form draws that
    form only. Mostly scale=sqrt, sometimes scale=none or a whole number to divide by. Scaled
    scores stay within [-3, 3], away from the softmax's flat ends.
    """
    form = _fixed_form(fixed) or draw.choice(("x", "scores", "qkv"))
    dims = bind_dims(SELF_ATTENTION_PARAMS, fixed)
    causal = draw.chance(0.25)  # drawn first: the draws that follow do not depend on it
    shape = _fixed_shape(fixed)
    if shape is not None and shape[0] != shape[1]:  # fixed queries and keys of other counts
        causal = False
    mask = fixed.get("mask") or ("causal" if causal else "none")
    if fixed.get("scale") is not None:
        scale = fixed["scale"]
    else:
        scale = draw.choice(("sqrt", "sqrt", "sqrt", "none", "number"))
        if scale == "number":
            scale = draw.choice((2, 4, 10))
    out: dict[str, Any] = {"mask": mask}
    if scale != "sqrt":
        out["scale"] = scale
    square = mask == "causal"
    if form == "x":
        n = dims.get("n", draw.integer(2, 3))
        dm = dims.get("d_model", draw.integer(2, 3))
        dk = dims.get("d_k", fixed.get("d_k") or draw.integer(2, 3))
        dv = dims.get("d_v", draw.integer(2, 3))
        out.update({"X": draw.array((n, dm), -1, 1, nonzero=True),
                    "W_Q": draw.array((dm, dk), -1, 1, nonzero=True),
                    "W_K": draw.array((dm, dk), -1, 1, nonzero=True),
                    "W_V": draw.array((dm, dv), -1, 1, nonzero=True)})
    elif form == "qkv":
        n = dims.get("n", draw.integer(2 if square else 1, 3))
        m = dims.get("m", n if square else draw.integer(2, 3))
        dk = dims.get("d_k", draw.integer(2, 3))
        out.update({"Q": draw.array((n, dk), -1, 1, nonzero=True),
                    "K": draw.array((m, dk), -1, 1, nonzero=True),
                    "V": draw.array((m, dims.get("d_v", draw.integer(1, 3))), -1, 1,
                                    nonzero=True)})
    else:
        dk = fixed.get("d_k") or (draw.choice((4, 9, 16, 64)) if Scale(scale).root else None)
        bound = max(1, round(3 * Scale(scale).divisor(dk)))
        n = dims.get("n", draw.integer(2 if square else 1, 3))
        m = dims.get("m", n if square else draw.integer(2, 3))
        out["scores"] = [[draw.integer(-bound, bound) for _ in range(m)] for _ in range(n)]
        if dk is not None:
            out["d_k"] = dk
        if draw.chance(0.7) or "values" in fixed:
            out["values"] = draw.array((m, dims.get("d_v", draw.integer(1, 3))), -1, 1,
                                       nonzero=True)
    out.update({k: v for k, v in fixed.items() if v is not None})
    return out


@lru_cache(maxsize=64)
def attention_formula(scale: Any) -> sp.Basic:
    """softmax(Q K^T / sqrt(d_k)) V, with the question's scale (none: softmax(Q K^T) V); built
    once per scale (building under sympy.evaluate(False) empties SymPy's caches)."""
    with sp.evaluate(False):
        scores = Scale(scale).written(sp.Mul(sym("Q", **NC), sym("K_T", **NC)))
        return sp.Mul(Softmax(scores), sym("V_att", **NC))


def _self_attention_question(values: dict[str, Any]) -> dict[str, Any]:
    """What is given, as equations: the scores (and d_k), X and the weights, or Q, K and V."""
    if values["scores"] is not None:
        scores = values["scores"]
        given = [Is(sym("S_att", **NC), scores.T if scores.cols == 1 else scores)]
        if values["d_k"] is not None:
            given.append(Is(sym("d_k"), values["d_k"]))
        if values["values"] is not None:
            given.append(Is(sym("V_att", **NC), values["values"]))
        asked = "Z" if values["values"] is not None else "A_att"
    elif values["Q"] is not None or values["K"] is not None:
        given = [Is(sym(s, **NC), values[k]) for k, s in (("Q", "Q"), ("K", "K"),
                                                          ("V", "V_att"))
                 if values[k] is not None]
        asked = "Z" if values["V"] is not None else "A_att"
    else:
        given = [Is(sym(PARAM_SYMBOLS[k], **NC), values[k]) for k in X_FORM
                 if values[k] is not None]
        asked = "Z"
    return {"given": Names(*given), "asked": sym(asked, **NC),
            "formula": attention_formula(values["scale"]), "mask_rule": mask_phrase(values["mask"])}


def _scores_form(scores: sp.ImmutableMatrix, d_k: int | None, values: sp.ImmutableMatrix | None,
                 mask: str, scale: Any, syms: HeadSymbols, mistake: str | None) -> Result:
    """Self-attention from the scores given (and the values, when given)."""
    if d_k is None and (Scale(scale).root or mistake == "scaled-by-dk"):
        raise InputError("d_k", Said("attention.errors.d_k"), Said("errors.nothing"))
    if scores.cols == 1:
        scores = scores.T  # one list (or one column): the scores of a single query
    if values is not None and values.rows != scores.cols:
        raise InputError("values", Said("attention.errors.rows_per_key", n=scores.cols),
                         f"{values.rows}")
    if mask == "causal" and scores.rows != scores.cols:
        raise InputError("mask", Said("attention.errors.square_scores"),
                         Said("attention.errors.scores_shape", shape=shape_text(scores)))
    exact = scores.rows * scores.cols <= EXACT_LIMIT
    if d_k is None:
        steps = [Step(key="self_attention.given_scores_only", lhs=syms.S, symbolic=scores,
                      data=shape_data(scores))]
    else:
        steps = [Step(key="self_attention.given_scores", lhs=syms.S, symbolic=scores,
                      data={**shape_data(scores), "d_k": d_k})]
    more, head = scaled_attention("self_attention", scores=scores, d_k=d_k, V=values,
                                  mask=mask, exact=exact, syms=syms, head_data={},
                                  rows="rows", mistake=mistake, scale=scale)
    steps += more
    return Result(convention="row-vectors", steps=tuple(steps), answers=_answers(head))


def _answers(head: Any, **first: Any) -> dict[str, Any]:
    """A self-attention form's answers: its own first (the scores, or Q, K, V and the scores),
    then what every form gives (the masked scores and Z only where there are some)."""
    answers = {**first, "scaled": head.scaled}
    if head.masked is not None:
        answers["masked"] = head.masked
    answers["weights"] = head.weights
    if head.Z is not None:
        answers["Z"] = head.Z
    return answers


def _rows_measure(exact: bool) -> str:
    """The layout's measure of how many rows are shown: one for exact weights, another for
    floats worked out from the tokens."""
    return "rows" if exact else "rows_inexact"


def _qkv_form(Q: sp.ImmutableMatrix | None, K: sp.ImmutableMatrix | None,
              V: sp.ImmutableMatrix | None, d_k: int | None, mask: str, scale: Any,
              syms: HeadSymbols, mistake: str | None) -> Result:
    """Attention from Q, K and V given: n_q queries over n_k keys (cross-attention when the
    queries come from another sequence than the keys and values)."""
    if Q is None:
        raise InputError("Q", Said("attention.errors.queries"), Said("errors.nothing"))
    if K is None:
        raise InputError("K", Said("attention.errors.keys"), Said("errors.nothing"))
    if K.cols != Q.cols:
        raise InputError("K", Said("attention.errors.columns_as_q", n=Q.cols), f"{K.cols}")
    if V is not None and V.rows != K.rows:
        raise InputError("V", Said("attention.errors.rows_as_k", n=K.rows), f"{V.rows}")
    if d_k is not None and d_k != Q.cols:
        raise InputError("d_k", Said("attention.errors.width_qk", n=Q.cols), str(d_k))
    if mask == "causal" and Q.rows != K.rows:
        raise InputError("mask", Said("attention.errors.as_many"),
                         Said("attention.errors.queries_keys", q=Q.rows, k=K.rows))
    exact = Q.rows * K.rows <= EXACT_LIMIT
    steps = [Step(key="self_attention.given_qkv",
                  data={"n_q": Q.rows, "n_k": K.rows, "d_k": Q.cols,
                        "d_v": V.cols if V is not None else 0})]
    step, scores = scores_step("self_attention", Q, K, syms, exact, {}, mistake)
    steps.append(step)
    more, head = scaled_attention("self_attention", scores=scores, d_k=Q.cols, V=V, mask=mask,
                                  exact=exact, syms=syms, head_data={},
                                  rows=_rows_measure(exact), mistake=mistake,
                                  scale=scale)
    steps += more
    return Result(convention="row-vectors", steps=tuple(steps),
                  answers=_answers(head, scores=scores))


SELF_ATTENTION_LIMITS = {"n": 10, "m": 10, "d_model": 16, "d_k": 16, "d_v": 16}


def _d_k_of(params: Mapping[str, Any]) -> int | None:
    """The width of the queries and keys the question uses."""
    for name in ("W_Q", "Q"):
        given = params.get(name)
        if given is not None:
            return len(given[0])
    return params.get("d_k")


def _values_of(params: Mapping[str, Any], student: Mapping[str, Any]) -> Any:
    """The value rows the weights multiply: the student's V where it is an answer, else the
    question's (V or values), or None."""
    for found in (student.get("V"), params.get("V"), params.get("values")):
        if found is not None:
            return found
    return None


def _from_own_scores(params: Mapping[str, Any], student: Mapping[str, Any]
                     ) -> dict[str, Any] | None:
    """The answers after the scores, from the student's own scores (follow-through): the
    derivation itself, run from those scores (its scores form) with the question's values."""
    if student.get("scores") is None:
        return None
    raw = {"scores": student["scores"], "d_k": _d_k_of(params), "values": _values_of(
        params, student), "mask": params["mask"], "scale": params["scale"]}
    with numeric_inputs():
        values = validate(SELF_ATTENTION_PARAMS, raw, SELF_ATTENTION_LIMITS)
        result = self_attention(**values)
    return {k: to_plain(v) for k, v in result.answers.items()}


def _from_own_weights(params: Mapping[str, Any], student: Mapping[str, Any]
                      ) -> dict[str, Any] | None:
    """Z from the student's own weights (follow-through): Z = A V by the derivation's own last
    step (:func:`weighted_values`), with the values V of the question (or the student's V)."""
    values = _values_of(params, student)
    if values is None or student.get("weights") is None:
        return None
    product = weighted_values(sp.ImmutableMatrix(student["weights"]), sp.ImmutableMatrix(values),
                              exact=False)
    return {"Z": to_plain(product)}


@derivation(
    "self-attention",
    params=SELF_ATTENTION_PARAMS,
    answers=[
        # computed from X and the weights only (with scores or Q, K, V given, they are inputs)
        Answer("Q", "matrix", shapes=(("n", "d_k"),), optional=True),
        Answer("K", "matrix", shapes=(("m", "d_k"),), optional=True),
        Answer("V", "matrix", shapes=(("m", "d_v"),), optional=True),
        Answer("scores", "matrix", shapes=(("n", "m"),), optional=True),
        Answer("scaled", "matrix", shapes=(("n", "m"),)),
        Answer("masked", "matrix", shapes=(("n", "m"),), optional=True),
        Answer("weights", "matrix", shapes=(("n", "m"),)),
        Answer("Z", "matrix", shapes=(("n", "d_v"),), optional=True),
    ],
    mistakes=SELF_ATTENTION_MISTAKES,
    sampler=sample_self_attention,
    question=_self_attention_question,
    limits=SELF_ATTENTION_LIMITS,
    follows=[Follow(("scores",), ("scaled", "masked", "weights", "Z"), _from_own_scores),
             Follow(("weights",), ("Z",), _from_own_weights)],
)
def self_attention(
    X: sp.ImmutableMatrix | None,
    W_Q: sp.ImmutableMatrix | None,
    W_K: sp.ImmutableMatrix | None,
    W_V: sp.ImmutableMatrix | None,
    scores: sp.ImmutableMatrix | None,
    d_k: int | None,
    values: sp.ImmutableMatrix | None,
    mask: str,
    Q: sp.ImmutableMatrix | None,
    K: sp.ImmutableMatrix | None,
    V: sp.ImmutableMatrix | None,
    scale: Any,
    mistake: str | None = None,
) -> Result:
    """Q6: Z = softmax(Q K^T / sqrt(d_k)) V, from X and the weights, from Q, K, V, or from the
    scores alone.

    Args:
        X: the token matrix (one row per token), with W_Q, W_K, W_V.
        W_Q: query weights (d_model x d_k).
        W_K: key weights (d_model x d_k).
        W_V: value weights (d_model x d_v).
        scores: the scores Q K^T instead of X and the weights (one list: a single query).
        d_k: the width of queries and keys (required with scores when scale=sqrt).
        values: the value rows V, with scores (optional).
        mask: ``"none"`` or ``"causal"`` (a token attends only to itself and earlier ones).
        Q: the queries (n_q x d_k), given directly, with K and V.
        K: the keys (n_k x d_k); n_k may differ from n_q (cross-attention).
        V: the values (n_k x d_v), one row per key (optional: without it, no Z).
        scale: ``"sqrt"`` (divide the scores by sqrt(d_k), the default), ``"none"`` (plain
            dot-product attention) or a positive number to divide by.
        mistake: a declared mistake to make from start to end (see SELF_ATTENTION_MISTAKES).
    """
    syms = HeadSymbols.single()
    given = {"X": X, "W_Q": W_Q, "W_K": W_K, "W_V": W_V, "scores": scores, "values": values,
             "Q": Q, "K": K, "V": V}
    forms = [(form, [p for p in keys if given.get(p) is not None])
             for form, keys in (("x", X_FORM), ("scores", ("scores", "values")),
                                ("qkv", QKV_FORM))]
    used = [(form, names) for form, names in forms if names]
    if len(used) > 1:
        raise InputError(used[1][1][0], Said("attention.errors.one_form_not_with",
                                          other=used[0][1][0]), Said("errors.both"))
    form = used[0][0] if used else "x"
    if form == "scores":
        if scores is None:
            raise InputError("values", Said("attention.errors.values_only"),
                             Said("attention.errors.values_with_x"))
        return _scores_form(scores, d_k, values, mask, scale, syms, mistake)
    if form == "qkv":
        return _qkv_form(Q, K, V, d_k, mask, scale, syms, mistake)
    for name, v in (("X", X), ("W_Q", W_Q), ("W_K", W_K), ("W_V", W_V)):
        if v is None:
            raise InputError(name, Said("attention.errors.a_matrix"),
                             Said("errors.nothing"))
    assert X is not None and W_Q is not None and W_K is not None and W_V is not None
    if d_k is not None and d_k != W_Q.cols:
        raise InputError("d_k", Said("attention.errors.width_wq", n=W_Q.cols), str(d_k))
    exact = X.rows * X.rows <= EXACT_LIMIT
    steps, head = head_attention("self_attention", X, W_Q, W_K, W_V, mask, exact, syms, {},
                                 rows=_rows_measure(exact), mistake=mistake,
                                 scale=scale)
    return Result(convention="row-vectors", steps=tuple(steps), answers=_answers(
        head, Q=head.Q, K=head.K, V=head.V, scores=head.scores))


# ---------------------------------------------------------------------------------------------
# multi-head attention

MULTI_HEAD_PARAMS = [
    Param("X", "array", shapes=(("tokens", "d_model"),), default=None),
    Param("W_Q", "array_list", shapes=(("d_model", "d_k"),), items="heads", default=None),
    # d_kv: the width of the keys' and values' tokens (X's own width without X_kv)
    Param("W_K", "array_list", shapes=(("d_kv", "d_k"),), items="heads", default=None),
    Param("W_V", "array_list", shapes=(("d_kv", "d_v"),), items="heads", default=None),
    Param("W_O", "array", shapes=(("hd_v", "d_out"),), default=None),
    Param("mask", "choice", default="none", choices=("none", "causal")),
    Param("seed", "int", default=None, minimum=0, maximum=2**32 - 1),
    Param("tokens", "int", default=None, minimum=1, maximum=10),
    Param("d_model", "int", default=None, minimum=1, maximum=16),
    Param("heads", "int", default=None, minimum=1, maximum=4),
    Param("d_k", "int", default=None, minimum=1, maximum=16),
    Param("d_v", "int", default=None, minimum=1, maximum=16),
    Param("d_out", "int", default=None, minimum=1, maximum=16),
    Param("X_q", "array", shapes=(("tokens", "d_model"),), default=None),
    Param("X_kv", "array", shapes=(("tokens_kv", "d_kv"),), default=None),
    Param("scale", "choice_or_number", default="sqrt", choices=SCALES),
]

_HEAD_ANSWERS = ("heads", "weights", "concat", "output")
MULTI_HEAD_MISTAKES = [
    # with scale=none the right method already leaves the scores as they are
    Mistake("no-scaling", changes=_HEAD_ANSWERS, formula=True,
            applies=lambda p: not Scale(p["scale"]).plain),
    Mistake("no-output-projection", changes=("output",), formula=True),
    # the causal mask asked for and left out, in every head
    Mistake("no-mask", changes=_HEAD_ANSWERS, params=with_params(mask="none"),
            applies=lambda p: p["mask"] == "causal"),
    # d_k for sqrt(d_k) in every head (a number given to divide by is what it is)
    Mistake("scaled-by-dk", changes=_HEAD_ANSWERS, formula=True,
            applies=lambda p: Scale(p["scale"]).root),
    Mistake("softmax-by-column", changes=_HEAD_ANSWERS, formula=True),
    # the mask applied to each head's weights after its softmax, the rows not renormalised
    Mistake("mask-after-softmax", changes=_HEAD_ANSWERS, formula=True,
            applies=lambda p: p["mask"] == "causal"),
    # Z_h = A_h^T V_h for A_h V_h, where the keys are the queries' tokens (self-attention)
    Mistake("transposed-weights-in-z", changes=("heads", "concat", "output"), formula=True,
            applies=lambda p: p.get("X_q") is None and p.get("X_kv") is None),
]


def sample_multi_head(draw: Draw, fixed: Mapping[str, Any]) -> dict[str, Any]:
    """Two or three tokens, two heads of width 2, every matrix written out: one-decimal numbers
    in [-1, 1] (the seed and size parameters are for walk-throughs, not for questions).
    Sometimes cross-attention (X_q and X_kv, of their own lengths and widths; fixing either
    draws that form, fixing X the other), and sometimes scale=none or a number to divide by."""
    if fixed.get("X") is not None and (fixed.get("X_q") is not None
                                       or fixed.get("X_kv") is not None):
        raise InputError("X_q", Said("attention.errors.x_or_cross"), Said("errors.both"))
    dims = bind_dims(MULTI_HEAD_PARAMS, fixed)
    if fixed.get("X_q") is not None or fixed.get("X_kv") is not None:
        cross = True
    elif fixed.get("X") is not None:
        cross = False
    else:
        cross = draw.chance(0.3)
    if fixed.get("scale") is not None:
        scale = fixed["scale"]
    else:
        scale = draw.choice(("sqrt", "sqrt", "sqrt", "none", 2))
    n = dim_size(fixed, dims, "tokens", draw.integer(2, 3))
    dm = dim_size(fixed, dims, "d_model", draw.integer(2, 3))
    if cross:
        n_kv = dims.get("tokens_kv", draw.integer(2, 3))
        d_kv = dims.get("d_kv", draw.integer(2, 3))
    else:
        n_kv, d_kv = n, dm
    h = dim_size(fixed, dims, "heads", 2)
    dk = dim_size(fixed, dims, "d_k", 2)
    dv = dim_size(fixed, dims, "d_v", dk)
    d_out = dim_size(fixed, dims, "d_out", dm)
    if "d_out" not in fixed and "W_O" not in fixed and d_out == h * dv:
        d_out = h * dv - 1  # the mistaken output (without W^O) then has another width

    def weights(rows: int, cols: int) -> list[Any]:
        return [draw.array((rows, cols), -1, 1, nonzero=True) for _ in range(h)]

    inputs = ({"X_q": draw.array((n, dm), -1, 1, nonzero=True),
               "X_kv": draw.array((n_kv, d_kv), -1, 1, nonzero=True)} if cross
              else {"X": draw.array((n, dm), -1, 1, nonzero=True)})
    out = {**inputs, "W_Q": weights(dm, dk),
           "W_K": weights(d_kv, dk), "W_V": weights(d_kv, dv),
           "W_O": draw.array((h * dv, d_out), -1, 1, nonzero=True),
           # a causal mask needs as many keys as queries
           "mask": fixed.get("mask") or ("causal" if n_kv == n and draw.chance(0.25)
                                         else "none")}
    if scale != "sqrt":
        out["scale"] = scale
    out.update({k: v for k, v in fixed.items() if v is not None})
    return out


def _multi_head_question(values: dict[str, Any]) -> dict[str, Any]:
    """Every matrix as an equation (generated ones too), the number of heads, and the head's
    formula with the question's scale and inputs."""
    cross = values["X_q"] is not None or values["X_kv"] is not None
    slots = CROSS_SLOTS if cross else MULTI_HEAD_SLOTS
    m = multi_head_values(values, slots,
                          ("tokens", "d_model", "heads", "d_k", "d_v", "d_out"),
                          ATTENTION_SEED_RANGE, MULTI_HEAD_DEFAULTS)
    names = (("X_q", "X_kv") if cross else ("X",)) + ("W_Q", "W_K", "W_V", "W_O")
    xq = sp.Symbol("X_q", commutative=False) if cross else sym("X", **NC)
    xkv = sp.Symbol("X_kv", commutative=False) if cross else xq
    with sp.evaluate(False):
        scores = Scale(values["scale"]).written(
            sp.Mul(sp.Symbol("Q_h", **NC), sp.Symbol("K_h^T", **NC)))
        formula = sp.Mul(Softmax(scores), sp.Symbol("V_h", **NC))
    return {"given": matrices_given(m, names), "heads": len(m["W_Q"]),
            "d_k": m["W_Q"][0].cols, "formula": formula, "x_q": xq, "x_kv": xkv,
            "mask_rule": mask_phrase(values["mask"])}


@derivation(
    "multi-head-attention",
    params=MULTI_HEAD_PARAMS,
    answers=[
        Answer("heads", "matrices", shapes=(("heads", "tokens", "d_v"),)),
        # tokens_kv: the keys' tokens (as many as the queries' without X_kv)
        Answer("weights", "matrices", shapes=(("heads", "tokens", "tokens_kv"),)),
        Answer("concat", "matrix", shapes=(("tokens", "hd_v"),)),
        Answer("output", "matrix", shapes=(("tokens", "d_out"),)),
    ],
    mistakes=MULTI_HEAD_MISTAKES,
    sampler=sample_multi_head,
    question=_multi_head_question,
    limits={"tokens": 10, "d_model": 16, "heads": 4, "d_k": 16, "d_v": 16,
            "d_out": 16, "hd_v": 64, "tokens_kv": 10, "d_kv": 16},
)
def multi_head_attention(
    X: sp.ImmutableMatrix | None,
    W_Q: tuple[sp.ImmutableMatrix, ...] | None,
    W_K: tuple[sp.ImmutableMatrix, ...] | None,
    W_V: tuple[sp.ImmutableMatrix, ...] | None,
    W_O: sp.ImmutableMatrix | None,
    mask: str,
    seed: int | None,
    tokens: int | None,
    d_model: int | None,
    heads: int | None,
    d_k: int | None,
    d_v: int | None,
    d_out: int | None,
    X_q: sp.ImmutableMatrix | None,
    X_kv: sp.ImmutableMatrix | None,
    scale: Any,
    mistake: str | None = None,
) -> Result:
    """MultiHead(X) = Concat(Z_1, ..., Z_h) W^O with Z_i = softmax(Q_i K_i^T / sqrt(d_k)) V_i.

    Cross-attention (``X_q`` and ``X_kv`` instead of ``X``): Q_i = X_q W^Q_i, K_i = X_kv W^K_i,
    V_i = X_kv W^V_i, as torch.nn.MultiheadAttention(query, key=value) with kdim = vdim.

    Args:
        X: the token matrix (tokens x d_model).
        W_Q: one query weight matrix per head (d_model x d_k each).
        W_K: one key weight matrix per head (d_model x d_k each).
        W_V: one value weight matrix per head (d_model x d_v each).
        W_O: the output weights (heads * d_v x d_out).
        mask: ``"none"`` or ``"causal"``.
        seed: fills every matrix not given with seeded two-decimal numbers in [0, 0.99].
        tokens: number of tokens (rows of X), to generate X.
        d_model: width of the token vectors, to generate X and the weights.
        heads: number of heads, to generate the per-head weights.
        d_k: width of each head's queries and keys.
        d_v: width of each head's values (default d_k).
        d_out: width of the output (default d_model).
        X_q: the queries' tokens, for cross-attention (tokens x d_model), with X_kv.
        X_kv: the keys' and values' tokens (tokens_kv x d_kv), with X_q.
        scale: ``"sqrt"`` (divide the scores by sqrt(d_k), the default), ``"none"`` or a
            positive number to divide by.
        mistake: ``no-scaling`` or ``no-output-projection`` (see MULTI_HEAD_MISTAKES).
    """
    cross = X_q is not None or X_kv is not None
    if cross and X is not None:
        raise InputError("X_q" if X_q is not None else "X_kv",
                         Said("attention.errors.x_or_cross"), Said("errors.both"))
    if cross and X_q is None:
        raise InputError("X_q", Said("attention.errors.query_tokens"), Said("errors.nothing"))
    if cross and X_kv is None:
        raise InputError("X_kv", Said("attention.errors.key_tokens"), Said("errors.nothing"))
    values: dict[str, Any] = {"X": X, "X_q": X_q, "X_kv": X_kv, "W_Q": W_Q, "W_K": W_K,
                              "W_V": W_V, "W_O": W_O}
    generated, sizes = seeded_inputs(
        values,
        CROSS_SLOTS if cross else MULTI_HEAD_SLOTS,
        {"tokens": tokens, "d_model": d_model, "heads": heads, "d_k": d_k, "d_v": d_v,
         "d_out": d_out},
        seed, ATTENTION_SEED_RANGE, MULTI_HEAD_DEFAULTS,
    )
    if not cross and sizes["d_kv"] != sizes["d_model"]:
        raise InputError("W_K", Said("attention.errors.rows_per_head", n=sizes["d_model"]),
                         f"{sizes['d_kv']}")
    if cross and mask == "causal" and X_q.rows != X_kv.rows:  # type: ignore[union-attr]
        raise InputError("mask", Said("attention.errors.causal_tokens"),
                         Said("attention.errors.queries_keys", q=X_q.rows,  # type: ignore[union-attr]
                              k=X_kv.rows))  # type: ignore[union-attr]
    low, high = ATTENTION_SEED_RANGE
    steps = generated_step("multi_head_attention.generated", seed, generated, low, high)
    if cross:
        steps.append(Step(key="multi_head_attention.cross",
                          data={"tokens": sizes["tokens"], "d_model": sizes["d_model"],
                                "tokens_kv": X_kv.rows,  # type: ignore[union-attr]
                                "d_kv": sizes["d_kv"]}))
    steps.append(Step(key="multi_head_attention.shapes",
                      data={"tokens": sizes["tokens"], "d_model": sizes["d_model"],
                            "heads": sizes["heads"], "d_k": sizes["d_k"], "d_v": sizes["d_v"],
                            "d_out": sizes["d_out"], "concat": sizes["hd_v"]}))
    more, head_results, concat, output = multi_head(
        "multi_head_attention", values["X_q"] if cross else values["X"], values["W_Q"],
        values["W_K"], values["W_V"], values["W_O"], mask, mistake=mistake,
        x=sp.Symbol("X_q", commutative=False) if cross else None,
        X_kv=values["X_kv"], x_kv=sp.Symbol("X_kv", commutative=False) if cross else None,
        scale=scale)
    steps += more
    return Result(
        convention="row-vectors",
        steps=tuple(steps),
        answers={
            "heads": [hr.Z for hr in head_results],
            "weights": [hr.weights for hr in head_results],
            "concat": concat,
            "output": output,
        },
        # the seeded example inputs are inputs, echoed so that every product can be checked
        info={"generated": list(generated), **generated},
    )

