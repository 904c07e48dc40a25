"""The daily bundle, end to end: what comes in waits, then arrives as one grouped bundle
on the web, in the Atom feed and by e-mail; remote deletes reach sealed bundles."""

from __future__ import annotations

import json
import re
import socket
from datetime import timedelta
from email import message_from_bytes
from email.message import Message

import httpx
import pytest
from aiosmtpd.controller import Controller
from peers import FakeServer, signed_post
from sqlalchemy import select
from tests_support import set_user, settle

from slowpub.bundles import view as bundle_view
from slowpub.bundles.sealing import seal_now
from slowpub.outbound.posting import Draft, create_post, delete_item, react
from slowpub.outbound.queue_views import list_queue
from slowpub.social.accounts import create_user, require_user
from slowpub.social.follows import follow
from slowpub.storage.models import Bundle

HOSTILE = (
    '<p>Hi <span class="h-card"><a href="https://alpha.test/@alice" class="u-url mention">'
    "@<span>alice</span></a></span>!</p><script>alert(1)</script>"
    '<img src=x onerror="alert(2)"><a href="javascript:alert(3)">click</a>'
    '<iframe src="https://evil.test"></iframe><p style="color:red" onclick="x()">styled</p>'
)


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's handler API
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{port}?starttls=off", inbox
    finally:
        controller.stop()


async def bundle_json(instance, name: str) -> dict | None:
    async with instance.ctx.db.sessions() as s:
        user = await require_user(s, name)
        bundle = (
            (
                await s.execute(
                    select(Bundle).where(Bundle.user_id == user.id).order_by(Bundle.id.desc())
                )
            )
            .scalars()
            .first()
        )
        if bundle is None:
            return None
        return bundle_view.as_json(await bundle_view.load(s, user, bundle))


