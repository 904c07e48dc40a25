"""The Mastodon client API in-process: entities, the slow model, paging, refusals."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from tests_support import received, set_user, settle, token_for

from slowpub.bundles.sealing import seal_now
from slowpub.outbound.posting import Draft, create_post, react
from slowpub.outbound.queue_views import list_queue
from slowpub.social.accounts import create_user
from slowpub.social.follows import follow

STATUS_FIELDS = {
    "id",
    "uri",
    "url",
    "created_at",
    "account",
    "content",
    "visibility",
    "sensitive",
    "spoiler_text",
    "media_attachments",
    "application",
    "mentions",
    "tags",
    "emojis",
    "reblogs_count",
    "favourites_count",
    "replies_count",
    "reblog",
    "poll",
    "card",
    "language",
    "in_reply_to_id",
    "in_reply_to_account_id",
    "edited_at",
    "favourited",
    "reblogged",
    "muted",
    "bookmarked",
    "filtered",
}
ACCOUNT_FIELDS = {
    "id",
    "username",
    "acct",
    "display_name",
    "locked",
    "bot",
    "discoverable",
    "group",
    "created_at",
    "note",
    "url",
    "uri",
    "avatar",
    "avatar_static",
    "header",
    "header_static",
    "followers_count",
    "following_count",
    "statuses_count",
    "last_status_at",
    "emojis",
    "fields",
}


@pytest.fixture
async def api(network, alpha, beta):
    await create_user(alpha.ctx, "alice", password="correct horse", email="alice@mail.test")
    await create_user(beta.ctx, "bob", password="correct horse", display_name="Bob")
    await set_user(alpha, "alice", cooling_off="1h")
    await set_user(beta, "bob", cooling_off="0")
    token = await token_for(alpha, "alice", "correct horse")
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=alpha.app),
        base_url="https://alpha.test",
        headers={"Authorization": f"Bearer {token}"},
    )
    yield alpha, beta, client
    await client.aclose()


async def test_instance_and_credentials(api) -> None:
    _, _, client = api
    v1 = (await client.get("/api/v1/instance")).json()
    assert v1["version"].startswith("4.3.0 (compatible; slowpub")
    v2 = (await client.get("/api/v2/instance")).json()
    assert v2["domain"] == "alpha.test" and v2["configuration"]["statuses"]["max_characters"] > 0
    me = (await client.get("/api/v1/accounts/verify_credentials")).json()
    assert ACCOUNT_FIELDS <= set(me) and me["acct"] == "alice" and "source" in me
    assert (me["followers_count"], me["following_count"], me["statuses_count"]) == (0, 0, 0)
    changed = await client.patch(
        "/api/v1/accounts/update_credentials",
        data={"display_name": "Alice Slow", "note": "hi", "locked": "true"},
    )
    assert changed.json()["display_name"] == "Alice Slow" and changed.json()["locked"] is True
    for empty in ("/api/v1/custom_emojis", "/api/v1/filters", "/api/v2/filters", "/api/v1/lists"):
        assert (await client.get(empty)).json() == []
    assert "posting:default:visibility" in (await client.get("/api/v1/preferences")).json()


async def test_post_cools_and_is_a_scheduled_status(network, api) -> None:
    alpha, _, client = api
    r = await client.post(
        "/api/v1/statuses",
        data={"status": "Hello #slow", "visibility": "unlisted"},
        headers={"Idempotency-Key": "abc"},
    )
    assert r.status_code == 200, r.text
    status = r.json()
    assert STATUS_FIELDS <= set(status) and "scheduled_at" not in status
    assert status["visibility"] == "unlisted" and status["slowpub"]["state"] == "cooling"
    assert status["slowpub"]["release_at"]
    again = await client.post(
        "/api/v1/statuses", data={"status": "Hello #slow"}, headers={"Idempotency-Key": "abc"}
    )
    assert again.json()["id"] == status["id"]  # same key, same post
    assert len(await list_queue(alpha.ctx, "alice")) == 1
    # Visible to its author only while it cools.
    assert (await client.get(f"/api/v1/statuses/{status['id']}")).status_code == 200
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=alpha.app), base_url="https://alpha.test"
    ) as anonymous:
        assert (await anonymous.get(f"/api/v1/statuses/{status['id']}")).status_code == 404

    [scheduled] = (await client.get("/api/v1/scheduled_statuses")).json()
    assert scheduled["params"]["text"] == "Hello #slow"
    later = (network.clock.now() + timedelta(hours=5)).isoformat()
    moved = await client.put(
        f"/api/v1/scheduled_statuses/{scheduled['id']}", data={"scheduled_at": later}
    )
    assert moved.status_code == 200 and moved.json()["scheduled_at"].startswith(later[:16])
    edited = await client.put(f"/api/v1/statuses/{status['id']}", data={"status": "Hello again"})
    assert "Hello again" in edited.json()["content"]
    deleted = await client.delete(f"/api/v1/statuses/{status['id']}")
    assert deleted.status_code == 200 and deleted.json()["text"] == "Hello again"
    assert (await client.get("/api/v1/scheduled_statuses")).json() == []


async def test_scheduled_at_is_honoured_after_cooling(network, api) -> None:
    _, _, client = api
    soon = (network.clock.now() + timedelta(minutes=10)).isoformat()
    r = await client.post("/api/v1/statuses", json={"status": "planned", "scheduled_at": soon})
    assert r.status_code == 200
    # Cooling (1h) ends later than the requested time: the later one wins.
    assert r.json()["scheduled_at"] >= (network.clock.now() + timedelta(hours=1)).strftime(
        "%Y-%m-%dT%H:%M"
    )
    far = (network.clock.now() + timedelta(days=2)).isoformat()
    r = await client.post("/api/v1/statuses", json={"status": "much later", "scheduled_at": far})
    assert r.json()["scheduled_at"].startswith(far[:16])


async def test_home_and_notifications_show_sealed_bundles_only(network, api) -> None:
    alpha, beta, client = api
    await set_user(alpha, "alice", cooling_off="0")
    await follow(alpha.ctx, "alice", "bob@beta.test")
    await follow(beta.ctx, "bob", "alice@alpha.test")
    await settle(alpha, beta)
    mine = (await client.post("/api/v1/statuses", data={"status": "mine"})).json()
    await settle(alpha, beta)
    await create_post(beta.ctx, "bob", Draft("Bob says hi"))
    await react(beta.ctx, "bob", "like", mine["uri"])
    await settle(alpha, beta)
    assert (await client.get("/api/v1/timelines/home")).json() == []
    assert (await client.get("/api/v1/notifications")).json() == []
    assert await seal_now(alpha.ctx, "alice") is not None
    home = (await client.get("/api/v1/timelines/home")).json()
    assert [s["account"]["acct"] for s in home] == ["bob@beta.test"]
    assert STATUS_FIELDS <= set(home[0]) and home[0]["favourites_count"] == 0
    notes = (await client.get("/api/v1/notifications")).json()
    assert {n["type"] for n in notes} == {"follow", "favourite"}
    favourite = next(n for n in notes if n["type"] == "favourite")
    assert (
        favourite["status"]["id"] == mine["id"] and favourite["account"]["acct"] == "bob@beta.test"
    )
    r = await client.post("/api/v1/markers", json={"home": {"last_read_id": home[0]["id"]}})
    assert r.json()["home"]["last_read_id"] == home[0]["id"]
    markers = (await client.get("/api/v1/markers", params={"timeline[]": "home"})).json()
    assert markers["home"]["last_read_id"] == home[0]["id"]

    # Favouriting a post from the home timeline cools like everything else.
    await set_user(alpha, "alice", cooling_off="1h")
    fav = await client.post(f"/api/v1/statuses/{home[0]['id']}/favourite")
    assert fav.status_code == 200 and fav.json()["favourited"] is True
    await settle(alpha, beta)
    assert await received(beta, "Like") == []


async def test_accounts_search_and_relationships(network, api) -> None:
    _, beta, client = api
    found = (
        await client.get("/api/v2/search", params={"q": "bob@beta.test", "resolve": "true"})
    ).json()
    [bob] = found["accounts"]
    assert bob["acct"] == "bob@beta.test" and bob["display_name"] == "Bob"
    assert (await client.get("/api/v1/accounts/lookup", params={"acct": "bob@beta.test"})).json()[
        "id"
    ] == bob["id"]
    rel = (await client.post(f"/api/v1/accounts/{bob['id']}/follow")).json()
    assert rel["requested"] or rel["following"]
    await settle(api[0], beta)
    [rel] = (await client.get("/api/v1/accounts/relationships", params={"id[]": bob["id"]})).json()
    assert rel["following"] is True
    rel = (await client.post(f"/api/v1/accounts/{bob['id']}/unfollow")).json()
    assert rel["following"] is False


async def test_paging_with_link_headers(network, api) -> None:
    alpha, _, client = api
    await set_user(alpha, "alice", cooling_off="0")
    for n in range(5):
        await client.post("/api/v1/statuses", data={"status": f"post {n}"})
    me = (await client.get("/api/v1/accounts/verify_credentials")).json()
    first = await client.get(f"/api/v1/accounts/{me['id']}/statuses", params={"limit": 2})
    page = first.json()
    assert [s["content"] for s in page] == ["<p>post 4</p>", "<p>post 3</p>"]
    assert 'rel="next"' in first.headers["link"]
    next_url = first.headers["link"].split(";")[0].strip("<>")
    second = (await client.get(next_url)).json()
    assert [s["content"] for s in second] == ["<p>post 2</p>", "<p>post 1</p>"]


async def test_refusals(network, api) -> None:
    alpha, _, client = api
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=alpha.app), base_url="https://alpha.test"
    ) as anonymous:
        r = await anonymous.post("/api/v1/statuses", data={"status": "x"})
        assert r.status_code == 401 and r.json()["error"]
        r = await anonymous.get("/api/v1/timelines/home", headers={"Authorization": "Bearer wrong"})
        assert r.status_code == 401
        read_only = await token_for(alpha, "alice", "correct horse", scopes="read")
        r = await anonymous.post(
            "/api/v1/statuses",
            data={"status": "x"},
            headers={"Authorization": f"Bearer {read_only}"},
        )
        assert r.status_code == 403
    r = await client.post("/api/v1/statuses", data={"status": ""})
    assert r.status_code == 422 and "text" in r.json()["error"]
    r = await client.post("/api/v1/statuses", data={"status": "x", "visibility": "everyone"})
    assert r.status_code == 422
    r = await client.post(
        "/api/v1/statuses", content=b"{oops", headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400
    assert (await client.get("/api/v1/statuses/123456")).status_code == 404
    assert (await client.get("/api/v1/statuses/not-a-number")).status_code == 404


async def test_search_never_shows_someone_elses_unreleased_posts(network, api) -> None:
    alpha, _, client = api
    await create_user(alpha.ctx, "carol", password="correct horse")
    mine = (await client.post("/api/v1/statuses", data={"status": "cooling secret"})).json()
    carol = await token_for(alpha, "carol", "correct horse")
    r = await client.get(
        "/api/v2/search",
        params={"q": mine["uri"], "resolve": "true"},
        headers={"Authorization": f"Bearer {carol}"},
    )
    assert r.json()["statuses"] == []
    own = await client.get("/api/v2/search", params={"q": mine["uri"], "resolve": "true"})
    assert [s["id"] for s in own.json()["statuses"]] == [mine["id"]]
    r = await client.post(
        "/api/v1/statuses",
        data={"status": "reply", "in_reply_to_id": mine["id"]},
        headers={"Authorization": f"Bearer {carol}"},
    )
    assert r.status_code == 404


async def test_concurrent_requests_with_one_idempotency_key_make_one_post(api) -> None:
    import asyncio

    alpha, _, client = api
    answers = await asyncio.gather(
        *(
            client.post(
                "/api/v1/statuses", data={"status": "once"}, headers={"Idempotency-Key": "k1"}
            )
            for _ in range(5)
        )
    )
    assert [a.status_code for a in answers] == [200] * 5
    assert len({a.json()["id"] for a in answers}) == 1
    assert len(await list_queue(alpha.ctx, "alice")) == 1


async def test_edit_keeps_a_requested_later_time(network, api) -> None:
    _, _, client = api
    later = (network.clock.now() + timedelta(days=1)).isoformat()
    scheduled = (
        await client.post("/api/v1/statuses", json={"status": "tomorrow", "scheduled_at": later})
    ).json()
    [queued] = (await client.get("/api/v1/scheduled_statuses")).json()
    me = (await client.get("/api/v1/accounts/verify_credentials")).json()
    own = (await client.get(f"/api/v1/accounts/{me['id']}/statuses")).json()
    await client.put(f"/api/v1/statuses/{own[0]['id']}", data={"status": "tomorrow, edited"})
    [after] = (await client.get("/api/v1/scheduled_statuses")).json()
    assert after["scheduled_at"] == queued["scheduled_at"] == scheduled["scheduled_at"]
    source = (await client.get(f"/api/v1/statuses/{own[0]['id']}/source")).json()
    assert source["text"] == "tomorrow, edited"


async def test_min_id_pages_are_newest_first(network, api) -> None:
    alpha, _, client = api
    await set_user(alpha, "alice", cooling_off="0")
    ids = [
        (await client.post("/api/v1/statuses", data={"status": f"n{n}"})).json()["id"]
        for n in range(4)
    ]
    me = (await client.get("/api/v1/accounts/verify_credentials")).json()
    page = (
        await client.get(
            f"/api/v1/accounts/{me['id']}/statuses", params={"min_id": ids[0], "limit": 2}
        )
    ).json()
    assert [s["id"] for s in page] == [ids[2], ids[1]]


async def test_remote_replies_carry_their_parent_ids(network, api) -> None:
    alpha, beta, client = api
    await set_user(alpha, "alice", cooling_off="0")
    await follow(beta.ctx, "bob", "alice@alpha.test")
    await settle(alpha, beta)
    mine = (await client.post("/api/v1/statuses", data={"status": "a question"})).json()
    await settle(alpha, beta)
    await create_post(beta.ctx, "bob", Draft("an answer", in_reply_to=mine["uri"]))
    await settle(alpha, beta)
    await seal_now(alpha.ctx, "alice")
    notes = (await client.get("/api/v1/notifications", params={"types[]": "mention"})).json()
    [reply] = [n["status"] for n in notes]
    assert reply["in_reply_to_id"] == mine["id"]
    assert reply["in_reply_to_account_id"] == mine["account"]["id"]
    context = (await client.get(f"/api/v1/statuses/{mine['id']}/context")).json()
    assert [s["id"] for s in context["descendants"]] == [reply["id"]]
