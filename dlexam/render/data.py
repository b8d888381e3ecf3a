"""A derivation's result as plain JSON data (``dlexam solve --json``, ``Result.as_dict``)."""

from __future__ import annotations

from typing import Any

from dlexam.derivations.core import VIEWS, Elidable, Result, to_plain
from dlexam.notation import display, text


def result_json(result: Result) -> dict[str, Any]:
    """The result as plain JSON data (formulas as plain text in the project's notation).

    JSON carries the complete derivation: every step, those the layout leaves out or shortens
    too, each with its ``elidable`` mark (or null), which says whether the layout
    (:data:`dlexam.notation.display.LAYOUT`) shows its full form (``shown``) and gives its
    shorter form (``instead``: the fields it replaces, or null when the step is left out).
    """

    def formula(expr: Any) -> str | None:
        return None if expr is None else text(expr)

    def mark(e: Elidable | None) -> dict[str, Any] | None:
        if e is None:
            return None
        instead = None if e.instead is None else {
            k: ({n: to_plain(v) for n, v in x.items()} if k == "data" else formula(x))
            for k, x in e.instead.items()}
        return {"measure": e.measure, "size": to_plain(e.size), "of": to_plain(e.of),
                "group": to_plain(e.group),
                "shown": display.LAYOUT.keeps(e), "instead": instead}

    return {
        "derivation": result.derivation,
        "params": to_plain(dict(result.params)),
        "convention": result.convention,
        "answers": result.plain_answers(),
        "info": {k: to_plain(v) for k, v in result.info.items()},
        "steps": [
            {
                "key": s.key,
                "lhs": formula(s.lhs),
                "symbolic": formula(s.symbolic),
                "substituted": formula(s.substituted),
                "value": to_plain(s.value),
                "data": {k: to_plain(v) for k, v in s.data.items()},
                "elidable": mark(s.elidable),
            }
            for s in result.steps
        ],
    }


VIEWS["json"] = result_json
