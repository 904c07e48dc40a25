"""Issue 10.5-10.8: what apps call at launch, what 4.3 implies, NodeInfo, the owner's graph.

Each test drives the API over HTTP the way the named clients do: Mastodon
4.3 clients (Phanpy, Elk, the web app) fetch statuses in batches and read
grouped notifications and the unread count; Tusky, Ivory and Ice Cubes badge
follow requests from ``verify_credentials`` and subscribe to push at login;
megalodon (Whalebird) reads NodeInfo before it adds an account.
"""

from __future__ import annotations

import httpx
import pytest
from tests_support import set_user, settle, token_for

from slowpub.bundles.sealing import seal_now
from slowpub.outbound.posting import react
from slowpub.social.accounts import create_user
from slowpub.social.follows import follow

MEGALODON_KNOWS = ("pleroma", "mastodon", "misskey", "friendica")
NODEINFO = (
    "http://nodeinfo.diaspora.software/ns/schema/2.0",
    "http://nodeinfo.diaspora.software/ns/schema/2.1",
)


def client_for(instance, token: str | None = None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=instance.app),
        base_url=instance.base_url,
        headers=headers,
    )


@pytest.fixture
async def pair(network, alpha, beta):
    """alice on alpha (no cooling-off), bob on beta; they follow each other."""
    await create_user(alpha.ctx, "alice", password="correct horse")
    await create_user(beta.ctx, "bob", password="correct horse", display_name="Bob")
    await set_user(alpha, "alice", cooling_off="0")
    await set_user(beta, "bob", cooling_off="0")
    await follow(alpha.ctx, "alice", "bob@beta.test")
    await follow(beta.ctx, "bob", "alice@alpha.test")
    await settle(alpha, beta)
    token = await token_for(alpha, "alice", "correct horse")
    async with client_for(alpha, token) as client:
        yield alpha, beta, client


async def test_the_claimed_4_3_api_answers(network, pair) -> None:
    """10.5: 4.3 clients get statuses in batches and grouped notifications, not 405/404."""
    alpha, beta, client = pair
    first = (await client.post("/api/v1/statuses", data={"status": "one"})).json()
    second = (await client.post("/api/v1/statuses", data={"status": "two"})).json()
    await settle(alpha, beta)
    await react(beta.ctx, "bob", "like", first["uri"])
    await settle(alpha, beta)
    await seal_now(alpha.ctx, "alice")

    batch = await client.get(
        "/api/v1/statuses", params=[("id[]", second["id"]), ("id[]", first["id"]), ("id[]", "9")]
    )
    assert batch.status_code == 200, batch.text
    assert [s["id"] for s in batch.json()] == [second["id"], first["id"]]

    grouped = await client.get("/api/v2/notifications")
    assert grouped.status_code == 200, grouped.text
    answer = grouped.json()
    by_type = {g["type"]: g for g in answer["notification_groups"]}
    assert set(by_type) == {"follow", "favourite"}
    liked = by_type["favourite"]
    assert liked["status_id"] == first["id"] and liked["notifications_count"] == 1
    [bob] = [a for a in answer["accounts"] if a["id"] in liked["sample_account_ids"]]
    assert bob["acct"] == "bob@beta.test"
    assert [s["id"] for s in answer["statuses"]] == [first["id"]]
    one = (await client.get(f"/api/v2/notifications/{liked['group_key']}")).json()
    assert one["notification_groups"][0]["group_key"] == liked["group_key"]
    assert (await client.get("/api/v2/notifications/favourite-1-bx")).status_code == 404

    assert (await client.get("/api/v1/notifications/unread_count")).json() == {"count": 2}
    assert (await client.get("/api/v2/notifications/unread_count")).json() == {"count": 2}
    newest = max(int(g["most_recent_notification_id"]) for g in answer["notification_groups"])
    await client.post("/api/v1/markers", json={"notifications": {"last_read_id": str(newest)}})
    assert (await client.get("/api/v1/notifications/unread_count")).json() == {"count": 0}

    v2 = (await client.get("/api/v2/notifications/policy")).json()
    assert v2["for_not_following"] == "accept" and v2["summary"]["pending_requests_count"] == 0
    v1 = (await client.get("/api/v1/notifications/policy")).json()
    assert v1["filter_not_following"] is False
    refused = await client.patch("/api/v2/notifications/policy", data={"for_new_accounts": "drop"})
    assert refused.status_code == 422 and "does not filter" in refused.json()["error"]
    assert (await client.get("/api/v1/notifications/requests")).json() == []
    assert (await client.get("/api/v1/notifications/requests/merged")).json() == {"merged": True}


