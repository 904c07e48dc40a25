"""The lean HTTP/1.1 delivery client against real local servers.

A raw asyncio server stands in for the remote inbox so every answer shape
(Content-Length, chunked, ``Connection: close``, silence, trickling, huge
bodies, idle closes) can be produced exactly; uvicorn checks the common
case against a real server; TLS is checked with a throw-away certificate.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from federation.digest import verify_digest
from federation.errors import BlockedAddressError, FetchError
from federation.http1 import Http1Pool, resolve, signed_post
from federation.signatures import signature_from_headers

OK = b"HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\nok"


@dataclass
class Request:
    head: str
    headers: dict[str, str]
    body: bytes
    connection: int


Handler = Callable[[Request, asyncio.StreamWriter], Awaitable[None]]


@dataclass
class Server:
    """Accepts connections, parses requests, answers with ``handler``."""

    handler: Handler
    port: int = 0
    connections: int = 0
    open_now: int = 0
    most_open: int = 0
    requests: list[Request] = field(default_factory=list)
    server: asyncio.Server | None = None

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    def url(self, path: str = "/inbox", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        number = self.connections
        self.open_now += 1
        self.most_open = max(self.most_open, self.open_now)
        try:
            while True:
                try:
                    raw = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                lines = raw.decode("latin-1").split("\r\n")
                headers = {}
                for line in lines[1:]:
                    if line:
                        name, _, value = line.partition(":")
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                request = Request(lines[0], headers, body, number)
                self.requests.append(request)
                await self.handler(request, writer)
                if writer.is_closing():
                    return
        finally:
            self.open_now -= 1
            writer.close()

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Handler], Awaitable[Server]]]:
    servers: list[Server] = []

    async def start(handler: Handler) -> Server:
        server = Server(handler)
        await server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.close()


def answer(raw: bytes) -> Handler:
    async def handler(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(raw)
        await writer.drain()
        if b"Connection: close" in raw:
            writer.close()

    return handler


def lan_pool(**kwargs: object) -> Http1Pool:
    return Http1Pool(allow_private=True, user_agent="test-agent", **kwargs)  # type: ignore[arg-type]


async def test_content_length_answer_and_keep_alive_reuse(serve) -> None:
    server = await serve(
        answer(b"HTTP/1.1 429 Too Many\r\nRetry-After: 30\r\nContent-Length: 4\r\n\r\nslow")
    )
    pool = lan_pool()
    for _ in range(3):
        response = await pool.post(server.url(), b'{"a":1}', {"Content-Type": "application/json"})
        assert response.status_code == 429
        assert response.headers["retry-after"] == "30"
        assert response.content == b"slow"
    assert server.connections == 1
    request = server.requests[0]
    assert request.head == "POST /inbox HTTP/1.1"
    assert request.body == b'{"a":1}'
    assert request.headers["host"] == f"127.0.0.1:{server.port}"
    assert request.headers["user-agent"] == "test-agent"
    assert request.headers["content-type"] == "application/json"
    assert len(pool._idle) == 1
    await pool.aclose()
    assert len(pool._idle) == 0


async def test_chunked_answer_and_repeated_headers(serve) -> None:
    server = await serve(
        answer(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nVary: a\r\nVary: b\r\n\r\n"
            b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
        )
    )
    pool = lan_pool()
    first = await pool.post(server.url(), b"x")
    second = await pool.post(server.url(), b"y")
    assert first.status_code == second.status_code == 200
    assert first.content == b"hello world"
    assert first.headers["vary"] == "a, b"
    assert server.connections == 1  # chunked answers end cleanly: reusable


async def test_connection_close_is_not_reused(serve) -> None:
    server = await serve(answer(b"HTTP/1.1 202 Accepted\r\nConnection: close\r\n\r\n"))
    pool = lan_pool()
    assert (await pool.post(server.url(), b"1")).status_code == 202
    assert (await pool.post(server.url(), b"2")).status_code == 202
    assert server.connections == 2
    assert len(pool._idle) == 0


async def test_body_delimited_by_close(serve) -> None:
    async def handler(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 500 Oops\r\n\r\npartial body")
        await writer.drain()
        writer.close()

    server = await serve(handler)
    response = await lan_pool().post(server.url(), b"1")
    assert response.status_code == 500
    assert response.content == b"partial body"


async def test_server_closing_an_idle_connection_is_survived(serve) -> None:
    async def handler(request: Request, writer: asyncio.StreamWriter) -> None:
        # Keep-alive promised, then the connection dropped right after the answer.
        writer.write(OK)
        await writer.drain()
        writer.close()

    server = await serve(handler)
    pool = lan_pool()
    for _ in range(3):
        assert (await pool.post(server.url(), b"1")).status_code == 202
        await asyncio.sleep(0.01)
    assert server.connections == 3


async def test_stale_connection_is_retried_once_on_a_fresh_one(serve) -> None:
    server = await serve(answer(OK))
    pool = lan_pool()
    assert (await pool.post(server.url(), b"1")).status_code == 202
    # The server dropped it while idle, and we have not noticed yet.
    (connection,) = list(pool._idle)
    assert connection.transport is not None
    connection.transport.abort()  # connection_lost runs only after the next request starts
    assert (await pool.post(server.url(), b"2")).status_code == 202
    assert [r.body for r in server.requests] == [b"1", b"2"]
    assert server.connections == 2


async def test_body_is_capped_and_connection_dropped(serve) -> None:
    big = b"x" * 100_000
    server = await serve(
        answer(b"HTTP/1.1 400 Bad\r\nContent-Length: %d\r\n\r\n%s" % (len(big), big))
    )
    pool = lan_pool(max_body=1000)
    response = await pool.post(server.url(), b"1")
    assert response.status_code == 400
    assert response.content == b"x" * 1000 and response.truncated
    assert len(pool._idle) == 0


async def test_read_timeout(serve) -> None:
    async def silent(request: Request, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(5)

    server = await serve(silent)
    pool = lan_pool(read_timeout=0.2)
    with pytest.raises(FetchError, match="read timed out") as caught:
        await pool.post(server.url(), b"1")
    assert caught.value.status is None


async def test_total_timeout_stops_a_trickle(serve) -> None:
    async def trickle(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
        for _ in range(100):
            writer.write(b"x")
            await writer.drain()
            await asyncio.sleep(0.05)

    server = await serve(trickle)
    pool = lan_pool(read_timeout=1.0, timeout=0.4)
    started = asyncio.get_running_loop().time()
    with pytest.raises(FetchError, match="within") as caught:
        await pool.post(server.url(), b"1")
    assert caught.value.status is None
    assert asyncio.get_running_loop().time() - started < 1.0


async def test_connect_timeout_covers_resolution() -> None:
    async def slow_dns(host: str, port: int) -> list[tuple[str, int]]:
        await asyncio.sleep(5)
        return [("127.0.0.1", port)]

    pool = lan_pool(connect_timeout=0.1, resolver=slow_dns)
    with pytest.raises(FetchError, match="timed out") as caught:
        await pool.post("http://slow.example/inbox", b"1")
    assert caught.value.status is None


async def test_refused_connection_is_a_fetch_error() -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    with pytest.raises(FetchError) as caught:
        await lan_pool().post(f"http://127.0.0.1:{port}/inbox", b"1")
    assert caught.value.status is None
    assert not isinstance(caught.value, BlockedAddressError)


async def test_garbage_answer_is_a_fetch_error(serve) -> None:
    server = await serve(answer(b"SMTP ready\r\n\r\n"))
    with pytest.raises(FetchError) as caught:
        await lan_pool().post(server.url(), b"1")
    assert caught.value.status is None


async def test_per_host_connection_limit(serve) -> None:
    async def slow(request: Request, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(0.05)
        writer.write(OK)
        await writer.drain()

    server = await serve(slow)
    pool = lan_pool(max_per_host=2)
    answers = await asyncio.gather(*(pool.post(server.url(), b"%d" % i) for i in range(8)))
    assert [a.status_code for a in answers] == [202] * 8
    assert server.most_open == 2 and server.connections == 2


async def test_waiting_for_a_connection_counts_against_the_timeout(serve) -> None:
    async def slow(request: Request, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(0.5)
        writer.write(OK)
        await writer.drain()

    server = await serve(slow)
    pool = lan_pool(max_per_host=1, timeout=0.3)
    results = await asyncio.gather(
        pool.post(server.url(), b"1"), pool.post(server.url(), b"2"), return_exceptions=True
    )
    assert all(isinstance(r, FetchError) for r in results)
    # The pool is not wedged afterwards.
    pool.timeout = 5
    assert (await pool.post(server.url(), b"3")).status_code == 202


async def test_idle_connections_expire_and_are_bounded(serve) -> None:
    servers = [await serve(answer(OK)) for _ in range(3)]
    pool = lan_pool(max_idle=2, keepalive_expiry=0.05)
    for server in servers:
        await pool.post(server.url(), b"1")
    assert len(pool._idle) == 2  # the oldest was closed
    await asyncio.sleep(0.1)
    assert pool.close_expired() == 2
    assert len(pool._idle) == 0
    assert (await pool.post(servers[0].url(), b"2")).status_code == 202
    assert servers[0].connections == 2


@pytest.mark.parametrize(
    ("url", "addresses"),
    [
        ("https://inbox.example/inbox", [("127.0.0.1", 443)]),
        ("https://inbox.example/inbox", [("93.184.216.34", 443), ("10.0.0.5", 443)]),
        ("https://inbox.example/inbox", [("::ffff:192.168.1.1", 443)]),
        ("https://127.0.0.1/inbox", None),
        ("https://localhost/inbox", None),
        ("http://inbox.example/inbox", None),
    ],
)
async def test_private_addresses_are_refused(url, addresses, actor_private_pem) -> None:
    dialled: list[str] = []

    async def resolver(host: str, port: int) -> list[tuple[str, int]]:
        dialled.append(host)
        return addresses or [("93.184.216.34", port)]

    pool = Http1Pool(allow_private=False, user_agent="t", resolver=resolver)
    with pytest.raises(BlockedAddressError):
        await pool.post(url, b"1")
    with pytest.raises(BlockedAddressError):
        await signed_post(pool, url, b"1", key_id="k", private_key_pem=actor_private_pem)


async def test_dials_the_checked_address(serve) -> None:
    """The guard's answer is what is dialled; the Host header keeps the name."""
    server = await serve(answer(OK))
    seen: list[tuple[str, int]] = []

    async def resolver(host: str, port: int) -> list[tuple[str, int]]:
        seen.append((host, port))
        return [("127.0.0.1", server.port)]

    pool = lan_pool(resolver=resolver)
    assert (await pool.post("http://inbox.example/inbox", b"1")).status_code == 202
    assert seen == [("inbox.example", 80)]
    assert server.requests[0].headers["host"] == "inbox.example"


