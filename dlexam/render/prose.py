"""The message catalogs: all prose, per language, and how a message is filled.

A catalog message is plain text with ``{name}`` fields filled from a step's data, ``{=key}``
fields naming a symbol of the notation table, inline math between dollar signs (trusted LaTeX:
the catalogs are ours; in the terminal the same formula read by :mod:`dlexam.notation.texmath`
and printed as text), and names from code between
backticks (set in a typewriter font). In LaTeX the plain text is escaped, the values typeset.
"""

from __future__ import annotations

import html
import re
import string
from collections.abc import Mapping
from typing import Any

import sympy as sp
from pylatex import NoEscape
from pylatex.utils import escape_latex

from dlexam.langs import messages
from dlexam.notation import display, lookup
from dlexam.notation.display import render
from dlexam.notation.texmath import text_of_tex


def catalog(lang: str) -> Mapping[str, str]:
    """The message catalog of one language, merged from ``i18n/<lang>/*.toml`` (read by
    :func:`dlexam.langs.messages`; keys flattened, ``"param_count.lstm"``)."""
    return messages(lang)


def message(lang: str, key: str) -> str:
    """One catalog message.

    Raises:
        KeyError: the key is missing in that language (a bug the catalog test catches).
    """
    try:
        return catalog(lang)[key]
    except KeyError:
        raise KeyError(f"message {key!r} is missing in the {lang} catalog") from None


_FORMATTER = string.Formatter()

_PIECEWISE = re.compile(r"\\dlx(for|otherwise)(?![A-Za-z]) ?")


def worded(lang: str, printed: str, backend: str = "latex") -> str:
    """A printed formula with the words of its piecewise parts (marked by the printers:
    :data:`dlexam.notation.printers.PIECEWISE_WORDS`) in ``lang``: ``x \\text{若}\\: x > 0``
    in LaTeX (``backend`` "latex", or "html": the web page's KaTeX, Moodle's MathJax),
    ``x 若 x > 0`` as "text"."""
    if "\\dlx" not in printed:
        return printed

    def word(match: re.Match[str]) -> str:
        said = message(lang, "piecewise." + match.group(1))
        if backend == "text":
            return said + (" " if match.group(1) == "for" else "")
        tail = r"\: " if match.group(1) == "for" else " "
        body = escape_latex(said)
        return r"\text{" + (html.escape(body) if backend == "html" else body) + "}" + tail

    return _PIECEWISE.sub(word, printed)


def _value_tex(value: Any) -> str:
    """A value inside a sentence, as LaTeX (vectors as tuples)."""
    return render(value, "latex", "prose", lists="tuple")


def _value_text(value: Any) -> str:
    """A value inside a sentence, as plain text (vectors as tuples)."""
    return render(value, "text", "prose", lists="tuple")


_SPECIAL = re.compile(r"\$(?P<math>[^$]+)\$|`(?P<code>[^`]+)`")
def _segments(message_text: str) -> list[tuple[str, str]]:
    """A message cut into (kind, text) pieces: "math" between dollar signs, "code" between
    backticks (names from code such as `np.dot`), "text" elsewhere."""
    pieces: list[tuple[str, str]] = []
    last = 0
    for match in _SPECIAL.finditer(message_text):
        pieces.append(("text", message_text[last : match.start()]))
        if match.group("math") is not None:
            pieces.append(("math", match.group("math")))
        else:
            pieces.append(("code", match.group("code")))
        last = match.end()
    pieces.append(("text", message_text[last:]))
    return [p for p in pieces if p[1]]


def fields(message_text: str) -> set[str]:
    """The ``{name}`` and ``{=key}`` fields a message uses (outside its math and code)."""
    return {
        f
        for kind, piece in _segments(message_text)
        if kind == "text"
        for _, f, _, _ in _FORMATTER.parse(piece)
        if f is not None
    }


_DOLLARS = re.compile(r"\$([^$]+)\$")
DOLLARS = ("$", "$")  # inline math delimiters in HTML: MathJax's and Jupyter's
MATHJAX_INLINE = ("\\(", "\\)")  # MathJax's default, the one Moodle's MathJax filter reads


def _value_html(value: Any, delims: tuple[str, str] = DOLLARS) -> str:
    if isinstance(value, str):
        return html.escape(value)
    tex = render(value, "latex", "web", lists="tuple")
    return html.escape(_DOLLARS.sub(lambda m: delims[0] + m.group(1) + delims[1], tex))


def _items(value: Any) -> int:
    """How many values a sentence would list for ``value`` (a list, or a matrix's rows or
    entries, whichever is longer); 1 for anything else."""
    if isinstance(value, sp.MatrixBase):
        return max(value.shape)
    if isinstance(value, (list, tuple)):
        return len(value)
    return 1


