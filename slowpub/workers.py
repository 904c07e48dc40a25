"""The background workers: loops that drain the durable queues.

``slowpub serve`` runs them beside the web app; ``slowpub worker`` runs them
alone (several such processes may share one PostgreSQL database). Each loop
works while there is due work, then sleeps until nudged in-process or until
the next poll, so work written by another process is found within a second.
One more loop prunes finished work past the retention period
(:mod:`slowpub.storage.retention`) every few minutes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from slowpub.bundles.mail import send_due
from slowpub.bundles.sealing import seal_due
from slowpub.context import Context
from slowpub.delivery.sending import deliver_due
from slowpub.inbound.processing import process_due
from slowpub.outbound.release import release_due
from slowpub.storage.retention import BATCH as PRUNE_BATCH
from slowpub.storage.retention import prune

log = logging.getLogger(__name__)
POLL_SECONDS = 1.0


async def run_once(ctx: Context) -> int:
    """One pass over every queue; returns how many rows were handled."""
    done = await process_due(ctx) + await release_due(ctx) + await deliver_due(ctx)
    return done + await seal_due(ctx) + await send_due(ctx)


async def drain(ctx: Context, rounds: int = 20) -> None:
    """Run passes until nothing is due (for tests and the CLI)."""
    for _ in range(rounds):
        if await run_once(ctx) == 0:
            return


async def _loop(
    name: str, step: Callable[[Context], Awaitable[int]], event: asyncio.Event, ctx: Context
) -> None:
    while True:
        try:
            busy = await step(ctx)
        except Exception:  # the loop must outlive any one bad row or a database hiccup
            log.exception("%s worker pass failed", name)
            busy = 0
        if busy:
            continue
        event.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), POLL_SECONDS)


BUSY_INBOX = 0.2  # seconds since the last inbox POST that count as "busy"
BUSY_BATCH = 10


async def _inbound_step(ctx: Context) -> int:
    """Process inbound work, but yield the CPU to a busy inbox.

    Acknowledging (202 after commit) is what senders wait for; processing can
    catch up a moment later. While POSTs keep arriving, only a small batch
    runs per pass, so the backlog still moves.
    """
    if time.monotonic() - ctx.inbox_writer.last_store < BUSY_INBOX:
        await asyncio.sleep(BUSY_INBOX)
        await process_due(ctx, limit=BUSY_BATCH)
        return 0  # then sleep until nudged or polled, like an idle loop
    return await process_due(ctx)


PRUNE_EVERY = timedelta(minutes=10)


class Pruner:
    """The retention step: batches while old rows remain, then a pause."""

    def __init__(self) -> None:
        self.next_run: datetime | None = None

    async def __call__(self, ctx: Context) -> int:
        now = ctx.clock.now()
        if self.next_run is not None and now < self.next_run:
            return 0
        before = now - timedelta(days=ctx.settings.retention_days)
        removed = await prune(ctx.db, before)
        if removed < 2 * PRUNE_BATCH:
            self.next_run = now + PRUNE_EVERY
        return removed


async def run_workers(ctx: Context) -> None:
    """Run every worker loop until cancelled."""
    await asyncio.gather(
        _loop("inbound", _inbound_step, ctx.wakeups.inbound, ctx),
        _loop("release", release_due, ctx.wakeups.release, ctx),
        _loop("delivery", deliver_due, ctx.wakeups.deliveries, ctx),
        _loop("bundles", seal_due, asyncio.Event(), ctx),
        _loop("mail", send_due, ctx.wakeups.mail, ctx),
        _loop("retention", Pruner(), asyncio.Event(), ctx),
    )
