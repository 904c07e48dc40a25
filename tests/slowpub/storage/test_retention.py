"""Finished work is pruned after the retention period; nothing still needed goes.

Issue 9.12: every activity anyone ever sent was kept whole forever, and so
was every delivery. The workers now delete processed inbound activities and
finished deliveries older than ``SLOWPUB_RETENTION_DAYS`` (30), in batches,
and leave alone pending work however old, recent work, and bundles (which
hold their own items, not the activities they came from).
"""

from __future__ import annotations

from datetime import timedelta

import httpx
from peers import FakeServer, signed_post
from sqlalchemy import select
from tests_support import set_user, settle, web_login

from slowpub.bundles.sealing import seal_now
from slowpub.outbound.posting import Draft, create_post
from slowpub.social.accounts import create_user
from slowpub.social.follows import follow
from slowpub.storage.models import Delivery, InboundActivity
from slowpub.storage.retention import prune
from slowpub.workers import Pruner


async def inbound(instance) -> dict[str, str]:
    async with instance.ctx.db.sessions() as s:
        query = select(InboundActivity.uri, InboundActivity.state)
        return {uri: state for uri, state in (await s.execute(query)).all()}


async def deliveries(instance) -> dict[int, tuple[str, str, str]]:
    async with instance.ctx.db.sessions() as s:
        query = select(Delivery.id, Delivery.activity_type, Delivery.inbox_url, Delivery.state)
        return {i: (kind, inbox, state) for i, kind, inbox, state in (await s.execute(query))}


async def test_old_finished_work_goes_pending_and_recent_work_and_bundles_stay(
    network, alpha, beta
) -> None:
    await create_user(alpha.ctx, "alice", password="correct horse")
    await create_user(beta.ctx, "bob", password="correct horse")
    await set_user(alpha, "alice", cooling_off="0")
    await set_user(beta, "bob", cooling_off="0")
    masto = FakeServer("masto.test")
    network.transport.add("masto.test", masto.app)
    mary = masto.add_actor("mary")

    # Day 0: alice follows bob, bob posts, alice posts; mary follows alice but
    # her server keeps failing, so the Accept to her stays pending for days.
    await follow(alpha.ctx, "alice", "bob@beta.test")
    await follow(beta.ctx, "bob", "alice@alpha.test")
    await settle(alpha, beta)
    await create_post(beta.ctx, "bob", Draft("Day zero, from bob"))
    await create_post(alpha.ctx, "alice", Draft("Day zero, from alice"))
    masto.inbox_status = [503] * 50
    mary_follow = {
        "id": mary.uri + "#follows/1",
        "type": "Follow",
        "actor": mary.uri,
        "object": "https://alpha.test/users/alice",
    }
    assert (await signed_post(alpha, mary, mary_follow)).status_code == 202
    await settle(alpha, beta)
    bundle = await seal_now(alpha.ctx, "alice")
    assert bundle is not None
    day_zero = await inbound(alpha)
    # bob's Follow, his Accept of alice's, his post, mary's Follow: all processed.
    assert list(day_zero.values()) == ["done"] * 4
    sent_day_zero = await deliveries(alpha)
    assert sorted(sent_day_zero.values()) == [
        ("Accept", "https://beta.test/users/bob/inbox", "done"),
        ("Accept", mary.uri + "/inbox", "pending"),
        ("Create", "https://beta.test/inbox", "done"),
        ("Follow", "https://beta.test/users/bob/inbox", "done"),
    ]

    # Day 29: more of the same, still within the retention period at day 31.
    network.clock.advance(timedelta(days=29))
    await create_post(beta.ctx, "bob", Draft("Day twenty-nine, from bob"))
    await create_post(alpha.ctx, "alice", Draft("Day twenty-nine, from alice"))
    await settle(alpha, beta)
    like = {
        "id": mary.uri + "#likes/1",
        "type": "Like",
        "actor": mary.uri,
        "object": "https://alpha.test/users/alice",
    }
    assert (await signed_post(alpha, mary, like)).status_code == 202  # left pending
    before = await inbound(alpha)
    recent = {uri for uri in before if uri not in day_zero}
    sent_before = await deliveries(alpha)
    assert len(sent_before) == 6  # alice's second post, to bob and to mary

    # Day 31: the workers' retention step.
    network.clock.advance(timedelta(days=2))
    assert await Pruner()(alpha.ctx) > 0
    after = await inbound(alpha)
    assert set(after) == recent  # day zero's processed activities are gone
    assert after[like["id"]] == "pending"
    kept = await deliveries(alpha)
    # Day zero's finished deliveries went; the Accept still trying stays, as
    # does the day-29 post.
    assert sorted(kept.values()) == [
        ("Accept", mary.uri + "/inbox", "pending"),
        ("Create", "https://beta.test/inbox", "done"),
        ("Create", "https://masto.test/inbox", "pending"),
    ]
    assert set(kept) - set(sent_day_zero) == set(sent_before) - set(sent_day_zero)
    # Nothing more is old enough: another step prunes nothing.
    assert await prune(alpha.ctx.db, alpha.ctx.clock.now() - timedelta(days=30)) == 0

    # The day-zero bundle still shows bob's post, on the web.
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=alpha.app), base_url="https://alpha.test"
    ) as web:
        await web_login(web, "alice", "correct horse")
        page = await web.get(f"/bundles/{bundle.id}")
    assert page.status_code == 200
    assert "Day zero, from bob" in page.text


async def test_the_retention_period_is_a_setting(network) -> None:
    alpha = await network.add("alpha.test", retention_days=7)
    await create_user(alpha.ctx, "alice", password="correct horse")
    masto = FakeServer("masto.test")
    network.transport.add("masto.test", masto.app)
    mary = masto.add_actor("mary")
    follow_activity = {
        "id": mary.uri + "#follows/1",
        "type": "Follow",
        "actor": mary.uri,
        "object": "https://alpha.test/users/alice",
    }
    assert (await signed_post(alpha, mary, follow_activity)).status_code == 202
    await settle(alpha)
    assert len(await inbound(alpha)) == 1
    network.clock.advance(timedelta(days=7) - timedelta(minutes=5))
    pruner = Pruner()
    assert await pruner(alpha.ctx) == 0  # not 7 days old yet
    network.clock.advance(timedelta(minutes=6))
    assert await pruner(alpha.ctx) == 0  # old enough, but it looked a minute ago
    network.clock.advance(timedelta(minutes=5))
    assert await pruner(alpha.ctx) == 2  # the Follow and the Accept sent for it
    assert await inbound(alpha) == {}
