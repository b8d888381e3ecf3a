"""``dlexam serve``: binds the address, prints it, runs the application on uvicorn until Ctrl-C."""

from __future__ import annotations

import socket
import sys

from dlexam.errors import InputError, Said
from dlexam.safeio import os_reason

ALL_INTERFACES = ("0.0.0.0", "::", "")


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (port 0: a free one).

    Raises:
        InputError: the address cannot be bound (in use, not this machine's).
    """
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as err:
        raise InputError("--host", Said("cli.errors.host"), f"{host[:80]} ({err})") from None
    family, kind, proto, _name, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as err:
        sock.close()
        raise InputError("--port", Said("cli.errors.port"),
                         Said("cli.errors.port_on", port=port, host=host,
                              why=os_reason(err))) from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    """``http://host:port`` of a bound socket."""
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def serve(host: str, port: int, workers: int, queue: int, timeout: float,
          lang: str = "en") -> int:
    """Runs the application until Ctrl-C (or SIGTERM); returns the exit status. ``lang``: the
    terminal's lines (each page has its own language)."""
    import uvicorn

    from dlexam.web.app import create_app

    sock = bind(host, port)
    processes = Said("terminal.worker_process" if workers == 1 else "terminal.worker_processes")
    print(Said("terminal.serving", url=url_of(sock), workers=workers,
               processes=processes).said_in(lang), flush=True)
    if host in ALL_INTERFACES:
        print(Said("terminal.all_interfaces").said_in(lang), file=sys.stderr, flush=True)
    config = uvicorn.Config(create_app(workers=workers, queue=queue, timeout=timeout),
                            log_level="warning", timeout_graceful_shutdown=5,
                            lifespan="on")
    server = uvicorn.Server(config)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn shut down gracefully, then passes Ctrl-C on
        pass
    finally:
        sock.close()
    print(Said("terminal.stopped").said_in(lang), flush=True)
    return 0
