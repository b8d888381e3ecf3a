"""`dlexam serve` over HTTP: the JSON API returns the command line's objects, bad input its
one-line messages, the limits hold (413, 503), and the pages show check's verdicts.

The command line's own output is the expected value here: the web application is a driver over
the same engine, and these tests prove it adds and loses nothing.
"""

from __future__ import annotations

import asyncio
import json
import re
import shlex
import time
import urllib.request
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from typing import Any

import pytest
from starlette.testclient import TestClient

from dlexam.cli import main
from dlexam.render.describe import command_line
from dlexam.web.app import CSP, MAX_BODY, create_app
from dlexam.web.workers import BusyError, TooSlowError, Workers

CliRun = Callable[..., Any]


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app(workers=2, queue=64, timeout=60)) as test_client:
        yield test_client


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> CliRun:
    """Runs the command line; returns its JSON object (status 0 or 1) or its error line."""
    def run(*argv: str) -> Any:
        code = main(list(argv))
        out, err = capsys.readouterr()
        if code == 2:
            return err.removeprefix("dlexam: error: ").rstrip("\n")
        assert code in (0, 1), (code, err)
        return json.loads(out)
    return run


def _args(params: dict[str, Any]) -> list[str]:
    """Parameters as ``key=value`` arguments, as `sample` prints them for `solve`."""
    return shlex.split(command_line("x", params))[3:]


SAMPLE = ("rnn-forward", 7)


def _sampled(client: TestClient) -> dict[str, Any]:
    name, seed = SAMPLE
    response = client.get(f"/api/sample?derivation={name}&seed={seed}")
    assert response.status_code == 200, response.text
    return response.json()


def test_sample_is_the_cli_object(client: TestClient, cli: CliRun) -> None:
    for lang in ("en", "zh-Hant"):
        got = client.get("/api/sample", params={"derivation": "rnn-forward", "seed": 7,
                                                 "lang": lang})
        assert got.status_code == 200
        assert got.json() == cli("sample", "rnn-forward", "--seed", "7", "--json",
                                 "--lang", lang)


def test_solve_is_the_cli_object(client: TestClient, cli: CliRun) -> None:
    params = _sampled(client)["params"]
    got = client.post("/api/solve", json={"derivation": "rnn-forward", "params": params})
    assert got.status_code == 200, got.text
    assert got.json() == cli("solve", "rnn-forward", *_args(params), "--json")
    mistaken = client.post("/api/solve", json={"derivation": "rnn-forward", "params": params,
                                               "mistake": "row-convention"})
    assert mistaken.json() == cli("solve", "rnn-forward", *_args(params), "--json",
                                  "--mistake", "row-convention")


def _typed_answers(client: TestClient, params: dict[str, Any]) -> list[dict[str, str]]:
    """A right answer, a named mistake's answer, and garbage, as a student types them."""
    right = client.post("/api/solve", json={"derivation": "rnn-forward", "params": params})
    wrong = client.post("/api/solve", json={"derivation": "rnn-forward", "params": params,
                                            "mistake": "row-convention"})
    y_right = right.json()["answers"]["y"]
    y_wrong = wrong.json()["answers"]["y"]
    assert y_right != y_wrong
    return [{"y[1]": f"{y_right[0]:.6f}", "y[2]": f"{y_right[1]:.6f}"},
            {"y[1]": f"{y_wrong[0]:.6f}", "y[2]": f"{y_wrong[1]:.6f}"},
            {"y[1]": "0.12", "h[2][1]": "1.5"}]


def test_every_check_is_the_cli_object(client: TestClient, cli: CliRun) -> None:
    params = _sampled(client)["params"]
    for answers in _typed_answers(client, params):
        for lang in ("en", "zh-Hant"):
            got = client.post("/api/check", json={"derivation": "rnn-forward",
                                                   "params": params, "answers": answers,
                                                   "lang": lang})
            assert got.status_code == 200, got.text
            argv = [f"-a{ref}={text}" for ref, text in answers.items()]
            assert got.json() == cli("check", "rnn-forward", *_args(params), *argv,
                                     "--json", "--lang", lang)


@pytest.mark.parametrize(("body", "argv"), [
    ({"derivation": "no-such", "answers": {"y": "1"}}, ["check", "no-such", "-a", "y=1"]),
    ({"derivation": "rnn-forward", "params": {"x": [1, "a"]}, "answers": {"y[1]": "1"}},
     ["check", "rnn-forward", 'x=[1, "a"]', "-a", "y[1]=1"]),
    ({"derivation": "rnn-forward", "answers": {"y[9]": "1"}},
     ["check", "rnn-forward", "-a", "y[9]=1"]),
    ({"derivation": "rnn-forward", "answers": {"y[1]": "__import__('os')"}},
     ["check", "rnn-forward", "-a", "y[1]=__import__('os')"]),
])
def test_bad_input_is_400_with_the_cli_message(client: TestClient, cli: CliRun,
                                               body: dict[str, Any], argv: list[str]) -> None:
    got = client.post("/api/check", json=body)
    assert got.status_code == 400
    assert got.json() == {"error": cli(*argv)}


