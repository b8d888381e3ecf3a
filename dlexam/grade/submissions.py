"""The class's submissions: a CSV of what each student typed, read defensively.

The header row holds ``student``, ``variant`` and one column per asked answer, named
``<question id>.<answer as in ask>`` (``q4.y[2]``). Everything is checked before any grading:
the encoding (UTF-8, with or without a byte-order mark), the size (at most
:data:`MAX_STUDENTS` students, :data:`MAX_BYTES` bytes), the header (no column the key does not
know, none twice), every row (a known variant code, each student once, no cells past the
header). An answer cell longer than :data:`MAX_CELL_CHARS` is not read: it scores zero with the
reason recorded, like any cell the parser refuses.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from dlexam.errors import InputError, Said
from dlexam.grade.key import Key

MAX_BYTES = 64 * 1024 * 1024
"""The largest submissions file read."""
MAX_STUDENTS = 10_000
"""The most students graded in one run (a class, or a whole course's sections together)."""
MAX_CELL_CHARS = 2_000
"""An answer cell longer than this is not parsed: it scores zero, the reason recorded."""
MAX_NAME_CHARS = 200
"""The longest student name or variant code."""

STUDENT = "student"
VARIANT = "variant"


@dataclass(frozen=True)
class Submission:
    """One student's row: who, which variant, and the cell of each answer column."""

    row: int  # the row in the file, the header being row 1
    student: str
    variant: str
    cells: dict[str, str]  # column -> what was typed (empty when nothing was)


def _short(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


_CSV_REASONS = {"field larger than field limit": "field_limit", "line contains NUL": "nul",
                "new-line character seen in unquoted field": "newline",
                "unexpected end of data": "end_of_data"}


def csv_reason(err: Exception) -> str | Said:
    """Why Python's csv reader refused a row, said from the catalogs when it is one of the
    reader's known messages (else its own words)."""
    text = str(err).rstrip(".")
    for start, key in _CSV_REASONS.items():
        if text.startswith(start):
            return Said(f"grade.csv.{key}")
    return text


def _decode(raw: bytes, name: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[:err.start].count(b"\n") + 1
        raise InputError(f"{name}: line {line}", Said("grade.errors.utf8"),
                         Said("grade.errors.byte", byte=f"0x{raw[err.start]:02x}")) from None


def read_submissions(path: Path, key: Key) -> list[Submission]:
    """Every student's row, checked against the key.

    Raises:
        InputError: naming the file, and the row and column where there is one.
    """
    from dlexam.safeio import read_file

    name = str(path)
    raw = read_file(path, MAX_BYTES, "CSV file")
    return parse_submissions(_decode(raw, name), key, name)


def parse_submissions(text: str, key: Key, name: str = "submissions") -> list[Submission]:
    """Rows from CSV text (see :func:`read_submissions`).

    Raises:
        InputError: naming the file, row and column.
    """
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    known = set(key.columns)
    header: list[str] | None = None
    out: list[Submission] = []
    seen: dict[str, int] = {}
    row = 0
    try:
        for cells in reader:
            row += 1
            if header is None:
                header = _header(cells, known, name)
                continue
            if not any(c.strip() for c in cells):
                continue  # a blank line
            if len(out) >= MAX_STUDENTS:
                raise InputError(name, Said("grade.errors.at_most_students",
                                            n=f"{MAX_STUDENTS:,}"), Said("grade.errors.more_rows"))
            out.append(_row(cells, header, row, key, seen, name))
    except csv.Error as err:
        raise InputError(f"{name}: row {row + 1}", Said("grade.errors.csv_row"),
                         csv_reason(err)) from None
    if header is None:
        raise InputError(name, Said("grade.errors.header"), Said("grade.errors.empty_file"))
    if not out:
        raise InputError(name, Said("grade.errors.one_student"), Said("grade.errors.only_header"))
    return out


def _header(cells: list[str], known: set[str], name: str) -> list[str]:
    header = [c.strip() for c in cells]
    for k, column in enumerate(header, start=1):
        where = f"{name}: row 1, column {k}"
        if not column:
            raise InputError(where, Said("grade.errors.column_name"),
                             Said("grade.errors.empty_one"))
        if column in header[:k - 1]:
            raise InputError(where, Said("grade.errors.column_once"),
                             Said("grade.errors.again", what=_short(column)))
        if column not in known and column not in (STUDENT, VARIANT):
            sample = ", ".join(sorted(known)[:4])
            raise InputError(where, Said("grade.errors.column_known", sample=sample),
                             Said("grade.errors.not_asked", column=_short(column)))
    for needed in (STUDENT, VARIANT):
        if needed not in header:
            raise InputError(f"{name}: row 1", Said("grade.errors.column_called", name=needed),
                             Said("exam.errors.none"))
    return header


def _row(cells: list[str], header: list[str], row: int, key: Key, seen: dict[str, int],
         name: str) -> Submission:
    if len(cells) > len(header):
        extra = len(header) + 1
        raise InputError(f"{name}: row {row}, column {extra}",
                         Said("grade.errors.at_most_cells", n=len(header)), f"{len(cells)}")
    values = dict(zip(header, cells, strict=False))
    student = values.get(STUDENT, "").strip()
    variant = values.get(VARIANT, "").strip()
    if not student:
        raise InputError(f"{name}: row {row}, column {STUDENT}", Said("grade.errors.student"),
                         Said("grade.errors.empty_cell"))
    if len(student) > MAX_NAME_CHARS:
        raise InputError(f"{name}: row {row}, column {STUDENT}",
                         Said("errors.at_most_characters", n=MAX_NAME_CHARS), f"{len(student):,}")
    if student in seen:
        raise InputError(f"{name}: row {row}, column {STUDENT}", Said("grade.errors.student_once"),
                         Said("grade.errors.again_first", what=_short(student),
                              row=seen[student]))
    seen[student] = row
    if variant not in key.variants:  # a code in another case (q1a for Q1A), when unambiguous
        same = [code for code in key.variants if code.casefold() == variant.casefold()]
        if len(same) == 1:
            variant = same[0]
    if variant not in key.variants:
        codes = ", ".join(list(key.variants)[:5]) + (", ..." if len(key.variants) > 5 else "")
        raise InputError(f"{name}: row {row}, column {VARIANT}",
                         Said("grade.errors.variant_of_key", codes=codes),
                         _short(variant[:MAX_NAME_CHARS]))
    answers = {c: v for c, v in values.items() if c not in (STUDENT, VARIANT)}
    return Submission(row, student, variant, answers)
