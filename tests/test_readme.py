"""The README stays true: every example in its table of derivations runs and answers."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from dlexam import derivations
from dlexam.cli import main

README = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
ROWS = re.findall(r"^\| `([a-z-]+)` \| [\w ]+ \| `([^`]+)`", README, re.M)


def test_the_table_lists_every_derivation() -> None:
    assert sorted(name for name, _ in ROWS) == derivations.names()


@pytest.mark.parametrize(("name", "example"), ROWS)
def test_example_runs(capsys: pytest.CaptureFixture[str], name: str, example: str) -> None:
    argv = shlex.split(example)
    assert argv[0] == name
    assert main(["solve", *argv, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["derivation"] == name and data["answers"]


def test_the_check_session_is_what_check_prints(capsys: pytest.CaptureFixture[str]) -> None:
    section = README.split("## Checking your own derivation", 1)[1].split("\n## ", 1)[0]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    command, *shown = block.split("\n$ ")[0].splitlines()
    argv = shlex.split(command.removeprefix("$ .venv/bin/dlexam "))
    assert main(argv) == 1
    printed = capsys.readouterr().out.splitlines()
    for line in shown:
        if "..." in line:  # shortened in the README: its start must be printed
            start = line.split("...", 1)[0]
            assert any(p.startswith(start) for p in printed), line
        else:
            assert line in printed, line
