"""A lean HTTP/1.1 client for inbox POSTs: status, ``Retry-After``, keep-alive.

Through httpx a POST costs ~1.5 ms of CPU (models, httpcore's pool scans, h11,
anyio), more than its RSA signature; written to an asyncio transport and parsed
by httptools (llhttp, in C) it costs a tenth. Fetches stay on httpx.

It keeps ``federation.netguard``'s guarantees: unless ``allow_private``, each
new connection resolves the host itself, refuses if *any* address is not
public and dials the address it checked, and only https is allowed; TLS uses
one shared verified context, SNI and certificate checked against the host.
Timeouts: connect (with resolution), read (silence), total. Failures raise
``FetchError(status=None)``, as ``federation.fetch.signed_post`` does. At most
``max_per_host`` connections per origin (what protects small servers), kept
alive only when the answer allows; a request whose kept connection closed
while idle is resent on a fresh one. Bodies past ``max_body`` are cut.
"""

from __future__ import annotations

import asyncio
import functools
import socket
import ssl
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import cast
from urllib.parse import urlsplit

import httptools

from federation.errors import BlockedAddressError, FetchError
from federation.netguard import _tls_context, check_url, is_public_address
from federation.signatures import sign_request
from federation.vocab import AP_ACCEPT, AP_CONTENT_TYPE

# (host, port) -> [(ip, port)] to dial: DNS, or "as if DNS said so". The guard checks it.
Resolver = Callable[[str, int], Awaitable[list[tuple[str, int]]]]
Origin = tuple[str, str, int]  # scheme, lower-case host, port: the pool's key
_Target = tuple[Origin, str, str]  # origin, Host header value, request target

_DEFAULT_PORTS = {"http": 80, "https": 443}
_MAX_HEADER_BYTES = 64 * 1024
_FRAMING = frozenset({"content-length", "transfer-encoding", "connection"})  # ours to set


@functools.lru_cache(maxsize=4096)
def _target(url: str, allow_private: bool) -> _Target:
    """``check_url`` and split; cached, as the same inboxes recur (refusals raise, uncached)."""
    check_url(url, allow_private=allow_private)
    parts = urlsplit(url)
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    path = f"{parts.path or '/'}?{parts.query}" if parts.query else parts.path or "/"
    if not path.isascii() or not path.isprintable() or " " in path:
        raise BlockedAddressError(f"refused request target {path!r} (not plain ASCII)")
    origin = (scheme, host, parts.port or _DEFAULT_PORTS[scheme])
    return origin, parts.netloc.rpartition("@")[2], path


class _StaleConnectionError(Exception):
    """A reused connection closed before any byte of the answer: safe to resend."""


@dataclass(slots=True)
class Response:
    """Status, headers (lower-case names, repeats joined by ", ") and the capped body."""

    status_code: int
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes = b""
    truncated: bool = False


