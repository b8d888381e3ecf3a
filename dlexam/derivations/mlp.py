"""Beyond the exam: forward and backward through a small fully connected network, by hand.

Layer l computes z_l = W_l a_{l-1} + b_l and a_l = f_l(z_l), with a_0 = x and W_l of size
out x in (column vectors, as PyTorch's ``nn.Linear`` stores its weight). The loss is
``half-mse`` 1/2 sum_k (o_k - t_k)^2 (the loss bptt uses), ``mse`` (1/K) sum_k (o_k - t_k)^2,
``cross-entropy`` (-sum_k t_k ln o_k after a softmax; the binary form, summed over the outputs,
after a sigmoid) or ``none``: the single output itself, for "the gradient of a neuron".
Backpropagation: delta_L = dL/da_L (.) f'(z_L) (o - t at once for cross-entropy on its softmax or
sigmoid), delta_l = f'(z_l) (.) (W_{l+1}^T delta_{l+1}); dL/dW_l = delta_l a_{l-1}^T,
dL/db_l = delta_l, dL/dx = W_1^T delta_1; with a learning rate, W_l - lr dL/dW_l.
"""

# ruff: noqa: N803, N806, E741
# (the literature's letters: W, L, K, D; l is the layer, as the formulas write it)

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import sympy as sp

from dlexam.derivations.cells import Activation, activate, apply, carry
from dlexam.derivations.contract import Answer, Mistake
from dlexam.derivations.core import (
    Result,
    Step,
    derivation,
    matrices_of,
    put_in,
    terms_of,
    three_part,
)
from dlexam.derivations.forms import as_written
from dlexam.derivations.params import Param, bind_dims
from dlexam.derivations.sampling import Draw
from dlexam.errors import InputError, Said
from dlexam.notation import register_symbols, sym, sym_sub
from dlexam.notation.display import Listed, Phrase, Series, plain_number

register_symbols({
    "x_mlp": ("x", "x"),
    "z_l": ("z", "z"),
    "a_l": ("a", "a"),
    "delta_l": (r"\delta", "δ"),
    "fprime_l": ("f'", "f'"),
    "J_softmax": ("J", "J"),
    "t_mlp": ("t", "t"),
    "o_mlp": ("o", "o"),
    "L_mlp": ("L", "L"),
    "eta_mlp": (r"\eta", "η"),
    "dL_da_l": (r"\partial L / \partial a", "∂L/∂a"),
    "dL_dW_l": (r"\partial L / \partial W", "∂L/∂W"),
    "dL_db_l": (r"\partial L / \partial b", "∂L/∂b"),
    "dL_dx_mlp": (r"\partial L / \partial x", "∂L/∂x"),
    "W_new_l": (r"W'", "W'"),
    "b_new_l": (r"b'", "b'"),
})

ACTIVATIONS: tuple[str, ...] = ("sigmoid", "tanh", "relu", "linear", "softmax")
LOSSES: tuple[str, ...] = ("half-mse", "mse", "cross-entropy", "none")
_ACTIVATION_OF = {"linear": "identity"}  # our name -> the shared activation's

PARAMS = [
    Param("x", "array", shapes=(("D",),)),
    Param("W", "array_list", shapes=(("R", "C"),), items="L", free_items=True),
    Param("b", "array_list", shapes=(("R",),), items="L", free_items=True, default=None),
    Param("activations", "string", default="sigmoid", held=True),
    Param("target", "array", shapes=((), ("K",)), default=None),
    Param("loss", "choice", choices=LOSSES, default="half-mse"),
    # held: whether there is a step (and so W_new, b_new) is the question's form
    Param("lr", "number", default=None, minimum=0, held=True),
]

_LIMITS = {"D": 8, "R": 8, "C": 8, "L": 4, "K": 8}


def layer_activations(text: str, layers: int) -> list[str]:
    """The activations, one per layer, from a comma- or space-separated list (one name is
    every layer's).

    Raises:
        InputError: an unknown name, or another number of names than layers.
    """
    names = [n for n in text.replace(",", " ").split() if n]
    for n in names:
        if n not in ACTIVATIONS:
            raise InputError("activations", Said("mlp.errors.names",
                                                 known=", ".join(ACTIVATIONS)), repr(n))
    if len(names) == 1:
        return names * layers
    if len(names) != layers:
        raise InputError("activations", Said("mlp.errors.per_layer", n=layers),
                         Said("mlp.errors.n_names", n=len(names)))
    return names


