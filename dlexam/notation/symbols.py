"""The symbol registry: each topic registers the symbols it writes, with their LaTeX and text.

Derivations make symbols with :func:`sym`; the key says how the symbol is written in LaTeX and in
plain text. A topic module calls :func:`register_symbols` once, at import, with its own table;
symbols shared by several topics are registered by the shared module they come from
(``cells``, ``distributions``, ``heads``), and the operators the printers themselves write
(σ, tanh, ⊙, ReLU, softmax) by this package. Changing a symbol's notation is a one-line change in
the module that owns it, never string surgery on printed output.

The registry knows no topic: it holds what has been registered. The rendering layer
(:mod:`dlexam.render`) imports every derivation before it writes a symbol by its key, so a
catalog's ``{=key}`` finds every topic's symbols.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

import sympy as sp

SYMBOLS: dict[str, tuple[str, str]] = {}
"""Every registered symbol: key -> (LaTeX, plain text)."""

OWNERS: dict[str, str] = {}
"""Every registered symbol: key -> the module that registered it."""


def lookup(key: str) -> tuple[str, str]:
    """The (LaTeX, plain text) forms of a registered symbol.

    Raises:
        KeyError: the key is not registered.
    """
    _check(key)
    return SYMBOLS[key]


def register_symbols(table: Mapping[str, tuple[str, str]], owner: str | None = None) -> None:
    """Registers a module's symbols: ``{key: (LaTeX, plain text)}``.

    Args:
        table: the symbols.
        owner: the registering module's name (by default the caller's ``__name__``).

    Raises:
        ValueError: a key another module registered already (a bug: two topics own one symbol;
            move it to a shared module).
    """
    if owner is None:
        owner = sys._getframe(1).f_globals.get("__name__", "?")
    for key, forms in table.items():
        if key in OWNERS and (OWNERS[key] != owner or SYMBOLS[key] != tuple(forms)):
            raise ValueError(f"symbol {key!r} is registered by {OWNERS[key]} already "
                             f"(registering module: {owner})")
        latex, plain = forms
        SYMBOLS[key] = (latex, plain)
        OWNERS[key] = owner


def _check(key: str) -> None:
    if key not in SYMBOLS:
        raise KeyError(f"symbol {key!r} is not registered (register it with its topic)")


def sym(key: str, **assumptions: Any) -> sp.Symbol:
    """The registered symbol ``key``.

    Raises:
        KeyError: the key is not registered (a bug: register it in its topic module).
    """
    _check(key)
    return sp.Symbol(key, **assumptions)


def sym_sub(key: str, *indices: int, **assumptions: Any) -> sp.Symbol:
    """The registered symbol ``key`` with a subscript: ``sym_sub("S_hat", 1)`` is Ŝ_1 and
    ``sym_sub("s_hat", 1, 2)`` is ŝ_12 (ŝ_{1,12} once an index has two digits).

    Raises:
        KeyError: the key is not registered.
    """
    _check(key)
    sep = "," if any(k >= 10 for k in indices) else ""
    return sp.Symbol(f"{key}[{sep.join(str(k) for k in indices)}]", **assumptions)


def msym(key: str, rows: int, cols: int = 1) -> sp.MatrixSymbol:
    """A registered matrix symbol (a column vector when ``cols`` is 1).

    Raises:
        KeyError: the key is not registered.
    """
    _check(key)
    return sp.MatrixSymbol(key, rows, cols)


def table_form(name: str, form: int) -> str | None:
    """How a symbol named by :func:`sym` or :func:`sym_sub` is written (0: LaTeX, 1: text;
    None: not a registered symbol)."""
    entry = SYMBOLS.get(name)
    if entry is not None:
        return entry[form]
    key, bracket, index = name.partition("[")
    if not bracket or not index.endswith("]") or key not in SYMBOLS:
        return None
    base, index = SYMBOLS[key][form], index[:-1]
    if form == 0:
        return f"{{{base}}}_{{{index}}}" if "_" in base else f"{base}_{{{index}}}"
    return f"{base}_{index}"


# the operators the printers write themselves, and those prose names
register_symbols({
    "sigma": (r"\sigma", "σ"),
    "tanh": (r"\tanh", "tanh"),
    "odot": (r"\odot", "⊙"),
    "relu": (r"\operatorname{ReLU}", "ReLU"),
    "softmax": (r"\operatorname{softmax}", "softmax"),
})
