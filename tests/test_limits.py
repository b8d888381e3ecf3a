"""Every input has a limit, refused with the one-line error before work starts (issue 8)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from dlexam import derivations
from dlexam.derivations.core import REGISTRY, Derivation


def _deep(n: int) -> str:
    return "[" * n + "1" + "]" * n


@pytest.mark.parametrize(
    ("argv", "param", "fragment"),
    [
        # nesting
        (["clip-gradient", "g=" + _deep(5000)], "g", "nested at most 4"),
        (["clip-gradient", "g=" + _deep(900)], "g", "nested at most 4"),
        (["param-count", "model=" + "(" * 300 + ")" * 300, "input_dim=1"], "model",
         "nested at most 4"),
        (["param-count", "model=" + "Bidirectional(" * 60 + "LSTM(3)" + ")" * 60,
          "input_dim=1"], "model", "nested at most 4"),
        (["param-count", "model=" + "(" * 5000 + ")" * 5000, "input_dim=1"], "model",
         "at most 1000 characters"),
        # numbers
        (["clip-gradient", "threshold=1e5000"], "threshold", "below 1e9"),
        (["clip-gradient", "threshold=1e999999999"], "threshold", "below 1e9"),
        (["clip-gradient", "threshold=" + "9" * 5000], "threshold", "at most 40 characters"),
        (["gru-forward", "b_z=[1e100000]"], "b_z", "below 1e9"),
        (["rnn-forward", "x=[1e1000000, 1]"], "x", "below 1e9"),
        (["softmax-cross-entropy", "logits=[1e100000, 1, 0.1]", "label=0"], "logits",
         "below 1e9"),
        (["clip-gradient", "threshold=1e-300"], "threshold", "at least 1e-20"),
        (["positional-encoding", "n=1e308", "d=4"], "n", "from 1 to 64"),
        (["multi-head-attention", "seed=1", "tokens=1e308"], "tokens", "from 1 to 10"),
        (["lstm-gates", "steps=1e308"], "steps", "from 1 to 10"),
        # sizes
        (["positional-encoding", "n=2", "d=1000000000"], "d", "from 1 to 64"),
        (["positional-encoding", "n=1000", "d=1000"], "n", "from 1 to 64"),
        (["multi-head-attention", "seed=1", "tokens=3", "d_model=4", "heads=100000"], "heads",
         "from 1 to 4"),
        (["multi-head-attention", "seed=1", "tokens=3", "d_model=4", "heads=2",
          "d_k=1000000000"], "d_k", "from 1 to 16"),
        (["encoder-layer", "seed=1", "tokens=1000", "d_model=4", "heads=2", "d_ff=8"], "tokens",
         "from 1 to 10"),
        (["encoder-layer", "seed=1", "tokens=3", "d_model=64", "heads=2", "d_ff=8"], "d_model",
         "from 1 to 16"),
        (["encoder-layer", "seed=1", "tokens=3", "d_model=4", "heads=2", "d_ff=1000000000"],
         "d_ff", "from 1 to 64"),
        (["lstm-gates", "steps=1000000"], "steps", "from 1 to 10"),
        (["rnn-forward", "x=[" + ",".join(["1"] * 10000) + "]"], "x", "T at most 20"),
        (["clip-gradient", "g=[" + ",".join(["1"] * 200_000) + "]"], "g",
         "at most 200000 characters"),
        # the model parser
        (["param-count", "model=GRU(3, reset_after='False')", "input_dim=2"], "model",
         "reset_after=True or reset_after=False"),
        (["param-count", "model=Dense(2, use_bias='False')", "input_dim=1"], "model",
         "use_bias=True or use_bias=False"),
        (["param-count", "model=LSTM(3, units=4)", "input_dim=1"], "model", "units given once"),
        (["param-count", "model=LSTM(3, return_sequences=True, return_sequences=False)",
          "input_dim=1"], "model", "return_sequences= once"),
        (["param-count", "model=LSTM(99999999999999)", "input_dim=1"], "model",
         "numbers up to 10000000"),
        (["param-count", "model=" + ", ".join(["Dense(2)"] * 40), "input_dim=1"], "model",
         "at most 32 layers"),
        # layer-norm shapes
        (["encoder-layer", "seed=1", "tokens=3", "d_model=4", "heads=2", "d_ff=8",
          "gamma_1=[1, 1, 1, 1, 1]"], "gamma_1", "4 numbers (d_model = 4)"),
        (["encoder-layer", "seed=1", "tokens=3", "d_model=4", "heads=2", "d_ff=8",
          "gamma_1=[0]"], "gamma_1", "4 numbers (d_model = 4)"),
        (["encoder-layer", "seed=1", "tokens=3", "d_model=4", "heads=2", "d_ff=8",
          "beta_2=[0, 0]"], "beta_2", "4 numbers"),
        # labels
        (["attention-context", "weights=[[1, 0], [0, 1]]", "input_labels=a\x07,b"],
         "input_labels", "no control"),
        (["attention-context", "weights=[[1, 0], [0, 1]]", "input_labels=\x1b[31ma,b"],
         "input_labels", "no control"),
        (["attention-context", "weights=[[1, 0], [0, 1]]", "input_labels=\u202ea,b"],
         "input_labels", "U+202E"),
        (["attention-context", "weights=[[1, 0], [0, 1]]", "input_labels=a\U0001F600,b"],
         "input_labels", "fonts have"),
        (["attention-context", "weights=[[1, 0], [0, 1]]", "input_labels=" + "a" * 3000 + ",b"],
         "input_labels", "at most 300 characters"),
        (["attention-context", "weights=[[1, 0], [0, 1]]", "input_labels=" + "a" * 30 + ",b"],
         "input_labels", "at most 24 characters"),
        (["param-count", "model=LSTM(3)\x1b", "input_dim=1"], "model", "no control"),
    ],
)
def test_limits_are_input_errors(input_error: Callable[[list[str]], str], argv: list[str],
                                 param: str, fragment: str) -> None:
    message = input_error(["solve", *argv])
    assert message.startswith(f"{param}: expected"), message
    assert fragment in message, message
    assert "\x1b" not in message and "\x07" not in message


def test_quoted_false_was_read_as_true_before() -> None:
    """The unquoted forms still count as Keras does: GRU(3) on 2 inputs, reset_after=False,
    is 3 * 3 * (3 + 2 + 1) = 54; Dense(2) on 1 input without bias is 2."""
    gru = derivations.solve("param-count", model="GRU(3, reset_after=False)", input_dim=2)
    assert gru.answers["total"] == 3 * 3 * (3 + 2 + 1)
    dense = derivations.solve("param-count", model="Dense(2, use_bias=False)", input_dim=1)
    assert dense.answers["total"] == 2


def test_labels_in_fonts_are_accepted() -> None:
    result = derivations.solve("attention-context", weights=[[1, 0], [0, 1]],
                               input_labels="Tom, Jérôme", output_labels="湯姆,傑瑞")
    assert result.params["input_labels"] == "Tom, Jérôme"


def test_every_size_is_capped_in_the_registry() -> None:
    """Every whole-number parameter has a maximum and every dimension name of every array
    parameter a limit, in the declarations themselves (what the README table and
    `dlexam show` print)."""
    for name, d in REGISTRY.items():
        for p in d.params:
            if p.kind == "int":
                assert p.maximum is not None, (name, p.name)
            for shape in p.shapes:
                for dim in shape:
                    if isinstance(dim, str):
                        assert dim in d.limits, (name, p.name, dim)
            if p.items is not None:
                assert p.items in d.limits, (name, p.name)


def limits_problems(readme: str, registry: Mapping[str, Derivation]) -> list[str]:
    """What is wrong with the README's table of limits: a row naming no derivation, or a
    row that misses one of its derivation's limits. A derivation without a row is fine (the
    table says `dlexam show NAME` prints every derivation's limits)."""
    section = readme.split("## Limits", 1)[1].split("\n## ", 1)[0]
    problems = []
    if "`dlexam show NAME`" not in section:
        problems.append("the section does not name `dlexam show NAME`")
    rows = re.findall(r"^\| `([a-z-]+)` \|(.*)$", section, re.M)
    for name, row in rows:
        d = registry.get(name)
        if d is None:
            problems.append(f"{name}: not a registered derivation")
            continue
        problems += [f"{name}: {dim} <= {cap} missing" for dim, cap in d.limits.items()
                     if f"{dim} <= {cap}" not in row]
        problems += [f"{name}: {p.name} <= {p.maximum} missing" for p in d.params
                     if p.kind == "int" and f"{p.name} <= {p.maximum}" not in row]
    return problems


def test_readme_limits_rows_are_the_registrys() -> None:
    readme = Path(__file__).resolve().parent.parent.joinpath("README.md").read_text()
    assert limits_problems(readme, REGISTRY) == []
