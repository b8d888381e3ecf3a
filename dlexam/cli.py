"""The command line: ``dlexam solve``, ``dlexam book``, ``dlexam grade``, ``dlexam list``."""

from __future__ import annotations

import argparse
import gc
import json
import re
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any, NoReturn

from dlexam.build.files import check_book_outputs, check_output_folder, check_pdf_file
from dlexam.errors import (
    STOPPED,
    BuildError,
    DlexamError,
    InputError,
    Said,
    Terminated,
    said_in,
    set_stderr_lang,
)
from dlexam.langs import choices, codes, langs_for
from dlexam.literals import (  # noqa: F401 (parse_value: the tests read it here)
    parse_assignments,
    parse_value,
)
from dlexam.safeio import os_reason

# SymPy and the templates are imported inside the commands that need them, so that an
# unchanged `dlexam book` answers from its cache without paying for those imports.

EXIT_INPUT = 2
EXIT_WRONG = 1  # dlexam check: a given value is wrong
EXIT_BUILD = 1
EXIT_TERMINATED = 128 + signal.SIGTERM


def _seed(text: str) -> int:
    from dlexam.derivations.sampling import MAX_SEED

    stripped = text.strip()
    if not stripped.isdigit() or len(stripped) > 19 or int(stripped) > MAX_SEED:
        raise _type_error(Said("exam.errors.whole_from", low=0, high=MAX_SEED), text)
    return int(stripped)


_TYPE_SAID: list[Said] = []
"""The last option value a type function refused, said from the catalogs (argparse keeps only
its English text)."""


def _type_error(expected: Said, text: str) -> argparse.ArgumentTypeError:
    said = Said("cli.usage.expected_got", expected=expected, got=repr(text[:40]))
    _TYPE_SAID[:] = [said]
    return argparse.ArgumentTypeError(str(said))


def _figures(text: str) -> int:
    """A whole number of figures or decimals (its range is checked with the pair)."""
    stripped = text.strip()
    if not stripped.isdigit() or len(stripped) > 4:
        raise _type_error(Said("cli.usage.whole_number"), text)
    return int(stripped)


