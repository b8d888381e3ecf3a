"""The ``$...$`` mathematics of exam text (dlexam.notation.texmath): TeX as people write it, read
by one grammar into a tree printed as TeX and as text; every accepted form typeset in a real
paper and read back; every refused form one line naming the TOML path (exit 2); random and
adversarial input never crashes, never hangs and never reaches TeX unescaped."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from dlexam.cli import main
from dlexam.errors import InputError
from dlexam.exams.mathtext import render
from dlexam.exams.model import load_exam
from dlexam.notation.texmath import (
    COMMANDS,
    KNOWN_COMMANDS,
    MAX_CHARS,
    MAX_DEPTH,
    TexMathError,
    parse,
    to_tex,
    to_text,
)

# (written, TeX expected, text expected): the expected strings are written here by hand
ACCEPTED = [
    (r"\beta", r"\beta", "β"),
    ("β", r"\beta", "β"),
    ("beta", r"\beta", "β"),
    (r"\|g\|", r"\| g \|", "||g||"),
    ("||g||", r"\| g \|", "||g||"),
    ("‖g‖_2", r"\| g \|_{2}", "||g||_2"),
    ("norm(g)", r"\left\| g \right\|", "||g||"),
    ("abs(x - 1)", r"\left| x - 1 \right|", "|x - 1|"),
    ("x_t", "x_{t}", "x_t"),
    ("h_{t-1}", "h_{t - 1}", "h_{t-1}"),
    (r"W^\top", r"W^{\top}", "W^T"),
    ("Wᵀ", r"W^{\top}", "W^T"),
    ("e^{x}", "e^{x}", "e^x"),
    ("e^{-x}", "e^{- x}", "e^(-x)"),
    ("x^2", "x^{2}", "x^2"),
    ("x²", "x^{2}", "x^2"),
    ("x^23", "x^{2} 3", "x^2 3"),  # as TeX reads it: one digit is the superscript
    (r"\frac{a}{b}", r"\frac{a}{b}", "a/b"),
    (r"\frac{a + b}{2}", r"\frac{a + b}{2}", "(a + b)/2"),
    (r"\frac12", r"\frac{1}{2}", "1/2"),
    (r"\dfrac{1}{n}", r"\dfrac{1}{n}", "1/n"),
    (r"\sqrt{d_k}", r"\sqrt{d_{k}}", "sqrt(d_k)"),
    (r"\sqrt[3]{x}", r"\sqrt[3]{x}", "x^(1/3)"),
    ("√2", r"\sqrt{2}", "sqrt(2)"),
    ("sqrt(x + 1)", r"\sqrt{x + 1}", "sqrt(x + 1)"),
    (r"a \cdot b", r"a \cdot b", "a · b"),
    ("2*x", r"2 \cdot x", "2 · x"),
    (r"r_t \odot h", r"r_{t} \odot h", "r_t ⊙ h"),
    ("r ⊙ h", r"r \odot h", "r ⊙ h"),
    (r"\sum_{i=1}^{n} x_i", r"\sum_{i = 1}^{n} x_{i}", "Σ_{i=1}^n x_i"),
    (r"\log p", r"\log p", "log p"),
    ("log(p)", r"\log ( p )", "log(p)"),
    ("log2(p)", r"\log_{2} ( p )", "log_2(p)"),
    (r"\exp(z_i)", r"\exp ( z_{i} )", "exp(z_i)"),
    (r"\tanh(x)", r"\tanh ( x )", "tanh(x)"),
    ("softmax(z)", r"\operatorname{softmax} ( z )", "softmax(z)"),
    ("sigmoid(x)", r"\sigma ( x )", "σ(x)"),
    (r"a \le b", r"a \le b", "a ≤ b"),
    ("a <= b", r"a \le b", "a ≤ b"),
    ("a ≥ b", r"a \ge b", "a ≥ b"),
    (r"x \ne y \approx z", r"x \ne y \approx z", "x ≠ y ≈ z"),
    (r"x \to \infty", r"x \to \infty", "x → ∞"),
    (r"\hat{y}", r"\hat{y}", "ŷ"),
    (r"\tilde{h}_t", r"\tilde{h}_{t}", "h~_t"),
    (r"\mathbf{W}x", r"\mathbf{W} x", "Wx"),
    (r"\text{loss} = -\log p", r"\text{loss} = - \log p", "loss = -log p"),
    (r"\operatorname{ReLU}(x)", r"\operatorname{ReLU} ( x )", "ReLU(x)"),
    (r"\left( \frac{1}{2} \right)^2", r"\left( \frac{1}{2} \right)^{2}", "(1/2)^2"),
    (r"\big( x \big)", r"\big( x \big)", "(x)"),
    ("f'(x)", r"f^{\prime } ( x )", "f'(x)"),
    (r"\{1, 2\}", r"\{ 1 , 2 \}", "{1, 2}"),
    ("50%", r"50 \%", "50%"),
    ("z_1 + 2", "z_{1} + 2", "z_1 + 2"),
    ("W h", "W h", "W h"),
    ("Wx", "Wx", "Wx"),  # letters, as TeX sets them
    ("logits", r"\mathit{logits}", "logits"),  # a parameter of the question: a word
    (r"\tilde{h}_t = \tanh(W_h x_t + U_h (r_t \odot h_{t-1}) + b_h)",
     r"\tilde{h}_{t} = \tanh ( W_{h} x_{t} + U_{h} ( r_{t} \odot h_{t - 1} ) + b_{h} )",
     "h~_t = tanh(W_h x_t + U_h (r_t ⊙ h_{t-1}) + b_h)"),
]

REFUSED = [
    (r"\input{x}", r"unknown TeX command \input"),
    (r"\write18{ls}", r"unknown TeX command \write"),
    (r"\catcode", r"unknown TeX command \catcode"),
    (r"\def\x{y}", r"unknown TeX command \def"),
    (r"\bta", r"unknown TeX command \bta (expected one of \beta"),
    ("x_a_b", "a second subscript or superscript"),
    ("x^2^3", "a second subscript or superscript"),
    ("x^", "^ at character 3 without its argument"),
    (r"\frac{1}", r"\frac at character 9 without its argument"),
    ("{{x}", "a { without its }"),
    ("x}", "a } at character 2 without its {"),
    (r"\left( x", r"a \left without its \right"),
    (r"\right)", r"a \right at character 1 without its \left"),
    (r"\left x \right)", r"\left followed by x"),
    ("&", "the character '&' at character 1"),
    ("#1", "the character '#' at character 1"),
    ("~", "the character '~' at character 1"),
    (r"a \\ b", r"the character '\\' at character 3"),
    ("^^5c", "^ at character 2 without its argument"),
    (r"\text{\beta}", r"\text{...} and \operatorname{...} of letters"),
    (r"\text{a&b}", r"\text{...} and \operatorname{...} of letters"),
    ("sqrt", "sqrt at character 5 without its argument"),
    ("abs x", "abs without its argument in brackets"),
    ("norm(g", "a ( without its )"),
    ("中", "the character '中' at character 1"),
    ("{" * (MAX_DEPTH + 1) + "x" + "}" * (MAX_DEPTH + 1), f"nesting deeper than {MAX_DEPTH}"),
    ("x^{" * (MAX_DEPTH + 1) + "2" + "}" * (MAX_DEPTH + 1), f"nesting deeper than {MAX_DEPTH}"),
    ("x" * (MAX_CHARS + 1), f"more than {MAX_CHARS:,} characters"),
]


@pytest.mark.parametrize(("written", "tex", "text"), ACCEPTED)
def test_accepted_forms_print_as_tex_and_text(written: str, tex: str, text: str) -> None:
    tree = parse(written, names=["logits"], notation={"softmax": ("x", "y")})
    assert to_tex(tree) == tex
    assert to_text(tree) == text


@pytest.mark.parametrize(("written", "why"), REFUSED)
def test_refused_forms_say_why(written: str, why: str) -> None:
    with pytest.raises(TexMathError) as caught:
        parse(written)
    assert why in str(caught.value)
    assert "\n" not in str(caught.value)


def test_notation_words_print_as_the_notation() -> None:
    from dlexam.notation import SYMBOLS

    latex, plain = SYMBOLS["vocab"]
    assert render("$vocab$", {}, as_tex=True) == "${" + latex + "}$"
    assert render("$vocab$", {}, as_tex=False) == plain
    assert render("$softmax(z)$", {}, as_tex=True) == r"$\operatorname{softmax} ( z )$"


EXAM = """
title = {{ en = "Math", zh-Hant = "數學" }}
lang = "{lang}"

