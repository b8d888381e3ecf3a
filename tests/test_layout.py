"""How much of a long derivation is shown is the layout's choice (dlexam.notation.display.LAYOUT),
not the derivation's: swapping the layout changes the steps shown and never the answers."""

from __future__ import annotations

import pytest

from dlexam import derivations
from dlexam.notation import display
from dlexam.notation.display import Layout
from dlexam.templates.prose import form, prose_text

BPTT = {"W": [[0.1, 0.2], [0.3, 0.4]], "U": [0.5, 0.6], "b": [1, -1],
        "x": [2, 3, 1, 0, -1, 2, 1, 0.5, 0.3, 1]}
SCORES = {"scores": [[1, 2, 3, 4, 5, 6], [2, 1, 0, 1, 2, 3], [0, 0, 1, 1, 2, 2],
                     [1, 1, 1, 1, 1, 1], [3, 2, 1, 0, 1, 2], [0, 1, 0, 1, 0, 1]], "d_k": 4}
SIX = {"p_data": [0.1, 0.2, 0.2, 0.2, 0.2, 0.1], "p_g": [0.2, 0.1, 0.2, 0.2, 0.2, 0.1]}


def _with(monkeypatch: pytest.MonkeyPatch, layout: Layout, name: str, params: dict
          ) -> derivations.Result:
    monkeypatch.setattr(display, "LAYOUT", layout)
    return derivations.solve(name, params)


@pytest.mark.parametrize(("first", "last", "written", "gap"), [
    (2, 1, [1, 2, 10], (3, 9, 7)),  # the shipped layout
    (3, 2, [1, 2, 3, 9, 10], (4, 8, 5)),
    (0, 0, [], (1, 10, 10)),
    (5, 5, list(range(1, 11)), None),
])
def test_bptt_writes_out_the_time_steps_the_layout_names(
        monkeypatch: pytest.MonkeyPatch, first: int, last: int, written: list[int],
        gap: tuple[int, int, int] | None) -> None:
    default = derivations.solve("bptt", BPTT)
    result = _with(monkeypatch, Layout(first=first, last=last), "bptt", BPTT)
    assert [s.data["t"] for s in result.steps if s.key == "bptt.state"] == written
    gaps = [(s.data["first"], s.data["last"], s.data["count"]) for s in result.steps
            if s.key == "bptt.skipped"]
    assert gaps == ([] if gap is None else [gap])
    assert result.plain_answers() == default.plain_answers()
    assert len(result.answers["dhT_dhk_norm"]) == len(BPTT["x"])


@pytest.mark.parametrize("rows", [0, 2, 6])
def test_attention_rows_shown_are_the_layouts(monkeypatch: pytest.MonkeyPatch, rows: int
                                               ) -> None:
    default = derivations.solve("self-attention", SCORES)
    result = _with(monkeypatch, Layout(rows=rows), "self-attention", SCORES)
    assert [s.data["row"] for s in result.steps if s.key.endswith(".row")] == list(
        range(1, rows + 1))
    assert result.plain_answers() == default.plain_answers()


def test_a_sum_is_written_out_as_far_as_the_layout_says(monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    short = derivations.solve("gan-optimum", SIX)  # six outcomes: more than the shipped four
    step = next(s for s in short.steps if s.key == "gan_optimum.d_star")
    assert step.substituted is None
    wide = _with(monkeypatch, Layout(terms=6), "gan-optimum", SIX)
    step = next(s for s in wide.steps if s.key == "gan_optimum.d_star")
    assert step.substituted is not None and step.substituted.shape == (1, 6)
    assert wide.plain_answers() == short.plain_answers()


def test_inputs_are_listed_as_far_as_the_layout_says(monkeypatch: pytest.MonkeyPatch) -> None:
    """The derivation gives every input; the sentence lists them or says how many."""
    cell = derivations.solve("bptt", BPTT).steps[0]
    assert cell.key == "bptt.cell" and len(cell.data["x"]) == 10
    assert "1.0, 0.5, 0.3, 1.0), so T = 10" in prose_text("en", cell.key, cell.data)
    monkeypatch.setattr(display, "LAYOUT", Layout(listed=9))
    assert derivations.solve("bptt", BPTT).steps[0] == cell
    said = prose_text("en", cell.key, cell.data)
    assert "length T = 10" in said and "0.5" not in said
    assert form("en", cell.key, cell.data) == "bptt.cell_long"