def _cross_entropy_output(activation: str, loss: str) -> bool:
    """Cross-entropy on its own output (softmax or sigmoid): delta_L = o - t at once."""
    return loss == "cross-entropy" and activation in ("softmax", "sigmoid")


def _shown(params: Mapping[str, Any]) -> tuple[list[str], str, int] | None:
    """(activations, loss, layers) of raw parameters, or None when they cannot be read."""
    W = params.get("W") or []
    try:
        return layer_activations(str(params.get("activations", "")), len(W)), str(
            params.get("loss")), len(W)
    except InputError:
        return None


def _derivative_matters(params: Mapping[str, Any]) -> bool:
    read = _shown(params)
    if read is None:
        return False
    acts, loss, L = read
    return any(a != "linear" and not (l == L - 1 and _cross_entropy_output(a, loss))
               for l, a in enumerate(acts))


def _is_square(matrix: Any) -> bool:
    return isinstance(matrix, list) and len(matrix) > 0 and isinstance(matrix[0], list) and \
        len(matrix) == len(matrix[0])


def _some_square(params: Mapping[str, Any]) -> bool:
    return any(_is_square(w) for w in params.get("W") or [])


MISTAKES = [
    Mistake("no-activation-derivative",
            changes=("delta", "dL_dW", "dL_db", "dL_dx", "W_new", "b_new"), formula=True,
            applies=_derivative_matters),
    Mistake("w-not-transposed", changes=("delta", "dL_dW", "dL_db", "dL_dx", "W_new", "b_new"),
            formula=True, applies=_some_square),
    Mistake("half-dropped",
            changes=("loss", "delta", "dL_dW", "dL_db", "dL_dx", "W_new", "b_new"),
            formula=True, applies=lambda p: p["loss"] == "half-mse"),
    Mistake("half-doubled", changes=("delta", "dL_dW", "dL_db", "dL_dx", "W_new", "b_new"),
            formula=True, applies=lambda p: p["loss"] == "half-mse"),
    Mistake("bias-not-updated", changes=("b_new",), formula=True,
            applies=lambda p: p.get("lr") is not None),
]


def _layer_sym(key: str, layer: int, rows: int, cols: int = 1) -> sp.MatrixSymbol:
    """A registered matrix symbol with the layer as its subscript (W_2, delta_1)."""
    return sp.MatrixSymbol(sym_sub(key, layer).name, rows, cols)


def _entrywise(fn: Callable[..., sp.Basic], *vectors: sp.MatrixBase) -> sp.ImmutableMatrix:
    """A vector of unevaluated per-entry expressions (the numbers put in, entry by entry)."""
    rows = vectors[0].rows
    written = [[as_written(v[i]) for v in vectors] for i in range(rows)]
    with sp.evaluate(False):
        return sp.ImmutableMatrix(rows, 1, [fn(*entry) for entry in written])


def _derivative(name: str, z: sp.ImmutableMatrix, a: sp.ImmutableMatrix) -> Any:
    """f'(z) entry by entry (a vector), or softmax's Jacobian diag(a) - a a^T (a matrix)."""
    if name == "sigmoid":
        return sp.ImmutableMatrix(a.applyfunc(lambda v: v * (1 - v)))
    if name == "tanh":
        return sp.ImmutableMatrix(a.applyfunc(lambda v: 1 - v**2))
    if name == "relu":
        # PyTorch's convention at 0: the derivative is 0 there
        return sp.ImmutableMatrix(z.applyfunc(lambda v: sp.Integer(1 if v > 0 else 0)))
    if name == "linear":
        return sp.ImmutableMatrix.ones(z.rows, 1)
    return sp.ImmutableMatrix(sp.diag(*a) - a * a.T)


