"""The answer book: exam file -> derivations -> templates -> LaTeX -> PDF under ``out/``.

:func:`render_book` is pure (derive and render, a string out); :func:`build_book` writes the
outputs atomically and runs TeX only when the content changed.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from dlexam import derivations, render
from dlexam.build.document import Fragment, assemble, fragment
from dlexam.build.files import (
    BOOK_NAME,
    DEFAULT_EXAM,
    BuildCache,
    BuildReport,
    content_key,
    file_digest,
    output_lock,
)
from dlexam.build.tex import TexRun, compile_pdf, keep_log
from dlexam.errors import BuildError
from dlexam.outfolder import replace_files


def book_sections_of(name: str = DEFAULT_EXAM) -> dict[str, Any]:
    """The book's sections, from the exam file's questions and its ``[book]`` layout."""
    from dlexam.book.sections import book_sections

    return book_sections(name)


def question_fragments(exam: dict[str, Any], langs: tuple[str, ...]) -> list[Fragment]:
    """Runs each question's derivations and renders its template."""
    parts: list[Fragment] = []
    labels = {name: q["label"] for name, q in exam.items() if q.get("label")}
    for qname, question in exam.items():
        results = {
            key: derivations.solve(spec["derivation"], spec.get("params", {}))
            for key, spec in question.get("results", {}).items()
        }
        parts.append(
            fragment(
                question["template"],
                langs=langs,
                question=qname,
                weight=question.get("weight"),
                label=question.get("label"),
                labels=labels,
                **results,
            )
        )
    return parts


# each heading writes "dlexam-page:<anchor>=<page>" to the log when its page is shipped out
_PAGE_MARK = re.compile(r"^dlexam-page:(?P<anchor>[^=\s]+)=(?P<page>\d+)$", re.MULTILINE)
# at most this many TeX passes to settle the contents' page numbers (normally one)
_PAGE_PASSES = 3


def contents_entries(exam: dict[str, Any]) -> list[tuple[str, str, int, Any]]:
    """The contents list: (anchor, catalog key of its heading, depth, the question's label
    or None) per entry.

    A question is an entry; its ``contents`` (catalog keys of its subsection headings, whose
    anchors are the keys with "-" for "." and "_", as the heading macro sets them) are entries
    one level down.
    """
    out: list[tuple[str, str, int, Any]] = []
    for name, question in exam.items():
        out.append((name, question["heading"], 0, question.get("label")))
        out += [(key.replace(".", "-").replace("_", "-"), key, 1, None)
                for key in question.get("contents", ())]
    return out


def shipped_pages(exam: str = DEFAULT_EXAM) -> dict[str, dict[str, int]]:
    """The contents' page numbers per language as the last committed build found them.

    They let one TeX pass typeset a contents list with page numbers; :func:`build_book` checks
    them against the pages TeX reports and runs another pass when they changed.
    """
    entry = resources.files("dlexam.exams").joinpath(f"{exam}.pages.json")
    if not entry.is_file():
        return {}
    return json.loads(entry.read_text("utf-8"))


def pages_from_log(log: str) -> dict[str, int]:
    """The page of every heading, as the TeX run wrote it to its log."""
    return {m["anchor"]: int(m["page"]) for m in _PAGE_MARK.finditer(log)}


def render_book(
    lang: str = "bilingual", exam: str = DEFAULT_EXAM, pages: Mapping[str, int] | None = None
) -> str:
    """The answer book's LaTeX source, standalone (plain ``xelatex`` compiles it).

    Args:
        lang: ``en``, ``zh-Hant`` or ``bilingual``.
        exam: the exam file's name.
        pages: the contents' page numbers by anchor; by default the shipped ones. An entry
            without a page is listed without one.
    """
    langs = render.langs_for(lang)
    questions = book_sections_of(exam)
    if pages is None:
        pages = shipped_pages(exam).get(lang, {})
    entries = contents_entries(questions)
    contents = [(anchor, key, label) for anchor, key, _depth, label in entries]
    depths = {anchor: depth for anchor, _key, depth, _label in entries}
    parts = [fragment("title.tex.j2", langs=langs, contents=contents, depths=depths,
                      pages=dict(pages))]
    parts += question_fragments(questions, langs)
    title = render.prose_text(langs[0], "book.title")
    return assemble(title, langs, parts)


