"""The rendering stage: the Python that turns a derivation's data into text, LaTeX and HTML.

It reads what ``dlexam/templates/`` holds (the catalogs ``i18n/<lang>/*.toml``, the same keys in
every language, and the LaTeX and TikZ templates ``latex/*.tex.j2``) and writes through the one
display rule of :mod:`dlexam.notation.display`: :mod:`~dlexam.render.prose` (catalog messages),
:mod:`~dlexam.render.values` (a step's equation), :mod:`~dlexam.render.latex` (the Jinja2
environment), :mod:`~dlexam.render.terminal`, :mod:`~dlexam.render.notebook` (Jupyter) and
:mod:`~dlexam.render.data` (JSON), :mod:`~dlexam.render.describe` (``dlexam show``) and
:mod:`~dlexam.render.question` (question statements).

Importing it imports every derivation (their modules register the symbols a catalog names) and
registers a result's Jupyter and JSON forms (:data:`dlexam.derivations.core.VIEWS`).
"""

from __future__ import annotations

import dlexam.derivations  # noqa: F401  (every topic registers its symbols)
from dlexam.langs import LANGS, langs_for
from dlexam.render import data, notebook  # noqa: F401  (register a result's views)
from dlexam.render.latex import TemplateUsageError, latex_env, render
from dlexam.render.prose import catalog, fields, message, prose_tex, prose_text
from dlexam.render.terminal import render_text
from dlexam.render.values import equation_parts, value_tex

__all__ = [
    "LANGS",
    "TemplateUsageError",
    "catalog",
    "equation_parts",
    "fields",
    "langs_for",
    "latex_env",
    "message",
    "prose_tex",
    "prose_text",
    "render",
    "render_text",
    "value_tex",
]
