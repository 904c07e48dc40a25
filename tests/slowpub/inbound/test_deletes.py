"""Remote deletes: only an object's author can delete it, before or after it arrives."""

from __future__ import annotations

import pytest
from peers import FakeServer, signed_post
from sqlalchemy import select
from tests_support import follows_already, settle

from slowpub.social.accounts import create_user
from slowpub.storage.models import InboundItem, RemotePost

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


@pytest.fixture
async def masto(network, alpha):
    """ann and mallory on one host, ben elsewhere; alice follows ann and ben."""
    await create_user(alpha.ctx, "alice", password="correct horse")
    masto, other = FakeServer("masto.test"), FakeServer("other.test")
    network.transport.add("masto.test", masto.app)
    network.transport.add("other.test", other.app)
    ann, mallory, ben = masto.add_actor("ann"), masto.add_actor("mallory"), other.add_actor("ben")
    await follows_already(alpha, ann.uri)
    await follows_already(alpha, ben.uri)
    note = {
        "id": ann.uri + "/statuses/1",
        "type": "Note",
        "attributedTo": ann.uri,
        "to": [PUBLIC],
        "content": "ann's post",
    }
    masto.objects[note["id"]] = note
    return ann, mallory, ben, note


def create_of(actor, note: dict) -> dict:
    return {"id": note["id"] + "/activity", "type": "Create", "actor": actor.uri, "object": note}


def delete_of(actor, note: dict) -> dict:
    return {
        "id": f"{actor.uri}#deletes/{note['id']}",
        "type": "Delete",
        "actor": actor.uri,
        "object": {"id": note["id"], "type": "Tombstone"},
    }


def boost_of(actor, note: dict) -> dict:
    return {
        "id": actor.uri + "/boosts/1",
        "type": "Announce",
        "actor": actor.uri,
        "to": [PUBLIC],
        "object": note["id"],
    }


async def send(alpha, actor, activity: dict) -> None:
    assert (await signed_post(alpha, actor, activity)).status_code == 202
    await settle(alpha)


async def stored_uris(alpha) -> list[str]:
    async with alpha.ctx.db.sessions() as s:
        return list((await s.execute(select(RemotePost.uri))).scalars())


async def item_kinds(alpha) -> list[str]:
    async with alpha.ctx.db.sessions() as s:
        return sorted((await s.execute(select(InboundItem.kind))).scalars())


async def test_delete_by_someone_else_before_arrival_changes_nothing(alpha, masto) -> None:
    ann, mallory, _, note = masto
    await send(alpha, mallory, delete_of(mallory, note))
    await send(alpha, ann, create_of(ann, note))
    assert await stored_uris(alpha) == [note["id"]]
    assert await item_kinds(alpha) == ["post"]


async def test_delete_by_someone_else_after_arrival_changes_nothing(alpha, masto) -> None:
    ann, mallory, ben, note = masto
    await send(alpha, ann, create_of(ann, note))
    await send(alpha, mallory, delete_of(mallory, note))
    assert await stored_uris(alpha) == [note["id"]]
    # The post can still be shared: ben's boost of it is filed.
    await send(alpha, ben, boost_of(ben, note))
    assert await item_kinds(alpha) == ["boost", "post"]


async def test_the_authors_delete_still_wins(alpha, masto) -> None:
    ann, mallory, ben, note = masto
    # Deleted before it arrived (mallory's delete too): never stored, not
    # even through a boost.
    await send(alpha, mallory, delete_of(mallory, note))
    await send(alpha, ann, delete_of(ann, note))
    await send(alpha, ann, create_of(ann, note))
    await send(alpha, ben, boost_of(ben, note))
    assert await stored_uris(alpha) == []
    assert await item_kinds(alpha) == []


async def test_the_authors_delete_after_arrival_removes_the_post(alpha, masto) -> None:
    ann, mallory, _, note = masto
    await send(alpha, ann, create_of(ann, note))
    await send(alpha, mallory, delete_of(mallory, note))
    await send(alpha, ann, delete_of(ann, note))
    assert await stored_uris(alpha) == []
    assert await item_kinds(alpha) == []