def _derivative_step(name: str, layer: int, z: sp.ImmutableMatrix, a: sp.ImmutableMatrix,
                     value: Any) -> Step:
    n = z.rows
    if name == "softmax":  # the formula diag(a) - a a^T is in the prose; the matrix here
        return Step(key="mlp.jacobian_softmax", lhs=sym_sub("J_softmax", layer), value=value,
                    symbolic=value, data={"layer": layer})
    lhs = sym_sub("fprime_l", layer)
    a_i = sym_sub("a_l", layer)
    if name == "sigmoid":
        with sp.evaluate(False):
            symbolic = sp.Mul(a_i, sp.Add(1, sp.Mul(-1, a_i)))
        substituted = _entrywise(lambda v: sp.Mul(v, sp.Add(1, -v)), a)
    elif name == "tanh":
        with sp.evaluate(False):
            symbolic = sp.Add(1, sp.Mul(-1, sp.Pow(a_i, 2)))
        substituted = _entrywise(lambda v: sp.Add(1, sp.Mul(-1, sp.Pow(v, 2))), a)
    else:  # relu and linear: the value says it all (1 where z > 0; 1 everywhere)
        symbolic, substituted = None, None
    return Step(key=f"mlp.derivative_{name}", lhs=lhs, symbolic=symbolic,
                substituted=substituted, value=value, data={"layer": layer},
                elidable=terms_of(n, substituted=None) if substituted is not None else None)


def _loss_step(loss: str, output_activation: str, o: sp.ImmutableMatrix,
               t: sp.ImmutableMatrix, mistake: str | None) -> Step:
    K = o.rows
    k = sp.Symbol("k")
    ok, tk = sp.IndexedBase(sym("o_mlp").name)[k], sp.IndexedBase(sym("t_mlp").name)[k]
    half = 1 if mistake == "half-dropped" else sp.Rational(1, 2)
    ow, tw = [as_written(v) for v in o], [as_written(v) for v in t]
    if loss in ("half-mse", "mse"):
        factor = half if loss == "half-mse" else sp.Rational(1, K)
        square = sp.Pow(sp.Add(ok, sp.Mul(-1, tk, evaluate=False), evaluate=False), 2,
                        evaluate=False)
        symbolic = sp.Sum(square, (k, 1, K))
        if factor != 1:
            symbolic = sp.Mul(factor, symbolic, evaluate=False)
        with sp.evaluate(False):
            terms = sp.Add(*[sp.Pow(sp.Add(ow[i], -tw[i]), 2) for i in range(K)])
            substituted = terms if factor == 1 else sp.Mul(factor, terms)
        value = factor * sum((o[i] - t[i]) ** 2 for i in range(K))
    elif output_activation == "softmax":
        symbolic = -sp.Sum(tk * sp.log(ok), (k, 1, K))
        with sp.evaluate(False):
            substituted = sp.Mul(-1, sp.Add(*[sp.Mul(tw[i], sp.log(ow[i])) for i in range(K)]))
        value = -sum(t[i] * sp.log(o[i]) for i in range(K) if t[i] != 0)
    else:
        symbolic = -sp.Sum(tk * sp.log(ok) + (1 - tk) * sp.log(1 - ok), (k, 1, K))
        with sp.evaluate(False):
            substituted = sp.Mul(-1, sp.Add(*[sp.Add(
                sp.Mul(tw[i], sp.log(ow[i])),
                sp.Mul(sp.Add(1, -tw[i]), sp.log(sp.Add(1, -ow[i])))) for i in range(K)]))
        value = -sum(t[i] * sp.log(o[i]) + (1 - t[i]) * sp.log(1 - o[i]) for i in range(K))
    key = {"half-mse": "mlp.loss_half_mse", "mse": "mlp.loss_mse"}.get(
        loss, "mlp.loss_cross_entropy" if output_activation == "softmax" else "mlp.loss_bce")
    if mistake == "half-dropped":
        key = "mlp.loss_no_half"
    return Step(key=key, lhs=sym("L_mlp"), symbolic=symbolic, substituted=substituted,
                value=value, data={"outputs": K}, elidable=terms_of(K, substituted=None))


