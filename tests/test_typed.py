"""What a student may type: numbers, lists, matrices, expressions and LaTeX, read without eval.

Expected values are computed here with Python's math module from the same expressions written
as code by us (never from the parser's own output)."""

from __future__ import annotations

import math

import pytest

from dlexam.check.typed import Leaf, TypedError, parse


def values(parsed):
    if isinstance(parsed, list):
        return [values(p) for p in parsed]
    assert isinstance(parsed, Leaf)
    return parsed.value


@pytest.mark.parametrize("typed,expected", [
    ("2.7371", 2.7371),
    ("-1e-3", -0.001),
    ("3/4", 0.75),
    ("75%", 0.75),
    ("2^3^2", 2.0 ** 9),
    ("-2^2", -4.0),
    ("2 * (3 + 4) / 7", 2.0),
    ("sqrt(2)", math.sqrt(2)),
    ("exp(1)", math.e),
    ("log(e)", 1.0),
    ("ln(10)", math.log(10)),
    ("log2(8)", 3.0),
    ("log10(1000)", 3.0),
    ("tanh(2.05)", math.tanh(2.05)),
    ("sigmoid(2)", 1 / (1 + math.exp(-2))),
    ("sigma(-1)", 1 / (1 + math.exp(1))),
    ("σ(0)", 0.5),
    ("pi", math.pi),
    ("2pi", 2 * math.pi),
    ("e^2", math.exp(2)),
    ("−0.5", -0.5),  # a typographic minus
    (r"\frac{e^{2}}{1+e^{2}}", math.exp(2) / (1 + math.exp(2))),
    (r"\sqrt{64}", 8.0),
    (r"\tanh(2.05)", math.tanh(2.05)),
    (r"2 \cdot 3", 6.0),
    (r"2\times 3", 6.0),
    (r"\frac12", 0.5),
    (r"\left(1 + 2\right) \cdot 2", 6.0),
    (r"\sigma(0)", 0.5),
    (r"2\pi", 2 * math.pi),
])
def test_numbers_and_expressions(typed: str, expected: float) -> None:
    assert values(parse(typed)) == pytest.approx(expected, rel=1e-15)


@pytest.mark.parametrize("typed,expected", [
    ("[1.4588, 2.7371]", [1.4588, 2.7371]),
    ("[[1, 2], [3, 4]]", [[1, 2], [3, 4]]),
    ("[1 2; 3 4]", [[1, 2], [3, 4]]),
    ("[1 -2; 3 4]", [[1, -2], [3, 4]]),  # as MATLAB reads it: -2 is an entry
    ("[1 - 2]", [-1]),  # a space on both sides: a subtraction
    ("[1, -2]", [1, -2]),
    ("[sqrt(4) 3/4]", [2, 0.75]),
    ("[1 2 3]", [1, 2, 3]),
])
def test_lists_and_matrices(typed: str, expected: list) -> None:
    assert values(parse(typed)) == expected


def test_a_plain_numeral_keeps_its_literal_for_significant_figures() -> None:
    assert parse("2.74").literal == "2.74"
    assert parse("-0.0239").literal == "-0.0239"
    assert parse("3/4").literal is None
    assert parse("sqrt(4)").literal is None


@pytest.mark.parametrize("typed,reason", [
    ("__import__('os').system('true')", "unexpected"),
    ("().__class__", "unexpected"),
    ("a.b", "unexpected"),
    ("x", "unknown name"),
    ("open(1)", "unknown name"),
    ("9^9^9^9", "more than 10,000 digits"),
    ("10^400", "1e300"),
    ("exp(exp(exp(100)))", "1e300"),
    ("1e999", "1e300"),
    ("1/0", "division by zero"),
    ("log(0)", "<= 0"),
    ("sqrt(-1)", "negative"),
    ("(-8)^(1/3)", "fractional power"),
    ("(" * 10_001, "more than 10,000 characters"),
    ("(" * 60 + "1" + ")" * 60, "nesting deeper than 50"),
    ("[" * 60 + "1" + "]" * 60, "nesting deeper than 50"),
    ("-" * 100 + "1", "nesting deeper than 50"),
    ("1" * 200_000, "more than 10,000 characters"),
    (r"\input{/etc/passwd}", r"\input"),
    (r"\write18{ls}", r"\write"),
    ("1\x07", "control character"),
    ("\x1b[31m1", "control character"),
    ("", "nothing typed"),
    ("[1, 2", "never closed"),
    ("[[1, 2], [3]]", "rows of"),
    ("2 3", "unexpected"),
    ("1; 2", "unexpected"),
])
def test_hostile_or_malformed_input_is_refused(typed: str, reason: str) -> None:
    with pytest.raises(TypedError, match=None) as err:
        parse(typed)
    assert reason in str(err.value), str(err.value)
