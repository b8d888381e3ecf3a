"""Every message a user reads is said from the catalogs (issue 21): an AST walk over the files of
:data:`SCOPE` fails on an error raised, or a line printed, with English written in the code (a
string literal or f-string holding a word) instead of an ``errors.Said`` sentence.

What is checked, in each file of the scope:
- ``InputError(param, expected, got)``: ``expected`` and ``got`` (``param`` is a name, as typed);
- ``BuildError``, ``DlexamError``, ``UnknownDerivationError``, ``TypedError``: the message;
- ``ValueError``, ``TypeError``, ``IndexError`` (a caller may show their message): the message,
  unless the site is in :data:`INTERNAL` with the reason no user reads it;
- a parser's ``self.error(...)`` and ``print(...)``: the text;
- ``str(err)`` of a caught exception passed on to a message (it drops the catalog key).
A name bound to such a text in the same function counts as the text. ``RuntimeError``,
``ContractError``, ``TraceError``, ``KeyError``, ``AssertionError`` are programmer errors (a
broken derivation or catalog, a plan that falls back): never a student's message.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

SCOPE: tuple[str, ...] = (
    "dlexam/derivations", "dlexam/notation", "dlexam/check", "dlexam/build", "dlexam/plans",
    "dlexam/render", "dlexam/literals.py", "dlexam/safeio.py", "dlexam/numbers.py",
    "dlexam/langs.py", "dlexam/outfolder.py", "dlexam/lifetime.py",
)
"""The files whose messages must come from the catalogs (widen it as the rest is converted)."""

USER_FACING = {"InputError", "BuildError", "DlexamError", "UnknownDerivationError",
               "TypedError"}
MAYBE_SHOWN = {"ValueError", "TypeError", "IndexError"}

INTERNAL: dict[str, str] = {
    # "path:function": why no user reads the message
    "dlexam/derivations/contract.py:__post_init__":
        "a declaration written badly in code (a Precision is made by precision_of, which checks)",
    "dlexam/derivations/core.py:__post_init__": "a layout measure or shorter form declared badly",
    "dlexam/derivations/cells.py:activate": "a cell built with an activation the code names",
    "dlexam/derivations/cells.py:__new__": "a cell built with an activation the code names",
    "dlexam/derivations/sampling.py:integer": "a sampler's range written badly in code",
    "dlexam/derivations/sampling.py:decimal": "a sampler's range written badly in code",
    "dlexam/derivations/sampling.py:__init__":
        "a seed out of range from Python code (the command line and exam files check it first)",
    "dlexam/derivations/params.py:exact": "caught by every caller, which raises its own InputError",
    "dlexam/notation/symbols.py:register_symbols": "a topic registers a symbol twice",
    "dlexam/notation/symbols.py:_check": "code names a symbol no topic registers",
    "dlexam/render/latex.py:_finalize": "a template prints None",
    "dlexam/render/prose.py:_fill": "a catalog message uses a format spec",
    "dlexam/plans/__init__.py:decide": "a traced comparison: the plan falls back to a run",
    "dlexam/langs.py:messages": "a catalog file defines a key another one has",
}


def _files() -> list[Path]:
    out: list[Path] = []
    for entry in SCOPE:
        path = ROOT / entry
        out += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return out


_WORD = re.compile(r"[A-Za-z]{2,}")
_CODE = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*(?=[=\[(])|\w*_\w*")
"""Names from code in a literal (``num_heads=``, ``probs[``, ``h_0``): not words."""


def _values() -> frozenset[str]:
    """The parameters' names and choices (``softmax``, ``uniform``): a literal that is one of
    them is a value as typed, not a word."""
    from dlexam.derivations import REGISTRY

    out: set[str] = set()
    for spec in REGISTRY.values():
        for param in spec.params:
            out.add(param.name)
            out.update(str(c) for c in (param.choices or ()))
    return frozenset(out)


VALUES = _values()


def _bindings(scope: ast.AST) -> dict[str, list[ast.AST]]:
    """What each name is assigned in a function (or module), outside its inner functions."""
    names: dict[str, list[ast.AST]] = {}
    for node in _own_nodes(scope):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    names.setdefault(target.id, []).append(node.value)
    return names


class _Texts:
    """Whether an expression is English written in the code: a string literal or f-string
    whose literal parts hold a word (two letters or more, names from code aside), joined or
    formatted, a name bound to one in the function, or a call of a function of the module that
    returns one."""

    def __init__(self, tree: ast.Module) -> None:
        self.functions = {n.name: n for n in ast.walk(tree)
                          if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
        self.module = _bindings(tree)  # the module's constants, read inside its functions

    def prose(self, node: ast.AST | None, names: dict[str, list[ast.AST]],
              depth: int = 0) -> bool:
        if node is None or depth > 6:
            return False
        again = lambda n: self.prose(n, names, depth + 1)  # noqa: E731
        if isinstance(node, ast.Constant):
            return isinstance(node.value, str) and node.value not in VALUES and bool(
                _WORD.search(_CODE.sub(" ", node.value)))
        if isinstance(node, ast.JoinedStr):
            return any(again(v) if isinstance(v, ast.Constant) else again(v.value)
                       for v in node.values)
        if isinstance(node, ast.BinOp):
            return again(node.left) or again(node.right)
        if isinstance(node, ast.IfExp):
            return again(node.body) or again(node.orelse)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in ("format", "join"):
            return again(node.func.value)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id in self.functions and depth < 3:
            function = self.functions[node.func.id]
            inner = _bindings(function)
            return any(self.prose(r.value, inner, depth + 1) for r in _own_nodes(function)
                       if isinstance(r, ast.Return))
        if isinstance(node, ast.Name):
            bound = names.get(node.id) or self.module.get(node.id, [])
            return any(self.prose(v, {}, depth + 1) for v in bound)
        return False


def _called(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")


def _own_nodes(scope: ast.AST) -> list[ast.AST]:
    """The nodes of a function (or module) outside the functions defined in it."""
    out: list[ast.AST] = []
    todo = list(ast.iter_child_nodes(scope))
    while todo:
        node = todo.pop()
        out.append(node)
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            todo.extend(ast.iter_child_nodes(node))
    return out


def _offences(path: Path) -> list[str]:
    rel = path.relative_to(ROOT).as_posix()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: list[str] = []

    texts = _Texts(tree)

    def visit(scope: ast.AST, where: str) -> None:
        nodes = _own_nodes(scope)
        names = _bindings(scope)
        caught = {n.name for n in nodes if isinstance(n, ast.ExceptHandler) and n.name}
        for node in nodes:
            if not isinstance(node, ast.Call):
                continue
            name = _called(node)
            args = list(node.args) + [k.value for k in node.keywords]
            if name == "InputError":
                said = args[1:]
            elif name in USER_FACING or name == "print" or (
                    name == "error" and isinstance(node.func, ast.Attribute)):
                said = args
            elif name in MAYBE_SHOWN and f"{rel}:{where}" not in INTERNAL:
                said = args
            else:
                continue
            for arg in said:
                bad = texts.prose(arg, names) or (
                    isinstance(arg, ast.Call) and _called(arg) == "str" and arg.args
                    and isinstance(arg.args[0], ast.Name) and arg.args[0].id in caught)
                if bad:
                    out.append(f"{rel}:{node.lineno}: {name}: {ast.unparse(arg)[:90]}")

    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            visit(node, node.name)
        elif isinstance(node, ast.ClassDef):
            visit(node, node.name)  # a class body's own statements
    visit(tree, "<module>")
    return out


def _all_offences() -> list[str]:
    return [line for path in _files() for line in _offences(path)]


def test_the_walk_finds_english(tmp_path: Path) -> None:
    """The walk can fail: it finds each kind of site it checks, in a file of its own."""
    sample = ROOT / "dlexam" / "_said_sample_.py"
    sample.write_text(
        "def f(err, x):\n"
        "    raise InputError('x', 'a number', 'nothing')\n"
        "def g(x):\n"
        "    want = f'at most {x} rows'\n"
        "    raise InputError('x', want)\n"
        "def h():\n"
        "    try:\n        pass\n"
        "    except OSError as err:\n"
        "        raise InputError('x', Said('errors.nothing'), str(err))\n"
        "def i(x):\n"
        "    raise BuildError(f'xelatex failed on {x}')\n"
        "def j(x):\n"
        "    print('Your answer is ' + x)\n"
        "def k(x):\n"
        "    raise InputError('x', Said('errors.nothing'), f'{x} x {x}, num_heads={x}')\n"
        "def m(x):\n"
        "    where = f'{x} at character 3'\n"
        "    raise InputError('x', Said('errors.nothing'), f'{where}')\n"
        "def n(x):\n"
        "    raise InputError('x', Said('errors.nothing'), _said(x))\n"
        "def _said(x):\n"
        "    return f'a list of {x}'\n"
        "LIMIT = 'a number below 1e9'\n"
        "def o(x):\n"
        "    raise InputError('x', LIMIT, x)\n",
        encoding="utf-8")
    try:
        found = _offences(sample)
    finally:
        sample.unlink()
    lines = [line.split(":")[1] for line in found]
    assert lines == ["2", "2", "5", "10", "12", "14", "19", "21", "26"], found


def test_every_message_is_said() -> None:
    found = _all_offences()
    assert not found, f"{len(found)} messages in English in the code:\n" + "\n".join(found)


def test_no_said_field_is_named_key() -> None:
    """``Said(key, **fields)``: a field named ``key`` would be a second key (a TypeError when the
    error is raised, hiding the message)."""
    found = [f"{path.relative_to(ROOT)}:{node.lineno}" for path in _files()
             for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
             if isinstance(node, ast.Call) and _called(node) == "Said"
             and any(k.arg == "key" for k in node.keywords)]
    assert not found, found


@pytest.mark.parametrize("site", sorted(INTERNAL))
def test_internal_sites_exist(site: str) -> None:
    """Each allowance names a function that still exists (a stale one would hide nothing)."""
    path, _, function = site.partition(":")
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    assert any(isinstance(n, ast.FunctionDef) and n.name == function for n in ast.walk(tree))


def test_typed_text_inside_a_said_is_escaped() -> None:
    """A path the user typed, inside a catalog sentence, reaches the terminal with its control
    characters escaped, in every language."""
    from dlexam.errors import InputError, Said

    err = InputError("--out", Said("files.folder"), Said("files.a_file", path="a\x1b[2Jb"))
    for lang in ("en", "zh-Hant", "zh-Hans"):
        said = err.said_in(lang)
        assert "\x1b" not in said and "a\\x1b[2Jb" in said, said
