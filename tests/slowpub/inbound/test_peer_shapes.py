"""What other servers send and serve: GoToSocial key ids, forwarding, id-less activities,
actors without preferredUsername."""

from __future__ import annotations

import httpx
import pytest
from peers import FakeServer, signed_post
from tests_support import follow_body, stored, token_for

from slowpub.inbound.remote_actors import ActorError, cached_actor, fetch_actor
from slowpub.social.accounts import create_user
from slowpub.social.follows import follow, list_follows
from slowpub.workers import drain


@pytest.fixture
def gts(network) -> FakeServer:
    server = FakeServer("gts.test")
    network.transport.add("gts.test", server.app)
    return server


async def test_gotosocial_key_id_on_first_contact(alpha, gts) -> None:
    await create_user(alpha.ctx, "alice", password="correct horse")
    gary = gts.add_actor("gary", key_style="path")
    follow_activity = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": "https://gts.test/users/gary/follow/01ABC",
        "type": "Follow",
        "actor": gary.uri,
        "object": "https://alpha.test/users/alice",
    }
    r = await signed_post(alpha, gary, follow_activity)
    assert r.status_code == 202, r.text
    await drain(alpha.ctx)
    followers = await list_follows(alpha.ctx, "alice", direction="followers")
    assert [(f.handle, f.state) for f in followers] == [("gary@gts.test", "accepted")]
    accepts = [a for a in gts.received if a["type"] == "Accept"]
    assert len(accepts) == 1 and accepts[0]["object"]["id"] == follow_activity["id"]


async def test_redirect_to_another_host_is_not_trusted(network, alpha) -> None:
    victim, evil = FakeServer("victim.test"), FakeServer("evil.test")
    network.transport.add("victim.test", victim.app)
    network.transport.add("evil.test", evil.app)
    victim.redirects["/users/ceo"] = "https://evil.test/fake"
    mallory = evil.add_actor("mallory")
    doc = mallory.document()
    doc.update(id="https://victim.test/users/ceo", inbox="https://victim.test/users/ceo/inbox")
    doc["publicKey"]["id"] = "https://victim.test/users/ceo#main-key"
    evil.objects["https://evil.test/fake"] = doc
    with pytest.raises(ActorError, match="another host"):
        await fetch_actor(alpha.ctx, "https://victim.test/users/ceo")


async def test_forwarded_activity_is_acknowledged_not_stored(network, alpha) -> None:
    await create_user(alpha.ctx, "alice", password="correct horse")
    relay, origin = FakeServer("relay.test"), FakeServer("origin.test")
    network.transport.add("relay.test", relay.app)
    network.transport.add("origin.test", origin.app)
    forwarder = relay.add_actor("fwd")
    author = origin.add_actor("author")
    activity = {
        "id": author.uri + "/statuses/1/activity",
        "type": "Create",
        "actor": author.uri,
        "to": ["https://alpha.test/users/alice"],
        "object": {
            "id": author.uri + "/statuses/1",
            "type": "Note",
            "attributedTo": author.uri,
            "content": "hi",
        },
    }
    r = await signed_post(alpha, forwarder, activity)
    assert r.status_code == 202
    assert await stored(alpha) == 0


async def test_activity_without_id_is_accepted_once(network, alpha) -> None:
    await create_user(alpha.ctx, "alice", password="correct horse")
    masto = FakeServer("masto.test")
    network.transport.add("masto.test", masto.app)
    mary = masto.add_actor("mary")
    add = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "type": "Add",
        "actor": mary.uri,
        "object": mary.uri + "/statuses/9",
        "target": mary.uri + "/collections/featured",
    }
    assert (await signed_post(alpha, mary, add)).status_code == 202
    assert (await signed_post(alpha, mary, add)).status_code == 202
    assert await stored(alpha) == 1


