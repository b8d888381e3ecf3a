"""gru-forward against torch.nn.GRU (float64) and Keras 3's GRU in both reset_after forms."""

# ruff: noqa: N803, N806
# (the exam's letters: U, W, V, H, D, T)

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np
import pytest
import torch

from dlexam import derivations
from dlexam.derivations.core import to_plain
from dlexam.render import render_text


def plain(result, name):
    return np.array(to_plain(result.answers[name]), dtype=float)


def random_cell(seed: int, H: int = 2, D: int = 2, T: int = 3) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    cell = {k: rng.normal(size=(H, D)) for k in ("W_z", "W_r", "W_h")}
    cell.update({k: rng.normal(size=(H, H)) for k in ("U_z", "U_r", "U_h")})
    cell.update({k: rng.normal(size=H) for k in ("b_z", "b_r", "b_h", "b_hn", "h0")})
    cell["x"] = rng.normal(size=(T, D))
    # short decimals keep the exact arithmetic quick; the references get the same doubles
    return {k: v.round(2) for k, v in cell.items()}


def solve(cell: dict[str, np.ndarray], reset_after: bool):
    given = {k: v.tolist() for k, v in cell.items() if reset_after or k != "b_hn"}
    return derivations.solve("gru-forward", given, reset_after=reset_after)


