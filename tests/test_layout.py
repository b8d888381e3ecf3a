"""How much of a long derivation is shown is the layout's choice (dlexam.notation.display.LAYOUT),
not the derivation's: a derivation builds every step and marks what the layout may shorten
(dlexam.derivations.core.Elidable); the renderers show the steps through
dlexam.notation.display.laid_out. Swapping the layout changes the steps shown, with no new run of
the derivation, and never the answers.

The one exception, bptt's long sequence of time steps, is chosen while deriving (building 1,000
time steps' formulas costs too much): its tests swap the layout and run the derivation again.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from dlexam import derivations
from dlexam.build.sheet import render_sheet
from dlexam.check import verdicts
from dlexam.derivations.core import ELIDABLE_MEASURES, Elidable, Step, to_plain
from dlexam.notation import display
from dlexam.notation.display import Layout, laid_out, shown_steps
from dlexam.render import render_text
from dlexam.render.notebook import result_html, result_latex
from dlexam.render.prose import form, prose_text

BPTT = {"W": [[0.1, 0.2], [0.3, 0.4]], "U": [0.5, 0.6], "b": [1, -1],
        "x": [2, 3, 1, 0, -1, 2, 1, 0.5, 0.3, 1]}
SCORES = {"scores": [[1, 2, 3, 4, 5, 6], [2, 1, 0, 1, 2, 3], [0, 0, 1, 1, 2, 2],
                     [1, 1, 1, 1, 1, 1], [3, 2, 1, 0, 1, 2], [0, 1, 0, 1, 0, 1]], "d_k": 4}
SIX = {"p_data": [0.1, 0.2, 0.2, 0.2, 0.2, 0.1], "p_g": [0.2, 0.1, 0.2, 0.2, 0.2, 0.1]}
# five tokens: the projections multiply 5 x 2 matrices, one more row than the shipped four
FIVE = {"X": [[1, 0], [0, 1], [1, 1], [2, 0], [0, 2]], "W_Q": [[1, 0], [0, 1]],
        "W_K": [[1, 0], [0, 1]], "W_V": [[1, 2], [3, 4]]}
TEMPLATES = Path(display.__file__).resolve().parents[1] / "templates" / "latex"


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
    """The documented exception: the derivation asks the layout which time steps to build."""
    default = derivations.solve("bptt", BPTT)
    result = _with(monkeypatch, Layout(first=first, last=last), "bptt", BPTT)
    assert [s.data["t"] for s in result.steps if s.key == "bptt.state"] == written
    gaps = [(s.data["first"], s.data["last"], s.data["count"]) for s in result.steps
            if s.key == "bptt.skipped"]
    assert gaps == ([] if gap is None else [gap])
    assert result.plain_answers() == default.plain_answers()
    assert len(result.answers["dhT_dhk_norm"]) == len(BPTT["x"])


def test_a_derivation_builds_every_row_and_marks_it() -> None:
    result = derivations.solve("self-attention", SCORES)
    rows = [s for s in result.steps if s.key.endswith(".row")]
    assert [s.data["row"] for s in rows] == [1, 2, 3, 4, 5, 6]
    assert [(s.elidable.measure, s.elidable.size, s.elidable.of) for s in rows] == [
        ("rows", i, 6) for i in range(1, 7)]
    assert all(s.elidable.instead is None for s in rows)  # a row left out is not shortened


@pytest.mark.parametrize("rows", [0, 2, 6])
def test_the_same_result_shows_the_rows_the_layout_names(
        monkeypatch: pytest.MonkeyPatch, rows: int) -> None:
    """One run, rendered under two layouts: the rows shown change, the answers do not."""
    result = derivations.solve("self-attention", SCORES)
    shipped = render_text(result, "en")
    shown = laid_out(result.steps, Layout(rows=rows))
    assert [s.data["row"] for s in shown if s.key.endswith(".row")] == list(range(1, rows + 1))
    monkeypatch.setattr(display, "LAYOUT", Layout(rows=rows))
    swapped = render_text(result, "en")
    assert swapped.count("\n     z_") - shipped.count("\n     z_") == rows - 4
    assert (swapped == shipped) == (rows == 4)
    answers = shipped[shipped.index("Answers"):]
    assert swapped[swapped.index("Answers"):] == answers


def test_a_sum_is_written_out_as_far_as_the_layout_says(monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    result = derivations.solve("gan-optimum", SIX)  # six outcomes: more than the shipped four
    full = next(s for s in result.steps if s.key == "gan_optimum.d_star")
    assert full.substituted is not None and full.substituted.shape == (1, 6)
    assert full.elidable == Elidable("terms", 6, instead={"substituted": None})
    short = next(s for s in laid_out(result.steps) if s.key == "gan_optimum.d_star")
    assert short.substituted is None and short.value == full.value
    wide = next(s for s in laid_out(result.steps, Layout(terms=6))
                if s.key == "gan_optimum.d_star")
    assert wide is full
    before = result_latex(result)
    monkeypatch.setattr(display, "LAYOUT", Layout(terms=6))
    assert result_latex(result) != before and "\\frac{0.1}{0.1 + 0.2}" in result_latex(result)


def test_a_long_sum_shows_its_general_form(monkeypatch: pytest.MonkeyPatch) -> None:
    """Six outcomes: the cross-entropy's Sigma form by default, the six terms when wider."""
    params = {"p": [0.1, 0.2, 0.2, 0.2, 0.2, 0.1], "q": [0.2, 0.1, 0.2, 0.2, 0.2, 0.1]}
    result = derivations.solve("information", params)
    key = "information.cross_entropy"
    short = next(s for s in laid_out(result.steps) if s.key.startswith(key))
    wide = next(s for s in laid_out(result.steps, Layout(terms=6)) if s.key.startswith(key))
    assert "Sum" in str(short.symbolic) and short.substituted is None
    assert "Sum" not in str(wide.symbolic) and wide.substituted is not None
    assert short.value == wide.value


