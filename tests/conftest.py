"""Shared test set-up: Keras runs on the torch backend (the CPU build the test extra installs)."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")


@pytest.fixture
def input_error(capsys: pytest.CaptureFixture[str]) -> Callable[[list[str]], str]:
    """Runs the CLI expecting bad input: exit status 2, nothing on stdout, one line on stderr
    and no traceback. Returns that line without its ``dlexam: error: `` prefix."""
    from dlexam.cli import main

    def run(argv: list[str]) -> str:
        code = main(argv)
        out, err = capsys.readouterr()
        assert code == 2, (code, out, err)
        assert out == ""
        assert err.count("\n") == 1 and err.endswith("\n"), err
        assert "Traceback" not in err
        assert err.startswith("dlexam: error: "), err
        return err.removeprefix("dlexam: error: ").rstrip("\n")

    return run