[[questions]]
id = "m"
derivation = "softmax-cross-entropy"
points = 2
ask = ["loss"]
text.en = '''{text}'''
text.zh-Hant = '''數學 {text}'''
"""


def _exam(tmp_path: Path, text: str, lang: str = "bilingual") -> Path:
    path = tmp_path / "exam.toml"
    path.write_text(EXAM.format(text=text, lang=lang), encoding="utf-8")
    return path


@pytest.mark.parametrize(("written", "why"), REFUSED[:-1])  # the last: too long for a text
def test_refused_forms_name_the_toml_path(tmp_path: Path, written: str, why: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    exam = _exam(tmp_path, f"Solve ${written}$ now.")
    out = tmp_path / "o"
    assert main(["exam", str(exam), "--variants", "1", "--seed", "1", "--out", str(out),
                 "--no-pdf"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    assert re.search(r"exam\.toml: questions\[1\]\.text\.(en|zh-Hant): expected TeX "
                     r"mathematics", err), err
    assert why in err, err
    assert not out.exists()


def test_refused_in_chinese_from_the_catalog(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        load_exam(_exam(tmp_path, r"$\input{x}$"))
    said = caught.value.said_in("zh-Hant")
    assert "無法識別的 TeX 指令 \\input" in said and "questions[1].text" in said


def test_greek_characters_in_formulas_pass_the_font_check(tmp_path: Path) -> None:
    # β, ⊙ and ᵀ are not in the text fonts: inside $...$ they are typeset as mathematics
    exam = load_exam(_exam(tmp_path, "Use $β ⊙ Wᵀ$ here."))
    assert exam.questions[0].text is not None
    with pytest.raises(InputError, match=r"U\+03B2"):  # outside a formula: refused
        load_exam(_exam(tmp_path, "Use β here."))


def test_every_accepted_form_typesets_in_a_paper(tmp_path: Path) -> None:
    """Each form between two numbered markers, in papers of both languages: XeLaTeX compiles
    the lot (an unknown command or a stray brace would stop it), and the markers read back in
    order from the PDF, so no formula swallowed its neighbours."""
    from pypdf import PdfReader

    forms = [w for w, _, _ in ACCEPTED] + [r"\sqrt{\frac{a}{b}}", r"\vec{v} \cdot \mathbb{R}",
                                          r"\langle q, k \rangle", r"\lfloor x \rfloor",
                                          r"\partial L / \partial W", r"\nabla_W L",
                                          r"\prod_{i} p_i", r"\int_0^1 f", r"x \in \{0,1\}",
                                          r"\mathcal{L}", r"\boldsymbol{h}", r"\overline{x}",
                                          r"x \mapsto y \Rightarrow z", r"a \pm b \times c",
                                          r"\Delta \Omega \varepsilon", r"\max_i \min_j",
                                          r"\bigl[ x \bigr]", r"x\,y\;z\quad w"]
    texts = []
    chunk: list[str] = []
    for index, form in enumerate(forms):
        piece = f"F{index}Q ${form}$ "
        if sum(map(len, chunk)) + len(piece) > 1800:
            texts.append("".join(chunk))
            chunk = []
        chunk.append(piece)
    texts.append("".join(chunk))
    questions = "\n".join(
        f'[[questions]]\nid = "m{i}"\nderivation = "softmax-cross-entropy"\npoints = 1\n'
        f"ask = [\"loss\"]\ntext = '''{text}'''\n" for i, text in enumerate(texts))
    exam = tmp_path / "exam.toml"
    exam.write_text('title = { en = "Math", zh-Hant = "數學" }\nlang = "bilingual"\n\n'
                    + questions, encoding="utf-8")
    out = tmp_path / "o"
    assert main(["exam", str(exam), "--variants", "1", "--seed", "3", "--out", str(out),
                 "--formats", "papers"]) == 0
    pdf = "".join(p.extract_text() for p in PdfReader(out / "papers.pdf").pages)
    found = [int(m) for m in re.findall(r"F(\d+)Q", pdf)]
    assert sorted(set(found)) == list(range(len(forms)))
    log = next(out.rglob("*.log"), None)
    if log is not None:
        assert "Undefined control sequence" not in log.read_text(errors="replace")


_ALPHABET = (list("abxyzWβ‖ᵀ²√⊙0123456789 +-*/=<>()[]{}^_',.;:!|%&#~$\\\"?@中")
             + [f"\\{c}" for c in ("frac", "sqrt", "left", "right", "text", "beta", "input",
                                   "|", "{", "}", "hat", "big", "sum", "mathbf", "def",
                                   "catcode", "operatorname", "csname", "top")]
             + ["\\text{ab}", "sqrt(", "norm(", "abs(", "||", "<=", "log2"])
_SAFE_TEX = re.compile(r"\\(?:[A-Za-z]+|[|{}%_,;:! ])|[A-Za-z0-9 .,;:!'()\[\]{}^_+\-=<>/|]")


def _tex_is_safe(tex: str) -> None:
    """Only the grammar's commands, ASCII letters, digits and harmless characters; braces
    balanced; no ``^^``, ``#``, ``$``, ``&``, ``~`` or a bare ``%``."""
    rest = _SAFE_TEX.sub("", tex)
    assert rest == "", (tex, rest)
    for command in re.findall(r"\\([A-Za-z]+)", tex):
        assert command in KNOWN_COMMANDS or command in ("prime",), command
    depth = 0
    for char in re.sub(r"\\[{}]", "", tex):
        depth += {"{": 1, "}": -1}.get(char, 0)
        assert depth >= 0, tex
    assert depth == 0, tex
    assert "^^" not in tex and re.search(r"(?<!\\)%", tex) is None