def test_matrices_are_written_out_inside_a_product_as_far_as_the_layout_says(
        monkeypatch: pytest.MonkeyPatch) -> None:
    result = derivations.solve("self-attention", FIVE)
    queries = next(s for s in result.steps if s.key == "self_attention.queries")
    assert queries.substituted is not None and queries.elidable.size == 5
    assert next(s for s in laid_out(result.steps) if s.key == queries.key).substituted is None
    assert next(s for s in laid_out(result.steps, Layout(matrix=5))
                if s.key == queries.key).substituted is not None
    before = result_html(result)
    monkeypatch.setattr(display, "LAYOUT", Layout(matrix=5))
    assert result_html(result) != before


def test_the_book_s_templates_follow_the_layout(monkeypatch: pytest.MonkeyPatch) -> None:
    """A LaTeX template renders the same result under two layouts differently."""
    result = derivations.solve("self-attention", SCORES)
    shipped = render_sheet(result, "en")
    monkeypatch.setattr(display, "LAYOUT", Layout(rows=6))
    wide = render_sheet(result, "en")
    assert shipped.count("z_{5}") == 0 and wide.count("z_{5}") > 0


def test_json_carries_every_step_and_says_which_the_layout_shows(
        monkeypatch: pytest.MonkeyPatch) -> None:
    result = derivations.solve("self-attention", SCORES)
    steps = result.as_dict()["steps"]
    rows = [s for s in steps if s["key"] == "self_attention.row"]
    assert [r["elidable"]["shown"] for r in rows] == [True] * 4 + [False] * 2
    assert all(s["elidable"] is None for s in steps if s["key"].endswith(".given_scores"))
    monkeypatch.setattr(display, "LAYOUT", Layout(rows=1))
    rows = [s for s in result.as_dict()["steps"] if s["key"] == "self_attention.row"]
    assert [r["elidable"]["shown"] for r in rows] == [True] + [False] * 5
    gan = derivations.solve("gan-optimum", SIX).as_dict()["steps"]
    d_star = next(s for s in gan if s["key"] == "gan_optimum.d_star")
    assert d_star["substituted"] is not None
    assert d_star["elidable"]["instead"] == {"substituted": None}


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


