"""normalization against torch.nn.functional on hand-made cases, and its conventions."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from dlexam import derivations

F = torch.nn.functional
X2 = [[1.0, 2.0, 6.0], [3.0, 5.0, -1.0], [0.0, 1.0, 2.0], [2.0, -2.0, 1.0]]
X4 = [[[[1, 2], [3, 4]], [[0, 1], [2, 2]], [[1, 1], [0, 3]], [[2, 2], [1, 0]]],
      [[[0, 2], [1, 4]], [[1, 1], [2, 3]], [[3, 1], [0, 2]], [[2, 0], [1, 1]]]]


def _flat(value: object) -> list[float]:
    if isinstance(value, list):
        return [x for v in value for x in _flat(v)]
    return [float(value)]  # type: ignore[arg-type]


def _solve(**params: object) -> dict[str, object]:
    return derivations.solve("normalization", params).plain_answers()


@pytest.mark.parametrize("kind,x,expected", [
    ("batch", X2, lambda x, g, b: F.batch_norm(x, None, None, g, b, training=True, eps=0.01)),
    ("layer", X2, lambda x, g, b: F.layer_norm(x, x.shape[1:], g, b, eps=0.01)),
    ("batch", X4, lambda x, g, b: F.batch_norm(x, None, None, g, b, training=True, eps=0.01)),
    ("instance", X4, lambda x, g, b: F.instance_norm(x, weight=g, bias=b, eps=0.01)),
    ("group", X4, lambda x, g, b: F.group_norm(x, 2, g, b, eps=0.01)),
])
def test_output_matches_torch(kind: str, x: list, expected: Callable) -> None:
    t = torch.tensor(x, dtype=torch.float64)
    features = t.shape[1]
    gamma = [0.5 + 0.5 * i for i in range(features)]
    beta = [0.1 * i - 0.2 for i in range(features)]
    params = {"kind": kind, "X": x, "gamma": gamma, "beta": beta, "eps": 0.01}
    if kind == "group":
        params["groups"] = 2
    a = _solve(**params)
    g = torch.tensor(gamma, dtype=torch.float64)
    b = torch.tensor(beta, dtype=torch.float64)
    want = expected(t, g, b)  # for n x d, layer_norm's affine is per feature, as ours
    assert _flat(a["y"]) == pytest.approx(_flat(want.tolist()), rel=1e-12, abs=1e-14)


def test_statistics_and_the_variance_convention() -> None:
    a = _solve(kind="batch", X=X2)
    t = torch.tensor(X2, dtype=torch.float64)
    assert a["mean"] == pytest.approx(t.mean(0).tolist(), rel=1e-15)
    assert a["variance"] == pytest.approx(t.var(0, unbiased=False).tolist(), rel=1e-15)
    u = _solve(kind="batch", X=X2, variance="unbiased")
    assert u["variance"] == pytest.approx(t.var(0).tolist(), rel=1e-15)
    # layer statistics are per row and do not depend on the other examples
    layer = _solve(kind="layer", X=X2)
    alone = _solve(kind="layer", X=X2[:2])
    assert layer["x_hat"][:2] == alone["x_hat"]
    # group with one group is layer normalisation; with one channel per group, instance
    assert _solve(kind="group", X=X4, groups=1)["x_hat"] == _solve(kind="layer", X=X4)["x_hat"]
    assert _solve(kind="group", X=X4, groups=4)["x_hat"] == _solve(kind="instance", X=X4)["x_hat"]


def test_mistakes() -> None:
    d = derivations.get("normalization")
    right = d.run({"kind": "batch", "X": X2, "eps": 0.1}).plain_answers()
    wrong = d.run({"kind": "batch", "X": X2, "eps": 0.1}, mistake="wrong-axis").plain_answers()
    assert wrong == d.run({"kind": "layer", "X": X2, "eps": 0.1}).plain_answers()
    outside = d.run({"kind": "batch", "X": X2, "eps": 0.1},
                    mistake="eps-outside-sqrt").plain_answers()
    t = torch.tensor(X2, dtype=torch.float64)
    want = (t - t.mean(0)) / (t.var(0, unbiased=False).sqrt() + 0.1)
    assert _flat(outside["x_hat"]) == pytest.approx(_flat(want.tolist()), rel=1e-12)
    assert outside["mean"] == right["mean"]


@pytest.mark.parametrize("argv,param", [
    (["kind=instance", "X=[[1,2],[3,4]]"], "X"),
    (["kind=group", "X=[[1,2,3],[3,4,5]]", "groups=2"], "groups"),
    (["kind=group", "X=[[1,2,3],[3,4,5]]"], "groups"),
    (["kind=batch", "X=[[1,2,3]]"], "X"),
    (["kind=layer", "X=[[1,2],[3,4]]", "groups=2"], "groups"),
    (["kind=layer", "X=[[1,2],[3,4]]", "gamma=[1,2,3]"], "gamma"),
    (["kind=layer", "X=[[1,2],[3,4]]", "eps=-1"], "eps"),
    (["kind=batch", "X=[[[[[1]]]]]"], "X"),
    (["kind=layer", "X=[[1,1],[2,3]]", "eps=0"], "eps"),
])
def test_bad_input_names_the_parameter(input_error: Callable[[list[str]], str],
                                       argv: list[str], param: str) -> None:
    assert input_error(["solve", "normalization", *argv]).startswith(f"{param}: expected ")
