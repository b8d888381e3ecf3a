"""The project's exceptions: whose fault an error is, and a message a student can act on."""

from __future__ import annotations

ECHO_CHARS = 80
"""The most characters of an offending input a message shows."""
GOT_CHARS = 240
"""The most characters of a description of what was given (it may quote an input)."""
SAID_CHARS = 2000
"""The most characters of a catalog sentence in a message (it may hold a path or a list of
names; what the user typed in it has its control characters escaped)."""
PARAM_CHARS = 200
"""The most characters of a parameter's name in a message (a path and a TOML path, or a name
the user typed: those are cut to :data:`ECHO_CHARS` where they are named)."""


def echo(text: str, limit: int = ECHO_CHARS) -> str:
    """``text`` for a message: control characters escaped, at most ``limit`` characters shown.

    >>> echo("a\\x1bb")
    'a\\\\x1bb'
    """
    import unicodedata

    out = []
    for ch in text[: limit + 1]:
        if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
            code = ord(ch)
            out.append(ch.encode("unicode_escape").decode("ascii") if code < 0x100
                       else f"\\u{code:04x}")
        else:
            out.append(ch)
    shown = "".join(out)
    if len(text) > limit:
        return shown[:limit] + f"... ({len(text):,} characters)"
    return shown


_READER = ["en"]


def stderr_lang() -> str:
    """The language of the notes a command writes on stderr while it works ("waiting for
    another build"), set by :func:`set_stderr_lang` (English until a command sets it)."""
    return _READER[0]


def set_stderr_lang(lang: str) -> None:
    """Says the notes on stderr in ``lang`` from now on (the command line's ``--lang``)."""
    _READER[0] = lang


SAY: list = []
"""``(lang, key, fields) -> text``: the catalogs' reader, set by :mod:`dlexam.langs` (which
imports this module, so that errors need not import it)."""


class Said(str):
    """A sentence from the catalogs: the English text (as a ``str``), with the key and fields
    that say it in another language (:meth:`said_in`). A field may itself be a :class:`Said`,
    or a tuple of alternatives, joined by the language's ``show.or`` ("a or b"), or a list of
    items, joined by its ``show.list_sep`` (", " in English, "、" in Chinese)."""

    key: str
    fields: dict

    def __new__(cls, key: str, **fields: object) -> Said:
        obj = super().__new__(cls, _say("en", key, fields))
        obj.key = key
        obj.fields = fields
        return obj

    def said_in(self, lang: str) -> str:
        """The sentence in ``lang``."""
        return _say(lang, self.key, self.fields)

    def __reduce__(self) -> tuple:
        # pickled by key and fields (a worker process sends one to the web server)
        return (_remade, (self.key, self.fields))


def _remade(key: str, fields: dict) -> Said:
    return Said(key, **fields)


def _say(lang: str, key: str, fields: dict) -> str:
    shown = {}
    for name, value in fields.items():
        if isinstance(value, tuple):
            value = _say(lang, "show.or", {}).join(
                v.said_in(lang) if isinstance(v, Said) else str(v) for v in value)
        elif isinstance(value, list):  # items of a list: the language's list separator
            value = _say(lang, "show.list_sep", {}).join(
                v.said_in(lang) if isinstance(v, Said) else str(v) for v in value)
        elif isinstance(value, Said):
            value = value.said_in(lang)
        shown[name] = value
    if not SAY:
        return key + ": " + ", ".join(f"{k}={v}" for k, v in shown.items())
    return SAY[0](lang, key, shown)


def said_in(text: object, lang: str) -> str:
    """``text`` in ``lang`` when it is a :class:`Said`, else as it is (a name the user typed)."""
    return text.said_in(lang) if isinstance(text, Said) else str(text)


class DlexamError(Exception):
    """Base class of every error dlexam raises on purpose."""

    def said_in(self, lang: str) -> str:
        """The message in ``lang`` where it is a :class:`Said` (else as it is)."""
        return said_in(self.args[0], lang) if self.args else str(self)


class InputError(DlexamError):
    """The user's input is wrong: a parameter is missing, malformed or inconsistent.

    Args:
        param: the parameter's name, as the user typed it.
        expected: what was expected, in words (``"a square matrix (H x H)"``).
        got: an optional short description of what was given.
    """

    def __init__(self, param: str, expected: str, got: str | None = None) -> None:
        # what the user typed may be long or hold control characters: shown bounded, escaped
        param = echo(param, PARAM_CHARS)
        if got is not None and not isinstance(got, Said):  # a Said is ours: shown as it is
            got = echo(got, GOT_CHARS)
        self.param = param
        self.expected = expected
        self.got = got
        super().__init__(self.said_in("en"))

    def said_in(self, lang: str) -> str:
        """The one-line message in ``lang``: the parameter (as typed), what was expected and
        what was given, each in ``lang`` where it comes from the catalogs."""
        # a sentence of ours may hold what the user typed (a path, a token): escaped here
        expected = echo(said_in(self.expected, lang), SAID_CHARS)
        if isinstance(self.got, Said) and self.got.key in ("errors.nothing",
                                                           "errors.nothing_required"):
            # nothing given: said as a missing parameter ("X: not given (expected ...)"), not
            # as "got" a phrase, which a language may not put there
            key = self.got.key.replace("errors.nothing", "errors.missing")
            return _say(lang, key, {"param": self.param, "expected": expected})
        if self.got is None:
            return _say(lang, "errors.expected", {"param": self.param, "expected": expected})
        return _say(lang, "errors.expected_got", {"param": self.param, "expected": expected,
                                                  "got": echo(said_in(self.got, lang),
                                                              SAID_CHARS)})


class UnknownDerivationError(DlexamError):
    """The derivation name is not registered."""

    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        self.known = known
        super().__init__(Said("errors.unknown_derivation", name=repr(name),
                              known=", ".join(known)))


class BuildError(DlexamError):
    """The document could not be built (TeX failed, a tool is missing, a glyph is missing).

    Args:
        message: one line saying what went wrong.
        log: the TeX log, when there is one.
    """

    def __init__(self, message: str, log: str | None = None) -> None:
        self.log = log
        super().__init__(message)


STOPPED: list[int] = []
"""The stop signals (SIGINT, SIGTERM, SIGHUP) the command line received, in order. Its
handlers raise an exception, which a library's bare ``except:`` could swallow (a signal that
lands while SymPy is imported); a long wait checks this list too (:func:`raise_if_stopped`)."""


def raise_if_stopped() -> None:
    """Raises the exception of a stop signal that arrived, if one did: KeyboardInterrupt for
    SIGINT, :class:`Terminated` for the others."""
    import signal

    if STOPPED:
        if STOPPED[-1] == signal.SIGINT:
            raise KeyboardInterrupt
        raise Terminated(STOPPED[-1])


class Terminated(BaseException):
    """SIGTERM or SIGHUP arrived: unwinds like Ctrl-C, so TeX is stopped and temporary folders
    removed (``args[0]`` is the signal's number)."""
