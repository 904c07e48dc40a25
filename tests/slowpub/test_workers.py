"""Crash recovery of leased work: a dead worker's rows are taken over in seconds.

A worker leases the rows it sends (five minutes). Killed mid fan-out, its
leases used to stall every row it held for those five minutes. Here one
"worker" is a lease owner that took rows and died (its pid is gone, or its
heartbeat stopped on another machine); another starts with
``run_workers``, as ``slowpub serve`` and ``slowpub worker`` do, and must
deliver them without the clock moving, or after well under the lease.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy import func, select
from starlette.types import Receive, Scope, Send
from tests_support import followed_by_fake_mastodon

from slowpub.outbound.posting import Draft, create_post
from slowpub.storage import lease_owners
from slowpub.storage.claims import LEASE, claim
from slowpub.storage.models import Delivery, LeaseOwner
from slowpub.workers import keep_lease_owner, run_workers


def dead_pid() -> int:
    """The pid of a process of ours that has exited (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", ""])
    proc.wait()
    return proc.pid


async def leased_by(alpha, owner: str, *, host: str | None = None, pid: int) -> list[int]:
    """``owner`` registers and claims every due delivery, as a worker mid fan-out does."""
    ctx = alpha.ctx
    await lease_owners.register(ctx.db, owner, ctx.clock.now(), host=host, pid=pid)
    ids = await claim(ctx.db, Delivery, ctx.clock.now(), 100, owner=owner)
    assert ids
    return ids


async def until(predicate: Callable[[], Awaitable[bool]], seconds: float = 10.0) -> bool:
    for _ in range(int(seconds / 0.05)):
        if await predicate():
            return True
        await asyncio.sleep(0.05)
    return False


async def owners(alpha) -> list[str]:
    async with alpha.ctx.db.sessions() as session:
        return list((await session.execute(select(LeaseOwner.id))).scalars())


async def test_a_new_worker_takes_over_a_killed_workers_leases_at_once(network, alpha) -> None:
    masto, _ = await followed_by_fake_mastodon(network, alpha)
    await create_post(alpha.ctx, "alice", Draft("sent while the first worker dies"))
    await leased_by(alpha, "killed-worker", pid=dead_pid())

    task = asyncio.create_task(run_workers(alpha.ctx))
    try:

        async def delivered() -> bool:
            return [a["type"] for a in masto.received] == ["Create"]

        # The clock never moves: nothing waits for the five-minute lease.
        assert await until(delivered)
        assert "killed-worker" not in await owners(alpha)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert await owners(alpha) == []  # a clean stop leaves no owner behind


async def test_a_silent_worker_elsewhere_is_taken_over_after_its_heartbeat_stops(
    network, alpha
) -> None:
    masto, _ = await followed_by_fake_mastodon(network, alpha)
    await create_post(alpha.ctx, "alice", Draft("sent while a machine goes down"))
    # Same pid as ours, but another machine: the pid says nothing there.
    await leased_by(alpha, "other-machine", host="elsewhere.example", pid=1)
    ctx = alpha.ctx
    me = lease_owners.new_owner_id()
    await keep_lease_owner(ctx, me)  # starts while the other is still beating
    await run_pass(alpha)
    assert masto.received == []

    network.clock.advance(lease_owners.STALE + timedelta(seconds=1))
    assert lease_owners.STALE + timedelta(seconds=1) < LEASE
    await keep_lease_owner(ctx, me)  # the next heartbeat
    await run_pass(alpha)
    assert [a["type"] for a in masto.received] == ["Create"]
    await lease_owners.retire(ctx.db, me)


async def test_a_live_workers_leases_are_left_alone(network, alpha) -> None:
    masto, _ = await followed_by_fake_mastodon(network, alpha)
    await create_post(alpha.ctx, "alice", Draft("being sent by a live worker"))
    other = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "import time; time.sleep(60)"
    )
    try:
        await leased_by(alpha, "live-worker", pid=other.pid)  # on this host, its pid alive
        me = lease_owners.new_owner_id()
        await keep_lease_owner(alpha.ctx, me)
        network.clock.advance(lease_owners.STALE / 2)
        await keep_lease_owner(alpha.ctx, me)
        await run_pass(alpha)
        assert masto.received == []  # never sent by two workers at once
        assert "live-worker" in await owners(alpha)
    finally:
        other.kill()
        await other.wait()


async def test_a_clean_stop_releases_what_it_was_sending(network, alpha) -> None:
    masto, _ = await followed_by_fake_mastodon(network, alpha)
    arrived, answer = asyncio.Event(), asyncio.Event()

    async def slow_inbox(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            arrived.set()
            await answer.wait()
        await masto.app(scope, receive, send)

    network.transport.add("masto.test", slow_inbox)  # type: ignore[arg-type]
    task = asyncio.create_task(run_workers(alpha.ctx))
    await create_post(alpha.ctx, "alice", Draft("in flight at shutdown"))
    alpha.ctx.wakeups.deliveries.set()
    await asyncio.wait_for(arrived.wait(), 10)
    task.cancel()  # SIGTERM: uvicorn's shutdown, or the worker's signal handler
    await asyncio.gather(task, return_exceptions=True)

    async with alpha.ctx.db.sessions() as session:
        held = await session.execute(
            select(func.count()).where(
                Delivery.state == "pending", Delivery.locked_until.is_not(None)
            )
        )
        assert held.scalar_one() == 0
    assert await owners(alpha) == []
    answer.set()
    await run_pass(alpha)  # another worker, at once: the row is free
    assert [a["type"] for a in masto.received] == ["Create"]


async def run_pass(alpha) -> None:
    from slowpub.delivery.sending import deliver_due

    await deliver_due(alpha.ctx)
