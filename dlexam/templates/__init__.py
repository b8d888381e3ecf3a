"""Language text and LaTeX templates.

Re-exports :data:`LANGS`, :data:`LANG_CHOICES` and :func:`langs_for` from ``dlexam.langs``.

All prose lives in the catalogs ``i18n/<lang>.toml`` (one file per language, the same keys in
each); all LaTeX and TikZ lives in ``latex/*.tex.j2``. This module loads both and renders:

- a catalog message is plain text with ``{name}`` fields filled from a step's data,
  ``{=key}`` fields naming a symbol of the notation table, inline math between dollar
  signs (trusted LaTeX: the catalogs are ours), shown as plain text in the terminal, and names
  from code between backticks, set in a typewriter font;
- in LaTeX every piece of text is escaped on output, unless it is a :class:`pylatex.NoEscape`
  produced by our own printer or templates.
"""

from __future__ import annotations

import re
import string
import tomllib
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

import jinja2
import sympy as sp
from markupsafe import Markup
from pylatex import NoEscape
from pylatex.utils import escape_latex

from dlexam.derivations.core import Step
from dlexam.derivations.notation import SYMBOLS, is_exact_short, sym, tex, text
from dlexam.langs import LANG_CHOICES, LANGS, langs_for


def _flatten(prefix: str, table: Mapping[str, Any], out: dict[str, str]) -> None:
    for key, value in table.items():
        full = f"{prefix}.{key}" if prefix else key
        if isinstance(value, Mapping):
            _flatten(full, value, out)
        else:
            out[full] = str(value)


@cache
def catalog(lang: str) -> Mapping[str, str]:
    """The message catalog of one language, merged from ``i18n/<lang>/*.toml``.

    Keys are flattened (``"param_count.lstm"``); a key defined in two files is an error.
    """
    if lang not in LANGS:
        raise KeyError(f"no catalog for language {lang!r}")
    folder = resources.files("dlexam.templates").joinpath("i18n", lang)
    out: dict[str, str] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".toml"):
            continue
        part: dict[str, str] = {}
        _flatten("", tomllib.loads(entry.read_text("utf-8")), part)
        clash = set(part) & set(out)
        if clash:
            raise ValueError(f"{lang}/{entry.name} defines {sorted(clash)[0]!r} again")
        out.update(part)
    return out


def message(lang: str, key: str) -> str:
    """One catalog message.

    Raises:
        KeyError: the key is missing in that language (a bug the catalog test catches).
    """
    try:
        return catalog(lang)[key]
    except KeyError:
        raise KeyError(f"message {key!r} is missing in the {lang} catalog") from None


__all__ = ["LANGS", "LANG_CHOICES", "catalog", "langs_for", "latex_env", "message", "prose_tex",
           "prose_text", "render", "render_text"]

_FORMATTER = string.Formatter()


def _value_tex(value: Any, digits: int = 4) -> str:
    if isinstance(value, NoEscape):
        return value
    if isinstance(value, sp.MatrixBase) and 1 in value.shape:
        # a vector inside a sentence: a tuple whose line may break after each comma
        entries = [tex(shown_value(v, digits)[1], digits=digits) for v in value]
        return "$(" + r",\allowbreak\ ".join(entries) + ")$"
    if isinstance(value, bool):
        return escape_latex(str(value).lower())
    if isinstance(value, (int, sp.Basic)) and not isinstance(value, bool):
        return "$" + tex(shown_value(value, digits)[1], digits=digits) + "$"
    if isinstance(value, float):
        return "$" + tex(sp.Float(value), digits=digits) + "$"
    return escape_latex(str(value))


def _value_text(value: Any, digits: int = 4) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, sp.MatrixBase) and 1 in value.shape:
        return "(" + ", ".join(text(shown_value(v, digits)[1], digits=digits) for v in value) + ")"
    if isinstance(value, (int, float, sp.Basic)):
        number = value if not isinstance(value, float) else sp.Float(value)
        return text(shown_value(number, digits)[1], digits=digits)
    return str(value)


