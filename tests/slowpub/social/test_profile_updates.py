"""Profile changes reach followers as a signed Update of the actor, from every face.

The followers are a real second slowpub (its inbox checks the signature and
updates its copy of the actor) and a fake Mastodon (whose received POSTs
are checked here against the sender's published key).
"""

from __future__ import annotations

import argparse
import json

import httpx
from sqlalchemy import select
from tests_support import followed_by_fake_mastodon, settle, token_for

from federation.verify import PublicKey, verify_request
from slowpub.commands.accounts import cmd_user_set
from slowpub.inbound.remote_actors import cached_actor
from slowpub.social.accounts import create_user
from slowpub.social.follows import follow
from slowpub.storage.models import Delivery, InboundActivity

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
ALICE = "https://alpha.test/users/alice"
AP = "application/activity+json"


async def user_set(instance, key: str, value: str) -> None:
    """What `slowpub user set alice KEY VALUE` runs, on this instance."""
    args = argparse.Namespace(name="alice", key=key, value=value, json=False)
    await cmd_user_set(args, instance.ctx)


def posts_to(network, url: str) -> list[httpx.Request]:
    return [r for r in network.transport.requests if r.method == "POST" and str(r.url) == url]


async def verified_by_alices_key(alpha, request: httpx.Request) -> None:
    actor = await cached_actor(alpha.ctx, ALICE)
    assert actor is not None and actor.public_key_pem

    async def resolver(key_id: str, refresh: bool) -> PublicKey:
        assert key_id == actor.key_id
        return PublicKey(key_id=key_id, owner=ALICE, pem=actor.public_key_pem)

    key = await verify_request(
        method="POST",
        url=str(request.url),
        headers=request.headers,
        body=request.content,
        resolver=resolver,
        now=alpha.ctx.clock.now(),
    )
    assert key.owner == ALICE


async def test_a_slowpub_follower_updates_its_copy_of_the_actor(network, alpha, beta) -> None:
    await create_user(alpha.ctx, "alice", password="correct horse")
    await create_user(beta.ctx, "bob", password="correct horse")
    await follow(beta.ctx, "bob", "alice@alpha.test")
    await settle(alpha, beta)
    fetched = sum(1 for r in network.transport.requests if str(r.url) == ALICE)

    # The Mastodon API's profile editor, as every app sends it.
    token = await token_for(alpha, "alice", "correct horse")
    async with httpx.AsyncClient(
        transport=network.transport, headers={"Authorization": f"Bearer {token}"}
    ) as client:
        r = await client.patch(
            "https://alpha.test/api/v1/accounts/update_credentials",
            data={"display_name": "Alice Liddell", "note": "Down the rabbit hole"},
        )
        assert r.status_code == 200, r.text
    await settle(alpha, beta)

    copy = await cached_actor(beta.ctx, ALICE)
    assert copy is not None and copy.name == "Alice Liddell"
    assert copy.summary is not None and "Down the rabbit hole" in copy.summary
    # It came as the Update, not by fetching the actor again.
    assert sum(1 for r in network.transport.requests if str(r.url) == ALICE) == fetched
    async with alpha.ctx.db.sessions() as s:
        sent = (await s.execute(select(Delivery).where(Delivery.activity_type == "Update"))).all()
    assert [(d.inbox_url, d.state) for (d,) in sent] == [("https://beta.test/inbox", "done")]
    async with beta.ctx.db.sessions() as s:
        updates = (
            await s.execute(
                select(InboundActivity).where(InboundActivity.activity_type == "Update")
            )
        ).all()
    assert [(u.actor_uri, u.state) for (u,) in updates] == [(ALICE, "done")]


async def test_user_set_sends_one_signed_update_to_the_shared_inbox(network, alpha) -> None:
    masto, _mary = await followed_by_fake_mastodon(network, alpha)
    await user_set(alpha, "display-name", "Alice Liddell")
    # A second change before the workers ran: one Update carries both.
    await user_set(alpha, "summary", "Curiouser and curiouser")
    await settle(alpha)

    assert [a["type"] for a in masto.received] == ["Update"]
    update = masto.received[0]
    assert update["actor"] == ALICE and update["to"] == [PUBLIC]
    assert update["cc"] == [ALICE + "/followers"]
    actor = update["object"]
    assert (actor["id"], actor["type"], actor["preferredUsername"]) == (ALICE, "Person", "alice")
    assert actor["name"] == "Alice Liddell" and "Curiouser and curiouser" in actor["summary"]
    assert actor["publicKey"]["owner"] == ALICE and actor["inbox"] == ALICE + "/inbox"
    [request] = posts_to(network, "https://masto.test/inbox")
    assert json.loads(request.content) == update
    await verified_by_alices_key(alpha, request)

    # Settings that are not part of the actor document send nothing.
    await user_set(alpha, "cooling-off", "2h")
    await user_set(alpha, "display-name", "Alice Liddell")  # unchanged
    await settle(alpha)
    assert len(masto.received) == 1
    await user_set(alpha, "manually-approves-followers", "on")
    await settle(alpha)
    assert [a["object"]["manuallyApprovesFollowers"] for a in masto.received] == [False, True]


async def test_a_c2s_update_of_the_actor_changes_the_profile(network, alpha) -> None:
    masto, _mary = await followed_by_fake_mastodon(network, alpha)
    token = await token_for(alpha, "alice", "correct horse")
    async with httpx.AsyncClient(
        transport=network.transport,
        headers={"Authorization": f"Bearer {token}", "Content-Type": AP, "Accept": AP},
    ) as client:
        actor = (await client.get(ALICE)).json()
        edited = {**actor, "name": "Alice L.", "summary": "<p>Now with <b>bold</b></p>"}
        r = await client.post(
            ALICE + "/outbox",
            json={"type": "Update", "actor": ALICE, "object": edited, "to": [PUBLIC]},
        )
        assert r.status_code == 201, r.text
        assert r.json()["object"]["name"] == "Alice L."
        renamed = {**actor, "preferredUsername": "queen"}
        refused = await client.post(
            ALICE + "/outbox", json={"type": "Update", "actor": ALICE, "object": renamed}
        )
        assert refused.status_code == 422 and "username" in refused.json()["error"]
    await settle(alpha)
    assert [(a["type"], a["object"]["name"]) for a in masto.received] == [("Update", "Alice L.")]
    assert "Now with bold" in masto.received[0]["object"]["summary"]
    await verified_by_alices_key(alpha, posts_to(network, "https://masto.test/inbox")[0])
