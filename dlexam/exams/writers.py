"""The outputs of ``dlexam exam``, each a writer registered by name over the built variants.

A writer turns the variants (:class:`~dlexam.exams.variants.Drawn`) into files, in two parts:
``prepare`` runs in the main process, one writer after the other (it may fork workers, and it
may leave what another writer can reuse in ``shared``: the keys reuse the papers' statements;
the papers and keys start their TeX runs here, which read the source as it is rendered);
``write`` turns what ``prepare`` gave into ``{relative path: bytes}`` and may run in a thread
beside the other writers' (it waits for the TeX runs). A new output format
is a writer registered here (or by the module that defines it) with its template and its test;
the builder is not edited. ``dlexam exam --formats papers,keys,json,moodle`` chooses them.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from dlexam.exams.variants import Drawn

Files = dict[str, bytes]


@dataclass(frozen=True)
class Writer:
    """An output format: its name, what it writes (for ``--help``), whether it runs TeX, and its
    two parts (see the module's docstring)."""

    name: str
    summary: str
    prepare: Callable[[Drawn, dict[str, Any]], Any]
    write: Callable[[Any], Files]
    tex: bool = False


WRITERS: dict[str, Writer] = {}
"""The registered writers, by name, in the order they were registered."""


def register(writer: Writer) -> Writer:
    """Registers a writer under its name (a second writer of one name is a bug)."""
    if writer.name in WRITERS:
        raise ValueError(f"an exam writer named {writer.name!r} is registered already")
    WRITERS[writer.name] = writer
    return writer


def key_json(drawn: Drawn) -> bytes:
    """``key.json``: UTF-8, keys in the documented order, one trailing newline."""
    return (json.dumps(drawn.key(), ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def _moodle(drawn: Drawn, shared: dict[str, Any]) -> bytes:
    from dlexam.exams.moodle import moodle_xml

    return moodle_xml(drawn)


def _document(kind: str) -> Callable[[Drawn, dict[str, Any]], Any]:
    def prepare(drawn: Drawn, shared: dict[str, Any]) -> Typesetting:
        from dlexam.build.tex import TexStream
        from dlexam.exams.papers import document_pieces

        texts = shared.setdefault("statements", {})  # the papers' statements, for the keys
        # TeX starts at once and typesets each variant as it is rendered (the keys' TeX while
        # the keys are still rendered, the papers' while the keys are): the PDF is the one the
        # whole source would give (TexStream)
        stream = TexStream(f"{kind}s")
        pieces = document_pieces(drawn, kind, texts)
        try:
            for piece in pieces:
                if stream.failed():  # finish says why
                    break
                stream.write(piece)
        except BaseException:
            stream.abort()
            raise
        finally:
            pieces.close()  # the keys' workers end now when their bodies are not all wanted
        return Typesetting(kind, [v.code for v in drawn.variants], stream)

    return prepare


@dataclass
class Typesetting:
    """A papers or keys TeX run under way (:func:`_compiled` waits for it)."""

    kind: str
    codes: list[str]
    stream: Any  # a TexStream

    def abort(self) -> None:
        """Stops TeX when it still runs and removes its folder."""
        self.stream.abort()


def _compiled(prepared: Typesetting) -> Files:
    """The combined PDF (``papers.pdf``) and one per variant (``papers/paper-<code>.pdf``)."""
    from pypdf import PdfReader

    from dlexam.exams.papers import split_pdf, variant_pages

    kind, codes = prepared.kind, prepared.codes
    run = prepared.stream.finish()
    pages = len(PdfReader(io.BytesIO(run.pdf)).pages)
    files = {f"{kind}s.pdf": run.pdf}
    for code, data in split_pdf(run.pdf, variant_pages(run.log, codes, pages)).items():
        files[f"{kind}s/{kind}-{code}.pdf"] = data
    return files


def _one(name: str) -> Callable[[bytes], Files]:
    return lambda data: {name: data}


register(Writer("papers", "papers.pdf and papers/paper-<code>.pdf, one question paper a variant",
                _document("paper"), _compiled, tex=True))
register(Writer("keys", "keys.pdf and keys/key-<code>.pdf, the worked answers of each variant",
                _document("key"), _compiled, tex=True))
register(Writer("json", "key.json, what 'dlexam grade' reads",
                lambda drawn, shared: key_json(drawn), _one("key.json")))
register(Writer("moodle", "moodle.xml, for Moodle's question bank",
                _moodle, _one("moodle.xml")))


def chosen(formats: str | None, pdf: bool = True) -> list[Writer]:
    """The writers a comma-separated list names (all of them when None; without ``pdf``, those
    that run no TeX).

    Raises:
        InputError: a name no writer has, or an empty list.
    """
    from dlexam.errors import InputError, Said

    if formats is None:
        return [w for w in WRITERS.values() if pdf or not w.tex]
    names = [n.strip() for n in formats.split(",")]
    unknown = [n for n in names if n not in WRITERS]
    if unknown or not any(names):
        raise InputError("--formats", Said("exam.errors.formats", items=", ".join(WRITERS)),
                         repr(unknown[0] if unknown else formats))
    return [WRITERS[n] for n in dict.fromkeys(names)]


def write_all(drawn: Drawn, writers: list[Writer],
              progress: Callable[[int], None] | None = None) -> Mapping[str, bytes]:
    """Every chosen writer's files, by relative path: the ``prepare`` parts one by one, then
    the ``write`` parts side by side (threads: the TeX runs wait on their processes). Each
    part done ticks ``progress`` once (two ticks a writer)."""
    tick = progress or (lambda _n: None)
    from concurrent.futures import ThreadPoolExecutor

    shared: dict[str, Any] = {}
    prepared: list[tuple[Writer, Any]] = []
    try:
        for w in writers:  # statements and keys rendered (papers and keys typeset meanwhile)
            prepared.append((w, w.prepare(drawn, shared)))
            tick(1)
        files: dict[str, bytes] = {}
        with ThreadPoolExecutor(max_workers=max(1, len(prepared))) as pool:
            for written in [pool.submit(w.write, p) for w, p in prepared]:  # TeX runs, files
                files.update(written.result())
                tick(1)
    finally:  # a TeX run a failure left running is stopped; each run's folder removed
        for _w, p in prepared:
            if isinstance(p, Typesetting):
                p.abort()
    return files
