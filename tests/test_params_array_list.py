"""Parameter kinds added for the attention derivations: array lists, numeric choices."""

from __future__ import annotations

import pytest
import sympy as sp

from dlexam.derivations.params import Param, validate
from dlexam.errors import InputError

HEADS = [
    Param("X", "array", shapes=(("n", "d"),)),
    Param("W_Q", "array_list", shapes=(("d", "k"),), items="h"),
    Param("W_V", "array_list", shapes=(("d", "v"),), items="h"),
]
X = [[1, 2], [3, 4], [5, 6]]


def test_items_become_a_tuple_of_matrices() -> None:
    out = validate(HEADS, {"X": X, "W_Q": [[[0.5], [1]], [[2], [3]]], "W_V": [[[1], [2]]] * 2})
    assert isinstance(out["W_Q"], tuple) and len(out["W_Q"]) == 2
    assert out["W_Q"][0] == sp.ImmutableMatrix([[sp.Rational(1, 2)], [1]])
    assert out["W_Q"][1].shape == (2, 1)


@pytest.mark.parametrize(
    "given,param,fragment",
    [
        ({"X": X, "W_Q": [[[1], [2], [3]]], "W_V": [[[1], [2]]]}, "W_Q",
         "item 1: 3 x 1, where X sets d = 2"),
        ({"X": X, "W_Q": [[[1], [2]], [[1, 2], [3, 4]]], "W_V": [[[1], [2]]] * 2}, "W_Q",
         "item 2: 2 x 2, where W_Q sets k = 1"),
        ({"X": X, "W_Q": [[[1], [2]]] * 2, "W_V": [[[1], [2]]] * 3}, "W_V", "h = 2 arrays"),
        ({"X": X, "W_Q": [], "W_V": [[[1], [2]]]}, "W_Q", "a list of arrays"),
        ({"X": X, "W_Q": 3, "W_V": [[[1], [2]]]}, "W_Q", "a list of arrays"),
    ],
)
def test_errors_name_the_parameter(given: dict[str, object], param: str, fragment: str) -> None:
    with pytest.raises(InputError) as info:
        validate(HEADS, given)
    assert info.value.param == param
    assert fragment in str(info.value)


def test_a_numeric_choice_typed_as_a_number() -> None:
    base = [Param("base", "choice", default="e", choices=("2", "e", "10"))]
    assert validate(base, {"base": 2}) == {"base": "2"}
    assert validate(base, {"base": "e"}) == {"base": "e"}
    with pytest.raises(InputError) as info:
        validate(base, {"base": 3})
    assert info.value.param == "base" and "one of 2, e, 10" in str(info.value)
    with pytest.raises(InputError):
        validate(base, {"base": True})