def _check_network(x: sp.ImmutableMatrix, W: tuple[Any, ...], b: tuple[Any, ...] | None,
                   target: Any, loss: str, acts: list[str]) -> sp.ImmutableMatrix | None:
    """Checks that the layers chain and the target fits; returns the target as a vector.

    Raises:
        InputError: naming the first parameter that does not fit.
    """
    width = x.rows
    for l, w in enumerate(W, start=1):
        if w.cols != width:
            raise InputError("W", Said("mlp.errors.columns_x" if l == 1 else
                                      "mlp.errors.columns_layer", layer=l, width=width,
                                      previous=l - 1), f"{w.rows} x {w.cols}")
        if b is not None and b[l - 1].rows != w.rows:
            raise InputError("b", Said("mlp.errors.bias", layer=l, n=w.rows),
                             f"{b[l - 1].rows}")
        width = w.rows
    for l, name in enumerate(acts, start=1):
        if name == "softmax" and W[l - 1].rows == 1:
            raise InputError("activations", Said("mlp.errors.softmax_one", layer=l), "softmax")
    K = W[-1].rows
    if loss == "none":
        if K != 1:
            raise InputError("loss", Said("mlp.errors.loss_for", n=K), "none")
        return None
    if target is None:
        raise InputError("target", Said("mlp.errors.targets_one" if K == 1 else
                                        "mlp.errors.targets", n=K), Said("errors.nothing"))
    t = target if isinstance(target, sp.MatrixBase) else sp.ImmutableMatrix([target])
    if t.rows != K:
        raise InputError("target", Said("mlp.errors.per_output_one" if K == 1 else
                                        "mlp.errors.per_output", n=K), f"{t.rows}")
    if loss == "cross-entropy":
        if acts[-1] not in ("softmax", "sigmoid"):
            raise InputError("loss", Said("mlp.errors.cross_entropy"), "cross-entropy")
        if any(not (0 <= v <= 1) for v in t):
            raise InputError("target", Said("mlp.errors.target_probabilities"),
                             ", ".join(plain_number(v, "echo") for v in t))
        if acts[-1] == "softmax" and sp.Add(*t) != 1:
            raise InputError("target", Said("mlp.errors.label_sum"),
                             Said("inputs.a_sum_of", total=plain_number(sp.Add(*t), "near_one")))
    return sp.ImmutableMatrix(t)


def _vector(values: list[Any]) -> sp.ImmutableMatrix:
    return sp.ImmutableMatrix(len(values), 1, values)


def _output_gradient(loss: str, o: sp.ImmutableMatrix, t: sp.ImmutableMatrix | None,
                     layers: int, mistake: str | None) -> Step:
    """dL/da_L: the loss's derivative with respect to the network's output."""
    K = o.rows
    a_L, lhs = _layer_sym("a_l", layers, K), _layer_sym("dL_da_l", layers, K)
    if loss == "none":
        return Step(key="mlp.grad_output_none", lhs=lhs, symbolic=sp.ImmutableMatrix([1]),
                    value=sp.ImmutableMatrix([1]), data={"layer": layers})
    t_s = sp.MatrixSymbol(sym("t_mlp").name, K, 1)
    factor = {"half-dropped": sp.Integer(2), "half-doubled": sp.Rational(1, 2)}.get(
        mistake or "", sp.Integer(1)) if loss == "half-mse" else sp.Rational(2, K)
    with sp.evaluate(False):
        diff = sp.MatAdd(a_L, sp.MatMul(-1, t_s))
        formula = diff if factor == 1 else sp.MatMul(factor, diff)
    key = {"half-dropped": "mlp.grad_output_no_half", "half-doubled": "mlp.grad_output_half"
           }.get(mistake or "", "mlp.grad_output") if loss == "half-mse" else "mlp.grad_output_mse"
    step = three_part(key, lhs, formula, {a_L: o, t_s: t}, layer=layers, outputs=K)
    return Step(key=step.key, lhs=lhs, symbolic=formula,
                substituted=put_in(formula, {a_L: o.applyfunc(as_written), t_s: t}),
                value=sp.ImmutableMatrix(factor * (o - t)), data=step.data)


