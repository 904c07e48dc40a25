"""One small HTTP client per destination host, for deliveries.

A single shared httpx client with many requests in flight is slow (httpcore
scans its whole pool on every request: see shared/PERFORMANCE.md); a small
client per host keeps every pool short, and its connection limit is the
per-host concurrency limit that protects small servers. Idle clients are
closed, least recently used first, so thousands of hosts cannot pile up
sockets.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

import httpx

ClientFactory = Callable[[int], httpx.AsyncClient]


class HostClients:
    def __init__(self, factory: ClientFactory, *, per_host: int = 4, keep: int = 256) -> None:
        self._factory = factory
        self._per_host = per_host
        self._keep = keep
        self._clients: OrderedDict[str, httpx.AsyncClient] = OrderedDict()
        self._retired: list[httpx.AsyncClient] = []

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
        retired, self._retired = self._retired, []
        for client in retired:
            await client.aclose()

    async def aclose(self) -> None:
        await self.close_retired()
        clients = list(self._clients.values())
        self._clients.clear()
        for client in clients:
            await client.aclose()
