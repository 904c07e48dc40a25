"""The background workers: loops that drain the durable queues.

``slowpub serve`` runs them beside the web app; ``slowpub worker`` runs them
alone (several such processes may share one PostgreSQL database). Each loop
works while there is due work, then sleeps until nudged in-process or until
the next poll, so work written by another process is found within a second.

The workers of a process register as one lease owner (``storage.lease_owners``)
and heartbeat while they run; on start and at every heartbeat they release
the leases of workers that died (kill -9, a power cut), so a crash delays
work by seconds, not by the five-minute lease. A clean stop releases this
process's own leases.
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
from slowpub.storage import lease_owners
from slowpub.storage.failures import failure_line, is_read_only
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
    failures = 0
    while True:
        try:
            busy = await step(ctx)
            failures = 0
        except Exception as exc:  # the loop must outlive any one bad row or a database hiccup
            failures += 1
            busy = 0
            _log_failure(name, exc, failures, ctx)
        if busy:
            continue
        event.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), _pause(failures))


MAX_BACKOFF = 60.0


def _pause(failures: int) -> float:
    """Seconds until the next pass: the poll, doubled per failure in a row."""
    return min(POLL_SECONDS * 2 ** min(failures, 10), MAX_BACKOFF) if failures else POLL_SECONDS


def _log_failure(name: str, exc: Exception, failures: int, ctx: Context) -> None:
    """A traceback for the first failure, one line for the ones that repeat it.

    A database gone read-only fails every pass the same way; a traceback a
    second buried everything else in the log.
    """
    if is_read_only(exc):
        line = failure_line(ctx.settings.database_url, exc)
        log.error("%s worker: %s; retrying in %.0f s", name, line, _pause(failures))
    elif failures == 1:
        log.exception("%s worker pass failed", name)
    else:
        log.error(
            "%s worker pass failed again (%d in a row): %s; retrying in %.0f s",
            name,
            failures,
            _one_line(exc),
            _pause(failures),
        )


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


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


async def keep_lease_owner(ctx: Context, owner: str) -> None:
    """Register ``owner`` (or refresh its heartbeat), then free dead workers' leases.

    Run at start and every heartbeat. An owner whose row was reaped (this
    process stalled past ``STALE``) registers again: its old leases may have
    been taken over, and receivers de-duplicate the rare second POST.
    """
    now = ctx.clock.now()
    if ctx.lease_owner != owner or not await lease_owners.beat(ctx.db, owner, now):
        if ctx.lease_owner == owner:
            log.warning("this worker was taken for dead (no heartbeat for a while): registering")
        await lease_owners.register(ctx.db, owner, now)
        ctx.lease_owner = owner
    released = await lease_owners.reap(ctx.db, now)
    if released:
        log.info("released %d leases held by workers that are gone", released)
        ctx.wakeups.deliveries.set()
        ctx.wakeups.inbound.set()


async def _heartbeat(ctx: Context, owner: str) -> None:
    while True:
        await asyncio.sleep(lease_owners.HEARTBEAT.total_seconds())
        try:
            await keep_lease_owner(ctx, owner)
        except Exception as exc:  # a database hiccup: try again at the next beat
            log.warning("lease owner heartbeat failed: %s", _one_line(exc))


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
    """Run every worker loop until cancelled, as one lease owner."""
    owner = lease_owners.new_owner_id()
    try:
        await keep_lease_owner(ctx, owner)
    except Exception as exc:  # work without an owner (leases then run out) rather than not at all
        log.warning("cannot register this worker: %s; retrying", _one_line(exc))
    try:
        await asyncio.gather(
            _heartbeat(ctx, owner),
            _loop("inbound", _inbound_step, ctx.wakeups.inbound, ctx),
            _loop("release", release_due, ctx.wakeups.release, ctx),
            _loop("delivery", deliver_due, ctx.wakeups.deliveries, ctx),
            _loop("bundles", seal_due, asyncio.Event(), ctx),
            _loop("mail", send_due, ctx.wakeups.mail, ctx),
            _loop("retention", Pruner(), asyncio.Event(), ctx),
        )
    finally:
        if ctx.lease_owner == owner:
            ctx.lease_owner = None
            try:
                await lease_owners.retire(ctx.db, owner)
            except Exception as exc:  # the leases then run out as they would after a crash
                log.warning("cannot release this worker's leases: %s", _one_line(exc))
