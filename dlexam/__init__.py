"""dlexam: derives, checks and typesets the answers to deep-learning exam questions.

The layers, each importing only those below it (the README's Layout; tests/test_layers.py):
the basics (``errors``, ``numbers``, ``langs``) <- ``notation`` (symbols,
printers, the display rule) <- ``derivations`` (pure SymPy) <- ``plans`` (compiled
derivations) <- rendering: ``render`` (the Python that renders), reading ``templates/`` (all
language text, LaTeX and TikZ), then ``build`` (document assembly, TeX, the cache) <- the
drivers: ``check`` (a student's values judged), ``exams`` (variants, papers, keys, Moodle),
``grade`` (a class from key.json), ``book`` (the answer book) <- ``cli`` and this module.

In Python and Jupyter::

    from dlexam import solve, check
    solve("rnn-forward", {"x": [2, 3]})             # a Result; typeset in a notebook
    check("rnn-forward", {}, {"y[2]": "2.6704"})    # a check report naming the mistake
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# the package dlexam.check loaded first: imported later, it would replace the function
# check below as the attribute dlexam.check
import dlexam.check as _check_package  # noqa: F401

__version__ = "0.1.0"


def _language(lang: str) -> str:
    from dlexam.errors import InputError
    from dlexam.langs import codes

    if lang not in codes():
        raise InputError("lang", "one of " + ", ".join(codes()), repr(lang)[:60])
    return lang


def solve(name: str, params: Mapping[str, Any] | None = None, *, mistake: str | None = None,
          lang: str = "en", **kwargs: Any) -> Any:
    """Runs the named derivation on raw parameters (as `dlexam solve` takes them: a mapping,
    keyword arguments, or both); ``lang``: the language a notebook shows it in.

    Raises:
        DlexamError: an unknown name, language or malformed parameters.
    """
    from dlexam import derivations, render  # noqa: F401  (render: a result's displays)

    _language(lang)
    result = derivations.get(name).run(params, mistake=mistake, **kwargs)
    object.__setattr__(result, "_lang", lang)
    return result


def check(name: str, params: Mapping[str, Any] | None, answers: Mapping[str, Any], *,
          lang: str = "en", sig_figs: int | None = None, decimals: int | None = None) -> Any:
    """Checks a student's answers (``{"y[2]": "2.6704"}``) against the named derivation; the
    report prints (``print(report)``) and displays in ``lang``; with ``sig_figs`` or
    ``decimals``, a value rounded to that stated precision is right too.

    Raises:
        DlexamError: an unknown name or language, malformed parameters or a refused answer.
    """
    from dlexam import derivations
    from dlexam.check import report  # noqa: F401  (a report's display)
    from dlexam.check.verdicts import check as run_check
    from dlexam.derivations.contract import precision_of

    _language(lang)
    precision = precision_of(sig_figs, decimals)
    return run_check(derivations.get(name), params, answers, precision=precision, lang=lang)


__all__ = ["check", "solve"]
