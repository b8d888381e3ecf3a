"""Exam papers an instructor would print (issue 18, item 3): asked items named by their
declared labels, answer space shaped like the answer, working space and answer layout per
question from the exam file."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from dlexam.exams.papers import answer_space
from dlexam.render.prose import message, prose_text

EXAM = """title = {{ en = "Print", zh-Hant = "列印" }}
lang = "{lang}"
[[questions]]
id = "q1"
derivation = "clip-gradient"
points = 10
ask = ["norm_before", "g"]
{extra}
[questions.params]
g = [3, -4, 12]
threshold = 5
"""


def _exam(tmp_path: Path, extra: str = "", lang: str = "bilingual") -> Path:
    path = tmp_path / "exam.toml"
    path.write_text(EXAM.format(extra=extra, lang=lang), encoding="utf-8")
    return path


def test_answers_are_labelled_in_the_catalogs() -> None:
    assert message("en", "clip_gradient.label.norm_before") == "the norm of $g$ before clipping"
    assert message("zh-Hant", "clip_gradient.label.norm_before") == "截斷前 $g$ 的範數"
    assert message("en", "self_attention.label.Z") == "the output $Z$"


def test_answer_space_is_shaped_like_the_answer() -> None:
    assert answer_space(1.5) == r"\rule{5cm}{0.4pt}"
    vector = answer_space([1, 2, 3])
    assert "{|*{3}{p{1.9cm}|}}" in vector and vector.count(r"\hline") == 2  # one row of 3
    grid = answer_space([[1, 2], [3, 4], [5, 6]])
    assert "{|*{2}{p{1.9cm}|}}" in grid and grid.count(r"\hline") == 4  # three rows of 2
    assert answer_space([[1, 2], [3, 4]], "lines") == r"\rule{5cm}{0.4pt}"


@pytest.mark.parametrize(("extra", "path", "fragment"), [
    ('space = "6 furlongs"', "questions[1].space", 'a length such as "6cm"'),
    ('space = "30cm"', "questions[1].space", "at most 25 cm"),
    ("space = 6", "questions[1].space", 'a length such as "6cm"'),
    ('answer_layout = "grid"', "questions[1].answer_layout", '"boxes", "lines"'),
])
def test_bad_print_keys_are_one_line_naming_the_toml_path(
        tmp_path: Path, input_error: object, extra: str, path: str, fragment: str) -> None:
    source = _exam(tmp_path, extra)
    message = input_error(["exam", str(source), "--variants", "1", "--seed", "1", "--out",  # type: ignore[operator]
                           str(tmp_path / "out")])
    assert message.startswith(f"{source}: {path}: expected "), message
    assert fragment in message
    assert not (tmp_path / "out").exists()


@pytest.mark.tex
@pytest.mark.parametrize("lang", ["en", "zh-Hant"])
def test_a_printed_paper_names_items_by_label_with_boxes_and_working_space(
        tmp_path: Path, lang: str) -> None:
    from dlexam.exams.build import build_exam

    source = _exam(tmp_path, 'space = "6cm"', lang)
    build_exam(str(source), 1, 1, tmp_path / "out", formats="papers")
    pdf = tmp_path / "out" / "papers.pdf"
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    label = prose_text(lang, "clip_gradient.label.norm_before")
    flat = text.replace("\n", " ")
    assert label in flat
    assert "norm_before" not in text  # the internal name is not what a student reads
    # one task sentence, naming exactly the items asked (not the factor, not the norm after)
    task = {"en": "Compute the norm of g before clipping and the clipped gradient.",
            "zh-Hant": "求截斷前 g 的範數與截斷後的梯度。"}[lang]
    assert task in flat, flat
    assert "Give only" not in flat and "只需作答" not in flat
    assert ("multiplied by" if lang == "en" else "倍數") not in flat.split(task)[1]
    assert "(a)" in flat and "(b)" in flat  # two asked items, marked as a printed exam does
    tex = (tmp_path / "out").glob("*.tex")
    assert not list(tex)  # only the PDFs are written
    # the clipped gradient's three entries: three boxes, drawn as the grid's rules
    from dlexam.exams.model import load_exam

    assert load_exam(str(source)).questions[0].space == "6cm"


def test_the_progress_bar_covers_every_phase(tmp_path: Path) -> None:
    """Variants, then each writer's rendering and its file: the bar ends full, at its total."""
    import io

    from dlexam.exams.build import Progress, build_exam

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    progress = Progress(3, "exam", stream)
    source = tmp_path / "drawn.toml"
    source.write_text(EXAM.format(extra="", lang="en").replace(
        "g = [3, -4, 12]", "g = { uniform = [-9, 9], decimals = 1, shape = [3] }"))
    build_exam(str(source), 3, 1, tmp_path / "out", formats="json,moodle", progress=progress)
    shown = stream.getvalue().split("\r")
    assert progress.total == 3 + 2 * 2
    assert shown[-1].rstrip("\n").endswith(" 7/7")
    assert [s.split()[-1] for s in shown if s][:3] == ["1/7", "2/7", "3/7"]
