"""The one display path: one configuration (digits per context), one renderer, two back-ends.

Expected strings are written by hand from the rule (not from our output): an inexact number
shows all its context's decimals, the entries of a vector or matrix share theirs, exact short
decimals are written as they are, small non-zero numbers keep two significant digits.
"""

from __future__ import annotations

import ast
from pathlib import Path

import sympy as sp
from pylatex import NoEscape

import dlexam
from dlexam.notation.display import DIGITS, render
from dlexam.render.terminal import _answer_text
from dlexam.render.values import short_values, value_tex


def test_one_configuration_of_digits_per_context() -> None:
    assert DIGITS == {"formula": 4, "prose": 4, "figure": 3, "terminal": 6, "web": 4}


def test_numbers_in_both_backends() -> None:
    assert render(sp.Float(0.021), "latex") == "$0.0210$"
    assert render(sp.Float(0.021), "text") == "0.0210"
    assert render(sp.Rational(1, 3), "text") == "0.3333"  # no short decimal writes it
    assert render(sp.Rational(1, 2), "text") == "0.5"  # exact, as written
    assert render(0.999996, "text", "prose") == "1.0000"  # never "≈ 1"
    assert render(0.999996, "text", "terminal") == "0.999996"
    assert render(sp.Rational(1, 100000), "text") == "0.00001"  # small, not 0
    assert render(True, "text") == "true" and render(None, "latex") == "--"


def test_vectors_and_matrices_share_their_decimals() -> None:
    # the review's ragged column: 0.5, 0, 0.8 beside two-decimal entries
    m = sp.Matrix([[sp.Rational(1, 2), sp.Rational(1, 4)], [0, sp.Rational(4, 5)]])
    assert render(m, "text") == "[[0.50, 0.25], [0.00, 0.80]]"
    # a matrix in LaTeX is measured by TeX (\dlxfit: on a line of its own when wide)
    assert render(m, "latex") == (r"\dlxfit{$\left[\begin{matrix}0.50 & 0.25\\0.00 & 0.80"
                                  r"\end{matrix}\right]$}")
    vector = [sp.Float(0.021), sp.Rational(1, 2), 0]
    assert render(vector, "text", lists="tuple") == "(0.0210, 0.5000, 0.0000)"
    assert render(vector, "latex", lists="tuple") == (
        r"$(0.0210,\allowbreak\ 0.5000,\allowbreak\ 0.0000)$")
    assert short_values([[sp.Rational(1, 2), sp.Rational(1, 4)]]) == [NoEscape("$(0.50, 0.25)$")]
    assert short_values([[0.5, 0.25]]) == [NoEscape("$(0.500, 0.250)$")]  # floats are inexact
    assert str(value_tex([1, 2])) == r"\dlxfit{$\left[\begin{matrix}1 & 2\end{matrix}\right]$}"


def test_terminal_answers_use_the_same_rule() -> None:
    assert _answer_text([sp.Float(0.5), sp.Rational(1, 4)]) == "[0.500000, 0.250000]"
    assert _answer_text([1, 2]) == "[1, 2]"
    assert _answer_text([[sp.Rational(1, 2)], [1]]) == "[[0.5], [1.0]]"


def test_no_other_formatter_of_values() -> None:
    """Outside the display rule (notation/display.py, the printers) no number a person reads is
    formatted by hand (f"{x:.4f}", f"{x:g}" and the like): values, scores, points, tolerances,
    echoed values and Moodle's numbers go through dlexam.notation.display. What remains are a
    limit or a size in an error message and a command's timing."""
    root = Path(dlexam.__file__).parent
    allowed = {("model.py", ".0e"), ("model.py", ".7g"), ("model.py", "g"), ("key.py", ".0f"),
               ("submissions.py", ".0f"), ("run.py", ".2f"),  # limits, sizes (MiB), a timing
               ("variants.py", ".4g")}  # a variant's answers to 4 figures, compared, not shown
    for folder in ("render", "notation", "check", "exams", "grade"):
        for path in (root / folder).rglob("*.py"):
            if path.name in ("printers.py", "display.py"):  # the rule itself
                continue
            for node in ast.walk(ast.parse(path.read_text("utf-8"))):
                if isinstance(node, ast.FormattedValue) and node.format_spec is not None:
                    spec = "".join(str(v.value) for v in node.format_spec.values
                                   if isinstance(v, ast.Constant))
                    if (path.name, spec) in allowed:
                        continue
                    assert "f" not in spec and "g" not in spec and "e" not in spec, (
                        f"{path.name}:{node.lineno}: a number formatted by hand ({spec})")


