"""The ingest benchmark's load generator: pre-built HTTP/1.1 requests over keep-alive.

Each of ``concurrency`` connections (asyncio Protocols, uvloop when present)
writes one whole pre-built request, parses the response with httptools'
C parser, then writes the next; requests are taken from one shared list in
order, so every body is sent exactly once. Timing starts once every
connection is open and ends at the last response.
"""

from __future__ import annotations

import asyncio
import resource
import time
from collections import Counter
from dataclasses import dataclass, field

import httptools


@dataclass
class Result:
    sent: int
    statuses: Counter[int]
    errors: Counter[str]
    seconds: float
    client_cpu: float
    error_samples: list[str] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return self.statuses.get(202, 0)

    @property
    def rate(self) -> float:
        return self.accepted / self.seconds if self.seconds else 0.0


class _Conn(asyncio.Protocol):
    def __init__(self, run: _Run) -> None:
        self.run = run
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.body: list[bytes] = []
        self.closed = asyncio.get_running_loop().create_future()
        self.busy = False

    # --- asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self.run.errors[f"parse: {exc}"] += 1
            self._finish()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.busy:
            self.run.errors[f"connection lost: {exc}"] += 1
            self.run.pending -= 1
            self.busy = False
            self.run.maybe_done()
        if not self.closed.done():
            self.closed.set_result(None)

    # --- httptools callbacks
    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        status = self.parser.get_status_code()
        self.run.statuses[status] += 1
        if status != 202 and len(self.run.samples) < 5:
            self.run.samples.append(f"{status} {b''.join(self.body)[:200]!r}")
        self.body.clear()
        self.busy = False
        self.run.pending -= 1
        self.run.last = time.perf_counter()
        self.send_next()

    # ---
    def send_next(self) -> None:
        request = self.run.take()
        if request is None:
            self._finish()
            return
        self.busy = True
        assert self.transport is not None
        self.transport.write(request)

    def _finish(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()
        self.run.maybe_done()


class _Run:
    def __init__(self, requests: list[bytes]) -> None:
        self.requests = requests
        self.next = 0
        self.pending = 0
        self.statuses: Counter[int] = Counter()
        self.errors: Counter[str] = Counter()
        self.samples: list[str] = []
        self.last = 0.0
        self.done = asyncio.get_running_loop().create_future()

    def take(self) -> bytes | None:
        if self.next >= len(self.requests):
            return None
        request = self.requests[self.next]
        self.next += 1
        self.pending += 1
        return request

    def maybe_done(self) -> None:
        if self.next >= len(self.requests) and self.pending <= 0 and not self.done.done():
            self.done.set_result(None)


async def blast(host: str, port: int, requests: list[bytes], concurrency: int) -> Result:
    loop = asyncio.get_running_loop()
    run = _Run(requests)
    conns: list[_Conn] = []
    for _ in range(min(concurrency, len(requests))):
        _, proto = await loop.create_connection(lambda: _Conn(run), host, port)
        conns.append(proto)
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    for conn in conns:
        conn.send_next()
    await run.done
    end = run.last or time.perf_counter()
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    for conn in conns:
        if conn.transport is not None and not conn.transport.is_closing():
            conn.transport.close()
    await asyncio.gather(*(c.closed for c in conns))
    return Result(
        sent=run.next,
        statuses=run.statuses,
        errors=run.errors,
        seconds=end - start,
        client_cpu=(cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime),
        error_samples=run.samples,
    )


def build_request(path: str, headers: dict[str, str], body: bytes) -> bytes:
    lines = [f"POST {path} HTTP/1.1"]
    lines.extend(f"{name}: {value}" for name, value in headers.items())
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
