"""Issue 24: every input surface hardened, each attack that once failed kept as a test.

Outputs replaced as a whole or not at all; file inputs bounded before they are read; no
traceback from any value; children that die with dlexam; Moodle's cloze syntax and the CSV
header escaped; messages that name the right limit and echo little. Signal and child tests run
dlexam in a subprocess and wait for what they need with a bound (never a timing under test).
"""

from __future__ import annotations

import csv
import errno
import html
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import gradekit
import pytest

from dlexam import derivations
from dlexam.cli import main
from dlexam.errors import BuildError, InputError, Terminated
from dlexam.outfolder import OutputFolder, folder_lock

ROOT = Path(__file__).resolve().parents[1]
PATIENCE_S = 120  # a bound against a hung test, not a timing under test

SMALL_EXAM = """
title = { en = "Quiz", zh-Hant = "小考" }
lang = "en"

[[questions]]
id = "q1"
derivation = "information"
points = 10
ask = ["kl_pq", "entropy_p"]
[questions.params]
base = "e"
normalize = false
"""


def _exam(tmp_path: Path, text: str = SMALL_EXAM) -> Path:
    path = tmp_path / "exam.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _build(exam: Path, out: Path, variants: int = 2, *extra: str) -> int:
    return main(["exam", str(exam), "--variants", str(variants), "--seed", "3", "--out",
                 str(out), "--no-pdf", *extra])


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


# --- 1. an output folder is replaced as a whole, or not at all ---------------------------------

def test_a_rebuild_leaves_nothing_of_the_previous_build(tmp_path: Path) -> None:
    out = tmp_path / "out"
    exam = _exam(tmp_path)
    assert _build(exam, out, 3) == 0
    # what a build with PDFs left: per-variant papers that the new build does not make
    (out / "papers").mkdir()
    (out / "papers" / "paper-OLDCODE.pdf").write_bytes(b"%PDF-old")
    (out / "keys.pdf").write_bytes(b"%PDF-old")
    assert _build(exam, out, 2) == 0
    assert sorted(p.name for p in out.iterdir()) == ["key.json", "moodle.xml"]
    assert len(json.loads((out / "key.json").read_text("utf-8"))["variants"]) == 2
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_folder_holding_other_files_is_refused_untouched(
        tmp_path: Path, input_error: Callable[[list[str]], str]) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    exam = _exam(tmp_path)
    line = input_error(["exam", str(exam), "--variants", "1", "--seed", "1", "--out", str(out),
                        "--no-pdf"])
    assert line.startswith("--out: expected an empty folder or one this command wrote")
    assert "'notes.txt'" in line
    assert _snapshot(out) == {"notes.txt": b"mine"}


def test_the_current_folder_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       input_error: Callable[[list[str]], str]) -> None:
    exam = _exam(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    line = input_error(["exam", str(exam), "--variants", "1", "--seed", "1", "--out", ".",
                        "--no-pdf"])
    assert "other than the current one" in line


def _previous(tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    out = tmp_path / "out"
    assert _build(_exam(tmp_path), out, 2) == 0
    return out, _snapshot(out)


def _fail_on_second_fsync(monkeypatch: pytest.MonkeyPatch, error: BaseException) -> None:
    import dlexam.outfolder as outfolder

    calls = []
    real = os.fsync

    def fsync(fd: int) -> None:
        calls.append(fd)
        if len(calls) == 2:
            raise error
        real(fd)

    monkeypatch.setattr(outfolder.os, "fsync", fsync)


def test_a_full_disk_keeps_the_previous_outputs_and_says_so(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out, before = _previous(tmp_path)
    _fail_on_second_fsync(monkeypatch, OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))
    with pytest.raises(BuildError, match=r"No space left on device; the previous outputs in "
                                         r".*out were kept"):
        OutputFolder(out, ["key.json", "moodle.xml", "new.bin"]).write(
            {"key.json": b"{}", "moodle.xml": b"<quiz/>", "new.bin": b"x"})
    assert _snapshot(out) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_signal_while_writing_keeps_the_previous_outputs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
        ) -> None:
    out, before = _previous(tmp_path)
    capsys.readouterr()
    _fail_on_second_fsync(monkeypatch, Terminated(signal.SIGTERM))
    with pytest.raises(Terminated):
        OutputFolder(out, ["key.json", "moodle.xml"]).write(
            {"key.json": b"{}", "moodle.xml": b"<quiz/>"})
    assert "the previous outputs in" in capsys.readouterr().err
    assert _snapshot(out) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_two_builds_into_one_folder_take_turns(tmp_path: Path) -> None:
    exam = _exam(tmp_path)
    out = tmp_path / "out"
    with folder_lock(tmp_path):  # another build is swapping beside: this one must wait
        proc = subprocess.Popen(
            [sys.executable, "-m", "dlexam", "exam", str(exam), "--variants", "2", "--seed",
             "3", "--out", str(out), "--no-pdf"], stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(ROOT)})
        try:
            deadline = time.monotonic() + PATIENCE_S
            line = b""
            while b"waiting" not in line:
                assert proc.poll() is None and time.monotonic() < deadline
                line = proc.stderr.readline()  # type: ignore[union-attr]
            assert not out.exists()  # nothing swapped in while the other build holds the lock
        except BaseException:
            proc.kill()
            raise
    _, err = proc.communicate(timeout=PATIENCE_S)
    assert proc.returncode == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["key.json", "moodle.xml"]