def test_random_formulas_never_crash_nor_reach_tex_unescaped() -> None:
    rng = random.Random(20261207)
    accepted = 0
    for _ in range(4000):
        source = "".join(rng.choice(_ALPHABET) for _ in range(rng.randint(1, 30)))
        try:
            tree = parse(source, names=["logits"])
        except TexMathError as err:
            assert str(err) and "\n" not in str(err)
            continue
        accepted += 1
        _tex_is_safe(to_tex(tree))
        assert isinstance(to_text(tree), str)
    assert accepted > 200  # the generator reaches the accepted forms, not only refusals


@pytest.mark.parametrize("source", [
    "{" * 100_000, "}" * 100_000, "x^" * 50_000, "(" * 100_000, "sqrt(" * 20_000,
    "\\left(" * 20_000, "x" * 100_000, "\\frac" * 20_000, "a_{" * 30_000,
])
def test_adversarial_input_is_refused_at_once(source: str) -> None:
    with pytest.raises(TexMathError, match="more than 2,000 characters"):
        parse(source)
    cut = source[:MAX_CHARS]  # within the limit: refused (or read) without a hang
    try:
        parse(cut)
    except TexMathError as err:
        assert "\n" not in str(err)


def test_every_command_prints_as_itself() -> None:
    for name, (cls, _text) in COMMANDS.items():
        if name.isalpha():
            tree = parse("\\" + name)
            assert to_tex(tree) == "\\" + name, name
            assert cls in ("ord", "bin", "rel", "open", "close", "punct", "func", "big",
                           "space")


