"""dlexam: derives, checks and typesets the answers to deep-learning exam questions.

The pipeline, one stage a sub-package: ``derivations`` (pure SymPy) -> ``templates`` (all
language text and TikZ) -> ``build`` (document assembly, TeX, cache) -> ``cli``; ``check``
judges a student's values against a derivation.

In Python and Jupyter::

    from dlexam import solve, check
    solve("rnn-forward", {"x": [2, 3]})             # a Result; typeset in a notebook
    check("rnn-forward", {}, {"y[2]": "2.6704"})    # a check report naming the mistake
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__version__ = "0.1.0"


def solve(name: str, params: Mapping[str, Any] | None = None, *, mistake: str | None = None,
          **kwargs: Any) -> Any:
    """Runs the named derivation on raw parameters (as `dlexam solve` takes them).

    Raises:
        DlexamError: an unknown name or malformed parameters.
    """
    from dlexam import derivations

    return derivations.get(name).run(params, mistake=mistake, **kwargs)


def check(name: str, params: Mapping[str, Any] | None, answers: Mapping[str, Any]) -> Any:
    """Checks a student's answers (``{"y[2]": "2.6704"}``) against the named derivation.

    Raises:
        DlexamError: an unknown name, malformed parameters or a refused answer.
    """
    from dlexam import derivations
    from dlexam.check.verdicts import check as run_check

    return run_check(derivations.get(name), params, answers)


__all__ = ["check", "solve"]
