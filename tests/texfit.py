"""What every PDF the suite builds is held to: TeX's own verdict (no ``Overfull \\hbox`` wider
than 1 pt in its log) and an independent one read from the pages (no word outside the text
block, from ``pdftotext -bbox``).

``tests/conftest.py`` points :data:`dlexam.build.tex.RECORD_ENV` at a folder, so every compile
(in the test's own process, a worker or a ``dlexam`` subprocess) leaves its log and PDF there,
and checks after each test the documents that test made.
"""

from __future__ import annotations

import html
import re
import subprocess
from pathlib import Path

TOLERANCE_PT = 1.0
"""How far a line may stick out (TeX points) before it is an overflow."""

_OVERFULL = re.compile(r"^Overfull \\hbox \((?P<width>[\d.]+)pt too wide\)(?P<where>.*)$", re.M)
_BLOCK = re.compile(r"dlexam-textblock: left=(?P<left>[\d.]+)pt width=(?P<width>[\d.]+)pt")
_WORD = re.compile(r'<word xMin="(?P<x0>[\d.]+)" yMin="(?P<y0>[\d.]+)" xMax="(?P<x1>[\d.]+)" '
                   r'yMax="(?P<y1>[\d.]+)">(?P<text>[^<]*)</word>')
# full-width punctuation: its glyph's ink fills one side of its em box, and xeCJK lets the
# blank side reach into the margin at a line's end (a closing mark) or start (an opening one);
# such a mark is allowed one em (TeX's own verdict on the line still holds)
_CLOSING = set("，。、；：！？）」』】》〉”’")
_OPENING = set("（「『【《〈“‘")
_PAGE = re.compile(r"<page ")
BP_PER_PT = 72 / 72.27


def overfull(log: str, tolerance: float = TOLERANCE_PT) -> list[str]:
    """The log's ``Overfull \\hbox`` messages wider than ``tolerance`` points, with the text
    TeX shows of the line (the next log line)."""
    lines = log.splitlines()
    out: list[str] = []
    for i, line in enumerate(lines):
        match = _OVERFULL.match(line)
        if match and float(match["width"]) > tolerance:
            shown = lines[i + 1].strip() if i + 1 < len(lines) else ""
            out.append(f"{match['width']}pt{match['where']}: {shown[:160]}")
    return out


def text_block(log: str) -> tuple[float, float] | None:
    """The text block's left edge and right edge (PDF points), as the document wrote them to
    its log, or None for a log without them (a stand-in xelatex)."""
    match = _BLOCK.search(log)
    if match is None:
        return None
    left = float(match["left"]) * BP_PER_PT
    return left, left + float(match["width"]) * BP_PER_PT


def outside(pdf: Path, block: tuple[float, float], tolerance: float = TOLERANCE_PT
            ) -> list[str]:
    """Every word of every page that starts left of the text block or ends right of it."""
    left, right = block
    xml = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True,
                         text=True, check=True).stdout
    out: list[str] = []
    for number, page in enumerate(_PAGE.split(xml)[1:], start=1):
        for word in _WORD.finditer(page):
            x0, x1 = float(word["x0"]), float(word["x1"])
            text = html.unescape(word["text"])
            em = float(word["y1"]) - float(word["y0"])  # the box: about 1 em high
            if text and text[0] in _OPENING:
                x0 += em
            if text and text[-1] in _CLOSING:
                x1 -= em
            if x0 < left - tolerance or x1 > right + tolerance:
                out.append(f"page {number}: {text!r} at x {x0:.1f}-"
                           f"{x1:.1f} (text block {left:.1f}-{right:.1f})")
    return out


def problems(log_path: Path) -> list[str]:
    """What is wrong with one recorded document (its log beside its PDF)."""
    log = log_path.read_text(encoding="utf-8", errors="replace")
    found = [f"overfull {line}" for line in overfull(log)]
    block = text_block(log)
    pdf = log_path.with_suffix(".pdf")
    if block is not None and pdf.exists():
        found += [f"off the text block: {line}" for line in outside(pdf, block)]
    return found
