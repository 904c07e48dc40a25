"""Outgoing deliveries: one signed POST of one activity to one inbox.

A delivery is written as a row in the same transaction as the change that
caused it, so nothing is lost between deciding to send and sending.
:func:`deliver_due` is what the workers run: it claims due rows, signs with
the author's key, POSTs them (at most ``PER_HOST_CONCURRENCY`` at a time per
host, oldest first), and records the outcome or schedules a retry with
Mastodon-like backoff (about two and a half days in all).

A pass is a pipeline, not a series of batches: while earlier rows are being
signed and sent, the next rows are claimed, and outcomes are written by one
background writer. Batches with a barrier each (claim 200, send them all,
write, claim again) left the sender idle on the slowest host of every batch
and kept the CPU (RSA signatures, ~0.3-0.8 ms each) from overlapping the
network waits. How far the claimer may run ahead is bounded (rows claimed but
not yet finished), as is the number of requests open at once, so a post to
ten thousand hosts neither holds leases it cannot use soon nor opens ten
thousand sockets.

Requests go through the lean keep-alive pool (``federation.http1``) in
production, or through injected httpx clients (tests route them to
in-process apps) via ``federation.fetch.signed_post``.

Outcomes are written in small batches (a transaction per POST would cost
more than the POST): if the process dies, at most the requests whose
outcome was not yet written are sent again, and receivers de-duplicate by
activity id.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections import deque
from collections.abc import Mapping
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, NamedTuple, Protocol

import httpx
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from federation import http1
from federation.errors import BlockedAddressError, FederationError
from federation.fetch import signed_post
from federation.vocab import host_of
from slowpub import urls
from slowpub.context import Context
from slowpub.delivery import hosts
from slowpub.delivery.outcomes import Outcome, OutcomeWriter
from slowpub.social.instance_actor import signing_identity
from slowpub.storage.claims import LEASE, claim
from slowpub.storage.models import Delivery, User

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 16
PER_HOST_CONCURRENCY = 4
BATCH = 500  # rows per claim: fewer, larger claims cost less CPU per row
# A claimed row not sent within its lease minus this margin is left alone:
# its lease runs out and it is claimed again (here or by another worker),
# rather than risk two workers sending it at once.
LEASE_MARGIN = timedelta(minutes=1)
# Requests open at once over all hosts (sockets, memory): far more than the
# sender's CPU can keep busy, far fewer than a process's file descriptors.
MAX_IN_FLIGHT = 256
# Rows one pass takes on before it returns to the worker loop.
PASS_ROWS = 10_000
# 4xx answers that may succeed later; every other 4xx is final.
RETRYABLE_4XX = frozenset({401, 408, 429})


def add_delivery(
    session: AsyncSession,
    *,
    user: User | None,
    activity: dict[str, Any],
    inbox: str,
    now: datetime,
) -> None:
    """Queue ``activity`` for ``inbox`` inside the caller's transaction."""
    session.add(
        Delivery(
            user_id=user.id if user is not None else None,
            activity_uri=activity["id"],
            activity_type=activity["type"],
            inbox_url=inbox,
            body=json.dumps(activity),
            state="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
    )


async def add_deliveries(
    session: AsyncSession,
    *,
    user: User | None,
    activity: dict[str, Any],
    inboxes: list[str],
    now: datetime,
) -> int:
    """Queue ``activity`` for many inboxes with one multi-row INSERT (fan-out)."""
    if not inboxes:
        return 0
    body = json.dumps(activity)
    rows = [
        {
            "user_id": user.id if user is not None else None,
            "activity_uri": activity["id"],
            "activity_type": activity["type"],
            "inbox_url": inbox,
            "body": body,
            "state": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for inbox in inboxes
    ]
    # Core, not ORM: the ORM's bulk path costs ~70 us a row in Python.
    connection = await session.connection()
    await connection.execute(insert(Delivery.__table__), rows)
    return len(rows)


def backoff(attempts: int) -> timedelta:
    """Mastodon's schedule: n⁴ + 15 seconds plus jitter."""
    return timedelta(seconds=attempts**4 + 15 + random.uniform(0, 10) * (attempts + 1))


class _HasHeaders(Protocol):
    @property
    def headers(self) -> Mapping[str, str]: ...


def retry_after(response: _HasHeaders, now: datetime) -> timedelta | None:
    """How long a 429/503 asks us to wait (``Retry-After``: seconds or a date)."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    if value.strip().isascii() and value.strip().isdigit():  # not "²": int() refuses it
        return timedelta(seconds=min(int(value), 86400))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(timedelta(0), min(when - now, timedelta(days=1)))


Signer = tuple[str, str]  # (keyId, private key PEM)


async def _signers(ctx: Context, user_ids: set[int | None]) -> dict[int | None, Signer | None]:
    """(keyId, private PEM) of each sender in a batch, looked up once; None if gone."""
    signers: dict[int | None, Signer | None] = {}
    if None in user_ids:
        signers[None] = await signing_identity(ctx)
    ids = sorted(u for u in user_ids if u is not None)
    if ids:
        async with ctx.db.sessions() as session:
            users = (await session.execute(select(User).where(User.id.in_(ids)))).scalars()
            for user in users:
                signers[user.id] = (urls.key_id(user.actor.uri), user.private_key_pem)
    for user_id in ids:
        signers.setdefault(user_id, None)
    return signers


class _Row(NamedTuple):
    """The columns of a claimed delivery that sending needs."""

    id: int
    user_id: int | None
    inbox_url: str
    body: str
    attempts: int
    activity_type: str
    host: str
    send_by: datetime  # the lease, less LEASE_MARGIN


_COLUMNS = (
    Delivery.id,
    Delivery.user_id,
    Delivery.inbox_url,
    Delivery.body,
    Delivery.attempts,
    Delivery.activity_type,
)


def _decide(
    delivery: _Row,
    now: datetime,
    status: int | None,
    error: str | None,
    final: bool,
    delay: timedelta | None,
    host: str,
) -> Outcome:
    attempts = delivery.attempts + 1
    if error is None:
        return Outcome(delivery.id, host, attempts, status, None, "done", reachable=True)
    reachable = status is not None and status < 500 and status not in (408, 429)
    if final or attempts >= MAX_ATTEMPTS:
        return Outcome(delivery.id, host, attempts, status, error, "failed", reachable=reachable)
    retry_at = now + max(delay or timedelta(0), backoff(attempts))
    return Outcome(delivery.id, host, attempts, status, error, "pending", retry_at, reachable)


async def _send(ctx: Context, delivery: _Row, signer: Signer, host: str) -> Outcome:
    """POST one delivery; decide whether it is done, final or to be retried."""
    now = ctx.clock.now()
    pool = ctx.host_clients.pool if ctx.host_clients is not None else None
    response: http1.Response | httpx.Response
    try:
        if pool is not None:
            response = await http1.signed_post(
                pool,
                delivery.inbox_url,
                delivery.body.encode(),
                key_id=signer[0],
                private_key_pem=signer[1],
                now=now,
            )
        else:
            response = await signed_post(
                ctx.delivery_client(host),
                delivery.inbox_url,
                delivery.body.encode(),
                key_id=signer[0],
                private_key_pem=signer[1],
                allow_private=ctx.settings.allow_private_networks,
                now=now,
            )
    except BlockedAddressError as exc:
        return _decide(delivery, now, None, f"refused: {exc}"[:500], True, None, host)
    except (httpx.HTTPError, FederationError) as exc:
        return _decide(delivery, now, None, f"{type(exc).__name__}: {exc}"[:500], False, None, host)
    status = response.status_code
    if 200 <= status < 300:
        return _decide(delivery, now, status, None, True, None, host)
    final = 400 <= status < 500 and status not in RETRYABLE_4XX
    delay = retry_after(response, now) if status in (429, 503) else None
    log.info("delivery %s to %s: HTTP %s", delivery.activity_type, delivery.inbox_url, status)
    return _decide(delivery, now, status, f"HTTP {status}", final, delay, host)


class _Pass:
    """One :func:`deliver_due` pass: a claimer feeding per-host queues and workers.

    The claimer claims ``limit`` rows at a time while fewer than
    ``2 * limit`` claimed rows are unfinished; per host, up to
    ``PER_HOST_CONCURRENCY`` workers take rows oldest first; all of them
    together hold at most ``MAX_IN_FLIGHT`` requests open.
    """

    def __init__(self, ctx: Context, limit: int) -> None:
        self.ctx = ctx
        self.limit = max(1, limit)
        self.high_water = 2 * self.limit
        self.writer = OutcomeWriter(ctx)
        self.signers: dict[int | None, Signer | None] = {}
        self.known_hosts: set[str] = set()
        self.down: set[str] = set()
        self.queues: dict[str, deque[_Row]] = {}
        self.workers: dict[str, int] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self.unfinished = 0
        self.room = asyncio.Event()
        self.slots = asyncio.Semaphore(MAX_IN_FLIGHT)

    async def run(self) -> int:
        claimed = 0
        try:
            while claimed < PASS_ROWS:
                while self.unfinished >= self.high_water:
                    self.room.clear()
                    await self.room.wait()
                now = self.ctx.clock.now()
                ids = await claim(
                    self.ctx.db, Delivery, now, self.limit, owner=self.ctx.lease_owner
                )
                if not ids:
                    break
                claimed += len(ids)
                rows = await self._load(ids, now + LEASE - LEASE_MARGIN)
                self._enqueue(rows)
                if len(ids) < self.limit:
                    break
        except asyncio.CancelledError:
            # Shutting down: stop sending, but record what was sent, so that a
            # worker taking over the released leases does not send it again.
            for task in self.tasks:
                task.cancel()
            await asyncio.gather(*self.tasks, return_exceptions=True)
            with contextlib.suppress(Exception):
                await self.writer.flush()
            raise
        except Exception:
            # A claim failed (the database, say): finish and record what was
            # already claimed, then let the worker loop log it.
            await self._finish()
            raise
        await self._finish()
        return claimed

    async def _finish(self) -> None:
        """Wait for every worker, write every outcome; then raise what a worker raised."""
        results = await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.writer.flush()
        for result in results:
            if isinstance(result, BaseException):
                raise result

    async def _load(self, ids: list[int], send_by: datetime) -> list[_Row]:
        """The claimed rows, plus what is new about their senders and hosts."""
        async with self.ctx.db.sessions() as session:
            result = await session.execute(select(*_COLUMNS).where(Delivery.id.in_(ids)))
            rows = sorted(
                (_Row(*r, host_of(r.inbox_url), send_by) for r in result), key=lambda r: r.id
            )
            new_hosts = {row.host for row in rows} - self.known_hosts
            self.down |= await hosts.unavailable_hosts(session, new_hosts)
            self.known_hosts |= new_hosts
        new_users = {row.user_id for row in rows} - self.signers.keys()
        if new_users:
            self.signers.update(await _signers(self.ctx, new_users))
        return rows

    def _enqueue(self, rows: list[_Row]) -> None:
        self.unfinished += len(rows)
        touched: dict[str, deque[_Row]] = {}
        for row in rows:
            queue = self.queues.get(row.host)
            if queue is None:
                queue = self.queues[row.host] = deque()
            queue.append(row)
            touched[row.host] = queue
        for host, queue in touched.items():
            running = self.workers.get(host, 0)
            for _ in range(min(PER_HOST_CONCURRENCY - running, len(queue))):
                self.workers[host] = self.workers.get(host, 0) + 1
                task = asyncio.create_task(self._worker(host, queue))
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)

    async def _worker(self, host: str, queue: deque[_Row]) -> None:
        try:
            while queue:
                row = queue.popleft()
                try:
                    outcome = await self._attempt(row, host)
                    if outcome is not None:
                        self.writer.add_nowait(outcome)
                finally:
                    self.unfinished -= 1
                    if self.unfinished < self.high_water:
                        self.room.set()
        finally:
            self.workers[host] -= 1
            if not self.workers[host]:
                del self.workers[host]
                if not queue:
                    del self.queues[host]

    async def _attempt(self, row: _Row, host: str) -> Outcome | None:
        """Send one row (or decide without sending); None: left for a later claim."""
        signer = self.signers.get(row.user_id)
        if signer is None:
            return Outcome(
                row.id,
                host,
                row.attempts,
                None,
                "the sending account no longer exists",
                "failed",
                reachable=True,
            )
        if host in self.down:
            return Outcome(
                row.id,
                host,
                row.attempts,
                None,
                f"{host} is unavailable (failing for days)",
                "failed",
                reachable=True,
            )
        try:
            async with self.slots:
                if self.ctx.clock.now() > row.send_by:
                    log.info("delivery %s to %s: lease running out, left", row.id, host)
                    return None
                return await _send(self.ctx, row, signer, host)
        except Exception as exc:  # a bug or a bad row must not stall the pass
            log.exception("delivery %s to %s failed unexpectedly", row.id, row.inbox_url)
            error = f"{type(exc).__name__}: {exc}"[:500]
            return _decide(row, self.ctx.clock.now(), None, error, False, None, host)


async def deliver_due(ctx: Context, limit: int = BATCH) -> int:
    """Deliver what is due now; returns how many rows were attempted.

    ``limit`` is how many rows one claim takes; the pass keeps claiming (up
    to ``PASS_ROWS``) while claims come back full.
    """
    done = await _Pass(ctx, limit).run()
    if ctx.host_clients is not None:
        await ctx.host_clients.close_retired()
    return done