def test_grade_replaces_its_folder_and_protects_the_header(tmp_path: Path) -> None:
    key = gradekit.make_key(tmp_path / "exam", variants=2)
    data = json.loads(key.read_text("utf-8"))
    hostile = "=cmd|' /C calc'!A0"
    for variant in data["variants"]:
        variant["questions"][0]["id"] = hostile
    key.write_text(json.dumps(data), encoding="utf-8")
    code = data["variants"][0]["code"]
    columns = [f"{hostile}.{a['answer']}" + "".join(f"[{i}]" for i in a["index"] or [])
               for a in data["variants"][0]["questions"][0]["asked"]]
    sheet = tmp_path / "answers.csv"
    with open(sheet, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["student", "variant", *columns])
        # one cell of 40 significant figures: once decimal.InvalidOperation for the class
        writer.writerow(["s1", code, "1." + "3" * 39, *[""] * (len(columns) - 1)])
        writer.writerow(["s2", code, *[""] * len(columns)])
    out = tmp_path / "grades"
    out.mkdir()
    (out / "grades.csv").write_text("old", encoding="utf-8")
    assert main(["grade", str(key), str(sheet), "--out", str(out), "--no-pdf"]) == 0
    rows = list(csv.reader(io.StringIO((out / "grades.csv").read_text("utf-8"))))
    assert not any(cell.startswith("=") for cell in rows[0])
    assert "'" + hostile in rows[0]
    assert [r[0] for r in rows[1:]] == ["s1", "s2"]
    assert sorted(p.name for p in out.iterdir()) == ["grades.csv", "grades.json"]


# --- 2. every file input bounded before it is read ---------------------------------------------

def _fifo(tmp_path: Path) -> Path:
    path = tmp_path / "fifo"
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("special", ["/dev/zero", "fifo", "folder"])
@pytest.mark.parametrize("surface", ["batch", "exam", "answers", "csv", "key"])
def test_a_device_fifo_or_folder_is_refused_by_name(
        tmp_path: Path, input_error: Callable[[list[str]], str],
        capsys: pytest.CaptureFixture[str], special: str, surface: str) -> None:
    path = {"/dev/zero": Path("/dev/zero"), "fifo": _fifo(tmp_path) if special == "fifo"
            else None, "folder": tmp_path}[special]
    assert path is not None
    key = gradekit.make_key(tmp_path / "k") if surface == "csv" else None
    capsys.readouterr()
    argv = {"batch": ["check", "--batch", str(path)],
            "exam": ["exam", str(path), "--variants", "1", "--seed", "1", "--out",
                     str(tmp_path / "o"), "--no-pdf"],
            "answers": ["check", "--exam", "final2023", str(path)],
            "csv": ["grade", str(key), str(path), "--out", str(tmp_path / "g")],
            "key": ["grade", str(path), str(tmp_path / "none.csv"), "--out",
                    str(tmp_path / "g")]}[surface]
    line = input_error(argv)
    kind = {"/dev/zero": "a device", "fifo": "a FIFO", "folder": "a folder"}[special]
    assert line.startswith(f"{path}: expected a regular "), line
    assert kind in line