def forward(x: sp.ImmutableMatrix, W: tuple[Any, ...], b: tuple[Any, ...],
            acts: list[str]) -> tuple[list[Step], list[sp.ImmutableMatrix],
                                      list[sp.ImmutableMatrix]]:
    """The forward pass: each layer's z_l = W_l a_{l-1} + b_l and a_l = f_l(z_l)."""
    steps: list[Step] = []
    zs: list[sp.ImmutableMatrix] = []
    activations = [x]
    for l, (w, bias, name) in enumerate(zip(W, b, acts, strict=True), start=1):
        n_out, n_in = w.shape
        W_s, b_s = _layer_sym("W", l, n_out, n_in), _layer_sym("b", l, n_out)
        prev = (_layer_sym("a_l", l - 1, n_in) if l > 1
                else sp.MatrixSymbol(sym("x_mlp").name, n_in, 1))
        z_s = _layer_sym("z_l", l, n_out)
        with sp.evaluate(False):
            formula = sp.MatAdd(sp.MatMul(W_s, prev), b_s)
        a_prev = activations[-1]
        z = sp.ImmutableMatrix(w * a_prev + bias)
        steps.append(Step(key="mlp.pre", lhs=z_s, symbolic=formula,
                          substituted=put_in(formula, {W_s: w, prev: a_prev.applyfunc(
                              as_written), b_s: bias}),
                          value=z, data={"layer": l},
                          elidable=matrices_of(w, substituted=None)))
        shared = _ACTIVATION_OF.get(name, name)
        a_formula = apply(shared, z_s)
        # carried on as 30-digit decimals once not rational: exact sigmoids nested layer in
        # layer, and through the backward pass, cost seconds and change no shown digit
        a, _decimals = carry(activate(shared, z))
        steps.append(Step(key="mlp.activation" if name != "linear" else "mlp.activation_linear",
                          lhs=_layer_sym("a_l", l, n_out), symbolic=a_formula,
                          substituted=Activation(shared, z.applyfunc(as_written))
                          if shared != "identity" else None,
                          value=a, data={"layer": l, "activation": name}))
        zs.append(z)
        activations.append(a)
    return steps, zs, activations


def _transposed(w: sp.ImmutableMatrix, mistake: str | None) -> bool:
    """Whether the backward pass multiplies by W^T (W itself for the mistake, where it fits)."""
    return not (mistake == "w-not-transposed" and w.rows == w.cols)


def _backward_through(w: sp.ImmutableMatrix, layer: int, delta: sp.ImmutableMatrix,
                      mistake: str | None) -> tuple[sp.MatrixExpr, sp.MatrixSymbol,
                                                    sp.ImmutableMatrix, sp.ImmutableMatrix]:
    """W_layer^T delta_layer as a formula, the weight symbol, its matrix and the value."""
    n_out, n_in = w.shape
    d_s = _layer_sym("delta_l", layer, n_out)
    if _transposed(w, mistake):
        W_s, matrix = _layer_sym("W_T", layer, n_in, n_out), sp.ImmutableMatrix(w.T)
    else:
        W_s, matrix = _layer_sym("W", layer, n_out, n_in), w
    with sp.evaluate(False):
        formula = sp.MatMul(W_s, d_s)
    return formula, W_s, matrix, sp.ImmutableMatrix(matrix * delta)


def _put(formula: sp.Basic, values: Mapping[sp.Basic, Any]) -> sp.Basic:
    """The formula with the numbers put in as they are written (long ones as decimals)."""
    return put_in(formula, {k: as_written(v) for k, v in values.items()})