# --- the catalogs' formulas: the same reader, strict (TeX as TeX reads it), printed as text


def _catalog_formulas() -> dict[str, tuple[str, str]]:
    """Every distinct ``$...$`` of every catalog of every language -> (language, key)."""
    from dlexam import langs
    from dlexam.render.prose import _segments

    found: dict[str, tuple[str, str]] = {}
    for lang in langs.LANGS:
        for key, text in langs.messages(lang).items():
            for kind, piece in _segments(text):
                if kind == "math":
                    found.setdefault(piece, (lang, key))
    return found


def test_every_catalog_formula_parses() -> None:
    formulas = _catalog_formulas()
    assert len(formulas) > 600, len(formulas)  # the walk reaches the catalogs
    refused = []
    for formula, where in formulas.items():
        try:
            parse(formula, strict=True)
        except TexMathError as err:
            refused.append((*where, formula, str(err)))
    assert not refused, refused[:5]


def test_every_notation_symbol_parses() -> None:
    """A ``{=key}`` of a message prints the notation table's forms; their LaTeX is in the
    grammar too."""
    import dlexam.derivations  # noqa: F401  (every topic registers its symbols)
    from dlexam.notation import SYMBOLS

    assert len(SYMBOLS) > 200
    refused = []
    for key, (latex, _plain) in SYMBOLS.items():
        try:
            parse(latex, strict=True)
        except TexMathError as err:
            refused.append((key, latex, str(err)))
    assert not refused, refused[:5]


