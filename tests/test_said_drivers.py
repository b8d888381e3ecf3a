"""Every error the drivers raise is said from the catalogs (issue 21, item 3): an AST walk over
dlexam/exams, grade, web, book, cli.py and outfolder.py fails on an error of dlexam's own
(InputError, BuildError, any DlexamError, and the typed-text TypedError that exam text raises)
built from an English literal or f-string instead of a :class:`~dlexam.errors.Said`; and the
catalogs' sentences it names are there in every language."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from dlexam import errors, langs
from dlexam.langs import messages

ROOT = Path(__file__).resolve().parents[1]
SCOPE = sorted([*ROOT.glob("dlexam/exams/*.py"), ROOT / "dlexam" / "notation" / "texmath.py",
                *ROOT.glob("dlexam/grade/*.py"),
                *ROOT.glob("dlexam/web/*.py"), *ROOT.glob("dlexam/book/*.py"),
                ROOT / "dlexam" / "cli.py", ROOT / "dlexam" / "outfolder.py"])
# dlexam's own errors, by name (TypedError: exam text's $...$ refused, shown inside an InputError)
ERRORS = {name for name, value in vars(errors).items()
          if isinstance(value, type) and issubclass(value, errors.DlexamError)} | {"TypedError"}
# the first argument of these names what is wrong (a parameter, a TOML path): not prose
NAMED_FIRST = {"InputError"}
# (file, a piece of the offending line, why it may stay): keep it short
ALLOWED: list[tuple[str, str, str]] = []
_WORD = re.compile(r"[A-Za-z]{2,}")


def _english(node: ast.AST) -> bool:
    """Whether an expression builds text from an English literal (a Said(...) is the
    catalogs', names and values are the user's)."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Said":
        return False
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and bool(_WORD.search(node.value))
    if isinstance(node, ast.JoinedStr):
        return any(_english(v) for v in node.values if isinstance(v, ast.Constant))
    if isinstance(node, ast.Call):
        # text built by a string's method ("a {x}".format(...), " or ".join(...)); another
        # function's arguments are its own (plain_number(x, "points"), _got(value))
        if isinstance(node.func, ast.Attribute) and node.func.attr in ("format", "join"):
            return any(_english(p) for p in (node.func.value, *node.args))
        return False
    return any(_english(child) for child in ast.iter_child_nodes(node)
               if isinstance(child, ast.expr))


def _offences(path: Path) -> list[str]:
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in ERRORS):
            continue
        args = node.args[1:] if node.func.id in NAMED_FIRST else node.args
        words = [*args, *(k.value for k in node.keywords if k.arg not in ("param", "log"))]
        if any(_english(a) for a in words):
            line = lines[node.lineno - 1].strip()
            rel = str(path.relative_to(ROOT))
            if not any(rel == f and piece in line for f, piece, _why in ALLOWED):
                found.append(f"{rel}:{node.lineno}: {line}")
    return found


def test_the_walk_sees_english() -> None:
    """The check itself can fail: it finds an English literal, f-string or concatenation."""
    def offences(code: str) -> bool:
        tree = ast.parse(code)
        call = next(n for n in ast.walk(tree) if isinstance(n, ast.Call))
        return any(_english(a) for a in call.args[1:])

    assert offences('InputError("x", "a number")')
    assert offences('InputError("x", f"at most {n} values")')
    assert offences('InputError("x", "one of " + ", ".join(names))')
    assert offences('InputError("x", Said("k"), "an empty file")')
    assert not offences('InputError(f"{path}.ask", Said("exam.errors.one_of", items=x), _got(v))')
    assert not offences('InputError("x", Said("k"), f"{len(cells):,}")')
    assert not offences('InputError("x", Said("k"), ",".join(cells)[:60] or Said("e"))')
    assert not offences('InputError("x", Said("k"), plain_number(points, "points"))')
    assert offences('InputError("x", "{} values".format(n))')


@pytest.mark.parametrize("path", SCOPE, ids=[p.name for p in SCOPE])
def test_driver_errors_are_said(path: Path) -> None:
    found = _offences(path)
    assert not found, "say these from the catalogs (Said):\n" + "\n".join(found)


def test_the_walk_covers_the_drivers() -> None:
    names = {str(p.relative_to(ROOT)) for p in SCOPE}
    assert {"dlexam/exams/model.py", "dlexam/grade/key.py", "dlexam/cli.py",
            "dlexam/web/api.py", "dlexam/book/sections.py"} <= names
    assert {"InputError", "BuildError", "TypedError"} <= ERRORS


def test_the_keys_the_drivers_say_are_in_every_language() -> None:
    keys: set[str] = set()
    for path in SCOPE:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id == "Said" and node.args
                    and isinstance(node.args[0], ast.Constant)):
                keys.add(node.args[0].value)
    assert len(keys) > 150
    for lang in langs.LANGS:
        missing = sorted(keys - set(messages(lang)))
        assert not missing, (lang, missing[:5])


def test_no_tex_command_name_reaches_the_terminal() -> None:
    """The terminal's text of every inline formula (the text printer's, from the tree
    :mod:`dlexam.notation.texmath` reads) holds no TeX command's name (eta, Delta, epsilon, pm,
    ... as a stripped backslash would leave them), no backslash and no brace but a script's."""
    from dlexam.notation.texmath import text_of_tex
    from dlexam.render.prose import _segments

    names = re.compile(r"(?<![A-Za-z])(?:eta|Delta|epsilon|lambda|rho|pm|mid|prod|lceil|rceil|"
                       r"langle|rangle|beta|alpha|sigma|gamma|delta|mu|varphi|partial|"
                       r"odot|cdot|sum|approx|infty|times|quad|mathrm|mathbf|frac|begin|"
                       r"smallmatrix|tilde|hat|top|left|right|lVert|rVert)"
                       r"(?![A-Za-z])")
    found = []
    for lang in langs.LANGS:
        for key, text in messages(lang).items():
            for kind, piece in _segments(text):
                if kind != "math" or key == "authoring.formula":  # that one: literal dollars
                    continue
                shown = text_of_tex(piece)
                if names.search(shown) or "\\" in shown or re.search(r"(?<![_^]){", shown):
                    found.append((lang, key, shown))
    assert not found, found[:5]
    assert text_of_tex(r"\eta \pm \Delta") == "η ± Δ"
