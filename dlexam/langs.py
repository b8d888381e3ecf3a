"""The languages dlexam writes (kept free of heavy imports: the CLI reads it at start-up)."""

from __future__ import annotations

LANGS: tuple[str, ...] = ("en", "zh-Hant")
LANG_CHOICES: tuple[str, ...] = ("en", "zh-Hant", "bilingual")


def langs_for(choice: str) -> tuple[str, ...]:
    """The languages a build in ``choice`` (``en``, ``zh-Hant`` or ``bilingual``) shows."""
    return LANGS if choice == "bilingual" else (choice,)
