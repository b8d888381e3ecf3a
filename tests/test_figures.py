"""The answer book's figures (templates/latex/fig): one document with every figure, compiled and
read back; the macros' checks of their parameters; the LaTeX they write.

Only the tests marked ``tex`` run XeLaTeX (once, for the whole module).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import sympy as sp
from pylatex import NoEscape

from dlexam.build.document import Fragment, assemble
from dlexam.build.tex import compile_pdf
from dlexam.render import TemplateUsageError, latex_env

IMPORTS = """\
((* from "fig/recurrent.tex.j2" import lstm_cell, lstm_unfolded, rnn_unrolled *))
((* from "fig/attention.tex.j2" import seq2seq_plain, seq2seq_attention, \
self_attention_matrix, multihead_concat *))
((* from "fig/plots.tex.j2" import grad_norm_plot *))
"""

# Every figure with the exam's numbers; words are passed in, as the question templates will.
GALLERY = IMPORTS + r"""
\begin{center}((( lstm_cell(gates) )))\end{center}
\begin{center}((( lstm_unfolded(3) )))\end{center}
\begin{center}((( rnn_unrolled(2, x=q4.x, h=q4.h, y=q4.y, h0=q4.h0) )))\end{center}
\clearpage
\begin{center}((( seq2seq_plain(encoder_label=enc, decoder_label=dec) )))\end{center}
\begin{center}((( seq2seq_attention(weights, encoder_label=enc, decoder_label=dec) )))\end{center}
\clearpage
\begin{center}((( self_attention_matrix(2, 512, 64) )))\end{center}
\begin{center}((( multihead_concat(5, 3, 4, 6) )))\end{center}
\begin{center}((( grad_norm_plot(series, bound=bound) )))\end{center}
"""

WEIGHTS = [[0.6, 0.2, 0.2], [0.2, 0.7, 0.1], [0.3, 0.2, 0.5]]


def gallery_context() -> dict[str, object]:
    vec = r"$\begin{{pmatrix}}{}\\{}\end{{pmatrix}}$"
    return {
        "gates": {
            "forget": NoEscape(r"forget gate / \zh{遺忘門}"),
            "input": NoEscape(r"input gate / \zh{輸入門}"),
            "candidate": NoEscape(r"candidate / \zh{候選記憶}"),
            "output": NoEscape(r"output gate / \zh{輸出門}"),
        },
        "q4": {
            "x": [2, 3],
            "h0": NoEscape(vec.format(0, 0)),
            # Q4 with W h_{t-1} (column vectors), to four places
            "h": [NoEscape(vec.format(0.964, 0.1974)), NoEscape(vec.format(0.9898, 0.8237))],
            "y": [1.4588, 2.7371],
        },
        "enc": NoEscape(r"encoder\\\zh{編碼器}"),
        "dec": NoEscape(r"decoder\\\zh{解碼器}"),
        "weights": WEIGHTS,
        "series": [
            {"label": NoEscape("vanishing"), "points": [(k, 0.9 * 0.5**k) for k in range(1, 16)]},
            {"label": NoEscape("exploding"), "points": [(k, 0.8 * 1.3**k) for k in range(1, 16)]},
        ],
        "bound": {"label": NoEscape("bound"),
                  "points": [(k, sp.Rational(3, 2) ** k) for k in range(1, 16)]},
    }


def render(source: str, **context: object) -> str:
    return latex_env().from_string(source).render(**context)


@pytest.fixture(scope="module")
def gallery(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """The text of the compiled gallery (pdftotext -layout) and the TeX log."""
    body = Fragment(NoEscape(render(GALLERY, **gallery_context())), ["tikz", "pgfplots"])
    run = compile_pdf(assemble("figures", ["en", "zh-Hant"], [body]))
    pdf = tmp_path_factory.mktemp("figures") / "figures.pdf"
    Path(pdf).write_bytes(run.pdf)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    return text, run.log


@pytest.mark.tex
def test_every_figure_fits_the_text_width(gallery: tuple[str, str]) -> None:
    _text, log = gallery
    assert "Overfull \\hbox" not in log


@pytest.mark.tex
def test_recurrent_figures_show_their_labels(gallery: tuple[str, str]) -> None:
    text, _log = gallery
    for label in ["x1", "x2", "x3", "h0", "C0", "C3", "Ct−1", "ht−1", "tanh"]:
        assert label in text, label
    assert "x4" not in text  # three steps, not four
    for gate in ["forget gate", "遺忘門", "輸入門", "候選記憶", "output gate"]:
        assert gate in text, gate
    # Q4's values inside the nodes
    for value in ["0.964", "0.1974", "0.8237", "1.4588", "2.7371"]:
        assert value in text, value


@pytest.mark.tex
def test_seq2seq_figures_show_tokens_and_every_weight(gallery: tuple[str, str]) -> None:
    text, _log = gallery
    for token in ["Tom", "chase", "Jerry", "湯姆", "追逐", "傑瑞", "編碼器", "解碼器"]:
        assert token in text, token
    assert re.search(r"C\s*=\s*h3", text)  # the plain model's one context
    # the table of weights: one line per output token, one column per input token
    for token, row in zip(["湯姆", "追逐", "傑瑞"], WEIGHTS, strict=True):
        assert re.search(token + r"\s+" + r"\s+".join(str(w) for w in row), text), token


@pytest.mark.tex
def test_matrix_figures_show_the_shapes(gallery: tuple[str, str]) -> None:
    text, _log = gallery
    shapes = ["2 × 512", "512 × 64", "2 × 64", "64 × 2", "2×2", "5 × 4", "5 × 12", "12 × 6",
              "5 × 6"]
    flat = re.sub(r"\s+", "", text)
    for shape in shapes:
        assert shape.replace(" ", "") in flat, shape
    assert "softmax" in text and "MultiHead(X)" in text


@pytest.mark.tex
def test_plot_shows_its_legend(gallery: tuple[str, str]) -> None:
    text, _log = gallery
    for label in ["vanishing", "exploding", "bound", "∂hT /∂hk", "10−5"]:
        assert label in text, label


# --- the macros without TeX ------------------------------------------------------------------

BAD = [
    ("lstm_unfolded(0)", "lstm_unfolded: steps must be a whole number >= 1, got 0"),
    ("lstm_unfolded('3')", "lstm_unfolded: steps must be a whole number >= 1"),
    ("rnn_unrolled(-1)", "rnn_unrolled: steps must be a whole number >= 1, got -1"),
    ("rnn_unrolled(2, x=[1, 2, 3])", "rnn_unrolled: x must have 2 entries, got 3"),
    ("rnn_unrolled(2, h='h1 h2')", "rnn_unrolled: h must be a list"),
    ("lstm_cell({'forgot': 'x'})", "lstm_cell: unknown gate forgot"),
    ("seq2seq_plain(inputs=[])", "seq2seq_plain: inputs must be a non-empty list"),
    ("seq2seq_plain(inputs=['a'] * 5, outputs=['b'] * 4)", "at most 8 tokens fit the page"),
    ("seq2seq_attention([[0.5, 0.5]])", "one row per output token (3)"),
    ("seq2seq_attention([[1, 0], [0, 1], [1, 0]])", "one number per input token (3)"),
    ("seq2seq_attention([[0.6, 0.6, 0.2], [0.2, 0.7, 0.1], [0.3, 0.2, 0.5]])", "sums to 1"),
    ("seq2seq_attention([[1.5, -0.5, 0], [0.2, 0.7, 0.1], [0.3, 0.2, 0.5]])", "in [0, 1]"),
    ("seq2seq_attention(w, highlight=4)", "highlight must be a decoder step 1..3, got 4"),
    ("seq2seq_attention([[1] + [0] * 6], inputs=['a'] * 7, outputs=['b'])", "at most 6 input"),
    ("self_attention_matrix(d_k=0)", "self_attention_matrix: d_k must be a whole number >= 1"),
    ("multihead_concat(h=0)", "multihead_concat: h must be a whole number >= 1"),
    ("multihead_concat(h=17)", "h must be at most 16"),
    ("grad_norm_plot([])", "grad_norm_plot: series must be a non-empty list"),
    ("grad_norm_plot([{'label': 'a', 'points': [(1, 0.5), (2, 0)]}])", "y must be > 0"),
    ("grad_norm_plot([{'label': 'a', 'points': [(1, 'big')]}])", "pair of numbers"),
    ("grad_norm_plot([{'points': [(1, 1)]}])", "a mapping with a label and points"),
]


@pytest.mark.parametrize(("call", "message"), BAD)
def test_nonsense_parameters_stop_the_build(call: str, message: str) -> None:
    with pytest.raises(TemplateUsageError, match=re.escape(message)):
        render(IMPORTS + f"((( {call} )))", w=WEIGHTS)


def test_long_rows_are_drawn_with_an_ellipsis() -> None:
    out = render(IMPORTS + "((( lstm_unfolded(7) ))) ((( rnn_unrolled(9) )))")
    for label in ["x_{1}", "x_{2}", "x_{7}", "x_{9}", "h_{6}", r"\cdots"]:
        assert label in out, label
    for label in ["x_{3}", "x_{5}", "x_{8}"]:
        assert label not in out, label


def test_tokens_are_escaped_and_words_come_from_the_caller() -> None:
    out = render(IMPORTS + "((( seq2seq_plain(inputs=['R&D', '50%']) )))")
    assert r"R\&D" in out and r"50\%" in out
    plain = render(IMPORTS + "((( lstm_cell() )))")
    drawn = "\n".join(line for line in plain.splitlines() if not line.lstrip().startswith("%"))
    assert "gate" not in drawn  # no prose in the figure itself
    named = render(IMPORTS + "((( lstm_cell({'forget': n}) )))", n=NoEscape(r"\zh{遺忘門}"))
    assert r"\zh{遺忘門}" in named


def test_matrix_boxes_follow_the_shapes() -> None:
    out = render(IMPORTS + "((( multihead_concat(5, 3, 4, 6) )))")
    # W^O is (h d_v) x d_model = 12 x 6: twice as tall as wide, as tall as the concatenation is wide
    wo = re.search(r"minimum width=([\d.]+)cm, minimum height=([\d.]+)cm,\s*anchor=west, at=\{"
                   r"\( [\d.]+,0\.0\)\}, name=mWO", out)
    assert wo is not None
    width, height = float(wo[1]), float(wo[2])
    assert height == pytest.approx(2 * width)
