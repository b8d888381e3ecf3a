"""Normalisation layers in training mode: batch, layer, instance and group normalisation.

Each kind takes a mean and a variance over its own set of entries and gives every entry
x_hat = (x - mean) / sqrt(variance + eps), then y = gamma x_hat + beta. As PyTorch computes them
(``torch.nn.functional.batch_norm(training=True)``, ``layer_norm``, ``instance_norm``,
``group_norm``) on X of n x d or n x C x H x W:

- batch: per feature (per channel), over the batch (and the positions);
- layer: per example, over all its features (for n x C x H x W over C, H and W);
- instance: per example and channel, over the positions (n x C x H x W only);
- group: per example and group of C / groups consecutive channels (features), over them and
  the positions.

``gamma`` and ``beta`` are one number or one per feature (per channel for n x C x H x W, as
BatchNorm2d, InstanceNorm2d and GroupNorm hold them; a layer norm's affine is then per channel
too, GroupNorm with one group). The variance divides by the count (``variance=biased``, what the
frameworks normalise with); ``unbiased`` divides by count - 1, as ``torch.var`` does by default.
"""

# ruff: noqa: N803
# (X is the input's name as the issue and the frameworks write it)

from __future__ import annotations

from itertools import product
from typing import Any

import sympy as sp

from dlexam.derivations.contract import Answer, Mistake
from dlexam.derivations.core import Result, Step, derivation, row_of
from dlexam.derivations.forms import Ratio, as_written
from dlexam.derivations.heads import Is, Names
from dlexam.derivations.params import Param, bind_dims
from dlexam.derivations.sampling import Draw
from dlexam.errors import InputError, Said
from dlexam.notation import register_symbols, sym

register_symbols({
    "bn_mu": (r"\mu", "μ"),
    "bn_var": (r"\sigma^2", "σ^2"),
    "bn_eps": (r"\varepsilon", "ε"),
    "bn_gamma": (r"\gamma", "γ"),
    "bn_beta": (r"\beta", "β"),
    "bn_x": ("x", "x"),
    "bn_xhat": (r"\hat{x}", "x̂"),
    "bn_y": ("y", "y"),
    "bn_m": ("m", "m"),
    "bn_sum": (r"\sum x", "Σ x"),
    "bn_sq": (r"\sum (x - \mu)^2", "Σ (x - μ)^2"),
})

KINDS = ("batch", "layer", "instance", "group")
VARIANCES = ("biased", "unbiased")
EPS_DEFAULT = sp.Rational(1, 100_000)


def _other_kind(params: dict[str, Any]) -> dict[str, Any]:
    return {**params, "kind": "layer" if params["kind"] == "batch" else "batch"}


def _raw_shape(value: Any) -> tuple[int, ...]:
    shape = []
    while isinstance(value, list) and value:
        shape.append(len(value))
        value = value[0]
    return tuple(shape)


def _unbiased_differs(params: Any) -> bool:
    """The question asks the biased variance over sets of at least 2 values."""
    shape = _raw_shape(params["X"])
    groups = params.get("groups") or 1
    if params["variance"] != "biased" or len(shape) < 2 or shape[1] % groups:
        return False
    return len(_members(params["kind"], shape, groups)[0][1]) >= 2


def _affine(params: Any) -> bool:
    """Whether gamma or beta changes anything (not all 1 and 0)."""
    def values(v: Any) -> list[Any]:
        return v if isinstance(v, list) else [v]
    return (any(g != 1 for g in values(params["gamma"]))
            or any(b != 0 for b in values(params["beta"])))


NORM_PARAMS = [
    Param("kind", "choice", choices=KINDS),
    Param("X", "array", shapes=(("n", "d"), ("n", "C", "H", "W"))),
    Param("groups", "int", default=None, minimum=1, maximum=8),
    Param("gamma", "array", shapes=((), ("k",)), default=1),
    Param("beta", "array", shapes=((), ("k",)), default=0),
    Param("eps", "number", default=0.00001, trace="nonzero"),
    Param("variance", "choice", default="biased", choices=VARIANCES),
]


