"""Remote keys: cached, refetched once on rotation, never in a loop for forgers.

Key lookups run while a sender waits for our answer, so they are bounded:
a deadline for the whole lookup, failed key ids (and failing hosts) not
asked again for a while, a cap on fetches in flight.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta

import pytest
from peers import FakeActor, FakeServer, signed_post
from sqlalchemy import update
from tests_support import follow_body, post, stored

from federation.keys import generate_private_key_pem, public_key_pem
from federation.rfc9421 import sign_rfc9421
from slowpub.context import KEY_FETCH_CONCURRENCY
from slowpub.inbound import remote_actors
from slowpub.social.accounts import create_user
from slowpub.storage.models import Actor, User


def fetches_of(network, path: str) -> int:
    return sum(1 for r in network.transport.requests if r.url.path == path and r.method == "GET")


def gets_to(network, host: str) -> int:
    return sum(1 for r in network.transport.requests if r.url.host == host and r.method == "GET")


async def rotate_key(instance, user) -> str:
    new_private = generate_private_key_pem()
    async with instance.ctx.db.transaction() as s:
        await s.execute(update(User).where(User.id == user.id).values(private_key_pem=new_private))
        await s.execute(
            update(Actor)
            .where(Actor.id == user.actor_id)
            .values(public_key_pem=public_key_pem(new_private))
        )
    user.private_key_pem = new_private
    return new_private


async def test_rotated_key_is_refetched_once(network, alpha, beta) -> None:
    await create_user(alpha.ctx, "alice", password="correct horse")
    bob = await create_user(beta.ctx, "bob", password="correct horse")

    first = await post(alpha, bob, json.dumps(follow_body(n=1)).encode())
    assert first.status_code == 202
    assert fetches_of(network, "/users/bob") == 1
    again = await post(alpha, bob, json.dumps(follow_body(n=2)).encode())
    assert again.status_code == 202
    assert fetches_of(network, "/users/bob") == 1  # served from the cache

    await rotate_key(beta, bob)
    rotated = await post(alpha, bob, json.dumps(follow_body(n=3)).encode())
    assert rotated.status_code == 202, rotated.text
    assert fetches_of(network, "/users/bob") == 2

    # A forger signing with a key bob never published gets no second refetch
    # within the cool-down, and nothing is stored.
    forged_signer = type(
        "Forger", (), {"actor": bob.actor, "private_key_pem": generate_private_key_pem()}
    )
    forged = await post(alpha, forged_signer, json.dumps(follow_body(n=4)).encode())
    assert forged.status_code == 401
    assert fetches_of(network, "/users/bob") == 2
    assert await stored(alpha) == 3

    # After the cool-down a mismatch may refetch again (and still fails).
    network.clock.advance(timedelta(minutes=2))
    forged = await post(alpha, forged_signer, json.dumps(follow_body(n=5)).encode())
    assert forged.status_code == 401
    assert fetches_of(network, "/users/bob") == 3


async def test_rfc9421_signed_post_is_accepted(alpha, beta) -> None:
    import httpx

    await create_user(alpha.ctx, "alice", password="correct horse")
    bob = await create_user(beta.ctx, "bob", password="correct horse")
    url = "https://alpha.test/users/alice/inbox"
    body = json.dumps(follow_body()).encode()
    headers = sign_rfc9421(
        "POST",
        url,
        {"Content-Type": "application/activity+json"},
        body,
        key_id=bob.actor.key_id or "",
        private_key_pem=bob.private_key_pem,
        created=int(alpha.ctx.clock.now().timestamp()),
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=alpha.app)) as client:
        ok = await client.post(url, content=body, headers=headers)
        assert ok.status_code == 202, ok.text
        tampered = await client.post(url, content=body.replace(b"/1", b"/9"), headers=headers)
        assert tampered.status_code == 401
    assert await stored(alpha) == 1


@pytest.mark.parametrize("status", [404, 410])
async def test_a_failing_key_id_is_fetched_once_for_many_posts(network, alpha, status) -> None:
    await create_user(alpha.ctx, "alice", password="correct horse")
    gone = FakeServer("gone.test")
    network.transport.add("gone.test", gone.app)
    if status == 410:
        gone.statuses["/users/ghost"] = 410  # else a plain 404
    ghost = FakeActor("gone.test", "ghost")
    for n in range(50):
        r = await signed_post(alpha, ghost, follow_body(ghost.uri, n))
        assert r.status_code == 401
    assert gets_to(network, "gone.test") == 1
    assert await stored(alpha) == 0
    # After the documented five minutes the key id is asked for again.
    network.clock.advance(timedelta(minutes=6))
    assert (await signed_post(alpha, ghost, follow_body(ghost.uri, 50))).status_code == 401
    assert gets_to(network, "gone.test") == 2


async def test_key_ids_on_a_failing_host_are_not_fetched_one_by_one(network, alpha) -> None:
    await create_user(alpha.ctx, "alice", password="correct horse")
    victim = FakeServer("victim.test")
    network.transport.add("victim.test", victim.app)
    mary = victim.add_actor("mary")
    assert (await signed_post(alpha, mary, follow_body(mary.uri, 1))).status_code == 202
    assert gets_to(network, "victim.test") == 1
    # 50 POSTs naming made-up key ids on victim.test must not become 50 GETs.
    pem = generate_private_key_pem()
    for n in range(50):
        forger = FakeActor("victim.test", f"nobody{n}", private_pem=pem)
        assert (await signed_post(alpha, forger, follow_body(forger.uri, n))).status_code == 401
    assert gets_to(network, "victim.test") <= 1 + remote_actors.HOST_FAILURE_LIMIT
    # Nor at once: a concurrent burst waits for fetch slots and then
    # finds the host failed.
    network.clock.advance(timedelta(minutes=6))
    before = gets_to(network, "victim.test")
    burst = [FakeActor("victim.test", f"burst{n}", private_pem=pem) for n in range(50)]
    answers = await asyncio.gather(
        *(signed_post(alpha, f, follow_body(f.uri, n)) for n, f in enumerate(burst))
    )
    assert {a.status_code for a in answers} == {401}
    assert gets_to(network, "victim.test") - before <= KEY_FETCH_CONCURRENCY
    # Keys already known from that host still verify.
    assert (await signed_post(alpha, mary, follow_body(mary.uri, 2))).status_code == 202


async def drip_feed(scope, receive, send) -> None:
    """A key server that sends its headers and one byte, then nothing, forever."""
    headers = [(b"content-type", b"application/activity+json")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"{", "more_body": True})
    await asyncio.Event().wait()


async def test_a_key_server_that_never_finishes_gets_a_401_in_time(
    network, alpha, monkeypatch
) -> None:
    monkeypatch.setattr(remote_actors, "KEY_FETCH_DEADLINE", 0.5)
    await create_user(alpha.ctx, "alice", password="correct horse")
    network.transport.add("drip.test", drip_feed)
    slow = FakeActor("drip.test", "slow")
    for n in range(2):
        started = time.monotonic()
        r = await asyncio.wait_for(signed_post(alpha, slow, follow_body(slow.uri, n)), 5)
        assert r.status_code == 401
        assert time.monotonic() - started < 2
    assert gets_to(network, "drip.test") == 1  # the second POST was refused from memory


async def test_two_actors_of_one_host_rotating_keys_are_both_accepted(network, alpha) -> None:
    await create_user(alpha.ctx, "alice", password="correct horse")
    host = FakeServer("rotating.test")
    network.transport.add("rotating.test", host.app)
    xavier, yvonne = host.add_actor("xavier"), host.add_actor("yvonne")
    for n, sender in enumerate((xavier, yvonne)):
        assert (await signed_post(alpha, sender, follow_body(sender.uri, n))).status_code == 202
    # The server rotates every key (Mastodon after a key compromise, say).
    xavier.private_pem, yvonne.private_pem = generate_private_key_pem(), generate_private_key_pem()
    for n, sender in enumerate((xavier, yvonne), start=10):
        answer = await signed_post(alpha, sender, follow_body(sender.uri, n))
        assert answer.status_code == 202, (sender.username, answer.text)
    assert fetches_of(network, xavier.path) == fetches_of(network, yvonne.path) == 2
    assert await stored(alpha) == 4


async def test_forgeries_naming_a_key_spend_only_that_keys_refetch(network, alpha) -> None:
    await create_user(alpha.ctx, "alice", password="correct horse")
    host = FakeServer("rotating.test")
    network.transport.add("rotating.test", host.app)
    xavier, yvonne = host.add_actor("xavier"), host.add_actor("yvonne")
    for n, sender in enumerate((xavier, yvonne)):
        assert (await signed_post(alpha, sender, follow_body(sender.uri, n))).status_code == 202
    # xavier rotates his key; at the same moment a forger floods alpha with
    # requests naming xavier's key id, signed with a key of its own.
    xavier.private_pem = generate_private_key_pem()
    forger = FakeActor("rotating.test", "xavier", private_pem=generate_private_key_pem())
    answers = await asyncio.gather(
        *(signed_post(alpha, forger, follow_body(xavier.uri, 100 + n)) for n in range(30)),
        signed_post(alpha, xavier, follow_body(xavier.uri, 2)),
    )
    assert [a.status_code for a in answers] == [401] * 30 + [202]
    assert fetches_of(network, xavier.path) == 2  # the first contact and one refetch
    # yvonne, on the same host, rotates too: her next POST gets its own refetch.
    yvonne.private_pem = generate_private_key_pem()
    assert (await signed_post(alpha, yvonne, follow_body(yvonne.uri, 3))).status_code == 202
    assert fetches_of(network, yvonne.path) == 2
    # More forgeries within the minute fetch nothing; after it, once more.
    for n in range(10):
        forged = await signed_post(alpha, forger, follow_body(xavier.uri, 200 + n))
        assert forged.status_code == 401
    assert fetches_of(network, xavier.path) == 2
    network.clock.advance(remote_actors.KEY_REFETCH_COOLDOWN + timedelta(seconds=1))
    for n in range(10):
        forged = await signed_post(alpha, forger, follow_body(xavier.uri, 300 + n))
        assert forged.status_code == 401
    assert fetches_of(network, xavier.path) == 3
    assert await stored(alpha) == 4
