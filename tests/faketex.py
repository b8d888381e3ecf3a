"""A stand-in ``xelatex`` for tests of what dlexam does around TeX (signals, locks, bad PDFs).

It is a shell script put first on PATH; what it does is chosen per test. It records its PID (and
its child's) in ``pids`` and touches ``started`` in its folder once running.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

HEADER = r"""#!/bin/sh
job=document
for a; do case "$a" in -jobname=*) job="${a#-jobname=}";; esac; done
echo $$ >> "%(dir)s/pids"
"""

# a PDF that opens: one blank page (written by pypdf, an independent writer)
GOOD = 'cp "%(dir)s/good.pdf" "$job.pdf"; echo "fake xelatex: Output written" > "$job.log"\n'


def install(bin_dir: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> Path:
    """Writes the fake xelatex running ``body`` into ``bin_dir`` and puts it first on PATH."""
    from pypdf import PdfWriter

    bin_dir.mkdir(parents=True, exist_ok=True)
    writer = PdfWriter()
    writer.add_blank_page(width=72, height=72)
    with open(bin_dir / "good.pdf", "wb") as fh:
        writer.write(fh)
    script = bin_dir / "xelatex"
    script.write_text((HEADER + body) % {"dir": bin_dir})
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return bin_dir


def alive(pid: int) -> bool:
    """True when ``pid`` is a process that has not ended (a zombie has ended)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "State:\tZ" not in status and "State:\tX" not in status


def recorded_pids(bin_dir: Path) -> list[int]:
    """The PIDs the fake and its children wrote down."""
    path = bin_dir / "pids"
    return [int(x) for x in path.read_text().split()] if path.exists() else []