async def test_signed_post(serve, actor_private_pem) -> None:
    server = await serve(answer(OK))
    pool = lan_pool()
    body = b'{"type":"Create"}'
    url = server.url("/users/a/inbox")
    key_id = "https://x.example/actor#main-key"
    response = await signed_post(pool, url, body, key_id=key_id, private_key_pem=actor_private_pem)
    assert response.status_code == 202
    request = server.requests[0]
    assert request.body == body
    verify_digest(request.headers["digest"], body)
    signature = signature_from_headers(request.headers)
    assert signature.key_id == key_id
    assert signature.headers == ["(request-target)", "host", "date", "digest", "content-type"]
    assert request.headers["content-type"] == "application/activity+json"


async def test_against_uvicorn(unused_port: int) -> None:
    uvicorn = pytest.importorskip("uvicorn")
    seen: list[bytes] = []

    async def app(scope, receive, send) -> None:  # type: ignore[no-untyped-def]
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        seen.append(body)
        await send({"type": "http.response.start", "status": 202, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    config = uvicorn.Config(app, host="127.0.0.1", port=unused_port, log_level="error")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(500):
            if server.started:
                break
            await asyncio.sleep(0.01)
        pool = lan_pool()
        url = f"http://127.0.0.1:{unused_port}/inbox"
        answers = await asyncio.gather(*(pool.post(url, b"%d" % i) for i in range(20)))
        assert {a.status_code for a in answers} == {202}
        assert sorted(seen) == sorted(b"%d" % i for i in range(20))
        assert len(pool._idle) == 4  # max_per_host, all kept alive
        await pool.aclose()
    finally:
        server.should_exit = True
        await task


@pytest.fixture
def unused_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _certificate(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "inbox.example")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("inbox.example")]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


async def test_tls_verifies_the_host_name(tmp_path: Path) -> None:
    cert_file, key_file = _certificate(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert_file, key_file)
    snis: list[str | None] = []
    server_tls.sni_callback = lambda sock, name, ctx: snis.append(name)  # type: ignore[assignment,misc,func-returns-value]

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(OK)
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=server_tls)
    port = server.sockets[0].getsockname()[1]

    async def resolver(host: str, _port: int) -> list[tuple[str, int]]:
        return [("127.0.0.1", port)]

    client_tls = ssl.create_default_context(cafile=str(cert_file))
    try:
        pool = lan_pool(resolver=resolver, ssl_context=client_tls)
        response = await pool.post("https://inbox.example/inbox", b"1")
        assert response.status_code == 202
        assert snis == ["inbox.example"]
        # The same certificate for another name is refused.
        with pytest.raises(FetchError) as caught:
            await pool.post("https://other.example/inbox", b"1")
        assert caught.value.status is None
        # And a certificate nobody vouches for is refused too.
        untrusting = lan_pool(resolver=resolver)
        with pytest.raises(FetchError):
            await untrusting.post("https://inbox.example/inbox", b"1")
    finally:
        server.close()


async def test_ip_literals_resolve_to_themselves() -> None:
    assert await resolve("::1", 80) == [("::1", 80)]
    assert await resolve("127.0.0.1", 443) == [("127.0.0.1", 443)]
