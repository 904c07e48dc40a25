"""Hostile links and markup from a remote server never become live on any surface.

A remote actor and its post carry ``javascript:`` and ``data:`` URLs in every
link field and script in every HTML field. Intake must drop the links and
sanitize the HTML (the gate); every surface that shows them (the bundle page,
the Atom feed, the e-mail, the C2S inbox, the Mastodon API, our own outgoing
posts) must stay clean even so (the edge). A local user's own summary is plain
text and is served escaped.
"""

from __future__ import annotations

import json

import httpx
from peers import FakeServer, signed_post
from sqlalchemy import select
from tests_support import follows_already, set_user, settle, token_for, web_login

from slowpub.bundles import view as bundle_view
from slowpub.bundles.mail import render_html
from slowpub.bundles.sealing import seal_now
from slowpub.outbound.posting import Draft, create_post
from slowpub.social.accounts import create_user, require_user
from slowpub.storage.models import Actor, Post, RemotePost

SCRIPTS = ("javascript:", "data:text", "<script", "onerror", "alert(")

HOSTILE_ACTOR = {
    "name": "Mallory",
    "url": "javascript:alert('url')",
    "summary": "<p>hello</p><script>alert('summary')</script><img src=x onerror=alert(1)>",
}


def assert_clean(surface: str, text: str) -> None:
    for bad in SCRIPTS:
        assert bad not in text, f"{surface} carries {bad!r}"


async def test_hostile_links_never_reach_a_surface(network, alpha) -> None:
    await create_user(alpha.ctx, "alice", password="correct horse")
    evil = FakeServer("evil.test")
    network.transport.add("evil.test", evil.app)
    mallory = evil.add_actor("mallory", extra=HOSTILE_ACTOR)
    await follows_already(alpha, mallory.uri)
    note = {
        "id": mallory.uri + "/statuses/1",
        "type": "Note",
        "attributedTo": mallory.uri,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "url": "javascript:alert('post url')",
        "content": '<p>look <a href="javascript:alert(4)">here</a></p>',
        "attachment": [
            {"type": "Document", "mediaType": "image/png", "url": "data:text/html,<b>x</b>"},
            {"type": "Image", "url": [{"type": "Link", "href": "javascript:alert(5)"}]},
            "javascript:alert(6)",
        ],
        "tag": [{"type": "Mention", "href": "javascript:alert(7)", "name": "@alice"}],
    }
    create = {"id": note["id"] + "/activity", "type": "Create", "actor": mallory.uri}
    r = await signed_post(alpha, mallory, {**create, "object": note, "to": note["to"]})
    assert r.status_code == 202, r.text
    await settle(alpha)

    # The gate: nothing but http(s) is stored, and the summary is sanitized.
    async with alpha.ctx.db.sessions() as s:
        actor = (await s.execute(select(Actor).where(Actor.uri == mallory.uri))).scalar_one()
        post = (await s.execute(select(RemotePost))).scalar_one()
    assert actor.url is None
    assert "hello" in (actor.summary or "")
    assert_clean("the stored summary", actor.summary or "")
    assert post.url is None
    assert_clean("the stored post", post.content_html + (post.extra_json or ""))

    bundle = await seal_now(alpha.ctx, "alice")
    assert bundle is not None
    async with alpha.ctx.db.transaction() as s:
        user = await require_user(s, "alice")
        user.feed_token = "feed-token-for-the-hostile-test"
        view = await bundle_view.load(s, user, bundle)
    assert_clean("the e-mail", render_html(view, "Your bundle", alpha.base_url))

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=alpha.app), base_url=alpha.base_url
    ) as web:
        await web_login(web, "alice", "correct horse")
        page = await web.get(f"/bundles/{bundle.id}")
        assert page.status_code == 200 and "look" in page.text
        assert_clean("the bundle page", page.text)
        feed = await web.get("/feeds/feed-token-for-the-hostile-test.atom")
        assert feed.status_code == 200
        assert_clean("the Atom feed", feed.text)

    token = await token_for(alpha, "alice", "correct horse")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=alpha.app),
        base_url=alpha.base_url,
        headers={"Authorization": f"Bearer {token}"},
    ) as api:
        home = await api.get("/api/v1/timelines/home")
        [status] = home.json()
        assert status["url"].startswith("https://") and status["media_attachments"] == []
        assert status["account"]["url"] == mallory.uri
        assert "hello" in status["account"]["note"]
        assert_clean("the home timeline", home.text)
        account = await api.get(f"/api/v1/accounts/{status['account']['id']}")
        assert_clean("the account", account.text)
        inbox = await api.get("/users/alice/inbox?page=1")
        assert inbox.status_code == 200 and inbox.json()["orderedItems"]
        assert_clean("the C2S inbox", inbox.text)

    # Our own post that mentions mallory links to her id, not her javascript: url.
    item = await create_post(alpha.ctx, "alice", Draft("hello @mallory@evil.test"))
    async with alpha.ctx.db.sessions() as s:
        ours = await s.get(Post, item.post_id)
    assert ours is not None
    assert f'href="{mallory.uri}"' in ours.content_html
    assert_clean("our own post", ours.content_html)


async def test_a_local_summary_is_text_not_markup(network, alpha) -> None:
    await create_user(alpha.ctx, "alice", password="correct horse")
    await set_user(alpha, "alice", summary="<script>alert(1)</script> & friends")
    escaped = "<p>&lt;script&gt;alert(1)&lt;/script&gt; &amp; friends</p>"
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=alpha.app), base_url=alpha.base_url
    ) as web:
        doc = await web.get("/users/alice", headers={"Accept": "application/activity+json"})
        assert json.loads(doc.text)["summary"] == escaped
    token = await token_for(alpha, "alice", "correct horse")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=alpha.app),
        base_url=alpha.base_url,
        headers={"Authorization": f"Bearer {token}"},
    ) as api:
        me = (await api.get("/api/v1/accounts/verify_credentials")).json()
    assert me["note"] == escaped
    assert me["source"]["note"] == "<script>alert(1)</script> & friends"
