"""``dlexam serve``: the web application, a thin driver over the engine.

Starlette (on uvicorn) routes requests; every derivation runs in a worker process
(:mod:`dlexam.web.workers`) through :mod:`dlexam.web.api` (the JSON API, the command line's
objects) and :mod:`dlexam.web.pages` (the pages' data); Jinja2 templates with autoescape turn
the data into HTML. Mathematics is typeset in the browser by KaTeX, served from Debian's
``libjs-katex`` by this application (no internet needed). The page's script is a static file:
the Content-Security-Policy allows no inline script.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dlexam.errors import Said, said_in
from dlexam.langs import codes, language
from dlexam.web.pages import MAX_ANSWERS
from dlexam.web.workers import BusyError, InternalError, RequestError, TooSlowError, Workers

MAX_BODY = 256 * 1024
"""The largest request body read (past it: HTTP 413)."""
KATEX = Path("/usr/share/javascript/katex")
"""Debian's libjs-katex (dlexam/system-packages.txt)."""
STATIC = Path(__file__).with_name("static")
TEMPLATES = Path(__file__).parents[1] / "templates" / "web"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; font-src 'self'; connect-src 'self'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
"""No inline script, nothing from elsewhere (KaTeX sets inline styles on what it typesets)."""
SHEET_TIMEOUT = 120.0
"""Seconds a PDF sheet may take (TeX runs)."""


class Limits:
    """Request bodies past :data:`MAX_BODY` get 413; every response gets the security
    headers (a pure ASGI middleware: the body is counted as it arrives, never held whole)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
            await _too_large(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > MAX_BODY:
                    raise _TooLargeError()
            return message

        async def secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *_SECURITY]
            await send(message)

        try:
            await self.app(scope, counted, secured)
        except _TooLargeError:
            await _too_large(scope, receive, send)


_SECURITY = [(b"content-security-policy", CSP.encode()),
             (b"x-content-type-options", b"nosniff"),
             (b"referrer-policy", b"same-origin"),
             (b"x-frame-options", b"DENY")]


class _TooLargeError(Exception):
    pass


async def _too_large(scope: Scope, receive: Receive, send: Send) -> None:
    response = JSONResponse({"error": f"request: expected a body of at most {MAX_BODY:,} "
                                      "bytes, got more"}, status_code=413,
                            headers={"connection": "close"})
    await response(scope, receive, send)


def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=True,
                              lstrip_blocks=True)


def _lang(request: Request) -> str:
    lang = request.query_params.get("lang", "en")
    return lang if lang in codes() else ""


def _json_error(message: str, status: int) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _busy_message(err: Exception, timeout: float) -> str:
    """The 503's reason (English as text, a page says it in its language)."""
    if isinstance(err, BusyError):
        return Said("web.refusals.busy")
    return Said("web.refusals.too_slow", seconds=f"{timeout:g}")


