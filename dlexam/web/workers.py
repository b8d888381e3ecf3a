"""Worker processes for the web application: derivations never run in the server's event loop.

A fixed number of processes, each running one request at a time. A request waits for a free
worker in a queue of bounded length (full: :class:`BusyError`, HTTP 503) and is given a time
limit (past it: the worker is killed and replaced, :class:`TooSlowError`, HTTP 503), so that no
request can stall the others. Workers start from a fork server that has imported the engine
once; they die with the server (:func:`dlexam.lifetime.worker_init`).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from dlexam.errors import DlexamError, InputError, Said

PRELOAD = "dlexam.web.pages"
"""The module the fork server imports once (it imports the engine and the API)."""


class BusyError(Exception):
    """Every worker is busy and the queue is full."""


class TooSlowError(Exception):
    """A request ran past its time limit (its worker was replaced)."""


def _refusal(err: DlexamError) -> str:
    """A refusal as the server gets it: its one line in English, said in the page's language
    where it comes from the catalogs (a :class:`~dlexam.errors.Said` pickles by its key)."""
    if isinstance(err, InputError):
        if err.got is None:
            return Said("errors.expected", param=err.param, expected=err.expected)
        return Said("errors.expected_got", param=err.param, expected=err.expected, got=err.got)
    return err.args[0] if err.args and isinstance(err.args[0], Said) else str(err)


def _serve(conn: Connection) -> None:
    """A worker's loop: (function's module, name, arguments) in, ("ok", value) or ("error",
    message) out, until the server closes the pipe."""
    import importlib

    from dlexam.lifetime import worker_init

    worker_init(os.getppid())
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        module, name, args = job
        try:
            fn: Callable[..., Any] = getattr(importlib.import_module(module), name)
            reply = ("ok", fn(*args))
        except DlexamError as err:
            reply = ("error", _refusal(err))
        except (ArithmeticError, ValueError, TypeError, IndexError, RecursionError,
                MemoryError) as err:
            # one request that cannot be computed never stops the worker
            reply = ("error", f"request: could not be computed ({type(err).__name__})")
        except Exception as err:  # a bug: the server answers 500, the worker lives on
            reply = ("bug", f"server: an internal error ({type(err).__name__})")
        try:
            conn.send(reply)
        except (BrokenPipeError, OSError):
            return


class _Worker:
    def __init__(self, context: Any) -> None:
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(child,), daemon=True)
        self.process.start()
        child.close()

    def kill(self) -> None:
        self.process.kill()
        self.process.join(5)
        self.conn.close()


class Workers:
    """A pool of worker processes with a bounded queue and a per-request time limit.

    Args:
        count: how many processes.
        queue: how many requests may wait for a free worker (past it: :class:`BusyError`).
        timeout: seconds a request may run in its worker (past it: :class:`TooSlowError`).
    """

    def __init__(self, count: int, queue: int, timeout: float) -> None:
        self.count = count
        self.queue = queue
        self.timeout = timeout
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload([PRELOAD])
        self._idle: asyncio.Queue[_Worker] | None = None
        self._all: list[_Worker] = []
        self._waiting = 0

    async def start(self) -> None:
        """Starts the processes (the fork server imports the engine once)."""
        self._idle = asyncio.Queue()
        loop = asyncio.get_running_loop()
        for _ in range(self.count):
            worker = await loop.run_in_executor(None, _Worker, self._context)
            self._all.append(worker)
            self._idle.put_nowait(worker)

    async def close(self) -> None:
        """Stops every worker."""
        for worker in self._all:
            worker.kill()
        self._all.clear()

    async def call(self, module: str, name: str, *args: Any, timeout: float | None = None
                   ) -> Any:
        """Runs ``module.name(*args)`` in a worker (within ``timeout`` seconds, by default the
        pool's); returns its value.

        Raises:
            BusyError: the queue is full.
            TooSlowError: past the time limit.
            RequestError: the function refused its input (the one-line message).
        """
        assert self._idle is not None, "start() first"
        if self._idle.empty() and self._waiting >= self.queue:
            raise BusyError()
        self._waiting += 1
        try:
            worker = await self._idle.get()
        finally:
            self._waiting -= 1
        loop = asyncio.get_running_loop()
        done: asyncio.Future[Any] = loop.create_future()

        def readable() -> None:
            loop.remove_reader(worker.conn.fileno())
            try:
                reply = worker.conn.recv()
            except (EOFError, OSError) as err:
                if not done.done():
                    done.set_exception(err)
                return
            if not done.done():
                done.set_result(reply)

        try:
            worker.conn.send((module, name, args))
            loop.add_reader(worker.conn.fileno(), readable)
            status, value = await asyncio.wait_for(done, timeout or self.timeout)
        except (TimeoutError, EOFError, OSError, asyncio.CancelledError) as err:
            # the worker is stuck or gone (or the client left mid-request): replace it
            loop.remove_reader(worker.conn.fileno())
            self._replace(worker)
            if isinstance(err, asyncio.CancelledError):
                raise
            raise TooSlowError() from None
        self._idle.put_nowait(worker)
        if status == "error":
            raise RequestError(value)
        if status == "bug":
            raise InternalError(value)
        return value

    def _replace(self, worker: _Worker) -> None:
        worker.kill()
        self._all.remove(worker)
        fresh = _Worker(self._context)
        self._all.append(fresh)
        assert self._idle is not None
        self._idle.put_nowait(fresh)


class RequestError(Exception):
    """A worker's function refused its input; the message is the command line's one line."""


class InternalError(Exception):
    """A worker's function failed by a bug (HTTP 500, the message without a traceback)."""
