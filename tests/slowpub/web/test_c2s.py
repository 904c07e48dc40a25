"""ActivityPub client-to-server with a plain HTTP client, as the spec describes it."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from tests_support import received, set_user, settle, token_for

from slowpub.bundles.sealing import seal_now
from slowpub.outbound.posting import Draft, create_post
from slowpub.social.accounts import create_user
from slowpub.social.follows import follow

AP = "application/activity+json"
LD = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


@pytest.fixture
async def c2s(network, alpha, beta):
    await create_user(alpha.ctx, "alice", password="correct horse")
    await create_user(alpha.ctx, "eve", password="correct horse")
    await create_user(beta.ctx, "bob", password="correct horse")
    await set_user(alpha, "alice", cooling_off="10m")
    await follow(beta.ctx, "bob", "alice@alpha.test")
    await settle(alpha, beta)
    token = await token_for(alpha, "alice", "correct horse")
    client = httpx.AsyncClient(
        transport=network.transport,
        headers={"Authorization": f"Bearer {token}", "Accept": AP},
    )
    yield alpha, beta, client
    await client.aclose()


async def test_actor_advertises_c2s_endpoints(c2s) -> None:
    _, _, client = c2s
    actor = (
        await client.get("https://alpha.test/users/alice", headers={"Accept": "application/json"})
    ).json()
    endpoints = actor["endpoints"]
    assert endpoints["oauthAuthorizationEndpoint"] == "https://alpha.test/oauth/authorize"
    assert endpoints["oauthTokenEndpoint"] == "https://alpha.test/oauth/token"
    assert endpoints["proxyUrl"] == "https://alpha.test/api/proxy"
    assert endpoints["sharedInbox"] == "https://alpha.test/inbox"


async def test_create_cools_then_federates(network, c2s) -> None:
    alpha, beta, client = c2s
    note = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "type": "Note",
        "content": "<p>From a C2S client</p>",
        "to": [PUBLIC],
    }
    r = await client.post(
        "https://alpha.test/users/alice/outbox", json=note, headers={"Content-Type": LD}
    )
    assert r.status_code == 201, r.text
    created = r.json()
    assert r.headers["location"] == created["id"]
    assert created["type"] == "Create" and created["object"]["id"].startswith(
        "https://alpha.test/users/alice/statuses/"
    )
    assert created["slowpub"]["state"] == "cooling" and created["slowpub"]["releaseAt"]

    # The owner sees it cooling in the outbox; others do not see it at all.
    own = (await client.get("https://alpha.test/users/alice/outbox?page=1")).json()
    assert [i["slowpub"]["state"] for i in own["orderedItems"]] == ["cooling"]
    async with httpx.AsyncClient(transport=network.transport) as stranger:
        public = (
            await stranger.get(
                "https://alpha.test/users/alice/outbox?page=1", headers={"Accept": AP}
            )
        ).json()
        assert public["orderedItems"] == []

    # Update while cooling edits it; it then federates once, edited.
    update = {
        "type": "Update",
        "object": {
            **note,
            "id": created["object"]["id"],
            "content": "<p>Edited before release</p>",
        },
    }
    r = await client.post(
        "https://alpha.test/users/alice/outbox", json=update, headers={"Content-Type": AP}
    )
    assert r.status_code == 201, r.text
    network.clock.advance(timedelta(minutes=11))
    await settle(alpha, beta)
    [create] = await received(beta)
    assert "Edited before release" in create["object"]["content"]


async def test_delete_of_cooling_post_cancels_it(network, c2s) -> None:
    alpha, beta, client = c2s
    r = await client.post(
        "https://alpha.test/users/alice/outbox",
        json={"type": "Note", "content": "oops", "to": [PUBLIC]},
        headers={"Content-Type": "application/json"},
    )
    object_id = r.json()["object"]["id"]
    r = await client.post(
        "https://alpha.test/users/alice/outbox",
        json={"type": "Delete", "object": object_id},
        headers={"Content-Type": AP},
    )
    assert r.status_code == 201
    network.clock.advance(timedelta(days=1))
    await settle(alpha, beta)
    assert await received(beta) == [] and await received(beta, "Delete") == []


async def test_create_without_recipients_is_a_private_note(network, c2s) -> None:
    alpha, beta, client = c2s
    r = await client.post(
        "https://alpha.test/users/alice/outbox",
        json={"type": "Note", "content": "just for me"},
        headers={"Content-Type": AP},
    )
    assert r.status_code == 201
    assert r.json()["object"]["to"] == [] and r.json()["object"]["cc"] == []
    network.clock.advance(timedelta(hours=1))
    await settle(alpha, beta)
    assert await received(beta) == []


async def test_inbox_is_the_sealed_bundle(network, c2s) -> None:
    alpha, beta, client = c2s
    await follow(alpha.ctx, "alice", "bob@beta.test")
    await set_user(beta, "bob", cooling_off="0")
    await settle(alpha, beta)
    await create_post(beta.ctx, "bob", Draft("Bob's daily thought"))
    await settle(alpha, beta)
    first = (await client.get("https://alpha.test/users/alice/inbox?page=1")).json()
    assert [i for i in first["orderedItems"] if i.get("type") == "Note"] == []
    assert await seal_now(alpha.ctx, "alice") is not None
    page = (await client.get("https://alpha.test/users/alice/inbox?page=1")).json()
    [note] = [i for i in page["orderedItems"] if i.get("type") == "Note"]
    assert "Bob's daily thought" in note["content"]
    assert note["attributedTo"]["preferredUsername"] == "bob"
    assert note["attributedTo"]["id"] == "https://beta.test/users/bob"
    assert {"id", "type", "published", "summary", "content"} <= set(note)


async def test_refusals(network, c2s) -> None:
    alpha, _, client = c2s
    outbox = "https://alpha.test/users/alice/outbox"
    async with httpx.AsyncClient(transport=network.transport) as anonymous:
        r = await anonymous.post(
            outbox, json={"type": "Note", "content": "x"}, headers={"Content-Type": AP}
        )
        assert r.status_code == 401
        r = await anonymous.post(
            outbox,
            json={"type": "Note", "content": "x"},
            headers={"Content-Type": AP, "Authorization": "Bearer nonsense"},
        )
        assert r.status_code == 401
        r = await anonymous.get(
            "https://alpha.test/users/alice/inbox?page=1", headers={"Accept": AP}
        )
        assert r.status_code == 401
    r = await client.post(
        "https://alpha.test/users/eve/outbox",
        json={"type": "Note", "content": "x"},
        headers={"Content-Type": AP},
    )
    assert r.status_code == 403
    r = await client.post(outbox, content=b"{not json", headers={"Content-Type": AP})
    assert r.status_code == 400 and r.json()["error"]
    r = await client.post(outbox, json={"content": "no type"}, headers={"Content-Type": AP})
    assert r.status_code == 400
    r = await client.post(
        outbox, json={"type": "Note", "content": ""}, headers={"Content-Type": AP}
    )
    assert r.status_code == 422 and "text" in r.json()["error"]
    r = await client.post(outbox, json={"type": "Travel"}, headers={"Content-Type": AP})
    assert r.status_code == 422
    read_only = await token_for(alpha, "alice", "correct horse", scopes="read")
    r = await client.post(
        outbox,
        json={"type": "Note", "content": "x"},
        headers={"Content-Type": AP, "Authorization": f"Bearer {read_only}"},
    )
    assert r.status_code == 403