async def test_what_apps_call_at_launch(network, pair) -> None:
    """10.6: the endpoints Ivory, Tusky, Ice Cubes and Mastodon's apps call on start."""
    alpha, beta, client = pair
    mine = (await client.post("/api/v1/statuses", data={"status": "keep this"})).json()
    await settle(alpha, beta)

    # Bookmarks: kept, flagged, listed, removed.
    marked = await client.post(f"/api/v1/statuses/{mine['id']}/bookmark")
    assert marked.status_code == 200 and marked.json()["bookmarked"] is True
    assert (await client.get(f"/api/v1/statuses/{mine['id']}")).json()["bookmarked"] is True
    assert [s["id"] for s in (await client.get("/api/v1/bookmarks")).json()] == [mine["id"]]
    unmarked = await client.post(f"/api/v1/statuses/{mine['id']}/unbookmark")
    assert unmarked.json()["bookmarked"] is False
    assert (await client.get("/api/v1/bookmarks")).json() == []
    # Favourites list what the user liked.
    await client.post(f"/api/v1/statuses/{mine['id']}/favourite")
    assert [s["id"] for s in (await client.get("/api/v1/favourites")).json()] == [mine["id"]]

    # A follow request badges verify_credentials, and can be authorized.
    await set_user(alpha, "alice", manually_approves_followers="on")
    await create_user(beta.ctx, "carol", password="correct horse")
    await follow(beta.ctx, "carol", "alice@alpha.test")
    await settle(alpha, beta)
    me = (await client.get("/api/v1/accounts/verify_credentials")).json()
    assert me["source"]["follow_requests_count"] == 1
    assert me["last_status_at"] is None and me["avatar_static"] and me["header_static"]
    assert {"privacy", "sensitive", "language", "note", "fields"} <= set(me["source"])
    [carol] = (await client.get("/api/v1/follow_requests")).json()
    rel = (await client.post(f"/api/v1/follow_requests/{carol['id']}/authorize")).json()
    assert rel["followed_by"] is True and rel["requested_by"] is False
    me = (await client.get("/api/v1/accounts/verify_credentials")).json()
    assert me["source"]["follow_requests_count"] == 0
    [rel] = (
        await client.get("/api/v1/accounts/relationships", params={"id[]": carol["id"]})
    ).json()
    assert rel["followed_by"] is True

    # The profile screen asks for pinned posts first: there are none.
    pinned = await client.get(f"/api/v1/accounts/{me['id']}/statuses", params={"pinned": "true"})
    assert pinned.status_code == 200 and pinned.json() == []
    assert len((await client.get(f"/api/v1/accounts/{me['id']}/statuses")).json()) == 1

    for empty in (
        "/api/v1/trends/tags",
        "/api/v1/trends/statuses",
        "/api/v1/trends/links",
        "/api/v2/suggestions",
        "/api/v1/announcements",
        "/api/v1/conversations",
        "/api/v1/filters",
        "/api/v2/filters",
    ):
        answer = await client.get(empty)
        assert (answer.status_code, answer.json()) == (200, []), empty
    async with client_for(alpha) as anonymous:
        assert (await anonymous.get("/api/v1/custom_emojis")).json() == []
        app = await anonymous.post(
            "/api/v1/apps",
            params={"client_name": "Ivory", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob"},
        )
        assert app.status_code == 200 and app.json()["name"] == "Ivory"

    # Push: a server without Web Push, said clearly.
    push = await token_for(alpha, "alice", "correct horse", scopes="read write follow push")
    async with client_for(alpha, push) as pusher:
        assert (await pusher.get("/api/v1/push/subscription")).status_code == 404
        created = await pusher.post(
            "/api/v1/push/subscription",
            json={"subscription": {"endpoint": "https://push.example/x", "keys": {}}},
        )
        assert created.status_code == 422 and "push" in created.json()["error"]
        assert (await pusher.delete("/api/v1/push/subscription")).json() == {}

    v1 = (await client.get("/api/v1/instance")).json()["configuration"]
    v2 = (await client.get("/api/v2/instance")).json()["configuration"]
    for config in (v1, v2):
        assert config["statuses"]["max_characters"] > 0
        assert {"image_size_limit", "video_size_limit", "supported_mime_types"} <= set(
            config["media_attachments"]
        )
        assert set(config["polls"]) == {
            "max_options",
            "max_characters_per_option",
            "min_expiration",
            "max_expiration",
        }
    assert {"streaming", "about"} <= set(v2["urls"]) and "vapid" in v2


async def test_megalodon_recognises_the_mastodon_api(network, alpha) -> None:
    """10.7: megalodon's detector, step by step, finds 'mastodon' without a lying name."""
    async with client_for(alpha) as whalebird:
        links = (await whalebird.get("/.well-known/nodeinfo")).json()["links"]
        link = next(link for link in links if link["rel"] in NODEINFO)
        info = (await whalebird.get(link["href"])).json()
    assert info["software"]["name"] == "slowpub"
    name = info["software"]["name"]
    upstream = info["metadata"].get("upstream", {}).get("name")
    detected = name if name in MEGALODON_KNOWS else ("mastodon" if upstream == "mastodon" else None)
    assert detected == "mastodon", info


async def test_the_owner_sees_their_own_followers_and_following(network, pair) -> None:
    """10.8: the owner's lists are full for the owner, empty for others unless published."""
    alpha, _, client = pair
    await create_user(alpha.ctx, "carol", password="correct horse")
    carol_token = await token_for(alpha, "carol", "correct horse")
    me = (await client.get("/api/v1/accounts/verify_credentials")).json()
    for kind in ("followers", "following"):
        listed = (await client.get(f"/api/v1/accounts/{me['id']}/{kind}")).json()
        assert [a["acct"] for a in listed] == ["bob@beta.test"], kind
    async with client_for(alpha, carol_token) as carol, client_for(alpha) as anonymous:
        for other in (carol, anonymous):
            for kind in ("followers", "following"):
                assert (await other.get(f"/api/v1/accounts/{me['id']}/{kind}")).json() == []

        # C2S: the owner's token opens the collections; carol's does not.
        ap = {"Accept": "application/activity+json"}
        for kind in ("followers", "following"):
            url = f"/users/alice/{kind}"
            whole = (await client.get(url, headers=ap)).json()
            assert whole["totalItems"] == 1, whole
            page = (await client.get(url, params={"page": 1}, headers=ap)).json()
            assert page["orderedItems"] == ["https://beta.test/users/bob"]
            hidden = (await carol.get(url, headers=ap)).json()
            assert "totalItems" not in hidden and "first" not in hidden
            assert (await carol.get(url, params={"page": 1}, headers=ap)).json().get(
                "orderedItems"
            ) in (None, [])

        await set_user(alpha, "alice", publish_graph="on")
        listed = (await carol.get(f"/api/v1/accounts/{me['id']}/followers")).json()
        assert [a["acct"] for a in listed] == ["bob@beta.test"]


async def test_an_accounts_statuses_are_those_the_caller_may_see(network, pair) -> None:
    """10.6: a follower sees followers-only posts on the profile; others do not."""
    alpha, _, client = pair
    await create_user(alpha.ctx, "carol", password="correct horse")
    await create_user(alpha.ctx, "dave", password="correct horse")
    await follow(alpha.ctx, "carol", "alice@alpha.test")
    await settle(alpha)
    await client.post("/api/v1/statuses", data={"status": "for all"})
    await client.post("/api/v1/statuses", data={"status": "for friends", "visibility": "private"})
    await settle(alpha)
    me = (await client.get("/api/v1/accounts/verify_credentials")).json()
    url = f"/api/v1/accounts/{me['id']}/statuses"
    carol = await token_for(alpha, "carol", "correct horse")
    dave = await token_for(alpha, "dave", "correct horse")
    async with client_for(alpha, carol) as follower, client_for(alpha, dave) as stranger:
        assert len((await follower.get(url)).json()) == 2
        assert [s["content"] for s in (await stranger.get(url)).json()] == ["<p>for all</p>"]
