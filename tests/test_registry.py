"""Adding a derivation touches its module, its two catalogs and its tests, nothing else.

Each topic registers its own symbols (``register_symbols`` in its module), shared symbols are
registered by the shared module they come from, the printers hold every notation rule (no
``_latex`` in a derivation), topics import no other topic, and no test keeps a hand list of
derivation names (tests iterate the registry and the catalogs).
"""

from __future__ import annotations

import ast
import re
import tomllib
from importlib import resources
from pathlib import Path

import pytest

import dlexam.derivations as derivations
from dlexam.derivations.core import REGISTRY
from dlexam.notation import OWNERS, SYMBOLS, register_symbols, sym

ROOT = Path(derivations.__file__).parent
I18N = resources.files("dlexam.templates").joinpath("i18n")
TESTS = Path(__file__).parent

# the modules that hold registered derivations (topics); every other module is shared
TOPICS = sorted({d.fn.__module__.rsplit(".", 1)[1] for d in REGISTRY.values()})
SHARED = sorted(p.stem for p in ROOT.glob("*.py")
                if p.stem not in TOPICS and p.stem != "__init__")
_USE = re.compile(r"""\b(?:sym|msym|sym_sub)\(\s*["']([A-Za-z_0-9]+)["']""")


def _source(module: str) -> str:
    return (ROOT / f"{module}.py").read_text("utf-8")


def _catalog_tables(module: str) -> set[str]:
    """The top-level catalog tables of a topic: its derivations' names, underscored."""
    return {n.replace("-", "_") for n, d in REGISTRY.items()
            if d.fn.__module__.endswith(f".{module}")}


def _catalog_symbols(module: str) -> set[str]:
    """The {=key} symbols the catalog messages of a topic's derivations name."""
    tables = _catalog_tables(module)
    keys: set[str] = set()
    for lang_dir in I18N.iterdir():
        for f in lang_dir.iterdir():
            if not f.name.endswith(".toml"):
                continue
            data = tomllib.loads(f.read_text("utf-8"))
            for table in tables & set(data):
                keys |= set(re.findall(r"\{=([A-Za-z_0-9]+)\}", repr(data[table])))
    return keys


def _allowed_owners(module: str) -> set[str]:
    return ({f"dlexam.derivations.{module}", "dlexam.notation.symbols"}
            | {f"dlexam.derivations.{s}" for s in SHARED})


def test_topics_and_shared_modules_are_found() -> None:
    assert {"rnn", "lstm", "gru", "gradients", "param_count", "attention", "transformer",
            "information", "gan"} <= set(TOPICS)
    assert {"cells", "distributions", "heads", "core"} <= set(SHARED)


@pytest.mark.parametrize("module", TOPICS)
def test_topic_symbols_are_registered_by_the_topic_or_a_shared_module(module: str) -> None:
    """A symbol a topic writes (in code or in its catalogs) is its own, or a shared one: never
    another topic's."""
    used = set(_USE.findall(_source(module))) | _catalog_symbols(module)
    for key in sorted(used):
        assert key in OWNERS, f"{module}: symbol {key!r} is not registered"
        assert OWNERS[key] in _allowed_owners(module), (
            f"{module}: symbol {key!r} belongs to {OWNERS[key]}: register it in {module}.py, "
            "or move it to a shared module")


@pytest.mark.parametrize("module", TOPICS + SHARED)
def test_every_module_registers_only_where_it_lives(module: str) -> None:
    """The table has no central list: each register_symbols call is in the module that owns the
    symbols, and no module outside dlexam.derivations and dlexam.notation registers any."""
    owned = {k for k, owner in OWNERS.items() if owner == f"dlexam.derivations.{module}"}
    if owned:
        assert "register_symbols(" in _source(module)
    assert set(OWNERS.values()) <= ({f"dlexam.derivations.{m}" for m in TOPICS + SHARED}
                                    | {"dlexam.notation.symbols"})


def test_a_second_owner_is_refused() -> None:
    with pytest.raises(ValueError, match=r"registered by dlexam\.derivations\.rnn"):
        register_symbols({"y_t": ("y", "y")}, owner="somewhere.else")
    with pytest.raises(KeyError, match="not registered"):
        sym("no_such_symbol")
    assert SYMBOLS["y_t"] == ("y_t", "y_t")


@pytest.mark.parametrize("module", TOPICS)
def test_topics_import_no_other_topic(module: str) -> None:
    tree = ast.parse(_source(module))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            parts = node.module.split(".")
            if parts[:2] == ["dlexam", "derivations"] and len(parts) == 3:
                assert parts[2] not in TOPICS or parts[2] == module, (
                    f"{module} imports the topic {parts[2]}: move what they share to a "
                    "shared module")


@pytest.mark.parametrize("module", TOPICS + SHARED)
def test_derivations_carry_no_printing_methods(module: str) -> None:
    """Notation classes print through the printers' _print_<Class> rules."""
    src = _source(module)
    assert not re.search(r"def _(latex|sympystr|pretty)\(", src), module
    assert "dlexam.notation.printers" not in src, module


def test_no_test_keeps_a_hand_list_of_derivation_names() -> None:
    """Tests iterate the registry (dlexam.derivations.names()) and the catalogs."""
    names = set(REGISTRY)
    for path in sorted(TESTS.rglob("*.py")):
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
                listed = [e.value for e in node.elts
                          if isinstance(e, ast.Constant) and e.value in names]
                assert len(listed) < 3, (
                    f"{path.name}:{node.lineno}: a hand-kept list of derivations {listed}; "
                    "iterate dlexam.derivations.names() instead")
