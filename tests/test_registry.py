"""Adding a derivation touches its module, its two catalogs and its tests, nothing else.

Each topic registers its own symbols (``register_symbols`` in its module), shared symbols are
registered by the shared module they come from, the printers hold every notation rule (no
``_latex`` in a derivation), topics import no other topic, and no test keeps a hand list of
derivation names (tests iterate the registry and the catalogs).
"""

from __future__ import annotations

import ast
import json
import re
import tomllib
from importlib import resources
from pathlib import Path

import pytest
import sympy as sp

import dlexam.derivations as derivations
from dlexam.derivations.core import REGISTRY
from dlexam.notation import OWNERS, SYMBOLS, register_symbols, sym

ROOT = Path(derivations.__file__).parent
I18N = resources.files("dlexam").joinpath("templates", "i18n")
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
        for f in lang_dir.iterdir() if lang_dir.is_dir() else ():  # not glossary.toml
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


def test_the_package_finds_its_topics_itself() -> None:
    """No hand-kept import list: dlexam.derivations imports every module in it (pkgutil)."""
    init = _source("__init__")
    assert "pkgutil.iter_modules" in init
    for module in TOPICS:
        assert not re.search(rf"\b{module}\b", init), module


def test_adding_a_derivation_needs_its_module_catalogs_and_tests_only(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """A throwaway derivation, registered here with its catalog messages and nothing else, is
    listed, shown and solved (both languages, JSON), and the README's checks still pass."""
    from test_limits import limits_problems
    from test_readme import README, table_problems

    from dlexam.cli import main
    from dlexam.derivations.contract import Answer, Mistake
    from dlexam.derivations.core import Result, derivation, three_part
    from dlexam.derivations.params import Param
    from dlexam.render.prose import catalog

    name = "throwaway-scale"
    assert name not in REGISTRY
    messages = {
        "en": {"summary": "Scale a number: $y = a x$.", "question": "Work out $y$ for a = {a}.",
               "y": "Multiply $a$ by $x$.", "mistakes.plus.name": "added",
               "mistakes.plus.explain": "$a + x$ for $a x$."},
        "zh-Hant": {"summary": "把一個數放大：$y = a x$。", "question": "當 a = {a} 時求 $y$。",
                    "y": "把 $a$ 乘以 $x$。", "mistakes.plus.name": "相加",
                    "mistakes.plus.explain": "把 $a x$ 算成 $a + x$。"},
    }
    for lang, table in messages.items():
        for key, text in table.items():
            monkeypatch.setitem(catalog(lang), f"throwaway_scale.{key}", text)
    a_sym, x_sym = sp.Symbol("a"), sp.Symbol("x")

    @derivation(name, params=[Param("a", "number"), Param("x", "number", default=3)],
                answers=[Answer("y", "number")],
                mistakes=[Mistake("plus", changes=("y",), formula=True)],
                sampler=lambda draw, fixed: {"a": draw.integer(1, 9), "x": 3, **fixed})
    def throwaway(a: sp.Rational, x: sp.Rational, mistake: str | None = None) -> Result:
        with sp.evaluate(False):
            formula = sp.Add(a_sym, x_sym) if mistake == "plus" else sp.Mul(a_sym, x_sym)
        step = three_part("throwaway_scale.y", sp.Symbol("y"), formula, {a_sym: a, x_sym: x})
        return Result(convention=None, steps=(step,), answers={"y": step.value})

    try:
        assert main(["list"]) == 0
        assert name in capsys.readouterr().out
        assert main(["show", name]) == 0
        assert name in capsys.readouterr().out
        for lang in ("en", "zh-Hant"):
            assert main(["solve", name, "a=2", "x=5", "--lang", lang]) == 0
            assert "= 10" in capsys.readouterr().out
        assert main(["solve", name, "a=2", "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["answers"] == {"y": 6}  # 2 x 3
        assert table_problems(README, derivations.names()) == []
        assert limits_problems(README, REGISTRY) == []
    finally:
        del REGISTRY[name]


def test_the_example_network_is_the_exam_files() -> None:
    """rnn-forward's and bptt's defaults are the example network of cells.EXAMPLE_RNN, which the
    2023 exam's Q4 and Q2 use: the exam's numbers live in its exam file, and the defaults may
    not drift from them."""
    from dlexam.derivations.cells import EXAMPLE_RNN
    from dlexam.exams.model import load_exam

    exam = load_exam("final2023")
    for qid, name in (("q4", "rnn-forward"), ("q2", "bptt")):
        declared = {p.name: p.default for p in derivations.get(name).params}
        given = exam.question(qid).fixed_params()
        shared = [k for k in EXAMPLE_RNN if declared.get(k) is not None]
        assert shared, name
        for key in shared:
            assert declared[key] == EXAMPLE_RNN[key] == given[key], (name, key)
