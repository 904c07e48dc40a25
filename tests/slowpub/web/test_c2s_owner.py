"""What a C2S client sees of its own posts, at the default cooling-off (an hour).

A C2S client posts to the outbox and is handed a ``Location``; it must be
able to open it, and the object it names, while the post cools, and to take
the post back by either id. Nobody else learns the post exists before it is
released; a cancelled post is gone for everyone, a deleted one answers with
a Tombstone. ``proxyUrl`` reads this server's own objects and collections
with the caller's rights, and the owner's outbox lists what a reader of it
should see.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from tests_support import received, settle, token_for

from slowpub.bundles.sealing import seal_now
from slowpub.outbound.posting import Draft, create_post
from slowpub.outbound.queue_views import list_queue
from slowpub.social.accounts import create_user
from slowpub.social.follows import follow
from slowpub.storage.models import Post

AP = "application/activity+json"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
OUTBOX = "https://alpha.test/users/alice/outbox"


@pytest.fixture
async def c2s(network, alpha, beta):
    """alice on alpha at the default settings, followed by bob on beta."""
    await create_user(alpha.ctx, "alice", password="correct horse")
    await create_user(alpha.ctx, "eve", password="correct horse")
    await create_user(beta.ctx, "bob", password="correct horse")
    await follow(beta.ctx, "bob", "alice@alpha.test")
    await settle(alpha, beta)
    token = await token_for(alpha, "alice", "correct horse")
    client = httpx.AsyncClient(
        transport=network.transport,
        headers={"Authorization": f"Bearer {token}", "Accept": AP},
    )
    yield alpha, beta, client
    await client.aclose()


async def _post_note(client: httpx.AsyncClient, content: str, **extra: Any) -> httpx.Response:
    note = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "type": "Note",
        "content": content,
        "to": [PUBLIC],
        **extra,
    }
    r = await client.post(OUTBOX, json=note, headers={"Content-Type": AP})
    assert r.status_code == 201, r.text
    return r


async def _as(network, alpha, name: str) -> httpx.AsyncClient:
    token = await token_for(alpha, name, "correct horse")
    return httpx.AsyncClient(
        transport=network.transport, headers={"Authorization": f"Bearer {token}", "Accept": AP}
    )


async def test_owner_opens_the_location_of_a_cooling_post(network, c2s) -> None:
    alpha, beta, client = c2s
    r = await _post_note(client, "<p>Cooling for an hour</p>")
    location = r.headers["location"]
    object_id = r.json()["object"]["id"]
    release_at = r.json()["slowpub"]["releaseAt"]

    opened = await client.get(location)
    assert opened.status_code == 200, opened.text
    assert opened.headers["content-type"].startswith(AP)
    activity = opened.json()
    assert activity["type"] == "Create" and activity["id"] == location
    assert activity["object"]["id"] == object_id
    assert activity["slowpub"]["state"] == "cooling"
    assert activity["slowpub"]["releaseAt"] == release_at
    assert any(isinstance(c, dict) and "slowpub" in c for c in activity["@context"])
    assert "Authorization" in opened.headers["vary"]
    obj = (await client.get(object_id)).json()
    assert obj["type"] == "Note" and "Cooling for an hour" in obj["content"]
    assert obj["slowpub"]["state"] == "cooling"

    # Nobody else learns it exists: anonymous, signed-out or another account.
    eve = await _as(network, alpha, "eve")
    async with eve, httpx.AsyncClient(transport=network.transport) as anonymous:
        for url in (location, object_id):
            assert (await anonymous.get(url, headers={"Accept": AP})).status_code == 404
            assert (await eve.get(url)).status_code == 404

        network.clock.advance(timedelta(minutes=61))
        await settle(alpha, beta)
        public = await anonymous.get(object_id, headers={"Accept": AP})
        assert public.status_code == 200 and "slowpub" not in public.json()
    assert (await client.get(location)).json()["slowpub"]["state"] == "released"


@pytest.mark.parametrize(
    "take_back",
    [
        lambda r: {"type": "Delete", "object": r.headers["location"]},
        lambda r: {"type": "Delete", "object": r.json()["object"]["id"]},
        lambda r: {"type": "Undo", "object": r.headers["location"]},
        lambda r: {"type": "Undo", "object": {"type": "Create", "id": r.headers["location"]}},
        lambda r: {"type": "Undo", "object": r.json()["object"]["id"]},
    ],
    ids=["delete-activity", "delete-object", "undo-activity", "undo-embedded", "undo-object"],
)
async def test_taking_back_a_cooling_post_by_either_id_cancels_it(network, c2s, take_back) -> None:
    alpha, beta, client = c2s
    r = await _post_note(client, "second thoughts")
    answer = await client.post(OUTBOX, json=take_back(r), headers={"Content-Type": AP})
    assert answer.status_code == 201, answer.text
    assert answer.json()["slowpub"]["state"] == "cancelled"

    # Gone for everyone, its author included; it lives on in the queue history.
    for url in (r.headers["location"], r.json()["object"]["id"]):
        assert (await client.get(url)).status_code == 404
    [item] = await list_queue(alpha.ctx, "alice", all_states=True)
    assert item["state"] == "cancelled" and item["text"] == "second thoughts"
    network.clock.advance(timedelta(days=1))
    await settle(alpha, beta)
    assert await received(beta) == [] and await received(beta, "Delete") == []


async def test_undo_of_a_cooling_like_by_its_id(network, c2s) -> None:
    alpha, beta, client = c2s
    item = await create_post(beta.ctx, "bob", Draft("Bob's post"))
    network.clock.advance(timedelta(minutes=61))
    await settle(alpha, beta)
    async with beta.ctx.db.sessions() as session:
        bobs = (await session.get(Post, item.post_id)).uri
    like = await client.post(
        OUTBOX, json={"type": "Like", "object": bobs}, headers={"Content-Type": AP}
    )
    assert like.status_code == 201 and like.json()["slowpub"]["state"] == "cooling"
    undo = await client.post(
        OUTBOX,
        json={"type": "Undo", "object": like.headers["location"]},
        headers={"Content-Type": AP},
    )
    assert undo.status_code == 201, undo.text
    assert undo.json()["slowpub"]["state"] == "cancelled"
    network.clock.advance(timedelta(days=1))
    await settle(alpha, beta)
    assert await received(beta, "Like") == [] and await received(beta, "Undo") == []


async def test_a_deleted_post_is_a_tombstone_for_everyone(network, c2s) -> None:
    alpha, beta, client = c2s
    r = await _post_note(client, "said and regretted")
    network.clock.advance(timedelta(minutes=61))
    await settle(alpha, beta)
    assert len(await received(beta)) == 1
    answer = await client.post(
        OUTBOX,
        json={"type": "Delete", "object": r.headers["location"]},
        headers={"Content-Type": AP},
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["slowpub"]["state"] == "deleted"
    await settle(alpha, beta)
    assert len(await received(beta, "Delete")) == 1
    async with httpx.AsyncClient(transport=network.transport) as anonymous:
        for c in (client, anonymous):
            gone = await c.get(r.json()["object"]["id"], headers={"Accept": AP})
            assert gone.status_code == 410 and gone.json()["type"] == "Tombstone"


async def _proxy(client: httpx.AsyncClient, url: str) -> httpx.Response:
    # The ActivityPub spec: a form POST of id=<the object's URL> to proxyUrl.
    return await client.post("https://alpha.test/api/proxy", data={"id": url})


async def test_proxy_reads_the_owners_own_inbox_and_outbox(network, c2s) -> None:
    alpha, beta, client = c2s
    await follow(alpha.ctx, "alice", "bob@beta.test")
    await settle(alpha, beta)
    await create_post(beta.ctx, "bob", Draft("Bob on beta"))
    network.clock.advance(timedelta(minutes=61))
    await settle(alpha, beta)
    assert await seal_now(alpha.ctx, "alice") is not None
    cooling = await _post_note(client, "alice still cooling")

    inbox = await _proxy(client, "https://alpha.test/users/alice/inbox")
    assert inbox.status_code == 200, inbox.text
    assert inbox.json()["type"] == "OrderedCollection"
    page = await _proxy(client, inbox.json()["first"])
    assert page.status_code == 200, page.text
    assert any("Bob on beta" in (i.get("content") or "") for i in page.json()["orderedItems"])

    outbox = await _proxy(client, OUTBOX + "?page=1")
    assert outbox.status_code == 200, outbox.text
    [own] = outbox.json()["orderedItems"]
    assert own["id"] == cooling.headers["location"] and own["slowpub"]["state"] == "cooling"
    through = await _proxy(client, cooling.headers["location"])
    assert through.status_code == 200 and through.json()["slowpub"]["state"] == "cooling"

    # The caller's own rights, not more: eve cannot read alice's inbox through it.
    async with await _as(network, alpha, "eve") as eve:
        refused = await _proxy(eve, "https://alpha.test/users/alice/inbox?page=1")
        assert refused.status_code == 403 and "someone else" in refused.json()["error"]
        assert (await _proxy(eve, cooling.headers["location"])).status_code == 404
    # Remote objects still come over the network, signed as alice.
    [bobs] = await received(alpha)
    remote = await _proxy(client, bobs["object"]["id"])
    assert remote.status_code == 200 and "Bob on beta" in remote.json()["content"]


async def test_owners_outbox_lists_neither_cancelled_nor_deleted_posts(network, c2s) -> None:
    alpha, beta, client = c2s
    deleted = await _post_note(client, "released, then deleted")
    kept = await _post_note(client, "released and kept")
    network.clock.advance(timedelta(minutes=61))
    await settle(alpha, beta)
    r = await client.post(
        OUTBOX,
        json={"type": "Delete", "object": deleted.json()["object"]["id"]},
        headers={"Content-Type": AP},
    )
    assert r.status_code == 201
    cancelled = await _post_note(client, "cancelled while cooling")
    r = await client.post(
        OUTBOX,
        json={"type": "Delete", "object": cancelled.json()["object"]["id"]},
        headers={"Content-Type": AP},
    )
    assert r.status_code == 201
    cooling = await _post_note(client, "still cooling")

    page = (await client.get(OUTBOX + "?page=1")).json()
    listed = [(i["type"], i["id"], i["slowpub"]["state"]) for i in page["orderedItems"]]
    assert listed == [
        ("Create", cooling.headers["location"], "cooling"),
        ("Create", kept.headers["location"], "released"),
    ]
    async with httpx.AsyncClient(transport=network.transport) as anonymous:
        public = (await anonymous.get(OUTBOX + "?page=1", headers={"Accept": AP})).json()
    assert [i["id"] for i in public["orderedItems"]] == [kept.headers["location"]]


@pytest.mark.parametrize(
    "content_type",
    [
        "application/ld+json",
        'application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
        "application/activity+json",
        "Application/LD+JSON; charset=utf-8",
        "application/json",
    ],
)
async def test_outbox_takes_every_activitystreams_content_type(c2s, content_type) -> None:
    _, _, client = c2s
    r = await client.post(
        OUTBOX,
        content=b'{"type": "Note", "content": "typed", "to": ["%s"]}' % PUBLIC.encode(),
        headers={"Content-Type": content_type},
    )
    assert r.status_code == 201, r.text


async def test_outbox_refuses_other_content_types_naming_the_accepted_ones(c2s) -> None:
    _, _, client = c2s
    for content_type in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = {"Content-Type": content_type} if content_type else {}
        r = await client.post(OUTBOX, content=b'{"type": "Note"}', headers=headers)
        assert r.status_code == 415, r.text
        reason = r.json()["error"]
        for accepted in ("application/activity+json", "application/ld+json", "application/json"):
            assert accepted in reason
