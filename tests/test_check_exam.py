"""dlexam check --exam: a whole exam checked and scored, its report read back from the PDF.

Expected values come from the NumPy reference; the score from the exam file's points."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from reference import load

from dlexam.cli import main

EXAM = Path(__file__).parent / "data" / "fixed-exam.toml"
RNN = load()["rnn-forward"]
Q4 = {"U": [0.5, 0.6], "W": [[0.1, 0.2], [0.3, 0.4]], "V": [1.0, 2.0], "b": [1.0, -1.0],
      "c": 0.1, "h0": [0.0, 0.0], "x": [2, 3], "convention": "column",
      "activation": "tanh", "output_activation": "identity"}


def answers(tmp_path: Path, text: str) -> str:
    path = tmp_path / "answers.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_template_lists_every_asked_item(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--exam", str(EXAM), "--template"]) == 0
    out = capsys.readouterr().out
    assert '[q4]' in out and '"y[1]" = ""' in out and '"y[2]" = ""' in out
    assert '[q6]' in out and '"weights" = ""' in out


def test_scores_with_partial_credit_for_a_named_mistake(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    right = RNN(Q4, None)["y"]
    rows = RNN(Q4, "row-convention")["y"]
    path = answers(tmp_path, f'[q4]\n"y[1]" = "{right[0]:.4f}"\n"y[2]" = "{rows[1]:.4f}"\n'
                             f'[q6]\nweights = ""\n')
    assert main(["check", "--exam", str(EXAM), path, "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    q4, q6 = out["questions"]
    # 20 points over two items: y[1] right (10), y[2] the row convention (partial 0.5: 5)
    assert q4["score"] == 15 and q6["score"] == 0 and out["score"] == 15 and out["total"] == 30
    assert q4["verdicts"][1]["mistake"]["id"] == "row-convention"
    assert [a["result"] for a in q6["asked"]] == ["missing"]


def test_all_right_exits_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import numpy as np

    y = RNN(Q4, None)["y"]
    scaled = np.array([112, 96]) / np.sqrt(64)
    weights = np.exp(scaled) / np.exp(scaled).sum()  # Alammar's 0.88 / 0.12
    path = answers(tmp_path, f'[q4]\n"y[1]" = {y[0]}\n"y[2]" = {y[1]}\n'
                             f'[q6]\nweights = {json.dumps(weights.tolist())}\n')
    assert main(["check", "--exam", str(EXAM), path]) == 0
    assert "Exam score: 30 of 30 points." in capsys.readouterr().out


@pytest.mark.tex
def test_pdf_report_in_both_languages(tmp_path: Path) -> None:
    rows = RNN(Q4, "row-convention")["y"]
    path = answers(tmp_path, f'[q4]\n"y[2]" = "{rows[1]:.4f}"\n')
    pdf = tmp_path / "report.pdf"
    assert main(["check", "--exam", str(EXAM), path, "--pdf", str(pdf)]) == 1
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert "Fixed quiz" in text and "固定小考" in text
    assert "row convention" in text and "列向量慣例" in text
    assert "The right derivation" in text and "正確的推導" in text
    assert f"{RNN(Q4, None)['y'][1]:.4f}" in text  # the expected y_2 beside the wrong one


@pytest.mark.parametrize("text,start", [
    ('[q9]\n"y" = "1"\n', "answers.toml: q9: expected a question of the exam"),
    ('[q4]\n"z" = "1"\n', "q4.z: expected an answer of rnn-forward"),
    ('[q4]\n"y[1]" = "__import__(1)"\n', "q4.y[1]: expected a number"),
    ("[q4\n", "answers.toml: expected TOML"),
    ('[q4]\ny = { a = 1 }\n', "answers.toml: q4.y: expected a value"),
])
def test_bad_answers_files(tmp_path: Path, text: str, start: str, input_error) -> None:
    line = input_error(["check", "--exam", str(EXAM), answers(tmp_path, text)])
    # the file's path may be shortened in the message (a long temporary folder, as under
    # pytest-xdist): what follows the file name is checked
    assert (line.split("/")[-1].startswith(start) or line.startswith(start)
            or start.removeprefix("answers.toml") in line), line


def test_a_drawn_exam_is_refused_with_the_way_to_check_it(tmp_path: Path, input_error) -> None:
    quiz = Path(__file__).parents[1] / "examples" / "quiz3.toml"
    line = input_error(["check", "--exam", str(quiz), answers(tmp_path, '[q1]\n"y[2]" = "1"\n')])
    assert "fixed numbers" in line and "key.json" in line


def test_the_built_in_final(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`dlexam check --exam final2023`: the exam of the answer book, with its own numbers."""
    assert main(["check", "--exam", "final2023", "--template"]) == 0
    template = capsys.readouterr().out
    for qid in ("q2", "q4", "q5", "q6"):
        assert f"[{qid}]" in template
    rows = RNN(Q4, "row-convention")["y"]
    # Keras: 4 x 30 x (30 + 1 + 1), 4 x 30 x (30 + 30 + 1), 30 + 1; PyTorch adds 4 x 30 per LSTM
    keras = [3840, 7320, 31]
    path = answers(tmp_path, f'[q4]\n"y[1]" = "{rows[0]:.4f}"\n"y[2]" = "{rows[1]:.4f}"\n'
                             f'[q5]\nlayers = {json.dumps(keras)}\ntotal = {sum(keras)}\n')
    assert main(["check", "--exam", "final2023", path, "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    by_id = {q["id"]: q for q in out["questions"]}
    assert by_id["q5"]["score"] == 20
    # y[1] is right (both readings agree at t = 1), y[2] the row convention: 10 + 0.5 x 10
    assert by_id["q4"]["score"] == 15
    assert by_id["q4"]["verdicts"][1]["mistake"]["id"] == "row-convention"
    assert out["total"] == 60  # Q1 and Q3 ask for symbols and figures, not numbers


def test_template_of_an_exam_that_draws_its_numbers_is_refused(
        capsys: pytest.CaptureFixture[str]) -> None:
    """An answers file for examples/quiz3.toml could never be checked (each variant has its own
    numbers): the template is refused as checking it would be, exit 2, nothing printed."""
    quiz = Path(__file__).parents[1] / "examples" / "quiz3.toml"
    assert main(["check", "--exam", str(quiz), "--template"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "--template: q1: expected a question with fixed numbers" in captured.err


@pytest.mark.tex
def test_pdf_report_names_both_mistakes_of_a_pair(tmp_path: Path) -> None:
    import numpy as np

    q = np.array([[1.0, 0.0], [0.5, 1.0], [0.0, 2.0]])
    k = np.array([[1.0, 1.0], [0.0, 2.0], [1.5, -0.5]])
    s = np.where(np.tril(np.ones((3, 3))) > 0, q @ k.T, -np.inf)  # unscaled, causal
    e = np.exp(s - s.max(axis=0, keepdims=True))
    by_column = np.round(e / e.sum(axis=0, keepdims=True), 6)  # softmax down each column
    exam = tmp_path / "pair.toml"
    exam.write_text(
        'title = { en = "Pair", zh-Hant = "成對" }\nlang = "bilingual"\n\n[[questions]]\n'
        'id = "q1"\nderivation = "self-attention"\npoints = 10\nask = ["weights"]\n'
        f'[questions.params]\nQ = {q.tolist()}\nK = {k.tolist()}\nV = {q.tolist()}\n'
        'mask = "causal"\n', encoding="utf-8")
    path = answers(tmp_path, f'[q1]\nweights = "{json.dumps(by_column.tolist())}"\n')
    pdf = tmp_path / "report.pdf"
    assert main(["check", "--exam", str(exam), path, "--pdf", str(pdf)]) == 1
    text = " ".join(subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True,
                                   text=True, check=True).stdout.split())
    assert "together with softmax over each column instead of each row" in text
    assert "同時又對每一行而不是每一列做 softmax" in text
