"""Output paths, the command line's one-line errors, file modes, failed runs and damaged PDFs.

Paths are refused before any work (before SymPy is imported or TeX runs) with one line and exit
status 2; what a build writes gets the mode the umask asks for; a failed TeX run keeps its log
beside the output and says where; a PDF that does not open never replaces a good one.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import faketex
import pytest

from dlexam.book.build import write_pdf
from dlexam.build.files import atomic_write
from dlexam.build.tex import compile_pdf, explain_failure
from dlexam.errors import BuildError

SOLVE = ["solve", "param-count", "model=LSTM(3)", "input_dim=1"]
InputErr = Callable[[list[str]], str]


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("not a folder")
    return tmp_path


def test_out_naming_a_file(here: Path, input_error: InputErr) -> None:
    line = input_error(["book", "--out", "afile"])
    assert line.startswith("--out: expected a folder") and "afile" in line


def test_out_below_a_file_creates_nothing(here: Path, input_error: InputErr) -> None:
    line = input_error(["book", "--out", "afile/sub"])
    assert line.startswith("--out: expected a folder") and "afile" in line
    assert sorted(p.name for p in here.iterdir()) == ["afile"]


def test_out_empty(here: Path, input_error: InputErr) -> None:
    assert input_error(["book", "--out", ""]).startswith("--out: expected a folder name")


def test_out_whose_pdf_is_a_folder_with_files(here: Path, input_error: InputErr) -> None:
    (here / "out" / "answer-book.pdf").mkdir(parents=True)
    (here / "out" / "answer-book.pdf" / "keep.txt").write_text("mine")
    line = input_error(["book", "--out", "out"])
    assert line.startswith("--out: expected out/answer-book.pdf to be a file")
    assert (here / "out" / "answer-book.pdf" / "keep.txt").read_text() == "mine"


@pytest.mark.parametrize(
    "pdf,expected",
    [
        ("", "--pdf: expected a PDF file name such as sheet.pdf, got an empty name"),
        (".", "--pdf: expected a PDF file name such as sheet.pdf, got the folder ."),
        ("adir", "--pdf: expected a PDF file name such as sheet.pdf, got the folder adir"),
        ("new/", "--pdf: expected a PDF file name such as sheet.pdf, got the folder new/"),
        ("afile/x.pdf", "--pdf: expected a folder, got afile, which is a file"),
        ("sheet.log", "--pdf: expected a file name ending in .pdf, got sheet.log"),
    ],
)
def test_bad_pdf_paths(here: Path, input_error: InputErr, pdf: str, expected: str) -> None:
    (here / "adir").mkdir()
    assert input_error([*SOLVE, "--pdf", pdf]) == expected
    assert sorted(p.name for p in here.iterdir()) == ["adir", "afile"]


def _run_cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    code = ("import sys; from dlexam.cli import main; code = main(sys.argv[1:]); "
            "print('sympy imported' if 'sympy' in sys.modules else 'no sympy'); sys.exit(code)")
    return subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, capture_output=True,
                          text=True, check=False)


@pytest.mark.parametrize("args", [[*SOLVE, "--pdf", "adir"], ["book", "--out", "afile"]])
def test_bad_paths_are_refused_before_sympy_is_imported(here: Path, args: list[str]) -> None:
    (here / "adir").mkdir()
    proc = _run_cli(args, here)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == "no sympy\n"
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("dlexam: error: --")


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Path]:
    """A folder this process cannot write in: write bits cleared, and when the tests run as
    root (who writes anywhere) marked immutable as well."""
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    immutable = os.geteuid() == 0
    if immutable:
        done = subprocess.run(["chattr", "+i", str(ro)], capture_output=True, check=False)
        if done.returncode != 0:
            reason = f"running as root and cannot make a folder read-only: {done.stderr!r}"
            if os.environ.get("CI"):
                pytest.fail(reason)  # CI must test this, never skip it
            pytest.skip(reason)
    yield ro
    if immutable:
        subprocess.run(["chattr", "-i", str(ro)], check=True)
    ro.chmod(0o755)


@pytest.mark.parametrize("which", ["out", "out-below", "pdf"])
def test_read_only_folder(read_only: Path, input_error: InputErr, which: str) -> None:
    ro = read_only
    with pytest.raises(OSError):  # the folder really is read-only for this process
        (ro / "probe").write_text("x")
    args = {"out": ["book", "--out", str(ro)],
            "out-below": ["book", "--out", str(ro / "sub")],
            "pdf": [*SOLVE, "--pdf", str(ro / "x.pdf")]}[which]
    param = "--pdf" if which == "pdf" else "--out"
    assert input_error(args) == (f"{param}: expected a folder dlexam can write in, got {ro}, "
                                 "which is read-only")
    assert list(ro.iterdir()) == []


@pytest.mark.parametrize(
    "argv,expected",
    [
        (["book", "--lang", "xx"], "argument --lang: invalid choice: 'xx'"),
        (["solve"], "the following arguments are required: name"),
        (["solve", "param-count", "--frob"], "unrecognized arguments: --frob"),
        (["nosuch"], "argument command: invalid choice: 'nosuch'"),
        ([], "the following arguments are required: command"),
    ],
)
def test_argparse_errors_are_one_line(input_error: InputErr, argv: list[str],
                                      expected: str) -> None:
    assert input_error(argv).startswith(expected)


def test_help_still_shows_the_usage(capsys: pytest.CaptureFixture[str]) -> None:
    from dlexam.cli import main

    assert main(["book", "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: dlexam book") and "--out FOLDER" in out


@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_written_files_respect_the_umask(tmp_path: Path, umask: int, mode: int) -> None:
    old = os.umask(umask)
    try:
        atomic_write(tmp_path / "new.pdf", b"x")
        (tmp_path / "old.pdf").write_bytes(b"old")
        atomic_write(tmp_path / "old.pdf", b"rewritten")
    finally:
        os.umask(old)
    assert (tmp_path / "new.pdf").stat().st_mode & 0o777 == mode
    assert (tmp_path / "old.pdf").stat().st_mode & 0o777 == mode


BROKEN = r"""printf '%%%%PDF-1.5\n1 0 obj\n<< >>\nendobj\nstartxref\n9\n%%%%%%%%EOF\n' > "$job.pdf"
echo "fake xelatex: Output written on $job.pdf" > "$job.log"
"""


def test_a_pdf_that_does_not_open_never_replaces_the_good_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    faketex.install(tmp_path / "good", monkeypatch, faketex.GOOD)
    out = tmp_path / "out"
    write_pdf(out, "doc", "% version 1\n")
    good = (out / "doc.pdf").read_bytes()
    faketex.install(tmp_path / "broken", monkeypatch, BROKEN)
    with pytest.raises(BuildError, match="damaged PDF") as info:
        write_pdf(out, "doc", "% version 2\n")
    assert (out / "doc.pdf").read_bytes() == good
    assert "\n" not in str(info.value)
    assert f"(log: {out / 'doc.log'})" in str(info.value)


def test_the_fake_broken_pdf_has_the_marks_a_cheap_check_looks_for(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The damaged PDF above is not caught by its header and ``%%EOF`` alone."""
    bin_dir = faketex.install(tmp_path / "broken", monkeypatch, BROKEN)
    subprocess.run(["xelatex", "-jobname=x"], cwd=bin_dir, check=True)
    pdf = (bin_dir / "x.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")


