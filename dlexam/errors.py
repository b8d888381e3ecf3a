"""The project's exceptions: whose fault an error is, and a message a student can act on."""

from __future__ import annotations


class DlexamError(Exception):
    """Base class of every error dlexam raises on purpose."""


class InputError(DlexamError):
    """The user's input is wrong: a parameter is missing, malformed or inconsistent.

    Args:
        param: the parameter's name, as the user typed it.
        expected: what was expected, in words (``"a square matrix (H x H)"``).
        got: an optional short description of what was given.
    """

    def __init__(self, param: str, expected: str, got: str | None = None) -> None:
        self.param = param
        self.expected = expected
        self.got = got
        msg = f"{param}: expected {expected}"
        if got is not None:
            msg += f", got {got}"
        super().__init__(msg)


class UnknownDerivationError(DlexamError):
    """The derivation name is not registered."""

    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        self.known = known
        super().__init__(f"unknown derivation {name!r}; known: {', '.join(known)}")


class BuildError(DlexamError):
    """The document could not be built (TeX failed, a tool is missing, a glyph is missing).

    Args:
        message: one line saying what went wrong.
        log: the TeX log, when there is one.
    """

    def __init__(self, message: str, log: str | None = None) -> None:
        self.log = log
        super().__init__(message)


class Terminated(BaseException):
    """SIGTERM or SIGHUP arrived: unwinds like Ctrl-C, so TeX is stopped and temporary folders
    removed (``args[0]`` is the signal's number)."""
