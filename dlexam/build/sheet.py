"""A single-question answer sheet: one derivation with the user's numbers, bilingual, as a PDF."""

from __future__ import annotations

from pathlib import Path

from dlexam import templates
from dlexam.build.document import assemble, fragment
from dlexam.build.files import atomic_write
from dlexam.build.tex import compile_pdf
from dlexam.derivations.core import Result


def render_sheet(result: Result, lang: str = "bilingual") -> str:
    """The sheet's LaTeX source."""
    langs = templates.langs_for(lang)
    summary_key = result.derivation.replace("-", "_") + ".summary"
    part = fragment("sheet.tex.j2", langs=langs, result=result, summary_key=summary_key)
    title = templates.prose_text(langs[0], "sheet.title", {"name": result.derivation})
    return assemble(title, langs, [part])


def build_sheet(result: Result, pdf_path: Path, lang: str = "bilingual") -> Path:
    """Compiles the sheet and writes it atomically to ``pdf_path`` (only the PDF is kept)."""
    source = render_sheet(result, lang)
    run = compile_pdf(source, jobname="sheet")
    atomic_write(pdf_path, run.pdf)
    return pdf_path
