"""A damaged cache is a cache miss: the next build rebuilds and repairs it, and the one after
answers from it again. A fake xelatex (tests/faketex.py) stands in for TeX: what is tested is
the cache, not the typesetting."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import faketex
import pytest

from dlexam.book.fastpath import build_book_cached

NAME = "answer-book"


def _byte_ff(out: Path) -> None:
    for stamp in (out / ".cache").iterdir():
        stamp.write_bytes(b"\xff" + stamp.read_bytes()[1:])


def _cache_a_file(out: Path) -> None:
    shutil.rmtree(out / ".cache")
    (out / ".cache").write_text("not a folder")


def _cache_a_dangling_link(out: Path) -> None:
    shutil.rmtree(out / ".cache")
    (out / ".cache").symlink_to(out / "nowhere")


def _stamps_are_folders(out: Path) -> None:
    for stamp in list((out / ".cache").iterdir()):
        stamp.unlink()
        stamp.mkdir()
        (stamp / "inside").write_text("x")


def _outputs_are_empty_folders(out: Path) -> None:
    for suffix in (".pdf", ".tex", ".log"):
        (out / f"{NAME}{suffix}").unlink()
        (out / f"{NAME}{suffix}").mkdir()


def _stamps_truncated(out: Path) -> None:
    for stamp in (out / ".cache").iterdir():
        stamp.write_bytes(b"")


DAMAGE: dict[str, Callable[[Path], None]] = {
    "0xff byte in the stamps": _byte_ff,
    ".cache is a file": _cache_a_file,
    ".cache is a dangling link": _cache_a_dangling_link,
    "the stamps are folders": _stamps_are_folders,
    "the outputs are empty folders": _outputs_are_empty_folders,
    "the stamps are empty": _stamps_truncated,
}


@pytest.fixture(scope="module")
def built_once(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cached build (and a second build that answered from the cache), made once for the
    module; each test damages a copy of it."""
    folder = tmp_path_factory.mktemp("cached")
    with pytest.MonkeyPatch.context() as patch:
        faketex.install(folder / "bin", patch, faketex.GOOD)
        out = folder / "out"
        assert build_book_cached(out, lang="en").ran_tex
        assert not build_book_cached(out, lang="en").ran_tex
    return out


@pytest.fixture
def built(built_once: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    faketex.install(tmp_path / "bin", monkeypatch, faketex.GOOD)
    out = tmp_path / "out"
    shutil.copytree(built_once, out, symlinks=True)
    return out


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_cache_is_rebuilt_and_repaired(built: Path, damage: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from dlexam.cli import main

    DAMAGE[damage](built)
    assert main(["book", "--lang", "en", "--out", str(built)]) == 0
    out, err = capsys.readouterr()
    assert err == "" and "TeX ran 1 pass" in out
    for suffix in (".pdf", ".tex", ".log"):
        assert (built / f"{NAME}{suffix}").is_file()
    assert (built / ".cache").is_dir() and not (built / ".cache").is_symlink()
    # repaired: the next build answers from the cache
    assert main(["book", "--lang", "en", "--out", str(built)]) == 0
    assert "unchanged, TeX not run" in capsys.readouterr().out


def test_a_stale_stamp_of_another_language_is_a_miss(built: Path) -> None:
    report = build_book_cached(built, lang="bilingual")
    assert report.ran_tex
    assert any("\u4e00" <= ch <= "\u9fff" for ch in (built / f"{NAME}.tex").read_text("utf-8"))
    assert not build_book_cached(built, lang="bilingual").ran_tex


def test_cache_files_are_not_private(built: Path) -> None:
    mask = os.umask(0o022)
    os.umask(mask)
    for path in [*built.iterdir(), *(built / ".cache").iterdir()]:
        if path.is_file():
            assert path.stat().st_mode & 0o777 == 0o666 & ~mask, path
