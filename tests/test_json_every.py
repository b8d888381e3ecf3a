"""`solve --json` is JSON for every derivation: sampled questions and shapes the samplers rarely
draw (a law as step data, a 4-D input with elidable steps), written with the standard library's
encoder as the CLI writes them."""

from __future__ import annotations

import json
import os

import pytest

import dlexam.render  # noqa: F401  (registers the JSON view)
from dlexam import derivations

X4 = [[[[0.0, -0.3], [0.9, 1.8]]], [[[-2.5, -2.9], [2.0, -0.4]]]]
CASES = [
    ("init-variance", {"scheme": "standard", "fan_in": 784, "active": 14}),
    *[("normalization", {"kind": k, "X": X4}) for k in ("batch", "layer", "instance")],
    ("normalization", {"kind": "group", "groups": 1, "X": X4}),
]


def _dumped(name: str, params: dict) -> dict:
    text = json.dumps(derivations.get(name).run(params).as_dict(), allow_nan=False)
    return json.loads(text)


@pytest.mark.parametrize(("name", "params"), CASES, ids=[f"{n}-{i}" for i, (n, _) in
                                                         enumerate(CASES)])
def test_hand_made_cases(name: str, params: dict) -> None:
    out = _dumped(name, params)
    assert out["derivation"] == name and out["steps"]


@pytest.mark.parametrize("name", sorted(derivations.names()))
def test_sampled(name: str) -> None:
    d = derivations.get(name)
    assert d.sampler is not None, f"{name} declares no sampler"
    for seed in range(1, min(int(os.environ.get("DLEXAM_TEST_SEEDS", "12")), 4) + 1):
        assert _dumped(name, d.sample(seed))["answers"]