def test_a_shorter_form_never_changes_a_step_s_key_or_value() -> None:
    with pytest.raises(ValueError, match="value"):
        Elidable("terms", 6, instead={"value": 0})
    with pytest.raises(ValueError, match="measure"):
        Elidable("columns", 6)
    layout_fields = {f.name for f in dataclasses.fields(Layout)}
    assert set(ELIDABLE_MEASURES) <= layout_fields


def test_steps_left_out_are_numbered_as_shown() -> None:
    step = Step(key="a")
    kept = Step(key="b", elidable=Elidable("rows", 1))
    dropped = Step(key="c", elidable=Elidable("rows", 2))
    shorter = Step(key="d", value=1, elidable=Elidable("terms", 9, instead={"symbolic": None}))
    shown = shown_steps([step, kept, dropped, shorter], Layout(rows=1, terms=4))
    # the step left out is named by a note in its place (issue 18: what is left out is said)
    assert [(k, s.key) for k, s in shown] == [(0, "a"), (1, "b"), (None, "layout.left_out_one"),
                                              (3, "d")]
    assert shown[2][1].data == {"first": 2, "last": 2, "of": 2, "count": 1}
    assert shown[3][1].elidable is None and shown[3][1].value == 1


def test_the_checker_names_a_parting_step_by_its_number_as_shown() -> None:
    """Multi-head attention builds every head's rows and shows none: a mistake that parts
    after them is named by its number among the steps shown, the number `solve` prints."""
    derivation = derivations.get("multi-head-attention")
    params = {"seed": 3, "tokens": 3, "heads": 2, "d_model": 2, "d_k": 2}
    mistaken = derivations.solve("multi-head-attention", params,
                                 mistake="no-output-projection")
    report = verdicts.check(derivation, params, {"output": to_plain(mistaken.answers["output"])})
    (verdict,) = report.verdicts[:1]
    assert verdict.mistake == "no-output-projection"
    number, mine, theirs = report.parting_steps(verdict)
    right = report.right
    assert laid_out(right.steps)[number - 1] == mine
    assert mine.key == "multi_head_attention.projection"
    assert theirs.key == "multi_head_attention.no_projection"
    everything = [s.key for s in right.steps].index(mine.key) + 1
    assert number < everything  # the rows left out are not counted
    printed = render_text(right, "en").splitlines()
    assert any(line.startswith(f"{number:3}. ") and "W^O" in line for line in printed)


def test_a_parting_step_the_layout_leaves_out_is_named_by_the_next_one_shown(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A column-wise softmax parts from the right derivation at the softmax of row 1; with no
    rows shown, the check names the weights step instead, beside the mistaken one."""
    derivation = derivations.get("self-attention")
    params = {"scores": [[1, 2], [3, 5]], "d_k": 4}
    mistaken = derivations.solve("self-attention", params, mistake="softmax-by-column")
    given = {"weights[1][2]": to_plain(mistaken.answers["weights"])[0][1]}
    report = verdicts.check(derivation, params, given)
    (verdict,) = report.verdicts
    assert verdict.mistake == "softmax-by-column"
    number, mine, theirs = report.parting_steps(verdict)
    assert (number, mine.key, mine.data["row"]) == (3, "self_attention.softmax_row", 1)
    assert theirs.key == "self_attention.weights_by_column"
    monkeypatch.setattr(display, "LAYOUT", Layout(rows=0))
    number, mine, theirs = report.parting_steps(verdict)
    # step 3 says that rows 1 to 2 are left out; the weights are step 4
    assert (number, mine.key) == (4, "self_attention.weights")
    assert theirs.key == "self_attention.weights_by_column"
    assert laid_out(report.right.steps)[number - 1] == mine


def test_every_template_shows_steps_through_the_layout() -> None:
    """A template that loops over a result's steps goes through ``laid_out``."""
    unfiltered = []
    for path in sorted(TEMPLATES.rglob("*.j2")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            for match in re.finditer(r"\b\w+(?:\.\w+)*\.steps\b(?!\|laid_out)", line):
                if not line[:match.start()].rstrip().endswith('"'):
                    unfiltered.append(f"{path.name}:{n}: {match.group()}")
    assert unfiltered == []