_SPECIAL = re.compile(r"\$(?P<math>[^$]+)\$|`(?P<code>[^`]+)`")
_TEXT_COMMANDS = [
    (re.compile(r"\\tilde\{([^{}]*)\}"), r"\1~"),
    (re.compile(r"\\(?:mathrm|mathbf|text|operatorname)\{([^{}]*)\}"), r"\1"),
    (re.compile(r"\\sqrt\{([^{}]*)\}"), r"sqrt(\1)"),
    (re.compile(r"\\frac\{([^{}]*)\}\{([^{}]*)\}"), r"(\1)/(\2)"),
]
_TEXT_SYMBOLS = {
    r"\sigma": "σ", r"\odot": "⊙", r"\cdot": "·", r"\sum": "Σ", r"\top": "T",
    r"\tanh": "tanh", r"\log": "log", r"\max": "max", r"\min": "min", r"\beta": "β",
    r"\approx": "≈", r"\le": "≤", r"\ge": "≥", r"\to": "→", r"\|": "||", r"\,": " ",
    r"\ldots": "...", r"\dots": "...", r"\times": "x", r"\infty": "∞", r"\alpha": "α",
    r"\quad": "  ", r"\left": "", r"\right": "", r"\partial": "∂", r"\lVert": "||",
    r"\rVert": "||", r"\mathcal": "", r"\leftarrow": "←", r"\rightarrow": "→",
}


def math_to_text(latex: str) -> str:
    """Inline catalog math (LaTeX) as plain text for the terminal: ``\\tilde{C}_t`` -> ``C~_t``."""
    out = latex
    for pattern, repl in _TEXT_COMMANDS:
        out = pattern.sub(repl, out)
    for command in sorted(_TEXT_SYMBOLS, key=len, reverse=True):
        out = out.replace(command, _TEXT_SYMBOLS[command])
    return out.replace("\\", "")


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


def _fill(lang: str, key: str, data: Mapping[str, Any], as_tex: bool) -> str:
    parts: list[str] = []
    for kind, piece in _segments(message(lang, key)):
        if kind == "math":
            parts.append(f"${piece}$" if as_tex else math_to_text(piece))
            continue
        if kind == "code":
            parts.append(r"\texttt{" + escape_latex(piece) + "}" if as_tex else piece)
            continue
        for literal, field, spec, _conv in _FORMATTER.parse(piece):
            if literal:
                parts.append(escape_latex(literal) if as_tex else literal)
            if field is None:
                continue
            if spec:
                raise ValueError(f"{lang}:{key}: format specs are not used in messages")
            if field.startswith("="):
                entry = SYMBOLS[field[1:]]
                parts.append(f"${entry[0]}$" if as_tex else entry[1])
                continue
            if field not in data:
                raise KeyError(f"{lang}:{key}: the step gives no value for {{{field}}}")
            value = data[field]
            parts.append(_value_tex(value) if as_tex else _value_text(value))
    return "".join(parts)


def prose_tex(lang: str, key: str, data: Mapping[str, Any] | None = None) -> NoEscape:
    """A catalog message as LaTeX: its text escaped, its values typeset."""
    return NoEscape(_fill(lang, key, data or {}, as_tex=True))


def prose_text(lang: str, key: str, data: Mapping[str, Any] | None = None) -> str:
    """A catalog message as plain text for the terminal."""
    return _fill(lang, key, data or {}, as_tex=False)


def shown_value(value: Any, digits: int = 4) -> tuple[bool, Any]:
    """Whether a value is shown exactly, and the value to print (rounded only for display)."""
    if isinstance(value, sp.MatrixBase):
        exact = all(is_exact_short(x, digits) or (x.is_Integer) for x in value)
        return exact, value if exact else value.applyfunc(lambda x: x.evalf(15))
    if isinstance(value, sp.Basic) and value.is_number:
        if value.is_Integer or is_exact_short(value, digits) or value in (sp.oo, -sp.oo, sp.zoo):
            return True, value
        return False, value.evalf(15)
    return True, value


