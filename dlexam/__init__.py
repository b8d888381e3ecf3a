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
    set_lang("zh-Hans")                              # displays in Simplified Chinese
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__version__ = "0.1.0"


def set_lang(code: str) -> None:
    """The language of the notebook displays of results and check reports from now on
    (``en`` until set; any code of ``dlexam.langs.codes()``).

    Raises:
        InputError: not a language.
    """
    from dlexam.langs import set_display

    set_display(code)


def solve(name: str, params: Mapping[str, Any] | None = None, *, mistake: str | None = None,
          lang: str | None = None, **kwargs: Any) -> Any:
    """Runs the named derivation on raw parameters (as `dlexam solve` takes them); ``lang``
    sets the displays' language as :func:`set_lang` does.

    Raises:
        DlexamError: an unknown name or malformed parameters.
    """
    from dlexam import derivations, render  # noqa: F401  (render: a result's displays)

    if lang is not None:
        set_lang(lang)

    return derivations.get(name).run(params, mistake=mistake, **kwargs)


def check(name: str, params: Mapping[str, Any] | None, answers: Mapping[str, Any], *,
          lang: str | None = None) -> Any:
    """Checks a student's answers (``{"y[2]": "2.6704"}``) against the named derivation;
    ``lang`` sets the displays' language as :func:`set_lang` does.

    Raises:
        DlexamError: an unknown name, malformed parameters or a refused answer.
    """
    from dlexam import derivations
    from dlexam.check import report  # noqa: F401  (a report's display)
    from dlexam.check.verdicts import check as run_check

    if lang is not None:
        set_lang(lang)
    return run_check(derivations.get(name), params, answers)


__all__ = ["check", "set_lang", "solve"]
