"""One host's flood meets its quota: 429 for that host, 202 for everyone else.

The attack from issue 9.12: a remote account POSTs as fast as it can (1 MiB
bodies, or thousands of activities) and every POST was stored with a 202.
Now a host with too much waiting to be processed gets 429 and Retry-After,
before anything is stored, while other hosts are accepted as before; once
its backlog is processed it is accepted again, so a sender that retries (as
Mastodon does on 429) loses nothing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from peers import FakeActor, FakeServer, signed_post
from sqlalchemy import func, select
from tests_support import settle, stored

from slowpub.context import build_context
from slowpub.social.accounts import create_user
from slowpub.storage.engine import create_database
from slowpub.storage.models import InboundActivity
from slowpub.web.app import create_app

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


def create(actor: FakeActor, n: int, padding: int = 0) -> dict[str, Any]:
    note = f"{actor.uri}/statuses/{n}"
    return {
        "id": note + "/activity",
        "type": "Create",
        "actor": actor.uri,
        "to": [PUBLIC],
        "object": {
            "id": note,
            "type": "Note",
            "attributedTo": actor.uri,
            "to": [PUBLIC],
            "content": f"<p>flood {n}</p>" + "x" * padding,
        },
    }


def follow(actor: FakeActor) -> dict[str, Any]:
    return {
        "id": actor.uri + "#follows/1",
        "type": "Follow",
        "actor": actor.uri,
        "object": "https://alpha.test/users/alice",
    }


async def peers(network, alpha) -> tuple[FakeActor, FakeServer, FakeActor]:
    await create_user(alpha.ctx, "alice", password="correct horse")
    flood = FakeServer("flood.test")
    honest = FakeServer("honest.test")
    network.transport.add("flood.test", flood.app)
    network.transport.add("honest.test", honest.app)
    return flood.add_actor("spammer"), honest, honest.add_actor("hana")


def assert_refused(response) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["retry-after"].isdigit()
    assert int(response.headers["retry-after"]) > 0
    assert response.headers["content-type"].startswith("application/json")
    assert "flood.test" in response.json()["error"]


async def test_past_its_quota_a_flooding_host_gets_429_and_others_202(network) -> None:
    alpha = await network.add("alpha.test", inbox_quota_activities=5)
    spammer, honest, hana = await peers(network, alpha)

    for n in range(5):
        assert (await signed_post(alpha, spammer, create(spammer, n))).status_code == 202
    for n in range(5, 8):
        assert_refused(await signed_post(alpha, spammer, create(spammer, n)))
    assert await stored(alpha) == 5  # nothing stored for the refused POSTs

    # Another host is not held to the flooder's quota.
    assert (await signed_post(alpha, hana, follow(hana))).status_code == 202
    assert await stored(alpha) == 6

    # Once the backlog is processed (a moment later) the flooder's retries get in.
    await settle(alpha)
    assert_refused(await signed_post(alpha, spammer, create(spammer, 5)))  # not recounted yet
    network.clock.advance(timedelta(seconds=2))
    for n in range(5, 8):
        assert (await signed_post(alpha, spammer, create(spammer, n))).status_code == 202
    assert await stored(alpha) == 9
    assert any(a["type"] == "Accept" for a in honest.received)


async def test_big_bodies_meet_the_byte_quota(network) -> None:
    """400 bodies of 1 MiB were all stored; now a host's pending bytes are bounded."""
    alpha = await network.add("alpha.test", inbox_quota_bytes=200_000)
    spammer, _, hana = await peers(network, alpha)

    accepted = 0
    for n in range(10):
        r = await signed_post(alpha, spammer, create(spammer, n, padding=60_000))
        if r.status_code == 202:
            accepted += 1
        else:
            assert_refused(r)
    assert accepted == 4  # the fourth 60 kB body passes 200 kB; the fifth is refused
    assert await stored(alpha) == 4
    assert (await signed_post(alpha, hana, follow(hana))).status_code == 202


async def test_the_quota_counts_what_is_already_waiting_after_a_restart(network) -> None:
    """Counts come from the database: a restarted server does not start at zero."""
    alpha = await network.add("alpha.test", inbox_quota_activities=3)
    spammer, _, _ = await peers(network, alpha)
    for n in range(3):
        assert (await signed_post(alpha, spammer, create(spammer, n))).status_code == 202

    ctx = build_context(
        alpha.ctx.settings,
        clock=network.clock,
        http=network.client(),
        db=create_database(alpha.ctx.settings.database_url),
        client_factory=lambda _limit: network.client(),
    )
    try:
        restarted = type(alpha)(host="alpha.test", ctx=ctx, app=create_app(ctx))
        assert_refused(await signed_post(restarted, spammer, create(spammer, 3)))
    finally:
        await ctx.close()
    assert await stored(alpha) == 3


@pytest.mark.parametrize("forged", [True, False])
async def test_a_forger_cannot_spend_another_hosts_quota(network, forged: bool) -> None:
    """Refused POSTs, signed or not, never count: only stored activities do."""
    alpha = await network.add("alpha.test", inbox_quota_activities=2)
    spammer, _, hana = await peers(network, alpha)
    impostor = FakeActor("honest.test", "hana") if forged else spammer
    for n in range(5):
        activity = create(hana, n) if forged else create(spammer, n)
        r = await signed_post(alpha, impostor, activity)
        assert r.status_code in (401, 202, 429), r.text
    # hana's host still has its whole quota.
    for n in range(10, 12):
        assert (await signed_post(alpha, hana, create(hana, n))).status_code == 202


async def test_what_nobody_asked_for_does_not_stay_on_disk(network) -> None:
    """Processed at once and kept whole for the retention period, a host's
    unwanted 60 kB bodies filled the disk as fast as they were processed;
    now an ignored activity keeps only its id (so a redelivery is still
    recognised), while what was filed keeps its body."""
    alpha = await network.add("alpha.test")
    spammer, _, hana = await peers(network, alpha)
    for n in range(20):
        assert (
            await signed_post(alpha, spammer, create(spammer, n, padding=60_000))
        ).status_code == 202
    assert (await signed_post(alpha, hana, follow(hana))).status_code == 202
    await settle(alpha)

    async with alpha.ctx.db.sessions() as session:
        rows = (
            await session.execute(
                select(InboundActivity.sender_host, InboundActivity.state).where(
                    func.length(InboundActivity.body) > 0
                )
            )
        ).all()
    assert rows == [("honest.test", "done")]  # the Follow, filed, keeps its body
    assert await stored(alpha) == 21
    # A redelivered flood activity is recognised, not stored again.
    assert (await signed_post(alpha, spammer, create(spammer, 3))).status_code == 202
    assert await stored(alpha) == 21