def _members(kind: str, shape: tuple[int, ...], groups: int) -> list[tuple[tuple[int, ...],
                                                                           list[tuple[int, ...]]]]:
    """Each set of entries that shares a mean and variance: (its label, its positions).

    The label indexes the answers ``mean`` and ``variance``: (j,) per feature or channel for
    batch, (i,) per example for layer, (i, c) for instance, (i, g) for group.
    """
    n, f = shape[0], shape[1]
    rest = [tuple(p) for p in product(*[range(s) for s in shape[2:]])]
    if kind == "batch":
        return [((j,), [(i, j, *r) for i in range(n) for r in rest]) for j in range(f)]
    if kind == "layer":
        return [((i,), [(i, j, *r) for j in range(f) for r in rest]) for i in range(n)]
    if kind == "instance":
        return [((i, c), [(i, c, *r) for r in rest]) for i in range(n) for c in range(f)]
    size = f // groups
    return [((i, g), [(i, c, *r) for c in range(g * size, (g + 1) * size) for r in rest])
            for i in range(n) for g in range(groups)]


def _per_feature(name: str, value: Any, features: int, four: bool) -> list[sp.Basic]:
    if not isinstance(value, (sp.MatrixBase, sp.NDimArray)):
        return [value] * features
    entries = list(value)
    if len(entries) != features:
        raise InputError(name, Said("normalization.errors.per_channel" if four else
                                     "normalization.errors.per_feature", n=features),
                         f"{len(entries)}")
    return entries


def _entries(X: Any) -> tuple[tuple[int, ...], dict[tuple[int, ...], sp.Basic]]:
    if isinstance(X, sp.MatrixBase):
        shape = (X.rows, X.cols)
        return shape, {(i, j): X[i, j] for i in range(X.rows) for j in range(X.cols)}
    shape = tuple(X.shape)
    return shape, {tuple(p): X[p] for p in product(*[range(s) for s in shape])}


def _check(kind: str, shape: tuple[int, ...], groups: int | None, variance: str, eps: Any
           ) -> int:
    four = len(shape) == 4
    f = shape[1]
    if kind == "instance" and not four:
        raise InputError("X", Said("normalization.errors.instance"), f"{shape[0]} x {shape[1]}")
    if kind == "group":
        if groups is None:
            raise InputError("groups", Said("normalization.errors.groups"), Said("errors.nothing"))
        if f % groups:
            raise InputError("groups", Said("normalization.errors.divisor_channels" if four else
                                             "normalization.errors.divisor_features", n=f),
                             str(groups))
    elif groups is not None:
        raise InputError("groups", Said("normalization.errors.only_group"), str(groups))
    if eps < 0:
        raise InputError("eps", Said("inputs.non_negative"), str(eps))
    count = len(_members(kind, shape, groups or 1)[0][1])
    if count < 2 and (kind in ("batch", "instance") or variance == "unbiased"):
        what = {"batch": "normalization.errors.batch_of_one",
                "instance": "normalization.errors.one_position"}.get(
            kind, "normalization.errors.unbiased")
        raise InputError("X", Said(what), Said("normalization.errors.one"))
    return groups or 1


def sample_norm(draw: Draw, fixed: dict[str, Any]) -> dict[str, Any]:
    """A kind; X of 2 to 4 examples with 2 to 4 one-decimal features (4 for group
    normalisation; for instance normalisation, and one time in four otherwise, 2 x 2 x 2 x 2
    images);
    gamma and beta one time in two; eps 0.01 or 0.1 (where putting it outside the root shows)
    or PyTorch's 1e-5; the unbiased variance one time in five."""
    kind = fixed.get("kind", draw.choice(KINDS))
    dims = bind_dims(NORM_PARAMS, {k: v for k, v in fixed.items() if k == "X"})
    four = ("C" in dims) or ("d" not in dims and (kind == "instance" or draw.chance(0.25)))
    out: dict[str, Any] = {"kind": kind}
    if four:
        n, c = dims.get("n", 2), dims.get("C", 2)
        h, w = dims.get("H", 2), dims.get("W", 2)
        shape: tuple[int, ...] = (n, c, h, w)
        features = c
    else:
        n = dims.get("n", draw.integer(2, 4))
        features = dims.get("d", draw.integer(2, 4) if kind != "group" else 4)
        shape = (n, features)
    if kind == "group":
        out["groups"] = fixed.get("groups", 2 if features % 2 == 0 else 1)
    for _ in range(100):
        out["X"] = draw.array(shape, -3, 3, 1)
        if _spread(out["X"], kind, out.get("groups", 1)):
            break
    if draw.chance(0.5):
        out["gamma"] = draw.array((features,), 0.5, 2, 1)
        out["beta"] = draw.array((features,), -1, 1, 1)
    out["eps"] = draw.choice((0.01, 0.1, 0.01, 0.00001))
    if draw.chance(0.2):
        out["variance"] = "unbiased"
    out.update(fixed)
    return out