FAILS_QUIETLY = r"""printf 'This is a fake XeTeX\nsome line\n(./sheet.tex\n' > "$job.log"
echo 'No pages of output.' >> "$job.log"
exit 1
"""


def test_a_failed_sheet_keeps_its_log_beside_the_pdf(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from dlexam import derivations
    from dlexam.build.sheet import build_sheet

    faketex.install(tmp_path / "bin", monkeypatch, FAILS_QUIETLY)
    result = derivations.solve("param-count", model="LSTM(3)", input_dim=1)
    target = tmp_path / "sheets" / "q5.pdf"
    with pytest.raises(BuildError) as info:
        build_sheet(result, target)
    message = str(info.value)
    log = tmp_path / "sheets" / "q5.log"
    assert log.read_text().startswith("This is a fake XeTeX")
    assert message.endswith(f"(log: {log})")
    # no error line in the log: its last lines say what happened
    assert "No pages of output." in message and "\n" not in message
    assert not target.exists()


def test_a_failed_sheet_through_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    from dlexam.cli import main

    faketex.install(tmp_path / "bin", monkeypatch, FAILS_QUIETLY)
    monkeypatch.chdir(tmp_path)
    assert main([*SOLVE, "--pdf", "s.pdf"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("dlexam: build failed: ") and err.count("\n") == 1
    assert err.rstrip().endswith("(log: s.log)")
    assert Path("s.log").exists() and not Path("s.pdf").exists()


def test_failure_without_an_error_line_quotes_the_end_of_the_log() -> None:
    log = "This is XeTeX\n" + "\n".join(f"line {i}" for i in range(50)) + "\n\nthe very end\n"
    message = explain_failure(log, "", "doc")
    assert message.endswith("line 48 | line 49 | the very end")
    assert "see the log" not in message


def test_a_real_failure_keeps_the_log_and_names_it(tmp_path: Path) -> None:
    with pytest.raises(BuildError) as info:
        write_pdf(tmp_path, "doc", "\\documentclass{article}\\begin{document}\\nosuch\n"
                                   "\\end{document}\n")
    assert "Undefined control sequence" in str(info.value)
    assert str(info.value).endswith(f"(log: {tmp_path / 'doc.log'})")
    assert "nosuch" in (tmp_path / "doc.log").read_text()


def test_a_real_pdf_passes_the_open_check() -> None:
    run = compile_pdf("\\documentclass{article}\\begin{document}ok\\end{document}\n")
    assert run.pdf.startswith(b"%PDF-")
