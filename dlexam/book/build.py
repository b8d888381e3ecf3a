"""The answer book: exam file -> derivations -> templates -> LaTeX -> PDF under ``out/``.

:func:`render_book` is pure (derive and render, a string out); :func:`build_book` writes the
outputs atomically and runs TeX only when the content changed.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Iterator, Mapping
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dlexam.build.document import document_start, template_packages
from dlexam.build.files import (
    BOOK_NAME,
    DEFAULT_EXAM,
    BuildCache,
    BuildReport,
    content_key,
    file_digest,
    output_lock,
)
from dlexam.build.tex import TexRun, TexStream, compile_pdf, keep_log
from dlexam.errors import BuildError
from dlexam.outfolder import replace_files

if TYPE_CHECKING:
    from dlexam.build.document import Fragment

# SymPy, the derivations and the templates are imported where they are used: a cold build
# starts TeX (which loads its format, packages and fonts meanwhile) before importing them.


def book_sections_of(name: str = DEFAULT_EXAM) -> dict[str, Any]:
    """The book's sections, from the exam file's questions and its ``[book]`` layout."""
    from dlexam.book.sections import book_sections

    return book_sections(name)


def question_fragments(exam: dict[str, Any], langs: tuple[str, ...]) -> list[Fragment]:
    """Runs each question's derivations and renders its template."""
    labels = _labels(exam)
    return [section_fragment(qname, question, langs, labels) for qname, question in exam.items()]


def _labels(exam: dict[str, Any]) -> dict[str, Any]:
    return {name: q["label"] for name, q in exam.items() if q.get("label")}


def section_fragment(qname: str, question: dict[str, Any], langs: tuple[str, ...],
                     labels: dict[str, Any]) -> Fragment:
    """One section of the book: its derivations run, its template rendered."""
    from dlexam import derivations
    from dlexam.build.document import fragment

    results = {
        key: derivations.solve(spec["derivation"], {
            name: _in_langs(value, langs) for name, value in spec.get("params", {}).items()})
        for key, spec in question.get("results", {}).items()
    }
    return fragment(
        question["template"],
        langs=langs,
        question=qname,
        weight=question.get("weight"),
        label=question.get("label"),
        labels=labels,
        **results,
    )


def _in_langs(value: Any, langs: tuple[str, ...]) -> Any:
    """A book parameter given per language (``{ en = "湯姆", zh-Hans = "汤姆" }``: words the
    book shows once, an example's tokens): the value of the last of the book's languages it
    names (the Chinese of a bilingual book), else its first; any other value as it is."""
    from dlexam.langs import codes

    if not (isinstance(value, dict) and value and set(value) <= set(codes())):
        return value
    return next((value[code] for code in reversed(langs) if code in value),
                next(iter(value.values())))


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
    return "".join(book_pieces(lang, exam, pages))


def book_pieces(
    lang: str = "bilingual",
    exam: str = DEFAULT_EXAM,
    pages: Mapping[str, int] | None = None,
    sections: dict[str, Any] | None = None,
) -> Iterator[str]:
    """:func:`render_book`'s source in pieces, each made when asked for: first the preamble and
    the title page (before any derivation runs), then one section at a time.

    Args:
        sections: the exam's :func:`book_sections_of`, when the caller has read them already.
    """
    from dlexam import render
    from dlexam.build.document import assemble_around, fragment

    langs = render.langs_for(lang)
    questions = book_sections_of(exam) if sections is None else sections
    if pages is None:
        pages = shipped_pages(exam).get(lang, {})
    entries = contents_entries(questions)
    contents = [(anchor, key, label) for anchor, key, _depth, label in entries]
    depths = {anchor: depth for anchor, _key, depth, _label in entries}
    title_page = fragment("title.tex.j2", langs=langs, contents=contents, depths=depths,
                          pages=dict(pages))
    title = render.prose_text(langs[0], "book.title")
    glue = assemble_around(title, langs, [title_page],
                           [template_packages(q["template"]) for q in questions.values()])
    yield glue[0]
    labels = _labels(questions)
    for (qname, question), after in zip(questions.items(), glue[1:], strict=True):
        yield section_fragment(qname, question, langs, labels).dumps() + after


