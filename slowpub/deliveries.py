"""Outgoing deliveries: one signed POST of one activity to one inbox.

A delivery is written as a row in the same transaction as the change that
caused it, so nothing is lost between deciding to send and sending.
:func:`deliver_due` is what the workers run: it claims due rows, signs with
the author's key, POSTs, and records the outcome or schedules a retry with
Mastodon-like backoff (about two and a half days in all).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections import defaultdict
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.errors import FederationError
from federation.fetch import signed_post
from federation.vocab import host_of
from slowpub import urls
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


async def _signer(
    ctx: Context, user_id: int | None, cache: dict[int | None, tuple[str, str]]
) -> tuple[str, str]:
    if user_id not in cache:
        if user_id is None:
            cache[None] = await signing_identity(ctx)
        else:
            async with ctx.db.sessions() as session:
                user = await session.get(User, user_id)
            if user is None:
                raise LookupError(f"user {user_id} is gone")
            cache[user_id] = (urls.key_id(user.actor.uri), user.private_key_pem)
    return cache[user_id]


async def _send(ctx: Context, delivery: Delivery, signer: tuple[str, str]) -> None:
    """POST one delivery and record what happened."""
    now = ctx.clock.now()
    status: int | None = None
    error: str | None = None
    delay: timedelta | None = None
    try:
        response = await signed_post(
            ctx.http,
            delivery.inbox_url,
            delivery.body.encode(),
            key_id=signer[0],
            private_key_pem=signer[1],
            allow_private=ctx.settings.allow_private_networks,
            now=now,
        )
        status = response.status_code
        if 200 <= status < 300:
            final = True
        else:
            error = f"HTTP {status}"
            final = 400 <= status < 500 and status not in RETRYABLE_4XX
            if status in (429, 503):
                delay = retry_after(response, now)
    except (httpx.HTTPError, FederationError) as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
        final = isinstance(exc, FederationError) and not _transient(exc)
    attempts = delivery.attempts + 1
    async with ctx.db.transaction() as session:
        row = await session.get(Delivery, delivery.id)
        if row is None:
            return
        row.attempts = attempts
        row.last_status = status
        row.last_error = error
        row.locked_until = None
        if error is None:
            row.state = "done"
            row.finished_at = now
        elif final or attempts >= MAX_ATTEMPTS:
            row.state = "failed"
            row.finished_at = now
        else:
            row.next_attempt_at = now + max(delay or timedelta(0), backoff(attempts))
    if error:
        log.info("delivery %s to %s: %s", delivery.activity_type, delivery.inbox_url, error)


async def _finish_orphan(ctx: Context, delivery: Delivery) -> None:
    """The signing account is gone: nothing can ever send this."""
    async with ctx.db.transaction() as session:
        row = await session.get(Delivery, delivery.id)
        if row is not None:
            row.state = "failed"
            row.last_error = "the sending account no longer exists"
            row.finished_at = ctx.clock.now()
            row.locked_until = None


def _transient(exc: FederationError) -> bool:
    # Fetch errors carrying an HTTP status are decided by status above; a
    # blocked address or a malformed URL will never succeed.
    return type(exc).__name__ not in {"BlockedAddressError"}


async def deliver_due(ctx: Context, limit: int = BATCH) -> int:
    """Deliver what is due now; returns how many rows were attempted."""
    ids = await claim(ctx.db, Delivery, ctx.clock.now(), limit)
    if not ids:
        return 0
    async with ctx.db.sessions() as session:
        rows = list((await session.execute(select(Delivery).where(Delivery.id.in_(ids)))).scalars())
    by_host: dict[str, list[Delivery]] = defaultdict(list)
    for row in rows:
        by_host[host_of(row.inbox_url)].append(row)
    signers: dict[int | None, tuple[str, str]] = {}

    async def host_worker(queue: list[Delivery]) -> None:
        while queue:
            row = queue.pop(0)
            try:
                signer = await _signer(ctx, row.user_id, signers)
            except LookupError:
                await _finish_orphan(ctx, row)
                continue
            await _send(ctx, row, signer)

    # A few requests at a time per host: fast for big servers, gentle on small ones.
    tasks = [
        host_worker(queue)
        for queue in by_host.values()
        for _ in range(min(PER_HOST_CONCURRENCY, len(queue)))
    ]
    await asyncio.gather(*tasks)
    return len(rows)