def backward(W: tuple[Any, ...], zs: list[sp.ImmutableMatrix],
             activations: list[sp.ImmutableMatrix], acts: list[str], loss: str,
             t: sp.ImmutableMatrix | None, mistake: str | None
             ) -> tuple[list[Step], list[sp.ImmutableMatrix], sp.ImmutableMatrix]:
    """The backward pass: delta_l from the output down, and dL/dx."""
    L = len(W)
    steps: list[Step] = []
    deltas: list[sp.ImmutableMatrix] = [sp.ImmutableMatrix([0])] * L
    o = activations[-1]
    skip_derivative = mistake == "no-activation-derivative"
    for l in range(L, 0, -1):
        name, z, a = acts[l - 1], zs[l - 1], activations[l]
        n = z.rows
        d_s = _layer_sym("delta_l", l, n)
        if l == L and _cross_entropy_output(name, loss):
            assert t is not None
            t_s = sp.MatrixSymbol(sym("t_mlp").name, n, 1)
            a_s = _layer_sym("a_l", l, n)
            with sp.evaluate(False):
                formula = sp.MatAdd(a_s, sp.MatMul(-1, t_s))
            steps.append(Step(key="mlp.delta_cross_entropy", lhs=d_s, symbolic=formula,
                              substituted=_put(formula, {a_s: a, t_s: t}),
                              value=sp.ImmutableMatrix(a - t),
                              data={"layer": l, "activation": name}))
            deltas[l - 1] = sp.ImmutableMatrix(a - t)
            continue
        up_s = _layer_sym("dL_da_l", l, n)
        if l == L:
            grad = _output_gradient(loss, o, t, L, mistake)
        else:
            formula, W_s, matrix, upstream = _backward_through(W[l], l + 1, deltas[l], mistake)
            key = "mlp.grad_hidden" if _transposed(W[l], mistake) else "mlp.grad_hidden_w"
            values = {W_s: matrix, _layer_sym("delta_l", l + 1, W[l].rows): deltas[l]}
            grad = Step(key=key, lhs=up_s, symbolic=formula, substituted=_put(formula, values),
                        value=upstream, data={"layer": l, "above": l + 1},
                        elidable=matrices_of(matrix, substituted=None))
        steps.append(grad)
        upstream = grad.value
        where = "out" if l == L else "hidden"
        if skip_derivative and name != "linear":
            steps.append(Step(key=f"mlp.delta_{where}_no_derivative", lhs=d_s, symbolic=up_s,
                              value=upstream, data={"layer": l}))
            deltas[l - 1] = upstream
            continue
        slope = _derivative(name, z, a)
        steps.append(_derivative_step(name, l, z, a, slope))
        if name == "softmax":
            J_s = sp.MatrixSymbol(sym_sub("J_softmax", l).name, n, n)
            with sp.evaluate(False):
                formula = sp.MatMul(J_s, up_s)
            delta = sp.ImmutableMatrix(slope * upstream)
        else:
            J_s = _layer_sym("fprime_l", l, n)
            with sp.evaluate(False):
                formula = sp.HadamardProduct(J_s, up_s)
            delta = sp.ImmutableMatrix(n, 1, [slope[i] * upstream[i] for i in range(n)])
        steps.append(Step(key=f"mlp.delta_{where}", lhs=d_s, symbolic=formula,
                          substituted=_put(formula, {J_s: slope, up_s: upstream}), value=delta,
                          data={"layer": l, "activation": name},
                          elidable=matrices_of(slope, substituted=None)))
        deltas[l - 1] = delta
    formula, W_s, matrix, dx = _backward_through(W[0], 1, deltas[0], mistake)
    key = "mlp.grad_x" if _transposed(W[0], mistake) else "mlp.grad_x_w"
    steps.append(Step(key=key, lhs=sp.MatrixSymbol(sym("dL_dx_mlp").name, dx.rows, 1),
                      symbolic=formula, substituted=_put(formula, {
                          W_s: matrix, _layer_sym("delta_l", 1, W[0].rows): deltas[0]}),
                      value=dx, data={}, elidable=matrices_of(matrix, substituted=None)))
    return steps, deltas, dx


def _gradient_steps(W: tuple[Any, ...], b: tuple[Any, ...], activations: list[Any],
                    deltas: list[sp.ImmutableMatrix], lr: Any, mistake: str | None
                    ) -> tuple[list[Step], list[Any], list[Any], list[Any], list[Any]]:
    """dL/dW_l = delta_l a_{l-1}^T, dL/db_l = delta_l and, with a learning rate, the updates."""
    steps: list[Step] = []
    dWs, dbs, W_new, b_new = [], [], [], []
    eta = sym("eta_mlp")
    for l, (w, bias, delta) in enumerate(zip(W, b, deltas, strict=True), start=1):
        n_out, n_in = w.shape
        d_s = _layer_sym("delta_l", l, n_out)
        prev_s = (_layer_sym("a_l", l - 1, n_in) if l > 1
                  else sp.MatrixSymbol(sym("x_mlp").name, n_in, 1))
        with sp.evaluate(False):
            formula = sp.MatMul(d_s, sp.Transpose(prev_s))
        dW = sp.ImmutableMatrix(delta * activations[l - 1].T)
        dW_s = _layer_sym("dL_dW_l", l, n_out, n_in)
        steps.append(Step(key="mlp.grad_W", lhs=dW_s, symbolic=formula,
                          substituted=put_in(formula, {
                              d_s: delta.applyfunc(as_written),
                              sp.Transpose(prev_s): activations[l - 1].T.applyfunc(as_written)}),
                          value=dW, data={"layer": l},
                          elidable=matrices_of(dW, substituted=None)))
        db_s = _layer_sym("dL_db_l", l, n_out)
        steps.append(Step(key="mlp.grad_b", lhs=db_s, symbolic=d_s, value=delta,
                          data={"layer": l}))
        dWs.append(dW)
        dbs.append(delta)
        if lr is None:
            continue
        W_s, b_s = _layer_sym("W", l, n_out, n_in), _layer_sym("b", l, n_out)
        with sp.evaluate(False):
            w_formula = sp.MatAdd(W_s, sp.MatMul(-1, eta, dW_s))
            b_formula = sp.MatAdd(b_s, sp.MatMul(-1, eta, db_s))
        new_w = sp.ImmutableMatrix(w - lr * dW)
        steps.append(Step(key="mlp.update_W", lhs=_layer_sym("W_new_l", l, n_out, n_in),
                          symbolic=w_formula,
                          substituted=put_in(w_formula, {W_s: w, eta: lr, dW_s: dW.applyfunc(
                              as_written)}),
                          value=new_w, data={"layer": l},
                          elidable=matrices_of(w, substituted=None)))
        if mistake == "bias-not-updated":
            new_b = bias
            steps.append(Step(key="mlp.update_b_skipped", lhs=_layer_sym("b_new_l", l, n_out),
                              symbolic=b_s, value=new_b, data={"layer": l}))
        else:
            new_b = sp.ImmutableMatrix(bias - lr * delta)
            steps.append(Step(key="mlp.update_b", lhs=_layer_sym("b_new_l", l, n_out),
                              symbolic=b_formula,
                              substituted=put_in(b_formula, {b_s: bias, eta: lr,
                                                             db_s: delta.applyfunc(as_written)}),
                              value=new_b, data={"layer": l}))
        W_new.append(new_w)
        b_new.append(new_b)
    return steps, dWs, dbs, W_new, b_new


