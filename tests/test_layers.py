"""Imports go one way: the layers listed in the README's Layout section, lowest first.

The import graph is read from the source (every ``import`` and ``from ... import`` statement,
those inside functions too), module by module. A module may import its own layer and those below
it, never one above; and no two modules import each other, directly or round a loop.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "dlexam"


def layers() -> list[list[str]]:
    """The README's numbered layer list: each layer's modules and packages (``dlexam.x``)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Layout\n", 1)[1].split("\n## ", 1)[0]
    found = []
    for line in section.splitlines():
        if re.match(r"\d+\. ", line):
            names = re.findall(r"`([a-z_0-9]+)`", line.split(":", 1)[-1])
            found.append([f"dlexam.{n}" if n != "dlexam" else n for n in names])
    return found


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def import_graph() -> dict[str, set[str]]:
    """module -> the dlexam modules it imports (a name imported from a package is the
    submodule when there is one, else the package)."""
    mods = modules()
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for name, path in mods.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*up, base] if base else up)
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base
                           for a in node.names]
            for target in targets:
                while target and target not in mods:  # import a.b.c of a function: a.b
                    target = target.rpartition(".")[0]
                if target.startswith("dlexam") and target != name:
                    graph[name].add(target)
    return graph


def layer_of(module: str, order: list[list[str]]) -> int:
    best, where = "", -1
    for k, names in enumerate(order):
        for n in names:
            if (module == n or module.startswith(n + ".")) and len(n) > len(best):
                best, where = n, k
    assert where >= 0, f"{module} is in no layer of the README's Layout"
    return where


def test_the_readme_lists_the_layers() -> None:
    order = layers()
    assert len(order) >= 6, order
    assert all(order), order
    for module in modules():
        layer_of(module, order)


def test_no_import_runs_up() -> None:
    order = layers()
    upward = sorted(
        f"{a} (layer {layer_of(a, order) + 1}) imports {b} (layer {layer_of(b, order) + 1})"
        for a, targets in import_graph().items() for b in targets
        if layer_of(b, order) > layer_of(a, order))
    assert upward == []


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle() -> None:
    assert cycles(import_graph()) == []


def test_the_checks_can_fail() -> None:
    """The graph sees a function-level import, and both checks catch what they are for."""
    graph = import_graph()
    assert "dlexam.render" in graph["dlexam"]  # imported inside solve()
    order = layers()
    assert layer_of("dlexam.cli", order) > layer_of("dlexam.derivations.core", order)
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
