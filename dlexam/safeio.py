"""Reading untrusted files within bounds: regular files only, at most a limit, nesting checked.

Every file dlexam reads from a user (exam files, answers files, batch files, CSVs, key.json)
goes through :func:`read_file`: a device, FIFO or folder is refused by name before anything is
read (their size reads 0, and ``/dev/zero`` never ends), at most ``limit + 1`` bytes are read, in
chunks, so a signal stops a read at once. :func:`load_json` and :func:`load_toml` check how deep
brackets nest before the parser recurses, and turn what the parser still raises into one line.
:func:`echo` shows a piece of untrusted text in a message: at most 80 characters, control
characters escaped.

Nothing here imports more than the standard library: it is the lowest layer.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from dlexam.errors import InputError, Said

CHUNK = 1 << 16
MAX_DEPTH = 32
"""Brackets (lists, objects, inline tables) nest at most this deep in a JSON or TOML file."""


def _kind(mode: int) -> str | None:
    """What a file is when it is not a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return Said("files.kind.folder")
    if stat.S_ISFIFO(mode):
        return Said("files.kind.fifo")
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return Said("files.kind.device")
    if stat.S_ISSOCK(mode):
        return Said("files.kind.socket")
    return Said("files.kind.other")


_WHAT = {"file": "file", "batch file": "batch", "exam file": "exam", "answers file": "answers",
         "CSV file": "csv", "key.json": "key"}
"""The kinds of file callers name (``what``), by their catalog keys (``files.what.*``)."""


def _what(what: str) -> str:
    """The kind of file a message names, in the catalogs' words when it is one they know."""
    return what if isinstance(what, Said) or what not in _WHAT else Said(
        "files.what." + _WHAT[what])


_OS_ERRORS = frozenset({"EACCES", "EPERM", "EISDIR", "ENOTDIR", "ELOOP", "ENAMETOOLONG",
                        "EROFS", "ENOSPC", "ENOENT", "EEXIST", "EBUSY", "EIO", "EMFILE",
                        "ENXIO", "EDQUOT", "ETXTBSY", "EADDRINUSE", "EADDRNOTAVAIL"})


def os_reason(err: OSError) -> str:
    """Why the system refused, in the catalogs' words (``files.os.EACCES``), or the error's
    code (``EXDEV``) when they have none."""
    import errno

    code = errno.errorcode.get(err.errno or 0, "")
    if code in _OS_ERRORS:
        return Said("files.os." + code)
    return Said("files.os.other", code=code or type(err).__name__)


def malformed_json(err: Exception) -> str:
    """What is wrong with JSON text that does not parse: where, or why (a NaN)."""
    if isinstance(err, json.JSONDecodeError):
        return Said("files.malformed_json_at", line=err.lineno, column=err.colno)
    if err.args and isinstance(err.args[0], Said):
        return Said("files.malformed_json_because", reason=err.args[0])
    return Said("files.malformed_json")


def open_regular(path: str | Path, what: str = "file") -> BinaryIO:
    """Opens a regular file for reading (a FIFO is opened without waiting for a writer, then
    refused).

    Raises:
        InputError: naming the file: missing, unreadable, or not a regular file.
    """
    name = str(path)
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise InputError(name, Said("files.existing", what=_what(what)),
                         Said("files.os.ENOENT")) from None
    except OSError as err:
        raise InputError(name, Said("files.readable", what=_what(what)), os_reason(err)) from None
    try:
        kind = _kind(os.fstat(fd).st_mode)
        if kind is not None:
            raise InputError(name, Said("files.regular", what=_what(what)), kind)
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb", buffering=0)
    except BaseException:
        os.close(fd)
        raise


def _limit_text(limit: int) -> str:
    if limit >= 1 << 20 and limit % (1 << 20) == 0:
        return Said("files.mib", n=limit >> 20)
    return Said("files.bytes", n=limit)


def read_stream(stream: BinaryIO, limit: int, name: str, what: str = "file") -> bytes:
    """At most ``limit`` bytes of a stream, read in chunks (``limit + 1`` at most are read).

    Raises:
        InputError: the stream holds more than ``limit`` bytes.
    """
    parts: list[bytes] = []
    size = 0
    while size <= limit:
        chunk = stream.read(min(CHUNK, limit + 1 - size))
        if not chunk:
            break
        parts.append(chunk)
        size += len(chunk)
    if size > limit:
        raise InputError(name, Said("files.size", what=_what(what), limit=_limit_text(limit)),
                         Said("files.larger"))
    return b"".join(parts)


