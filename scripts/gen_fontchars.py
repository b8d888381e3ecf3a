"""Regenerates each language's glyph table, ``dlexam/templates/i18n/<code>/glyphs.txt``: the
characters its documents' fonts can set.

Run on a machine with the system packages installed (fontconfig's fc-query, lmodern,
fonts-noto-cjk): ``python scripts/gen_fontchars.py [CODE ...]`` (every language by default). A
character is in a language's table when every Latin Modern face the documents use has it (roman
regular and bold, mono), or when xeCJK sends it to the CJK fonts (the CJK blocks below) and
every CJK face of the language's record (:class:`dlexam.langs.CJKFonts`, at its face index) has
it. The table is one ``lo-hi`` range of code points in hex a line, sorted.
"""

from __future__ import annotations

import subprocess
import sys

from dlexam import langs

LM = "/usr/share/texmf/fonts/opentype/public/lm/"
FONTS = "/usr/share/fonts/opentype/noto/"
LATIN_FACES = [LM + "lmroman10-regular.otf", LM + "lmroman10-bold.otf",
               LM + "lmmono10-regular.otf"]
# blocks xeCJK sets in the CJK font: radicals, CJK symbols and punctuation, kana, bopomofo,
# enclosed/compatibility CJK, ideographs (extension A, unified, compatibility), Hangul
# syllables, vertical and small forms, half/fullwidth forms, supplementary ideographs
CJK_BLOCKS = [(0x2E80, 0x2FDF), (0x3000, 0x303F), (0x3040, 0x30FF), (0x3100, 0x312F),
              (0x31A0, 0x31BF), (0x31F0, 0x31FF), (0x3200, 0x33FF), (0x3400, 0x4DBF),
              (0x4E00, 0x9FFF), (0xAC00, 0xD7AF), (0xF900, 0xFAFF), (0xFE30, 0xFE4F),
              (0xFF00, 0xFFEF), (0x20000, 0x2FA1F)]


def charset(path: str, index: int = 0) -> set[int]:
    out = subprocess.run(["fc-query", "-i", str(index), "-f", "%{charset}", path],
                         capture_output=True, text=True, check=True).stdout
    chars: set[int] = set()
    for part in out.split():
        lo, _, hi = part.partition("-")
        chars.update(range(int(lo, 16), int(hi or lo, 16) + 1))
    return chars


def ranges(chars: set[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for c in sorted(chars):
        if out and out[-1][1] == c - 1:
            out[-1] = (out[-1][0], c)
        else:
            out.append((c, c))
    return out


def table(code: str) -> str:
    """The glyph table of one language, as the text of its ``glyphs.txt``."""
    fonts = langs.language(code).cjk
    faces = {fonts.main, fonts.main_bold, fonts.sans, fonts.sans_bold, fonts.mono}
    latin = set.intersection(*(charset(f) for f in LATIN_FACES))
    cjk = set.intersection(*(charset(FONTS + f, fonts.index) for f in sorted(faces)))
    in_blocks = {c for lo, hi in CJK_BLOCKS for c in range(lo, hi + 1)}
    allowed = (latin - in_blocks) | (cjk & in_blocks)
    return "".join(f"{lo:X}-{hi:X}\n" for lo, hi in ranges(allowed))


def main(argv: list[str]) -> None:
    for code in argv or langs.codes():
        langs.language(code).glyph_table.write_text(table(code), encoding="ascii")


if __name__ == "__main__":
    main(sys.argv[1:])