def create_app(workers: int = 2, queue: int = 64, timeout: float = 10.0) -> Starlette:
    """The application, its worker pool started and stopped with it.

    Args:
        workers: worker processes (derivations run there).
        queue: requests that may wait for a worker (past it: 503).
        timeout: seconds a request may run (past it: 503; its worker is replaced).
    """
    pool = Workers(workers, queue, timeout)
    env = _environment()

    from dlexam.render.prose import prose_text

    def words(lang: str) -> Callable[..., str]:
        def t(key: str, **data: Any) -> str:
            return prose_text(lang, "web." + key, data)
        return t

    def languages() -> list[dict[str, str]]:
        return [{"code": code, "name": language(code).name} for code in codes()]

    def page(request: Request, template: str, lang: str, status: int = 200,
             **data: Any) -> HTMLResponse:
        here = request.url.path
        query = {k: v for k, v in request.query_params.items() if k != "lang"}
        links = []
        for row in languages():
            link_query = urlencode([*query.items(), ("lang", row["code"])])
            links.append({**row, "href": f"{here}?{link_query}",
                          "current": row["code"] == lang})
        html = env.get_template(template).render(
            t=words(lang), lang=lang, languages=links, lang_query=f"lang={lang}", **data)
        return HTMLResponse(html, status_code=status)

    async def run(request: Request, lang: str, function: str, *args: Any,
                  timeout: float | None = None) -> Any:
        """A pages function in a worker; its refusal or the limits as an error page."""
        try:
            return await pool.call("dlexam.web.pages", function, *args, timeout=timeout)
        except RequestError as err:  # said in the page's language
            return page(request, "error.html.j2", lang, 400,
                        message=said_in(err.args[0], lang) if err.args else str(err))
        except InternalError as err:
            return page(request, "error.html.j2", lang, 500, message=str(err))
        except (BusyError, TooSlowError) as err:
            return page(request, "error.html.j2", lang, 503,
                        message=said_in(_busy_message(err, timeout or pool.timeout), lang))

    async def api(function: str, *args: Any) -> Response:
        try:
            return JSONResponse(await pool.call("dlexam.web.api", function, *args))
        except RequestError as err:
            return _json_error(str(err), 400)
        except InternalError as err:
            return _json_error(str(err), 500)
        except (BusyError, TooSlowError) as err:
            return _json_error(_busy_message(err, pool.timeout), 503)

    async def body_text(request: Request) -> str | Response:
        raw = await request.body()
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return _json_error("request: expected a body of UTF-8 JSON text, got other bytes",
                               400)

    async def api_solve(request: Request) -> Response:
        text = await body_text(request)
        return text if isinstance(text, Response) else await api("solve", text)

    async def api_check(request: Request) -> Response:
        text = await body_text(request)
        return text if isinstance(text, Response) else await api("check", text)

    async def api_sample(request: Request) -> Response:
        q = request.query_params
        return await api("sample", q.get("derivation"), q.get("seed"), q.get("lang"))

    async def api_derivations(request: Request) -> Response:
        return await api("listing", request.query_params.get("lang"))

    def bad_lang(request: Request) -> HTMLResponse:
        return page(request, "error.html.j2", "en", 400,
                    message="lang: expected one of " + ", ".join(codes()) + ", got "
                    + request.query_params.get("lang", "")[:40])

    async def index(request: Request) -> Response:
        lang = _lang(request)
        if not lang:
            return bad_lang(request)
        data = await run(request, lang, "index", lang)
        return data if isinstance(data, Response) else page(request, "index.html.j2", lang,
                                                             **data)

    async def question(request: Request) -> Response:
        lang = _lang(request)
        if not lang:
            return bad_lang(request)
        name = request.path_params["name"]
        seed = request.query_params.get("seed", "1")
        form = None
        if request.method == "POST":
            async with request.form(max_files=0, max_fields=MAX_ANSWERS + 1) as sent:
                form = _form(sent)
            seed = form.pop("seed", seed)
        data = await run(request, lang, "question", name, seed, lang, form)
        if isinstance(data, Response):
            return data
        if request.headers.get("x-dlexam-fragment") == "verdicts":
            return page(request, "verdicts.html.j2", lang, q=data)
        return page(request, "question.html.j2", lang, q=data)

    async def solve(request: Request) -> Response:
        lang = _lang(request)
        if not lang:
            return bad_lang(request)
        name = request.path_params["name"]
        query = {k: v for k, v in request.query_params.items() if k != "lang"}
        data = await run(request, lang, "solve_page", name, query, lang)
        if isinstance(data, Response):
            return data
        data["sheet_href"] = f"/solve/{name}/sheet.pdf?" + urlencode(data.get("params", {}))
        return page(request, "solve.html.j2", lang, s=data)

    async def sheet(request: Request) -> Response:
        name = request.path_params["name"]
        query = dict(request.query_params)
        folder = tempfile.mkdtemp(prefix="dlexam-sheet-")
        try:
            path = await run(request, "en", "sheet", name, query, folder,
                             timeout=SHEET_TIMEOUT)
            if isinstance(path, Response):
                return path
            data = Path(path).read_bytes()
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return Response(data, media_type="application/pdf", headers={
            "content-disposition": f'attachment; filename="{name}-sheet.pdf"'})

    async def practice(request: Request) -> Response:
        lang = _lang(request)
        if not lang:
            return bad_lang(request)
        import secrets

        q = request.query_params
        seed = q.get("seed") or str(secrets.randbelow(10**6))
        data = await run(request, lang, "practice", q.get("derivation") or None, seed, lang)
        if isinstance(data, Response):
            return data
        return page(request, "practice.html.j2", lang, p=data,
                    p_json=json.dumps({"derivation": data["name"], "params": data["params"],
                                       "lang": lang}, ensure_ascii=False))

    async def exam(request: Request) -> Response:
        lang = _lang(request)
        if not lang:
            return bad_lang(request)
        if request.method == "GET":
            return page(request, "exam.html.j2", lang, e=None, error=None)
        async with request.form(max_files=1, max_fields=8) as form:
            upload = form.get("file")
            seed = form.get("seed")
            if upload is None or isinstance(upload, str):
                return page(request, "exam.html.j2", lang, 400, e=None,
                            error="file: expected an exam file (.toml) to upload")
            raw = await upload.read(MAX_BODY + 1)
            filename = upload.filename or "exam.toml"
        data = await run(request, lang, "exam", raw, filename, lang,
                         seed if isinstance(seed, str) and seed else "1")
        if isinstance(data, Response):
            return data
        if data.get("error"):
            return page(request, "exam.html.j2", lang, 400, e=None, error=data["error"])
        return page(request, "exam.html.j2", lang, e=data, error=None)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await pool.start()
        try:
            yield
        finally:
            await pool.close()

    routes = [
        Route("/", index),
        Route("/q/{name}", question, methods=["GET", "POST"]),
        Route("/solve/{name}", solve),
        Route("/solve/{name}/sheet.pdf", sheet),
        Route("/practice", practice),
        Route("/exam", exam, methods=["GET", "POST"]),
        Route("/api/solve", api_solve, methods=["POST"]),
        Route("/api/check", api_check, methods=["POST"]),
        Route("/api/sample", api_sample),
        Route("/api/derivations", api_derivations),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
        Route("/katex/{path:path}", _katex),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.add_middleware(Limits)
    app.state.pool = pool
    return app


async def _katex(request: Request) -> Response:
    """KaTeX's files from Debian's package (its fonts folder is a link into the fonts
    package's folder, which StaticFiles would refuse to follow)."""
    path = request.path_params["path"]
    allowed = ("katex.min.js", "katex.min.css", "contrib/auto-render.js",
               )
    if path in allowed or (path.startswith("fonts/") and "/" not in path[6:]
                           and not path.startswith("fonts/.")):
        target = KATEX / path
        if target.is_file():
            return FileResponse(target, headers={"cache-control": "max-age=86400"})
    return Response("not found", status_code=404, media_type="text/plain")


def _form(form: Mapping[str, Any]) -> dict[str, str]:
    return {k: v for k, v in form.items() if isinstance(v, str)}
