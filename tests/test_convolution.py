"""conv2d and pooling on published examples and hand-made cases, against PyTorch; their
conventions (kernel flip, argmax positions and ties, the divisor of padded average pooling),
their input errors and their sheet.

Published values: Zhang et al., Dive into Deep Learning, sections 7.2 (corr2d), 7.4 (multiple
input channels) and 7.5 (pooling, padding and stride, multiple channels).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F  # noqa: N812
from reference.convolution import conv2d_torch, pooling_torch

from dlexam import derivations
from dlexam.notation import text
from dlexam.notation.display import laid_out

X3 = [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
X4 = [[4 * i + j for j in range(4)] for i in range(4)]


def _y(name: str, **params: Any) -> Any:
    return derivations.solve(name, params).plain_answers()


@pytest.mark.parametrize(("params", "published"), [
    ({"X": X3, "K": [[0, 1], [2, 3]]}, [[19, 25], [37, 43]]),  # 7.2
    ({"X": [X3, [[1, 2, 3], [4, 5, 6], [7, 8, 9]]], "K": [[[0, 1], [2, 3]], [[1, 2], [3, 4]]]},
     [[56, 72], [104, 120]]),  # 7.4
    # 7.4, three filters: K, K + 1, K + 2 stacked
    ({"X": [X3, [[1, 2, 3], [4, 5, 6], [7, 8, 9]]],
      "K": [[[[0 + s, 1 + s], [2 + s, 3 + s]], [[1 + s, 2 + s], [3 + s, 4 + s]]]
            for s in range(3)]},
     [[[56, 72], [104, 120]], [[76, 100], [148, 172]], [[96, 128], [192, 224]]]),
])
def test_conv2d_published_examples(params: dict[str, Any], published: Any) -> None:
    assert _y("conv2d", **params)["Y"] == published
    assert conv2d_torch(derivations.get("conv2d").shown_params(params)) == published


@pytest.mark.parametrize(("params", "published"), [
    ({"X": X3, "size": 2, "stride": 1}, [[4, 5], [7, 8]]),  # 7.5.1, max
    ({"X": X3, "size": 2, "stride": 1, "mode": "avg"}, [[2, 3], [5, 6]]),  # 7.5.1, average
    ({"X": X4, "size": 3}, [[10]]),  # 7.5.2: the stride defaults to the window
    ({"X": X4, "size": 3, "padding": 1, "stride": 2}, [[5, 7], [13, 15]]),  # 7.5.2
    ({"X": [X4, [[v + 1 for v in row] for row in X4]], "size": 3, "padding": 1, "stride": 2},
     [[[5, 7], [13, 15]], [[6, 8], [14, 16]]]),  # 7.5.3, two channels
])
def test_pooling_published_examples(params: dict[str, Any], published: Any) -> None:
    assert _y("pooling", **params)["Y"] == published


def test_convolution_flips_the_kernel() -> None:
    """A true convolution is the cross-correlation with the kernel turned by 180 degrees:
    torch.flip before F.conv2d."""
    x, k = torch.tensor(X3, dtype=torch.float64), torch.tensor([[0.0, 1], [2, 3]],
                                                                dtype=torch.float64)
    flipped = F.conv2d(x[None, None], torch.flip(k, (0, 1))[None, None])[0, 0].tolist()
    assert _y("conv2d", X=X3, K=[[0, 1], [2, 3]], op="convolution")["Y"] == flipped
    assert flipped == [[5, 11], [23, 29]]
    # a kernel a half turn leaves unchanged gives the same either way
    sym = [[1, 2], [2, 1]]
    assert _y("conv2d", X=X3, K=sym, op="convolution") == _y("conv2d", X=X3, K=sym)


def test_stride_padding_and_bias_against_torch() -> None:
    params = {"X": [[1, -2, 0.5, 3, 1], [0, 1, 2, -1, 2], [2, 2, -3, 0, 1], [1, 0, 1, 1, -2]],
              "K": [[[1, 0.5, -1], [0, 2, 1], [-1, 1, 0]]], "b": 0.25, "stride": 2,
              "padding": 1}
    got = _y("conv2d", **params)["Y"]
    expected = conv2d_torch(derivations.get("conv2d").shown_params(params))
    assert len(got) == (4 + 2 - 3) // 2 + 1 and len(got[0]) == (5 + 2 - 3) // 2 + 1
    assert got == expected  # quarters and halves: exact in binary


def test_argmax_is_one_based_in_the_input_and_ties_take_the_first() -> None:
    """Every window of this input holds a tie; PyTorch's return_indices picks the first in
    row-major order, and dlexam's (row, column) from 1 is the same position."""
    x = [[5, 5, 1, 7], [5, 2, 7, 7], [0, 3, 3, 3], [3, 1, 2, 3]]
    answers = _y("pooling", X=x, size=2)
    _, index = F.max_pool2d(torch.tensor(x, dtype=torch.float64)[None], 2,
                            return_indices=True)
    from_torch = [[[int(i) // 4 + 1, int(i) % 4 + 1] for i in row] for row in index[0]]
    assert answers["argmax"] == from_torch == [[[1, 1], [1, 4]], [[3, 2], [3, 3]]]
    result = derivations.solve("pooling", {"X": x, "size": 2})
    assert result.info["torch_indices"] == index[0].tolist()


def test_padded_max_pooling_never_chooses_the_padding() -> None:
    x = [[-5, -4], [-3, -9]]
    answers = _y("pooling", X=x, size=2, stride=1, padding=1)
    assert answers["Y"] == [[-5, -4, -4], [-3, -3, -4], [-3, -3, -9]]
    assert answers["Y"] == pooling_torch({"X": x, "size": 2, "stride": 1, "padding": 1,
                                          "mode": "max", "global": False,
                                          "count_include_pad": True})["Y"]
    assert answers["argmax"][0][0] == [1, 1] and answers["argmax"][2][2] == [2, 2]


@pytest.mark.parametrize("include", [True, False])
def test_average_pooling_names_both_divisors(include: bool) -> None:
    """count_include_pad=true divides a border window by k^2 (PyTorch's default); false by the
    entries it covers. Both are computed: the other is in info."""
    params = {"X": X4, "size": 3, "stride": 2, "padding": 1, "mode": "avg",
              "count_include_pad": include}
    result = derivations.solve("pooling", params)
    x = torch.tensor(X4, dtype=torch.float64)[None]
    mine = F.avg_pool2d(x, 3, 2, 1, count_include_pad=include)[0].tolist()
    other = F.avg_pool2d(x, 3, 2, 1, count_include_pad=not include)[0].tolist()
    assert np.allclose(result.plain_answers()["Y"], mine, rtol=1e-15, atol=0)
    assert np.allclose(np.array(result.info["Y_other"].tolist(), dtype=float), other,
                       rtol=1e-15, atol=0)
    assert "argmax" not in result.answers
    # the top-left window covers 4 entries (0, 1, 4, 5): 10/9 counted with the zeros, 10/4 not
    assert result.plain_answers()["Y"][0][0] == pytest.approx(10 / 9 if include else 10 / 4)


def test_global_pooling_gives_one_value_per_channel() -> None:
    x = [X3, [[9, 1, 1], [1, 1, 1], [1, 1, 9]]]
    answers = _y("pooling", X=x, **{"global": True})
    assert answers == {"Y": [8, 9], "argmax": [[3, 3], [1, 1]]}
    assert _y("pooling", X=X3, mode="avg", **{"global": True}) == {"Y": 4}


def test_entry_steps_write_every_product_and_mark_the_long_ones() -> None:
    """Each output entry is a step with its products written out; past the layout's terms it
    is shown in a shorter form (the window times the kernel as matrices, or each channel's
    sum), never dropped."""
    result = derivations.solve("conv2d", {"X": X3, "K": [[0, 1], [2, 3]]})
    entries = [s for s in result.steps if s.key == "conv2d.entry"]
    assert [s.value for s in entries] == [19, 25, 37, 43]
    assert all(s.elidable is not None and s.elidable.size == 4 for s in entries)
    shown = [s for s in laid_out(result.steps) if s.key == "conv2d.entry"]
    assert shown == entries  # four products: written out
    big = derivations.solve("conv2d", {"X": X3, "K": [[0, 1], [2, 3]], "b": 1})
    five = [s for s in laid_out(big.steps) if s.key == "conv2d.entry"]
    assert len(five) == 4 and all(s.elidable is None for s in five)  # the shorter form
    # the shorter form: sum(window ⊙ kernel) + b, both written as matrices
    assert text(five[0].substituted) == "sum([[0, 1], [3, 4]] ⊙ [[0, 1], [2, 3]]) + 1"


@pytest.mark.parametrize(("argv", "start", "fragment"), [
    (["conv2d", "X=[[1,2],[3,4]]", "K=[[[1]],[[2]]]"], "K: expected",
     "one channel, as the input X has"),
    (["conv2d", "X=[[[1,2],[3,4]],[[1,2],[3,4]]]", "K=[[1]]"], "K: expected", "C = 2"),
    (["conv2d", "X=[[1,2],[3,4]]", "K=[[1,2,3],[1,2,3],[1,2,3]]"], "K: expected",
     "no larger than the padded input (2 x 2)"),
    (["conv2d", "X=[[1,2],[3,4]]", "K=[[1]]", "b=[1,2]"], "b: expected", "a number"),
    (["conv2d", "X=[[1,2],[3,4]]", "K=[[[[1]]],[[[2]]]]", "b=3"], "b: expected",
     "2 numbers"),
    (["conv2d", "X=[[1,2],[3,4]]", "K=[[1]]", "op=convolve"], "op: expected",
     "cross-correlation, convolution"),
    (["conv2d", "X=" + str([[1] * 9] * 9), "K=[[1]]"], "X: expected", "H at most 8"),
    (["conv2d", "X=[[[[[1]]]]]", "K=[[1]]"], "X: expected", "nested at most 4"),
    (["conv2d", "X=" + str([[1] * 7] * 7), "K=[[1]]", "padding=1"], "padding: expected",
     "a padded input of at most 8 x 8"),
    (["pooling", "X=[[1,2],[3,4]]", "padding=2"], "padding: expected", "at most half"),
    (["pooling", "X=[[1,2],[3,4]]", "size=3"], "size: expected", "no larger"),
    (["pooling", "X=[[1,2],[3,4]]", "mode=min"], "mode: expected", "max, avg"),
])
def test_bad_input_is_one_line_naming_the_parameter(
        input_error: Callable[[list[str]], str], argv: list[str], start: str,
        fragment: str) -> None:
    message = input_error(["solve", *argv])
    assert message.startswith(start), message
    assert fragment in message, message


@pytest.mark.tex
def test_sheet_reads_back_in_both_languages(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    from dlexam.cli import main

    target = tmp_path / "conv.pdf"
    assert main(["solve", "conv2d", "X=[[[0,1,2],[3,4,5],[6,7,8]],[[1,2,3],[4,5,6],[7,8,9]]]",
                 "K=[[[0,1],[2,3]],[[1,2],[3,4]]]", "b=1", "padding=1", "--pdf",
                 str(target)]) == 0
    capsys.readouterr()
    text = subprocess.run(["pdftotext", "-layout", str(target), "-"], capture_output=True,
                          text=True, check=True).stdout
    expected = conv2d_torch({"X": [X3, [[1, 2, 3], [4, 5, 6], [7, 8, 9]]],
                             "K": [[[0, 1], [2, 3]], [[1, 2], [3, 4]]], "b": 1, "stride": 1,
                             "padding": 1, "op": "cross-correlation"})
    assert f"{int(expected[1][1])}" in text and f"{int(expected[3][3])}" in text
    assert "Answer sheet" in text and "解答單" in text and "卷積核" in text
