"""Pure SymPy derivations: each returns a :class:`~dlexam.derivations.core.Result`.

Importing this package imports every module in it, which registers their derivations.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping
from typing import Any

from dlexam.derivations.core import REGISTRY, Derivation, Result, Step
from dlexam.errors import UnknownDerivationError

for _info in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_info.name}")


def names() -> list[str]:
    """The registered derivation names, sorted."""
    return sorted(REGISTRY)


def get(name: str) -> Derivation:
    """The derivation registered under ``name``.

    Raises:
        UnknownDerivationError: listing the known names.
    """
    try:
        return REGISTRY[name]
    except KeyError:
        raise UnknownDerivationError(name, names()) from None


def solve(name: str, params: Mapping[str, Any] | None = None, **kwargs: Any) -> Result:
    """Validates the parameters and runs the named derivation."""
    return get(name).run(params, **kwargs)


__all__ = ["Derivation", "Result", "Step", "get", "names", "solve"]
