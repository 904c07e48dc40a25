"""Issue 9.7: the Mastodon API must not list the social graph to someone walking ids.

Followers and following are private by default, yet account ids were the
actors' row ids (1, 2, 3...): ``GET /api/v1/accounts/1..N`` listed every
actor the server knew, followers included, to anyone. These tests walk ids
the way an attacker would, anonymously and as a second local user.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import httpx
import pytest
from peers import FakeServer, signed_post
from tests_support import settle, token_for

from slowpub.bundles.sealing import seal_now
from slowpub.ids import EPOCH
from slowpub.social.accounts import create_user

WALK = 60  # ids an attacker tries from 1 up, and on each side of every id they know


def client_for(alpha, token: str | None = None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=alpha.app), base_url="https://alpha.test", headers=headers
    )


async def followed(alpha, fake: FakeServer, username: str, local: str = "bob") -> None:
    actor = fake.add_actor(username)
    activity = {
        "id": f"{actor.uri}#follows/{local}",
        "type": "Follow",
        "actor": actor.uri,
        "object": f"https://alpha.test/users/{local}",
    }
    url = f"https://alpha.test/users/{local}/inbox"
    assert (await signed_post(alpha, actor, activity, url)).status_code == 202


@pytest.fixture
async def graph(network, alpha):
    """alice and bob on alpha; bob has two followers on a Mastodon server."""
    await create_user(alpha.ctx, "alice", password="alice password")
    await create_user(alpha.ctx, "bob", password="bob password")
    masto = FakeServer("masto.test")
    network.transport.add("masto.test", masto.app)
    for name in ("mary", "mallory"):
        await followed(alpha, masto, name)
    await settle(alpha)
    return masto


async def walk(client: httpx.AsyncClient, known: list[int]) -> list[dict]:
    """Every account found at ids 1..WALK and within WALK of each known id."""
    candidates = set(range(1, WALK + 1))
    for value in known:
        candidates |= set(range(max(value - WALK, 1), value + WALK + 1))
    found = []
    for candidate in sorted(candidates):
        response = await client.get(f"/api/v1/accounts/{candidate}")
        assert response.status_code in (200, 404), response.text
        if response.status_code == 200:
            found.append(response.json())
    return found


async def test_anonymous_id_walk_reveals_no_remote_actor(alpha, graph) -> None:
    async with client_for(alpha) as anonymous:
        alice = (await anonymous.get("/api/v1/accounts/lookup", params={"acct": "alice"})).json()
        found = await walk(anonymous, [int(alice["id"])])
        assert [a["acct"] for a in found if "@" in a["acct"]] == []
        # A local account is a public profile: its id answers anyone.
        assert (await anonymous.get(f"/api/v1/accounts/{alice['id']}")).json()["acct"] == "alice"
        # Nor does lookup say which remote accounts the server knows.
        lookup = await anonymous.get("/api/v1/accounts/lookup", params={"acct": "mary@masto.test"})
        assert lookup.status_code == 404 and lookup.json() == {"error": "Record not found"}


async def test_remote_account_by_its_id_is_for_signed_in_users_only(alpha, graph) -> None:
    bob_token = await token_for(alpha, "bob", "bob password")
    async with client_for(alpha, bob_token) as bob:
        [mary] = (await bob.get("/api/v1/accounts/search", params={"q": "mary"})).json()
        assert mary["acct"] == "mary@masto.test"
        assert (await bob.get(f"/api/v1/accounts/{mary['id']}")).status_code == 200
    async with client_for(alpha) as anonymous:
        for path in ("", "/statuses"):
            response = await anonymous.get(f"/api/v1/accounts/{mary['id']}{path}")
            # Exactly what an id naming nobody gets: not even "it exists".
            assert response.status_code == 404, path
            assert response.json() == {"error": "Record not found"}
    # An app-only token (anyone can get one) is no user either.
    async with client_for(alpha) as anonymous:
        app = (
            await anonymous.post(
                "/api/v1/apps",
                data={"client_name": "x", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob"},
            )
        ).json()
        token = await anonymous.post(
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": app["client_id"],
                "client_secret": app["client_secret"],
                "scope": "read",
            },
        )
    async with client_for(alpha, token.json()["access_token"]) as app_only:
        assert (await app_only.get(f"/api/v1/accounts/{mary['id']}")).status_code == 404
        lookup = await app_only.get("/api/v1/accounts/lookup", params={"acct": "alice"})
        assert lookup.status_code == 200


async def test_second_local_user_cannot_find_the_first_users_followers(alpha, graph) -> None:
    alice_token = await token_for(alpha, "alice", "alice password")
    bob_token = await token_for(alpha, "bob", "bob password")
    async with client_for(alpha, bob_token) as bob:
        bob_me = (await bob.get("/api/v1/accounts/verify_credentials")).json()
        followers = (await bob.get("/api/v1/accounts/search", params={"q": "ma"})).json()
        assert {a["acct"] for a in followers} == {"mary@masto.test", "mallory@masto.test"}
    async with client_for(alpha, alice_token) as alice:
        me = (await alice.get("/api/v1/accounts/verify_credentials")).json()
        found = await walk(alice, [int(me["id"]), int(bob_me["id"])])
        assert {a["acct"] for a in found} <= {"alice", "bob"}
        # Searching by name prefix does not list them either.
        for letter in "mab":
            listed = (await alice.get("/api/v1/accounts/search", params={"q": letter})).json()
            assert [a["acct"] for a in listed if "@" in a["acct"]] == []
            v2 = (await alice.get("/api/v2/search", params={"q": f"{letter}@masto.test"})).json()
            assert v2["accounts"] == []
        # Relationships by guessed ids name nobody.
        guesses = [str(n) for n in range(1, 41)]
        rels = await alice.get("/api/v1/accounts/relationships", params={"id[]": guesses})
        assert rels.json() == []


async def test_account_ids_sort_by_time_and_are_not_sequential(network, alpha, graph) -> None:
    for n in range(18):
        await followed(alpha, graph, f"fan{n}")
    network.clock.advance(timedelta(seconds=2))
    await followed(alpha, graph, "latecomer")
    await settle(alpha)
    bob_token = await token_for(alpha, "bob", "bob password")
    async with client_for(alpha, bob_token) as bob:
        fans = (await bob.get("/api/v1/accounts/search", params={"q": "fan", "limit": 40})).json()
        [late] = (await bob.get("/api/v1/accounts/search", params={"q": "latecomer"})).json()
    ids = sorted(int(a["id"]) for a in fans)
    assert len(set(ids)) == 18
    # The high bits are the creation time in milliseconds, as Mastodon's are...
    for account in [*fans, late]:
        created = datetime.fromisoformat(account["created_at"].replace("Z", "+00:00"))
        assert int(account["id"]) >> 22 == int((created - EPOCH).total_seconds() * 1000)
    assert int(late["id"]) > ids[-1]
    # ...and the low bits random: actors made in the same millisecond are not
    # numbered one after the other (18 draws from 2**22 average ~220,000 apart).
    gaps = [b - a for a, b in itertools.pairwise(ids)]
    assert sum(gaps) / len(gaps) > 1000


async def test_ids_in_statuses_and_notifications_name_the_same_accounts(alpha, graph) -> None:
    await seal_now(alpha.ctx, "bob")
    bob_token = await token_for(alpha, "bob", "bob password")
    async with client_for(alpha, bob_token) as bob:
        notes = (await bob.get("/api/v1/notifications")).json()
        ids = {n["account"]["acct"]: n["account"]["id"] for n in notes if n["type"] == "follow"}
        assert set(ids) == {"mary@masto.test", "mallory@masto.test"}
        for acct, account_id in ids.items():
            shown = (await bob.get(f"/api/v1/accounts/{account_id}")).json()
            assert shown["acct"] == acct
            [rel] = (
                await bob.get("/api/v1/accounts/relationships", params={"id[]": account_id})
            ).json()
            assert rel["id"] == account_id and rel["followed_by"] is True
        followed_back = await bob.post(f"/api/v1/accounts/{ids['mary@masto.test']}/follow")
        assert followed_back.status_code == 200, followed_back.text
        assert followed_back.json()["id"] == ids["mary@masto.test"]
        status = (await bob.post("/api/v1/statuses", data={"status": "hello"})).json()
        me = (await bob.get("/api/v1/accounts/verify_credentials")).json()
        assert status["account"]["id"] == me["id"]
