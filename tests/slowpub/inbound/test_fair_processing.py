"""Processing takes sending hosts in turn: a flood does not queue others behind it.

The attack from issue 9.12: after one sender's 20,000-activity flood an
honest Follow was processed 221 s after its 202, because the inbound queue
was strictly first in, first out. Now each processing batch takes every
host's oldest activity before anyone's second (the hosts with least waiting
first), so the Follow from another host is in the very next batch, while
each host's own activities keep their arrival order.
"""

from __future__ import annotations

from datetime import timedelta

from peers import FakeServer, signed_post
from sqlalchemy import select, update
from test_inbound_quota import create, follow

from slowpub.inbound.processing import process_due
from slowpub.social.accounts import create_user
from slowpub.storage.models import Follow, InboundActivity

BACKLOG = 150  # more than a batch (process_due takes 100)


async def states(alpha) -> list[tuple[str, str]]:
    async with alpha.ctx.db.sessions() as s:
        query = select(InboundActivity.uri, InboundActivity.state).order_by(InboundActivity.id)
        return [(uri, state) for uri, state in (await s.execute(query)).all()]


async def test_a_follow_from_another_host_is_in_the_first_batch_after_a_flood(
    network, alpha
) -> None:
    await create_user(alpha.ctx, "alice", password="correct horse")
    flood, honest = FakeServer("flood.test"), FakeServer("honest.test")
    network.transport.add("flood.test", flood.app)
    network.transport.add("honest.test", honest.app)
    spammer, hana = flood.add_actor("spammer"), honest.add_actor("hana")

    for n in range(BACKLOG):
        assert (await signed_post(alpha, spammer, create(spammer, n))).status_code == 202
    assert (await signed_post(alpha, hana, follow(hana))).status_code == 202

    # One batch: each of the two hosts gets half of its 100 places.
    assert await process_due(alpha.ctx) == 51

    rows = await states(alpha)
    assert rows[-1] == (hana.uri + "#follows/1", "done")
    async with alpha.ctx.db.sessions() as s:
        follows = (await s.execute(select(Follow.uri, Follow.state))).all()
    assert [tuple(f) for f in follows] == [(hana.uri + "#follows/1", "accepted")]
    # The flooder's share of the batch is its oldest 50, in arrival order.
    flooded = [state for _, state in rows[:-1]]
    assert flooded == ["ignored"] * 50 + ["pending"] * (BACKLOG - 50)

    # Alone again, the flooder gets whole batches.
    assert await process_due(alpha.ctx) == 100
    assert [state for _, state in await states(alpha)] == ["ignored"] * BACKLOG + ["done"]


async def test_hosts_take_turns_and_keep_their_own_order(network, alpha) -> None:
    """Batches of one, hosts with 3, 2 and 1 waiting: the shortest backlog first
    (nothing about a flood's age lets it go ahead), each host in its own order."""
    await create_user(alpha.ctx, "alice", password="correct horse")
    senders = []
    for host in ("a.test", "b.test", "c.test"):
        server = FakeServer(host)
        network.transport.add(host, server.app)
        senders.append(server.add_actor("x"))
    a, b, c = senders
    for actor, count in ((a, 3), (b, 2), (c, 1)):
        for n in range(count):
            assert (await signed_post(alpha, actor, create(actor, n))).status_code == 202

    order: list[str] = []
    while await process_due(alpha.ctx, limit=1):
        finished = [uri for uri, state in await states(alpha) if state != "pending"]
        order += [uri for uri in finished if uri not in order]
    # "a0": a.test's first activity, and so on.
    assert [uri[8] + uri.rsplit("/", 2)[1] for uri in order] == ["c0", "b0", "b1", "a0", "a1", "a2"]


async def test_hosts_waiting_for_a_retry_do_not_take_the_places(network, alpha) -> None:
    """Hosts whose only activity failed and waits for its retry are not "due":
    they must not fill a batch's places and leave due work unclaimed."""
    await create_user(alpha.ctx, "alice", password="correct horse")
    waiting = []
    for host in ("r1.test", "r2.test", "flood.test"):
        server = FakeServer(host)
        network.transport.add(host, server.app)
        waiting.append(server.add_actor("x"))
    *retrying, spammer = waiting
    for actor in retrying:
        assert (await signed_post(alpha, actor, create(actor, 0))).status_code == 202
    for n in range(5):
        assert (await signed_post(alpha, spammer, create(spammer, n))).status_code == 202
    # As processing does after a failure: the retry is due in a minute.
    later = alpha.ctx.clock.now() + timedelta(minutes=1)
    async with alpha.ctx.db.transaction() as s:
        await s.execute(
            update(InboundActivity)
            .where(InboundActivity.sender_host.in_(["r1.test", "r2.test"]))
            .values(attempts=1, next_attempt_at=later)
        )
    assert await process_due(alpha.ctx, limit=2) == 2
    assert [state for _, state in await states(alpha)] == ["pending"] * 2 + ["ignored"] * 2 + [
        "pending"
    ] * 3
