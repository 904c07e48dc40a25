"""The scheduler's work: releasing queue items whose time has come.

Releasing is one transaction per batch: the item flips from ``cooling`` to
``released`` under a guarded UPDATE (so two workers can never both release
it), and the activity and its delivery rows are written in that same
transaction. A crash before the commit releases nothing; after it, the
deliveries are durable rows.

A reply to the author's own cooling post never leaves before that post: due
while its parent still cools, it is held and moved to the parent's release
time (the parent may have been edited or moved since the reply was written).
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from slowpub import urls
from slowpub.context import Context
from slowpub.delivery.sending import add_deliveries
from slowpub.outbound import notes
from slowpub.outbound.audience import inboxes
from slowpub.storage.models import Post, QueueItem, User

BATCH = 50


async def cooling_parent(session: AsyncSession, item_id: int) -> tuple[int, datetime] | None:
    """(queue id, release time) of the cooling post this cooling reply waits for."""
    reply, parent, parent_item = aliased(Post), aliased(Post), aliased(QueueItem)
    query = (
        select(parent_item.id, parent_item.release_at)
        .select_from(QueueItem)
        .join(reply, reply.id == QueueItem.post_id)
        .join(parent, parent.uri == reply.in_reply_to)
        .join(parent_item, (parent_item.post_id == parent.id) & (parent_item.kind == "create"))
        .where(QueueItem.id == item_id, QueueItem.kind == "create", parent.state == "cooling")
    )
    found = (await session.execute(query)).first()
    return (found[0], found[1]) if found is not None else None


async def _release_one(session: AsyncSession, item: QueueItem, now: datetime) -> None:
    user = await session.get(User, item.user_id)
    assert user is not None
    if item.kind in ("create", "update"):
        post = await session.get(Post, item.post_id)
        assert post is not None
        if item.kind == "create":
            post.state = "released"
            post.published_at = now
            activity = notes.create(post, user)
            recipients = json.loads(post.extra_recipients_json)
        else:
            old_recipients = json.loads(post.extra_recipients_json)
            payload = json.loads(item.payload or "{}")
            for field, column in (
                ("source", "source"),
                ("content_html", "content_html"),
                ("summary", "summary"),
            ):
                setattr(post, column, payload[field])
            post.tags_json = json.dumps(payload["tags"])
            post.to_json = json.dumps(payload["to"])
            post.cc_json = json.dumps(payload["cc"])
            post.extra_recipients_json = json.dumps(payload["recipients"])
            post.edited_at = now
            activity = notes.update(post, user, item.id)
            # Whoever saw the old version hears of the new one, and new mentions too.
            recipients = sorted(set(old_recipients) | set(payload["recipients"]))
        followers = post.visibility in ("public", "unlisted", "followers")
    else:
        activity_uri = urls.like_or_announce(user.actor.uri, item.kind, item.id)
        assert item.object_uri is not None
        if item.kind == "announce":
            activity = notes.announce(
                user, activity_uri, item.object_uri, item.object_actor_uri, now
            )
        else:
            activity = notes.like(user, activity_uri, item.object_uri)
        recipients = [item.object_actor_uri] if item.object_actor_uri else []
        followers = item.kind == "announce"
    item.activity_uri = activity["id"]
    targets = await inboxes(session, user, followers=followers, actors=recipients)
    await add_deliveries(session, user=user, activity=activity, inboxes=targets, now=now)


async def release_items(ctx: Context, ids: list[int]) -> int:
    """Release these items if they are still cooling; returns how many were."""
    async with ctx.db.transaction() as session:
        released = await _release_locked(session, ids, ctx.clock.now())
    if released:
        ctx.wakeups.deliveries.set()
    return released


async def release_due(ctx: Context, limit: int = BATCH) -> int:
    """Release every item whose time has come (one batch)."""
    now = ctx.clock.now()
    query = (
        select(QueueItem.id)
        .where(QueueItem.state == "cooling", QueueItem.release_at <= now)
        .order_by(QueueItem.release_at, QueueItem.id)
        .limit(limit)
    )
    if not ctx.db.is_sqlite:
        # Another worker's batch is skipped, not waited for; the guarded
        # UPDATE in release_items is what makes a double release impossible.
        query = query.with_for_update(skip_locked=True)
    async with ctx.db.transaction() as session:
        ids = list((await session.execute(query)).scalars())
        released = await _release_locked(session, ids, now) if ids else 0
    if released:
        ctx.wakeups.deliveries.set()
    return released


async def _release_locked(session: AsyncSession, ids: list[int], now: datetime) -> int:
    released = 0
    for item_id in ids:
        parent = await cooling_parent(session, item_id)
        if parent is not None:
            # Not before its parent. Ordered by (release_at, id), the parent
            # (older, so a smaller id) comes first once both are due.
            await session.execute(
                update(QueueItem)
                .where(
                    QueueItem.id == item_id,
                    QueueItem.state == "cooling",
                    QueueItem.release_at < parent[1],
                )
                .values(release_at=parent[1])
            )
            continue
        flipped = await session.execute(
            update(QueueItem)
            .where(QueueItem.id == item_id, QueueItem.state == "cooling")
            .values(state="released", released_at=now)
        )
        if flipped.rowcount != 1:
            continue
        item = await session.get(QueueItem, item_id)
        assert item is not None
        await session.refresh(item)
        await _release_one(session, item, now)
        released += 1
    return released
