"""Objects fetched by id are trusted only for the origin that finally served them.

An open redirect on one host must not let another host forge its users'
posts (the CVE-2024-23832 class): whatever reads an object by id (a boost,
a search with resolve, a reply target) refuses a document whose id is on
another origin than the URL the redirects ended on.
"""

from __future__ import annotations

import httpx
import pytest
from peers import FakeServer, signed_post
from sqlalchemy import select
from tests_support import follows_already, settle, token_for

from slowpub.bundles.sealing import seal_now
from slowpub.outbound.drafts import PostingError
from slowpub.outbound.posting import Draft, create_post
from slowpub.social.accounts import create_user
from slowpub.storage.models import RemotePost

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
# victim.test redirects /out/<n> anywhere it is told to; evil.test serves a
# post "by" victim's ceo whose id is that redirecting URL.
FORGED = "https://victim.test/out/1"
GENUINE = "https://victim.test/users/ceo/statuses/2"


@pytest.fixture
async def hosts(network, alpha):
    await create_user(alpha.ctx, "alice", password="correct horse")
    victim, evil = FakeServer("victim.test"), FakeServer("evil.test")
    network.transport.add("victim.test", victim.app)
    network.transport.add("evil.test", evil.app)
    ceo, mallory = victim.add_actor("ceo"), evil.add_actor("mallory")
    victim.redirects["/out/1"] = "https://evil.test/forged"
    note = {"type": "Note", "attributedTo": ceo.uri, "to": [PUBLIC], "published": None}
    evil.objects["https://evil.test/forged"] = {**note, "id": FORGED, "content": "I resign"}
    victim.objects[GENUINE] = {**note, "id": GENUINE, "content": "quarterly report"}
    return mallory


async def stored_uris(alpha) -> list[str]:
    async with alpha.ctx.db.sessions() as s:
        return sorted((await s.execute(select(RemotePost.uri))).scalars())


async def test_boost_through_an_open_redirect_is_not_filed(network, alpha, hosts) -> None:
    mallory = hosts
    await follows_already(alpha, mallory.uri)
    for n, target in enumerate([FORGED, GENUINE]):
        boost = {
            "id": f"{mallory.uri}/boosts/{n}",
            "type": "Announce",
            "actor": mallory.uri,
            "to": [PUBLIC],
            "object": target,
        }
        assert (await signed_post(alpha, mallory, boost)).status_code == 202
    await settle(alpha)
    # The genuine post is filed; the forged one was never stored.
    assert await stored_uris(alpha) == [GENUINE]
    assert await seal_now(alpha.ctx, "alice") is not None


async def test_search_resolve_through_an_open_redirect_finds_nothing(alpha, hosts) -> None:
    token = await token_for(alpha, "alice", "correct horse")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=alpha.app),
        base_url=alpha.base_url,
        headers={"Authorization": f"Bearer {token}"},
    ) as client:
        for query, found in [(FORGED, []), (GENUINE, [GENUINE])]:
            r = await client.get("/api/v2/search", params={"q": query, "resolve": "true"})
            assert r.status_code == 200, r.text
            assert [s["uri"] for s in r.json()["statuses"]] == found
    assert await stored_uris(alpha) == [GENUINE]


async def test_reply_to_a_post_behind_an_open_redirect_is_refused(alpha, hosts) -> None:
    with pytest.raises(PostingError, match="another host"):
        await create_post(alpha.ctx, "alice", Draft("are you ok?", in_reply_to=FORGED))
    await create_post(alpha.ctx, "alice", Draft("congrats", in_reply_to=GENUINE))
