"""Languages as data (issue 21): a throwaway language registered at run time works in every
command and document; the zh-Hans catalogs are what scripts/gen_zh_hans.py makes from zh-Hant,
use the glossary's mainland terms and none of the Taiwanese ones; no Traditional-only character
in Simplified output, no Simplified-only one in Traditional output (checked with OpenCC)."""

from __future__ import annotations

import csv
import importlib.util
import json
import re
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path

import opencc
import pytest

from dlexam import langs
from dlexam.cli import main
from dlexam.derivations import REGISTRY
from dlexam.langs import TC, Language, _flatten
from dlexam.render.prose import catalog

I18N = Path(langs.__file__).resolve().parent / "templates" / "i18n"
ROOT = I18N.parents[2]


def _script(name: str):  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- zh-Hans: generated, glossary terms, scripts -------------------------------------------

def test_committed_zh_hans_catalogs_are_up_to_date() -> None:
    want = _script("gen_zh_hans").generated()
    have = {p.name: p.read_text(encoding="utf-8") for p in (I18N / "zh-Hans").glob("*.toml")}
    assert sorted(have) == sorted(want)
    stale = [name for name in want if have[name] != want[name]]
    assert not stale, f"run scripts/gen_zh_hans.py: {stale} differ from zh-Hant + glossary"


GLOSSARY = tomllib.loads((I18N / "glossary.toml").read_text(encoding="utf-8"))
TERMS = GLOSSARY["term"]
T2S = opencc.OpenCC("t2s")
S2TW = opencc.OpenCC("s2tw")


def test_glossary_entries_are_complete() -> None:
    for term in TERMS:
        assert set(term) == {"en", "zh-Hant", "zh-Hans", "source"}, term
        assert all(isinstance(v, str) and v.strip() for v in term.values()), term


@pytest.mark.parametrize("term", TERMS, ids=[t["en"] for t in TERMS])
def test_zh_hans_uses_the_glossary_term(term: dict[str, str]) -> None:
    hant, hans = catalog("zh-Hant"), catalog("zh-Hans")
    longer = [t["zh-Hant"] for t in TERMS if term["zh-Hant"] in t["zh-Hant"]
              and t["zh-Hant"] != term["zh-Hant"]]
    for key, text in hant.items():
        rest = text
        for other in longer:  # 梯度截斷 is its own term, not 截斷's
            rest = rest.replace(other, "")
        if term["zh-Hant"] in rest:
            assert term["zh-Hans"] in hans[key], (key, term["zh-Hans"], hans[key])
    # the Taiwanese term, in either script, is nowhere in zh-Hans (unless it is also a
    # mainland term: 列向量 is Taiwan's row vector and the mainland's column vector)
    mainland = {t["zh-Hans"] for t in TERMS}
    for form in {term["zh-Hant"], T2S.convert(term["zh-Hant"])} - {term["zh-Hans"]}:
        if any(form in m for m in mainland):
            continue
        found = [k for k, text in catalog("zh-Hans").items() if form in text]
        assert not found, f"{form} (Taiwanese for {term['en']}) in zh-Hans {found[:3]}"


# wording that reads Taiwanese (or machine-converted) to a mainland student, beyond the
# glossary's terms: (pattern in zh-Hans, what the mainland writes); the hinge loss's margin is
# checked in its own catalog (边界 is right for a convolution's border)
TAIWANESE_WORDING = [
    (r"依(?![赖次然据旧照序靠偎])", "按 / 根据"),
    (r"算成", "计算为 / 算作"),
    (r"取成", "取为"),
    (r"套用", "应用"),
    (r"档", "文件"),
    (r"数据夹", "文件夹"),
    (r"保存格|储存格", "单元格"),
    (r"比特组|位元组", "字节"),
    (r"试算表", "电子表格"),
    (r"建置", "构建"),
    (r"连接端口", "端口"),
    (r"(?:row|column) 惯例", "行向量惯例 / 列向量惯例"),
    (r"为何？", "是多少？"),
    (r"略过", "跳过"),
    (r"维持原", "保持"),
    (r"一般的", "普通的"),
    (r"单一个", "单个"),
    (r"平均与方差|平均 0、方差", "均值与方差"),
    (r"任务栏程|工作行程", "进程"),
]


@pytest.mark.parametrize(("pattern", "mainland"), TAIWANESE_WORDING,
                         ids=[m for _p, m in TAIWANESE_WORDING])
def test_no_taiwanese_wording_in_zh_hans(pattern: str, mainland: str) -> None:
    found = [(k, v) for k, v in catalog("zh-Hans").items() if re.search(pattern, v)]
    assert not found, f"{pattern} in zh-Hans (the mainland writes {mainland}): {found[:3]}"