def read_file(path: str | Path, limit: int, what: str = "file") -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes.

    Raises:
        InputError: naming the file: missing, unreadable, not a regular file, or too large.
    """
    name = str(path)
    try:
        with open_regular(path, what) as fh:
            return read_stream(fh, limit, name, what)
    except OSError as err:
        raise InputError(name, Said("files.readable", what=_what(what)), os_reason(err)) from None


def decode_utf8(raw: bytes, name: str, bom: bool = True) -> str:
    """UTF-8 text (a leading byte-order mark dropped when ``bom``).

    Raises:
        InputError: the bytes are not UTF-8, naming the offset.
    """
    try:
        return raw.decode("utf-8-sig" if bom else "utf-8")
    except UnicodeDecodeError as err:
        raise InputError(name, Said("files.utf8"),
                         Said("files.byte_at", byte=f"0x{raw[err.start]:02x}",
                              offset=err.start)) from None


def json_depth(text: str, stop: int = MAX_DEPTH) -> int:
    """How deep brackets nest in JSON text, outside strings (counting stops past ``stop``)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > stop:
                    break
        elif ch in "]}":
            depth -= 1
    return deepest


def toml_depth(text: str, stop: int = MAX_DEPTH) -> int:
    """How deep brackets nest in TOML text, outside strings and comments (an upper bound of
    the parser's recursion; counting stops past ``stop``)."""
    depth = deepest = 0
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        if ch in "\"'":
            triple = text.startswith(ch * 3, i)
            quote = ch * 3 if triple else ch
            j = i + len(quote)
            while j < n:
                if ch == '"' and text[j] == "\\":
                    j += 2
                    continue
                if text.startswith(quote, j):
                    break
                if not triple and text[j] == "\n":
                    break
                j += 1
            i = j + len(quote)
            continue
        if ch in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > stop:
                    break
        elif ch in "]}":
            depth = max(0, depth - 1)
        i += 1
    return deepest


def data_depth(data: Any, stop: int = MAX_DEPTH) -> int:
    """How deep lists and objects nest in parsed data (without recursing; stops past ``stop``).
    Dotted TOML keys (``a.b.c = 1``) nest tables without brackets."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (list, dict)):
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > stop:
                    break
            stack.extend((v, depth) for v in (item.values() if isinstance(item, dict) else item))
    return deepest


def _too_deep(name: str, limit: int) -> InputError:
    return InputError(name, Said("files.nested", n=limit), Said("errors.deeper"))


def load_json(text: str, name: str, limit: int = MAX_DEPTH, **kwargs: Any) -> Any:
    """JSON text parsed, its nesting checked first.

    Raises:
        InputError: too deep, or malformed (one line naming ``name``).
    """
    if json_depth(text, limit) > limit:
        raise _too_deep(name, limit)
    try:
        return json.loads(text, **kwargs)
    except RecursionError:
        raise _too_deep(name, limit) from None
    except ValueError as err:
        raise InputError(name, Said("files.json"), malformed_json(err)) from None


def _toml_error(err: Exception) -> str:
    """Where a TOML file's syntax error is (tomllib says it in English: only the place is
    kept)."""
    import re

    at = re.search(r"line (\d+), column (\d+)", str(err))
    if at:
        return Said("files.toml_error_at", line=int(at[1]), column=int(at[2]))
    return Said("files.toml_error")


def load_toml(text: str, name: str, limit: int = MAX_DEPTH,
              expected: str | None = None) -> dict[str, Any]:
    """TOML text parsed, its nesting checked before and after (dotted keys nest too).

    Raises:
        InputError: too deep, or a syntax error (one line naming ``name``).
    """
    import tomllib

    if toml_depth(text, limit) > limit:
        raise _too_deep(name, limit)
    try:
        data = tomllib.loads(text)
    except RecursionError:
        raise _too_deep(name, limit) from None
    except tomllib.TOMLDecodeError as err:
        raise InputError(name, expected or Said("files.toml"), _toml_error(err)) from None
    if data_depth(data, limit) > limit:
        raise _too_deep(name, limit)
    return data


def bounded_lines(stream: BinaryIO, max_line: int, max_total: int,
                  name: str) -> Iterator[bytes | None]:
    """The lines of a stream (without their line break), read in chunks: a line longer than
    ``max_line`` bytes comes as None (the rest of it is skipped, never held). Past
    ``max_total`` bytes in all, InputError.

    Raises:
        InputError: the stream holds more than ``max_total`` bytes.
    """
    read = getattr(stream, "read1", stream.read)
    pending = bytearray()
    skipping = False
    total = 0
    while True:
        chunk = read(CHUNK)
        if not chunk:
            break
        total += len(chunk)
        if total > max_total:
            raise InputError(name, Said("files.requests", limit=_limit_text(max_total)),
                             Said("errors.more"))
        start = 0
        while True:
            end = chunk.find(b"\n", start)
            piece = chunk[start:] if end < 0 else chunk[start:end]
            if not skipping:
                pending += piece
                if len(pending) > max_line:
                    pending.clear()
                    skipping = True
            if end < 0:
                break
            if skipping:
                yield None
                skipping = False
            else:
                yield bytes(pending.rstrip(b"\r"))
                pending.clear()
            start = end + 1
    if skipping:
        yield None
    elif pending:
        yield bytes(pending.rstrip(b"\r"))
