"""Independent computations of every derivation's answers, and of each named mistake's.

Each module registers, per derivation name, a function ``(params, mistake) -> answers``: the raw
parameters as `dlexam solve` takes them (defaults filled in), the id of a declared mistake or
None, and the answers as plain nested lists of floats (only those it computes). They are written
from the formulas with NumPy (or torch/Keras where those compute the same thing), never by
calling dlexam's derivations. tests/test_contract.py runs them on sampled parameters
(import this package as `reference`: pytest puts tests/ on the path).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from typing import Any

Reference = Callable[[dict[str, Any], "str | None"], dict[str, Any]]

REFERENCES: dict[str, Reference] = {}


def reference(name: str) -> Callable[[Reference], Reference]:
    """Registers the independent computation of the derivation ``name``."""

    def register(fn: Reference) -> Reference:
        if name in REFERENCES:
            raise RuntimeError(f"two references for {name!r}")
        REFERENCES[name] = fn
        return fn

    return register


def load() -> dict[str, Reference]:
    """Imports every reference module; returns the registry."""
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")
    return REFERENCES
