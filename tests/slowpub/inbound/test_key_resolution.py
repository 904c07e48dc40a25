"""Remote keys: cached, refetched once on rotation, never in a loop for forgers."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import update
from tests_support import follow_body, post, stored

from federation.keys import generate_private_key_pem, public_key_pem
from federation.rfc9421 import sign_rfc9421
from slowpub.social.accounts import create_user
from slowpub.storage.models import Actor, User


def fetches_of(network, path: str) -> int:
    return sum(1 for r in network.transport.requests if r.url.path == path and r.method == "GET")


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
