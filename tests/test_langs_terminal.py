"""The Chinese modes of the commands test_langs.py's sweep does not run (issue 21's measure: no
line of English prose in zh-Hant or zh-Hans output): `list`, `check` (its verdicts, --json's
messages, --exam --template), `practice`, errors of files and the system, a missing parameter;
`show`'s columns in the language's punctuation; JSON's `convention` an identifier; the notes on
stderr (the stop note) in the command's --lang; the web page's 503 in its language."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from test_langs import _simplified_only, _traditional_only, english_prose

from dlexam import errors
from dlexam.cli import main
from dlexam.derivations import REGISTRY

ROOT = Path(__file__).resolve().parents[1]
LANGS = ["zh-Hant", "zh-Hans"]


def _lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    out = capsys.readouterr()
    return (out.out + out.err).splitlines()


def _json_texts(lines: list[str]) -> list[str]:
    """Every string of the JSON objects printed, one a line (the detector skips quoted text)."""
    found: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        elif isinstance(value, str):
            found.append(value)

    for line in lines:
        walk(json.loads(line))
    return found


def _runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[tuple[list[str], str]]:
    """(argv, how its output is read): each a command the sweep of test_langs.py leaves out."""
    answers = tmp_path / "answers.toml"
    answers.write_text('[q4]\n"y[2]" = "2.6"\n', encoding="utf-8")
    return [
        (["list"], "text"),
        (["check", "rnn-forward", "-a", "y[1]=1.0", "-a", "y[2]=2.7371"], "text"),
        (["check", "rnn-forward", "-a", "y[2]=2.6704"], "text"),  # a named mistake
        (["check", "rnn-forward", "-a", "y[2]=2.6704", "-a", "h=[[0.964, 0.197], [0.9, 0.8]]",
          "--json"], "json"),
        (["check", "--exam", "final2023", "--template"], "text"),
        (["check", "--exam", str(ROOT / "tests" / "data" / "fixed-exam.toml"), str(answers)],
         "text"),
        (["practice", "rnn-forward", "--seed", "3"], "[1, 2]\nhint\nabc\n[[1, 2]]\nskip\nquit\n"),
        (["practice", "self-attention", "--seed", "5"], "quit\n"),  # nothing answered
        (["book", "--out", "/proc/no-such-folder"], "text"),  # the system's reason
        (["solve", "param-count"], "text"),  # a required parameter left out
        (["solve", "self-attention"], "text"),  # no form of the question given
        (["solve", "lstm-forward", "W_f=abc"], "text"),  # a word for an array
    ]


@pytest.mark.parametrize("lang", LANGS)
def test_no_english_prose_in_the_other_commands(lang: str, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    bad = _traditional_only if lang == "zh-Hans" else _simplified_only
    english_lines = 0
    for argv, how in _runs(tmp_path, monkeypatch):
        for choice in ("en", lang):
            if how not in ("text", "json"):
                monkeypatch.setattr("sys.stdin", io.StringIO(how))
            main([*argv, "--lang", choice])
            lines = _lines(capsys)
            assert lines, argv
            texts = _json_texts(lines) if how == "json" else lines
            found = [t for t in texts if english_prose(t)]
            if choice == "en":  # the detector sees the English run's prose
                english_lines += len(found)
                continue
            assert not found, (argv, found[:3])
            assert not bad("".join(texts)), (argv, sorted(bad("".join(texts))))
    assert english_lines >= 20


@pytest.mark.parametrize(("lang", "said"), [
    ("en", "model: expected a string of at most 1000 characters, got nothing (it is required)"),
    ("zh-Hant", "model：這是必填參數，但沒有給出（應為最多 1000 個字元的字串）"),
    ("zh-Hans", "model：这是必填参数，但没有给出（应为最多 1000 个字符的字符串）"),
])
def test_a_missing_parameter_is_said_as_missing(lang: str, said: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """Not "got: not given (it is required)", which reads wrong in Chinese."""
    assert main(["solve", "param-count", "--lang", lang]) == 2
    assert capsys.readouterr().err == f"dlexam: error: {said}\n"


@pytest.mark.parametrize("lang", LANGS)
def test_show_columns_in_the_languages_punctuation(lang: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    for name in sorted(REGISTRY):
        assert main(["show", name, "--lang", lang]) == 0
        text = capsys.readouterr().out
        body = text.split("\n", 1)[1].rsplit("\n\n", 1)[0]  # the example command aside
        for line in body.splitlines():
            # ASCII "; " and "(" beside Chinese: a column or a note joined in English
            assert not re.search(r"[\u4e00-\u9fff]; |; [\u4e00-\u9fff]| \([\u4e00-\u9fff]",
                                 line), (name, line)
    assert main(["show", "rnn-forward", "--lang", lang]) == 0
    text = capsys.readouterr().out
    assert "column、row" in text and "T <= 20、H <= 4" in text and "；rel 0.0005，abs" in text
    assert main(["show", "rnn-forward"]) == 0
    english = capsys.readouterr().out
    assert "one of column, row; default column" in english and " (applies only" in english


def test_json_convention_is_an_identifier(capsys: pytest.CaptureFixture[str]) -> None:
    """JSON is an API, the same in every language: its convention is a token, never prose."""
    for name in sorted(REGISTRY):
        assert main(["sample", name, "--seed", "1", "--json"]) == 0
        params = json.loads(capsys.readouterr().out)["params"]
        argv = [f"{k}={v if isinstance(v, str) else json.dumps(v)}" for k, v in params.items()]
        assert main(["solve", name, *argv, "--json", "--lang", "zh-Hans"]) == 0
        convention = json.loads(capsys.readouterr().out)["convention"]
        assert convention is None or re.fullmatch(r"[a-z0-9][a-z0-9_=.-]*", convention), (
            name, convention)


@pytest.mark.parametrize("lang", ["en", *LANGS])
def test_notes_on_stderr_follow_lang(lang: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The notes a command writes while it works (the stop note of a build Ctrl-C ends) are in
    its --lang, and English again after it."""
    seen: list[str] = []
    monkeypatch.setattr("dlexam.cli._cmd_list", lambda _args: seen.append(errors.stderr_lang())
                        or 0)
    assert main(["list", "--lang", lang]) == 0
    assert seen == [lang] and errors.stderr_lang() == "en"
    stopped = errors.Said("files.stopped", kept="").said_in(seen[0])
    assert ("stopped" in stopped) == (lang == "en")


@pytest.mark.parametrize(("lang", "said"), [
    ("zh-Hant", "超過時間上限"), ("zh-Hans", "超过时间上限"),
    ("en", "took longer than the time limit")])
def test_a_page_past_the_time_limit_says_it_in_its_language(lang: str, said: str) -> None:
    from starlette.testclient import TestClient

    from dlexam.web.app import create_app

    with TestClient(create_app(workers=1, queue=4, timeout=0.001)) as slow:
        got = slow.get(f"/solve/rnn-forward?lang={lang}")
        assert got.status_code == 503 and said in got.text
