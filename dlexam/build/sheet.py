"""A single-question answer sheet: one derivation with the user's numbers, bilingual, as a PDF."""

from __future__ import annotations

from pathlib import Path

from dlexam import render
from dlexam.build.document import assemble, fragment
from dlexam.build.tex import write_document
from dlexam.derivations.core import Result


def render_sheet(result: Result, lang: str = "bilingual") -> str:
    """The sheet's LaTeX source."""
    langs = render.langs_for(lang)
    summary_key = result.derivation.replace("-", "_") + ".summary"
    part = fragment("sheet.tex.j2", langs=langs, result=result, summary_key=summary_key)
    title = render.prose_text(langs[0], "sheet.title", {"name": result.derivation})
    return assemble(title, langs, [part])


def build_sheet(result: Result, pdf_path: Path, lang: str = "bilingual") -> Path:
    """Compiles the sheet and writes it atomically to ``pdf_path``.

    Only the PDF is kept when TeX succeeds; when it fails, its log is kept beside where the PDF
    would have gone (``sheet.pdf`` -> ``sheet.log``) and the error names it.

    Raises:
        BuildError: TeX failed; a previous PDF at ``pdf_path`` is left as it was.
    """
    return write_document(render_sheet(result, lang), pdf_path, "sheet")
