"""SIGTERM and Ctrl-C during a build, and two builds into one folder.

A fake xelatex (tests/faketex.py) that waits stands in for a long TeX run, so that the signal
arrives while it runs, deterministically: the test waits for the fake to say it started.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import faketex
import pytest

# left out of the fast lane (make check): make test runs it
pytestmark = pytest.mark.slow

# bounds against a hung test, not timings under test
PATIENCE_S = 120

HANGS = r"""sleep 1000 &
echo $! >> "%(dir)s/pids"
touch "%(dir)s/started"
wait
"""

WAITS_FOR_RELEASE = r"""touch "%(dir)s/started-$$"
while [ ! -e "%(dir)s/release" ]; do sleep 0.05; done
""" + faketex.GOOD


def _until(what: Callable[[], bool], proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + PATIENCE_S
    while not what():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"dlexam ended early ({proc.returncode})")
        if time.monotonic() > deadline:
            raise AssertionError("gave up waiting")
        time.sleep(0.02)


def _described(pids: list[int]) -> list[str]:
    """Each live pid's command line and state, to tell a leaked fake TeX from a pid the
    system gave to another process since."""
    out = []
    for pid in pids:
        if faketex.alive(pid):
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
                state = next(line for line in Path(f"/proc/{pid}/status").read_text()
                             .splitlines() if line.startswith(("State", "PPid")))
            except (OSError, StopIteration):
                cmd, state = "?", "?"
            out.append(f"{pid}: {cmd.strip()} ({state})")
    return out


def _dlexam(args: list[str], tmpdir: Path, cwd: Path, stderr: int | object = subprocess.PIPE
            ) -> subprocess.Popen[bytes]:
    env = {**os.environ, "TMPDIR": str(tmpdir)}
    return subprocess.Popen([sys.executable, "-m", "dlexam", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=stderr)  # type: ignore[arg-type]


@pytest.mark.parametrize("sig,status", [(signal.SIGTERM, 143), (signal.SIGINT, 130),
                                        (signal.SIGHUP, 129)])
@pytest.mark.parametrize("command", ["sheet", "book"])
def test_a_signal_stops_tex_and_removes_its_folder(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   sig: signal.Signals, status: int,
                                                   command: str) -> None:
    bin_dir = faketex.install(tmp_path / "bin", monkeypatch, HANGS)
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    args = {"sheet": ["solve", "param-count", "model=LSTM(3)", "input_dim=1", "--pdf", "s.pdf"],
            "book": ["book", "--lang", "en", "--out", "out"]}[command]
    proc = _dlexam(args, tmpdir, tmp_path)
    try:
        _until(lambda: (bin_dir / "started").exists(), proc)
        assert [p.name[:11] for p in tmpdir.iterdir()] == ["dlexam-tex-"]
        pids = faketex.recorded_pids(bin_dir)
        assert len(pids) == 2 and all(faketex.alive(pid) for pid in pids)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=PATIENCE_S)
        assert proc.returncode == status, err
        assert b"Traceback" not in err
        # killed (SIGKILL to TeX's session): the kernel ends a process that was not scheduled
        # yet a moment later, so wait for it (a process left running fails after PATIENCE_S)
        try:
            _until(lambda: not [pid for pid in pids if faketex.alive(pid)])
        except AssertionError:  # say which process lives on (a leak, or a pid used again)
            raise AssertionError(f"still running: {_described(pids)}") from None
        assert list(tmpdir.iterdir()) == []
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
        for pid in faketex.recorded_pids(bin_dir):
            if faketex.alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_two_builds_into_one_folder_take_turns(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = faketex.install(tmp_path / "bin", monkeypatch, WAITS_FOR_RELEASE)
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    first = _dlexam(["book", "--lang", "en", "--out", "out"], tmpdir, tmp_path)
    second_err = tmp_path / "second.err"
    started = lambda: list(bin_dir.glob("started-*"))  # noqa: E731
    try:
        _until(lambda: len(started()) == 1, first)
        with open(second_err, "wb") as fh:
            second = _dlexam(["book", "--lang", "bilingual", "--out", "out"], tmpdir, tmp_path,
                             stderr=fh)
        try:
            # the second either waits for the first, or (without a lock) reaches TeX too
            _until(lambda: b"waiting" in second_err.read_bytes() or len(started()) > 1, second)
            assert second_err.read_bytes() == (
                b"dlexam: waiting for another build in out to finish\n")
            (bin_dir / "release").touch()
            first.communicate(timeout=PATIENCE_S)
            second.communicate(timeout=PATIENCE_S)
            assert (first.returncode, second.returncode) == (0, 0)
        finally:
            (bin_dir / "release").touch()
            if second.poll() is None:
                second.kill()
            second.communicate()
    finally:
        if first.poll() is None:
            first.kill()
        first.communicate()
    assert len(started()) == 2
    # the bilingual build came last: its .tex is beside its PDF and the cache says so
    tex = (tmp_path / "out" / "answer-book.tex").read_text("utf-8")
    assert any("\u4e00" <= ch <= "\u9fff" for ch in tex)
    again = _dlexam(["book", "--lang", "bilingual", "--out", "out"], tmpdir, tmp_path)
    out, _ = again.communicate(timeout=PATIENCE_S)
    assert again.returncode == 0 and b"unchanged, TeX not run" in out
    english = _dlexam(["book", "--lang", "en", "--out", "out"], tmpdir, tmp_path)
    out, _ = english.communicate(timeout=PATIENCE_S)
    assert english.returncode == 0 and b"TeX ran 1 pass" in out