def _spread(X: Any, kind: str, groups: int) -> bool:
    """Every set the kind normalises, and the one the other axis would, has distinct values
    (the variance is not 0), and batch and layer statistics differ."""
    def walk(v: Any, at: tuple[int, ...] = ()) -> dict[tuple[int, ...], float]:
        if isinstance(v, list):
            out: dict[tuple[int, ...], float] = {}
            for i, x in enumerate(v):
                out.update(walk(x, (*at, i)))
            return out
        return {at: float(v)}
    entries = walk(X)
    shape = tuple(max(p[k] for p in entries) + 1 for k in range(len(next(iter(entries)))))
    kinds = {kind, "batch", "layer"} if kind in ("batch", "layer") else {kind}
    for k in kinds:
        for _label, members in _members(k, shape, groups):
            if len({entries[p] for p in members}) < 2:
                return False
    return True


def _norm_question(values: dict[str, Any]) -> dict[str, Any]:
    shape, entries = _entries(values["X"])
    if len(shape) == 4:
        blocks = [Is(sp.Symbol(f"X_{i + 1},{c + 1}"),
                     sp.ImmutableMatrix(shape[2], shape[3],
                                        [entries[(i, c, h, w)] for h in range(shape[2])
                                         for w in range(shape[3])]))
                  for i in range(shape[0]) for c in range(shape[1])]
        shown: Any = Names(*blocks)
    else:
        shown = Is(sp.Symbol("X"), values["X"])
    out = {"X": shown, "eps": values["eps"], "gamma": _shown_vector(values["gamma"]),
           "beta": _shown_vector(values["beta"]),
           "rule": _variance_rule(values["variance"])}
    if values["kind"] != "batch":
        out["statement"] = values["kind"]
    if values["groups"] is not None:
        out["groups"] = values["groups"]
    return out


def _shown_vector(value: Any) -> Any:
    if isinstance(value, sp.MatrixBase):
        return sp.ImmutableMatrix([list(value)])
    return value


def _variance_rule(variance: str) -> sp.Basic:
    """sigma^2 = (1/m) sum (x - mu)^2, or 1/(m - 1) for the unbiased variance."""
    m = sym("bn_m")
    with sp.evaluate(False):
        over = m if variance == "biased" else sp.Add(m, -1)
        return Is(sym("bn_var"), Ratio(sym("bn_sq"), over))