async def resolve(host: str, port: int) -> list[tuple[str, int]]:
    """The addresses DNS gives for ``host`` (an IP literal is its own answer)."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(f"cannot resolve {host}: {exc}") from exc
    return list(dict.fromkeys((str(info[4][0]), port) for info in infos))


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection: writes a request, parses its answer with httptools."""

    def __init__(self, pool: Http1Pool, origin: Origin) -> None:
        self.pool, self.origin, self.loop = pool, origin, asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.closed = self.reused = False
        self.generation = pool._generation  # aclose() bumps it: older ones are not kept
        self.idle_since = self.deadline = 0.0
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[Response] | None = None
        self.timer: asyncio.TimerHandle | None = None
        self._reset()

    def _reset(self) -> None:
        self.received = self.header_bytes = self.status = self.body_size = 0
        self.last_data = 0.0
        self.headers: dict[str, str] = {}
        self.body: list[bytes] = []
        self.headers_done = self.truncated = self.keep_alive = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but behave as one.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        waiter = self.waiter
        if waiter is None or waiter.done():  # bytes nobody asked for: unusable
            self.close()
            return
        self.received += len(data)
        self.last_data = self.loop.time()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(FetchError("the server switched protocols"))
        except (httptools.HttpParserError, FetchError) as exc:
            self._fail(exc if isinstance(exc, FetchError) else FetchError(f"bad answer: {exc}"))
        if self.truncated and not waiter.done():  # enough body: answer, drop the rest
            waiter.set_result(self._response())
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        if self.headers_done:  # body delimited by the close, or cut short: status known
            self.keep_alive = False
            waiter.set_result(self._response())
        elif self.reused and self.received == 0:
            waiter.set_exception(_StaleConnectionError())
        else:
            detail = f": {exc}" if exc else ""
            waiter.set_exception(FetchError(f"connection closed before the answer{detail}"))

    def on_message_begin(self) -> None:
        if self.waiter is None or self.waiter.done():  # a second answer: untrustworthy
            self.close()

    def on_header(self, name: bytes, value: bytes) -> None:
        self.header_bytes += len(name) + len(value)
        if self.header_bytes > _MAX_HEADER_BYTES:  # llhttp sets no limit of its own
            raise FetchError("response headers too large")
        key, text = name.decode("latin-1").lower(), value.decode("latin-1")
        previous = self.headers.get(key)
        self.headers[key] = text if previous is None else f"{previous}, {text}"

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()
        self.headers_done = not 100 <= self.status < 200

    def on_body(self, body: bytes) -> None:
        room = self.pool.max_body - self.body_size
        if len(body) > room:
            body, self.truncated = body[:room], True
        self.body.append(body)
        self.body_size += len(body)

    def on_message_complete(self) -> None:
        if 100 <= self.status < 200:
            self._reset()  # an interim answer (100 Continue): the real one follows
        elif self.waiter is not None and not self.waiter.done():
            self.keep_alive = self.parser.should_keep_alive() and not self.truncated
            self.waiter.set_result(self._response())

    def _response(self) -> Response:
        return Response(self.status, self.headers, b"".join(self.body), self.truncated)

    def _fail(self, exc: Exception) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc)
        self.close()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def _watchdog(self) -> None:
        """Fail once the server is silent too long or the deadline passed (one lazy timer)."""
        if self.waiter is None or self.waiter.done():
            return
        now, read_timeout = self.loop.time(), self.pool.read_timeout
        if now >= self.deadline:
            self._fail(FetchError(f"no complete answer within {self.pool.timeout:g} s"))
        elif now >= self.last_data + read_timeout:
            self._fail(FetchError(f"read timed out after {read_timeout:g} s"))
        else:
            wake = min(self.last_data + read_timeout, self.deadline)
            self.timer = self.loop.call_at(wake, self._watchdog)

    async def exchange(self, request: bytes, deadline: float) -> Response:
        """Send one request, wait for its answer; ``deadline`` is in loop time."""
        if self.closed or self.transport is None:
            raise _StaleConnectionError() if self.reused else FetchError("connection closed")
        self._reset()
        self.waiter = waiter = self.loop.create_future()
        self.transport.write(request)  # no flow control: one small buffer, written at once
        self.last_data, self.deadline = self.loop.time(), deadline
        wake = min(self.last_data + self.pool.read_timeout, deadline)
        self.timer = self.loop.call_at(wake, self._watchdog)
        try:
            return await waiter
        finally:
            self.timer.cancel()
            self.waiter = None


@dataclass
class _Host:
    slots: asyncio.Semaphore  # max_per_host connections out at once
    idle: list[_Connection] = field(default_factory=list)
    users: int = 0  # requests holding or waiting for a slot


