"""When bundles are sealed: the user's local time, DST, downtime, a changed time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from peers import FakeServer, signed_post
from sqlalchemy import func, select
from tests_support import set_user, settle

from slowpub.bundles.sealing import next_occurrence, parse_bundle_time
from slowpub.inbound.remote_actors import fetch_actor
from slowpub.social.accounts import create_user, require_user
from slowpub.storage.models import Bundle, InboundItem


def test_next_occurrence_follows_dst() -> None:
    seven = parse_bundle_time("07:00")
    # Berlin is UTC+1 in winter and UTC+2 from 29 March 2026.
    before = next_occurrence(datetime(2026, 3, 27, 12, 0, tzinfo=UTC), seven, "Europe/Berlin")
    assert before == datetime(2026, 3, 28, 6, 0, tzinfo=UTC)
    after = next_occurrence(before, seven, "Europe/Berlin")
    assert after == datetime(2026, 3, 29, 5, 0, tzinfo=UTC)
    # A time inside the spring-forward gap happens just after it.
    gap = next_occurrence(
        datetime(2026, 3, 28, 12, 0, tzinfo=UTC), parse_bundle_time("02:30"), "Europe/Berlin"
    )
    assert gap == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


async def _mentions(network, alpha, count: int) -> None:
    fake = FakeServer("pen.test")
    if "pen.test" not in network.transport.apps:
        network.transport.add("pen.test", fake.app)
    pal = fake.add_actor("pal")
    await fetch_actor(alpha.ctx, pal.uri)
    for n in range(count):
        note = {
            "id": f"{pal.uri}/notes/{network.clock.now().timestamp()}-{n}",
            "type": "Note",
            "attributedTo": pal.uri,
            "to": ["https://alpha.test/users/alice"],
            "content": f"<p>letter {n}</p>",
        }
        create = {"id": note["id"] + "/create", "type": "Create", "actor": pal.uri, "object": note}
        assert (await signed_post(alpha, pal, create)).status_code == 202


async def _bundles(alpha) -> int:
    async with alpha.ctx.db.sessions() as s:
        return int((await s.execute(select(func.count(Bundle.id)))).scalar_one())


async def test_down_at_bundle_time_seals_once_on_start(network, alpha) -> None:
    await create_user(alpha.ctx, "alice", password="correct horse")
    await set_user(alpha, "alice", bundle_time="07:00", timezone="UTC")
    network.clock.set(datetime(2026, 5, 4, 12, 0, tzinfo=UTC))
    await settle(alpha)
    await _mentions(network, alpha, 3)
    await settle(alpha)
    # The server is down for three days (no worker runs), then comes back.
    network.clock.set(datetime(2026, 5, 7, 9, 30, tzinfo=UTC))
    await settle(alpha)
    assert await _bundles(alpha) == 1
    async with alpha.ctx.db.sessions() as s:
        user = await require_user(s, "alice")
        unsealed = (
            await s.execute(
                select(func.count(InboundItem.id)).where(InboundItem.bundle_id.is_(None))
            )
        ).scalar_one()
    assert unsealed == 0
    assert user.next_seal_at == datetime(2026, 5, 8, 7, 0, tzinfo=UTC)
    await settle(alpha)
    assert await _bundles(alpha) == 1  # not doubled


async def test_changed_bundle_time_applies_from_the_next_day_it_can(network, alpha) -> None:
    await create_user(alpha.ctx, "alice", password="correct horse")
    await set_user(alpha, "alice", bundle_time="07:00", timezone="Europe/Berlin")
    network.clock.set(datetime(2026, 7, 1, 10, 0, tzinfo=UTC))  # 12:00 in Berlin
    await settle(alpha)
    await set_user(alpha, "alice", bundle_time="20:00")
    await settle(alpha)
    async with alpha.ctx.db.sessions() as s:
        user = await require_user(s, "alice")
    assert user.next_seal_at == datetime(2026, 7, 1, 18, 0, tzinfo=UTC)  # 20:00 CEST today
    await _mentions(network, alpha, 1)
    network.clock.set(datetime(2026, 7, 1, 18, 0, 1, tzinfo=UTC))
    await settle(alpha)
    assert await _bundles(alpha) == 1
    network.clock.advance(timedelta(hours=12))
    await settle(alpha)
    assert await _bundles(alpha) == 1  # an empty day makes no bundle