@pytest.mark.parametrize("seed", [0, 1])
def test_random_against_torch_gru(seed: int) -> None:
    cell = random_cell(seed)
    H, D = cell["W_z"].shape
    gru = torch.nn.GRU(D, H, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        # PyTorch stacks the gates in the order r, z, n and keeps two biases per gate
        gru.weight_ih_l0.copy_(torch.tensor(np.vstack([cell["W_r"], cell["W_z"], cell["W_h"]])))
        gru.weight_hh_l0.copy_(torch.tensor(np.vstack([cell["U_r"], cell["U_z"], cell["U_h"]])))
        gru.bias_ih_l0.copy_(torch.tensor(np.concatenate([cell["b_r"], cell["b_z"],
                                                          cell["b_h"]])))
        gru.bias_hh_l0.copy_(torch.tensor(np.concatenate([np.zeros(2 * H), cell["b_hn"]])))
        out, _ = gru(torch.tensor(cell["x"])[None], torch.tensor(cell["h0"])[None, None])
    result = solve(cell, reset_after=True)
    assert plain(result, "h") == pytest.approx(out[0].numpy(), abs=1e-10)
    assert result.convention == "reset_after"


def numpy_gru_reset_before(cell: dict[str, np.ndarray]) -> np.ndarray:
    """The original paper's GRU (Keras' reset_after=False), written out in NumPy."""
    sig = lambda a: 1 / (1 + np.exp(-a))  # noqa: E731
    h, out = cell["h0"], []
    for x in cell["x"]:
        z = sig(cell["W_z"] @ x + cell["U_z"] @ h + cell["b_z"])
        r = sig(cell["W_r"] @ x + cell["U_r"] @ h + cell["b_r"])
        candidate = np.tanh(cell["W_h"] @ x + cell["U_h"] @ (r * h) + cell["b_h"])
        h = z * h + (1 - z) * candidate
        out.append(h)
    return np.array(out)


@pytest.mark.parametrize("reset_after", [True, False])
def test_random_against_keras_gru(reset_after: bool) -> None:
    cell = random_cell(5)
    H, D = cell["W_z"].shape
    T = cell["x"].shape[0]
    layer = keras.layers.GRU(H, return_sequences=True, reset_after=reset_after,
                             dtype="float64")
    layer.build((1, T, D))
    # Keras keeps the gates in the order z, r, h, as columns of (D, 3H) and (H, 3H) kernels
    kernel = np.hstack([cell["W_z"].T, cell["W_r"].T, cell["W_h"].T])
    recurrent = np.hstack([cell["U_z"].T, cell["U_r"].T, cell["U_h"].T])
    bias_in = np.concatenate([cell["b_z"], cell["b_r"], cell["b_h"]])
    if reset_after:
        bias = np.stack([bias_in, np.concatenate([np.zeros(2 * H), cell["b_hn"]])])
    else:
        bias = bias_in
    layer.set_weights([kernel, recurrent, bias])
    # the torch backend returns a torch tensor (keras.ops.convert_to_numpy warns under NumPy 2)
    out = layer(cell["x"][None], initial_state=[cell["h0"][None]]).detach().numpy()
    result = solve(cell, reset_after=reset_after)
    # Keras 3.15's reset_after=False path on the torch backend agrees only to ~1e-7 even in
    # float64; the NumPy reference of the same formula checks it to 1e-12
    assert plain(result, "h") == pytest.approx(out[0], abs=1e-10 if reset_after else 1e-6)
    if not reset_after:
        assert plain(result, "h") == pytest.approx(numpy_gru_reset_before(cell), abs=1e-12)


def test_the_two_forms_differ_and_gates_match_numpy() -> None:
    cell = random_cell(9)
    after, before = solve(cell, True), solve({**cell, "b_hn": np.zeros(2)}, False)
    assert not np.allclose(plain(after, "h"), plain(before, "h"))
    sig = lambda a: 1 / (1 + np.exp(-a))  # noqa: E731
    x1, h0 = cell["x"][0], cell["h0"]
    assert plain(after, "z")[0] == pytest.approx(sig(cell["W_z"] @ x1 + cell["U_z"] @ h0
                                                     + cell["b_z"]), abs=1e-12)
    assert plain(after, "r")[0] == pytest.approx(sig(cell["W_r"] @ x1 + cell["U_r"] @ h0
                                                     + cell["b_r"]), abs=1e-12)


def test_default_example_reads_in_both_languages() -> None:
    result = derivations.solve("gru-forward")
    assert set(result.answers) >= {"h", "z", "r"}
    assert "update gate" in render_text(result, "en")
    assert "重置門" in render_text(result, "zh-Hant")


@pytest.mark.parametrize(
    "argv,param,fragment",
    [
        (["W_z=[0.5, 0.1]"], "W_r", "since W_z is given"),
        (["reset_after=maybe"], "reset_after", "true or false"),
        (["update_rule=keras"], "update_rule", "cho, olah"),
        (["reset_after=false", "b_hn=[0.1]"], "b_hn", "reset_after is false"),
        (["U_z=[[1, 2]]"], "U_z", "H x H"),
        (["x=[[1, 2], [3, 4]]"], "x", "one number per time step"),
    ],
)
def test_bad_input_exit_2_one_line(input_error: Callable[[list[str]], str], argv: list[str],
                                   param: str, fragment: str) -> None:
    message = input_error(["solve", "gru-forward", *argv])
    assert message.startswith(f"{param}: expected")
    assert fragment in message


def test_update_rule_swapped_is_the_mirrored_gru() -> None:
    """h = (1 - z) h_prev + z h~ is the right GRU with z's pre-activation negated: σ(-a) = 1 - σ(a).
    torch computes that cell from the negated update-gate weights; z itself is then 1 - z."""
    cell = random_cell(11, H=2, D=1, T=3)
    H = 2
    gru = torch.nn.GRU(1, H, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        gru.weight_ih_l0.copy_(torch.tensor(np.vstack([cell["W_r"], -cell["W_z"], cell["W_h"]])))
        gru.weight_hh_l0.copy_(torch.tensor(np.vstack([cell["U_r"], -cell["U_z"], cell["U_h"]])))
        gru.bias_ih_l0.copy_(torch.tensor(np.concatenate([cell["b_r"], -cell["b_z"],
                                                          cell["b_h"]])))
        gru.bias_hh_l0.copy_(torch.tensor(np.concatenate([np.zeros(2 * H), cell["b_hn"]])))
        out, _ = gru(torch.tensor(cell["x"])[None], torch.tensor(cell["h0"])[None, None])
    given = {k: v.tolist() for k, v in cell.items()}
    result = derivations.get("gru-forward").run(given, mistake="update-rule-swapped")
    assert plain(result, "h") == pytest.approx(out[0].numpy(), abs=1e-10)
    state = [s for s in result.steps if s.key == "gru_forward.state_swapped"]
    assert len(state) == 3


@pytest.mark.parametrize("reset_after", [True, False])
def test_reset_after_swapped_computes_the_other_placement(reset_after: bool) -> None:
    cell = random_cell(12)
    given = {k: v.tolist() for k, v in cell.items() if reset_after or k != "b_hn"}
    result = derivations.get("gru-forward").run({**given, "reset_after": reset_after},
                                                mistake="reset-after-swapped")
    other = {**cell, "b_h": cell["b_h"] + (cell["b_hn"] if reset_after else 0)}
    if reset_after:  # the other placement, b_hn kept outside the gate (folded into b_h here)
        assert plain(result, "h") == pytest.approx(numpy_gru_reset_before(other), abs=1e-12)
        keys = {s.key for s in result.steps}
        assert "gru_forward.candidate_reset_before_with_hn" in keys
        assert "gru_forward.reset_after" in keys  # the question's form is still named
    else:
        right = solve({**cell, "b_hn": np.zeros(2)}, reset_after=True)
        assert plain(result, "h") == pytest.approx(plain(right, "h"), abs=1e-12)


def test_numpy_reference_agrees_with_torch() -> None:
    """tests/reference/recurrent_cells.py (used by the contract self-test) against torch."""
    from reference.recurrent_cells import gru_forward as reference_gru

    cell = random_cell(13)
    H, D = cell["W_z"].shape
    gru = torch.nn.GRU(D, H, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        gru.weight_ih_l0.copy_(torch.tensor(np.vstack([cell["W_r"], cell["W_z"], cell["W_h"]])))
        gru.weight_hh_l0.copy_(torch.tensor(np.vstack([cell["U_r"], cell["U_z"], cell["U_h"]])))
        gru.bias_ih_l0.copy_(torch.tensor(np.concatenate([cell["b_r"], cell["b_z"],
                                                          cell["b_h"]])))
        gru.bias_hh_l0.copy_(torch.tensor(np.concatenate([np.zeros(2 * H), cell["b_hn"]])))
        out, _ = gru(torch.tensor(cell["x"])[None], torch.tensor(cell["h0"])[None, None])
    ref = reference_gru({**{k: v.tolist() for k, v in cell.items()}, "reset_after": True,
                         "update_rule": "cho"}, None)
    assert np.array(ref["h"]) == pytest.approx(out[0].numpy(), abs=1e-12)
    olah = reference_gru({**{k: v.tolist() for k, v in cell.items()}, "reset_after": True,
                          "update_rule": "olah"}, None)
    assert np.array(olah["h_other"]) == pytest.approx(out[0].numpy(), abs=1e-12)


def _mirrored_torch(cell: dict[str, np.ndarray], negate_z: bool) -> np.ndarray:
    """torch.nn.GRU's states; with negate_z, the cell whose update gate is 1 - z (σ(-a) = 1 - σ(a)),
    which is the GRU with h_t = (1 - z) h_{t-1} + z h~ written in terms of the original z."""
    H, D = cell["W_z"].shape
    sign = -1.0 if negate_z else 1.0
    gru = torch.nn.GRU(D, H, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        gru.weight_ih_l0.copy_(torch.tensor(np.vstack([cell["W_r"], sign * cell["W_z"],
                                                       cell["W_h"]])))
        gru.weight_hh_l0.copy_(torch.tensor(np.vstack([cell["U_r"], sign * cell["U_z"],
                                                       cell["U_h"]])))
        gru.bias_ih_l0.copy_(torch.tensor(np.concatenate([cell["b_r"], sign * cell["b_z"],
                                                          cell["b_h"]])))
        gru.bias_hh_l0.copy_(torch.tensor(np.concatenate([np.zeros(2 * H), cell["b_hn"]])))
        out, _ = gru(torch.tensor(cell["x"])[None], torch.tensor(cell["h0"])[None, None])
    return out[0].numpy()


@pytest.mark.parametrize("rule", ["cho", "olah"])
def test_update_rules_against_torch_and_both_reported(rule: str) -> None:
    """cho is torch.nn.GRU itself; olah is torch's GRU with the update gate mirrored. Each
    question reports the other rule's states as h_other; the mistake gives the other rule."""
    cell = random_cell(21)
    given = {k: v.tolist() for k, v in cell.items()}
    d = derivations.get("gru-forward")
    result = d.run({**given, "update_rule": rule})
    cho, olah = _mirrored_torch(cell, False), _mirrored_torch(cell, True)
    mine, other = (cho, olah) if rule == "cho" else (olah, cho)
    assert plain(result, "h") == pytest.approx(mine, abs=1e-10)
    assert plain(result, "h_other") == pytest.approx(other, abs=1e-10)
    assert np.abs(mine - other).max() > 1e-3
    swapped = d.run({**given, "update_rule": rule}, mistake="update-rule-swapped")
    assert plain(swapped, "h") == pytest.approx(other, abs=1e-10)
    other_rule = "olah" if rule == "cho" else "cho"
    assert result.steps[-1].key == f"gru_forward.other_{other_rule}"


def test_default_rule_is_cho() -> None:
    assert derivations.get("gru-forward").run({}).info["update_rule"] == "cho"
