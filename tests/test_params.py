"""Declared parameters: shapes bound across parameters, exact numbers, clear errors."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sympy as sp

from dlexam.derivations.params import Param, exact, validate
from dlexam.errors import InputError

RNN = [
    Param("U", "array", shapes=(("H",), ("H", "D"))),
    Param("W", "array", shapes=(("H", "H"),)),
    Param("x", "array", shapes=(("T",), ("T", "D"))),
    Param("act", "choice", default="tanh", choices=("tanh", "relu")),
    Param("n", "int", default=None, minimum=1),
]


def test_exact_numbers() -> None:
    assert exact(Decimal("0.1")) == sp.Rational(1, 10)
    assert exact(0.1) == sp.Rational(1, 10)
    assert exact(3) == 3
    with pytest.raises(TypeError):
        exact(True)
    with pytest.raises(TypeError):
        exact("1")


def test_arrays_become_matrices_and_bind_dims() -> None:
    out = validate(RNN, {"U": [0.5, 0.6], "W": [[0.1, 0.2], [0.3, 0.4]], "x": [2, 3]})
    assert out["U"] == sp.Matrix([sp.Rational(1, 2), sp.Rational(3, 5)])
    assert out["W"].shape == (2, 2)
    assert out["W"][0, 1] == sp.Rational(1, 5)
    assert out["act"] == "tanh"
    assert out["n"] is None


@pytest.mark.parametrize(
    "given,param,fragment",
    [
        ({"U": [1, 2], "W": [[1, 2, 3], [4, 5, 6]], "x": [1]}, "W", "where U sets H = 2"),
        ({"U": [1, 2], "W": [[1, 2], [3]], "x": [1]}, "W", "ragged"),
        ({"U": [1, 2], "W": [[1, 2], [3, 4]], "x": []}, "x", "non-empty"),
        ({"U": [1, "a"], "W": [[1, 2], [3, 4]], "x": [1]}, "U", "number"),
        ({"U": [1, 2], "W": [[1, 2], [3, 4]]}, "x", "required"),
        ({"U": [1, 2], "W": [[1, 2], [3, 4]], "x": [1], "act": "gelu"}, "act", "one of tanh, relu"),
        ({"U": [1, 2], "W": [[1, 2], [3, 4]], "x": [1], "n": 0}, "n", ">= 1"),
        ({"U": [1, 2], "W": [[1, 2], [3, 4]], "x": [1], "nn": 0}, "nn", "unknown"),
        ({"U": [[[1]]], "W": [[1]], "x": [1]}, "U", "shape"),
    ],
)
def test_errors_name_the_parameter(given: dict[str, object], param: str, fragment: str) -> None:
    with pytest.raises(InputError) as info:
        validate(RNN, given)
    assert info.value.param == param
    assert fragment in str(info.value)