# an equation wider than this (in characters of LaTeX source) is stacked, one part per line
_WIDE = 110


def equation_parts(step: Step, digits: int = 4) -> dict[str, Any]:
    """The typeset parts of a step's equation: lhs, formula, numbers put in, value.

    Parts that would repeat the previous one are left out; an inexact value gets ``\\approx``.
    """
    lhs = tex(step.lhs) if step.lhs is not None else ""
    symbolic = tex(step.symbolic, digits=digits) if step.symbolic is not None else ""
    substituted = (
        tex(step.substituted, digits=digits, numbers=True) if step.substituted is not None else ""
    )
    if substituted == symbolic:
        substituted = ""
    value = ""
    rel = "="
    if step.value is not None:
        exact, shown = shown_value(step.value, digits)
        value = tex(shown, digits=digits)
        rel = "=" if exact else r"\approx"
        if value in (substituted, symbolic):
            value = ""
    wide = len(lhs) + len(symbolic) + len(substituted) + len(value) > _WIDE
    return {
        "lhs": NoEscape(lhs),
        "symbolic": NoEscape(symbolic),
        "substituted": NoEscape(substituted),
        "value": NoEscape(value),
        "rel": NoEscape(rel),
        "wide": wide,
    }


def value_tex(value: Any, digits: int = 4) -> NoEscape:
    """A parameter or answer value as LaTeX: numbers and arrays typeset, text escaped."""
    if isinstance(value, NoEscape):
        return value
    if isinstance(value, (list, tuple)) and value and all(
        isinstance(v, (int, float, sp.Basic)) and not isinstance(v, bool) for v in value
    ):
        row = sp.Matrix([[v if isinstance(v, sp.Basic) else _number(v) for v in value]])
        return NoEscape("$" + tex(shown_value(row, digits)[1], digits=digits) + "$")
    if (
        isinstance(value, (list, tuple))
        and value
        and all(isinstance(r, (list, tuple)) and r for r in value)
        and len({len(r) for r in value}) == 1
        and all(isinstance(v, (int, float, sp.Basic)) and not isinstance(v, bool)
                for r in value for v in r)
    ):
        mat = sp.Matrix([[v if isinstance(v, sp.Basic) else _number(v) for v in r] for r in value])
        return NoEscape("$" + tex(shown_value(mat, digits)[1], digits=digits) + "$")
    if isinstance(value, (list, tuple)):
        return NoEscape(", ".join(value_tex(v, digits) for v in value))
    if isinstance(value, sp.Basic) or (isinstance(value, (int, float)) and
                                      not isinstance(value, bool)):
        num = value if isinstance(value, sp.Basic) else _number(value)
        return NoEscape("$" + tex(shown_value(num, digits)[1], digits=digits) + "$")
    if value is None:
        return NoEscape("--")
    return NoEscape(escape_latex(str(value)))


def short_values(values: Any, digits: int = 3) -> list[NoEscape]:
    """Each value as short inline LaTeX for a figure: numbers rounded, vectors as (a, b)."""
    out: list[NoEscape] = []
    for value in values:
        if isinstance(value, (list, tuple)):
            inner = ", ".join(
                tex(shown_value(v if isinstance(v, sp.Basic) else _number(v), digits)[1],
                    digits=digits)
                for v in value
            )
            out.append(NoEscape(f"$({inner})$"))
        else:
            num = value if isinstance(value, sp.Basic) else _number(value)
            out.append(NoEscape("$" + tex(shown_value(num, digits)[1], digits=digits) + "$"))
    return out


def matrix_rows(value: Any) -> list[list[float]]:
    """A SymPy matrix (or nested list) as rows of floats, for figures that draw numbers."""
    if isinstance(value, sp.MatrixBase):
        return [[float(value[i, j]) for j in range(value.cols)] for i in range(value.rows)]
    return [[float(v) for v in row] for row in value]


