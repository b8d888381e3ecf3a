"""The languages dlexam writes, as data (kept free of heavy imports: the CLI reads it at start-up).

One :class:`Language` record per language: its code, its name in itself, Moodle's code for it,
the XeLaTeX fonts of its CJK text and the face index in their collection, the TeX macro that
wraps its text (colour) in a document, its punctuation, where its catalogs and its glyph table
live. Every driver (templates, the book, sheets, exams, Moodle, grading, the terminal) reads the
record; none names a language. Adding a language is its record here (or :func:`register` at run
time), its catalogs ``templates/i18n/<code>/*.toml`` and its glyph table
``templates/i18n/<code>/glyphs.txt`` (written by ``scripts/gen_fontchars.py``).

A build's language *choice* is one code, ``bilingual`` (English and Traditional Chinese, as the
book has always been), or two codes joined by ``+`` (``en+zh-Hans``).
"""

from __future__ import annotations

import bisect
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from dlexam import errors
from dlexam.errors import InputError, Said

I18N = Path(__file__).resolve().parent / "templates" / "i18n"


@dataclass(frozen=True)
class CJKFonts:
    """The xeCJK fonts (files of fonts-noto-cjk) and the face index inside their collection."""

    main: str = "NotoSerifCJK-Regular.ttc"
    main_bold: str = "NotoSerifCJK-Bold.ttc"
    sans: str = "NotoSansCJK-Regular.ttc"
    sans_bold: str = "NotoSansCJK-Bold.ttc"
    mono: str = "NotoSansCJK-Regular.ttc"
    index: int = 3


@dataclass(frozen=True)
class Language:
    """One language: everything a driver needs to write in it."""

    code: str  # BCP 47: en, zh-Hant, zh-Hans
    name: str  # in itself
    moodle: str  # Moodle's language pack (multilang spans)
    cjk: CJKFonts  # the CJK fonts of its documents (also for CJK names in an English document)
    wrapper: str = ""  # a TeX macro taking its text (``\zh``), empty for none
    full_stop: str = ". "  # after a sentence that another follows
    list_sep: str = ", "  # between the items of a list in prose
    colon: str = ": "
    decimal: str = "."  # the decimal mark of its numbers
    folder: Path | None = None  # its catalogs and glyph table; default templates/i18n/<code>
    uses_cjk_fonts: bool = field(default=False)  # its own text is set in the CJK fonts

    @property
    def catalogs(self) -> Path:
        return self.folder if self.folder is not None else I18N / self.code

    @property
    def glyph_table(self) -> Path:
        return self.catalogs / "glyphs.txt"

    def wrap(self, tex: str) -> str:
        """Its text in a document, wrapped in its macro (the colour of the second language)."""
        return f"{self.wrapper}{{{tex}}}" if self.wrapper else tex


TC = CJKFonts(index=3)
SC = CJKFonts(index=2)

_REGISTRY: dict[str, Language] = {}


def register(lang: Language) -> Language:
    """Adds (or replaces) a language; its catalogs and glyph table are read when first used."""
    _REGISTRY[lang.code] = lang
    glyphs.cache_clear()
    messages.cache_clear()
    return lang


def unregister(code: str) -> None:
    """Removes a language added at run time (the tests' throwaway language)."""
    _REGISTRY.pop(code, None)
    glyphs.cache_clear()
    messages.cache_clear()



BILINGUAL: tuple[str, str] = ("en", "zh-Hant")


def codes() -> tuple[str, ...]:
    """Every language's code, in the order registered."""
    return tuple(_REGISTRY)


def language(code: str) -> Language:
    """The record of one language.

    Raises:
        KeyError: no language has that code.
    """
    return _REGISTRY[code]


def choices() -> tuple[str, ...]:
    """The build choices: each code, ``bilingual``, and English paired with each other one."""
    return (*codes(), "bilingual", *(f"en+{c}" for c in codes() if c != "en"))


def langs_for(choice: str) -> tuple[str, ...]:
    """The languages a build in ``choice`` shows (``bilingual``: English and Traditional
    Chinese; ``en+zh-Hans``: those two, in that order; one code: that one).

    Raises:
        InputError: a code that is not a language, or a language named twice.
    """
    return parse_choice("--lang", choice)


