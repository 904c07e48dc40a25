"""The clients deliveries go through: a lean keep-alive pool, or httpx per host.

In production deliveries use :class:`federation.http1.Http1Pool`: plain
HTTP/1.1 on asyncio transports, a few keep-alive connections per destination
host (the per-host limit that protects small servers), idle ones closed.
Through httpx a POST costs about ten times its CPU (see shared/PERFORMANCE.md
and federation/http1.py), more than its RSA signature.

When a ``client_factory`` is injected (tests route every request to
in-process ASGI apps through an httpx transport), deliveries keep going
through httpx instead: one small client per host, because a single shared
httpx client with many requests in flight is slow (httpcore scans its whole
pool on every request). Idle clients are closed, least recently used first,
so thousands of hosts cannot pile up sockets.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

import httpx

from federation.http1 import Http1Pool, Resolver, resolve

ClientFactory = Callable[[int], httpx.AsyncClient]


def delivery_pool(
    *, allow_private: bool, user_agent: str, per_host: int = 4, resolver: Resolver | None = None
) -> Http1Pool:
    """The production delivery client: guarded unless ``allow_private``.

    ``resolver`` replaces DNS (benchmarks dial one local server for every
    host name); the SSRF guard still checks what it returns.
    """
    return Http1Pool(
        allow_private=allow_private,
        user_agent=user_agent,
        max_per_host=per_host,
        resolver=resolver or resolve,
    )


class HostClients:
    """Per-host httpx clients from ``factory``; ``pool``, when set, is used instead."""

    def __init__(
        self,
        factory: ClientFactory,
        *,
        per_host: int = 4,
        keep: int = 256,
        pool: Http1Pool | None = None,
    ) -> None:
        self._factory = factory
        self._per_host = per_host
        self._keep = keep
        self._clients: OrderedDict[str, httpx.AsyncClient] = OrderedDict()
        self._retired: list[httpx.AsyncClient] = []
        self.pool = pool

    def get(self, host: str) -> httpx.AsyncClient:
        client = self._clients.get(host)
        if client is None:
            client = self._factory(self._per_host)
            self._clients[host] = client
            while len(self._clients) > self._keep:
                # Closed later, not now: a request may still be using it.
                self._retired.append(self._clients.popitem(last=False)[1])
        else:
            self._clients.move_to_end(host)
        return client

    async def close_retired(self) -> None:
        """Close what is no longer needed: retired clients, expired idle connections."""
        if self.pool is not None:
            self.pool.close_expired()
        retired, self._retired = self._retired, []
        for client in retired:
            await client.aclose()

    async def aclose(self) -> None:
        await self.close_retired()
        clients = list(self._clients.values())
        self._clients.clear()
        for client in clients:
            await client.aclose()
        if self.pool is not None:
            await self.pool.aclose()
