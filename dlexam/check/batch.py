"""`dlexam check --batch FILE.jsonl`: one request per line in, one verdict object per line out.

A request is ``{"derivation", "params", "answers"}`` (and optionally ``"sig_figs"`` or
``"decimals"``: the precision the question states) where ``answers`` maps answer names as
``-a`` writes them (``"y[2]"``) to what the student typed (a string) or to a JSON number or
list. Every object out names its request's line (``"line"``, counted from 1 in the file, blank
lines skipped but counted): the verdicts as ``check --json`` gives them, or, for a malformed
line or one whose typed answer is refused, ``{"line": n, "error": ...}``; the others are still
checked. Requests that share a derivation and parameters
(students who share a variant) share one checker.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, BinaryIO, TextIO

from dlexam.check.verdicts import CheckerCache
from dlexam.derivations.contract import Precision, precision_of
from dlexam.errors import DlexamError, InputError, Said
from dlexam.safeio import malformed_json

MAX_LINE = 1_000_000  # characters in one request
MAX_LINES = 1_000_000
MAX_BYTES = 1 << 30  # a whole batch; read as it comes, never held


def _request(line: str) -> tuple[str, dict[str, Any], dict[str, Any], Precision | None]:
    if line == "\0 too long":
        raise InputError("request", Said("batch.errors.line_length", n=f"{MAX_LINE:,}"),
                         Said("errors.more"))
    if line.startswith("\0"):
        raise InputError("request", Said("batch.errors.utf8"), Said("batch.errors.other_bytes"))
    if len(line) > MAX_LINE:
        raise InputError("request", Said("batch.errors.line_length", n=f"{MAX_LINE:,}"),
                         f"{len(line):,}")
    try:
        data = json.loads(line)
    except (ValueError, RecursionError) as err:
        raise InputError("request", Said("literals.errors.one_object"),
                         malformed_json(err) if isinstance(err, ValueError)
                         else Said("errors.deeper")) from None
    if not isinstance(data, dict):
        raise InputError("request", Said("batch.errors.request",
                                         keys='{"derivation", "params", "answers"}'))
    unknown = set(data) - {"derivation", "params", "answers", "sig_figs", "decimals"}
    if unknown:
        raise InputError(sorted(unknown)[0], Said("batch.errors.keys",
                                                  keys='"derivation", "params", "answers"',
                                                  optional='"sig_figs", "decimals"'))
    name, params, answers = data.get("derivation"), data.get("params", {}), data.get("answers")
    if not isinstance(name, str):
        raise InputError("derivation", Said("batch.errors.derivation"))
    if not isinstance(params, dict):
        raise InputError("params", Said("batch.errors.params"))
    if not isinstance(answers, dict) or not answers:
        raise InputError("answers", Said("batch.errors.answers", example='{"y[2]": "2.7371"}'))
    return name, params, answers, precision_of(data.get("sig_figs"), data.get("decimals"))


def run_batch(lines: BinaryIO, out: TextIO, lang: str) -> int:
    """Checks every request; returns how many lines were read."""
    from dlexam import derivations
    from dlexam.check.report import report_json

    cache = CheckerCache()
    count = 0
    for number, line in _numbered(lines):
        count += 1
        if not line.strip():
            continue
        try:
            name, params, answers, precision = _request(line)
            checker = cache.get(derivations.get(name), params, precision)
            report = checker.check(answers)
            print(json.dumps({"line": number, **report_json(report, lang)},
                             ensure_ascii=False), file=out)
        except DlexamError as err:
            said = err.said_in(lang)
            print(json.dumps({"line": number, "error": said}, ensure_ascii=False), file=out)
        except (ArithmeticError, ValueError, TypeError, IndexError, RecursionError) as err:
            # one request that cannot be checked never stops the batch
            said = Said("batch.errors.unchecked", kind=type(err).__name__).said_in(lang)
            print(json.dumps({"line": number, "error": said}, ensure_ascii=False), file=out)
    return count


def _numbered(lines: BinaryIO) -> Iterator[tuple[int, str]]:
    """Lines as text, read in bounded chunks (a line past the limit is never held whole, and a
    signal stops the read); a line that is not UTF-8, or too long, comes as one that fails."""
    from dlexam.safeio import bounded_lines

    stream = bounded_lines(lines, 4 * MAX_LINE, MAX_BYTES, "--batch")
    for number, raw in enumerate(stream, start=1):
        if number > MAX_LINES:
            raise InputError("--batch", Said("batch.errors.lines", n=f"{MAX_LINES:,}"),
                             Said("errors.more"))
        if raw is None:
            yield number, "\0 too long"
            continue
        try:
            yield number, raw.decode("utf-8")
        except UnicodeDecodeError:
            yield number, "\0 not UTF-8"