@pytest.mark.parametrize(("method", "url", "body", "says"), [
    ("POST", "/api/check", b"{not json", "request: expected one JSON object, got malformed"),
    ("POST", "/api/check", b"[1, 2]", "request: expected one JSON object"),
    ("POST", "/api/check", b'{"derivation": "rnn-forward"}', "answers: expected a value"),
    ("POST", "/api/check", b'{"derivation": "rnn-forward", "answers": {"y": 1}, "x": 1}',
     "x: expected only the keys"),
    ("POST", "/api/check", b"\xff\xfe", "request: expected a body of UTF-8 JSON text"),
    ("POST", "/api/check", b"[" * 100 + b"]" * 100, "request: expected brackets nested"),
    ("POST", "/api/solve", b'{"derivation": "rnn-forward", "params": {"c": 1' + b"0" * 60
     + b"}}", "request: expected numbers of at most 40 characters"),
    ("POST", "/api/solve", b'{"derivation": "rnn-forward", "lang": "fr"}',
     "lang: expected one of en, zh-Hant"),
    ("GET", "/api/sample?derivation=rnn-forward&seed=-1", b"", "seed: expected a whole"),
    ("GET", "/api/sample?derivation=rnn-forward", b"", "seed: expected a whole number"),
])
def test_malformed_requests(client: TestClient, method: str, url: str, body: bytes,
                            says: str) -> None:
    got = client.request(method, url, content=body)
    assert got.status_code == 400, got.text
    assert set(got.json()) == {"error"}
    assert got.json()["error"].startswith(says), got.json()
    assert "Traceback" not in got.text


def test_derivations_list(client: TestClient, cli: CliRun, capsys: pytest.CaptureFixture[str]
                          ) -> None:
    got = client.get("/api/derivations").json()
    main(["list"])
    listed = capsys.readouterr().out.splitlines()
    assert [row["name"] for row in got] == [line.split()[0] for line in listed]
    assert all(row["summary"] in line for row, line in zip(got, listed, strict=True))


