"""`dlexam check --batch`: one verdict object a line, each naming its request's line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dlexam.cli import main

RIGHT_Y1 = "1.4588"  # the exam's y_1 (final2023.toml, Q4)


def _batch(tmp_path: Path, lines: list[str]) -> tuple[int, list[dict]]:
    path = tmp_path / "requests.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "dlexam", "check", "--batch", str(path)],
                          capture_output=True, text=True, timeout=120)
    assert done.stderr == ""
    return done.returncode, [json.loads(line) for line in done.stdout.splitlines()]


def test_every_object_names_its_line_and_blank_lines_are_skipped(tmp_path: Path) -> None:
    request = {"derivation": "rnn-forward", "params": {}, "answers": {"y[1]": RIGHT_Y1}}
    lines = [json.dumps(request), "", "{not json", json.dumps(
        {**request, "answers": {"y[2]": "__import__('os')"}}), json.dumps(
        {**request, "derivation": "no-such"}), json.dumps(request)]
    code, out = _batch(tmp_path, lines)
    assert code == 0  # every line was read
    assert [o["line"] for o in out] == [1, 3, 4, 5, 6]
    assert out[0]["correct"] == 1 and out[0]["total"] == 1 and "error" not in out[0]
    assert "error" in out[1] and "error" in out[2] and "error" in out[3]
    assert "y[2]" in out[2]["error"]
    assert out[4]["verdicts"] == out[0]["verdicts"]


def test_a_batch_verdict_is_what_check_json_prints(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """The same request three times (the shape planned from the second) and once alone."""
    answers = {"y[1]": RIGHT_Y1, "y[2]": "2.6704", "h[1]": "[0.964, 0.19]"}
    request = {"derivation": "rnn-forward", "params": {"x": [2, 3]}, "answers": answers}
    _code, out = _batch(tmp_path, [json.dumps(request)] * 3)
    argv = ["check", "rnn-forward", "x=[2,3]", "--json"]
    for ref, typed in answers.items():
        argv += ["-a", f"{ref}={typed}"]
    assert main(argv) == 1
    alone = json.loads(capsys.readouterr().out)
    for o in out:
        assert {k: v for k, v in o.items() if k != "line"} == alone
    assert alone["verdicts"][1]["mistake"]["id"] == "row-convention"
