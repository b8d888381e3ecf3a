"""One list of Debian packages: the set-up script, the install hint and the README agree."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from dlexam.build.tex import INSTALL_HINT, system_packages

ROOT = Path(__file__).parents[1]
SCRIPT = ROOT / "scripts" / "ensure-system.sh"
LIST = ROOT / "dlexam" / "system-packages.txt"
PREFIX = "apt-get install --no-install-recommends "


def test_the_list_holds_debian_package_names_once_each() -> None:
    packages = system_packages()
    assert packages, "dlexam/system-packages.txt lists no package"
    assert len(set(packages)) == len(packages)
    for name in packages:
        assert re.fullmatch(r"[a-z0-9][a-z0-9+.-]+", name), name


def test_the_list_has_what_the_checks_call() -> None:
    # fc-list (fontconfig) was missing once: only a Recommends of fonts-noto-cjk, never installed
    # with --no-install-recommends
    assert {"fontconfig", "poppler-utils", "python3-venv", "texlive-binaries"} <= set(
        system_packages()
    )


def test_the_script_installs_exactly_the_list() -> None:
    printed = subprocess.run(
        ["bash", str(SCRIPT), "--print-packages"], capture_output=True, text=True, check=True
    ).stdout.split()
    assert tuple(printed) == system_packages()


def test_the_script_hard_codes_no_package() -> None:
    code = "\n".join(
        line.split("#", 1)[0] for line in SCRIPT.read_text(encoding="utf-8").splitlines()
    )
    assert "system-packages.txt" in code
    for name in system_packages():
        assert not re.search(rf"(?<![\w.-]){re.escape(name)}(?![\w.-])", code), name


def test_the_install_hint_is_the_list() -> None:
    assert INSTALL_HINT.startswith(PREFIX)
    assert tuple(INSTALL_HINT.removeprefix(PREFIX).split()) == system_packages()


def test_the_readme_gives_the_install_command() -> None:
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert INSTALL_HINT in readme


def test_the_list_ships_with_the_package() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'^"dlexam" = \[[^]]*"system-packages\.txt"', pyproject, re.M)
    assert LIST.is_file()
