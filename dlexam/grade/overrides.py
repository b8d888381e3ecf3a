"""An instructor's decisions on single answers (``dlexam grade --overrides FILE``) and the list
of answers that need one (``--review FILE``).

The overrides file is a CSV with the header ``student,item,points,note``: ``item`` is an answer
column of the submissions (``q4.y[2]``), ``points`` the points that answer earns (from 0 to its
share of the question's points), ``note`` why (kept in grades.json). Everything is checked
before any grading; an error names the file, the row and the column.

The review file lists, one per line, the answers that were unreadable or wrong without a named
mistake (student, item, text typed, reason): what an instructor reads before deciding.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

from dlexam.errors import InputError, Said
from dlexam.grade.key import Key
from dlexam.grade.submissions import csv_reason
from dlexam.notation.display import plain_number

MAX_BYTES = 4 * 1024 * 1024
MAX_ROWS = 100_000
MAX_NOTE_CHARS = 500
HEADER = ("student", "item", "points", "note")


@dataclass(frozen=True)
class Override:
    """One decision: ``student``'s answer ``item`` earns ``points`` (``note`` says why)."""

    row: int
    student: str
    item: str
    points: float
    note: str


def read_overrides(path: Path, key: Key, students: set[str]) -> dict[tuple[str, str], Override]:
    """The decisions by (student, item), checked against the key and the class.

    Raises:
        InputError: naming the file, row and column.
    """
    from dlexam.safeio import decode_utf8, read_file

    name = str(path)
    return parse_overrides(decode_utf8(read_file(path, MAX_BYTES, "CSV file"), name), key,
                           students, name)


def item_points(key: Key) -> dict[str, float]:
    """The points of each answer column: its question's points shared among its asked items
    (the largest over the variants)."""
    out: dict[str, float] = {}
    for variant in key.variants.values():
        for q in variant.questions:
            for item in q.asked:
                column = f"{q.id}.{item.ref}"
                out[column] = max(out.get(column, 0.0), q.points / len(q.asked))
    return out


def parse_overrides(text: str, key: Key, students: set[str],
                    name: str = "overrides") -> dict[tuple[str, str], Override]:
    """The decisions from CSV text (see :func:`read_overrides`).

    Raises:
        InputError: naming the file, row and column.
    """
    points_of = item_points(key)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    out: dict[tuple[str, str], Override] = {}
    row = 0
    try:
        for cells in reader:
            row += 1
            if row == 1:
                header = tuple(c.strip().lower() for c in cells)
                if header != HEADER:
                    raise InputError(f"{name}: row 1", Said("grade.errors.the_header",
                                                            header=",".join(HEADER)),
                                     ",".join(cells)[:60] or Said("grade.errors.empty_row"))
                continue
            if not any(c.strip() for c in cells):
                continue
            if len(out) >= MAX_ROWS:
                raise InputError(name, Said("grade.errors.at_most_decisions", n=f"{MAX_ROWS:,}"),
                                 Said("grade.errors.more_rows"))
            if len(cells) not in (3, 4):
                raise InputError(f"{name}: row {row}", Said("grade.errors.four_cells"),
                                 Said("grade.errors.cells", n=len(cells)))
            student, item, points_text = (c.strip() for c in cells[:3])
            note = cells[3].strip() if len(cells) == 4 else ""
            if student not in students:
                raise InputError(f"{name}: row {row}, column student",
                                 Said("grade.errors.a_student"), repr(student[:40]))
            if item not in points_of:
                sample = ", ".join(sorted(points_of)[:4])
                raise InputError(f"{name}: row {row}, column item",
                                 Said("grade.errors.answer_column", sample=sample),
                                 repr(item[:40]))
            try:
                points = float(points_text)
            except ValueError:
                points = math.nan
            if not math.isfinite(points) or not 0 <= points <= points_of[item] + 1e-9:
                raise InputError(f"{name}: row {row}, column points",
                                 Said("grade.errors.item_points",
                                      n=plain_number(points_of[item], "points")),
                                 repr(points_text[:40]))
            if len(note) > MAX_NOTE_CHARS:
                raise InputError(f"{name}: row {row}, column note",
                                 Said("errors.at_most_characters", n=MAX_NOTE_CHARS),
                                 f"{len(note):,}")
            if (student, item) in out:
                raise InputError(f"{name}: row {row}", Said("grade.errors.item_of_student_once"),
                                 Said("grade.errors.again_first",
                                      what=f"{item} / {student!r}", row=out[(student, item)].row))
            out[(student, item)] = Override(row, student, item, points, note)
    except csv.Error as err:
        raise InputError(f"{name}: row {row + 1}", Said("grade.errors.csv_row"),
                         csv_reason(err)) from None
    if row == 0:
        raise InputError(name, Said("grade.errors.the_header", header=",".join(HEADER)),
                         Said("grade.errors.empty_file"))
    return out
