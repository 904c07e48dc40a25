"""SSRF guard: address classification, URL checks, and a real local socket."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from federation.errors import BlockedAddressError, FetchError
from federation.netguard import check_url, is_public_address, make_http_client


@pytest.mark.parametrize(
    ("ip", "public"),
    [
        ("8.8.8.8", True),
        ("1.1.1.1", True),
        ("2606:4700:4700::1111", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # cloud metadata
        ("100.64.0.1", False),  # CGNAT
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("240.0.0.1", False),
        ("255.255.255.255", False),
        ("192.0.2.1", False),  # documentation
        ("198.18.0.1", False),  # benchmarking
        ("::1", False),
        ("::", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("ff02::1", False),
        ("::ffff:127.0.0.1", False),  # IPv4-mapped loopback
        ("::ffff:8.8.8.8", True),
        ("2002:7f00:0001::1", False),  # 6to4 wrapping 127.0.0.1
        ("2002:0808:0808::1", True),  # 6to4 wrapping 8.8.8.8
        ("64:ff9b::a00:1", False),  # NAT64 wrapping 10.0.0.1
        ("fe80::1%eth0", False),
        ("not-an-ip", False),
    ],
)
def test_address_classification(ip: str, public: bool) -> None:
    assert is_public_address(ip) is public


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/",
        "ftp://example.com/",
        "file:///etc/passwd",
        "https://user:pw@example.com/",
        "https:///nohost",
        "https://127.0.0.1/",
        "https://[::1]/",
        "https://10.0.0.1:8443/x",
        "https://localhost/",
        "https://a.localhost/",
        "https://example.com:99999/",
        # Hosts httpx or IDNA would raise on, or that are no host name at all.
        "https://exa\tmple.com/",
        "https://xn--a.com/",
        "https://exa mple.com/",
        "https://ex<ample>.com/",
        "https://exa%00mple.com/",
    ],
)
def test_check_url_refuses(url: str) -> None:
    with pytest.raises(BlockedAddressError):
        check_url(url, allow_private=False)


def test_check_url_accepts() -> None:
    check_url("https://example.com/users/a?x=1", allow_private=False)
    check_url("https://8.8.8.8/", allow_private=False)
    check_url("https://bücher.example/users/a", allow_private=False)  # IDN hosts are fine
    check_url("https://[2001:4860:4860::8888]/", allow_private=False)
    check_url("http://127.0.0.1:8000/", allow_private=True)
    check_url("http://localhost:8000/", allow_private=True)
    with pytest.raises(BlockedAddressError):
        check_url("ftp://localhost/", allow_private=True)


@pytest.fixture
async def local_server() -> AsyncIterator[int]:
    """A minimal HTTP/1.1 server on 127.0.0.1 answering 200 "ok"."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield port


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_guarded_client_refuses_local_socket(local_server: int, host: str) -> None:
    async with make_http_client(allow_private=False, user_agent="test") as client:
        with pytest.raises(BlockedAddressError) as caught:
            await client.get(f"http://{host}:{local_server}/")
    assert isinstance(caught.value, FetchError)


async def test_unguarded_client_reaches_local_socket(local_server: int) -> None:
    async with make_http_client(allow_private=True, user_agent="slowpub-test") as client:
        response = await client.get(f"http://localhost:{local_server}/")
    assert response.status_code == 200
    assert response.text == "ok"


async def test_unresolvable_host_is_connect_error() -> None:
    async with make_http_client(allow_private=False, user_agent="test", timeout=5) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get("http://does-not-exist.invalid/")
