"""activation against PyTorch's functions and autograd, published values, conventions at 0."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from dlexam import derivations


def _floats(value: object) -> list[float]:
    if isinstance(value, list):
        return [x for v in value for x in _floats(v)]
    return [float(value)]  # type: ignore[arg-type]


@pytest.mark.parametrize("name,alpha,approximate", [
    ("sigmoid", None, "none"), ("tanh", None, "none"), ("relu", None, "none"),
    ("leaky_relu", 0.2, "none"), ("leaky_relu", None, "none"), ("elu", 1.5, "none"),
    ("elu", None, "none"), ("gelu", None, "none"), ("gelu", None, "tanh"),
    ("softplus", None, "none"),
])
def test_value_and_derivative_match_torch_autograd(name: str, alpha: float | None,
                                                   approximate: str) -> None:
    xs = [-2.5, -0.3, 0.0, 0.7, 3.1]
    params: dict[str, object] = {"name": name, "x": xs, "approximate": approximate}
    if alpha is not None:
        params["alpha"] = alpha
    a = derivations.solve("activation", params).plain_answers()
    x = torch.tensor(xs, dtype=torch.float64, requires_grad=True)
    f = torch.nn.functional
    slope = alpha if alpha is not None else (0.01 if name == "leaky_relu" else 1.0)
    y = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": f.relu,
         "leaky_relu": lambda v: f.leaky_relu(v, slope), "elu": lambda v: f.elu(v, slope),
         "gelu": lambda v: f.gelu(v, approximate=approximate), "softplus": f.softplus}[name](x)
    y.sum().backward()
    assert a["value"] == pytest.approx(y.detach().tolist(), rel=1e-12, abs=1e-15)
    # at 0 too: ReLU'(0) = 0, LeakyReLU'(0) = ELU'(0) = alpha, as torch's backward takes them
    assert a["derivative"] == pytest.approx(x.grad.tolist(), rel=1e-12, abs=1e-15)


def test_published_values() -> None:
    # sigma'(0) = 1/4 and tanh'(0) = 1: a sigmoid unit passes back at most a quarter
    sig = derivations.solve("activation", {"name": "sigmoid", "x": 0}).plain_answers()
    assert sig == {"value": 0.5, "derivative": 0.25, "saturation": 1.0}
    th = derivations.solve("activation", {"name": "tanh", "x": 0}).plain_answers()
    assert th == {"value": 0, "derivative": 1, "saturation": 1}
    # Hendrycks and Gimpel: GELU(1) = Phi(1) = 0.8413; the derivative peaks at sqrt(2)
    g = derivations.solve("activation", {"name": "gelu", "x": math.sqrt(2)}).answers
    assert float(g["saturation"]) == pytest.approx(1.0, abs=1e-12)
    g1 = derivations.solve("activation", {"name": "gelu", "x": 1}).plain_answers()
    assert g1["value"] == pytest.approx(0.841344746, rel=1e-9)
    # a saturated sigmoid at x = 5 learns about 38 times slower than at 0
    s5 = derivations.solve("activation", {"name": "sigmoid", "x": 5}).plain_answers()
    assert 1 / s5["saturation"] == pytest.approx((1 + math.exp(-5)) ** 2 / (4 * math.exp(-5)),
                                                 rel=1e-12)


def test_softmax_jacobian_matches_torch_and_rows_sum_to_zero() -> None:
    xs = [2.0, 1.0, 0.1]
    a = derivations.solve("activation", {"name": "softmax", "x": xs}).plain_answers()
    x = torch.tensor(xs, dtype=torch.float64)
    jac = torch.autograd.functional.jacobian(lambda v: torch.softmax(v, 0), x)
    assert _floats(a["derivative"]) == pytest.approx(_floats(jac.tolist()), rel=1e-12)
    assert all(abs(sum(row)) < 1e-15 for row in a["derivative"])
    # the classic example: softmax(2, 1, 0.1) = (0.659, 0.242, 0.099)
    assert a["value"] == pytest.approx([0.659001, 0.242433, 0.098566], abs=1e-6)


def test_mistakes_name_the_slips() -> None:
    d = derivations.get("activation")
    sig = d.run({"name": "sigmoid", "x": 1}, mistake="sigmoid-derivative-as-sigmoid")
    assert float(sig.answers["derivative"]) == pytest.approx(1 / (1 + math.exp(-1)))
    th = d.run({"name": "tanh", "x": -1}, mistake="tanh-derivative-unsquared")
    assert float(th.answers["derivative"]) == pytest.approx(1 + math.tanh(1))
    relu = d.run({"name": "relu", "x": [0, 2]}, mistake="relu-derivative-one-at-zero")
    assert relu.plain_answers()["derivative"] == [1, 1]
    assert not d.get_mistake("relu-derivative-one-at-zero").applies_to(
        d.shown_params({"name": "relu", "x": [1, 2]}))


@pytest.mark.parametrize("argv,param", [
    (["activation", "name=relu", "x=[1,2]", "alpha=0.1"], "alpha"),
    (["activation", "name=leaky_relu", "x=1", "alpha=-0.1"], "alpha"),
    (["activation", "name=softmax", "x=1"], "x"),
    (["activation", "name=tanh", "x=1", "approximate=tanh"], "approximate"),
    (["activation", "name=swish", "x=1"], "name"),
    (["activation", "name=tanh", "x=[1,2,3,4,5,6,7,8,9]"], "x"),
])
def test_bad_input_names_the_parameter(input_error: Callable[[list[str]], str],
                                       argv: list[str], param: str) -> None:
    assert input_error(["solve", *argv]).startswith(f"{param}: expected ")


@pytest.mark.tex
def test_sheet_at_the_limits_fits_the_page(tmp_path: Path) -> None:
    """GELU's tanh form on 8 inputs, the longest formulas of the three layer derivations: the
    sheet keeps every line on the page and prints the values computed by torch."""
    import re
    import subprocess

    from dlexam.build.sheet import render_sheet
    from dlexam.build.tex import compile_pdf

    xs = [-19.5, -3.5, 0, 0.25, 1.5, 2, 15.5, 19.99]
    result = derivations.solve("activation", {"name": "gelu", "approximate": "tanh", "x": xs})
    run = compile_pdf(render_sheet(result), jobname="sheet")
    widths = [float(w) for w in re.findall(r"Overfull \\hbox \(([\d.]+)pt", run.log)]
    assert all(w <= 1 for w in widths), widths
    pdf = tmp_path / "sheet.pdf"
    pdf.write_bytes(run.pdf)
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    x = torch.tensor(xs, dtype=torch.float64, requires_grad=True)
    torch.nn.functional.gelu(x, approximate="tanh").sum().backward()
    assert f"{x.grad[4].item():.4f}" in text  # GELU'(1.5) as the sheet rounds it
    assert "GELU" in text and "解答單" in text
