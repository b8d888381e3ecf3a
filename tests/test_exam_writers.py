"""Exam outputs are writers registered by name: a new one is registered without touching the
builder, ``--formats`` chooses them, and a name no writer has is refused before any work."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from dlexam.cli import main
from dlexam.exams.build import build_exam
from dlexam.exams.writers import WRITERS, Writer, register

SMALL = """
title = { en = "Quiz", zh-Hant = "小考" }
lang = "bilingual"

[[questions]]
id = "kl"
derivation = "information"
points = 4
ask = ["kl_pq"]
[questions.params]
base = "e"
"""


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def test_a_throwaway_writer(tmp_path: Path) -> None:
    exam = tmp_path / "exam.toml"
    exam.write_text(SMALL, encoding="utf-8")
    seen: list[int] = []

    def prepare(drawn: object, shared: dict[str, object]) -> list[str]:
        codes = [v.code for v in drawn.variants]  # type: ignore[attr-defined]
        seen.append(len(codes))
        return codes

    register(Writer("codes", "codes.txt: the variant codes", prepare,
                    lambda codes: {"codes.txt": "\n".join(codes).encode() + b"\n"}))
    try:
        report = build_exam(str(exam), 3, 5, tmp_path / "a", formats="json,codes")
    finally:
        del WRITERS["codes"]
    files = _files(tmp_path / "a")
    assert sorted(files) == ["codes.txt", "key.json"]
    assert seen == [3]
    assert files["codes.txt"].decode().split() == [v.code for v in report.drawn.variants]
    # the other writers' files are what they are without it
    build_exam(str(exam), 3, 5, tmp_path / "b", formats="json")
    assert _files(tmp_path / "b") == {"key.json": files["key.json"]}


def test_formats_choose_the_outputs(tmp_path: Path) -> None:
    exam = tmp_path / "exam.toml"
    exam.write_text(SMALL, encoding="utf-8")
    args = ["exam", str(exam), "--variants", "2", "--seed", "3", "--out"]
    assert main([*args, str(tmp_path / "a"), "--no-pdf"]) == 0
    assert main([*args, str(tmp_path / "b"), "--formats", "moodle,json"]) == 0
    assert main([*args, str(tmp_path / "c"), "--formats", "moodle"]) == 0
    assert _files(tmp_path / "a") == _files(tmp_path / "b")
    assert sorted(_files(tmp_path / "c")) == ["moodle.xml"]
    assert list(WRITERS) == ["papers", "keys", "json", "moodle"]


def test_an_unknown_format_is_refused(tmp_path: Path,
                                      input_error: Callable[[list[str]], str]) -> None:
    exam = tmp_path / "exam.toml"
    exam.write_text(SMALL, encoding="utf-8")
    message = input_error(["exam", str(exam), "--variants", "2", "--seed", "3", "--out",
                           str(tmp_path / "out"), "--formats", "json,pdf"])
    assert message.startswith("--formats: expected a comma-separated list of papers, keys, "
                              "json, moodle"), message
    assert "'pdf'" in message
    assert not (tmp_path / "out").exists()


def test_streamed_papers_and_keys_are_the_pdfs_of_their_source_compiled_from_a_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The papers' and keys' TeX read their source as it is rendered, the keys' variants by two
    forked workers (issue 27): the PDFs are byte for byte those of the whole source compiled
    from a file, the source that of the variants rendered one by one here."""
    from dlexam.build.tex import compile_pdf
    from dlexam.exams import papers, parallel

    exam = tmp_path / "exam.toml"
    exam.write_text(SMALL, encoding="utf-8")
    monkeypatch.setattr(parallel, "workers", lambda: 2)
    report = build_exam(str(exam), parallel.PARALLEL_FROM, 5, tmp_path / "a",
                        formats="papers,keys")
    monkeypatch.setattr(parallel, "workers", lambda: 1)
    files = _files(tmp_path / "a")
    texts: dict[tuple[str, str], dict[str, str]] = {}
    for kind in ("paper", "key"):
        source = papers.render_document(report.drawn, kind, texts)
        assert compile_pdf(source, f"{kind}s").pdf == files[f"{kind}s.pdf"]
    assert len(files) == 2 + 2 * parallel.PARALLEL_FROM