def _add_precision(parser: argparse.ArgumentParser) -> None:
    """--sig-figs N / --decimals N: the precision the question states."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--sig-figs", type=_figures, default=None, metavar="N",
                       help="the question asks for N significant figures: a value rounded to "
                            "them is right too")
    group.add_argument("--decimals", type=_figures, default=None, metavar="N",
                       help="the question asks for N decimal places: a value rounded to them "
                            "is right too")


def _precision(args: argparse.Namespace) -> Any:
    from dlexam.derivations.contract import precision_of

    return precision_of(args.sig_figs, args.decimals, ("--sig-figs", "--decimals"))


class _UsageError(Exception):
    """A command line argparse rejects; its message is one line."""


# argparse's own messages (Python 3.11 to 3.13), said from the catalogs
_USAGE = [
    (re.compile(r"the following arguments are required: (?P<names>.+)"), "cli.usage.required"),
    (re.compile(r"unrecognized arguments: (?P<args>.+)"), "cli.usage.unrecognized"),
    (re.compile(r"argument (?P<name>[^:]+): invalid choice: (?P<value>.+?) "
                r"\(choose from (?P<choices>.+)\)"), "cli.usage.invalid_choice"),
    (re.compile(r"argument (?P<name>[^:]+): expected one argument"), "cli.usage.one_argument"),
    (re.compile(r"argument (?P<name>[^:]+): not allowed with argument (?P<other>.+)"),
     "cli.usage.not_allowed"),
    (re.compile(r"argument (?P<name>[^:]+): invalid (?P<kind>\w+) value: (?P<value>.+)"),
     "cli.usage.invalid_value"),
]


def _usage_said(message: str, argv: Sequence[str]) -> str:
    """argparse's one-line message in the language --lang names (English without it)."""
    lang = "en"
    args = list(argv)
    for i, arg in enumerate(args):
        choice = args[i + 1] if arg == "--lang" and i + 1 < len(args) else (
            arg.split("=", 1)[1] if arg.startswith("--lang=") else None)
        if choice is not None:
            try:
                lang = langs_for(choice)[0]
            except InputError:
                pass
    typed = re.match(r"argument (?P<name>[^:]+): ", message)
    if typed and _TYPE_SAID and message.endswith(str(_TYPE_SAID[0])):
        return Said("cli.usage.argument", name=typed["name"], message=_TYPE_SAID[0]).said_in(lang)
    for pattern, key in _USAGE:
        match = pattern.fullmatch(message)
        if match:
            return Said(key, **match.groupdict()).said_in(lang)
    return message


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad command line gives the one-line error every dlexam error gives.

    The usage is shown by ``--help``, not after every mistake.
    """

    def error(self, message: str) -> NoReturn:
        """Raises the one-line error instead of printing the usage and exiting."""
        raise _UsageError(message)


_Terminated = Terminated


def _on_sigterm(signum: int, _frame: object) -> None:
    STOPPED.append(signum)
    raise _Terminated(signum)


def _on_sigint(signum: int, _frame: object) -> None:
    STOPPED.append(signum)
    raise KeyboardInterrupt


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="dlexam",
        description="Derive, check and typeset the answers to deep-learning exam questions.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    solve = sub.add_parser("solve", help="run one derivation with your numbers")
    solve.add_argument("name", help="the derivation (see 'dlexam list')")
    solve.add_argument("params", nargs="*", metavar="key=value",
                       help="parameters; values are JSON literals, a bare word is a string")
    solve.add_argument("--json", action="store_true", help="print one JSON object")
    solve.add_argument("--lang", choices=choices(), default="bilingual",
                       help="the sheet's language(s); the terminal shows the first (default "
                            "bilingual: English and Traditional Chinese)")
    solve.add_argument("--pdf", metavar="FILE",
                       help="also write an answer sheet in --lang to FILE")
    solve.add_argument("--mistake", metavar="ID",
                       help="derive as a student who makes this named mistake (see 'dlexam show')")

    check = sub.add_parser("check", help="check your hand-derived values against a derivation")
    check.add_argument("name", nargs="?", help="the derivation (see 'dlexam list')")
    check.add_argument("params", nargs="*", metavar="key=value",
                       help="the question's parameters, as solve takes them")
    check.add_argument("--exam", metavar="EXAM",
                       help="check a whole exam: the built-in final2023 or an exam file; the "
                            "positional argument is then your answers file (TOML)")
    check.add_argument("--template", action="store_true",
                       help="with --exam: print an empty answers file to fill in")
    check.add_argument("--pdf", metavar="FILE",
                       help="with --exam: also write the report to FILE, in --lang")
    check.add_argument("--batch", metavar="FILE.jsonl",
                       help='one request a line: {"derivation", "params", "answers"}; '
                            "one verdict object a line out ('-': standard input)")
    check.add_argument("-a", "--answer", action="append", default=[], metavar="ANSWER=VALUE",
                       help="one of your values: y=[1.4588, 2.7371], y[2]=2.7371, "
                            "h[2][1]=0.9898 (repeat -a)")
    check.add_argument("--json", action="store_true", help="print one JSON object")
    check.add_argument("--lang", choices=choices(), default=None,
                       help="the terminal's language (the first of a pair; default en) and "
                            "the --pdf report's (default bilingual)")
    _add_precision(check)

    practice = sub.add_parser("practice", help="practise a sampled question in the terminal")
    practice.add_argument("name", help="the derivation (see 'dlexam list')")
    practice.add_argument("--seed", type=_seed, default=None,
                          help="a whole number >= 0 (default: a new question each time)")
    practice.add_argument("--lang", choices=codes(), default="en")
    _add_precision(practice)

    show = sub.add_parser("show", help="a derivation's parameters, answers and named mistakes")
    show.add_argument("name", help="the derivation (see 'dlexam list')")
    show.add_argument("--lang", choices=codes(), default="en")

    sample = sub.add_parser("sample", help="a seeded exam question for a derivation")
    sample.add_argument("name", help="the derivation (see 'dlexam list')")
    sample.add_argument("params", nargs="*", metavar="key=value",
                        help="parameters to hold fixed")
    sample.add_argument("--seed", type=_seed, required=True, help="a whole number >= 0")
    sample.add_argument("--json", action="store_true", help="print one JSON object")
    sample.add_argument("--lang", choices=codes(), default="en")

    book = sub.add_parser("book", help="build the answer book PDF")
    book.add_argument("--lang", choices=choices(), default="bilingual")
    book.add_argument("--out", default="out", metavar="FOLDER",
                      help="output folder (default out)")

    grade = sub.add_parser("grade", help="grade a class: key.json and the students' answers "
                                         "-> grades.csv, grades.json, report.pdf")
    grade.add_argument("key", metavar="KEY.json", help="the key written by 'dlexam exam'")
    grade.add_argument("submissions", metavar="SUBMISSIONS.csv",
                       help="a row per student: student, variant, then one column per asked "
                            "answer (q4.y[2])")
    grade.add_argument("--out", default="out", metavar="DIR", help="output folder (default out)")
    grade.add_argument("--lang", choices=choices(), default="bilingual",
                       help="the report's language(s); the mistakes' messages in grades.json "
                            "are in the first")
    grade.add_argument("--no-pdf", action="store_true",
                       help="write grades.csv and grades.json only")
    grade.add_argument("--review", metavar="FILE",
                       help="also write FILE: a CSV row (student, item, text, reason) for every "
                            "answer unreadable or wrong without a named mistake")
    grade.add_argument("--overrides", metavar="FILE",
                       help="a CSV (student,item,points,note) of your decisions on single "
                            "answers: applied, and recorded in grades.json")

    listing = sub.add_parser("list", help="list the derivations")
    listing.add_argument("--lang", choices=codes(), default="en")

    exam = sub.add_parser("exam", help="seeded variants of an exam file: question papers, "
                          "answer keys, key.json and moodle.xml")
    exam.add_argument("file", help="the exam file (.toml)")
    exam.add_argument("--variants", type=int, required=True, metavar="N",
                      help="how many variants (1 to 1000)")
    exam.add_argument("--seed", type=_seed, required=True, help="a whole number >= 0")
    exam.add_argument("--out", default="out/exam", metavar="FOLDER",
                      help="output folder (default out/exam)")
    exam.add_argument("--lang", choices=choices(), default=None,
                      help="the papers' language(s), in place of the exam file's lang")
    exam.add_argument("--no-pdf", action="store_true",
                      help="write only key.json and moodle.xml")
    exam.add_argument("--formats", metavar="LIST",
                      help="the outputs, comma-separated: papers, keys, json, moodle (default: "
                      "all; --no-pdf: json, moodle)")

    serve = sub.add_parser("serve", help="the web pages and the JSON API (a local web server)")
    serve.add_argument("--host", default="127.0.0.1",
                       help="the address to listen on (default 127.0.0.1: this machine only; "
                            "0.0.0.0: every interface)")
    serve.add_argument("--port", type=_port, default=8000, help="default 8000 (0: a free one)")
    serve.add_argument("--workers", type=_workers, default=2, metavar="N",
                       help="processes that run the derivations (1 to 64, default 2)")
    serve.add_argument("--timeout", type=_seconds, default=10.0, metavar="SECONDS",
                       help="a request's time limit (default 10)")
    serve.add_argument("--lang", choices=codes(), default="en",
                       help="the terminal's language (each page has its own choice)")
    return parser


def _port(text: str) -> int:
    stripped = text.strip()
    if not stripped.isdigit() or len(stripped) > 5 or int(stripped) > 65535:
        raise _type_error(Said("cli.usage.port"), text)
    return int(stripped)


def _workers(text: str) -> int:
    stripped = text.strip()
    if not stripped.isdigit() or not 1 <= int(stripped[:3]) <= 64 or len(stripped) > 2:
        raise _type_error(Said("exam.errors.whole_from", low=1, high=64), text)
    return int(stripped)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.1 <= value <= 600:
        raise _type_error(Said("cli.usage.seconds"), text)
    return value


def _cmd_serve(args: argparse.Namespace) -> int:
    from dlexam.web.serve import serve

    return serve(args.host, args.port, args.workers, queue=64 * args.workers,
                 timeout=args.timeout, lang=args.lang)


def _cmd_solve(args: argparse.Namespace) -> int:
    pdf = None if args.pdf is None else check_pdf_file(args.pdf)  # before SymPy is imported
    from dlexam import derivations, render

    derivation = derivations.get(args.name)
    params = parse_assignments(args.params, derivation.json_depths)
    result = derivation.run(params, mistake=args.mistake)
    if args.json:
        print(json.dumps(result.as_dict(), ensure_ascii=False))
    else:
        print(render.render_text(result, langs_for(args.lang)[0]))
    if pdf is not None:
        from dlexam.build.sheet import build_sheet

        written = build_sheet(result, pdf, args.lang)
        print(Said("cli.summary.wrote", path=str(written)).said_in(langs_for(args.lang)[0]),
              file=sys.stderr)
    return 0


def _cmd_book(args: argparse.Namespace) -> int:
    out = check_output_folder(args.out)
    check_book_outputs(out)
    from dlexam.book.fastpath import build_book_cached

    report = build_book_cached(out, lang=args.lang)
    lang = langs_for(args.lang)[0]
    what = (Said("cli.summary.tex_ran", n=report.passes, passes=Said(
        "cli.summary.pass" if report.passes == 1 else "cli.summary.passes")) if report.ran_tex
            else Said("cli.summary.unchanged"))
    print(Said("cli.summary.wrote_book", pdf=str(report.pdf), what=what,
               seconds=f"{report.seconds:.2f}").said_in(lang))
    return 0


def parse_answers(items: Sequence[str]) -> dict[str, str]:
    """``["y[2]=2.7371"]`` -> ``{"y[2]": "2.7371"}`` (the text is read later, never run)."""
    answers: dict[str, str] = {}
    for item in items:
        ref, sep, value = item.partition("=")
        ref = ref.strip()
        if not sep or not ref:
            raise InputError(f"-a {item[:40]}", Said("cli.errors.answer_form"))
        if ref in answers:
            raise InputError(f"-a {ref[:40]}", Said("cli.errors.answer_once"),
                             Said("cli.errors.twice"))
        answers[ref] = value
    if not answers:
        raise InputError("-a", Said("cli.errors.one_answer"))
    return answers


def _cmd_check(args: argparse.Namespace) -> int:
    # the report PDF in the choice given (bilingual by default), the terminal in its first
    args.pdf_lang = args.lang or "bilingual"
    args.lang = langs_for(args.lang or "en")[0]
    from dlexam import derivations
    from dlexam.check.report import report_json, report_text
    from dlexam.check.verdicts import check

    if (args.batch is not None or args.exam is not None) and (
            args.sig_figs is not None or args.decimals is not None):
        raise InputError("--sig-figs" if args.sig_figs is not None else "--decimals",
                         Said("cli.errors.precision_where"))
    if args.batch is not None:
        if args.exam is not None or args.template or args.pdf is not None:
            which = "--exam" if args.exam is not None else (
                "--template" if args.template else "--pdf")
            raise InputError("--batch", Said("cli.errors.batch_no", option=which))
        return _check_batch(args)
    if args.exam is not None:
        return _check_exam(args)
    if args.template or args.pdf is not None:
        raise InputError("--template" if args.template else "--pdf",
                         Said("cli.errors.exam_as_well"))
    if args.name is None:
        raise InputError("check", Said("cli.errors.check_name"))
    derivation = derivations.get(args.name)
    params = parse_assignments(args.params, derivation.json_depths)
    answers = parse_answers(args.answer)
    report = check(derivation, params, answers, _precision(args))
    if args.json:
        print(json.dumps(report_json(report, args.lang), ensure_ascii=False))
    else:
        print(report_text(report, args.lang))
    return 0 if report.correct == report.total else EXIT_WRONG


def _check_exam(args: argparse.Namespace) -> int:
    from dlexam.check import exam as exam_check
    from dlexam.exams.model import load_exam

    if args.params or args.answer:
        raise InputError("--exam", Said("cli.errors.answers_only"))
    pdf = check_pdf_file(args.pdf) if args.pdf is not None else None
    exam = load_exam(args.exam)
    if args.template:
        if args.name is not None:
            raise InputError("--template", Said("cli.errors.template_no_file"))
        print(exam_check.template(exam, lang=args.lang), end="")
        return 0
    if args.name is None:
        raise InputError("--exam", Said("cli.errors.answers_file"))
    answers = exam_check.read_answers(args.name)
    report = exam_check.check_exam(exam, answers, source=args.name)
    if args.json:
        print(json.dumps(exam_check.report_json(report, args.lang), ensure_ascii=False))
    else:
        print(exam_check.report_text(report, args.lang))
    if pdf is not None:
        from dlexam.check.report_pdf import build_report

        written = build_report(report, pdf, args.pdf_lang)
        print(Said("cli.summary.wrote", path=str(written)).said_in(args.lang), file=sys.stderr)
    right = all(result == "right" for q in report.questions for _ref, result in q.asked)
    return 0 if right else EXIT_WRONG


def _check_batch(args: argparse.Namespace) -> int:
    from dlexam.check.batch import run_batch

    if args.name is not None or args.params or args.answer:
        raise InputError("--batch", Said("cli.errors.batch_only"))
    if args.batch == "-":
        run_batch(sys.stdin.buffer, sys.stdout, args.lang)
        return 0
    from dlexam.safeio import open_regular

    with open_regular(args.batch, "batch file") as lines:
        try:
            run_batch(lines, sys.stdout, args.lang)
        except OSError as err:  # a file that opens but cannot be read (/proc/self/mem)
            if err.filename is not None or isinstance(err, BrokenPipeError):
                raise
            raise InputError(args.batch, Said("cli.errors.readable_batch"),
                             os_reason(err)) from None
    return 0


def _cmd_practice(args: argparse.Namespace) -> int:
    import secrets

    from dlexam import derivations
    from dlexam.check.practice import run_practice

    derivation = derivations.get(args.name)
    if derivation.sampler is None or not derivation.answers:
        raise InputError(args.name, Said("cli.errors.with_sampler"))
    seed = args.seed if args.seed is not None else secrets.randbelow(10**6)

    def say(line: str) -> None:
        print(line, flush=True)

    session = run_practice(derivation, seed, args.lang, input, say,
                           precision=_precision(args))
    if session.answered == 0:  # nothing answered (skipped, quit, or the input ended)
        print(Said("terminal.practice_no_answer").said_in(args.lang), file=sys.stderr)
        return EXIT_WRONG
    return 0 if session.passed else EXIT_WRONG


def _cmd_show(args: argparse.Namespace) -> int:
    from dlexam import derivations
    from dlexam.render.describe import show_text

    print(show_text(derivations.get(args.name), args.lang))
    return 0


def _cmd_sample(args: argparse.Namespace) -> int:
    from dlexam import derivations
    from dlexam.render.describe import sample_json, sample_text

    derivation = derivations.get(args.name)
    fixed = parse_assignments(args.params, derivation.json_depths)
    params = derivation.sample(args.seed, fixed)
    assert params is not None  # without ``keep`` a draw is never refused
    if args.json:
        print(json.dumps(sample_json(derivation, args.seed, params, args.lang),
                         ensure_ascii=False))
    else:
        print(sample_text(derivation, args.seed, params, args.lang))
    return 0


def _cmd_exam(args: argparse.Namespace) -> int:
    out = check_output_folder(args.out)
    from dlexam.exams.build import Progress, build_exam, output_folder
    from dlexam.exams.variants import fairness_line, redrawn_line

    output_folder(out).check()

    count = args.variants
    report = build_exam(args.file, count, args.seed, out, pdf=not args.no_pdf,
                        progress=Progress(count, "exam"), formats=args.formats,
                        lang=args.lang)
    lang = report.drawn.exam.langs[0]  # the papers' (first) language
    for reason, n in sorted(report.drawn.redrawn.items()):
        print(redrawn_line(reason, n, lang), file=sys.stderr)
    for row in report.drawn.fairness():
        print(fairness_line(row, lang), file=sys.stderr)
    drawn = len(report.drawn.variants)
    print(Said("cli.summary.wrote_exam", files=len(report.files), out=str(out), variants=drawn,
               variants_word=Said("exam.summary.variant" if drawn == 1
                                  else "exam.summary.variants"),
               seconds=f"{report.seconds:.2f}").said_in(lang))
    return 0


def _cmd_grade(args: argparse.Namespace) -> int:
    from pathlib import Path

    out = check_output_folder(args.out)
    from dlexam.grade.outputs import output_folder
    from dlexam.grade.run import run_grade

    output_folder(out).check()

    review = None
    if args.review is not None:
        review = Path(args.review)
        if review.is_dir() or not (review.parent if str(review.parent) else Path(".")).is_dir():
            raise InputError("--review", Said("cli.errors.review_file"), args.review[:80])
    summary = run_grade(Path(args.key), Path(args.submissions), out, lang=args.lang,
                        pdf=not args.no_pdf, review=review,
                        overrides=None if args.overrides is None else Path(args.overrides))
    print(said_in(summary, langs_for(args.lang)[0]))
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    from dlexam import derivations, render

    for name in derivations.names():
        summary = render.prose_text(args.lang, derivations.get(name).summary_key)
        print(f"{name:24} {summary}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the exit status.

    SIGTERM and SIGHUP are handled as Ctrl-C is: a running TeX and everything it started are
    killed, forked workers stopped and temporary folders removed before dlexam exits.
    """
    previous = {}
    if threading.current_thread() is threading.main_thread():
        STOPPED.clear()
        for signum in (signal.SIGTERM, signal.SIGHUP):
            previous[signum] = signal.signal(signum, _on_sigterm)
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            previous[signal.SIGINT] = signal.signal(signal.SIGINT, _on_sigint)
    try:
        return _main(argv)
    except _Terminated as stop:
        return 128 + (stop.args[0] if stop.args else signal.SIGTERM)
    finally:
        set_stderr_lang("en")  # the next command (a test, the API) sets its own
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if argv is None:  # the program itself, about to exit
            # the exit's last garbage collection would walk every SymPy object made (0.7 s
            # after a book); frozen, they are left to the exit
            gc.freeze()


