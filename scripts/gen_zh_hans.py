"""Makes the Simplified Chinese catalogs, ``dlexam/templates/i18n/zh-Hans/*.toml``, from the
Traditional ones (``zh-Hant/``): mainland terms from ``templates/i18n/glossary.toml``, rows and
columns swapped (Taiwan's 列 is a row, the mainland's 行), the rest through OpenCC's ``tw2sp``
(Traditional characters and Taiwanese phrases to Simplified, mainland phrases).

Run it after a zh-Hant catalog changes: ``python scripts/gen_zh_hans.py`` (needs the test
extra's ``opencc``; dlexam itself reads only the files written). tests/test_langs.py fails while
the committed zh-Hans catalogs differ from what this writes. A term OpenCC gets wrong is fixed
in the glossary, never by editing zh-Hans/ by hand.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

I18N = Path(__file__).resolve().parents[1] / "dlexam" / "templates" / "i18n"
HEADER = ("# Generated from ../zh-Hant/{name} by scripts/gen_zh_hans.py (OpenCC tw2sp and\n"
          "# ../glossary.toml); do not edit: change zh-Hant or the glossary and run it again.\n")
ROW, COLUMN = "列", "行"  # Taiwan's row and column; the mainland writes them the other way round


def glossary() -> dict[str, object]:
    """The glossary: ``term`` and ``phrase`` tables, ``keep`` (words whose 列/行 stay)."""
    return tomllib.loads((I18N / "glossary.toml").read_text(encoding="utf-8"))


def pairs(data: dict[str, object], name: str | None = None) -> list[tuple[str, str]]:
    """(zh-Hant, zh-Hans) for every term and phrase (a phrase with a ``file`` only in that
    catalog: the hinge loss's 邊界 is a margin, 间隔, a convolution's a border), and (word, NUL
    word) for the kept words (converted by OpenCC, but their 列/行 left alone), longest first."""
    out = [(t["zh-Hant"], t["zh-Hans"]) for t in data.get("term", [])]  # type: ignore[index,attr-defined]
    out += [(t["zh-Hant"], t["zh-Hans"]) for t in data.get("phrase", [])  # type: ignore[index,attr-defined]
            if t.get("file") in (None, name)]
    out += [(w, "\0" + w) for w in data.get("keep", [])]  # type: ignore[attr-defined]
    return sorted(out, key=lambda p: -len(p[0]))


def convert(text: str, data: dict[str, object] | None = None, name: str | None = None) -> str:
    """One zh-Hant text (of the catalog ``name``) in zh-Hans."""
    import re

    import opencc

    data = glossary() if data is None else data
    table = pairs(data, name)
    held: list[str] = []

    def hold(piece: str) -> str:
        held.append(piece)
        return f"@@{len(held) - 1}@@"

    for hant, hans in table:
        if hant in text:
            text = text.replace(hant, hold(hans))
    # the glossary's patterns (regular expressions) for what the phrases left: Taiwan's 依
    # (according to) is the mainland's 按, but not in 依赖, 依次, 依然, 依据
    for rule in data.get("pattern", []):  # type: ignore[attr-defined]
        text = re.sub(rule["zh-Hant"], lambda _m, r=rule: hold(r["zh-Hans"]), text)
    text = text.translate({ord(ROW): COLUMN, ord(COLUMN): ROW})
    for k, piece in enumerate(held):
        if piece.startswith("\0"):
            text = text.replace(f"@@{k}@@", piece[1:])
    # tw2sp's phrases leave a character now and then (於 in 於單一): t2s takes the rest
    text = opencc.OpenCC("t2s").convert(opencc.OpenCC("tw2sp").convert(text))
    for k, piece in enumerate(held):
        text = text.replace(f"@@{k}@@", piece)
    return text


def generated() -> dict[str, str]:
    """File name -> the zh-Hans catalog the zh-Hant one gives."""
    data = glossary()
    return {path.name: HEADER.format(name=path.name)
            + convert(path.read_text(encoding="utf-8"), data, path.name)
            for path in sorted((I18N / "zh-Hant").glob("*.toml"))}


def main() -> int:
    out = I18N / "zh-Hans"
    out.mkdir(exist_ok=True)
    files = generated()
    for old in out.glob("*.toml"):
        if old.name not in files:
            old.unlink()
    for name, text in files.items():
        (out / name).write_text(text, encoding="utf-8")
    print(f"wrote {len(files)} catalogs to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
