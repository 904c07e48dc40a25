"""The posting service: every way a local user sends something goes through here.

The CLI today, and the client APIs and web UI later, call these functions
and nothing else. A new post, an edit of a released post, a boost and a like
become a :class:`~slowpub.storage.models.QueueItem` that cools until its release
time; :mod:`slowpub.outbound.release` sends it. Deletes and undos go out at once.
What a draft says is checked and rendered in :mod:`slowpub.outbound.drafts`,
when it may leave is :mod:`slowpub.outbound.timing`'s answer.

Threads may be written while they cool: a reply to your own cooling post
cools too and never leaves before it. Cancelling a post cancels its cooling
replies (and theirs) with it, since a reply to nothing reads as nonsense;
:class:`Withdrawal` names them so that every face tells the user the same.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from slowpub import urls
from slowpub.context import Context
from slowpub.delivery.sending import add_deliveries
from slowpub.ids import snowflake
from slowpub.inbound.remote_actors import ActorError, fetch_actor
from slowpub.outbound import notes
from slowpub.outbound.audience import inboxes
from slowpub.outbound.drafts import (
    VISIBILITIES,
    Draft,
    PostingError,
    ReplyTarget,
    render_draft,
    reply_target,
)
from slowpub.outbound.release import cooling_parent
from slowpub.outbound.timing import schedule
from slowpub.social.accounts import require_user
from slowpub.storage.models import Post, QueueItem, User

__all__ = [
    "VISIBILITIES",
    "CancelledReply",
    "Draft",
    "PostingError",
    "Withdrawal",
    "cancel_item",
    "create_post",
    "delete_item",
    "edit_item",
    "get_item",
    "react",
    "release_now",
]


@dataclass(frozen=True)
class CancelledReply:
    """A cooling reply withdrawn with the post it answered."""

    queue_id: int
    status_id: int | None  # the post's public id, as the Mastodon API shows it
    uri: str


@dataclass
class Withdrawal:
    """What a cancel or delete did: the item, and the cooling replies that went with it."""

    item: QueueItem
    replies: list[CancelledReply] = field(default_factory=list)


def _later(*moments: datetime | None) -> datetime | None:
    present = [m for m in moments if m is not None]
    return max(present) if present else None


async def _release_if_due(ctx: Context, item: QueueItem) -> QueueItem:
    """With no cooling-off the item leaves within the same request."""
    if item.release_at <= ctx.clock.now():
        from slowpub.outbound.release import release_items

        await release_items(ctx, [item.id])
        return await get_item(ctx, item.id)
    ctx.wakeups.release.set()
    return item


# --- the service --------------------------------------------------------------


async def create_post(ctx: Context, username: str, draft: Draft) -> QueueItem:
    if draft.visibility not in VISIBILITIES:
        raise PostingError(f"visibility must be one of {', '.join(VISIBILITIES)}")
    async with ctx.db.sessions() as session:
        user = await require_user(session, username)
    reply = await reply_target(ctx, draft.in_reply_to, user) if draft.in_reply_to else None
    also = []
    for uri in draft.recipients:
        try:
            actor = await fetch_actor(ctx, uri)
        except ActorError as exc:
            raise PostingError(f"cannot address {uri}: {exc}") from exc
        also.append(ReplyTarget(uri, actor.uri, actor.handle))
    rendered = await render_draft(
        ctx,
        user,
        draft.text,
        visibility=draft.visibility,
        cw=draft.cw,
        reply=reply,
        also=tuple(also),
    )
    if draft.visibility == "direct" and not rendered.recipients:
        raise PostingError("a direct post needs at least one @mention")
    now = ctx.clock.now()
    async with ctx.db.transaction() as session:
        user = await require_user(session, username)
        post = Post(
            public_id=snowflake(now),
            user_id=user.id,
            uri="",
            visibility=draft.visibility,
            in_reply_to=reply.uri if reply else None,
            state="cooling",
            created_at=now,
        )
        rendered.apply(post)
        session.add(post)
        await session.flush()
        post.uri = urls.status(ctx.settings, user.username, post.id)
        release_at = await schedule(
            ctx,
            session,
            user,
            kind="create",
            not_before=_later(draft.not_before, reply.cooling_until if reply else None),
        )
        item = QueueItem(
            user_id=user.id,
            kind="create",
            post_id=post.id,
            state="cooling",
            release_at=release_at,
            not_before=draft.not_before,
            created_at=now,
        )
        session.add(item)
        await session.flush()
    return await _release_if_due(ctx, item)


async def _owned_item(session: AsyncSession, item_id: int, owner: str | None) -> QueueItem:
    """The item, if it exists and (when ``owner`` is given) is theirs."""
    item = await session.get(QueueItem, item_id)
    if item is not None and owner is not None:
        user = await require_user(session, owner)
        item = item if item.user_id == user.id else None
    if item is None:
        raise PostingError(f"no queued item {item_id}")
    return item


async def get_item(ctx: Context, item_id: int, owner: str | None = None) -> QueueItem:
    async with ctx.db.sessions() as session:
        return await _owned_item(session, item_id, owner)


async def edit_item(
    ctx: Context, item_id: int, text: str, *, cw: str | None = None, owner: str | None = None
) -> QueueItem:
    """Edit what an item says. Cooling: in place. Released post: a new cooling Update."""
    item = await get_item(ctx, item_id, owner)
    if item.kind not in ("create", "update") or item.post_id is None:
        raise PostingError(f"item {item_id} is a {item.kind}; only posts can be edited")
    if item.state == "cancelled":
        raise PostingError(f"item {item_id} was cancelled; cancelled posts cannot be edited")
    async with ctx.db.sessions() as session:
        post = await session.get(Post, item.post_id)
        user = await session.get(User, item.user_id)
        pending_update = (
            await session.execute(
                select(QueueItem).where(
                    QueueItem.post_id == item.post_id,
                    QueueItem.kind == "update",
                    QueueItem.state == "cooling",
                )
            )
        ).scalar_one_or_none()
    assert post is not None and user is not None
    if post.state == "deleted":
        raise PostingError(f"the post of item {item_id} was deleted")
    reply = None
    if post.in_reply_to:
        reply = await reply_target(ctx, post.in_reply_to, user)
    rendered = await render_draft(
        ctx,
        user,
        text,
        visibility=post.visibility,
        cw=cw if cw is not None else post.summary,
        reply=reply,
    )
    now = ctx.clock.now()
    async with ctx.db.transaction() as session:
        user = await session.get(User, item.user_id)
        assert user is not None
        if item.kind == "create" and item.state == "cooling":
            target = await session.get(QueueItem, item.id)
            stored_post = await session.get(Post, post.id)
            assert target is not None and stored_post is not None
            if target.state != "cooling":
                raise PostingError(f"item {item_id} was released meanwhile; edit it again")
            rendered.apply(stored_post)
            if user.restart_on_edit:
                target.release_at = await schedule(
                    ctx,
                    session,
                    user,
                    kind="create",
                    exclude=target.id,
                    not_before=_later(target.not_before, reply.cooling_until if reply else None),
                )
            result = target
        elif pending_update is not None:
            target = await session.get(QueueItem, pending_update.id)
            assert target is not None
            target.payload = rendered.as_payload()
            if user.restart_on_edit:
                target.release_at = await schedule(
                    ctx,
                    session,
                    user,
                    kind="update",
                    exclude=target.id,
                    not_before=target.not_before,
                )
            result = target
        else:
            result = QueueItem(
                user_id=user.id,
                kind="update",
                post_id=post.id,
                payload=rendered.as_payload(),
                state="cooling",
                release_at=await schedule(ctx, session, user, kind="update"),
                created_at=now,
            )
            session.add(result)
        await session.flush()
    return await _release_if_due(ctx, result)


async def cancel_item(ctx: Context, item_id: int, owner: str | None = None) -> Withdrawal:
    """Withdraw a cooling item: it never federates; nor do its cooling replies.

    The author keeps it in their queue history; nothing else shows it.
    """
    async with ctx.db.transaction() as session:
        item = await _owned_item(session, item_id, owner)
        if item.state == "cancelled":
            return Withdrawal(item)
        if item.state != "cooling":
            raise PostingError(
                f"item {item_id} was already released; `slowpub delete {item_id}` takes it back"
            )
        item.state = "cancelled"
        replies: list[CancelledReply] = []
        if item.kind == "create" and item.post_id is not None:
            post = await session.get(Post, item.post_id)
            if post is not None:
                post.state = "cancelled"
                replies = await _cancel_replies(session, post)
    return Withdrawal(item, replies)


async def _cancel_replies(session: AsyncSession, post: Post) -> list[CancelledReply]:
    """The cooling replies to ``post``, and to them, down the thread: cancelled."""
    cancelled: list[CancelledReply] = []
    frontier = [post.uri]
    while frontier:
        rows = await session.execute(
            select(QueueItem, Post)
            .join(Post, Post.id == QueueItem.post_id)
            .where(
                Post.user_id == post.user_id,
                Post.in_reply_to.in_(frontier),
                Post.state == "cooling",
                QueueItem.kind == "create",
                QueueItem.state == "cooling",
            )
            .order_by(QueueItem.id)
        )
        frontier = []
        for item, reply in rows:
            item.state = reply.state = "cancelled"
            cancelled.append(CancelledReply(item.id, reply.public_id, reply.uri))
            frontier.append(reply.uri)
    return cancelled


async def release_now(ctx: Context, item_id: int, owner: str | None = None) -> QueueItem:
    """The author's explicit choice: send a cooling item now."""
    async with ctx.db.transaction() as session:
        item = await _owned_item(session, item_id, owner)
        if item.state != "cooling":
            raise PostingError(f"item {item_id} is {item.state}, not cooling")
        parent = await cooling_parent(session, item.id)
        if parent is not None:
            raise PostingError(
                f"item {item_id} replies to your post that is still cooling (item {parent[0]},"
                f" leaving {notes.iso(parent[1])}); a reply never leaves before its post:"
                f" release item {parent[0]} first"
            )
        item.release_at = ctx.clock.now()
    return await _release_if_due(ctx, item)