# (a catalog's formula, its terminal text written here by hand)
CATALOG_TEXT = [
    (r"L = \frac{1}{2} \sum_t \lVert y_t - y^{*}_t \rVert^2", "L = (1/2) Σ_t ||y_t - y*_t||^2"),
    (r"\pm 1", "±1"),
    (r"\hat{x} = (x - \mu)/\sqrt{\sigma^2 + \varepsilon}", "x̂ = (x - μ)/sqrt(σ^2 + ε)"),
    (r"C_t = f_t \odot C_{t-1} + i_t \odot \tilde{C}_t", "C_t = f_t ⊙ C_{t-1} + i_t ⊙ C~_t"),
    (r"C_t = f_t \odot C_{t-1} + \tilde C_t", "C_t = f_t ⊙ C_{t-1} + C~_t"),
    (r"Z = \mathrm{softmax}(Q K^\top / \sqrt{d_k})\, V", "Z = softmax(Q K^T / sqrt(d_k)) V"),
    (r"\frac{1}{m} \sum_i \log D(x_i)", "(1/m) Σ_i log D(x_i)"),
    (r"m = \frac{1}{2}(p + q)", "m = (1/2)(p + q)"),
    (r"\beta / \lVert \mathbf{g} \rVert", "β / ||g||"),
    (r"D_{KL}(p \| q)", "D_KL(p || q)"),
    (r"2^{H_2} = e^{H_e} = 10^{H_{10}}", "2^(H_2) = e^(H_e) = 10^(H_10)"),
    (r"\partial L / \partial W_l = \delta_l a_{l-1}^\top", "∂L / ∂W_l = δ_l a_{l-1}^T"),
    (r"\lfloor (n + 2p - k) / s \rfloor + 1", "⌊(n + 2p - k) / s⌋ + 1"),
    (r"k_h \times k_w", "k_h × k_w"),
    (r"\sum_{j \ne y} (s_j - s_y + \Delta)", "Σ_{j≠y} (s_j - s_y + Δ)"),
    (r"P(y) = \prod_t p(y_t \mid y_{<t})", "P(y) = Π_t p(y_t | y_{<t})"),
    (r"a_{i1}, \ldots, a_{in}", "a_i1, ..., a_in"),
    (r"\sigma'(x) = \sigma(x)(1 - \sigma(x))", "σ'(x) = σ(x)(1 - σ(x))"),
    (r"W = \left(\begin{smallmatrix} 0.1 & 0.2 \\ 0.3 & 0.4 \end{smallmatrix}\right)",
     "W = [[0.1, 0.2], [0.3, 0.4]]"),
    (r"\sqrt{\hat{v}_t}", "sqrt(v̂_t)"),
    (r"\eta_e = \eta_{\min} + \frac{1}{2}(\eta_{\mathrm{base}} - \eta_{\min})(1 + \cos(\pi e / "
     r"T_{\max}))", "η_e = η_min + (1/2)(η_base - η_min)(1 + cos(π e / T_max))"),
]


