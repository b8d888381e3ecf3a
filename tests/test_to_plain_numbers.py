"""Parameters echoed in JSON stay numbers when the command line parsed them as Decimals."""

from __future__ import annotations

import json
from decimal import Decimal
from fractions import Fraction

import pytest

from dlexam.cli import main
from dlexam.derivations.core import to_plain


def test_decimals_and_fractions_become_numbers() -> None:
    assert to_plain([Decimal("0.5"), Decimal("2"), Fraction(1, 4)]) == [0.5, 2, 0.25]
    assert isinstance(to_plain(Decimal("2")), int)


def test_solve_echoes_decimal_params_as_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["solve", "self-attention", "scores=[112,96.5]", "d_k=64", "--json"]) == 0
    params = json.loads(capsys.readouterr().out)["params"]
    assert params["scores"] == [112, 96.5]
