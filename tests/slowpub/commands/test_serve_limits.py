"""Slow clients against a real ``slowpub serve``: they are cut off, not waited for.

Each test opens a raw socket and misbehaves the way a slowloris does:
dribbling a request's head or its body a byte at a time, or sending a head
far larger than any real client's. The server runs with one-second
timeouts, so each must be answered (or the connection closed) within a few
seconds, where uvicorn's defaults would have waited forever.
"""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from serve_support import Server

pytestmark = pytest.mark.slow

TIMEOUT = 1.0
GIVE_UP = 8.0  # well past TIMEOUT: a server still reading by then never stops


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = Server("limits", Path(tmp_path_factory.mktemp("serve_limits")), None)
    server.env["SLOWPUB_HEADER_TIMEOUT"] = str(TIMEOUT)
    server.env["SLOWPUB_BODY_TIMEOUT"] = str(TIMEOUT)
    server.cli("init")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def dribble(server: Server, start: bytes, drip: bytes) -> tuple[bytes, float]:
    """Send ``start``, then ``drip`` a byte every 0.1 s; what came back, and when it ended."""
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.settimeout(0.1)
    began = time.monotonic()
    answer = b""
    try:
        sock.sendall(start)
        while time.monotonic() - began < GIVE_UP:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                sock.sendall(drip)
                continue
            if not chunk:
                break  # closed by the server
            answer += chunk
    except (BrokenPipeError, ConnectionResetError):
        pass
    finally:
        sock.close()
    return answer, time.monotonic() - began


def head(server: Server, method: str, path: str, *extra: str) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{server.port}", *extra]
    return ("\r\n".join(lines) + "\r\n").encode()


def test_dribbling_body_gets_408_and_is_closed(server: Server) -> None:
    start = head(
        server,
        "POST",
        "/oauth/token",
        "Content-Type: application/x-www-form-urlencoded",
        "Content-Length: 100000",
        "",
    )
    answer, elapsed = dribble(server, start, b"x")
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"not received in time" in answer
    assert elapsed < TIMEOUT + 3


def test_dribbling_head_is_closed(server: Server) -> None:
    answer, elapsed = dribble(server, head(server, "GET", "/", "X-Slow: a"), b"a")
    assert answer == b""
    assert elapsed < TIMEOUT + 3


@pytest.mark.parametrize(
    ("size", "piece"), [(20_000, 20_000), (100_000, 1000)], ids=["one write", "many writes"]
)
def test_oversized_head_is_refused(server: Server, size: int, piece: int) -> None:
    data = head(server, "GET", "/", "X-Big: " + "a" * size, "", "")
    sock = socket.create_connection(("127.0.0.1", server.port))
    try:
        for at in range(0, len(data), piece):
            # Stop writing once the server has answered, as a client would.
            if select.select([sock], [], [], 0.005)[0]:
                break
            sock.sendall(data[at : at + piece])
        sock.settimeout(GIVE_UP)
        answer = sock.recv(65536)
    finally:
        sock.close()
    assert answer.startswith(b"HTTP/1.1 431"), answer[:200]
    assert b"head larger" in answer


def test_large_bodies_over_a_real_socket(server: Server) -> None:
    """The body cap, and a body just under it in one write, through uvicorn itself."""
    json_type = {"Content-Type": "application/json"}
    near = httpx.post(
        server.base + "/oauth/register", content=b" " * 900_000 + b"{}", headers=json_type
    )
    assert near.status_code == 400 and near.json()["error"] == "invalid_redirect_uri"
    chunked = httpx.post(
        server.base + "/oauth/register",
        content=iter([b"[" * 65536] * 64),  # 4 MiB without a Content-Length
        headers=json_type,
    )
    assert chunked.status_code == 413 and "body" in chunked.json()["error"]