def test_the_hinge_margin_is_jiange_in_zh_hans() -> None:
    hinge = tomllib.loads((I18N / "zh-Hans" / "hinge.toml").read_text(encoding="utf-8"))
    flat: dict[str, str] = {}
    _flatten("", hinge, flat)
    text = "".join(flat.values())
    assert "间隔" in text and "边界" not in text
    convert = _script("gen_zh_hans").convert
    assert convert("依題目要求", name="x.toml") == "按题目要求"
    assert convert("依賴前一步、依次、依然", name="x.toml") == "依赖前一步、依次、依然"
    assert convert("邊界的視窗", name="convolution.toml") == "边界的窗口"


def test_rows_and_columns_are_swapped() -> None:
    """Taiwan's row is 列 and column 行; the mainland's the other way round."""
    convert = _script("gen_zh_hans").convert
    assert convert("矩陣的每一列") == "矩阵的每一行"
    assert convert("第 2 行") == "第 2 列"
    assert convert("執行序列並列出") == "运行序列并列出"  # 執行: the glossary's 运行


def _traditional_only(text: str) -> set[str]:
    """Characters that are Traditional forms: OpenCC's t2s changes them."""
    return {ch for ch in set(text) if T2S.convert(ch) != ch}


# Taiwan's standard writes these too (占比, 里程碑); s2tw changes them by context only
BOTH_SCRIPTS = set("占里")


def _simplified_only(text: str) -> set[str]:
    """Characters that are Simplified forms: OpenCC's s2tw (to Taiwan's standard characters)
    changes them and t2s leaves them."""
    return {ch for ch in set(text) - BOTH_SCRIPTS
            if S2TW.convert(ch) != ch and T2S.convert(ch) == ch}