@dataclass(kw_only=True, eq=False)
class Http1Pool:
    """Keep-alive HTTP/1.1 connections per origin, for short requests like inbox POSTs."""

    allow_private: bool
    user_agent: str
    max_per_host: int = 4
    max_idle: int = 256  # idle connections kept, over all hosts
    keepalive_expiry: float = 5.0
    connect_timeout: float = 10.0
    read_timeout: float = 10.0
    timeout: float = 30.0
    max_body: int = 64 * 1024
    ssl_context: ssl.SSLContext | None = None
    resolver: Resolver = resolve
    _hosts: dict[Origin, _Host] = field(init=False, default_factory=dict)
    # Every idle connection, least recently used first.
    _idle: OrderedDict[_Connection, None] = field(init=False, default_factory=OrderedDict)
    _generation: int = field(init=False, default=0)

    async def post(
        self, url: str, body: bytes, headers: Mapping[str, str] | None = None
    ) -> Response:
        """POST ``body``; any network failure raises ``FetchError(status=None)``."""
        return await self._send(url, _target(url, self.allow_private), headers or {}, body)

    async def _send(
        self, url: str, target: _Target, headers: Mapping[str, str], body: bytes
    ) -> Response:
        request = self._encode(target, headers, body)
        deadline = asyncio.get_running_loop().time() + self.timeout
        try:
            for _attempt in range(3):
                connection = await self._acquire(target[0], deadline)
                try:
                    return await connection.exchange(request, deadline)
                except _StaleConnectionError:
                    continue  # the server closed it while idle: resend on another
                finally:
                    self._release(connection)
            raise FetchError("connections kept closing before the answer")
        except TimeoutError as exc:
            raise FetchError(f"POST {url} timed out after {self.timeout:g} s") from exc
        except BlockedAddressError:
            raise
        except FetchError as exc:
            raise FetchError(f"POST {url} failed: {exc}") from exc
        except OSError as exc:  # ssl.SSLError included
            raise FetchError(f"POST {url} failed: {exc!r}") from exc

    def _encode(self, target: _Target, headers: Mapping[str, str], body: bytes) -> bytes:
        _, authority, path = target
        given = {name.lower() for name in headers}
        lines = [f"POST {path} HTTP/1.1"] + [
            f"{name}: {value}" for name, value in headers.items() if name.lower() not in _FRAMING
        ]
        if "host" not in given:
            lines.append(f"Host: {authority}")
        if "user-agent" not in given:
            lines.append(f"User-Agent: {self.user_agent}")
        if any("\r" in line or "\n" in line for line in lines):
            raise FetchError("line breaks in a request header")
        lines.append(f"Content-Length: {len(body)}\r\n\r\n")
        return "\r\n".join(lines).encode("latin-1") + body

    async def _acquire(self, key: Origin, deadline: float) -> _Connection:
        host = self._hosts.get(key)
        if host is None:
            host = self._hosts[key] = _Host(asyncio.Semaphore(self.max_per_host))
        host.users += 1
        try:
            if host.slots.locked():  # waiting for a slot counts against the deadline
                async with asyncio.timeout_at(deadline):
                    await host.slots.acquire()
            else:
                await host.slots.acquire()
        except BaseException:
            self._leave(key, host, slot=False)
            raise
        try:
            now = time.monotonic()
            while host.idle:
                connection = host.idle.pop()
                del self._idle[connection]
                if not connection.closed and now - connection.idle_since <= self.keepalive_expiry:
                    connection.reused = True
                    return connection
                connection.close()
            return await self._open(key, deadline)
        except BaseException:
            self._leave(key, host)
            raise

    def _release(self, connection: _Connection) -> None:
        """Keep the connection if its last answer (complete) allows, else close it."""
        host = self._hosts[connection.origin]  # kept while it has users
        keep = connection.keep_alive and not connection.closed
        if keep and connection.generation == self._generation:
            connection.idle_since = time.monotonic()
            host.idle.append(connection)
            self._idle[connection] = None
            while len(self._idle) > self.max_idle:
                self._drop_idle(next(iter(self._idle)))
        else:
            connection.close()
        self._leave(connection.origin, host)

    def _leave(self, key: Origin, host: _Host, *, slot: bool = True) -> None:
        if slot:
            host.slots.release()
        host.users -= 1
        if not host.users and not host.idle:
            del self._hosts[key]

    def _drop_idle(self, connection: _Connection) -> None:
        del self._idle[connection]
        host = self._hosts[connection.origin]
        host.idle.remove(connection)
        connection.close()
        if not host.users and not host.idle:
            del self._hosts[connection.origin]

    async def _open(self, key: Origin, deadline: float) -> _Connection:
        scheme, name, port = key
        loop = asyncio.get_running_loop()
        tls = (self.ssl_context or _tls_context()) if scheme == "https" else None
        try:
            async with asyncio.timeout_at(min(loop.time() + self.connect_timeout, deadline)):
                addresses = await self.resolver(name, port)
                # Refuse if ANY address is private: otherwise an attacker could
                # list a public and a private one and win whenever it is tried.
                for ip, _ in [] if self.allow_private else addresses:
                    if not is_public_address(ip):
                        raise BlockedAddressError(f"{name} resolves to non-public address {ip}")
                last: Exception = FetchError(f"{name} has no address")
                factory, sni = functools.partial(_Connection, self, key), name if tls else None
                for ip, ip_port in addresses:
                    try:
                        _, conn = await loop.create_connection(
                            factory, ip, ip_port, ssl=tls, server_hostname=sni
                        )
                        return conn
                    except OSError as exc:  # ssl.SSLError included
                        last = exc
                raise last
        except TimeoutError as exc:
            raise FetchError(f"connecting to {name} timed out") from exc

    def close_expired(self) -> int:
        """Close connections idle longer than ``keepalive_expiry``; returns how many."""
        limit = time.monotonic() - self.keepalive_expiry
        expired = [c for c in self._idle if c.closed or c.idle_since < limit]
        for connection in expired:
            self._drop_idle(connection)
        return len(expired)

    async def aclose(self) -> None:
        """Close idle connections now, those in use when released; the pool stays usable."""
        self._generation += 1
        for connection in list(self._idle):
            self._drop_idle(connection)


async def signed_post(
    pool: Http1Pool,
    url: str,
    body: bytes,
    *,
    key_id: str,
    private_key_pem: str,
    now: datetime | None = None,
) -> Response:
    """Deliver ``body`` signed like ``federation.fetch.signed_post``; any status returns."""
    target = _target(url, pool.allow_private)  # refuse before spending a signature
    base = {"Content-Type": AP_CONTENT_TYPE, "Accept": AP_ACCEPT}
    headers = sign_request(
        "POST", url, base, body, key_id=key_id, private_key_pem=private_key_pem, now=now
    )
    return await pool._send(url, target, headers, body)