def _flat(vector: sp.MatrixBase) -> list[Any]:
    return list(vector)


def _rows(matrix: sp.MatrixBase) -> list[list[Any]]:
    return [list(matrix.row(i)) for i in range(matrix.rows)]


def sample_mlp(draw: Draw, fixed: Mapping[str, Any]) -> dict[str, Any]:
    """A one- to three-layer network of two or three units a layer, weights of one decimal.

    Square weight matrices are never symmetric (so W and W^T give different gradients), hidden
    layers are sigmoid or tanh (whose derivatives always show), and the loss fits the output:
    half-mse or mse on a sigmoid or linear output, cross-entropy on a softmax or sigmoid one,
    none (the gradient of the output itself) on a single output.
    """
    dims = bind_dims(PARAMS, fixed)
    D = dims.get("D", draw.choice((2, 2, 3)))
    L = dims.get("L", draw.choice((1, 2, 2, 2, 2, 3)))
    loss = fixed.get("loss", draw.choice(("half-mse", "half-mse", "half-mse", "mse",
                                          "cross-entropy", "none")))
    K = dims.get("K", 1 if loss == "none" else draw.choice((1, 2, 2)))
    if loss == "cross-entropy":
        output = draw.choice(("softmax", "sigmoid")) if K > 1 else "sigmoid"
    elif loss == "none":
        output = draw.choice(("sigmoid", "tanh", "linear"))
    else:
        output = draw.choice(("sigmoid", "sigmoid", "linear"))
    hidden = draw.choice(("sigmoid", "tanh"))
    widths = [D] + [D if draw.chance(0.6) else draw.choice((2, 3)) for _ in range(L - 1)] + [K]
    out: dict[str, Any] = {}
    for _ in range(100):
        Ws = []
        for l in range(L):
            shape = (widths[l + 1], widths[l])
            while True:
                w = draw.array(shape, -1, 1, nonzero=True)
                if shape[0] != shape[1] or any(w[i][j] != w[j][i] for i in range(shape[0])
                                               for j in range(i)):
                    break
            Ws.append(w)
        out = {
            "x": draw.array((D,), -1, 1, nonzero=True),
            "W": Ws,
            "b": [draw.array((widths[l + 1],), -0.5, 0.5, nonzero=True) for l in range(L)],
            "activations": ", ".join([hidden] * (L - 1) + [output]),
            "loss": loss,
        }
        if loss == "cross-entropy" and output == "softmax":
            label = draw.integer(0, K - 1)
            out["target"] = [1 if k == label else 0 for k in range(K)]
        elif loss == "cross-entropy":
            out["target"] = [draw.choice((0, 1)) for _ in range(K)]
        elif loss != "none":
            out["target"] = [draw.decimal(0, 1, 1) for _ in range(K)]
        if draw.chance(0.6):
            out["lr"] = draw.choice((0.1, 0.5, 1))
        out.update(fixed)
        return out
    return out


