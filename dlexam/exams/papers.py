"""Question papers and answer keys: one TeX run per output for all variants, split per variant.

``papers.pdf`` and ``keys.pdf`` hold every variant, each from a new page with its code in every
page's header; the TeX run writes each variant's first page to its log, and pypdf cuts the
combined PDF into ``papers/paper-<code>.pdf`` and ``keys/key-<code>.pdf``. Each TeX run starts
before its first variant is rendered and reads the source as it is made (:func:`document_pieces`,
:class:`~dlexam.build.tex.TexStream`), so the two runs overlap each other and the rendering. The
keys typeset each variant's derivation step by step through the answer book's own step macro.
Each variant is rendered on its own (the keys' exact derivations are most of the work): a large
exam's keys are rendered in parallel over the cores, in forked processes that hand back LaTeX
text, joined in variant order (the same text however it was rendered).
"""

from __future__ import annotations

import io
import re
from collections.abc import Generator, Sequence
from typing import Any

from pylatex import NoEscape
from pylatex.utils import escape_latex

from dlexam.build.document import Fragment, assemble, template_packages
from dlexam.exams.mathtext import statements
from dlexam.exams.model import precision_key
from dlexam.exams.parallel import fork_imap
from dlexam.exams.variants import Drawn, Variant
from dlexam.notation.display import plain_number
from dlexam.render import latex as latex_templates
from dlexam.render.labels import answer_label
from dlexam.render.prose import prose_tex
from dlexam.render.values import value_tex

_MARK = re.compile(r"^dlexam-variant:(?P<code>[A-Z0-9]+)=(?P<shipped>\d+)$", re.MULTILINE)


def _lang_text(texts: dict[str, str], lang: str) -> NoEscape:
    return NoEscape(escape_latex(texts.get(lang) or next(iter(texts.values()), "")))


def _points(value: float) -> str:
    return plain_number(value, "points")


def _item_label(spec: Any, item: Any, value: Any, langs: Any) -> dict[str, NoEscape]:
    """An asked item as a person reads it, per language: the answer's label from the catalogs,
    or its item's ("row 3 of the output Z"), never its internal name."""
    said = answer_label(spec, item.answer, item.index, value)
    return {lang: prose_tex(lang, said.key, said.data) for lang in langs}


