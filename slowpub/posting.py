"""The posting service: every way a local user sends something goes through here.

The CLI today, and the client APIs and web UI later, call these functions
and nothing else. A new post, an edit of a released post, a boost and a like
become a :class:`~slowpub.models.QueueItem` that cools until its release
time; :mod:`slowpub.release` sends it. Deletes and undos go out at once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.vocab import PUBLIC
from slowpub import notes, urls
from slowpub.accounts import require_user
from slowpub.audience import inboxes
from slowpub.context import Context
from slowpub.deliveries import add_deliveries
from slowpub.ids import snowflake
from slowpub.intake import Skip, fetch_post
from slowpub.models import Post, QueueItem, User
from slowpub.policy import LIMITED_KINDS, parse_quiet_hours, parse_timezone, release_time
from slowpub.remote_actors import ActorError, fetch_actor, resolve_account
from slowpub.text import (
    MentionRef,
    ResolvedMention,
    TextError,
    check_length,
    find_mentions,
    render,
)

# "self": a private note (a C2S Create with no recipients); it never federates.
VISIBILITIES = ("public", "unlisted", "followers", "direct", "self")


class PostingError(ValueError):
    """A post, edit or reaction that cannot be queued; the message says why."""


@dataclass
class Draft:
    text: str
    visibility: str = "public"
    in_reply_to: str | None = None
    cw: str | None = None
    not_before: datetime | None = None
    # Actor URIs addressed without an @mention in the text (C2S clients do this).
    recipients: tuple[str, ...] = ()


@dataclass
class Rendered:
    """Everything about a post's content that is computed from its text."""

    source: str
    content_html: str
    summary: str | None
    tags: list[dict[str, Any]]
    to: list[str]
    cc: list[str]
    recipients: list[str]

    def as_payload(self) -> str:
        return json.dumps(self.__dict__)

    def apply(self, post: Post) -> None:
        post.source = self.source
        post.content_html = self.content_html
        post.summary = self.summary
        post.tags_json = json.dumps(self.tags)
        post.to_json = json.dumps(self.to)
        post.cc_json = json.dumps(self.cc)
        post.extra_recipients_json = json.dumps(self.recipients)


# --- content ----------------------------------------------------------------


async def _resolve_mentions(
    ctx: Context, refs: list[MentionRef]
) -> dict[MentionRef, ResolvedMention]:
    resolved: dict[MentionRef, ResolvedMention] = {}
    for ref in refs:
        account = f"{ref.username}@{ref.host or ctx.settings.host}"
        try:
            actor = await resolve_account(ctx, account)
        except ActorError as exc:
            raise PostingError(f"cannot mention @{account}: {exc}") from exc
        resolved[ref] = ResolvedMention(
            uri=actor.uri,
            profile_url=actor.url or actor.uri,
            username=actor.username,
            handle=actor.handle,
        )
    return resolved


@dataclass
class ReplyTarget:
    uri: str
    author_uri: str
    author_handle: str


async def _reply_target(ctx: Context, url: str) -> ReplyTarget:
    url = url.strip()
    if url.startswith(ctx.settings.base_url + "/"):
        async with ctx.db.sessions() as session:
            post = (await session.execute(select(Post).where(Post.uri == url))).scalar_one_or_none()
            if post is None or post.state != "released":
                raise PostingError(f"cannot reply to {url}: no such released post here")
            author = await session.get(User, post.user_id)
            assert author is not None
            return ReplyTarget(url, author.actor.uri, author.actor.handle)
    try:
        fetched = await fetch_post(ctx, url, None)
    except Skip as exc:
        raise PostingError(f"cannot reply to {url}: {exc}") from exc
    return ReplyTarget(fetched.obj.id, fetched.author.uri, fetched.author.handle)


def _addressing(
    visibility: str, followers: str, mentioned: list[str]
) -> tuple[list[str], list[str]]:
    """Mastodon's addressing: visibility is nothing but who is in to and cc."""
    if visibility == "public":
        return [PUBLIC], [followers, *mentioned]
    if visibility == "unlisted":
        return [followers], [PUBLIC, *mentioned]
    if visibility == "followers":
        return [followers], list(mentioned)
    if visibility == "self":
        return [], []
    return list(mentioned), []


