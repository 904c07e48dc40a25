"""Posts in the shapes real servers send reach the bundle, sanitised; odd shapes never 500."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from peers import FakeServer, signed_post
from sqlalchemy import select
from tests_support import follows_already, settle

from federation.objects import parse_object
from slowpub.bundles import view as bundle_view
from slowpub.bundles.sealing import seal_now
from slowpub.social.accounts import create_user, require_user
from slowpub.storage.models import InboundActivity

FIXTURES = {
    path.stem: json.loads(path.read_text())
    for path in sorted((Path(__file__).parents[2] / "fixtures" / "remote").glob("*.json"))
}


async def _followed_author(network, alpha, doc: dict) -> tuple[FakeServer, object]:
    obj = parse_object(doc)
    assert obj.attributed_to is not None
    host = obj.attributed_to.split("/")[2]
    server = network.transport.apps.get(host)
    fake = FakeServer(host)
    network.transport.add(host, fake.app)
    actor = fake.add_actor("author", at=obj.attributed_to)
    await follows_already(alpha, actor.uri)
    assert server is None
    return fake, actor


@pytest.mark.parametrize("fixture", sorted(FIXTURES))
async def test_fixture_reaches_the_bundle(network, alpha, fixture: str) -> None:
    await create_user(alpha.ctx, "alice", password="correct horse")
    doc = dict(FIXTURES[fixture])
    doc.pop("@context", None)
    _, actor = await _followed_author(network, alpha, doc)
    create = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": doc["id"] + "#create",
        "type": "Create",
        "actor": actor.uri,
        "to": doc.get("to", []),
        "cc": doc.get("cc", []),
        "object": doc,
    }
    r = await signed_post(alpha, actor, create, url="https://alpha.test/inbox")
    assert r.status_code == 202, r.text
    await settle(alpha)
    bundle = await seal_now(alpha.ctx, "alice")
    assert bundle is not None, "the post was not filed"
    async with alpha.ctx.db.sessions() as s:
        user = await require_user(s, "alice")
        view = bundle_view.as_json(await bundle_view.load(s, user, bundle))
    posts = [p for g in view["from_people_you_follow"] for t in g["threads"] for p in t["posts"]]
    posts += [p for t in view["for_you"] for p in t["posts"]]
    assert [p["id"] for p in posts] == [doc["id"]]
    dumped = json.dumps(view)
    assert "<script" not in dumped and "onerror" not in dumped


@pytest.mark.parametrize(
    ("obj", "shown"),
    [
        ({"type": "Note", "content": "no id"}, False),
        ({"id": "https://odd.test/x/1", "type": "Tombstone"}, False),
        ({"id": "https://odd.test/x/2", "type": "ChatMessage", "content": "hi"}, False),
        # Garbage in the optional fields is ignored; the post itself is kept.
        (
            {
                "id": "https://odd.test/x/3",
                "type": "Note",
                "content": {"weird": True},
                "published": "yesterday",
                "attachment": "not a list",
                "tag": 5,
            },
            True,
        ),
    ],
)
async def test_unusable_shapes_are_recorded_not_errors(network, alpha, obj, shown) -> None:
    await create_user(alpha.ctx, "alice", password="correct horse")
    fake = FakeServer("odd.test")
    network.transport.add("odd.test", fake.app)
    actor = fake.add_actor("odd")
    await follows_already(alpha, actor.uri)
    obj = {**obj, "attributedTo": actor.uri}
    create = {
        "id": actor.uri + "/c/" + str(abs(hash(json.dumps(obj, sort_keys=True)))),
        "type": "Create",
        "actor": actor.uri,
        "object": obj,
    }
    r = await signed_post(alpha, actor, create, url="https://alpha.test/inbox")
    assert r.status_code in (202, 400)
    await settle(alpha)
    async with alpha.ctx.db.sessions() as s:
        rows = (await s.execute(select(InboundActivity))).scalars().all()
    assert all(row.state in ("ignored", "done") for row in rows), [(r.state, r.error) for r in rows]
    assert (await seal_now(alpha.ctx, "alice") is not None) == shown


async def test_a_stranger_naming_a_followed_account_is_not_filed(network, alpha) -> None:
    await create_user(alpha.ctx, "alice", password="correct horse")
    friends, strangers = FakeServer("friends.test"), FakeServer("strangers.test")
    network.transport.add("friends.test", friends.app)
    network.transport.add("strangers.test", strangers.app)
    friend, stranger = friends.add_actor("friend"), strangers.add_actor("spammer")
    await follows_already(alpha, friend.uri)
    note = {
        "id": stranger.uri + "/n/1",
        "type": "Note",
        "attributedTo": stranger.uri,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "cc": [friend.uri],
        "content": "buy now",
    }
    create = {"id": note["id"] + "/c", "type": "Create", "actor": stranger.uri, "object": note}
    assert (await signed_post(alpha, stranger, create)).status_code == 202
    await settle(alpha)
    assert await seal_now(alpha.ctx, "alice") is None
