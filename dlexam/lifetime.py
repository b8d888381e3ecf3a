"""Children die with their parent: TeX runs and forked workers never outlive dlexam.

A child asks Linux to kill it when its parent dies (``prctl(PR_SET_PDEATHSIG)``, through ctypes;
a check of ``getppid()`` closes the race with a parent that died first), so even a parent killed
by SIGKILL leaves no xelatex and no exam worker behind. Forked workers also leave SIGTERM and
SIGHUP to their default (they die) and ignore SIGINT (Ctrl-C reaches the whole terminal group:
the parent alone unwinds and stops them), so a signal never prints a worker's traceback.

Only the standard library: this is the lowest layer.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int, sig: int = signal.SIGKILL) -> None:
    """In a child: be sent ``sig`` when the parent process ``parent`` dies (Linux; elsewhere
    nothing). Exits at once when the parent is already gone."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
        except (OSError, AttributeError):  # pragma: no cover - no libc prctl
            pass
    if os.getppid() != parent:
        os._exit(1)


def child_preexec(parent: int) -> None:
    """``preexec_fn`` of a TeX run (runs in the forked child, before exec)."""
    die_with_parent(parent)


def worker_init(parent: int) -> None:
    """Initializer of a forked worker: it dies with its parent and on SIGTERM/SIGHUP, and
    leaves Ctrl-C to the parent."""
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent(parent)