def _question(values: dict[str, Any]) -> dict[str, Any]:
    """The statement's form: with or without a target and a learning rate."""
    none = values["loss"] == "none"
    update = values["lr"] is not None
    form = "_".join(f for f, on in (("neuron", none), ("update", update)) if on)
    W = values["W"]
    out: dict[str, Any] = {"layers": len(W),
                           "sizes": Series("widths", [W[0].cols] + [w.rows for w in W])}
    if values["b"] is None:
        out["b"] = tuple(sp.ImmutableMatrix.zeros(w.rows, 1) for w in W)
    if not none:  # the drawn loss in words, not every loss the derivation knows
        out["loss_words"] = Phrase(f"mlp.says.{values['loss']}")
    if form:
        out["statement"] = form
    return out


@derivation(
    "mlp",
    params=PARAMS,
    limits=_LIMITS,
    answers=[
        Answer("z", "layers", shapes=(("L",),)),
        Answer("a", "layers", shapes=(("L",),)),
        Answer("output", "vectors", shapes=((), ("K",))),
        Answer("loss", "number", optional=True),
        Answer("delta", "layers", shapes=(("L",),)),
        Answer("dL_dW", "layers", shapes=(("L",),)),
        Answer("dL_db", "layers", shapes=(("L",),)),
        Answer("dL_dx", "vector", shapes=(("D",),)),
        Answer("W_new", "layers", shapes=(("L",),), optional=True),
        Answer("b_new", "layers", shapes=(("L",),), optional=True),
    ],
    mistakes=MISTAKES,
    sampler=sample_mlp,
    question=_question,
)
def mlp(x: sp.ImmutableMatrix, W: tuple[Any, ...], b: tuple[Any, ...] | None, activations: str,
        target: Any, loss: str, lr: Any, mistake: str | None = None) -> Result:
    """Forward and backward through a small fully connected network.

    Args:
        x: the input vector (D numbers).
        W: the weights, one out x in matrix per layer.
        b: the biases, one vector per layer (zeros when not given).
        activations: one name per layer (or one for all): sigmoid, tanh, relu, linear, softmax.
        target: the targets of the loss (one per output).
        loss: half-mse, mse, cross-entropy or none (the gradient of the single output).
        lr: a learning rate: the answers then hold one gradient-descent step.
        mistake: a declared mistake's id, computed from start to end.

    Raises:
        InputError: layers that do not chain, a target that does not fit the loss.
    """
    L = len(W)
    acts = layer_activations(activations, L)
    bias = b if b is not None else tuple(sp.ImmutableMatrix.zeros(w.rows, 1) for w in W)
    t = _check_network(x, W, b, target, loss, acts)
    steps: list[Step] = [Step(key="mlp.network", data={
        "layers": L, "sizes": Series("widths", [x.rows] + [w.rows for w in W]),
        "activations": Listed(acts), "loss": loss})]
    forward_steps, zs, a_values = forward(x, W, bias, acts)
    steps += forward_steps
    o = a_values[-1]
    answers: dict[str, Any] = {
        "z": [_flat(z) for z in zs],
        "a": [_flat(a) for a in a_values[1:]],
        "output": o[0] if o.rows == 1 else _flat(o),
    }
    if loss != "none":
        assert t is not None
        loss_step = _loss_step(loss, acts[-1], o, t, mistake)
        steps.append(loss_step)
        answers["loss"] = loss_step.value
    back_steps, deltas, dx = backward(W, zs, a_values, acts, loss, t, mistake)
    steps += back_steps
    grad_steps, dWs, dbs, W_new, b_new = _gradient_steps(W, bias, a_values, deltas, lr, mistake)
    steps += grad_steps
    answers.update({
        "delta": [_flat(d) for d in deltas],
        "dL_dW": [_rows(d) for d in dWs],
        "dL_db": [_flat(d) for d in dbs],
        "dL_dx": _flat(dx),
    })
    if lr is not None:
        answers["W_new"] = [_rows(w) for w in W_new]
        answers["b_new"] = [_flat(v) for v in b_new]
    return Result(convention="column", steps=tuple(steps), answers=answers,
                  info={"activations": acts})
