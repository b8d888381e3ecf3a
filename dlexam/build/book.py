"""The answer book: exam file -> derivations -> templates -> LaTeX -> PDF under ``out/``.

:func:`render_book` is pure (derive and render, a string out); :func:`build_book` writes the
outputs atomically and runs TeX only when the content changed.
"""

from __future__ import annotations

import hashlib
import time
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from dlexam import derivations, templates
from dlexam.build.document import Fragment, assemble, fragment
from dlexam.build.files import (
    BOOK_NAME,
    DEFAULT_EXAM,
    BuildCache,
    BuildReport,
    atomic_write,
    content_key,
    file_digest,
    output_lock,
)
from dlexam.build.tex import compile_pdf, keep_log
from dlexam.errors import BuildError


def load_exam(name: str = DEFAULT_EXAM) -> dict[str, Any]:
    """The exam description (questions, their derivations and numbers) shipped with dlexam."""
    raw = resources.files("dlexam.exams").joinpath(f"{name}.toml").read_text("utf-8")
    return tomllib.loads(raw)


def question_fragments(exam: dict[str, Any], langs: tuple[str, ...]) -> list[Fragment]:
    """Runs each question's derivations and renders its template."""
    parts: list[Fragment] = []
    for qname, question in exam.items():
        results = {
            key: derivations.solve(spec["derivation"], spec.get("params", {}))
            for key, spec in question.get("results", {}).items()
        }
        parts.append(
            fragment(
                question["template"],
                packages=question.get("packages", ()),
                langs=langs,
                question=qname,
                weight=question.get("weight"),
                **results,
            )
        )
    return parts


def render_book(lang: str = "bilingual", exam: str = DEFAULT_EXAM) -> str:
    """The answer book's LaTeX source, standalone (plain ``xelatex`` compiles it)."""
    langs = templates.langs_for(lang)
    questions = load_exam(exam)
    contents = [(name, f"{name}.heading") for name in questions]
    parts = [fragment("title.tex.j2", langs=langs, contents=contents)]
    parts += question_fragments(questions, langs)
    title = templates.prose_text(langs[0], "book.title")
    return assemble(title, langs, parts)


def build_book(out_dir: Path, lang: str = "bilingual", exam: str = DEFAULT_EXAM) -> BuildReport:
    """Builds ``answer-book.pdf`` (and its ``.tex`` and ``.log``) in ``out_dir``.

    The PDF is replaced only by a complete, checked PDF; an unchanged source runs no TeX.

    Raises:
        BuildError: TeX is missing or failed; the previous PDF is left as it was.
    """
    start = time.perf_counter()
    source = render_book(lang, exam)
    return write_pdf(out_dir, BOOK_NAME, source, start)


def write_pdf(out_dir: Path, name: str, source: str, start: float | None = None) -> BuildReport:
    """Writes ``name.tex`` and, unless the cache has it already, compiles ``name.pdf``.

    The folder is locked while it is written; a failed run keeps its log as ``name.log``, and
    the error names it.

    Raises:
        BuildError: TeX failed; the previous PDF is left as it was.
    """
    start = time.perf_counter() if start is None else start
    tex_path = out_dir / f"{name}.tex"
    pdf_path = out_dir / f"{name}.pdf"
    log_path = out_dir / f"{name}.log"
    data = source.encode("utf-8")
    with output_lock(out_dir):
        if file_digest(tex_path) != hashlib.sha256(data).hexdigest():
            atomic_write(tex_path, data)
        cache = BuildCache(out_dir)
        key = content_key(source, engine="xelatex")
        if cache.is_fresh(pdf_path, key):
            return BuildReport(pdf_path, tex_path, False, 0, time.perf_counter() - start)
        try:
            run = compile_pdf(source, jobname=name)
        except BuildError as err:
            raise keep_log(err, log_path) from None
        atomic_write(pdf_path, run.pdf)
        atomic_write(log_path, run.log.encode("utf-8"))
        cache.record(pdf_path, key)
    return BuildReport(pdf_path, tex_path, True, run.passes, time.perf_counter() - start)