def test_plain_numbers_have_named_contexts() -> None:
    from dlexam.notation.display import plain_number

    assert plain_number(12.5) == "12.5" and plain_number(20.0) == "20"
    assert plain_number(2 / 3) == "0.666667" and plain_number(-0.0) == "0"
    assert plain_number(20.0, "points") == "20" and plain_number(2.5, "points") == "2.5"
    assert plain_number(0.001371, "tolerance") == "0.00137"
    assert plain_number(2.670412345, "echo") == "2.67041"
    assert plain_number(-0.0, "moodle") == "0" and plain_number(1 / 3, "moodle") == "0.3333333333"


def test_a_series_is_its_items_written_in_its_kind_s_notation() -> None:
    """A derivation gives a series' items and kind; the text is the notation's (issue 22)."""
    import sympy as sp

    from dlexam.notation.display import Series

    widths = Series("widths", [3, 4, 2])
    assert widths == "3-4-2" and widths.items == (3, 4, 2) and widths.kind == "widths"
    sizes = Series("sizes", [Series("axes", [28, 28]), Series("axes", [13, 13])])
    assert sizes == "28 × 28, 13 × 13"
    tree = Series("conditionals", [("a", "", sp.Rational(3, 5)),
                                   ("b", "a", sp.Rational(1, 20)), ("<eos>", "a b", 1)])
    assert tree == "p(a) = 0.6, p(b | a) = 0.05, p(<eos> | a b) = 1"
    assert tree.items[1] == ("b", "a", sp.Rational(1, 20))
    # a worker process hands it back pickled (dlexam serve)
    import pickle

    again = pickle.loads(pickle.dumps(sizes))
    assert again == sizes and again.kind == "sizes" and again.items == sizes.items


def test_a_tensor_in_a_sentence_keeps_its_brackets_and_commas_in_its_slices_boxes() -> None:
    """A channels-first tensor in a statement is its slices, each a box TeX may set on a line
    of its own: the tensor's opening bracket rides in the first box, each comma in the box
    before it and the closing bracket in the last, so that none is left alone on a line."""
    import re

    x = sp.Array([[[1, -2], [3, 4], [5, 6]], [[0, 1], [2, 3], [4, 5]], [[1, 1], [1, 1], [1, 1]]])
    tex = render(x, "latex", "prose")
    boxes = re.findall(r"\\dlxfit\{\$(.*?)\$\}", tex)
    assert len(boxes) == 3 and re.sub(r"\\dlxfit\{\$.*?\$\}", "", tex).strip() == ""
    assert boxes[0].startswith(r"\left[") and boxes[0].endswith(r"\right.,")
    assert boxes[1].startswith(r"\left.") and boxes[1].endswith(r"\right.,")
    assert boxes[2].startswith(r"\left.") and boxes[2].endswith(r"\right]")


def test_a_kernel_of_rank_four_in_a_sentence_is_balanced_box_by_box() -> None:
    """A convolution kernel (filters, channels, rows, columns): its filters' slices are
    themselves several boxes; each box keeps its own \\left ... \\right pair balanced (the
    largest exam's paper stopped TeX with 'Missing \\right. inserted')."""
    import re

    k = sp.Array([[[[1, 2], [3, 4]], [[5, 6], [7, 8]]], [[[0, 1], [1, 0]], [[2, 2], [2, 2]]]])
    tex = render(k, "latex", "prose")
    boxes = re.findall(r"\\dlxfit\{\$(.*?)\$\}", tex)
    assert len(boxes) == 4
    for body in boxes:
        assert body.count(r"\left") == body.count(r"\right"), body
    assert boxes[0].startswith(r"\left[\left[") and boxes[-1].endswith(r"\right]\right]")