@pytest.mark.parametrize(("formula", "text"), CATALOG_TEXT)
def test_catalog_formulas_print_as_text(formula: str, text: str) -> None:
    from dlexam.notation.texmath import text_of_tex

    assert formula in _catalog_formulas()  # a formula the catalogs hold, not one made up here
    assert text_of_tex(formula) == text


def test_strict_reads_tex_as_tex_reads_it() -> None:
    """A catalog's ``beta`` is four letters, ``*`` an asterisk, ``||`` two bars, ``sqrt(x)``
    letters and a bracket (the exam dialect reads them as β, a product, ‖ and √x)."""
    from dlexam.notation.texmath import text_of_tex

    assert text_of_tex("beta") == "beta" and to_text(parse("beta")) == "β"
    assert text_of_tex("a * b") == "a * b" and to_text(parse("a * b")) == "a · b"
    assert to_tex(parse("a || b", strict=True)) == "a | | b"
    assert to_tex(parse("a || b")) == r"a \| b"
    assert text_of_tex("sqrt(x)") == "sqrt(x)" and to_text(parse("sqrt x")) == "sqrt(x)"
    with pytest.raises(TexMathError, match=r"unknown TeX command \\input"):
        text_of_tex(r"\input{x}")


@pytest.mark.parametrize(("written", "why"), [
    (r"\begin{tabular} x \end{tabular}", r"unknown TeX command \begin{tabular}"),
    (r"\begin{pmatrix} a & b", r"a \begin without its \end"),
    (r"\begin{pmatrix} a \end{bmatrix}", r"a \begin{pmatrix} without its \end{pmatrix}"),
    (r"a \end{pmatrix}", r"a \end at character 3 without its \begin"),
    ("x_\\\\", r"the character '\\' at character 3"),
])
def test_matrices_and_their_refusals(written: str, why: str) -> None:
    with pytest.raises(TexMathError) as caught:
        parse(written)
    assert why in str(caught.value)
    tree = parse(r"\begin{pmatrix} h_{t-1} \\ x_t \end{pmatrix}")
    assert to_tex(tree) == r"\begin{pmatrix} h_{t - 1} \\ x_{t} \end{pmatrix}"
    assert to_text(tree) == "[[h_{t-1}], [x_t]]"


# the symbol table's text forms that differ from the text printer's reading of their LaTeX, and
# why (every other symbol's text is what the printer makes of its LaTeX, Greek as Greek)
TEXT_OWN_FORM = {
    "act_sum": "exp(x_j) reads better than e^(x_j) in a line of text",
    "sg_sum_exp": "as act_sum", "sum_exp": "as act_sum", "rest_exp": "as act_sum",
    "L_G_ns": "a label, not a product: L_G^non-sat",
    "KL_dm": "KL(.) for D_KL(.)", "KL_gm": "as KL_dm", "KL_pq": "as KL_dm",
    "KL_qp": "as KL_dm", "KL_pm": "as KL_dm", "KL_qm": "as KL_dm",
    "C_G_equal": "the evaluation bar's subscript in brackets",
    "hx_stack": "the stacked column (h_{t-1}; x_t) on one line",
    "dL_da_l": "a fraction set tight, ∂L/∂a", "dL_dW_l": "as dL_da_l",
    "dL_db_l": "as dL_da_l", "dL_dx_mlp": "as dL_da_l",
}


def test_the_symbol_tables_text_is_the_printers() -> None:
    """A symbol's terminal text is what the text printer makes of its LaTeX (no ``beta`` where
    the LaTeX says β, no ``g^`` for ĝ), but for the few listed with a reason."""
    import dlexam.derivations  # noqa: F401  (every topic registers its symbols)
    from dlexam.notation import SYMBOLS
    from dlexam.notation.texmath import text_of_tex

    differ = {key: (plain, text_of_tex(latex)) for key, (latex, plain) in SYMBOLS.items()
              if text_of_tex(latex) != plain}
    unexplained = {k: v for k, v in differ.items() if k not in TEXT_OWN_FORM}
    assert not unexplained, unexplained
    assert set(TEXT_OWN_FORM) <= set(SYMBOLS)