def _error_lang(args: argparse.Namespace) -> str:
    """The language an error is said in: the command's --lang (the first of a pair), else an
    exam file's own lang (dlexam exam), else English."""
    choice = getattr(args, "lang", None)
    if choice is None and getattr(args, "command", None) == "exam":
        from dlexam.exams.model import file_lang

        choice = file_lang(args.file)
    try:
        return langs_for(choice or "en")[0]
    except InputError:
        return "en"


def _main(argv: Sequence[str] | None) -> int:
    parser = _parser()
    try:
        args, extra = parser.parse_known_args(argv)
        # key=value pairs may also come after the options (`solve NAME --json x=[1, 2]`)
        if extra and hasattr(args, "params") and not any(e.startswith("-") for e in extra):
            args.params += extra
        elif extra:
            parser.error("unrecognized arguments: " + " ".join(extra))
    except _UsageError as err:
        said = _usage_said(str(err), sys.argv[1:] if argv is None else argv)
        print(f"dlexam: error: {said}", file=sys.stderr)
        return EXIT_INPUT
    except SystemExit as done:  # --help
        return done.code if isinstance(done.code, int) else 0
    commands = {"solve": _cmd_solve, "book": _cmd_book, "list": _cmd_list,
                "show": _cmd_show, "sample": _cmd_sample, "check": _cmd_check,
                "practice": _cmd_practice, "exam": _cmd_exam, "grade": _cmd_grade,
                "serve": _cmd_serve}
    set_stderr_lang(_error_lang(args))  # notes while it works ("stopped") in --lang
    try:
        return commands[args.command](args)
    except BuildError as err:
        said = Said("cli.build_failed", error=err.args[0] if err.args else str(err))
        print(f"dlexam: {said.said_in(_error_lang(args))}", file=sys.stderr)
        return EXIT_BUILD
    except DlexamError as err:
        # said in the command's language (the first of a pair), English without --lang
        lang = _error_lang(args)
        said = err.said_in(lang) if isinstance(err, InputError) else said_in(
            err.args[0] if err.args else str(err), lang)
        print(f"dlexam: error: {said}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # e.g. `dlexam solve ... | head`
        sys.stderr.close()
        return 0
    except OSError as err:  # the disk filled, a folder changed under us: one line, no traceback
        where = f" {err.filename}" if err.filename else ""
        said = Said("cli.build_failed", error=Said("cli.errors.cannot_write_os", where=where,
                                                   why=os_reason(err)))
        print(f"dlexam: {said.said_in(_error_lang(args))}", file=sys.stderr)
        return EXIT_BUILD


if __name__ == "__main__":
    sys.exit(main())
