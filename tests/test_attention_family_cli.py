"""Every attention, transformer, information and GAN derivation through the command line: the
terminal text in both languages and strict JSON."""

from __future__ import annotations

import json
import re

import pytest

from dlexam.cli import main
from dlexam.render import prose_text

CASES = {
    "attention-context": ["weights=[[0.6,0.2,0.2],[0.2,0.7,0.1],[0.3,0.2,0.5]]",
                          "input_labels=Tom,Chase,Jerry", "output_labels=湯姆,追逐,傑瑞",
                          "states=[[1,0],[0,1],[0.5,0.5]]"],
    "self-attention": ["scores=[112,96]", "d_k=64", "values=[[1,2],[3,4]]"],
    "multi-head-attention": ["seed=1", "tokens=3", "d_model=4", "heads=2", "d_k=2",
                             "mask=causal"],
    "positional-encoding": ["n=3", "d=4"],
    "encoder-layer": ["seed=2", "tokens=3", "d_model=4", "heads=2", "d_ff=6",
                      "positional=true"],
    "information": ["p=[0.36,0.48,0.16]", "q=[0.5,0.5,0]", "base=2"],
    "softmax-cross-entropy": ["logits=[2,1,0.1]", "label=0"],
    "gan-optimum": ["p_data=[0.5,0.3,0.2]", "p_g=[0.2,0.3,0.5]"],
    "gan-value": ["d_real=[0.9,0.8]", "d_fake=[0.1,0.3]"],
}


def _no_constant(name: str) -> None:
    raise ValueError(f"JSON has {name}")


@pytest.mark.parametrize("lang", ["en", "zh-Hant"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_reads_in_both_languages(capsys: pytest.CaptureFixture[str], name: str,
                                 lang: str) -> None:
    assert main(["solve", name, *CASES[name], "--lang", lang]) == 0
    out = capsys.readouterr().out
    summary = prose_text(lang, name.replace("-", "_") + ".summary")
    assert out.startswith(name + prose_text(lang, "show.colon") + summary)  # "：" in Chinese
    assert prose_text(lang, "terminal.answers") in out
    # every field filled (braces of inline math, h_{t-1} or p_{data}, stay in the terminal)
    assert not re.search(r"\{=?[a-z_]+\}", out.replace("p_{data}", "")), out
    assert "  1. " in out


@pytest.mark.parametrize("name", sorted(CASES))
def test_json_is_strict(capsys: pytest.CaptureFixture[str], name: str) -> None:
    assert main(["solve", name, *CASES[name], "--json"]) == 0
    out = json.loads(capsys.readouterr().out, parse_constant=_no_constant)
    assert out["derivation"] == name
    assert out["answers"] and out["steps"]
    sections = {step["key"].split(".")[0] for step in out["steps"]}
    assert sections <= {name.replace("-", "_"), "multi_head_attention", "positional_encoding"}
