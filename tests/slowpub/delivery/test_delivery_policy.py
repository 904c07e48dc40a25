"""How deliveries react to what receivers answer: Retry-After, final 4xx, dead hosts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from peers import signed_post
from sqlalchemy import select
from tests_support import followed_by_fake_mastodon, settle

from slowpub.outbound.posting import Draft, create_post
from slowpub.outbound.queue_views import list_deliveries
from slowpub.storage.models import Host


@pytest.fixture
async def setup(network, alpha):
    """alice (no cooling-off) followed by mary on a fake Mastodon."""
    masto, mary = await followed_by_fake_mastodon(network, alpha)
    return alpha, masto, mary


async def create_row(alpha) -> dict:
    return next(d for d in await list_deliveries(alpha.ctx, "alice") if d["type"] == "Create")


async def test_retry_after_is_honoured(network, setup) -> None:
    alpha, masto, _ = setup
    masto.inbox_status = [(429, {"Retry-After": "3600"})]
    await create_post(alpha.ctx, "alice", Draft("hello"))
    await settle(alpha)
    row = await create_row(alpha)
    assert row["state"] == "pending" and row["last_status"] == 429
    network.clock.advance(timedelta(minutes=59))
    await settle(alpha)
    assert masto.received == []
    network.clock.advance(timedelta(minutes=2))
    await settle(alpha)
    assert [a["type"] for a in masto.received] == ["Create"]


@pytest.mark.parametrize("status", [400, 403, 404, 410, 422])
async def test_other_4xx_is_final(network, setup, status) -> None:
    alpha, masto, _ = setup
    masto.inbox_status = [status]
    await create_post(alpha.ctx, "alice", Draft("hello"))
    await settle(alpha)
    network.clock.advance(timedelta(days=3))
    await settle(alpha)
    row = await create_row(alpha)
    assert row["state"] == "failed" and row["attempts"] == 1 and row["last_status"] == status
    assert masto.received == []
    failed = await list_deliveries(alpha.ctx, "alice", failed_only=True)
    assert [d["last_status"] for d in failed] == [status]


@pytest.mark.parametrize("status", [401, 408, 500, 502])
async def test_retryable_statuses(network, setup, status) -> None:
    alpha, masto, _ = setup
    masto.inbox_status = [status]
    await create_post(alpha.ctx, "alice", Draft("hello"))
    await settle(alpha)
    network.clock.advance(timedelta(minutes=2))
    await settle(alpha)
    assert [a["type"] for a in masto.received] == ["Create"]


async def test_host_failing_seven_days_becomes_unavailable_until_heard_from(network, setup) -> None:
    alpha, masto, mary = setup
    masto.inbox_status = [503] * 200
    for day in range(7):
        await create_post(alpha.ctx, "alice", Draft(f"into the void, day {day}"))
        await settle(alpha)
        network.clock.advance(timedelta(days=1))
    async with alpha.ctx.db.sessions() as s:
        host = await s.get(Host, "masto.test")
    assert host is not None and host.failure_days >= 7 and host.unavailable_since is not None
    masto.inbox_status = []
    await create_post(alpha.ctx, "alice", Draft("are you there?"))
    await settle(alpha)
    assert masto.received == []  # skipped, not sent
    rows = await list_deliveries(alpha.ctx, "alice")
    assert any("unavailable" in (r["last_error"] or "") for r in rows)

    # A signed POST from the host proves it is back.
    like = {
        "id": mary.uri + "#likes/1",
        "type": "Like",
        "actor": mary.uri,
        "object": "https://alpha.test/users/alice/statuses/1",
    }
    assert (await signed_post(alpha, mary, like)).status_code == 202
    async with alpha.ctx.db.sessions() as s:
        host = (await s.execute(select(Host).where(Host.domain == "masto.test"))).scalar_one()
    assert host.unavailable_since is None and host.failure_days == 0
    await create_post(alpha.ctx, "alice", Draft("welcome back"))
    await settle(alpha)
    assert [a["object"]["content"] for a in masto.received] == ["<p>welcome back</p>"]