def test_catalog_scripts() -> None:
    hans = "".join(catalog("zh-Hans").values())
    hant = "".join(catalog("zh-Hant").values())
    assert not _traditional_only(hans), sorted(_traditional_only(hans))
    assert not _simplified_only(hant), sorted(_simplified_only(hant))


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_terminal_output_scripts(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    for lang, bad in (("zh-Hans", _traditional_only), ("zh-Hant", _simplified_only)):
        assert main(["sample", name, "--seed", "3", "--lang", lang]) == 0
        assert main(["show", name, "--lang", lang]) == 0
        out = capsys.readouterr().out
        assert not bad(out), (lang, sorted(bad(out)))


# --- a throwaway language --------------------------------------------------------------------

def _pseudo(value: str) -> str:
    """en-XA, a pseudo-locale: the English message between « and » (fields, math kept)."""
    return f"« {value} »"


@pytest.fixture()
def throwaway(tmp_path: Path) -> Iterator[str]:
    """Registers ``en-XA``: its record, its catalogs (English in « »), its glyph table."""
    folder = tmp_path / "en-XA"
    folder.mkdir()
    for path in sorted((I18N / "en").glob("*.toml")):
        flat: dict[str, str] = {}
        _flatten("", tomllib.loads(path.read_text(encoding="utf-8")), flat)
        lines = [f"{key} = {json.dumps(_pseudo(value), ensure_ascii=False)}"
                 for key, value in flat.items()]
        (folder / path.name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "glyphs.txt").write_text((I18N / "en" / "glyphs.txt").read_text())
    langs.register(Language("en-XA", "Pseudo English", "en_xa", TC, wrapper=r"\textit",
                            full_stop=" ¶ ", folder=folder))
    try:
        yield "en-XA"
    finally:
        langs.unregister("en-XA")


def _pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout


@pytest.mark.tex
def test_a_registered_language_reaches_every_command(throwaway: str, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    lang = throwaway
    assert lang in langs.codes() and f"en+{lang}" in langs.choices()
    # the terminal: solve, show, sample, check
    assert main(["solve", "clip-gradient", "g=[6,-8]", "threshold=5", "--lang", lang,
                 "--pdf", str(tmp_path / "sheet.pdf")]) == 0
    assert main(["show", "clip-gradient", "--lang", lang]) == 0
    assert main(["sample", "rnn-forward", "--seed", "1", "--lang", lang]) == 0
    assert main(["check", "clip-gradient", "g=[6,-8]", "threshold=5", "-a", "norm_before=10",
                 "--lang", lang]) in (0, 1)
    out = capsys.readouterr().out
    assert out.count("«") >= 10, out[:400]
    # the sheet, in the language alone and beside English
    assert "«" in _pdf_text(tmp_path / "sheet.pdf")
    assert main(["solve", "clip-gradient", "g=[6,-8]", "threshold=5", "--lang", f"en+{lang}",
                 "--pdf", str(tmp_path / "both.pdf")]) == 0
    both = _pdf_text(tmp_path / "both.pdf")
    assert "«" in both and "Gradient clipping" in both
    # an exam in the language: papers, keys, Moodle XML
    exam = tmp_path / "exam.toml"
    exam.write_text(f'title = "Quiz"\nlang = ["en", "{lang}"]\n\n[[questions]]\nid = "c"\n'
                    'derivation = "clip-gradient"\npoints = 2\nask = ["norm_before"]\n',
                    encoding="utf-8")
    assert main(["exam", str(exam), "--variants", "2", "--seed", "1", "--out",
                 str(tmp_path / "exam")]) == 0
    moodle = (tmp_path / "exam" / "moodle.xml").read_text(encoding="utf-8")
    assert 'lang="en_xa"' in moodle and "«" in moodle
    papers = [p for p in (tmp_path / "exam").rglob("*.pdf")]
    assert papers and all("«" in _pdf_text(p) for p in papers)
    # grading, its report in the language
    key = json.loads((tmp_path / "exam" / "key.json").read_text(encoding="utf-8"))
    subs = tmp_path / "subs.csv"
    with subs.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["student", "variant", "c.norm_before"])
        w.writerow(["s1", key["variants"][0]["code"], "1"])
    assert main(["grade", str(tmp_path / "exam" / "key.json"), str(subs), "--out",
                 str(tmp_path / "grades"), "--lang", lang]) == 0
    assert "«" in _pdf_text(tmp_path / "grades" / "report.pdf")
    capsys.readouterr()


@pytest.mark.tex
@pytest.mark.slow
def test_the_book_in_a_registered_language(throwaway: str, tmp_path: Path) -> None:
    assert main(["book", "--lang", throwaway, "--out", str(tmp_path / "book")]) == 0
    text = _pdf_text(tmp_path / "book" / "answer-book.pdf")
    assert text.count("«") > 100
    assert re.search(r"Q4", text)  # its question labels fall back to English


def test_language_choices_are_checked() -> None:
    from dlexam.errors import InputError

    assert langs.langs_for("bilingual") == ("en", "zh-Hant")
    assert langs.langs_for("en+zh-Hans") == ("en", "zh-Hans")
    assert langs.parse_choice("lang", ["en", "zh-Hans"]) == ("en", "zh-Hans")
    for bad in ("fr", "en+en", ["en", 3], []):
        with pytest.raises(InputError, match=r"^lang: expected a language"):
            langs.parse_choice("lang", bad)


# --- --lang reaches every command -----------------------------------------------------------

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.tex
def test_solve_pdf_follows_lang(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 18, item 5: --lang zh-Hant writes a Chinese sheet, en an English one, bilingual
    (the default) both; zh-Hans a Simplified one."""
    args = ["solve", "clip-gradient", "g=[6,-8]", "threshold=5"]
    text = {}
    for lang in ("en", "zh-Hant", "zh-Hans", "bilingual", "en+zh-Hans"):
        pdf = tmp_path / f"{lang}.pdf"
        assert main([*args, "--lang", lang, "--pdf", str(pdf)]) == 0
        text[lang] = _pdf_text(pdf)
    out = capsys.readouterr().out
    assert "Gradient clipping" in out  # the terminal: the first language
    assert not CJK.search(text["en"]) and "Gradient clipping" in text["en"]
    for lang in ("zh-Hant", "zh-Hans"):
        assert "Gradient clipping" not in text[lang] and "Steps" not in text[lang]
    assert "梯度截斷" in text["zh-Hant"] and "給定" in text["zh-Hant"]
    assert "给定" in text["zh-Hans"] and not _traditional_only(text["zh-Hans"])
    assert "Gradient clipping" in text["bilingual"] and "給定" in text["bilingual"]
    assert "Gradient clipping" in text["en+zh-Hans"] and "给定" in text["en+zh-Hans"]
    # the second language's colour tells it apart beside the first; alone it is set in black
    # (a fill colour operator "r g b rg" of #1F4E79 in the page content)
    import pypdf

    def blue(lang: str) -> bool:
        pages = pypdf.PdfReader(tmp_path / f"{lang}.pdf").pages
        data = b"".join(page.get_contents().get_data() for page in pages)
        return b"0.122 0.306 0.475 rg" in data

    assert blue("bilingual") and blue("en+zh-Hans")
    assert not blue("zh-Hant") and not blue("zh-Hans") and not blue("en")


def test_exam_lang_from_the_command_line(tmp_path: Path) -> None:
    exam = tmp_path / "exam.toml"
    exam.write_text('title = { en = "Quiz", zh-Hans = "测验" }\nlang = ["en", "zh-Hans"]\n\n'
                    '[[questions]]\nid = "c"\nderivation = "clip-gradient"\npoints = 2\n'
                    'ask = ["norm_before"]\n', encoding="utf-8")
    assert main(["exam", str(exam), "--variants", "1", "--seed", "1", "--out",
                 str(tmp_path / "a"), "--no-pdf"]) == 0
    moodle = (tmp_path / "a" / "moodle.xml").read_text(encoding="utf-8")
    assert 'lang="zh_cn"' in moodle and 'lang="en"' in moodle and "zh_tw" not in moodle
    assert main(["exam", str(exam), "--variants", "1", "--seed", "1", "--out",
                 str(tmp_path / "b"), "--no-pdf", "--lang", "zh-Hans"]) == 0
    moodle = (tmp_path / "b" / "moodle.xml").read_text(encoding="utf-8")
    assert "multilang" not in moodle and "梯度" in moodle and not _traditional_only(moodle)
    # the file has no zh-Hant title: refused before anything is written
    assert main(["exam", str(exam), "--variants", "1", "--seed", "1", "--out",
                 str(tmp_path / "c"), "--no-pdf", "--lang", "zh-Hant"]) == 2
    assert not (tmp_path / "c").exists()


def test_python_api_lang() -> None:
    import dlexam
    from dlexam import derivations
    from dlexam.check import report  # noqa: F401  (its display)
    from dlexam.check.verdicts import check

    r = dlexam.solve("clip-gradient", {"g": [6, -8], "threshold": 5}, lang="zh-Hans")
    assert "给定" in r._repr_html_() and not _traditional_only(r._repr_html_())
    c = check(derivations.get("clip-gradient"), {"g": [6, -8], "threshold": 5},
              {"norm_before": "10"}, lang="zh-Hant")
    assert "正確" in c._repr_html_()
    with pytest.raises(Exception, match="lang"):
        dlexam.solve("clip-gradient", {"g": [6, -8], "threshold": 5}, lang="fr")


# --- errors in the reader's language ----------------------------------------------------------

@pytest.mark.parametrize(("argv", "en", "zh"), [
    (["solve", "rnn-forward", "convention=foo"], "convention: expected one of column, row",
     "convention：應為column、row 其中之一"),
    (["solve", "rnn-forward", "W=[[1,2],[3]]"], "W: expected rows of equal length",
     "W：應為長度相同的列"),
    (["solve", "rnn-forward", "c=true"], "c: expected a number or a list of numbers, got True",
     "c：應為一個數或一串數，實際為 True"),
])
def test_errors_in_the_chosen_language(argv: list[str], en: str, zh: str,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert en in capsys.readouterr().err
    assert main([*argv, "--lang", "zh-Hant"]) == 2
    err = capsys.readouterr().err
    assert zh in err and err.count("\n") == 1
    assert main([*argv, "--lang", "zh-Hans"]) == 2
    err = capsys.readouterr().err
    assert T2S.convert(zh.replace("列", "行")) in err.replace("列表", "串列")
    assert not _traditional_only(err)


# --- no line of English prose in Chinese output -----------------------------------------------

# names, not prose: layers, frameworks, people, functions, tokens of the examples
NAMES = set("""LSTM GRU RNN PyTorch Keras TensorFlow NumPy softmax ReLU GELU ELU Adam AdamW RMSprop
Adagrad SGD BLEU Olah Cho Vaswani Mazur Glorot Xavier He LeCun Jensen Shannon Kullback Leibler KL
JS MLP CNN GAN Nesterov Dense Flatten Embedding Bidirectional Dropout Input SimpleRNN dlexam solve
true false none sqrt tanh sigmoid relu mean sum causal column row max min avg norm value global
keras pytorch log exp ln Tom Jerry chase cat cats the sat on mat tea see run like it eos Hugging
Face seed nats bits ds dx""".split())
_WORD = re.compile(r"[A-Za-z][a-z]+(?:'[a-z]+)?")
_NOT_PROSE = re.compile(r"`[^`]*`|'[^']*'|\"[^\"]*\"|「[^」]*」|“[^”]*”|dlexam solve .*"
                        r"|[A-Za-z_0-9]+=[^ ,;）)]*|p\([^)]*\)"
                        r"|[\w-]+(?:(?:, |、)[\w-]+)+ (?=其中之一|或)")


def english_prose(line: str) -> bool:
    """Two English words in a row, names and identifiers aside."""
    run = 0
    for w in re.findall(r"[A-Za-z][A-Za-z'-]*|[^A-Za-z\s]", _NOT_PROSE.sub(" ", line)):
        run = run + 1 if _WORD.fullmatch(w) and w not in NAMES else 0
        if run >= 2:
            return True
    return False


def test_the_prose_detector() -> None:
    assert english_prose("  « applies only to some questions »")
    assert english_prose("dlexam: error: x：應為a number, list or expression")
    assert not english_prose("  mask    none, causal 其中之一; 默认值 none")
    assert not english_prose("  metric  perplexity、bleu 其中之一；默认值 perplexity")
    assert not english_prose("  LSTM(30) 的參數：4 × (30 × (1 + 30) + 30)")


@pytest.mark.parametrize("lang", ["zh-Hant", "zh-Hans"])
@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_no_english_prose_in_chinese_output(name: str, lang: str,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sample", name, "--seed", "1", "--json"]) == 0
    params = json.loads(capsys.readouterr().out)["params"]
    solve = [f"{k}={v if isinstance(v, str) else json.dumps(v)}" for k, v in params.items()]
    assert main(["solve", name, *solve, "--lang", lang]) == 0
    assert main(["show", name, "--lang", lang]) == 0
    assert main(["sample", name, "--seed", "1", "--lang", lang]) == 0
    out = capsys.readouterr()
    found = [line for line in (out.out + out.err).splitlines() if english_prose(line)]
    assert not found, found[:5]


@pytest.mark.tex
def test_check_report_pdf_follows_lang(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    exam = ROOT / "tests" / "data" / "fixed-exam.toml"
    answers = tmp_path / "answers.toml"
    answers.write_text('[q4]\n"y[2]" = "2.6"\n', encoding="utf-8")
    pdf = tmp_path / "report.pdf"
    assert main(["check", "--exam", str(exam), str(answers), "--pdf", str(pdf),
                 "--lang", "zh-Hans"]) == 1
    assert "考试得分" in capsys.readouterr().out
    text = _pdf_text(pdf)
    assert "正确的推导" in text and "The right derivation" not in text
    assert not _traditional_only(text)


# --- the drivers' errors and summary lines, in Chinese ------------------------------------------

_QUESTION = '[[questions]]\nid = "c"\nderivation = "clip-gradient"\npoints = 2\nask = ["g[1]"]\n'
BAD_EXAMS = {
    "unknown top key": 'title = "T"\ncolour = 1\n' + _QUESTION,
    "no title": _QUESTION,
    "title of a wrong type": 'title = 3\n' + _QUESTION,
    "no questions": 'title = "T"\n',
    "ask of a wrong type": 'title = "T"\n' + _QUESTION.replace('["g[1]"]', '"g[1]"'),
    "unknown derivation": 'title = "T"\n' + _QUESTION.replace("clip-gradient", "clip-gradiant"),
    "unknown answer": 'title = "T"\n' + _QUESTION.replace("g[1]", "q[1]"),
    "points out of range": 'title = "T"\n' + _QUESTION.replace("points = 2", "points = -1"),
    "range the wrong way round": 'title = "T"\n' + _QUESTION
    + '[questions.params]\ng = { uniform = [3, 1], shape = [2] }\n',
    "too many decimals": 'title = "T"\n' + _QUESTION
    + '[questions.params]\ng = { uniform = [1, 3], decimals = 9 }\n',
    "draw and value": 'title = "T"\n' + _QUESTION
    + '[questions.params]\ng = { uniform = [1, 3], integers = [1, 2] }\n',
    "unknown parameter": 'title = "T"\n' + _QUESTION + '[questions.params]\ngg = 1\n',
    "unknown dimension": 'title = "T"\n' + _QUESTION + '[questions.dims]\nZ = 2\n',
    "unknown mistake": 'title = "T"\n' + _QUESTION + '[questions.partial]\nnope = 0.5\n',
    "credit Moodle cannot give": 'title = "T"\n' + _QUESTION
    + '[questions.partial]\nclip-by-value = 0.37\n',
    "bad working space": 'title = "T"\n' + _QUESTION + 'space = "6 furlongs"\n',
    "bad formula": 'title = "T"\n' + _QUESTION + 'text = "Clip $\\\\input{g}$."\n',
    "missing language text": 'title = { en = "T" }\n' + _QUESTION,
}


def _chinese_error(err: str, lang: str) -> None:
    assert err.startswith("dlexam: error: ") and err.count("\n") == 1, err
    assert not english_prose(err), err
    if lang == "zh-Hans":
        assert not _traditional_only(err), (sorted(_traditional_only(err)), err)
    else:
        assert not _simplified_only(err), (sorted(_simplified_only(err)), err)


@pytest.mark.parametrize("lang", ["zh-Hant", "zh-Hans"])
@pytest.mark.parametrize("case", sorted(BAD_EXAMS))
def test_exam_file_errors_in_chinese(case: str, lang: str, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    exam = tmp_path / "exam.toml"
    exam.write_text(BAD_EXAMS[case], encoding="utf-8")
    argv = ["exam", str(exam), "--variants", "2", "--seed", "1", "--out", str(tmp_path / "o"),
            "--no-pdf"]
    assert main(argv) == 2
    english = capsys.readouterr().err
    assert english_prose(english), english  # the detector sees the English one
    assert main([*argv, "--lang", lang]) == 2
    _chinese_error(capsys.readouterr().err, lang)
    assert not (tmp_path / "o").exists()


def test_exam_file_errors_follow_the_files_lang(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """Without --lang, an exam file's errors are said in the file's own (first) language."""
    exam = tmp_path / "exam.toml"
    exam.write_text('lang = "zh-Hans"\n' + BAD_EXAMS["unknown derivation"], encoding="utf-8")
    assert main(["exam", str(exam), "--variants", "2", "--seed", "1", "--out",
                 str(tmp_path / "o"), "--no-pdf"]) == 2
    err = capsys.readouterr().err
    assert "应为" in err
    _chinese_error(err, "zh-Hans")


@pytest.fixture(scope="module")
def drawn_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """key.json of a small drawn exam (two variants, no TeX)."""
    folder = tmp_path_factory.mktemp("drawn")
    exam = folder / "exam.toml"
    exam.write_text('title = "T"\n' + _QUESTION
                    + '[questions.params]\ng = { integers = [-9, 9], shape = [2] }\n'
                    'threshold = { choice = [1, 2, 3] }\n', encoding="utf-8")
    assert main(["exam", str(exam), "--variants", "2", "--seed", "1", "--out",
                 str(folder / "out"), "--no-pdf"]) == 0
    return folder / "out" / "key.json"


def _codes(key: Path) -> list[str]:
    return [v["code"] for v in json.loads(key.read_text(encoding="utf-8"))["variants"]]


BAD_SUBMISSIONS = {
    "unknown variant": "student,variant,c.g[1]\nann,ZZZZZ,1\n",
    "unknown column": "student,variant,c.g[1],bogus\nann,{code},1,2\n",
    "no variant column": "student,c.g[1]\nann,1\n",
    "not UTF-8": b"student,variant,c.g[1]\nann,{code},\xff\n",
    "unclosed quote": 'student,variant,c.g[1]\n"ann,{code},1\n',
    "empty file": "",
    "only the header": "student,variant,c.g[1]\n",
    "student twice": "student,variant,c.g[1]\nann,{code},1\nann,{code},2\n",
    "too many cells": "student,variant,c.g[1]\nann,{code},1,2\n",
    "empty student": "student,variant,c.g[1]\n,{code},1\n",
}
BAD_OVERRIDES = {
    "wrong header": "who,what,points,note\n",
    "unknown student": "student,item,points,note\nbob,c.g[1],1,\n",
    "points past the item's": "student,item,points,note\nann,c.g[1],99,\n",
    "three cells too few": "student,item\nann,c.g[1]\n",
}


@pytest.mark.parametrize("lang", ["zh-Hant", "zh-Hans"])
@pytest.mark.parametrize("case", sorted(BAD_SUBMISSIONS) + [f"overrides: {c}"
                                                            for c in sorted(BAD_OVERRIDES)])
def test_grade_input_errors_in_chinese(case: str, lang: str, drawn_key: Path, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    code = _codes(drawn_key)[0]
    subs = tmp_path / "subs.csv"
    extra: list[str] = []
    if case.startswith("overrides: "):
        subs.write_text(f"student,variant,c.g[1]\nann,{code},1\n", encoding="utf-8")
        overrides = tmp_path / "overrides.csv"
        overrides.write_text(BAD_OVERRIDES[case.split(": ", 1)[1]], encoding="utf-8")
        extra = ["--overrides", str(overrides)]
    else:
        text = BAD_SUBMISSIONS[case]
        data = text.replace(b"{code}", code.encode()) if isinstance(text, bytes) \
            else text.replace("{code}", code).encode("utf-8")
        subs.write_bytes(data)
    argv = ["grade", str(drawn_key), str(subs), "--out", str(tmp_path / "g"), "--no-pdf",
            *extra]
    assert main([*argv, "--lang", "en"]) == 2
    assert english_prose(capsys.readouterr().err)
    assert main([*argv, "--lang", lang]) == 2
    _chinese_error(capsys.readouterr().err, lang)


@pytest.mark.parametrize("lang", ["zh-Hant", "zh-Hans"])
def test_bad_key_json_in_chinese(lang: str, drawn_key: Path, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    key = json.loads(drawn_key.read_text(encoding="utf-8"))
    key["variants"][0]["questions"][0]["points"] = "two"
    bad = tmp_path / "key.json"
    bad.write_text(json.dumps(key), encoding="utf-8")
    subs = tmp_path / "subs.csv"
    subs.write_text("student,variant,c.g[1]\n", encoding="utf-8")
    assert main(["grade", str(bad), str(subs), "--out", str(tmp_path / "g"), "--no-pdf",
                 "--lang", lang]) == 2
    _chinese_error(capsys.readouterr().err, lang)


@pytest.mark.parametrize("lang", ["zh-Hant", "zh-Hans"])
def test_exam_and_grade_summaries_in_chinese(lang: str, drawn_key: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    exam = drawn_key.parents[1] / "exam.toml"
    assert main(["exam", str(exam), "--variants", "3", "--seed", "2", "--out",
                 str(tmp_path / "e"), "--no-pdf", "--lang", lang]) == 0
    exam_out = capsys.readouterr()
    subs = tmp_path / "subs.csv"
    codes = _codes(tmp_path / "e" / "key.json")
    subs.write_text(f"student,variant,c.g[1]\nann,{codes[0]},1\nbob,{codes[1]},\n"
                    f"cy,{codes[2]},\"[1, 2]\"\n", encoding="utf-8")
    assert main(["grade", str(tmp_path / "e" / "key.json"), str(subs), "--out",
                 str(tmp_path / "g"), "--no-pdf", "--lang", lang]) == 0
    grade_out = capsys.readouterr()
    graded = json.loads((tmp_path / "g" / "grades.json").read_text(encoding="utf-8"))
    reasons = [v["reason"] for s in graded["students"] for q in s["questions"]
               for v in q["verdicts"] if "reason" in v]
    assert len(reasons) == 2 and not any(english_prose(r) for r in reasons), reasons
    lines = (exam_out.out + exam_out.err + grade_out.out + grade_out.err).splitlines()
    assert len(lines) >= 3, lines
    assert any("3 个版本" in line or "3 個版本" in line for line in lines), lines
    found = [line for line in lines if english_prose(line)]
    assert not found, found
    bad = _traditional_only if lang == "zh-Hans" else _simplified_only
    assert not bad("".join(lines)), lines
    # the same run in English says it in English (the detector would see it)
    assert main(["exam", str(exam), "--variants", "3", "--seed", "2", "--out",
                 str(tmp_path / "e"), "--no-pdf", "--lang", "en"]) == 0
    english = capsys.readouterr()
    assert all(english_prose(line) for line in (english.out + english.err).splitlines())


# --- bad input of every derivation, said in Chinese -------------------------------------------

def _bad_values(param: object) -> list[object]:
    """Values a student may give a parameter by mistake: a wrong shape, a value out of range,
    a word where a number goes, a ragged matrix."""
    kind = param.kind
    if kind in ("array", "array_list"):
        return [[[1, 2, 3], [4, 5]], [[1, 2, 3, 4, 5, 6, 7]], [1e9], "abc", []]
    if kind in ("int", "number", "choice_or_number"):
        return [-5, 1e9, "abc", [1, 2], 0.5]
    if kind == "choice":
        return ["bogus", 3]
    if kind == "json":
        return [[1], {}, "x"]
    if kind == "bool":
        return ["maybe"]
    return ["\x07", "x" * 5000]


def _said_errors(name: str) -> list[object]:
    """The InputErrors of many bad inputs of one derivation: each parameter in turn given a bad
    value or left out, an unknown parameter, and bad typed answers to check."""
    from dlexam import derivations
    from dlexam.check.verdicts import Checker
    from dlexam.errors import InputError

    spec = derivations.get(name)
    good = spec.sample(1)
    assert good is not None
    found: list[object] = []

    def attempt(run: object) -> None:
        try:
            run()  # type: ignore[operator]
        except InputError as err:
            found.append(err)

    attempt(lambda: spec.run({**good, "nosuch": 1}))
    attempt(lambda: spec.run(good, mistake="no-such-mistake"))
    for param in spec.params:
        if param.name in good:
            rest = {k: v for k, v in good.items() if k != param.name}
            attempt(lambda rest=rest: spec.run(rest))
        for bad in _bad_values(param):
            attempt(lambda bad=bad, param=param: spec.run({**good, param.name: bad}))
    checker = Checker(spec, good)
    first = spec.answers[0].name
    for ref, typed in ((first, "abc"), (first, "1 +"), (f"{first}[99]", "1"),
                       (f"{first}[0]", "1"), ("nosuch", "1"), (f"{first}[", "1"),
                       (first, "[[1, 2], [3]]"), (first, "log(-1)")):
        attempt(lambda ref=ref, typed=typed: checker.read(ref, typed))
    return found


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_bad_input_is_said_in_chinese(name: str) -> None:
    """Each derivation's errors, for many bad inputs, hold no line of English prose in zh-Hant
    or zh-Hans (and say the same thing in English: one line, naming the parameter)."""
    errors = _said_errors(name)
    assert len(errors) >= 5, name  # the bad inputs are refused, so the test reads messages
    for err in errors:
        english = err.said_in("en")  # type: ignore[attr-defined]
        assert "\n" not in english
        for lang in ("zh-Hant", "zh-Hans"):
            said = err.said_in(lang)  # type: ignore[attr-defined]
            assert not english_prose(said), (lang, said, english)
            assert said.startswith(err.param), (said, err.param)  # type: ignore[attr-defined]
        assert not _traditional_only(err.said_in("zh-Hans")), err  # type: ignore[attr-defined]


@pytest.mark.parametrize("lang", ["zh-Hant", "zh-Hans"])
@pytest.mark.parametrize("argv", [
    ["exam", "x.toml", "--variants", "2", "--out", "o"],  # --seed missing
    ["sample", "rnn-forward", "--seed", "abc"],  # a type function refuses it
    ["exam", "x.toml", "--variants", "q", "--seed", "1", "--out", "o"],  # int refuses it
    ["solve", "rnn-forward", "--bogus", "1"],
    ["check", "clip-gradient", "--sig-figs", "2", "--decimals", "3"],
], ids=["required", "seed", "int", "unrecognized", "not-allowed"])
def test_usage_errors_in_chinese(argv: list[str], lang: str,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    """argparse's own one-line errors are said in the language --lang names."""
    assert main(argv) == 2
    assert english_prose(capsys.readouterr().err)
    assert main([*argv, "--lang", lang]) == 2
    _chinese_error(capsys.readouterr().err, lang)


@pytest.mark.parametrize("lang", ["zh-Hant", "zh-Hans"])
def test_web_solve_page_describes_parameters_in_its_language(lang: str) -> None:
    """The web solve page's parameter descriptions are what show says (JSON ones too)."""
    from dlexam.web.pages import solve_page

    found = []
    for name in sorted(REGISTRY):
        for field in solve_page(name, {}, lang)["fields"]:
            if english_prose(field["describe"]):
                found.append((name, field["name"], field["describe"]))
    assert not found, found[:5]
    english = solve_page("sequence-metrics", {}, "en")["fields"]
    assert any(english_prose(f["describe"]) for f in english)


@pytest.mark.parametrize("lang", ["zh-Hant", "zh-Hans"])
@pytest.mark.parametrize("argv", [
    ["solve", "param-count", "model=LSTM(30), Dense(x=1)"],
    ["solve", "param-count", "model=LSTM(30) Dense(1)", "input_dim=3"],
    ["solve", "decoding", 'tree={"a": [0.6, {"b": [2, {}]}]}'],
    ["solve", "sequence-metrics", "probs=[0.5, 2]"],
    ["solve", "rnn-forward", "W=[[1,2]"],
    ["solve", "rnn-forward", "W=1", "W=2"],
    ["solve", "self-attention", "X=[[1,2],[3,4]]", "W_Q=[[1]]"],
    ["solve", "conv2d", "X=[[1,2],[3,4]]", "K=[[[1]],[[2]]]"],
    ["solve", "mlp", "activations=relu,bogus"],
    ["solve", "lr-schedule", "schedule=multistep"],
    ["solve", "information", "p=[0.5, 0.6]", "q=[0.5, 0.5]"],
    ["check", "rnn-forward", "-a", "y[9]=1"],
    ["check", "rnn-forward", "-a", "y[2]=abc"],
    ["check", "--exam", "/nonexistent/exam.toml", "answers.toml"],
    ["check", "rnn-forward", "-a", "y[0]=1"],
    ["check", "rnn-forward", "-a", "z=1"],
])
def test_errors_of_the_command_line_in_chinese(argv: list[str], lang: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """A bad input's one line on stderr, from the command line, holds no English prose."""
    assert main([*argv, "--lang", lang]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert not english_prose(err.removeprefix("dlexam: error: ")), err
