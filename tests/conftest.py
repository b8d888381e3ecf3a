"""Shared test set-up: Keras runs on the torch backend (the CPU build the test extra installs),
and SymPy's assumption order is seeded from DLEXAM_TEST_SEED (random unless set, shown in the
pytest header) so that a failure that depends on it can be run again."""

from __future__ import annotations

import os
import random
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sharedtex
from sharedtex import Book

from dlexam.build.tex import RECORD_ENV

os.environ.setdefault("KERAS_BACKEND", "torch")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

# SymPy checks an expression's facts in an order drawn from sympy.core.random, seeded from the OS
TEST_SEED = int(os.environ.get("DLEXAM_TEST_SEED") or random.SystemRandom().randrange(10**6))


# every PDF a test builds is left here (its log and its PDF) and read back after the test; set
# at import, so that workers and dlexam subprocesses the tests start record into it too
RECORDED = Path(tempfile.mkdtemp(prefix="dlexam-tex-record-"))
os.environ[RECORD_ENV] = str(RECORDED)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--seeds", type=int, default=6, metavar="N",
                     help="sampled questions per derivation that test_contract.py runs against "
                     "the references (default 6; 50 or more for a deep run)")


def pytest_configure(config: pytest.Config) -> None:
    os.environ["DLEXAM_TEST_SEEDS"] = str(config.getoption("--seeds"))


def pytest_sessionfinish() -> None:
    import shutil

    shutil.rmtree(RECORDED, ignore_errors=True)


def pytest_report_header() -> str:
    return (f"dlexam: DLEXAM_TEST_SEED={TEST_SEED} "
            f"PYTHONHASHSEED={os.environ.get('PYTHONHASHSEED', 'unset')} to run again")


@pytest.fixture(autouse=True)
def _sympy_seed(request: pytest.FixtureRequest) -> None:
    """Seeds SymPy's generator for each test from the run's seed and the test's own name, so a
    test draws the same order whichever tests run before it."""
    import sympy.core.random

    sympy.core.random.seed(f"{TEST_SEED}:{request.node.nodeid}")


@pytest.fixture
def input_error(capsys: pytest.CaptureFixture[str]) -> Callable[[list[str]], str]:
    """Runs the CLI expecting bad input: exit status 2, nothing on stdout, one line on stderr
    and no traceback. Returns that line without its ``dlexam: error: `` prefix."""
    from dlexam.cli import main

    def run(argv: list[str]) -> str:
        code = main(argv)
        out, err = capsys.readouterr()
        assert code == 2, (code, out, err)
        assert out == ""
        assert err.count("\n") == 1 and err.endswith("\n"), err
        assert "Traceback" not in err
        assert err.startswith("dlexam: error: "), err
        return err.removeprefix("dlexam: error: ").rstrip("\n")

    return run


@pytest.fixture(autouse=True)
def _every_pdf_fits() -> Iterator[None]:
    """Fails a test any of whose PDFs has a line wider than the text block: TeX's log says
    ``Overfull \\hbox`` (more than 1 pt), or a word of a page lies outside the text block."""
    from texfit import problems

    before = set(RECORDED.glob("*.log"))
    yield
    found: list[str] = []
    for log in sorted(set(RECORDED.glob("*.log")) - before):
        found += [f"{log.stem}: {p}" for p in problems(log)]
        log.with_suffix(".pdf").unlink(missing_ok=True)
        log.unlink()
    if found:
        shown = "\n".join(found[:20])
        more = f"\n... and {len(found) - 20} more" if len(found) > 20 else ""
        pytest.fail(f"{len(found)} overflow(s) in the PDFs this test built:\n{shown}{more}",
                    pytrace=False)


@pytest.fixture(scope="session")
def answer_book(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Book]:
    """The answer book in a language ("bilingual", "en", "zh-Hant"), built with TeX once per
    session (per xdist worker) and shared by every test that asks for it: read it, never write
    into its folder."""
    from dlexam.book import build

    built: dict[str, Book] = {}

    def get(lang: str = "bilingual") -> Book:
        if lang not in built:
            folder = tmp_path_factory.mktemp(f"book-{lang}")
            renders: list[Any] = []
            real = build.book_pieces

            def counted(*args: Any, **kwargs: Any) -> Any:
                renders.append(kwargs.get("pages"))
                return real(*args, **kwargs)

            # the build is cold (an empty folder): the renderings it made are recorded, for
            # test_book.py's test that a cold build renders the book once
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(build, "book_pieces", counted)
                report = build.build_book(folder, lang=lang)
            built[lang] = Book(folder, report, tuple(renders))
        return built[lang]

    return get


@pytest.fixture(scope="session")
def largest_exam(tmp_path_factory: pytest.TempPathFactory) -> sharedtex.Exam:
    """bench/exams/largest.toml built once per session (per xdist worker) as
    ``dlexam exam largest.toml --variants 2 --seed 1`` builds it (every writer: papers, keys,
    key.json, moodle.xml), for test_bench.py and test_largest_exams.py: read it, never write into
    its folder. Its PDFs are held to TeX's verdict here (a session fixture builds them before
    the per-test check of ``_every_pdf_fits`` looks), and the findings kept for the tests."""
    from dlexam.cli import main

    source = Path(__file__).resolve().parents[1] / "bench" / "exams" / "largest.toml"
    out = tmp_path_factory.mktemp("largest") / "o"
    code, found = sharedtex.overflows_of(lambda: main(
        ["exam", str(source), "--variants", "2", "--seed", "1", "--out", str(out)]))
    return sharedtex.Exam(source, out, code, found)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Under ``-n 2 --dist loadgroup`` (make test, make check): the tests that share a costly
    fixture run in one worker, which builds it once, and every other test goes to whichever
    worker is free. See :func:`sharedtex.scope_of`. (pytest-xdist's own ``xdist_group`` marks
    have no effect under pytest 9, whose node ids it can no longer suffix.)"""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    groups = sharedtex.file_groups(Path(__file__).parent)

    class Grouped(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return sharedtex.scope_of(nodeid, groups)

    return Grouped(config, log)