def _number(value: int | float) -> sp.Basic:
    return sp.Integer(value) if isinstance(value, int) else sp.Float(value)


def shape_text(shape: list[int | None]) -> str:
    """A Keras-style shape: ``(None, 3, 30)``; an unknown sequence length shows as ``T``."""
    parts = ["None" if i == 0 else ("T" if d is None else str(d)) for i, d in enumerate(shape)]
    return "(" + ", ".join(parts) + ")"


class TemplateUsageError(ValueError):
    """A template called a macro with parameters it cannot draw (a bug in the calling template)."""


def _raise_error(message: str) -> None:
    raise TemplateUsageError(message)


def _finalize(value: Any) -> Markup:
    """Jinja's output hook: everything not marked as trusted LaTeX is LaTeX-escaped.

    Trusted LaTeX is a :class:`pylatex.NoEscape` (our printer, our catalogs after escaping) or a
    macro's output. The result is a ``Markup`` so that Jinja's own (HTML) autoescape, which is on
    only to make macro output trusted, leaves it alone.
    """
    if isinstance(value, (NoEscape, Markup)):
        return Markup(value)
    if value is None:
        raise ValueError("a template printed None")
    return Markup(escape_latex(str(value)))


@cache
def latex_env() -> jinja2.Environment:
    """The Jinja environment for LaTeX templates: LaTeX-safe delimiters, strict, escaping."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("dlexam.templates", "latex"),
        block_start_string="((*",
        block_end_string="*))",
        variable_start_string="(((",
        variable_end_string=")))",
        comment_start_string="((=",
        comment_end_string="=))",
        line_comment_prefix="%#",
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        finalize=_finalize,
    )
    env.globals.update(
        t=prose_tex,
        m=lambda expr, digits=4, numbers=False: NoEscape(tex(expr, digits=digits, numbers=numbers)),
        raw=NoEscape,
        shown=shown_value,
        eq=equation_parts,
        shape_text=shape_text,
        value_tex=value_tex,
        sym=sym,
        short=short_values,
        rows=matrix_rows,
        raise_error=_raise_error,
        LANGS=LANGS,
    )
    return env


def render(template: str, **context: Any) -> NoEscape:
    """Renders one LaTeX template; the result is trusted LaTeX."""
    body = latex_env().get_template(template).render(**context)
    return NoEscape(f"% dlexam-template: {template}\n{body}")


def _answer_text(value: Any, digits: int = 6) -> str:
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_answer_text(v, digits) for v in value) + "]"
    if isinstance(value, sp.Basic):
        _exact, shown = shown_value(value, digits)
        return text(shown, digits=digits)
    return _value_text(value, digits)


def render_text(result: Any, lang: str) -> str:
    """A derivation's steps and answers for the terminal, in one language."""
    summary = prose_text(lang, result.derivation.replace("-", "_") + ".summary")
    lines = [f"{result.derivation}: {summary}"]
    lines.append("")
    lines.append(prose_text(lang, "terminal.steps"))
    for number, step in enumerate(result.steps, start=1):
        lines.append(f"{number:3}. {prose_text(lang, step.key, step.data)}")
        if step.symbolic is not None:
            parts = [text(step.lhs)] if step.lhs is not None else []
            parts.append(text(step.symbolic))
            if step.substituted is not None and text(step.substituted) != parts[-1]:
                parts.append(text(step.substituted))
            rel = " = "
            if step.value is not None:
                exact, shown = shown_value(step.value, 6)
                value_text = text(shown, digits=6)
                if value_text != parts[-1]:
                    parts.append(value_text)
                    rel = " = " if exact else " ≈ "
            line = " = ".join(parts[:-1]) + (rel if len(parts) > 1 else "") + parts[-1]
            lines.append(f"     {line}")
    lines.append("")
    lines.append(prose_text(lang, "terminal.answers"))
    for name, value in result.answers.items():
        lines.append(f"  {name} = {_answer_text(value)}")
    return "\n".join(lines)
