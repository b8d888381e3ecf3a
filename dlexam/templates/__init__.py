"""Language text and LaTeX templates: the second stage of the pipeline.

All prose lives in the catalogs ``i18n/<lang>/*.toml`` (the same keys in every language; see
:mod:`dlexam.templates.prose`); all LaTeX and TikZ lives in ``latex/*.tex.j2`` (rendered through
:mod:`dlexam.templates.latex`). Numbers are shown by the one renderer of
:mod:`dlexam.notation.display`; :mod:`dlexam.templates.values` lays out a step's equation, and
:mod:`dlexam.templates.terminal` writes a derivation for the terminal.
"""

from __future__ import annotations

from dlexam.langs import LANG_CHOICES, LANGS, langs_for
from dlexam.templates.latex import TemplateUsageError, latex_env, packages_of, render
from dlexam.templates.prose import catalog, fields, math_to_text, message, prose_tex, prose_text
from dlexam.templates.terminal import render_text
from dlexam.templates.values import equation_parts, value_tex

__all__ = [
    "LANGS",
    "LANG_CHOICES",
    "TemplateUsageError",
    "catalog",
    "equation_parts",
    "fields",
    "langs_for",
    "latex_env",
    "math_to_text",
    "message",
    "packages_of",
    "prose_tex",
    "prose_text",
    "render",
    "render_text",
    "value_tex",
]
