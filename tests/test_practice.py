"""dlexam practice, driven through a real pseudo-terminal as a student would use it.

The values typed come from the NumPy reference on the sampled parameters."""

from __future__ import annotations

import json
import os
import pty
import select
import sys
import time

from reference import load

from dlexam import derivations

REFERENCE = load()["rnn-forward"]


class Terminal:
    """A program on a pty: type lines, read the screen's text until something appears."""

    def __init__(self, argv: list[str]) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: the program itself
            os.execv(argv[0], argv)
        self.screen = ""

    def read_until(self, text: str, limit: float = 60.0) -> str:
        end = time.monotonic() + limit  # a hung program fails the test; not a timing assertion
        while text not in self.screen:
            remaining = end - time.monotonic()
            assert remaining > 0, f"never saw {text!r}; screen:\n{self.screen}"
            ready, _, _ = select.select([self.fd], [], [], remaining)
            if ready:
                try:
                    chunk = os.read(self.fd, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                self.screen += chunk.decode("utf-8", "replace").replace("\r\n", "\n")
        assert text in self.screen, self.screen
        return self.screen

    def type(self, line: str) -> None:
        os.write(self.fd, (line + "\n").encode())

    def close(self) -> int:
        _, status = os.waitpid(self.pid, 0)
        os.close(self.fd)
        return os.waitstatus_to_exitcode(status)


def test_a_student_session() -> None:
    d = derivations.get("rnn-forward")
    params = d.shown_params(d.sample(11))
    right = REFERENCE(params, None)
    rows = REFERENCE(params, "row-convention")
    term = Terminal([sys.executable, "-m", "dlexam", "practice", "rnn-forward", "--seed", "11"])
    term.read_until("h[1] (a list of")
    assert "A simple RNN computes" in term.screen
    term.type(json.dumps([round(v, 4) for v in right["h"][0]]))
    term.read_until("✓ right")
    term.read_until("h[2] (a list of")
    term.type(json.dumps([round(v, 4) for v in rows["h"][1]]))  # the row convention's h_2
    screen = term.read_until("Try again")
    assert "Not right." in screen and "row convention" in screen
    assert "is what this mistake gives: row convention" in screen  # as check says it
    term.type("hint")
    screen = term.read_until("h_t = tanh(a_t)")
    assert "a_t = U*x_t + W*h_{t-1} + b" in screen  # what goes into tanh, not only tanh
    term.type("__import__('os')")  # refused, not counted as a try
    term.read_until("expected a number, list or expression")
    term.type("[9, 9]")
    screen = term.read_until("here is the worked step for h[2]")
    expected_h2 = f"{right['h'][1][0]:.6g}"
    term.read_until(f"h[2] = [{expected_h2}")
    term.type("quit")
    screen = term.read_until("Score: 1 of 2 answered right; not answered: 0 skipped,")
    assert term.close() == 1