def test_a_file_past_its_limit_is_read_no_further(tmp_path: Path,
                                                  input_error: Callable[[list[str]], str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import dlexam.safeio as safeio

    big = tmp_path / "answers.toml"
    big.write_bytes(b"# " + b"x" * 1_100_000 + b"\n")
    reads: list[int] = []
    real = safeio.read_stream

    def counting(stream, limit, name, what="file"):  # type: ignore[no-untyped-def]
        original = stream.read

        def read(n: int = -1) -> bytes:
            chunk = original(n)
            reads.append(len(chunk))
            return chunk

        stream.read = read
        return real(stream, limit, name, what)

    monkeypatch.setattr(safeio, "read_stream", counting)
    line = input_error(["check", "--exam", "final2023", str(big)])
    assert "at most" in line
    assert sum(reads) == 1_000_001  # limit + 1 bytes, not the whole file


@pytest.mark.parametrize("surface", ["exam", "answers", "key", "batch"])
def test_deep_nesting_is_one_line(tmp_path: Path, input_error: Callable[[list[str]], str],
                                  capsys: pytest.CaptureFixture[str], surface: str) -> None:
    deep_toml = "x = " + "[" * 5000 + "]" * 5000 + "\n"
    deep_json = "[" * 100_000 + "]" * 100_000
    path = tmp_path / "f"
    if surface == "batch":
        path.write_text('{"derivation": "bptt", "params": ' + "{\"a\": " * 50_000 + "1"
                        + "}" * 50_000 + ', "answers": {"rate": "1"}}\n', encoding="utf-8")
        assert main(["check", "--batch", str(path)]) == 0
        out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert len(out) == 1 and "error" in out[0]
        return
    path.write_text(deep_json if surface == "key" else deep_toml, encoding="utf-8")
    argv = {"exam": ["exam", str(path), "--variants", "1", "--seed", "1", "--out",
                     str(tmp_path / "o"), "--no-pdf"],
            "answers": ["check", "--exam", "final2023", str(path)],
            "key": ["grade", str(path), str(tmp_path / "none.csv"), "--out",
                    str(tmp_path / "g")]}[surface]
    assert "nested at most 32 deep" in input_error(argv)


def test_dotted_keys_nest_too(tmp_path: Path, input_error: Callable[[list[str]], str]) -> None:
    path = tmp_path / "answers.toml"
    path.write_text(".".join(["a"] * 3000) + " = 1\n", encoding="utf-8")
    assert "nested at most 32 deep" in input_error(["check", "--exam", "final2023", str(path)])


def test_a_batch_on_standard_input_is_read_in_bounded_lines() -> None:
    # 50 MB of zeros without a line break: once held whole; now one error line, little memory
    proc = subprocess.run(
        [sys.executable, "-c", "import resource, sys; from dlexam.cli import main; "
         "resource.setrlimit(resource.RLIMIT_AS, (1 << 31, 1 << 31)); "
         "sys.exit(main(['check', '--batch', '-']))"],
        input=b"\0" * 50_000_000 + b"\n" + b'{"derivation": "bptt", "answers": {}}\n',
        capture_output=True, timeout=PATIENCE_S, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [line["line"] for line in lines] == [1, 2]
    assert "at most 1,000,000 characters" in lines[0]["error"]


# --- 5. no traceback from any value -----------------------------------------------------------

@pytest.mark.parametrize("typed", ["2.6704123456789012345678901234567", "1." + "3" * 9990,
                                   "99999999999999999999999999999.5",
                                   "2.737150000000000000000000000000000"])
def test_a_typed_number_of_any_length_is_judged(capsys: pytest.CaptureFixture[str],
                                                typed: str) -> None:
    code = main(["check", "rnn-forward", "-a", f"y[2]={typed}", "--json"])
    report = json.loads(capsys.readouterr().out)
    right = float(typed) == pytest.approx(2.73715, abs=1e-5)
    assert code == (0 if right else 1)
    assert report["verdicts"][0]["correct"] is right


def test_one_bad_request_never_stops_a_batch(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "b.jsonl"
    lines = [{"derivation": "rnn-forward", "params": {}, "answers": {"y[2]": "2." + "7" * 40}},
             {"derivation": "rnn-forward", "params": {}, "answers": {"y[2]": "2.7371"}}]
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    assert main(["check", "--batch", str(path)]) == 0
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [o["line"] for o in out] == [1, 2]
    assert out[0]["correct"] == 0 and out[1]["correct"] == 1


def _key_with(tmp_path: Path, change: Callable[[dict], None]) -> Path:
    key = gradekit.make_key(tmp_path / "exam", variants=1)
    data = json.loads(key.read_text("utf-8"))
    change(data)
    path = tmp_path / "key.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _asked(data: dict) -> dict:
    return data["variants"][0]["questions"][0]["asked"][0]


@pytest.mark.parametrize(("change", "where", "fragment"), [
    (lambda d: _asked(d).update(expected=[float("nan"), 1.0]),
     "variants[0].questions[0].asked[0].expected", "finite numbers"),
    (lambda d: _asked(d).update(expected="a string"),
     "variants[0].questions[0].asked[0].expected", "a number or lists of numbers"),
    (lambda d: _asked(d)["mistakes"].update({"made-up": 1.0}),
     "variants[0].questions[0].asked[0].mistakes", "mistakes rnn-forward names"),
    (lambda d: _asked(d).update(answer="nope"),
     "variants[0].questions[0].asked[0].answer", "an answer of rnn-forward"),
    (lambda d: d["variants"][0]["questions"][0].update(derivation="nope"),
     "variants[0].questions[0].derivation", "a derivation dlexam has"),
    (lambda d: d["variants"][0]["questions"][0].update(partial={"made-up": 0.5}),
     "variants[0].questions[0].partial", "mistakes rnn-forward names"),
    (lambda d: _asked(d).update(expected={"a": 1}),
     "variants[0].questions[0].asked[0].expected", "a finite number"),
    (lambda d: _asked(d)["tolerance"].update(rel=float("inf")),
     "variants[0].questions[0].asked[0].tolerance.rel", "a finite number"),
])
def test_key_json_is_checked_against_its_full_schema(
        tmp_path: Path, input_error: Callable[[list[str]], str],
        capsys: pytest.CaptureFixture[str], change: Callable[[dict], None], where: str,
        fragment: str) -> None:
    key = _key_with(tmp_path, change)
    capsys.readouterr()
    sheet = tmp_path / "a.csv"
    sheet.write_text("student,variant\n", encoding="utf-8")
    line = input_error(["grade", str(key), str(sheet), "--out", str(tmp_path / "g")])
    assert line.startswith(f"{key}: {where}: expected "), line
    assert fragment in line
    assert not (tmp_path / "g").exists()


# --- 4. children die with their parent --------------------------------------------------------

def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _wait_until(what: Callable[[], bool]) -> None:
    deadline = time.monotonic() + PATIENCE_S
    while not what():
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.05)


FORKS = """
import os, sys, time
from dlexam.exams import parallel
parallel.workers = lambda: 2
def task(i):
    with open(sys.argv[1], "a") as fh:
        fh.write(f"{os.getpid()}\\n")
    time.sleep(1000)
parallel.fork_map(task, 2, least=1)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_forked_workers_end_when_dlexam_is_killed(tmp_path: Path) -> None:
    pids_file = tmp_path / "pids"
    proc = subprocess.Popen([sys.executable, "-c", FORKS, str(pids_file)],
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        _wait_until(lambda: pids_file.exists() and len(pids_file.read_text().split()) == 2)
        pids = [int(p) for p in pids_file.read_text().split()]
        assert all(_alive(pid) for pid in pids)
        proc.kill()  # SIGKILL: the parent can clean nothing up itself
        proc.wait(timeout=PATIENCE_S)
        _wait_until(lambda: not any(_alive(pid) for pid in pids))
    finally:
        if proc.poll() is None:
            proc.kill()
        for pid in (int(p) for p in pids_file.read_text().split()) if pids_file.exists() \
                else ():
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_forked_workers_end_on_a_signal(tmp_path: Path, sig: signal.Signals) -> None:
    pids_file = tmp_path / "pids"
    code = ("import signal, sys; from dlexam.cli import _on_sigterm\n"
            "from dlexam.errors import Terminated\n"
            f"signal.signal({int(sig)}, _on_sigterm)\n"
            "try:\n" + "".join("    " + line + "\n" for line in FORKS.strip().splitlines())
            + "except Terminated:\n    sys.exit(3)\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(pids_file)],
                            env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stderr=subprocess.PIPE)
    try:
        _wait_until(lambda: pids_file.exists() and len(pids_file.read_text().split()) == 2)
        pids = [int(p) for p in pids_file.read_text().split()]
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=PATIENCE_S)
        assert proc.returncode == 3, err  # the parent unwound at once, its workers stopped
        assert not any(_alive(pid) for pid in pids)
        assert b"Traceback" not in err
    finally:
        if proc.poll() is None:
            proc.kill()


HANGS = r"""echo $$ >> "%(dir)s/pids"
touch "%(dir)s/started"
while :; do sleep 0.05; done
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_tex_ends_when_dlexam_is_killed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import faketex

    bin_dir = faketex.install(tmp_path / "bin", monkeypatch, HANGS)
    proc = subprocess.Popen(
        [sys.executable, "-m", "dlexam", "solve", "param-count", "model=LSTM(3)", "input_dim=1",
         "--pdf", str(tmp_path / "s.pdf")], cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    try:
        _wait_until(lambda: (bin_dir / "started").exists())
        pids = faketex.recorded_pids(bin_dir)
        assert pids and all(_alive(pid) for pid in pids)
        proc.kill()
        proc.wait(timeout=PATIENCE_S)
        _wait_until(lambda: not any(_alive(pid) for pid in pids))
    finally:
        if proc.poll() is None:
            proc.kill()
        for pid in faketex.recorded_pids(bin_dir):
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


# --- 6. Moodle's cloze syntax -----------------------------------------------------------------

# Moodle's reader of embedded answers, as its multianswer question type documents the syntax: a
# part is {weight:TYPE:alternatives}; an alternative's feedback ends at a ~ or } not after a
# backslash; entities are then decoded once and \} \# unescaped. (Our own reading of it.)
_PART_START = re.compile(r"\{([0-9]*):(NUMERICAL|NM|SHORTANSWER|SA|MW|MULTICHOICE|MC)[A-Z_]*:")


def _moodle_parts(text: str) -> list[str]:
    parts = []
    for match in _PART_START.finditer(text):
        end = match.end()
        while end < len(text) and not (text[end] == "}" and text[end - 1] != "\\"):
            end += 1
        if end < len(text):
            parts.append(text[match.start():end + 1])
    return parts


def _feedbacks(part: str) -> list[str]:
    body = part[part.index(":", part.index(":") + 1) + 1:-1]
    out = []
    for alt in re.split(r"(?<!\\)~", body):
        if "#" in alt:
            fb = html.unescape(alt.split("#", 1)[1])
            out.append(fb.replace("\\}", "}").replace("\\#", "#"))
    return out


def test_question_text_never_makes_a_graded_blank(tmp_path: Path) -> None:
    text = ('Compute it. {1:NUMERICAL:=1} and {#1} are not blanks; nor is '
            '{2:SA:~=x#\\\\}} with $p =$ {p}.')
    exam = _exam(tmp_path, SMALL_EXAM.replace('normalize = false', 'normalize = false')
                 + f"[questions.text]\nen = '''{text}'''\n")
    out = tmp_path / "out"
    assert _build(exam, out, 1) == 0
    root = ET.parse(out / "moodle.xml").getroot()
    (cloze,) = [q for q in root.findall("question") if q.get("type") == "cloze"]
    body = cloze.findtext("questiontext/text") or ""
    parts = _moodle_parts(body)
    assert len(parts) == 2  # kl_pq and entropy_p: the text's braces made none
    assert "{#" not in body
    shown = html.unescape(re.sub(r"<[^>]+>", "", body.split("<p>kl_pq")[0]))
    assert "{1:NUMERICAL:=1} and {#1} are not blanks" in shown


def test_feedback_reads_back_as_written() -> None:
    from dlexam.exams.moodle import cloze_feedback

    hostile = "a } b # c ~ d \\ e \\} f \\# g { h & i < j {1:NUMERICAL:=1}"
    escaped = cloze_feedback(html.escape(hostile, quote=False))
    part = "{1:NUMERICAL:=1:0.1#" + escaped + "~%0%2:0.1#ok}"
    (found,) = _moodle_parts(part)
    assert found == part  # the feedback ended no part early
    first, second = _feedbacks(found)
    assert html.unescape(first) == hostile and second == "ok"


# --- 7. messages ------------------------------------------------------------------------------

def test_a_matrix_past_the_rows_names_rows(input_error: Callable[[list[str]], str]) -> None:
    g = json.dumps([[1, 2]] * 9)
    line = input_error(["solve", "clip-gradient", f"g={g}", "threshold=1"])
    assert line == "g: expected at most 8 rows or tensors (K at most 8), got 9"


def test_names_are_echoed_short_and_escaped(input_error: Callable[[list[str]], str]) -> None:
    assert input_error(["check", "rnn-forward", "-a", "y\x1b[31m=1"]).startswith("y\\x1b[31m:")
    line = input_error(["check", "rnn-forward", "-a", "z" * 100_000 + "=1"])
    assert len(line) < 400 and "(100,000 characters)" in line


def test_practice_without_an_answer_is_exit_1() -> None:
    proc = subprocess.run([sys.executable, "-m", "dlexam", "practice", "rnn-forward", "--seed",
                           "1"], input=b"", capture_output=True, timeout=PATIENCE_S,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 1
    assert proc.stderr.decode().strip() == (
        "dlexam: practice: no answer was given (every value skipped, or the session ended "
        "before the first answer)")


def test_batch_with_exam_is_refused(input_error: Callable[[list[str]], str],
                                    tmp_path: Path) -> None:
    path = tmp_path / "b.jsonl"
    path.write_text("", encoding="utf-8")
    line = input_error(["check", "--exam", "final2023", "--batch", str(path)])
    assert line.startswith("--batch: expected no --exam")


# --- 3. limits that answer in seconds ---------------------------------------------------------

def test_bptt_with_a_target_past_100_steps_is_refused() -> None:
    x = [[0.1]] * 101
    with pytest.raises(InputError, match=r"^target: expected S at most 100, got S = 101"):
        derivations.get("bptt").run({"W": [[0.5]], "U": [[1]], "b": [0], "x": x, "V": [[1]],
                                     "target": [0.5] * 101})
    with pytest.raises(InputError, match=r"^x: expected at most 100 steps \(T\) with a target"):
        derivations.get("bptt").run({"W": [[0.5]], "U": [[1]], "b": [0], "x": x, "V": [[1]],
                                     "target": 0.5, "loss_at": "last"})


def test_a_fixed_question_is_refused_for_several_variants_before_deriving(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        input_error: Callable[[list[str]], str]) -> None:

    def no_runs(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a derivation ran")

    # the file's values are tried once when it is read; no variant is derived
    from dlexam.plans import Planner

    monkeypatch.setattr(Planner, "values_of", no_runs)
    line = input_error(["exam", "final2023", "--variants", "2", "--seed", "5", "--out",
                        str(tmp_path / "o"), "--no-pdf"])
    assert "has fixed numbers: one variant" in line


@pytest.mark.skipif(not Path("/proc/self/mem").exists(), reason="Linux's /proc")
def test_a_regular_file_that_cannot_be_read_is_one_line(
        input_error: Callable[[list[str]], str]) -> None:
    # /proc/self/mem opens as a regular file of size 0, and reading it fails (EIO)
    line = input_error(["check", "--batch", "/proc/self/mem"])
    assert line.startswith("/proc/self/mem: expected a readable batch file")
