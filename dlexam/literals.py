"""Parameter values as the command line types them (``key=value``): a JSON literal, or else a
bare word as a string, within the limits on length, nesting and number literals. The command line
and the web page (``dlexam serve``) read every value through here."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from dlexam.errors import InputError, Said
from dlexam.safeio import json_depth, malformed_json

VALUE_MAX_CHARS = 200_000
"""The longest ``key=value`` value read; the derivations' own limits are far below it."""
VALUE_MAX_DEPTH = 4
"""Brackets nest at most this deep: a list of matrices (``W_Q=[[[1, 2]], [[3, 4]]]``), a batch of
images (n x C x H x W)."""
NUMBER_MAX_CHARS = 40
"""The longest number literal read (the limits on numbers themselves are in params.py)."""


def _reject_constant(name: str) -> Any:
    raise ValueError(Said("literals.errors.constant", name=name))


class _LongNumberError(Exception):
    """A number literal past NUMBER_MAX_CHARS (not a ValueError: json must not swallow it)."""


def _number(literal: str) -> Decimal:
    if len(literal) > NUMBER_MAX_CHARS:
        raise _LongNumberError(literal)
    return Decimal(literal)


def _integer(literal: str) -> int:
    if len(literal) > NUMBER_MAX_CHARS:
        raise _LongNumberError(literal)
    return int(literal)


def _depth(text: str, most: int) -> int:
    """How deep brackets nest in JSON text, outside strings (json.loads recurses that deep)."""
    return json_depth(text, most)


def _loads(key: str, text: str, max_depth: int) -> Any:
    """JSON text with its depth and number literals checked (malformed: ValueError)."""
    if _depth(text, max_depth) > max_depth:
        raise InputError(key, Said("inputs.nested", n=max_depth), Said("errors.deeper"))
    try:
        return json.loads(text, parse_float=_number, parse_int=_integer,
                          parse_constant=_reject_constant)
    except _LongNumberError as err:
        raise InputError(key, Said("literals.errors.number_length", n=NUMBER_MAX_CHARS),
                         Said("literals.errors.one_of", n=len(err.args[0]))) from None


def parse_value(key: str, text: str, max_depth: int = VALUE_MAX_DEPTH) -> Any:
    """A ``key=value`` value: a JSON literal, or else the bare word as a string.

    The text's length, its bracket depth and each number literal's length are checked before
    or while it is parsed, so no value can make the parser recurse or build huge numbers.

    Raises:
        InputError: the value looks like JSON (a list or object) but is malformed, or is past
            a limit.
    """
    if len(text) > VALUE_MAX_CHARS:
        raise InputError(key, Said("literals.errors.value_length", n=VALUE_MAX_CHARS),
                         f"{len(text)}")
    try:
        return _loads(key, text, max_depth)
    except ValueError as err:
        if text.lstrip()[:1] in "[{" and text.strip():
            raise InputError(key, Said("literals.errors.json_list"),
                             malformed_json(err)) from None
        if text.strip() in ("NaN", "Infinity", "-Infinity"):
            raise InputError(key, Said("literals.errors.finite"), text.strip()) from None
        return text


def parse_assignments(items: Sequence[str], depths: Mapping[str, int] | None = None
                      ) -> dict[str, Any]:
    """``["W=[[1,2],[3,4]]", "framework=keras"]`` -> a parameter dictionary.

    A parameter named in ``depths`` (JSON data such as a tree) may nest as deep as it says,
    the others :data:`VALUE_MAX_DEPTH` deep.
    """
    params: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise InputError(item, Said("literals.errors.key_value"))
        if key in params:
            raise InputError(key, Said("literals.errors.once"), Said("literals.errors.twice"))
        params[key] = parse_value(key, value, (depths or {}).get(key, VALUE_MAX_DEPTH))
    return params


def parse_json(text: str, name: str, max_depth: int) -> Any:
    """JSON text sent whole (a web request's body), its numbers read as ``key=value`` reads
    them: exact decimals, each literal within :data:`NUMBER_MAX_CHARS`, no NaN or Infinity.

    Raises:
        InputError: malformed, nested deeper than ``max_depth``, or a number past the limits.
    """
    try:
        return _loads(name, text, max_depth)
    except ValueError as err:
        raise InputError(name, Said("literals.errors.one_object"), malformed_json(err)) from None


def parse_params(params: Mapping[str, Any], depths: Mapping[str, int] | None = None
                 ) -> dict[str, Any]:
    """Parameters sent as JSON (a web request's ``params``), read as the command line reads
    ``key=value``: a string is the text after ``=`` (``"2"`` is the number 2, ``"[1, 2]"`` a
    list, ``"keras"`` a word), any other value is what its JSON text would give, within the
    same nesting limit."""
    from dlexam.safeio import data_depth

    out: dict[str, Any] = {}
    for key, value in params.items():
        depth = (depths or {}).get(key, VALUE_MAX_DEPTH)
        if isinstance(value, str):
            out[key] = parse_value(key, value, depth)
            continue
        if data_depth(value, depth) > depth:
            raise InputError(key, Said("inputs.nested", n=depth), Said("errors.deeper"))
        out[key] = value
    return out