def form(lang: str, key: str, data: Mapping[str, Any]) -> str:
    """The key of the message to show: ``key`` itself, or its ``<key>_long`` form when the
    catalog has one and a value the message lists is longer than the layout lists in a
    sentence (:data:`dlexam.notation.display.LAYOUT`). Derivations give the whole value; what
    a sentence lists is the templates' choice."""
    long_key = key + "_long"
    if long_key not in catalog(lang):
        return key
    listed = [data[f] for f in fields(message(lang, key)) if f in data]
    return key if all(display.LAYOUT.lists(_items(v)) for v in listed) else long_key


def _fill(lang: str, key: str, data: Mapping[str, Any], as_tex: bool,
          as_html: bool = False, delims: tuple[str, str] = DOLLARS) -> str:
    """A message filled in: as LaTeX, as plain text, or (as_html) as HTML text whose math is
    TeX between ``delims`` for MathJax."""
    left, right = delims
    parts: list[str] = []
    key = form(lang, key, data)
    for kind, piece in _segments(message(lang, key)):
        if kind == "math":
            if as_html:
                parts.append(html.escape(f"{left}{piece}{right}"))
            else:
                parts.append(f"${piece}$" if as_tex else text_of_tex(piece))
            continue
        if kind == "code":
            if as_html:
                parts.append("<code>" + html.escape(piece) + "</code>")
            else:
                parts.append(r"\texttt{" + display.code_tex(escape_latex(piece)) + "}"
                             if as_tex else piece)
            continue
        for literal, field, spec, _conv in _FORMATTER.parse(piece):
            if literal:
                if as_html:
                    parts.append(html.escape(literal))
                elif as_tex:
                    parts.append(display.quotes_tex(escape_latex(literal), parts[-1] if parts
                                                    else ""))
                else:
                    parts.append(literal)
            if field is None:
                continue
            if spec:
                raise ValueError(f"{lang}:{key}: format specs are not used in messages")
            if field.startswith("="):
                entry = lookup(field[1:])
                if as_html:
                    parts.append(html.escape(f"{left}{entry[0]}{right}"))
                else:
                    parts.append(f"${entry[0]}$" if as_tex else entry[1])
                continue
            if field not in data:
                raise KeyError(f"{lang}:{key}: the step gives no value for {{{field}}}")
            value = data[field]
            if isinstance(value, display.Phrase):  # a message inside a message: its own fields
                parts.append(_fill(lang, value.key, value.data, as_tex, as_html, delims))
                continue
            if isinstance(value, display.Listed):
                value = value.joined(message(lang, "book.list_sep"))
            if as_html:
                parts.append(worded(lang, _value_html(value, delims), "html"))
            else:
                parts.append(worded(lang, _value_tex(value)) if as_tex
                             else worded(lang, _value_text(value), "text"))
    return "".join(_punctuation_boxed(parts) if as_tex else parts)


_AFTER = frozenset(",.;:!?，。；：、！？）)")
_BOX = r"\dlxfit{$"
_NAME = re.compile(r"\$(?P<name>[^$]{1,40}?)\s*(?P<eq>=?)\s*\$\Z")


def _punctuation_boxed(parts: list[str]) -> list[str]:
    """A matrix's box (``\\dlxfit``) takes the name written just before it (``$U$ =`` or
    ``$U =$``) and the punctuation mark just after it, so that a matrix set on a line of its
    own keeps both: "U =" is not left at the end of the line above, and the next line does
    not open with its comma or full stop (a line opening with "。" reads as a mistake)."""
    out = list(parts)
    for i, here in enumerate(out):
        if not (here.startswith(_BOX) and here.endswith("$}")):
            continue
        if i + 1 < len(out) and out[i + 1][:1] in _AFTER:
            here = here[:-2] + r"\mbox{" + out[i + 1][0] + "}$}"
            out[i + 1] = out[i + 1][1:]
        if i >= 2 and (name := _NAME.search(out[i - 2])) is not None and (
                (name["eq"] and not out[i - 1].strip())
                or (not name["eq"] and out[i - 1].strip() == "=")):
            here = _BOX + name["name"] + " = " + here[len(_BOX):]
            out[i - 2] = out[i - 2][:name.start()]
            out[i - 1] = " " if out[i - 1][:1].isspace() and out[i - 2][-1:] not in " " else ""
        out[i] = here
    return out


def prose_tex(lang: str, key: str, data: Mapping[str, Any] | None = None) -> NoEscape:
    """A catalog message as LaTeX: its text escaped, its values typeset."""
    return NoEscape(_fill(lang, key, data or {}, as_tex=True))


def prose_html(lang: str, key: str, data: Mapping[str, Any] | None = None,
               delims: tuple[str, str] = DOLLARS) -> str:
    """A catalog message as HTML: text escaped, math as TeX between ``delims`` (dollar signs
    by default) for MathJax."""
    return _fill(lang, key, data or {}, as_tex=False, as_html=True, delims=delims)


def prose_text(lang: str, key: str, data: Mapping[str, Any] | None = None) -> str:
    """A catalog message as plain text for the terminal."""
    return _fill(lang, key, data or {}, as_tex=False)