def parse_choice(name: str, choice: object) -> tuple[str, ...]:
    """A language choice (a code, ``bilingual``, ``a+b``, or a list of codes) as its codes.

    Raises:
        InputError: naming ``name``, when a code is not a language or is named twice.
    """
    expected = Said("langs.errors.language", known=", ".join(choices()))
    if choice == "bilingual":
        return BILINGUAL
    if isinstance(choice, str):
        parts: list[object] = list(choice.split("+"))
    elif isinstance(choice, (list, tuple)) and choice:
        parts = list(choice)
    else:
        raise InputError(name, expected, repr(choice)[:60])
    if not all(isinstance(p, str) and p in _REGISTRY for p in parts) or len(set(parts)) != len(
            parts):
        raise InputError(name, expected, repr(choice)[:60])
    return tuple(str(p) for p in parts)


def _flatten(prefix: str, table: Mapping[str, Any], out: dict[str, str]) -> None:
    for key, value in table.items():
        full = f"{prefix}.{key}" if prefix else key
        if isinstance(value, Mapping):
            _flatten(full, value, out)
        else:
            out[full] = str(value)


@cache
def messages(code: str) -> Mapping[str, str]:
    """The message catalog of one language, merged from its ``*.toml`` files.

    Keys are flattened (``"param_count.lstm"``); a key defined in two files is an error.

    Raises:
        KeyError: no such language.
    """
    if code not in _REGISTRY:
        raise KeyError(f"no catalog for language {code!r}")
    out: dict[str, str] = {}
    for entry in sorted(_REGISTRY[code].catalogs.glob("*.toml"), key=lambda e: e.name):
        part: dict[str, str] = {}
        _flatten("", tomllib.loads(entry.read_text("utf-8")), part)
        clash = set(part) & set(out)
        if clash:
            raise ValueError(f"{code}/{entry.name} defines {sorted(clash)[0]!r} again")
        out.update(part)
    return out


def say(code: str, key: str, fields: Mapping[str, Any]) -> str:
    """A plain catalog sentence (an error message, a label) with its ``{name}`` fields filled
    as text (names from code, between backticks in the catalog, as they are); prose with math
    and symbols goes through :mod:`dlexam.render.prose`."""
    text = messages(code)[key].replace("`", "")
    return text.format_map(dict(fields)) if fields else text  # no fields: braces as written


errors.SAY[:] = [say]


def cjk_fonts(langs: tuple[str, ...] | list[str]) -> CJKFonts:
    """The CJK fonts of a document in ``langs``: those of its language set in CJK fonts (the
    first such), else the first language's (an English document sets Chinese names with them)."""
    for code in langs:
        if _REGISTRY[code].uses_cjk_fonts:
            return _REGISTRY[code].cjk
    return _REGISTRY[langs[0]].cjk


@cache
def glyphs(code: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """A language's glyph table: the starts and ends of the code-point ranges its documents'
    fonts set (``glyphs.txt``: one ``lo-hi`` range in hex a line)."""
    starts: list[int] = []
    ends: list[int] = []
    for line in _REGISTRY[code].glyph_table.read_text(encoding="ascii").split():
        lo, _, hi = line.partition("-")
        starts.append(int(lo, 16))
        ends.append(int(hi or lo, 16))
    return tuple(starts), tuple(ends)


def settable(code_point: int) -> bool:
    """Whether every language's fonts set this character (a name typed by a user may be shown
    in a document of any language)."""
    for code in _REGISTRY:
        starts, ends = glyphs(code)
        i = bisect.bisect_right(starts, code_point) - 1
        if i < 0 or code_point > ends[i]:
            return False
    return True


register(Language("en", "English", "en", TC))
register(Language("zh-Hant", "繁體中文", "zh_tw", TC, wrapper=r"\zh", full_stop="。",
                  list_sep="、", colon="：", uses_cjk_fonts=True))
register(Language("zh-Hans", "简体中文", "zh_cn", SC, wrapper=r"\zh", full_stop="。",
                  list_sep="、", colon="：", uses_cjk_fonts=True))

LANGS: tuple[str, ...] = codes()
"""The built-in languages (tests walk them); drivers call :func:`codes`, which also holds the
languages registered at run time."""
