"""`make bench` (group web): 40 simulated students on loopback, each sending check requests to
`dlexam serve` back to back for 60 s (issue 23: 0 errors, 95th percentile under 1.5 s).

Each student has a question of their own (a derivation and a seed, as a class on the question
pages), types the right answer or a new wrong value in turn, and waits for each verdict before the
next request, on one kept-alive connection. The server runs in its own process with its
default two workers; the students share this process (asyncio, a few lines of HTTP/1.1 over
sockets, so the load generator takes little of the two cores from the server).
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DERIVATIONS = ("rnn-forward", "self-attention", "softmax-cross-entropy", "clip-gradient")


async def _post(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str,
                body: bytes) -> tuple[int, bytes]:
    writer.write(b"POST " + path.encode() + b" HTTP/1.1\r\nHost: bench\r\n"
                 b"Content-Type: application/json\r\nContent-Length: "
                 + str(len(body)).encode() + b"\r\n\r\n" + body)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))  # type: ignore[union-attr]
    return status, await reader.readexactly(length)


def _get(url: str) -> object:
    with urllib.request.urlopen(url, timeout=60) as reply:
        return json.loads(reply.read())


def _question(url: str, student: int) -> tuple[dict, object]:
    """A student's question (a check request with the right answer) and the right value."""
    name = DERIVATIONS[student % len(DERIVATIONS)]
    params = _get(f"{url}/api/sample?derivation={name}&seed={student + 1}")["params"]  # type: ignore[index]
    request = urllib.request.Request(f"{url}/api/solve", data=json.dumps(
        {"derivation": name, "params": params}).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=60) as reply:
        answers = json.loads(reply.read())["answers"]
    first = next(iter(answers))
    value = json.dumps(answers[first])
    return {"derivation": name, "params": params, "answers": {first: value}}, answers[first]


def _typed(request: dict, right: object, turn: int) -> bytes:
    """The right answer on even turns; on odd ones a wrong value, a new one each time (so no
    verdict is a repeat)."""
    if turn % 2 == 0:
        return json.dumps(request).encode()
    name = next(iter(request["answers"]))
    return json.dumps({**request, "answers": {name: json.dumps(
        _nudged(right, 1.05 + turn / 1000))}}).encode()


def _nudged(value: object, factor: float) -> object:
    if isinstance(value, list):
        return [_nudged(v, factor) for v in value]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value * factor + 0.25
    return value


async def _student(host: str, port: int, question: tuple[dict, object], until: float,
                   latencies: list[float], errors: list[str]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    turn = 0
    try:
        while time.perf_counter() < until:
            start = time.perf_counter()
            try:
                status, body = await _post(reader, writer, "/api/check",
                                           _typed(*question, turn))
            except (OSError, asyncio.IncompleteReadError) as err:
                errors.append(type(err).__name__)
                reader, writer = await asyncio.open_connection(host, port)
                continue
            latencies.append(time.perf_counter() - start)
            if status != 200 or b'"verdicts"' not in body:
                errors.append(f"{status} {body[:120]!r}")
            turn += 1
    finally:
        writer.close()


async def _class(url: str, students: int, seconds: float) -> tuple[list[float], list[str]]:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    requests = [_question(url, s) for s in range(students)]
    latencies: list[float] = []
    errors: list[str] = []
    until = time.perf_counter() + seconds
    await asyncio.gather(*[_student(host, int(port), requests[s], until, latencies, errors)
                           for s in range(students)])
    return latencies, errors


def web_bench(students: int = 40, seconds: float = 60.0) -> None:
    """Prints the requests per second, the median and 95th-percentile latency, the errors."""
    server = subprocess.Popen([sys.executable, "-m", "dlexam", "serve", "--port", "0"],
                              stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert server.stdout is not None
        url = re.search(r"serving on (http://\S+)", server.stdout.readline()).group(1)  # type: ignore[union-attr]
        for _ in range(150):
            try:
                _get(url + "/api/derivations")
                break
            except OSError:
                time.sleep(0.2)
        latencies, errors = asyncio.run(_class(url, students, seconds))
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(30)
    latencies.sort()
    p95 = latencies[int(0.95 * (len(latencies) - 1))] if latencies else float("nan")
    print(f"  web: {students} students x {seconds:.0f} s of check requests on loopback "
          "(dlexam serve, 2 workers)")
    print(f"    requests        {len(latencies):7d}   ({len(latencies) / seconds:.1f} per s)")
    print(f"    median latency  {statistics.median(latencies):7.3f} s")
    print(f"    p95 latency     {p95:7.3f} s   target < 1.5 s")
    print(f"    errors          {len(errors):7d}   target 0"
          + (f"   (first: {errors[0]})" if errors else ""))


if __name__ == "__main__":
    web_bench(seconds=float(sys.argv[1]) if len(sys.argv) > 1 else 60.0)
