"""The command line: JSON output, value parsing, and bad input (exit 2, one line, no traceback)."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal

import pytest

from dlexam.cli import main, parse_value

EXAM = ["model=LSTM(30, return_sequences=True), LSTM(30), Dense(1)", "input_dim=1"]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_solve_json_shape(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "solve", "param-count", *EXAM, "framework=keras", "--json")
    assert code == 0
    data = json.loads(out)
    assert set(data) >= {"derivation", "params", "answers", "steps"}
    assert data["derivation"] == "param-count"
    assert data["answers"]["layers"] == [3840, 7320, 31]
    assert data["answers"]["total"] == 11191
    assert isinstance(data["answers"]["total"], int)
    assert data["params"]["framework"] == "keras"
    assert data["steps"][0]["substituted"] == "4*30*(30 + 1 + 1)"


def test_solve_json_pytorch(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "solve", "param-count", *EXAM, "framework=pytorch", "--json")
    assert code == 0
    assert json.loads(out)["answers"]["layers"] == [3960, 7440, 31]


@pytest.mark.parametrize("lang,phrase", [("en", "Answers"), ("zh-Hant", "答案")])
def test_solve_reads_in_both_languages(capsys: pytest.CaptureFixture[str], lang: str,
                                       phrase: str) -> None:
    code, out, _ = run(capsys, "solve", "param-count", *EXAM, "--lang", lang)
    assert code == 0
    assert phrase in out
    assert "4*30*(30 + 1 + 1) = 3840" in out


@pytest.mark.parametrize(
    "argv,param",
    [
        (["model=LSTM(0)", "input_dim=1"], "model"),
        (["model=Conv2D(3)", "input_dim=1"], "model"),
        (["model=LSTM(3, units_typo=2)", "input_dim=1"], "model"),
        (["model=LSTM(3"], "model"),
        (["model=LSTM(3)"], "input_dim"),
        (["model=LSTM(3)", "input_dim=-2"], "input_dim"),
        (["model=LSTM(3)", "input_dim=1.5"], "input_dim"),
        (["model=LSTM(3)", "input_dim=[1,"], "input_dim"),
        (["model=LSTM(3)", "input_dim=1", "framework=jax"], "framework"),
        (["model=GRU(3, reset_after=False)", "input_dim=1", "framework=pytorch"], "model"),
        (["model=LSTM(3)", "input_dim=1", "colour=red"], "colour"),
        (["model=__import__('os').system('true')", "input_dim=1"], "model"),
        (["model=[1, 2]", "input_dim=1"], "model"),
    ],
)
def test_bad_input_one_line_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str],
                                   param: str) -> None:
    code, out, err = run(capsys, "solve", "param-count", *argv)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"dlexam: error: {param}: expected ")
    assert "Traceback" not in err


def test_unknown_derivation_lists_known(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "solve", "no-such-thing")
    assert code == 2
    assert "param-count" in err
    assert "no-such-thing" in err


def test_list_names_derivations(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "list")
    assert code == 0
    assert "param-count" in out


@pytest.mark.parametrize(
    "text,value",
    [
        ("3", 3),
        ("0.1", Decimal("0.1")),
        ("[1, 2]", [1, 2]),
        ("[[0.5, 1], [2, 3]]", [[Decimal("0.5"), 1], [2, 3]]),
        ("keras", "keras"),
        ('"quoted"', "quoted"),
        ("true", True),
        ("LSTM(30), Dense(1)", "LSTM(30), Dense(1)"),
    ],
)
def test_parse_value(text: str, value: object) -> None:
    assert parse_value("k", text) == value


def test_module_entry_point_exit_status() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "dlexam", "solve", "param-count", "model=LSTM(-1)", "input_dim=1"],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("dlexam: error: model:")
    assert "Traceback" not in proc.stderr
