"""SSRF protection: never let a remote document make us connect inward.

Every URL we fetch or deliver to comes from strangers (actor documents,
WebFinger answers, redirects), so the app must refuse loopback, private and
other non-public addresses. Checking the hostname is not enough — DNS may
resolve to 127.0.0.1, or change between check and connect (rebinding) — so the
HTTP client's network backend resolves names itself, refuses if any address
is not public, and connects to the very address it checked.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
import ssl
from collections.abc import Iterable
from urllib.parse import urlsplit

import httpcore
import httpx

from federation.errors import BlockedAddressError

_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def _embedded_ipv4(addr: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address can lead to (mapped, 6to4, Teredo, NAT64)."""
    found: list[ipaddress.IPv4Address] = []
    if addr.ipv4_mapped is not None:
        found.append(addr.ipv4_mapped)
    if addr.sixtofour is not None:
        found.append(addr.sixtofour)
    if addr.teredo is not None:
        found.extend(addr.teredo)
    if addr in _NAT64:
        found.append(ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF))
    return found


def _public(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        # ::ffff:a.b.c.d is just an IPv4 address spelled in IPv6.
        return _public(addr.ipv4_mapped)
    if (
        addr.is_private
        or addr.is_loopback
        or addr.is_link_local
        or addr.is_multicast
        or addr.is_reserved
        or addr.is_unspecified
    ):
        return False
    if isinstance(addr, ipaddress.IPv4Address):
        return addr not in _CGNAT and addr.is_global
    if addr.is_site_local:
        return False
    embedded = _embedded_ipv4(addr)
    if embedded:
        return all(_public(inner) for inner in embedded)
    return addr.is_global


def is_public_address(ip: str) -> bool:
    """True only for a globally routable unicast address; False for anything else."""
    try:
        addr = ipaddress.ip_address(ip.strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    return _public(addr)


def _ip_literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


# Never part of a host name, though urlsplit and httpx let them through.
_NOT_IN_HOSTS = frozenset('<>"{}|\\^`%')


def check_url(url: str, *, allow_private: bool) -> None:
    """Refuse URLs we must not fetch: bad scheme, userinfo, private IP literals.

    Hostnames are checked again at connect time by ``GuardedNetworkBackend``.
    """
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
        # What httpx will make of it: control characters, spaces in the host
        # and broken IDNA (``xn--a``) fail here, not as an error nobody catches.
        httpx.URL(url).host  # noqa: B018
    except (ValueError, httpx.InvalidURL) as exc:  # IDNA errors are ValueErrors
        raise BlockedAddressError(f"malformed URL {url!r}") from exc
    allowed = ("https", "http") if allow_private else ("https",)
    if parts.scheme.lower() not in allowed:
        raise BlockedAddressError(f"refused scheme in {url!r}")
    if "@" in parts.netloc:
        raise BlockedAddressError("URLs with credentials are refused")
    host = (parts.hostname or "").lower()
    if not host:
        raise BlockedAddressError(f"no host in {url!r}")
    if any(char.isspace() or char in _NOT_IN_HOSTS for char in host):
        raise BlockedAddressError(f"malformed host in {url!r}")
    if allow_private:
        return
    literal = _ip_literal(host)
    if literal is not None and not is_public_address(literal):
        raise BlockedAddressError(f"refused non-public address {literal}")
    if host == "localhost" or host.endswith(".localhost"):
        raise BlockedAddressError("refused localhost")


class GuardedNetworkBackend(httpcore.AsyncNetworkBackend):
    """An httpcore backend that connects only to public addresses.

    TLS still verifies the hostname: httpcore passes ``server_hostname`` from
    the request's origin to ``start_tls``, not from the address we dial.
    """

    def __init__(self, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._inner = inner or httpcore.AnyIOBackend()

    async def _resolve(self, host: str, port: int, limit: float | None) -> list[str]:
        literal = _ip_literal(host)
        if literal is not None:
            return [literal]
        loop = asyncio.get_running_loop()
        try:
            # Resolution counts against the connect timeout, as it does in anyio.
            async with asyncio.timeout(limit):
                infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from exc
        except (socket.gaierror, UnicodeError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        addresses: list[str] = []
        for _family, _type, _proto, _canon, sockaddr in infos:
            address = str(sockaddr[0])
            if address not in addresses:
                addresses.append(address)
        return addresses

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's signature
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self._resolve(host, port, timeout)
        # Refuse if ANY address is private: otherwise an attacker could list a
        # public and a private address and win whenever the private one is tried.
        blocked = [address for address in addresses if not is_public_address(address)]
        if blocked:
            raise BlockedAddressError(f"{host} resolves to non-public address {blocked[0]}")
        if not addresses:
            raise httpcore.ConnectError(f"{host} has no address")
        last_error: Exception = httpcore.ConnectError(f"cannot connect to {host}")
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        raise last_error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's signature
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise BlockedAddressError("unix sockets are refused")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def _install_backend(transport: httpx.AsyncHTTPTransport) -> None:
    """Swap the guarded backend into an httpx transport's connection pool.

    httpx 0.28 exposes no public hook for the network backend, so this reaches
    into ``transport._pool._network_backend``. If a future httpx changes that,
    fail loudly rather than run unguarded.
    """
    pool = getattr(transport, "_pool", None)
    if not isinstance(pool, httpcore.AsyncConnectionPool) or not hasattr(pool, "_network_backend"):
        raise RuntimeError("cannot install the SSRF guard on this httpx version")
    pool._network_backend = GuardedNetworkBackend(pool._network_backend)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One verified TLS context for every client.

    Building one loads the whole CA bundle (~20 ms); the delivery code makes
    a small client per destination host, so sharing it matters.
    """
    return ssl.create_default_context()


def make_http_client(
    *,
    allow_private: bool,
    timeout: float = 10.0,
    user_agent: str,
    max_connections: int = 100,
) -> httpx.AsyncClient:
    """The HTTP client for all federation traffic; guarded unless ``allow_private``.

    ``trust_env=False``: a proxy from the environment would make the guard
    check the proxy's address instead of the target's.
    """
    transport = httpx.AsyncHTTPTransport(
        verify=_tls_context(),
        limits=httpx.Limits(max_connections=max_connections),
        retries=0,
    )
    if not allow_private:
        _install_backend(transport)
    return httpx.AsyncClient(
        transport=transport,
        timeout=timeout,
        headers={"User-Agent": user_agent},
        follow_redirects=False,
        trust_env=False,
    )
