"""``dlexam grade``: read and check everything, grade, make every output, then write them."""

from __future__ import annotations

import time
from pathlib import Path

from dlexam.errors import BuildError, Said
from dlexam.grade.grading import grade
from dlexam.grade.key import load_key
from dlexam.grade.outputs import (
    CSV_NAME,
    JSON_NAME,
    PDF_NAME,
    grades_csv,
    grades_json,
    keep_failed_log,
    report_pdf,
    review_csv,
    write_outputs,
)
from dlexam.grade.overrides import read_overrides
from dlexam.grade.submissions import read_submissions
from dlexam.langs import langs_for


def _write_file(path: Path, data: bytes) -> None:
    """Writes a whole file or nothing (a temporary file beside it, then renamed)."""
    import os
    import tempfile

    folder = path.parent if str(path.parent) else Path(".")
    fd, temporary = tempfile.mkstemp(prefix=".review-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def run_grade(key_path: Path, submissions_path: Path, out: Path, lang: str = "bilingual",
              pdf: bool = True, review: Path | None = None,
              overrides: Path | None = None) -> str:
    """Grades the class and writes the outputs; returns a one-line summary.

    Raises:
        InputError: the key or the submissions are malformed (nothing is written).
        BuildError: TeX failed (nothing is written but the TeX log, ``report.log``).
    """
    start = time.perf_counter()
    key = load_key(key_path)
    submissions = read_submissions(submissions_path, key)
    decided = None
    if overrides is not None:
        decided = read_overrides(overrides, key, {s.student for s in submissions})
    grades = grade(key, submissions, decided)
    message_lang = langs_for(lang)[0]
    files = {CSV_NAME: grades_csv(grades), JSON_NAME: grades_json(grades, message_lang)}
    if pdf:
        try:
            files[PDF_NAME] = report_pdf(grades, lang)
        except BuildError as err:
            if err.log:
                log = keep_failed_log(out, err.log)
                raise BuildError(Said("grade.summary.failed_log", error=err.args[0] if err.args
                                      else str(err), log=str(log)), log=err.log) from None
            raise
    written = write_outputs(out, files)
    if review is not None:
        _write_file(review, review_csv(grades, message_lang))
        written.append(review)
    seconds = time.perf_counter() - start
    names = ", ".join(str(p) for p in written)
    return Said("grade.summary.graded", students=len(grades.students),
                seconds=f"{seconds:.2f}", files=names)