async def render_draft(
    ctx: Context,
    user: User,
    text: str,
    *,
    visibility: str,
    cw: str | None,
    reply: ReplyTarget | None,
    also: tuple[ReplyTarget, ...] = (),
) -> Rendered:
    try:
        text = check_length(text)
    except TextError as exc:
        raise PostingError(str(exc)) from exc
    if cw is not None and len(cw) > 500:
        raise PostingError("a content warning can be at most 500 characters")
    mentions = await _resolve_mentions(ctx, find_mentions(text))
    html, tags = render(
        text,
        mentions=mentions,
        tag_url=ctx.settings.url("/tags/{tag}"),
        local_host=ctx.settings.host,
    )
    mentioned = [t["href"] for t in tags if t["type"] == "Mention"]
    # The author replied to always hears of it, as on Mastodon; so do accounts
    # a C2S client addressed without naming them in the text.
    for target in (reply, *also):
        if (
            target is not None
            and target.author_uri not in mentioned
            and target.author_uri != user.actor.uri
        ):
            tags.append(
                {"type": "Mention", "href": target.author_uri, "name": "@" + target.author_handle}
            )
            mentioned.append(target.author_uri)
    mentioned = [m for m in mentioned if m != user.actor.uri]
    to, cc = _addressing(visibility, user.actor.followers_url or "", mentioned)
    return Rendered(
        source=text,
        content_html=html,
        summary=(cw or "").strip() or None,
        tags=tags,
        to=to,
        cc=cc,
        recipients=mentioned,
    )


# --- timing -----------------------------------------------------------------


async def _count_releases(
    session: AsyncSession, user_id: int, start: datetime, end: datetime, exclude: int | None
) -> int:
    query = select(func.count(QueueItem.id)).where(
        QueueItem.user_id == user_id,
        QueueItem.kind.in_(LIMITED_KINDS),
        QueueItem.state.in_(("cooling", "released")),
        QueueItem.release_at >= start,
        QueueItem.release_at < end,
    )
    if exclude is not None:
        query = query.where(QueueItem.id != exclude)
    return int((await session.execute(query)).scalar_one())


async def schedule(
    ctx: Context,
    session: AsyncSession,
    user: User,
    *,
    kind: str,
    exclude: int | None = None,
    not_before: datetime | None = None,
) -> datetime:
    """The release time for a new (or restarted) item of ``user``."""

    async def count(start: datetime, end: datetime) -> int:
        if kind not in LIMITED_KINDS:
            return 0
        return await _count_releases(session, user.id, start, end, exclude)

    return await release_time(
        now=ctx.clock.now(),
        cooling=timedelta(seconds=user.cooling_off_seconds),
        tz=parse_timezone(user.timezone),
        quiet=parse_quiet_hours(user.quiet_hours),
        daily_limit=user.daily_limit,
        count_releases=count,
        not_before=not_before,
    )


async def _release_if_due(ctx: Context, item: QueueItem) -> QueueItem:
    """With no cooling-off the item leaves within the same request."""
    if item.release_at <= ctx.clock.now():
        from slowpub.release import release_items

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
    reply = await _reply_target(ctx, draft.in_reply_to) if draft.in_reply_to else None
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
        release_at = await schedule(ctx, session, user, kind="create", not_before=draft.not_before)
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
        reply = await _reply_target(ctx, post.in_reply_to)
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
                    not_before=target.not_before,
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


async def cancel_item(ctx: Context, item_id: int, owner: str | None = None) -> QueueItem:
    """Withdraw a cooling item: it never federates, and stays visible to its author."""
    async with ctx.db.transaction() as session:
        item = await _owned_item(session, item_id, owner)
        if item.state == "cancelled":
            return item
        if item.state != "cooling":
            raise PostingError(
                f"item {item_id} was already released; `slowpub delete {item_id}` takes it back"
            )
        item.state = "cancelled"
        if item.kind == "create" and item.post_id is not None:
            post = await session.get(Post, item.post_id)
            if post is not None:
                post.state = "cancelled"
    return item


async def release_now(ctx: Context, item_id: int, owner: str | None = None) -> QueueItem:
    """The author's explicit choice: send a cooling item now."""
    async with ctx.db.transaction() as session:
        item = await _owned_item(session, item_id, owner)
        if item.state != "cooling":
            raise PostingError(f"item {item_id} is {item.state}, not cooling")
        item.release_at = ctx.clock.now()
    return await _release_if_due(ctx, item)


async def delete_item(ctx: Context, item_id: int, owner: str | None = None) -> QueueItem:
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
            from slowpub.activities import undo

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
    return await get_item(ctx, item_id)


async def react(ctx: Context, username: str, kind: str, url: str) -> QueueItem:
    """Queue a boost (``announce``) or a like of the post at ``url``."""
    if kind not in ("announce", "like"):
        raise PostingError("a reaction is an announce or a like")
    target = await _reply_target(ctx, url)
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
