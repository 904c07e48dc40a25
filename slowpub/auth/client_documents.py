"""Fetching client metadata documents within bounds a stranger cannot stretch.

Anyone may open ``/oauth/authorize?client_id=<any URL>``, so every fetch of
a client metadata document is a request we make for a stranger, against a
host of their choosing. What one such request may cost is bounded here: a
short deadline for the whole fetch (a free slot included), a small size cap,
a few fetches in flight at once, one fetch for many simultaneous requests
naming the same client, and a memory of outcomes: a client_id that failed
is not fetched again for :data:`FAILED_TTL`, nor is any client_id on a host
where :data:`HOST_FAILURE_LIMIT` of them failed (or one fetch overran the
deadline), and a document fetched well is reused for :data:`FRESH_TTL`.
Nothing is stored in the database until a valid document arrives (see
:func:`slowpub.auth.clients.resolve_metadata_client`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

DOCUMENT_DEADLINE = 5.0
MAX_DOCUMENT_BYTES = 64 * 1024
FETCH_SLOTS = 4
FAILED_TTL = timedelta(minutes=5)
HOST_FAILURE_LIMIT = 3
FRESH_TTL = timedelta(minutes=5)
# Entries remembered before the memory is wiped (bounded like the key cache).
MEMORY_SIZE = 10_000

T = TypeVar("T")


class DocumentUnavailable(Exception):
    """No usable document; ``busy`` when only our own limit stood in the way."""

    def __init__(self, reason: str, *, busy: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.busy = busy


class _Refused(DocumentUnavailable):
    """Not fetched: the client_id or its host failed moments ago."""


def host_of(client_id: str) -> str:
    return (urlsplit(client_id).hostname or "").lower()


@dataclass
class ClientDocuments:
    """The per-process memory and limits; one lives on each Context."""

    slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(FETCH_SLOTS))
    # client_id -> (when it failed, why)
    failed: dict[str, tuple[datetime, str]] = field(default_factory=dict)
    # host -> (since, failed client_ids)
    failed_hosts: dict[str, tuple[datetime, int]] = field(default_factory=dict)
    # client_id -> when its document was last fetched and found valid
    fetched: dict[str, datetime] = field(default_factory=dict)
    in_flight: dict[str, asyncio.Future[Any]] = field(default_factory=dict)

    def is_fresh(self, client_id: str, now: datetime) -> bool:
        fetched = self.fetched.get(client_id)
        return fetched is not None and now - fetched < FRESH_TTL

    def _refusal(self, client_id: str, now: datetime) -> str | None:
        failed = self.failed.get(client_id)
        if failed is not None and now - failed[0] < FAILED_TTL:
            return failed[1]
        since, count = self.failed_hosts.get(host_of(client_id), (now, 0))
        if count >= HOST_FAILURE_LIMIT and now - since < FAILED_TTL:
            return f"documents on {host_of(client_id)} failed moments ago"
        return None

    def _record_failure(self, client_id: str, now: datetime, reason: str, *, host: bool) -> None:
        if len(self.failed) > MEMORY_SIZE:
            self.failed.clear()
            self.failed_hosts.clear()
        self.failed[client_id] = (now, reason)
        name = host_of(client_id)
        since, count = self.failed_hosts.get(name, (now, 0))
        if now - since >= FAILED_TTL:
            since, count = now, 0
        count = HOST_FAILURE_LIMIT if host else count + 1
        self.failed_hosts[name] = (now if count >= HOST_FAILURE_LIMIT else since, count)

    def _record_success(self, client_id: str, now: datetime) -> None:
        if len(self.fetched) > MEMORY_SIZE:
            self.fetched.clear()
        self.fetched[client_id] = now
        self.failed.pop(client_id, None)

    async def resolve(
        self,
        client_id: str,
        now: datetime,
        fetch: Callable[[], Awaitable[dict[str, Any]]],
        store: Callable[[dict[str, Any]], Awaitable[T]],
    ) -> T:
        """``store(await fetch())`` under the limits above; ``fetch`` raises
        DocumentUnavailable. Only the fetch runs against the deadline.

        Callers naming a client_id already being resolved wait for that one,
        and success is recorded only once stored, so whoever finds it fresh
        also finds it in the database.
        """
        refusal = self._refusal(client_id, now)
        if refusal is not None:
            raise _Refused(f"{refusal}; not fetched again yet, try again in a few minutes")
        running = self.in_flight.get(client_id)
        if running is not None:
            return await asyncio.shield(running)  # type: ignore[no-any-return]
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.in_flight[client_id] = future
        try:
            stored = await store(await self._fetch_once(client_id, now, fetch))
            self._record_success(client_id, now)
        except DocumentUnavailable as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning without waiters
            raise
        except BaseException as exc:
            future.set_exception(DocumentUnavailable(f"fetch interrupted: {exc!r}", busy=True))
            future.exception()
            raise
        else:
            future.set_result(stored)
            return stored
        finally:
            del self.in_flight[client_id]

    async def _fetch_once(
        self,
        client_id: str,
        now: datetime,
        get: Callable[[], Awaitable[dict[str, Any]]],
    ) -> dict[str, Any]:
        holding = False
        try:
            async with asyncio.timeout(DOCUMENT_DEADLINE):
                async with self.slots:
                    holding = True
                    # Again in the slot: its host may have failed while this one waited.
                    refusal = self._refusal(client_id, now)
                    if refusal is not None:
                        raise _Refused(f"{refusal}; not fetched again yet")
                    doc = await get()
        except TimeoutError as exc:
            if not holding:
                raise DocumentUnavailable(
                    "too many client documents are being fetched; try again", busy=True
                ) from exc
            reason = f"it was not served within {DOCUMENT_DEADLINE:g} s"
            self._record_failure(client_id, now, reason, host=True)
            raise DocumentUnavailable(reason) from exc
        except DocumentUnavailable as exc:
            if exc.busy or isinstance(exc, _Refused):
                raise
            self._record_failure(client_id, now, exc.reason, host=False)
            raise
        return doc