async def delete_item(ctx: Context, item_id: int, owner: str | None = None) -> Withdrawal:
    """Take back a released post, boost or like (Delete/Undo at once); cancel a cooling one."""
    item = await get_item(ctx, item_id, owner)
    if item.state == "cooling":
        return await cancel_item(ctx, item_id, owner)
    if item.state == "cancelled":
        raise PostingError(f"item {item_id} was cancelled; nothing to delete")
    now = ctx.clock.now()
    async with ctx.db.transaction() as session:
        user = await session.get(User, item.user_id)
        assert user is not None
        if item.kind in ("create", "update") and item.post_id is not None:
            post = await session.get(Post, item.post_id)
            assert post is not None
            if post.state == "deleted":
                raise PostingError(f"the post of item {item_id} is already deleted")
            pending = await session.execute(
                select(QueueItem).where(QueueItem.post_id == post.id, QueueItem.state == "cooling")
            )
            for other in pending.scalars():
                other.state = "cancelled"
            post.state = "deleted"
            post.deleted_at = now
            targets = await inboxes(
                session,
                user,
                followers=post.visibility in ("public", "unlisted", "followers"),
                actors=json.loads(post.extra_recipients_json),
            )
            await add_deliveries(
                session, user=user, activity=notes.delete(post, user), inboxes=targets, now=now
            )
        else:
            stored = await session.get(QueueItem, item.id)
            assert stored is not None and stored.activity_uri is not None
            inner: dict[str, Any] = {
                "id": stored.activity_uri,
                "type": "Announce" if stored.kind == "announce" else "Like",
                "actor": user.actor.uri,
                "object": stored.object_uri,
            }
            from slowpub.outbound.activities import undo

            targets = await inboxes(
                session,
                user,
                followers=stored.kind == "announce",
                actors=[stored.object_actor_uri] if stored.object_actor_uri else [],
            )
            await add_deliveries(
                session, user=user, activity=undo(user.actor.uri, inner), inboxes=targets, now=now
            )
            stored.state = "cancelled"
    ctx.wakeups.deliveries.set()
    return Withdrawal(await get_item(ctx, item_id))


async def react(ctx: Context, username: str, kind: str, url: str) -> QueueItem:
    """Queue a boost (``announce``) or a like of the post at ``url``."""
    if kind not in ("announce", "like"):
        raise PostingError("a reaction is an announce or a like")
    target = await reply_target(ctx, url)
    now = ctx.clock.now()
    async with ctx.db.transaction() as session:
        user = await require_user(session, username)
        existing = (
            await session.execute(
                select(QueueItem).where(
                    QueueItem.user_id == user.id,
                    QueueItem.kind == kind,
                    QueueItem.object_uri == target.uri,
                    QueueItem.state.in_(("cooling", "released")),
                )
            )
        ).scalar_one_or_none()
        if existing is not None:
            return existing
        item = QueueItem(
            user_id=user.id,
            kind=kind,
            object_uri=target.uri,
            object_actor_uri=target.author_uri,
            state="cooling",
            release_at=await schedule(ctx, session, user, kind=kind),
            created_at=now,
        )
        session.add(item)
        await session.flush()
    return await _release_if_due(ctx, item)
