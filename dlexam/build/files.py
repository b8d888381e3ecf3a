"""Output files: their names, atomic writes, the build report and the content-hash cache.

Kept free of SymPy and templates, so the unchanged-rebuild shortcut can use it cheaply.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BOOK_NAME = "answer-book"
DEFAULT_EXAM = "final2023"


@dataclass(frozen=True)
class BuildReport:
    """What a build did."""

    pdf: Path
    tex: Path
    ran_tex: bool
    passes: int
    seconds: float


def atomic_write(path: Path, data: bytes) -> None:
    """Writes ``data`` to ``path`` so that readers see the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def content_key(source: str, **options: Any) -> str:
    """A hash of everything a PDF depends on: the LaTeX source and the build options."""
    h = hashlib.sha256()
    h.update(source.encode("utf-8"))
    h.update(json.dumps(options, sort_keys=True).encode("utf-8"))
    return h.hexdigest()


class BuildCache:
    """Remembers which content hash produced the PDF now at a path (``out/.cache/``)."""

    def __init__(self, out_dir: Path) -> None:
        self.dir = out_dir / ".cache"

    def _stamp(self, target: Path) -> Path:
        return self.dir / f"{target.name}.key"

    def is_fresh(self, target: Path, key: str) -> bool:
        """True when ``target`` exists, untouched, and was built from content with this key."""
        stamp = self._stamp(target)
        if not (target.exists() and stamp.exists()):
            return False
        want = f"{key} {hashlib.sha256(target.read_bytes()).hexdigest()}"
        return stamp.read_text().strip() == want

    def record(self, target: Path, key: str) -> None:
        """Records that ``target`` now holds the build of ``key``."""
        digest = hashlib.sha256(target.read_bytes()).hexdigest()
        atomic_write(self._stamp(target), f"{key} {digest}".encode())