async def test_undo_accept_revokes_our_follow(network, alpha) -> None:
    await create_user(alpha.ctx, "alice", password="correct horse")
    masto = FakeServer("masto.test")
    network.transport.add("masto.test", masto.app)
    mary = masto.add_actor("mary")
    row = await follow(alpha.ctx, "alice", "mary@masto.test")
    await drain(alpha.ctx)
    accept = {
        "id": mary.uri + "#accepts/1",
        "type": "Accept",
        "actor": mary.uri,
        "object": {
            "id": row.uri,
            "type": "Follow",
            "actor": "https://alpha.test/users/alice",
            "object": mary.uri,
        },
    }
    assert (await signed_post(alpha, mary, accept)).status_code == 202
    await drain(alpha.ctx)
    assert [f.state for f in await list_follows(alpha.ctx, "alice", direction="following")] == [
        "accepted"
    ]
    undo = {"id": mary.uri + "#undo/1", "type": "Undo", "actor": mary.uri, "object": accept}
    assert (await signed_post(alpha, mary, undo)).status_code == 202
    await drain(alpha.ctx)
    assert await list_follows(alpha.ctx, "alice", direction="following") == []


async def test_burst_from_a_new_server_fetches_once_and_stores_all(network, alpha) -> None:
    import asyncio

    await create_user(alpha.ctx, "alice", password="correct horse")
    masto = FakeServer("burst.test")
    network.transport.add("burst.test", masto.app)
    mary = masto.add_actor("mary")
    likes = [
        {
            "id": f"{mary.uri}#likes/{n}",
            "type": "Like",
            "actor": mary.uri,
            "object": "https://alpha.test/users/alice/statuses/1",
        }
        for n in range(12)
    ]
    answers = await asyncio.gather(*(signed_post(alpha, mary, like) for like in likes))
    assert [a.status_code for a in answers] == [202] * 12
    actor_fetches = [r for r in network.transport.requests if r.url.path == "/users/mary"]
    assert len(actor_fetches) == 1
    assert await stored(alpha) == 12


@pytest.mark.parametrize(
    ("webfinger", "acct"), [(True, "quiet@quiet.test"), (False, "7f3a9c@quiet.test")]
)
async def test_actor_without_preferred_username_can_follow(
    network, alpha, webfinger: bool, acct: str
) -> None:
    # preferredUsername is optional in ActivityPub; such actors are named by
    # their host's WebFinger (reverse lookup), else by the end of their id.
    await create_user(alpha.ctx, "alice", password="correct horse")
    peer = FakeServer("quiet.test")
    network.transport.add("quiet.test", peer.app)
    if not webfinger:
        peer.statuses["/.well-known/webfinger"] = 404
    quiet = peer.add_actor(
        "quiet", at="https://quiet.test/ap/actors/7f3a9c", extra={"preferredUsername": None}
    )
    assert "preferredUsername" not in quiet.document()
    r = await signed_post(alpha, quiet, follow_body(quiet.uri, 1))
    assert r.status_code == 202, r.text
    await drain(alpha.ctx)
    followers = await list_follows(alpha.ctx, "alice", direction="followers")
    assert [(f.handle, f.state) for f in followers] == [(acct, "accepted")]
    assert [a["type"] for a in peer.received] == ["Accept"]

    # Its profile changes; the Update (again without preferredUsername) keeps the name.
    update = {
        "id": quiet.uri + "#updates/1",
        "type": "Update",
        "actor": quiet.uri,
        "object": {**quiet.document(), "name": "Quiet One"},
    }
    assert (await signed_post(alpha, quiet, update)).status_code == 202
    await drain(alpha.ctx)
    actor = await cached_actor(alpha.ctx, quiet.uri)
    assert actor is not None
    # Remote accounts are for signed-in users (issue 9.7), by their public id.
    token = await token_for(alpha, "alice", "correct horse")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=alpha.app), base_url="https://alpha.test"
    ) as client:
        account = (
            await client.get(
                f"/api/v1/accounts/{actor.public_id}",
                headers={"Authorization": f"Bearer {token}"},
            )
        ).json()
    assert (account["acct"], account["username"]) == (acct, acct.split("@")[0])
    assert account["display_name"] == "Quiet One"
