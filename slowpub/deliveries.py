"""Outgoing deliveries: one signed POST of one activity to one inbox.

A delivery is written as a row in the same transaction as the change that
caused it, so nothing is lost between deciding to send and sending.
:func:`deliver_due` is what the workers run: it claims due rows, signs with
the author's key, POSTs through a small per-host client (a few requests at a
time per host), and records the outcome or schedules a retry with
Mastodon-like backoff (about two and a half days in all).

Outcomes are written in small batches (a transaction per POST would cost
more than the POST): if the process dies, at most the requests whose
outcome was not yet written are sent again, and receivers de-duplicate by
activity id.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from sqlalchemy import bindparam, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.errors import BlockedAddressError, FederationError
from federation.fetch import signed_post
from federation.vocab import host_of
from slowpub import hosts, urls
from slowpub.context import Context
from slowpub.instance_actor import signing_identity
from slowpub.models import Delivery, User
from slowpub.queue import claim

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 16
PER_HOST_CONCURRENCY = 4
BATCH = 200
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
    await session.execute(insert(Delivery), rows)
    return len(rows)


def backoff(attempts: int) -> timedelta:
    """Mastodon's schedule: n⁴ + 15 seconds plus jitter."""
    return timedelta(seconds=attempts**4 + 15 + random.uniform(0, 10) * (attempts + 1))


def retry_after(response: httpx.Response, now: datetime) -> timedelta | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    if value.strip().isdigit():
        return timedelta(seconds=min(int(value), 86400))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(timedelta(0), min(when - now, timedelta(days=1)))


async def _signers(
    ctx: Context, user_ids: set[int | None]
) -> dict[int | None, tuple[str, str] | None]:
    """(keyId, private PEM) of each sender in a batch, looked up once; None if gone."""
    signers: dict[int | None, tuple[str, str] | None] = {}
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


@dataclass
class Outcome:
    """What one attempt did; written to its row by :class:`OutcomeWriter`."""

    delivery_id: int
    host: str
    attempts: int
    status: int | None
    error: str | None
    state: str  # done, failed or pending (retry at next_attempt_at)
    next_attempt_at: datetime | None = None
    reachable: bool = False  # the host answered at all (any HTTP status)


class OutcomeWriter:
    """Collects outcomes and writes them in batches, with the hosts' health."""

    FLUSH_EVERY = 64

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.pending: list[Outcome] = []

    async def add(self, outcome: Outcome) -> None:
        self.pending.append(outcome)
        if len(self.pending) >= self.FLUSH_EVERY:
            await self.flush()

    async def flush(self) -> None:
        batch, self.pending = self.pending, []
        if not batch:
            return
        now = self.ctx.clock.now()
        rows = [
            {
                "b_id": o.delivery_id,
                "state": o.state,
                "attempts": o.attempts,
                "last_status": o.status,
                "last_error": o.error,
                "next_attempt_at": o.next_attempt_at or now,
                "finished_at": now if o.state != "pending" else None,
                "locked_until": None,
            }
            for o in batch
        ]
        table = Delivery.__table__
        statement = (
            table.update()
            .where(table.c.id == bindparam("b_id"))
            .values(
                state=bindparam("state"),
                attempts=bindparam("attempts"),
                last_status=bindparam("last_status"),
                last_error=bindparam("last_error"),
                next_attempt_at=bindparam("next_attempt_at"),
                finished_at=bindparam("finished_at"),
                locked_until=bindparam("locked_until"),
            )
        )
        succeeded = {o.host for o in batch if o.state == "done"}
        failed = {o.host for o in batch if o.state != "done" and not o.reachable}
        async with self.ctx.db.transaction() as session:
            # Core executemany: one prepared UPDATE for the whole batch.
            connection = await session.connection()
            await connection.execute(statement, rows)
            troubled = await hosts.record(session, failed=failed, succeeded=succeeded, now=now)
        self.ctx.troubled_hosts |= troubled
        self.ctx.troubled_hosts -= succeeded


def _decide(
    delivery: Delivery,
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


async def _send(ctx: Context, delivery: Delivery, signer: tuple[str, str], host: str) -> Outcome:
    """POST one delivery; decide whether it is done, final or to be retried."""
    now = ctx.clock.now()
    try:
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


async def deliver_due(ctx: Context, limit: int = BATCH) -> int:
    """Deliver what is due now; returns how many rows were attempted."""
    now = ctx.clock.now()
    ids = await claim(ctx.db, Delivery, now, limit)
    if not ids:
        return 0
    async with ctx.db.sessions() as session:
        rows = list((await session.execute(select(Delivery).where(Delivery.id.in_(ids)))).scalars())
        by_host: dict[str, list[Delivery]] = defaultdict(list)
        for row in sorted(rows, key=lambda r: r.id):
            by_host[host_of(row.inbox_url)].append(row)
        down = await hosts.unavailable_hosts(session, set(by_host))
    writer = OutcomeWriter(ctx)
    signers = await _signers(ctx, {row.user_id for row in rows})

    async def host_worker(host: str, queue: list[Delivery]) -> None:
        while queue:
            row = queue.pop(0)
            signer = signers[row.user_id]
            if signer is None:
                await writer.add(
                    Outcome(
                        row.id,
                        host,
                        row.attempts,
                        None,
                        "the sending account no longer exists",
                        "failed",
                        reachable=True,
                    )
                )
            elif host in down:
                await writer.add(
                    Outcome(
                        row.id,
                        host,
                        row.attempts,
                        None,
                        f"{host} is unavailable (failing for days)",
                        "failed",
                        reachable=True,
                    )
                )
            else:
                await writer.add(await _send(ctx, row, signer, host))

    # Per host, at most PER_HOST_CONCURRENCY requests at once, oldest first.
    await asyncio.gather(
        *(
            host_worker(host, queue)
            for host, queue in by_host.items()
            for _ in range(min(PER_HOST_CONCURRENCY, len(queue)))
        )
    )
    await writer.flush()
    if ctx.host_clients is not None:
        await ctx.host_clients.close_retired()
    return len(rows)