def test_a_body_past_the_limit_is_413(client: TestClient) -> None:
    big = b'{"derivation": "rnn-forward", "answers": {"y": "' + b"1" * MAX_BODY + b'"}}'
    got = client.post("/api/check", content=big)
    assert got.status_code == 413
    assert "at most 262,144 bytes" in got.json()["error"]

    def chunks() -> Iterator[bytes]:  # no content-length: counted as it arrives
        for _ in range(5):
            yield b" " * (MAX_BODY // 4)

    got = client.post("/api/check", content=chunks())
    assert got.status_code == 413


def test_past_the_time_limit_is_503() -> None:
    with TestClient(create_app(workers=1, queue=4, timeout=0.001)) as slow:
        got = slow.post("/api/solve", json={"derivation": "rnn-forward"})
        assert got.status_code == 503
        assert "time limit" in got.json()["error"]


def test_the_pool_replaces_a_stuck_worker_and_refuses_past_its_queue() -> None:
    async def scenario() -> None:
        pool = Workers(1, 0, 0.5)
        await pool.start()
        try:
            with pytest.raises(TooSlowError):
                await pool.call("time", "sleep", 5)
            assert await pool.call("math", "hypot", 3, 4) == 5.0  # a fresh worker
            pool.timeout = 5
            first = asyncio.ensure_future(pool.call("time", "sleep", 0.5))
            await asyncio.sleep(0.1)
            with pytest.raises(BusyError):
                await pool.call("math", "hypot", 3, 4)
            await first
        finally:
            await pool.close()

    asyncio.run(scenario())


class _Page(HTMLParser):
    """The scripts, inline handlers and verdicts of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.handlers: list[str] = []
        self.verdicts: list[dict[str, Any]] = []
        self.inputs: list[dict[str, str | None]] = []
        self.labels = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = dict(attrs)
        if tag == "script":
            self.scripts.append(attr)
        self.handlers += [k for k in attr if k.startswith("on")]
        if attr.get("data-verdict"):
            self.verdicts.append(json.loads(attr["data-verdict"]))
        if tag == "input":
            self.inputs.append(attr)


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


@pytest.mark.parametrize("url", ["/", "/q/rnn-forward?seed=7", "/solve/rnn-forward",
                                 "/practice?derivation=rnn-forward&seed=3", "/exam",
                                 "/?lang=zh-Hant", "/q/self-attention?seed=2&lang=zh-Hant"])
def test_pages_have_no_inline_script_and_a_strict_csp(client: TestClient, url: str) -> None:
    got = client.get(url)
    assert got.status_code == 200, got.text
    assert got.headers["content-security-policy"] == CSP
    assert "script-src 'self';" in CSP and "unsafe-inline" not in CSP.split("script-src")[1] \
        .split(";")[0]
    page = _parse(got.text)
    assert page.scripts and all(s.get("src") for s in page.scripts)
    assert page.handlers == []
    assert "http://" not in got.text and "https://" not in got.text  # nothing from elsewhere


def test_the_question_page_shows_the_cli_verdicts(client: TestClient, cli: CliRun) -> None:
    params = _sampled(client)["params"]
    for answers in _typed_answers(client, params):
        got = client.post("/q/rnn-forward?lang=en", data={"seed": "7", **answers})
        assert got.status_code == 200
        expected = cli("check", "rnn-forward", *_args(params),
                       *[f"-a{r}={t}" for r, t in answers.items()], "--json")
        assert _parse(got.text).verdicts == expected["verdicts"]


def test_typed_text_is_escaped(client: TestClient) -> None:
    got = client.post("/q/rnn-forward", data={"seed": "7", "y[1]": "<script>alert(1)</script>"})
    assert got.status_code == 200
    assert "<script>alert" not in got.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in got.text


def test_languages_and_a_bad_one(client: TestClient) -> None:
    assert "繁體中文" in client.get("/").text
    assert "<h2>遞迴神經網路</h2>" in client.get("/?lang=zh-Hant").text
    zh = client.get("/q/rnn-forward?seed=7&lang=zh-Hant").text
    assert "題目" in zh and 'lang="zh-Hant"' in zh
    bad = client.get("/?lang=xx")
    assert bad.status_code == 400
    assert "lang: expected one of en, zh-Hant" in bad.text


def test_a_refused_request_is_said_in_the_pages_language(client: TestClient) -> None:
    """A worker's refusal reaches the error page in the page's language (issue 21)."""
    en = client.get("/solve/rnn-forward?W=[[1,2],[3]]")
    zh = client.get("/solve/rnn-forward?W=[[1,2],[3]]&lang=zh-Hans")
    bad = client.get("/q/rnn-forward?seed=abc&lang=zh-Hant")
    assert "expected" in en.text and "expected" not in zh.text
    assert "应为" in zh.text
    assert bad.status_code == 400 and "應為" in bad.text and "expected" not in bad.text


def test_every_field_has_a_label(client: TestClient) -> None:
    for url in ("/q/rnn-forward?seed=7", "/solve/rnn-forward", "/exam",
                "/practice?derivation=rnn-forward&seed=3"):
        text = client.get(url).text
        for field in _parse(text).inputs:
            if field.get("type") == "hidden":
                continue
            labelled = field.get("aria-label") or (
                field.get("id") and re.search(f'<label for="{field["id"]}"', text))
            assert labelled, (url, field)


def test_katex_is_served_by_dlexam(client: TestClient) -> None:
    got = client.get("/katex/katex.min.js")
    assert got.status_code == 200 and "katex" in got.text[:2000].lower()
    assert client.get("/katex/fonts/KaTeX_Main-Regular.woff2").status_code == 200
    assert client.get("/katex/../../../etc/passwd").status_code == 404
    assert client.get("/katex/fonts/../../../etc/passwd").status_code == 404


def _start(*argv: str) -> tuple[Any, str]:
    import os
    import subprocess
    import sys

    process = subprocess.Popen([sys.executable, "-m", "dlexam", "serve", "--port", "0", *argv],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert process.stdout is not None
    first = process.stdout.readline()
    found = re.search(r"serving on (http://\S+)", first)
    assert found, first
    url = found.group(1).replace("0.0.0.0", "127.0.0.1")
    for _ in range(150):  # the workers start with the application
        try:
            with urllib.request.urlopen(url + "/api/derivations", timeout=10) as reply:
                assert reply.status == 200
                break
        except OSError:
            time.sleep(0.2)
    else:
        process.kill()
        pytest.fail("the server did not answer")
    return process, found.group(1)


def test_serve_prints_its_address_and_stops_on_ctrl_c() -> None:
    import signal

    process, url = _start("--workers", "1")
    assert url.startswith("http://127.0.0.1:")
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "dlexam: stopped" in out
    assert "Traceback" not in err and "all interfaces" not in err


def test_serve_says_when_it_listens_on_all_interfaces() -> None:
    import signal

    process, url = _start("--host", "0.0.0.0")
    process.send_signal(signal.SIGINT)
    _out, err = process.communicate(timeout=30)
    assert url.startswith("http://0.0.0.0:")
    assert "listening on all interfaces" in err
    assert "Traceback" not in err


def test_serve_refuses_a_port_in_use(input_error: Callable[[list[str]], str]) -> None:
    from dlexam.web.serve import bind

    taken = bind("127.0.0.1", 0)
    try:
        port = taken.getsockname()[1]
        message = input_error(["serve", "--port", str(port)])
        assert message.startswith(f"--port: expected a port free to listen on, got {port}")
    finally:
        taken.close()
    assert input_error(["serve", "--port", "70000"]).startswith(
        "argument --port: expected a port from 0 to 65535")


def test_the_exam_page_shows_fairness_paper_and_key(client: TestClient, cli: CliRun,
                                                    tmp_path: Any) -> None:
    import tempfile
    from pathlib import Path

    uploads = set(Path(tempfile.gettempdir()).glob("dlexam-upload-*"))
    quiz = Path(__file__).resolve().parents[1] / "examples" / "quiz3.toml"
    got = client.post("/exam?lang=en", data={"seed": "1"},
                      files={"file": ("quiz3.toml", quiz.read_bytes(), "application/toml")})
    assert got.status_code == 200, got.text
    assert "different answers in 20 variants" in got.text
    assert "Variant 1: the paper" in got.text and "Variant 1: the key" in got.text
    assert "\\tanh" in got.text  # the statement's mathematics, typeset by the page
    bad = tmp_path / "broken.toml"
    bad.write_text("[exam]\nx = 1\n")
    said = cli("exam", str(bad), "--variants", "2", "--seed", "1", "--out",
               str(tmp_path / "out"))
    got = client.post("/exam", data={"seed": "1"},
                      files={"file": ("broken.toml", bad.read_bytes(), "application/toml")})
    assert got.status_code == 400
    assert said.startswith(f"{bad}: ")
    assert said.removeprefix(f"{tmp_path}/") in got.text
    assert "dlexam-upload-" not in got.text
    assert set(Path(tempfile.gettempdir()).glob("dlexam-upload-*")) <= uploads  # removed


@pytest.mark.tex
def test_the_solve_page_links_its_pdf_sheet(client: TestClient) -> None:
    import io

    from pypdf import PdfReader

    page = client.get("/solve/clip-gradient?g=[6,-8]&threshold=5")
    assert page.status_code == 200
    href = re.search(r'href="(/solve/clip-gradient/sheet\.pdf\?[^"]+)"', page.text)
    assert href, page.text
    pdf = client.get(href.group(1).replace("&amp;", "&"))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "scale: 0.5" in text and "norm_after: 5" in text  # g = (6, -8) clipped to norm 5


def _sampled_names() -> list[str]:
    from dlexam import derivations

    return [n for n in derivations.names()
            if derivations.get(n).sampler is not None and derivations.get(n).answers]


@pytest.mark.slow
@pytest.mark.parametrize("name", _sampled_names())
def test_every_derivation_checks_as_the_cli_does(client: TestClient, cli: CliRun,
                                                 name: str) -> None:
    """A right answer and each of the first two named mistakes' answers, typed as a student
    types them, on a sampled question: the API's verdicts are check --json's."""
    from dlexam import derivations

    derivation = derivations.get(name)
    params = client.get("/api/sample", params={"derivation": name, "seed": 11}).json()["params"]
    args = _args(params)
    typed = []
    said = []
    for mistake in [None, *[m.id for m in derivation.mistakes][:2]]:
        body: dict[str, Any] = {"derivation": name, "params": params}
        if mistake is not None:
            body["mistake"] = mistake
        solved = client.post("/api/solve", json=body)
        said.append((mistake, solved.status_code, solved.text[:300]))
        if solved.status_code != 200:  # a mistake that does not apply to these parameters
            continue
        answers = solved.json()["answers"]
        asked = [a.name for a in derivation.answers if a.asked and a.name in answers]
        if asked:
            value = answers[asked[0]]
            typed.append({asked[0]: value if isinstance(value, str) else json.dumps(value)})
    assert typed, said
    for answers in typed:
        got = client.post("/api/check", json={"derivation": name, "params": params,
                                               "answers": answers})
        argv = [f"-a{ref}={text}" for ref, text in answers.items()]
        expected = cli("check", name, *args, *argv, "--json")
        if got.status_code == 400:
            assert got.json() == {"error": expected}
        else:
            assert got.json() == expected