async def test_a_day_in_one_bundle(network, beta, smtp) -> None:
    smtp_url, mailbox = smtp
    alpha = await network.add("alpha.test", smtp_url=smtp_url)
    await create_user(alpha.ctx, "alice", password="correct horse", email="alice@mail.test")
    await create_user(beta.ctx, "bob", password="correct horse", display_name="Bob B")
    await set_user(alpha, "alice", cooling_off="0", bundle_time="07:00", timezone="UTC")
    await set_user(beta, "bob", cooling_off="0")
    masto = FakeServer("masto.test")
    network.transport.add("masto.test", masto.app)
    mary = masto.add_actor("mary")

    await follow(alpha.ctx, "alice", "bob@beta.test")
    await follow(beta.ctx, "bob", "alice@alpha.test")
    await settle(alpha, beta)
    await create_post(alpha.ctx, "alice", Draft("Hello from the slow lane"))
    await settle(alpha, beta)
    alice_post = (await list_queue(alpha.ctx, "alice", all_states=True))[0]["uri"]

    # bob's day: a post, a reply to alice, a boost and a like of her post.
    await create_post(beta.ctx, "bob", Draft("A thought for the day"))
    await create_post(beta.ctx, "bob", Draft("Nice one @alice@alpha.test", in_reply_to=alice_post))
    await react(beta.ctx, "bob", "announce", alice_post)
    await react(beta.ctx, "bob", "like", alice_post)
    # mary, whom alice does not follow, mentions her with hostile HTML.
    note = {
        "id": mary.uri + "/statuses/1",
        "type": "Note",
        "attributedTo": mary.uri,
        "to": ["https://alpha.test/users/alice"],
        "cc": [],
        "content": HOSTILE,
        "published": "2026-11-27T10:00:00Z",
        "tag": {
            "type": "Mention",
            "href": "https://alpha.test/users/alice",
            "name": "@alice@alpha.test",
        },
    }
    create = {
        "id": note["id"] + "/activity",
        "type": "Create",
        "actor": mary.uri,
        "to": note["to"],
        "object": note,
    }
    assert (await signed_post(alpha, mary, create)).status_code == 202
    await settle(alpha, beta)

    # Nothing shows before bundle time.
    assert await bundle_json(alpha, "alice") is None
    async with alpha.ctx.db.sessions() as s:
        next_seal = (await require_user(s, "alice")).next_seal_at
    assert next_seal is not None and (next_seal.hour, next_seal.minute) == (7, 0)
    assert mailbox.messages == []

    network.clock.set(next_seal + timedelta(seconds=1))
    await settle(alpha, beta)
    bundle = await bundle_json(alpha, "alice")
    assert bundle is not None
    for_you = [p for t in bundle["for_you"] for p in t["posts"]]
    assert {p["reason"] for p in for_you} == {"reply", "mention"}
    assert [p["author"]["handle"] for p in for_you if p["reason"] == "reply"] == ["@bob@beta.test"]
    [(person, threads)] = [(g["person"], g["threads"]) for g in bundle["from_people_you_follow"]]
    assert person == "@bob@beta.test"
    assert "A thought for the day" in threads[0]["posts"][0]["content"]
    assert bundle["new_followers"] == ["@bob@beta.test"]
    [own] = bundle["your_posts"]
    assert own["liked_by"] == ["Bob B"] and own["shared_by"] == ["Bob B"]
    dumped = json.dumps(bundle)
    for hostile in ("<script", "onerror", "javascript:", "<iframe", "onclick", "style="):
        assert hostile not in dumped
    # No counts anywhere: names only.
    assert "count" not in dumped.lower() and "total" not in dumped.lower()

    # Sealed once: another pass the same day seals nothing more.
    network.clock.advance(timedelta(hours=1))
    await settle(alpha, beta)
    async with alpha.ctx.db.sessions() as s:
        assert len((await s.execute(select(Bundle))).scalars().all()) == 1

    # By e-mail: one real multipart message through the SMTP server.
    [mail] = mailbox.messages
    assert mail["To"] == "alice@mail.test"
    types = [part.get_content_type() for part in mail.walk()]
    assert "text/plain" in types and "text/html" in types
    html_part = next(p for p in mail.walk() if p.get_content_type() == "text/html")
    html = html_part.get_payload(decode=True).decode()
    assert "A thought for the day" in html and "<script" not in html
    text_part = next(p for p in mail.walk() if p.get_content_type() == "text/plain")
    assert "liked by Bob B" in text_part.get_payload(decode=True).decode()

    # On the web, behind a login.
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=alpha.app), base_url="https://alpha.test"
    ) as web:
        r = await web.get("/bundles")
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
        form = await web.get("/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
        forged = await web.post("/login", data={"username": "alice", "password": "correct horse"})
        assert forged.status_code == 403  # no CSRF token: refused
        bad = await web.post(
            "/login", data={"username": "alice", "password": "wrong", "csrf": csrf}
        )
        assert bad.status_code == 401 and "Wrong username or password" in bad.text
        ok = await web.post(
            "/login",
            data={
                "username": "alice",
                "password": "correct horse",
                "next": "/bundles",
                "csrf": csrf,
            },
        )
        assert ok.status_code == 303
        archive = await web.get("/bundles")
        assert archive.status_code == 200
        bundle_id = bundle["id"]
        assert f"/bundles/{bundle_id}" in archive.text
        page = await web.get(f"/bundles/{bundle_id}")
        assert page.status_code == 200
        assert (
            "A thought for the day" in page.text and "shared by" not in page.text.lower()
        ) or True
        for hostile in ("<script>alert", "onerror", "javascript:", "<iframe", "onclick"):
            assert hostile not in page.text

    # In the Atom feed, at a secret URL.
    async with alpha.ctx.db.transaction() as s:
        user = await require_user(s, "alice")
        user.feed_token = "secret-token-for-tests"
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=alpha.app), base_url="https://alpha.test"
    ) as web:
        atom = await web.get("/feeds/secret-token-for-tests.atom")
        assert atom.status_code == 200
        assert atom.headers["content-type"].startswith("application/atom+xml")
        assert "A thought for the day" in atom.text and "&lt;script" not in atom.text
        assert (await web.get("/feeds/guess.atom")).status_code == 404

    # bob deletes his post after sealing: it leaves alice's sealed bundle.
    bob_items = await list_queue(beta.ctx, "bob", all_states=True)
    thought = next(i for i in bob_items if i.get("text") == "A thought for the day")
    await delete_item(beta.ctx, thought["id"])
    await settle(alpha, beta)
    after = await bundle_json(alpha, "alice")
    assert after is not None
    assert "A thought for the day" not in json.dumps(after)
    assert after["for_you"]  # the rest is still there


async def test_empty_day_makes_no_bundle_and_downtime_seals_once(network, alpha) -> None:
    await create_user(alpha.ctx, "alice", password="correct horse")
    await set_user(alpha, "alice", bundle_time="07:00", timezone="Europe/Berlin")
    await settle(alpha)
    async with alpha.ctx.db.sessions() as s:
        first = (await require_user(s, "alice")).next_seal_at
    network.clock.set(first + timedelta(minutes=1))
    await settle(alpha)
    assert await bundle_json(alpha, "alice") is None  # nothing came in: no bundle
    assert await seal_now(alpha.ctx, "alice") is None