def build_book(out_dir: Path, lang: str = "bilingual", exam: str = DEFAULT_EXAM) -> BuildReport:
    """Builds ``answer-book.pdf`` (and its ``.tex`` and ``.log``) in ``out_dir``.

    The PDF is replaced only by a complete, checked PDF; an unchanged source runs no TeX. The
    contents' page numbers come from the shipped table; when TeX puts a heading on another page,
    the book is typeset again with the pages it reported (a second pass, only then).

    Into a folder without a PDF of an earlier build (a cold build), TeX starts at once and
    reads the source as it is made (:class:`~dlexam.build.tex.TexStream`): it loads its
    packages and fonts while SymPy is imported and typesets a section while the next is
    derived. Otherwise the whole source is made first, so that one the cache has already
    typeset runs no TeX.

    Raises:
        BuildError: TeX is missing or failed; the previous PDF is left as it was.
    """
    start = time.perf_counter()
    with output_lock(out_dir):
        pdf_path = out_dir / f"{BOOK_NAME}.pdf"
        if BuildCache(out_dir).holds_a_build(pdf_path):
            sections = book_sections_of(exam)
            source = "".join(book_pieces(lang, exam, sections=sections))
            return write_pdf(out_dir, BOOK_NAME, source, start,
                             revise=_reviser(lang, exam, sections))
        packages = _expected_packages(exam)
        with TexStream(BOOK_NAME) as stream:  # TeX starts on its format meanwhile
            # and on the class and packages while SymPy is imported
            start_text = "" if packages is None else document_start(packages)
            stream.write(start_text)
            sections = book_sections_of(exam)
            pieces = book_pieces(lang, exam, sections=sections)
            head = next(pieces)
            if not head.startswith(start_text):  # never so far: typeset from the whole source
                stream.abort()
                source = head + "".join(pieces)
                return write_pdf(out_dir, BOOK_NAME, source, start,
                                 revise=_reviser(lang, exam, sections))
            stream.write(head[len(start_text):])
            for piece in pieces:
                if stream.failed():  # it says why below
                    break
                stream.write(piece)
            try:
                run = stream.finish()
            except BuildError as err:
                raise keep_log(err, out_dir / f"{BOOK_NAME}.log") from None
        return settle_pdf(out_dir, BOOK_NAME, stream.source, run, start,
                          revise=_reviser(lang, exam, sections))


def _expected_packages(exam: str) -> list[tuple[str, ...]] | None:
    """The packages of the title page and of each section a built-in exam's ``[book]`` layout
    names, read from the file without checking it (nor importing SymPy); None when the layout
    cannot be read so simply. A guess: the build checks the source it makes begins with it."""
    import tomllib

    try:
        book = tomllib.loads(resources.files("dlexam.exams").joinpath(f"{exam}.toml")
                             .read_text("utf-8"))["book"]
        templates = ["title.tex.j2", *(book[name]["template"] for name in book["order"])]
        return [template_packages(template) for template in templates]
    except (OSError, KeyError, TypeError, ValueError):  # not found, not such a table
        return None


def _reviser(lang: str, exam: str, sections: dict[str, Any]) -> Callable[[str, TexRun], str | None]:
    """The book's source again with the pages a TeX run found, or None when they are the ones
    its contents list shows."""
    anchors = [anchor for anchor, _key, _depth, _label in contents_entries(sections)]

    def revise(source: str, run: TexRun) -> str | None:
        found = pages_from_log(run.log)
        used = dict(_used_pages(source))
        # only the entries the contents show a page for (sub-headings are listed without one):
        # comparing the others made every cold build render the whole book a second time
        wanted = {a: found[a] for a in anchors if a in found and a in used}
        if all(used.get(a) == p for a, p in wanted.items()):
            return None
        return render_book(lang, exam, pages=wanted)

    return revise


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
    with output_lock(out_dir):
        # the key of the source as rendered: it determines the final source and PDF
        if BuildCache(out_dir).is_fresh(pdf_path, content_key(source, engine="xelatex")) \
                and tex_path.exists():
            return BuildReport(pdf_path, tex_path, False, 0, time.perf_counter() - start)
        return settle_pdf(out_dir, name, source, _compile(out_dir, name, source), start, revise)


def _compile(out_dir: Path, name: str, source: str) -> TexRun:
    try:
        return compile_pdf(source, jobname=name)
    except BuildError as err:
        raise keep_log(err, out_dir / f"{name}.log") from None


def settle_pdf(
    out_dir: Path,
    name: str,
    source: str,
    run: TexRun,
    start: float,
    revise: Callable[[str, TexRun], str | None] | None = None,
) -> BuildReport:
    """Writes ``name.pdf``, ``.tex`` and ``.log`` of ``source``'s TeX run, typesetting a revised
    source again first while ``revise`` gives one (at most :data:`_PAGE_PASSES` runs in all),
    and records the PDF in the cache under the key of ``source``."""
    tex_path = out_dir / f"{name}.tex"
    pdf_path = out_dir / f"{name}.pdf"
    log_path = out_dir / f"{name}.log"
    key = content_key(source, engine="xelatex")
    passes = run.passes
    with output_lock(out_dir):
        for _ in range(_PAGE_PASSES - 1):
            revised = revise(source, run) if revise is not None else None
            if revised is None or revised == source:
                break
            source = revised
            run = _compile(out_dir, name, source)
            passes += run.passes
        data = source.encode("utf-8")
        outputs = {pdf_path.name: run.pdf, log_path.name: run.log.encode("utf-8")}
        if file_digest(tex_path) != hashlib.sha256(data).hexdigest():
            outputs[tex_path.name] = data
        replace_files(out_dir, outputs)  # together: never a .tex of one build beside another's PDF
        BuildCache(out_dir).record(pdf_path, key)
    return BuildReport(pdf_path, tex_path, True, passes, time.perf_counter() - start)