def build_book(out_dir: Path, lang: str = "bilingual", exam: str = DEFAULT_EXAM) -> BuildReport:
    """Builds ``answer-book.pdf`` (and its ``.tex`` and ``.log``) in ``out_dir``.

    The PDF is replaced only by a complete, checked PDF; an unchanged source runs no TeX. The
    contents' page numbers come from the shipped table; when TeX puts a heading on another page,
    the book is typeset again with the pages it reported (a second pass, only then).

    Raises:
        BuildError: TeX is missing or failed; the previous PDF is left as it was.
    """
    start = time.perf_counter()
    questions = book_sections_of(exam)
    anchors = [anchor for anchor, _key, _depth, _label in contents_entries(questions)]

    def revise(source: str, run: TexRun) -> str | None:
        found = pages_from_log(run.log)
        used = dict(_used_pages(source))
        # only the entries the contents show a page for (sub-headings are listed without one):
        # comparing the others made every cold build render the whole book a second time
        wanted = {a: found[a] for a in anchors if a in found and a in used}
        if all(used.get(a) == p for a, p in wanted.items()):
            return None
        return render_book(lang, exam, pages=wanted)

    source = render_book(lang, exam)
    return write_pdf(out_dir, BOOK_NAME, source, start, revise=revise)


_CONTENTS_PAGE = re.compile(r"\\dlxcontentspage\{(?P<anchor>[^}]+)\}\{(?P<page>\d*)\}")


def _used_pages(source: str) -> list[tuple[str, int | None]]:
    """The page numbers a source's contents list shows, by anchor."""
    return [(m["anchor"], int(m["page"]) if m["page"] else None)
            for m in _CONTENTS_PAGE.finditer(source)]


def write_pdf(
    out_dir: Path,
    name: str,
    source: str,
    start: float | None = None,
    revise: Callable[[str, TexRun], str | None] | None = None,
) -> BuildReport:
    """Writes ``name.tex`` and, unless the cache has it already, compiles ``name.pdf``.

    The folder is locked while it is written; a failed run keeps its log as ``name.log``, and
    the error names it.

    Args:
        revise: given a source and its TeX run, a corrected source to typeset again (the
            contents' page numbers changed), or None when the run is final.
    """
    start = time.perf_counter() if start is None else start
    tex_path = out_dir / f"{name}.tex"
    pdf_path = out_dir / f"{name}.pdf"
    log_path = out_dir / f"{name}.log"
    with output_lock(out_dir):
        cache = BuildCache(out_dir)
        # the key of the source as rendered: it determines the final source and PDF
        key = content_key(source, engine="xelatex")
        if cache.is_fresh(pdf_path, key) and tex_path.exists():
            return BuildReport(pdf_path, tex_path, False, 0, time.perf_counter() - start)
        passes = 0
        for _ in range(_PAGE_PASSES):
            try:
                run = compile_pdf(source, jobname=name)
            except BuildError as err:
                raise keep_log(err, log_path) from None
            passes += run.passes
            revised = revise(source, run) if revise is not None else None
            if revised is None or revised == source:
                break
            source = revised
        data = source.encode("utf-8")
        outputs = {pdf_path.name: run.pdf, log_path.name: run.log.encode("utf-8")}
        if file_digest(tex_path) != hashlib.sha256(data).hexdigest():
            outputs[tex_path.name] = data
        replace_files(out_dir, outputs)  # together: never a .tex of one build beside another's PDF
        cache.record(pdf_path, key)
    return BuildReport(pdf_path, tex_path, True, passes, time.perf_counter() - start)
