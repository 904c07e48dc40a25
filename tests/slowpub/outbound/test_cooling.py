"""The cooling-off queue, end to end between two instances with real signatures."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select
from tests_support import followed_by_fake_mastodon, received, set_user, settle

from slowpub.outbound.posting import (
    Draft,
    PostingError,
    cancel_item,
    create_post,
    delete_item,
    edit_item,
    react,
    release_now,
)
from slowpub.outbound.queue_views import list_deliveries, list_queue
from slowpub.social.accounts import create_user
from slowpub.social.follows import follow
from slowpub.storage.models import Delivery


@pytest.fixture
async def followed(alpha, beta):
    """alice@alpha (cooling-off 10 minutes) followed by bob@beta."""
    await create_user(alpha.ctx, "alice", password="correct horse")
    await create_user(beta.ctx, "bob", password="correct horse")
    await set_user(alpha, "alice", cooling_off="10m")
    await follow(beta.ctx, "bob", "alice@alpha.test")
    await settle(alpha, beta)
    return alpha, beta


async def test_nothing_before_release_then_exactly_one_create(network, followed) -> None:
    alpha, beta = followed
    item = await create_post(alpha.ctx, "alice", Draft("Slowly, #slow friends."))
    assert item.state == "cooling"
    assert item.release_at == network.clock.now() + timedelta(minutes=10)

    network.clock.advance(timedelta(minutes=9, seconds=59))
    await settle(alpha, beta)
    assert await received(beta) == []
    # Not fetchable while cooling either.
    async with httpx.AsyncClient(transport=network.transport) as client:
        uri = (await list_queue(alpha.ctx, "alice"))[0]["uri"]
        r = await client.get(uri, headers={"Accept": "application/activity+json"})
        assert r.status_code == 404

    network.clock.advance(timedelta(seconds=1))
    await settle(alpha, beta)
    creates = await received(beta)
    assert len(creates) == 1
    note = creates[0]["object"]
    assert note["id"] == uri
    assert "#<span>slow</span>" in note["content"]
    assert note["to"] == ["https://www.w3.org/ns/activitystreams#Public"]
    assert note["tag"] == [
        {"type": "Hashtag", "href": "https://alpha.test/tags/slow", "name": "#slow"}
    ]
    # Released posts are fetchable and listed in the outbox.
    async with httpx.AsyncClient(transport=network.transport) as client:
        r = await client.get(uri, headers={"Accept": "application/activity+json"})
        assert r.status_code == 200 and r.json()["content"] == note["content"]
        page = (
            await client.get(
                "https://alpha.test/users/alice/outbox?page=1",
                headers={"Accept": "application/activity+json"},
            )
        ).json()
        assert [a["object"]["id"] for a in page["orderedItems"]] == [uri]

    network.clock.advance(timedelta(hours=1))
    await settle(alpha, beta)
    assert len(await received(beta)) == 1  # never twice


async def test_edit_while_cooling_changes_what_arrives(network, followed) -> None:
    alpha, beta = followed
    item = await create_post(alpha.ctx, "alice", Draft("first draft"))
    network.clock.advance(timedelta(minutes=5))
    edited = await edit_item(alpha.ctx, item.id, "second thoughts")
    assert edited.id == item.id
    # restart-on-edit (the default) restarts the clock from the edit.
    assert edited.release_at == network.clock.now() + timedelta(minutes=10)
    network.clock.advance(timedelta(minutes=6))
    await settle(alpha, beta)
    assert await received(beta) == []
    network.clock.advance(timedelta(minutes=5))
    await settle(alpha, beta)
    [create] = await received(beta)
    assert "second thoughts" in create["object"]["content"]
    assert "updated" not in create["object"]


async def test_restart_on_edit_off_keeps_release_time(network, followed) -> None:
    alpha, _ = followed
    await set_user(alpha, "alice", restart_on_edit="off")
    item = await create_post(alpha.ctx, "alice", Draft("first"))
    network.clock.advance(timedelta(minutes=5))
    edited = await edit_item(alpha.ctx, item.id, "second")
    assert edited.release_at == item.release_at


async def test_cancelled_post_never_federates(network, followed) -> None:
    alpha, beta = followed
    item = await create_post(alpha.ctx, "alice", Draft("never mind"))
    cancelled = await cancel_item(alpha.ctx, item.id)
    assert cancelled.item.state == "cancelled" and cancelled.replies == []
    network.clock.advance(timedelta(days=1))
    await settle(alpha, beta)
    assert await received(beta) == []
    assert await received(beta, "Delete") == []
    async with alpha.ctx.db.sessions() as s:
        assert (
            await s.execute(select(Delivery).where(Delivery.activity_type != "Accept"))
        ).first() is None
    # Still visible to its author, as cancelled.
    everything = await list_queue(alpha.ctx, "alice", all_states=True)
    assert [(i["state"], i["text"]) for i in everything] == [("cancelled", "never mind")]
    with pytest.raises(PostingError, match="cancelled"):
        await edit_item(alpha.ctx, item.id, "changed my mind again")


async def test_zero_cooling_releases_within_the_request(network, followed) -> None:
    alpha, beta = followed
    await set_user(alpha, "alice", cooling_off="0")
    item = await create_post(alpha.ctx, "alice", Draft("right now"))
    assert item.state == "released"
    uri = (await list_queue(alpha.ctx, "alice", all_states=True))[0]["uri"]
    async with httpx.AsyncClient(transport=network.transport) as client:
        r = await client.get(uri, headers={"Accept": "application/activity+json"})
        assert r.status_code == 200
    await settle(alpha, beta)
    assert len(await received(beta)) == 1


async def test_release_now_edit_after_release_and_delete(network, followed) -> None:
    alpha, beta = followed
    item = await create_post(alpha.ctx, "alice", Draft("version one"))
    released = await release_now(alpha.ctx, item.id)
    assert released.state == "released"
    await settle(alpha, beta)
    assert len(await received(beta)) == 1

    update_item = await edit_item(alpha.ctx, item.id, "version two")
    assert update_item.id != item.id and update_item.kind == "update"
    assert update_item.state == "cooling"
    await settle(alpha, beta)
    assert await received(beta, "Update") == []
    network.clock.advance(timedelta(minutes=10))
    await settle(alpha, beta)
    [update] = await received(beta, "Update")
    assert "version two" in update["object"]["content"]
    assert update["object"]["updated"]

    await delete_item(alpha.ctx, item.id)
    await settle(alpha, beta)  # no cooling for deletes
    [delete] = await received(beta, "Delete")
    assert delete["object"]["type"] == "Tombstone"
    async with httpx.AsyncClient(transport=network.transport) as client:
        r = await client.get(
            update["object"]["id"], headers={"Accept": "application/activity+json"}
        )
        assert r.status_code == 410 and r.json()["type"] == "Tombstone"


async def test_visibility_decides_the_audience(network, alpha, beta) -> None:
    await create_user(alpha.ctx, "alice", password="correct horse")
    await create_user(beta.ctx, "bob", password="correct horse")
    await create_user(beta.ctx, "carol", password="correct horse")
    await set_user(alpha, "alice", cooling_off="0")
    await follow(beta.ctx, "bob", "alice@alpha.test")
    await settle(alpha, beta)

    await create_post(alpha.ctx, "alice", Draft("for followers", visibility="followers"))
    await create_post(alpha.ctx, "alice", Draft("psst @carol@beta.test", visibility="direct"))
    await settle(alpha, beta)
    creates = {c["object"]["content"]: c["object"] for c in await received(beta)}
    followers_only = next(v for k, v in creates.items() if "for followers" in k)
    assert followers_only["to"] == ["https://alpha.test/users/alice/followers"]
    assert "https://www.w3.org/ns/activitystreams#Public" not in followers_only["cc"]
    direct = next(v for k, v in creates.items() if "psst" in k)
    assert direct["to"] == ["https://beta.test/users/carol"] and direct["cc"] == []
    assert direct["tag"] == [
        {"type": "Mention", "href": "https://beta.test/users/carol", "name": "@carol@beta.test"}
    ]
    # Neither shows in the public outbox.
    async with httpx.AsyncClient(transport=network.transport) as client:
        page = (
            await client.get(
                "https://alpha.test/users/alice/outbox?page=1",
                headers={"Accept": "application/activity+json"},
            )
        ).json()
        assert page["orderedItems"] == []


async def test_unresolvable_mention_is_an_error(alpha) -> None:
    await create_user(alpha.ctx, "alice", password="correct horse")
    with pytest.raises(PostingError, match=r"nobody@nowhere\.test"):
        await create_post(alpha.ctx, "alice", Draft("hello @nobody@nowhere.test"))
    with pytest.raises(PostingError, match="visibility"):
        await create_post(alpha.ctx, "alice", Draft("hi", visibility="everyone"))
    with pytest.raises(PostingError, match="mention"):
        await create_post(alpha.ctx, "alice", Draft("to nobody", visibility="direct"))
    with pytest.raises(PostingError, match="some text"):
        await create_post(alpha.ctx, "alice", Draft("   "))
    assert await list_queue(alpha.ctx, "alice", all_states=True) == []


async def test_reply_boost_and_like_cool_too(network, followed) -> None:
    alpha, beta = followed
    await set_user(beta, "bob", cooling_off="0")
    item = await create_post(beta.ctx, "bob", Draft("a thought"))
    uri = (await list_queue(beta.ctx, "bob", all_states=True))[0]["uri"]
    assert item.state == "released"
    await settle(alpha, beta)

    reply = await create_post(alpha.ctx, "alice", Draft("agreed", in_reply_to=uri))
    boost = await react(alpha.ctx, "alice", "announce", uri)
    like = await react(alpha.ctx, "alice", "like", uri)
    assert {reply.state, boost.state, like.state} == {"cooling"}
    await settle(alpha, beta)
    assert await received(beta) == [] and await received(beta, "Like") == []
    network.clock.advance(timedelta(minutes=10))
    await settle(alpha, beta)
    [create] = await received(beta)
    assert create["object"]["inReplyTo"] == uri
    assert {
        "type": "Mention",
        "href": "https://beta.test/users/bob",
        "name": "@bob@beta.test",
    } in create["object"]["tag"]
    [announce] = await received(beta, "Announce")
    assert announce["object"] == uri
    [like_activity] = await received(beta, "Like")
    assert like_activity["object"] == uri
    # Undoing a released like goes out at once.
    await delete_item(alpha.ctx, like.id)
    await settle(alpha, beta)
    [undo] = await received(beta, "Undo")
    assert undo["object"]["type"] == "Like"


async def test_503_twice_then_delivered_on_the_third_try(network, alpha) -> None:
    masto, _ = await followed_by_fake_mastodon(network, alpha)
    masto.inbox_status = [503, 503]

    await create_post(alpha.ctx, "alice", Draft("third time lucky"))
    await settle(alpha)
    assert masto.received == []
    failing = await list_deliveries(alpha.ctx, "alice", failed_only=True)
    assert failing[0]["last_status"] == 503 and failing[0]["state"] == "pending"
    network.clock.advance(timedelta(minutes=2))
    await settle(alpha)
    assert masto.received == []
    network.clock.advance(timedelta(minutes=5))
    await settle(alpha)
    assert [a["type"] for a in masto.received] == ["Create"]
    [row] = [d for d in await list_deliveries(alpha.ctx, "alice") if d["type"] == "Create"]
    assert row["state"] == "done" and row["attempts"] == 3
    assert row["inbox"] == "https://masto.test/inbox"  # the shared inbox


async def test_daily_limit_and_quiet_hours_apply(network, followed) -> None:
    alpha, _ = followed
    await set_user(alpha, "alice", daily_limit="1", cooling_off="1m", timezone="UTC")
    first = await create_post(alpha.ctx, "alice", Draft("one"))
    second = await create_post(alpha.ctx, "alice", Draft("two"))
    assert second.release_at.date() > first.release_at.date()
    assert second.release_at.hour == 0 and second.release_at.minute == 0
    await set_user(alpha, "alice", daily_limit="off", quiet_hours="00:00-23:59")
    third = await create_post(alpha.ctx, "alice", Draft("three"))
    assert (third.release_at.hour, third.release_at.minute) == (23, 59)
