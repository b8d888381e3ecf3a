"""Work spread over the cores in forked processes, for the parts of an exam build that are many
independent pieces (each variant's key, each statement): the results come back in order, the
same as computed one by one, so the outputs do not depend on how many cores there were."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, wait
from typing import Any

from dlexam.lifetime import worker_init

PARALLEL_FROM = 8  # pieces from which forking pays (a fork and its results cost ~50 ms)
MAX_WORKERS = 8

_TASK: Callable[[int], Any] | None = None  # what the forked workers compute, set around a map


def workers() -> int:
    """The cores this process may use that no other process keeps busy (at least one, this
    process's): a worker forked onto a busy core only shares it, and costs its fork, the
    pickling of its results and the plans its chunk traces again."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # no affinity on this platform
        cores = os.cpu_count() or 1
    return max(1, min(cores - busy_cores(), MAX_WORKERS))


def busy_cores() -> int:
    """How many processes other than this one are running now (Linux's count of runnable
    tasks, /proc/loadavg; elsewhere the 1-minute load average, rounded down), at most the
    machine's."""
    try:
        with open("/proc/loadavg", encoding="ascii") as fh:
            running = int(fh.read().split()[3].split("/")[0]) - 1  # this process is one
    except (OSError, ValueError, IndexError):
        try:
            running = int(os.getloadavg()[0])
        except (AttributeError, OSError):
            return 0
    return max(0, running)


def fork_map(task: Callable[[int], Any], count: int, least: int = PARALLEL_FROM,
             progress: Callable[[int], None] | None = None) -> list[Any]:
    """``[task(i) for i in range(count)]``, computed by forked workers when there are at least
    ``least`` pieces and more than one core (results must be picklable: text, numbers). What
    the task reports with :func:`tick` reaches ``progress`` in this process as it happens."""
    global _TASK, _TICKS, _PROGRESS
    n = min(workers(), count)
    if count < least or n <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        _PROGRESS = progress
        try:
            return [task(i) for i in range(count)]
        finally:
            _PROGRESS = None
    chunks = [range(i, count, n) for i in range(n)]  # interleaved: even work per worker
    context = multiprocessing.get_context("fork")
    _TASK, _TICKS = task, context.Value("q", 0)
    pool = ProcessPoolExecutor(n, mp_context=context, initializer=worker_init,
                               initargs=(os.getpid(),))  # workers die with this process
    try:
        futures = [pool.submit(_run, chunk) for chunk in chunks]
        reported = 0
        while True:
            finished = all(f.done() for f in futures)
            if progress is not None and _TICKS.value > reported:
                progress(_TICKS.value - reported)
                reported = _TICKS.value
            if finished:
                break
            wait(futures, timeout=0.2)
        done = [f.result() for f in futures]
        pool.shutdown(wait=True)
    except BaseException:  # a signal, Ctrl-C, a worker's error: the workers end now
        stop_workers(pool)
        raise
    finally:
        _TASK, _TICKS = None, None
    out: list[Any] = [None] * count
    for chunk, results in zip(chunks, done, strict=True):
        for i, result in zip(chunk, results, strict=True):
            out[i] = result
    return out


def fork_imap(task: Callable[[int], Any], count: int,
              least: int = PARALLEL_FROM) -> Iterator[Any]:
    """``task(i)`` for ``i`` in ``range(count)``, given in order as each is ready, computed by
    forked workers one piece at a time as :func:`fork_map` decides (so that the caller can use
    the first while the others are computed: a key's TeX typesets one variant while the next is
    rendered)."""
    n = min(workers(), count)
    if count < least or n <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        for i in range(count):
            yield task(i)
        return
    global _TASK
    context = multiprocessing.get_context("fork")
    _TASK = task  # the workers are forked with it
    pool = ProcessPoolExecutor(n, mp_context=context, initializer=worker_init,
                               initargs=(os.getpid(),))  # workers die with this process
    try:
        futures = [pool.submit(_run, range(i, i + 1)) for i in range(count)]
        for future in futures:
            yield future.result()[0]
        pool.shutdown(wait=True)
    except BaseException:  # a signal, Ctrl-C, a worker's error, the caller stopped: end them
        stop_workers(pool)
        raise
    finally:
        _TASK = None


def stop_workers(pool: ProcessPoolExecutor) -> None:
    """Kills a pool's workers and reaps them (a pool's own shutdown waits for running work)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.kill()
    for process in processes:
        process.join()


def _run(indices: range) -> list[Any]:
    assert _TASK is not None
    return [_TASK(i) for i in indices]


_TICKS: Any = None  # a counter shared with the forked workers, during a fork_map
_PROGRESS: Callable[[int], None] | None = None  # when the pieces run here


def tick() -> None:
    """Reports one unit of work done to the progress of the running :func:`fork_map`."""
    if _TICKS is not None:
        with _TICKS.get_lock():
            _TICKS.value += 1
    elif _PROGRESS is not None:
        _PROGRESS(1)
