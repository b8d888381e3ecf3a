"""The project's notation: the symbol registry and the LaTeX and terminal printers.

Derivations use this package only to make symbols (:func:`sym`, :func:`sym_sub`, :func:`msym`)
and to register their own (:func:`register_symbols`); templates use its printers.
"""

from __future__ import annotations

from dlexam.notation.printers import DlexamLatexPrinter, DlexamTextPrinter, tex, text
from dlexam.notation.symbols import (
    OWNERS,
    SYMBOLS,
    lookup,
    msym,
    register_symbols,
    sym,
    sym_sub,
    table_form,
)

__all__ = [
    "OWNERS", "SYMBOLS", "DlexamLatexPrinter", "DlexamTextPrinter", "lookup", "msym",
    "register_symbols", "sym", "sym_sub", "table_form", "tex", "text",
]