@derivation(
    "normalization",
    params=NORM_PARAMS,
    limits={"n": 6, "d": 6, "C": 4, "H": 4, "W": 4, "k": 6},
    answers=[
        Answer("mean", "vectors", shapes=(("s",), ("n", "s"))),
        Answer("variance", "vectors", shapes=(("s",), ("n", "s"))),
        Answer("x_hat", "vectors", shapes=(("n", "d"), ("n", "C", "H", "W"))),
        Answer("y", "vectors", shapes=(("n", "d"), ("n", "C", "H", "W"))),
    ],
    mistakes=[
        Mistake("wrong-axis", changes=("mean", "variance", "x_hat", "y"), params=_other_kind,
                applies=lambda p: p["kind"] in ("batch", "layer")),
        Mistake("unbiased-variance", changes=("variance", "x_hat", "y"),
                params=lambda p: {**p, "variance": "unbiased"}, applies=_unbiased_differs),
        Mistake("eps-outside-sqrt", changes=("x_hat", "y"), formula=True,
                applies=lambda p: p["eps"] >= 0.001),
        Mistake("affine-left-out", changes=("y",), formula=True, applies=_affine),
        # divided by the variance: the square root (the standard deviation) left out
        Mistake("no-sqrt", changes=("x_hat", "y"), formula=True),
    ],
    sampler=sample_norm,
    question=_norm_question,
)
def normalization(kind: str, X: Any, groups: int | None, gamma: Any, beta: Any, eps: Any,
                  variance: str, mistake: str | None = None) -> Result:
    """Means and variances over the kind's sets of entries, x_hat and y = gamma x_hat + beta.

    Args:
        kind: batch, layer, instance or group.
        X: n x d, or n x C x H x W.
        groups: for kind=group, how many groups the features (channels) form.
        gamma, beta: one number, or one per feature (channel).
        eps: added to the variance under the square root (PyTorch's 1e-5 by default).
        variance: ``biased`` (divide by the count) or ``unbiased`` (by the count - 1).
        mistake: ``eps-outside-sqrt`` ((x - mean) / (sqrt(variance) + eps)) or
            ``affine-left-out`` (y = x_hat).

    Raises:
        InputError: instance normalisation of an n x d X, groups that do not divide the
            features, a batch of one in batch normalisation, gamma or beta of the wrong length.
    """
    shape, x = _entries(X)
    g = _check(kind, shape, groups, variance, eps)
    four = len(shape) == 4
    features = shape[1]
    gammas = _per_feature("gamma", gamma, features, four)
    betas = _per_feature("beta", beta, features, four)
    sets = _members(kind, shape, g)
    count = len(sets[0][1])
    steps: list[Step] = [Step(key=f"normalization.axes_{kind}" + ("_images" if four else ""),
                              data={"count": count, "sets": len(sets), "groups": g,
                                    "per": features // g, "n": shape[0]}),
                         Step(key=f"normalization.variance_{variance}", lhs=sym("bn_var"),
                              symbolic=_variance_rule(variance).args[1])]
    more, means, variances, owner = _moment_steps(sets, x, variance)
    steps += more
    if eps == 0:
        for label, v in variances.items():
            if v == 0:  # exactly 0 (a traced variance is a formula and goes on)
                raise InputError("eps", Said("normalization.errors.equal_set", set=",".join(
                    str(i + 1) for i in label)), "0")
    outside = mistake == "eps-outside-sqrt"
    root = mistake != "no-sqrt"  # the square root of the variance, left out under the mistake
    scale = {label: 1 / (sp.sqrt(v) + eps if outside else sp.sqrt(v + eps) if root
                         else v + eps)
             for label, v in variances.items()}
    x_hat = {p: (x[p] - means[owner[p]]) * scale[owner[p]] for p in x}
    y = {p: x_hat[p] if mistake == "affine-left-out" else gammas[p[1]] * x_hat[p] + betas[p[1]]
         for p in x}
    # one entry worked out, then every entry
    first = next(iter(x))
    steps += _x_hat_steps(x, x_hat, first, means[owner[first]], variances[owner[first]], eps,
                          outside, shape, root)
    steps += _affine_steps(x_hat, y, first, gammas, betas, shape, mistake)
    labels = [label for label, _members in sets]
    if kind == "batch" or kind == "layer":
        mean_answer: Any = [means[lb] for lb in labels]
        var_answer: Any = [variances[lb] for lb in labels]
    else:
        per = g if kind == "group" else features
        mean_answer = [[means[(i, j)] for j in range(per)] for i in range(shape[0])]
        var_answer = [[variances[(i, j)] for j in range(per)] for i in range(shape[0])]
    return Result(convention=variance, steps=tuple(steps),
                  answers={"mean": mean_answer, "variance": var_answer,
                           "x_hat": _nested(x_hat, shape), "y": _nested(y, shape)})


Position = tuple[int, ...]


def _moment_steps(sets: list[tuple[Position, list[Position]]], x: dict[Position, sp.Basic],
                  variance: str) -> tuple[list[Step], dict[Position, sp.Basic],
                                          dict[Position, sp.Basic], dict[Position, Position]]:
    """The moments step group: each set's mean and variance. Returns the steps, the means and
    variances by set, and each entry's set."""
    count = len(sets[0][1])
    divisor = count if variance == "biased" else count - 1
    s2, xs, m = sym("bn_sq"), sym("bn_sum"), sym("bn_m")
    steps: list[Step] = []
    means: dict[Position, sp.Basic] = {}
    variances: dict[Position, sp.Basic] = {}
    owner: dict[Position, Position] = {}
    for number, (label, members) in enumerate(sets, start=1):
        values = [x[p] for p in members]
        total = sp.Add(*values)
        mean = total / count
        squares = sp.Add(*[(v - mean) ** 2 for v in values])
        v = squares / divisor
        means[label], variances[label] = mean, v
        for p in members:
            owner[p] = label
        name = ",".join(str(i + 1) for i in label)
        elide = row_of("rows", number, len(sets), "normalization.sets")
        mean_formula = Ratio(xs, m)
        var_formula = Ratio(s2, m if variance == "biased" else sp.Add(m, -1, evaluate=False))
        steps.append(Step(key="normalization.mean", lhs=sp.Symbol(f"mu_{name}"),
                          symbolic=mean_formula,
                          substituted=Ratio(as_written(total), sp.Integer(count)), value=mean,
                          data={"set": name, "values": _listed(values), "count": count},
                          elidable=elide))
        steps.append(Step(key="normalization.variance", lhs=sp.Symbol(f"sigma_{name}^2"),
                          symbolic=var_formula,
                          substituted=Ratio(as_written(squares), sp.Integer(divisor)),
                          value=v, data={"set": name}, elidable=elide))
    return steps, means, variances, owner


def _x_hat_steps(x: dict[Position, sp.Basic], x_hat: dict[Position, sp.Basic], first: Position,
                 mean: sp.Basic, var_value: sp.Basic, eps: Any, outside: bool,
                 shape: tuple[int, ...], root: bool = True) -> list[Step]:
    """The normalised entries' step group: the first entry worked out, then every entry."""
    mu, var, e = sym("bn_mu"), sym("bn_var"), sym("bn_eps")
    mw, vw, ew = as_written(mean), as_written(var_value), as_written(eps)
    with sp.evaluate(False):
        num = sp.Add(sym("bn_x"), sp.Mul(-1, mu))
        den = (sp.Add(sp.sqrt(var), e) if outside else sp.sqrt(sp.Add(var, e)) if root
               else sp.Add(var, e))
        hat_formula = Ratio(num, den)
        hat_numbers = Ratio(sp.Add(as_written(x[first]), sp.Mul(-1, mw)),
                            sp.Add(sp.sqrt(vw), ew) if outside else sp.sqrt(sp.Add(vw, ew))
                            if root else sp.Add(vw, ew))
    where = ",".join(str(i + 1) for i in first)
    steps = [Step(key="normalization.x_hat_first" + ("_outside" if outside else ""
                                                     if root else "_no_sqrt"),
                  lhs=sym("bn_xhat"), symbolic=hat_formula, substituted=hat_numbers,
                  value=x_hat[first], data={"at": where})]
    steps += _tensor_steps("normalization.x_hat_all", sym("bn_xhat"), "xhat", hat_formula,
                           x_hat, shape)
    return steps


def _affine_steps(x_hat: dict[Position, sp.Basic], y: dict[Position, sp.Basic],
                  first: Position, gammas: Any, betas: Any, shape: tuple[int, ...],
                  mistake: str | None) -> list[Step]:
    """The affine step group, y = gamma x_hat + beta: the first entry worked out, then every
    entry (or the mistake's y = x_hat)."""
    if mistake == "affine-left-out":
        return [Step(key="normalization.affine_left_out", lhs=sym("bn_y"),
                     symbolic=sym("bn_xhat"))]
    gw, hw, bw = (as_written(gammas[first[1]]), as_written(x_hat[first]),
                  as_written(betas[first[1]]))
    with sp.evaluate(False):
        y_formula = sp.Add(sp.Mul(sym("bn_gamma"), sym("bn_xhat")), sym("bn_beta"))
        y_numbers = sp.Add(sp.Mul(gw, hw), bw)
    where = ",".join(str(i + 1) for i in first)
    steps = [Step(key="normalization.y_first", lhs=sym("bn_y"), symbolic=y_formula,
                  substituted=y_numbers, value=y[first], data={"at": where})]
    steps += _tensor_steps("normalization.y_all", sym("bn_y"), "y", y_formula, y, shape)
    return steps


def _listed(values: list[sp.Basic]) -> sp.ImmutableMatrix:
    return sp.ImmutableMatrix([values])


def _nested(values: dict[tuple[int, ...], sp.Basic], shape: tuple[int, ...]) -> list[Any]:
    def build(prefix: tuple[int, ...]) -> Any:
        depth = len(prefix)
        if depth == len(shape):
            return values[prefix]
        return [build((*prefix, i)) for i in range(shape[depth])]
    return build(())


def _tensor_steps(key: str, lhs: sp.Basic, base: str, formula: sp.Basic,
                  values: dict[tuple[int, ...], sp.Basic], shape: tuple[int, ...]) -> list[Step]:
    """The whole tensor: one matrix for n x d; one H x W matrix per example and channel."""
    if len(shape) == 2:
        return [Step(key=key, lhs=lhs, symbolic=formula, value=sp.ImmutableMatrix(
            shape[0], shape[1], [values[(i, j)] for i in range(shape[0])
                                 for j in range(shape[1])]))]
    steps = []
    total = shape[0] * shape[1]
    for number, (i, c) in enumerate(product(range(shape[0]), range(shape[1])), start=1):
        block = sp.ImmutableMatrix(shape[2], shape[3], [values[(i, c, h, w)]
                                                        for h in range(shape[2])
                                                        for w in range(shape[3])])
        steps.append(Step(key=key + "_block", lhs=sp.Symbol(f"{base}_{i + 1},{c + 1}"),
                          symbolic=formula, value=block, data={"i": i + 1, "c": c + 1},
                          elidable=row_of("rows", number, total, key)))
    return steps