def _letter(index: int) -> str:
    """The mark of an asked item by its 0-based place: a, b, ..., z, aa, ab, ..."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    return (letters[index // 26 - 1] if index >= 26 else "") + letters[index % 26]


BOX = "1.9cm"
"""The width of one answer box: room for a signed number with four decimals."""


def answer_space(expected: Any, layout: str = "boxes") -> str:
    """Answer space shaped like the answer (``layout="boxes"``): a line for one number, a box
    per entry of a vector, a grid for a matrix (a row of boxes per row), shrunk to the line
    when wider; ``"lines"``: a line per item."""
    if not isinstance(expected, list) or layout == "lines":
        return r"\rule{5cm}{0.4pt}"
    rows = expected if expected and all(isinstance(r, list) for r in expected) else [expected]
    cols = max(len(r) for r in rows)
    body = r"\\[0.9cm]\hline ".join(" & ".join([""] * cols) for _ in rows)
    grid = (rf"\begin{{tabular}}{{|*{{{cols}}}{{p{{{BOX}}}|}}}}\hline {body}\\[0.9cm]"
            r"\hline\end{tabular}")
    return rf"\par\dlxshrink{{{grid}}}"


def _tex_plain(number: str) -> str:
    """A plain number in TeX: 8.21e-05 as 8.21 \\cdot 10^{-5} (in math, "e-05" is set as a
    subtraction, 8.21e − 05)."""
    found = re.fullmatch(r"(-?[0-9.]+)e([+-][0-9]+)", number)
    return rf"{found[1]} \cdot 10^{{{int(found[2])}}}" if found else number


def _question_context(exam: Any, variant: Variant, kind: str,
                      texts: dict[tuple[str, str], dict[str, str]]) -> list[dict[str, Any]]:
    out = []
    langs = exam.langs
    for number, qv in enumerate(variant.questions, start=1):
        q = qv.question
        heading = {lang: NoEscape(prose_tex(lang, "exam.question", {"number": str(number)}) + " ("
                                  + prose_tex(lang, "exam.points", {"points": _points(q.points)})
                                  + ")") for lang in langs}
        items = []
        for number_in, (item, asked) in enumerate(zip(q.items, qv.asked, strict=True)):
            tol = q.tolerance_for(item)
            expected = asked["expected"]
            first = expected
            while isinstance(first, list):
                first = first[0]
            allowed = tol.interval(float(first)) if not isinstance(first, str) else 0.0
            items.append({
                "ref": item.ref,
                "letter": f"({_letter(number_in)})",
                "label": _item_label(q.spec, item, expected, langs),
                "space": (NoEscape(answer_space(expected, q.answer_layout)) if kind == "paper"
                          else ""),
                "value": value_tex(expected),
                "allowed": NoEscape(f"${_tex_plain(plain_number(allowed, 'tolerance'))}$"),
                "mistakes": [{"key": q.spec.mistake_key(mid) + ".name", "value": value_tex(v)}
                             for mid, v in asked["mistakes"].items()] if kind == "key" else [],
            })
        key = (variant.code, q.id)
        if key not in texts:  # the paper's statement is the key's
            texts[key] = statements(q, qv.params, langs, as_tex=True, asked=qv.asked)
        out.append({
            "heading": heading,
            "statement": texts[key],
            "parts": items,
            # each item's points, when they come out even (3 points, not 3.33333)
            "item_points": (_points(q.item_points()) if abs(q.item_points() * 2 - round(
                q.item_points() * 2)) < 1e-9 else None),
            "precision": None if q.precision is None else precision_key(q.precision),
            "working": NoEscape(q.space) if kind == "paper" and q.space else None,
            "steps": q.spec.run(qv.params).steps if kind == "key" else (),
        })
    return out


def render_document(drawn: Drawn, kind: str,
                    texts: dict[tuple[str, str], dict[str, str]] | None = None) -> str:
    """The LaTeX source of all papers (``kind="paper"``) or all keys (``kind="key"``);
    ``texts`` keeps the statements worked out for one for the other."""
    return "".join(document_pieces(drawn, kind, texts))


_BODY = re.compile("\x00dlexam-body-\\d+\x00")


def document_pieces(drawn: Drawn, kind: str,
                    texts: dict[tuple[str, str], dict[str, str]] | None = None
                    ) -> Generator[str, None, None]:
    """:func:`render_document`'s source in pieces, given as each is made: the preamble and
    what comes before the first variant (no variant rendered yet: TeX can start on it), then
    each variant's body with what follows it."""
    exam = drawn.exam
    langs = exam.langs
    texts = {} if texts is None else texts
    label = "exam.paper" if kind == "paper" else "exam.key"
    header = {lang: NoEscape(escape_latex(exam.title.get(lang, "")) + " --- "
                             + prose_tex(lang, label)) for lang in langs}
    meta = {}
    for lang in langs:
        bits = [exam.course.get(lang), exam.date.get(lang), exam.duration.get(lang)]
        line = " \\quad ".join(escape_latex(b) for b in bits if b)
        total = prose_tex(lang, "exam.total", {"points": _points(exam.total_points)})
        extra = exam.instructions.get(lang)
        meta[lang] = NoEscape((line + " \\quad " if line else "") + total
                              + ("\\par " + escape_latex(extra) if extra else ""))

    def body(i: int) -> NoEscape:  # our template's output (file text escaped inside)
        v = drawn.variants[i]
        return latex_templates.render(
            "exam_variant.tex.j2", langs=langs, kind=kind, header=header, meta=meta,
            v={"code": v.code, "questions": _question_context(exam, v, kind, texts)})

    count = len(drawn.variants)
    title_line = _lang_text(dict(exam.title), langs[0])
    # the document with a marker where each variant's body goes (the bodies come later)
    marked = [NoEscape(f"\x00dlexam-body-{i}\x00") for i in range(count)]
    text = latex_templates.render("exam_paper.tex.j2", langs=langs, title_line=title_line,
                                  bodies=marked)
    packages = {*template_packages("exam_paper.tex.j2"),
                *template_packages("exam_variant.tex.j2")}
    title = escape_latex(exam.title.get(langs[0], "exam"))
    around = _BODY.split(assemble(title, langs, [Fragment(text, sorted(packages))]))
    assert len(around) == count + 1, "a piece holds the body marker"
    yield around[0]
    # a key's exact derivations are most of the work: its variants are rendered in parallel
    bodies = fork_imap(body, count) if kind == "key" else (body(i) for i in range(count))
    for i, piece in enumerate(bodies):
        yield piece + around[i + 1]


def variant_pages(log: str, codes: Sequence[str], pages: int) -> dict[str, tuple[int, int]]:
    """Each variant's pages (0-based start, end exclusive) from the marks in the TeX log."""
    # the counter already counts the page being shipped out: its 0-based index is one less
    starts = {m["code"]: int(m["shipped"]) - 1 for m in _MARK.finditer(log)}
    order = [starts[c] for c in codes]
    ends = [*order[1:], pages]
    return {c: (s, e) for c, s, e in zip(codes, order, ends, strict=True)}


def split_pdf(pdf: bytes, ranges: dict[str, tuple[int, int]]) -> dict[str, bytes]:
    """One PDF per variant, cut from the combined one (pypdf, no TeX)."""
    from pypdf import PdfReader, PdfWriter

    reader = PdfReader(io.BytesIO(pdf))
    out = {}
    for code, (start, end) in ranges.items():
        writer = PdfWriter()
        for i in range(start, end):
            writer.add_page(reader.pages[i])
        writer.add_metadata({"/Producer": "dlexam", "/Title": code})
        buf = io.BytesIO()
        writer.write(buf)
        out[code] = buf.getvalue()
    return out
