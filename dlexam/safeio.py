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

from dlexam.errors import InputError, echo

CHUNK = 1 << 16
MAX_DEPTH = 32
"""Brackets (lists, objects, inline tables) nest at most this deep in a JSON or TOML file."""


def _kind(mode: int) -> str | None:
    """What a file is when it is not a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


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
        raise InputError(name, f"an existing {what}", "no such file") from None
    except OSError as err:
        raise InputError(name, f"a readable {what}", err.strerror or str(err)) from None
    try:
        kind = _kind(os.fstat(fd).st_mode)
        if kind is not None:
            raise InputError(name, f"a regular {what}", kind)
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb", buffering=0)
    except BaseException:
        os.close(fd)
        raise


def _limit_text(limit: int) -> str:
    if limit >= 1 << 20 and limit % (1 << 20) == 0:
        return f"{limit >> 20} MiB"
    return f"{limit:,} bytes"


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
        raise InputError(name, f"a {what} of at most {_limit_text(limit)}", "a larger one")
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
        raise InputError(name, f"a readable {what}", err.strerror or str(err)) from None


def decode_utf8(raw: bytes, name: str, bom: bool = True) -> str:
    """UTF-8 text (a leading byte-order mark dropped when ``bom``).

    Raises:
        InputError: the bytes are not UTF-8, naming the offset.
    """
    try:
        return raw.decode("utf-8-sig" if bom else "utf-8")
    except UnicodeDecodeError as err:
        raise InputError(name, "UTF-8 text",
                         f"the byte 0x{raw[err.start]:02x} at offset {err.start}") from None


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
    return InputError(name, f"lists and tables nested at most {limit} deep",
                      "deeper nesting")


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
        raise InputError(name, "JSON", f"malformed JSON ({echo(str(err))})") from None


def load_toml(text: str, name: str, limit: int = MAX_DEPTH,
              expected: str = "a TOML file") -> dict[str, Any]:
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
        raise InputError(name, expected, f"a syntax error ({echo(str(err))})") from None
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
            raise InputError(name, f"at most {_limit_text(max_total)} of requests",
                             "more")
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
