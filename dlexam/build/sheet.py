"""A single-question answer sheet: one derivation with the user's numbers, bilingual, as a PDF."""

from __future__ import annotations

from pathlib import Path

from dlexam import templates
from dlexam.build.document import assemble, fragment
from dlexam.build.files import atomic_write, output_lock
from dlexam.build.tex import compile_pdf, keep_log
from dlexam.derivations.core import Result
from dlexam.errors import BuildError


def render_sheet(result: Result, lang: str = "bilingual") -> str:
    """The sheet's LaTeX source."""
    langs = templates.langs_for(lang)
    summary_key = result.derivation.replace("-", "_") + ".summary"
    part = fragment("sheet.tex.j2", langs=langs, result=result, summary_key=summary_key)
    title = templates.prose_text(langs[0], "sheet.title", {"name": result.derivation})
    return assemble(title, langs, [part])


def build_sheet(result: Result, pdf_path: Path, lang: str = "bilingual") -> Path:
    """Compiles the sheet and writes it atomically to ``pdf_path``.

    Only the PDF is kept when TeX succeeds; when it fails, its log is kept beside where the PDF
    would have gone (``sheet.pdf`` -> ``sheet.log``) and the error names it.

    Raises:
        BuildError: TeX failed; a previous PDF at ``pdf_path`` is left as it was.
    """
    source = render_sheet(result, lang)
    with output_lock(pdf_path.parent):
        try:
            run = compile_pdf(source, jobname="sheet")
        except BuildError as err:
            raise keep_log(err, pdf_path.with_suffix(".log")) from None
        atomic_write(pdf_path, run.pdf)
    return pdf_path
