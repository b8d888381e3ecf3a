"""The README stays true: every example in its table of derivations runs and answers.

The table need not list every derivation (adding one touches its module, its two catalogs and
its tests, nothing else): `dlexam list` is the full list, and the README says so. What the
table does list must be true: a registered name, once, with an example that runs.
"""

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


def table_problems(readme: str, names: list[str]) -> list[str]:
    """What is wrong with the README's table of derivations, given the registered names: rows
    naming no derivation, repeated rows, no rows at all, or no pointer to `dlexam list`."""
    rows = [name for name, _ in re.findall(r"^\| `([a-z-]+)` \| [\w ]+ \| `([^`]+)`", readme,
                                           re.M)]
    problems = [f"{name}: not a registered derivation" for name in rows if name not in names]
    problems += [f"{name}: listed twice" for name in sorted(set(rows)) if rows.count(name) > 1]
    if not rows:
        problems.append("no table of derivations")
    section = readme.split("### The derivations", 1)[-1].split("\n#", 1)[0]
    if "`dlexam list` prints them" not in section:
        problems.append("the table does not name `dlexam list` as the full list")
    return problems


def test_the_table_names_registered_derivations_and_the_full_list() -> None:
    assert table_problems(README, derivations.names()) == []


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
