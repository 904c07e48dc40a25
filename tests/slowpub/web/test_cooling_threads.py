"""Threads written while they cool, from a C2S client and a Mastodon app.

At the default cooling-off (an hour) a reply to your own post is usually
written while that post still cools. It is taken, cools too, and never
leaves before its parent, even when the parent is edited (its cooling-off
restarts) after the reply was written. Cancelling the parent cancels its
cooling replies, and the answer says which.
"""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from tests_support import received, settle, token_for

from slowpub.outbound.queue_views import list_queue
from slowpub.social.accounts import create_user
from slowpub.social.follows import follow

AP = "application/activity+json"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
OUTBOX = "https://alpha.test/users/alice/outbox"


@pytest.fixture
async def alice(network, alpha, beta):
    """alice on alpha at the default settings, followed by bob on beta; her token."""
    await create_user(alpha.ctx, "alice", password="correct horse")
    await create_user(alpha.ctx, "eve", password="correct horse")
    await create_user(beta.ctx, "bob", password="correct horse")
    await follow(beta.ctx, "bob", "alice@alpha.test")
    await settle(alpha, beta)
    return alpha, beta, await token_for(alpha, "alice", "correct horse")


@pytest.fixture
async def c2s(network, alice):
    alpha, beta, token = alice
    async with httpx.AsyncClient(
        transport=network.transport, headers={"Authorization": f"Bearer {token}", "Accept": AP}
    ) as client:
        yield alpha, beta, client


@pytest.fixture
async def api(alice):
    alpha, beta, token = alice
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=alpha.app),
        base_url="https://alpha.test",
        headers={"Authorization": f"Bearer {token}"},
    ) as client:
        yield alpha, beta, client


async def _note(client: httpx.AsyncClient, content: str, reply_to: str | None = None) -> dict:
    note = {"type": "Note", "content": content, "to": [PUBLIC], "inReplyTo": reply_to}
    r = await client.post(OUTBOX, json=note, headers={"Content-Type": AP})
    assert r.status_code == 201, r.text
    return r.json()


async def test_c2s_reply_to_a_cooling_post_leaves_after_it(network, c2s) -> None:
    alpha, beta, client = c2s
    parent = await _note(client, "<p>A thought</p>")
    reply = await _note(client, "<p>And a second one</p>", parent["object"]["id"])
    assert reply["object"]["inReplyTo"] == parent["object"]["id"]
    assert reply["slowpub"]["state"] == "cooling"
    assert reply["slowpub"]["releaseAt"] >= parent["slowpub"]["releaseAt"]

    # Half an hour on, the parent is edited: its cooling-off starts again,
    # so it now leaves after the reply was due.
    network.clock.advance(timedelta(minutes=30))
    edited = await client.post(
        OUTBOX,
        json={"type": "Update", "object": {"id": parent["object"]["id"], "content": "Edited"}},
        headers={"Content-Type": AP},
    )
    assert edited.status_code == 201, edited.text
    moved = edited.json()["slowpub"]["releaseAt"]
    assert moved > reply["slowpub"]["releaseAt"]

    network.clock.advance(timedelta(minutes=31))  # the reply's time, not the parent's
    await settle(alpha, beta)
    assert await received(beta) == []
    held = (await client.get(reply["id"])).json()["slowpub"]
    assert held["state"] == "cooling" and held["releaseAt"] == moved

    network.clock.advance(timedelta(minutes=30))
    await settle(alpha, beta)
    creates = {c["object"]["id"]: c["object"] for c in await received(beta)}
    assert set(creates) == {parent["object"]["id"], reply["object"]["id"]}
    assert creates[reply["object"]["id"]]["inReplyTo"] == parent["object"]["id"]
    released = {
        i["uri"]: i["released_at"] for i in await list_queue(alpha.ctx, "alice", all_states=True)
    }
    assert released[parent["object"]["id"]] <= released[reply["object"]["id"]]


async def test_c2s_cancelling_a_parent_cancels_its_cooling_replies(network, c2s) -> None:
    alpha, beta, client = c2s
    parent = await _note(client, "first")
    reply = await _note(client, "second", parent["object"]["id"])
    deeper = await _note(client, "third", reply["object"]["id"])
    other = await _note(client, "unrelated")
    r = await client.post(
        OUTBOX, json={"type": "Delete", "object": parent["id"]}, headers={"Content-Type": AP}
    )
    assert r.status_code == 201, r.text
    assert r.json()["slowpub"]["state"] == "cancelled"
    assert r.json()["slowpub"]["cancelledReplies"] == [
        reply["object"]["id"],
        deeper["object"]["id"],
    ]
    for gone in (reply, deeper):
        assert (await client.get(gone["object"]["id"])).status_code == 404
    network.clock.advance(timedelta(days=1))
    await settle(alpha, beta)
    assert [c["object"]["id"] for c in await received(beta)] == [other["object"]["id"]]


async def test_only_your_own_cooling_post_takes_replies(network, c2s) -> None:
    alpha, _, client = c2s
    parent = await _note(client, "alice's, cooling")
    async with httpx.AsyncClient(
        transport=network.transport,
        headers={"Authorization": f"Bearer {await token_for(alpha, 'eve', 'correct horse')}"},
    ) as eve:
        r = await eve.post(
            "https://alpha.test/users/eve/outbox",
            json={"type": "Note", "content": "hi", "inReplyTo": parent["object"]["id"]},
            headers={"Content-Type": AP},
        )
    assert r.status_code == 422 and "no such released post" in r.json()["error"]


async def test_mastodon_reply_to_a_cooling_status(network, api) -> None:
    alpha, beta, client = api
    parent = (await client.post("/api/v1/statuses", data={"status": "A thought"})).json()
    r = await client.post(
        "/api/v1/statuses", data={"status": "More on it", "in_reply_to_id": parent["id"]}
    )
    assert r.status_code == 200, r.text
    reply = r.json()
    assert reply["in_reply_to_id"] == parent["id"]
    assert reply["slowpub"]["release_at"] >= parent["slowpub"]["release_at"]
    # The thread view shows the author their cooling thread.
    thread = (await client.get(f"/api/v1/statuses/{parent['id']}/context")).json()
    assert [s["id"] for s in thread["descendants"]] == [reply["id"]]
    thread = (await client.get(f"/api/v1/statuses/{reply['id']}/context")).json()
    assert [s["id"] for s in thread["ancestors"]] == [parent["id"]]

    deleted = await client.delete(f"/api/v1/statuses/{parent['id']}")
    assert deleted.status_code == 200, deleted.text
    [cancelled] = deleted.json()["slowpub"]["cancelled_replies"]
    assert cancelled["id"] == reply["id"] and cancelled["uri"] == reply["uri"]
    assert cancelled["scheduled_status_id"] == reply["slowpub"]["queue_id"]
    assert (await client.get("/api/v1/scheduled_statuses")).json() == []

    # The same through the scheduled-statuses screen.
    parent = (await client.post("/api/v1/statuses", data={"status": "Again"})).json()
    reply = (
        await client.post(
            "/api/v1/statuses", data={"status": "Yes", "in_reply_to_id": parent["id"]}
        )
    ).json()
    r = await client.delete(f"/api/v1/scheduled_statuses/{parent['slowpub']['queue_id']}")
    assert r.status_code == 200, r.text
    assert [c["id"] for c in r.json()["slowpub"]["cancelled_replies"]] == [reply["id"]]
    network.clock.advance(timedelta(days=1))
    await settle(alpha, beta)
    assert await received(beta) == []
