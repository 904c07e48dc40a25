"""Inbound content: posts, boosts, likes, edits and deletes, filed for the users they concern.

Only what relates to a local user is kept (INTEROP.md): a post from someone
they follow, addressed to them, or replying to them; a boost by someone they
follow; a like or boost of their post. Everything else is acknowledged and
dropped. Remote HTML is sanitised before it is stored.

Each activity type has a ``prepare`` step that does the network work (fetch
an object from its own origin, its author) outside any transaction, and an
``apply`` step that changes the database inside one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.errors import FederationError
from federation.fetch import signed_get
from federation.objects import (
    OBJECT_TYPES,
    ObjectShapeError,
    RemoteObject,
    addressed_to,
    parse_object,
    visibility,
)
from federation.vocab import id_of, same_origin
from slowpub.context import Context
from slowpub.ids import snowflake
from slowpub.inbound.items import file_items, item
from slowpub.inbound.remote_actors import ActorError, fetch_actor
from slowpub.inbound.sanitize import html_to_text, sanitize_html
from slowpub.social.instance_actor import signing_identity
from slowpub.storage.models import (
    Actor,
    Follow,
    InboundItem,
    Post,
    RemotePost,
    RemoteTombstone,
    User,
)


class Skip(Exception):
    """Nothing to do for this activity; the message says why (recorded, not an error)."""


@dataclass
class Fetched:
    """An object and its author, fetched and checked before the transaction."""

    obj: RemoteObject
    doc: dict[str, Any]
    author: Actor


async def fetch_object(ctx: Context, ref: Any, actor: Actor | None) -> dict[str, Any]:
    """The object an activity names: embedded when the actor's own, else from its origin."""
    object_id = id_of(ref)
    if not isinstance(object_id, str):
        raise Skip("activity without an object id")
    if isinstance(ref, dict) and actor is not None and same_origin(object_id, actor.uri):
        return ref  # covered by the actor's signature
    key_id, private_pem = await signing_identity(ctx)
    try:
        # signed_get refuses an id on another origin than the redirects ended on.
        _, doc = await signed_get(
            ctx.http,
            object_id,
            key_id=key_id,
            private_key_pem=private_pem,
            allow_private=ctx.settings.allow_private_networks,
            now=ctx.clock.now(),
        )
    except FederationError as exc:
        raise Skip(f"could not fetch {object_id}: {exc}") from exc
    return doc


async def fetch_post(ctx: Context, ref: Any, actor: Actor | None) -> Fetched:
    doc = await fetch_object(ctx, ref, actor)
    try:
        obj = parse_object(doc)
    except ObjectShapeError as exc:
        raise Skip(f"unsupported object: {exc}") from exc
    if obj.type not in OBJECT_TYPES:
        raise Skip(f"{obj.type} objects are not shown")
    author_uri = obj.attributed_to or (actor.uri if actor else None)
    if author_uri is None or not same_origin(author_uri, obj.id):
        raise Skip("object without an author on its own host")
    if actor is not None and author_uri == actor.uri:
        author = actor
    else:
        try:
            author = await fetch_actor(ctx, author_uri)
        except ActorError as exc:
            raise Skip(str(exc)) from exc
    return Fetched(obj, doc, author)


def _extra(obj: RemoteObject) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if obj.attachments:
        extra["attachments"] = [
            {"url": a.url, "type": a.media_type, "kind": a.kind, "description": a.description}
            for a in obj.attachments
        ]
    if obj.poll_options:
        extra["poll"] = {
            "options": [o.name for o in obj.poll_options],
            "multiple": obj.poll_multiple,
            "ends": obj.poll_end.isoformat() if obj.poll_end else None,
        }
    if obj.start_time:
        extra["event"] = {"start": obj.start_time.isoformat(), "location": obj.location}
    if obj.quote_of:
        extra["quote_of"] = obj.quote_of
    if obj.hashtags:
        extra["hashtags"] = [h.name for h in obj.hashtags]
    return extra


def _columns(obj: RemoteObject, author: Actor) -> dict[str, Any]:
    return {
        "object_type": obj.type,
        "url": obj.url,
        # Titles and content warnings are plain text for us (some servers
        # send HTML there); they are escaped wherever they are shown.
        "name": html_to_text(obj.name).strip() or None if obj.name else None,
        "summary": html_to_text(obj.summary).strip() or None if obj.summary else None,
        "content_html": sanitize_html(obj.content),
        "in_reply_to": obj.in_reply_to,
        "thread": obj.context,
        "visibility": visibility(list(obj.to), list(obj.cc), author.followers_url),
        "sensitive": obj.sensitive,
        "extra_json": json.dumps(_extra(obj)),
        "published_at": obj.published,
    }


async def store_post(session: AsyncSession, fetched: Fetched, now: datetime) -> RemotePost | None:
    """Insert or refresh the remote post; None if it was deleted already."""
    obj = fetched.obj
    if await session.get(RemoteTombstone, (obj.id, fetched.author.id)) is not None:
        return None  # its author deleted it (a Delete by anyone else does not count)
    post = (
        await session.execute(select(RemotePost).where(RemotePost.uri == obj.id))
    ).scalar_one_or_none()
    columns = _columns(obj, fetched.author)
    if post is None:
        post = RemotePost(
            uri=obj.id,
            public_id=snowflake(now),
            author_id=fetched.author.id,
            received_at=now,
            **columns,
        )
        session.add(post)
        await session.flush()
    return post


async def _local_post(session: AsyncSession, uri: str | None) -> Post | None:
    if not uri:
        return None
    post = (await session.execute(select(Post).where(Post.uri == uri))).scalar_one_or_none()
    return post if post is not None and post.state == "released" else None


async def _users_following(session: AsyncSession, actor_ids: list[int]) -> list[int]:
    if not actor_ids:
        return []
    query = (
        select(User.id)
        .join(Follow, Follow.follower_id == User.actor_id)
        .where(Follow.followed_id.in_(actor_ids), Follow.state == "accepted")
        .distinct()
    )
    return list((await session.execute(query)).scalars())


async def _interested(
    session: AsyncSession, fetched: Fetched, activity: dict[str, Any]
) -> dict[int, str]:
    """Which local users this post concerns, and how (reply > mention > post)."""
    obj = fetched.obj
    addressed = addressed_to(fetched.doc) | addressed_to(activity)
    kinds: dict[int, str] = {}
    addressed_actors = list(
        (await session.execute(select(Actor).where(Actor.uri.in_(sorted(addressed))))).scalars()
    )
    # Followers of the author get the post, and followers of a Group it is
    # addressed to (Lemmy communities); naming someone else in cc does not
    # put a stranger's post in their followers' bundles.
    followed_sources = [fetched.author.id] + [
        a.id for a in addressed_actors if not a.local and a.actor_type == "Group"
    ]
    if obj.to or obj.cc or obj.audience:
        vis = visibility(list(obj.to), list(obj.cc), fetched.author.followers_url)
    else:
        vis = "public"
    if vis != "direct":
        for user_id in await _users_following(session, followed_sources):
            kinds[user_id] = "post"
    local_actor_ids = [a.id for a in addressed_actors if a.local]
    if local_actor_ids:
        query = select(User.id).where(User.actor_id.in_(local_actor_ids))
        for user_id in (await session.execute(query)).scalars():
            kinds[user_id] = "mention"
    replied = await _local_post(session, obj.in_reply_to)
    if replied is not None:
        kinds[replied.user_id] = "reply"
    return kinds


# --- Create -------------------------------------------------------------------


async def prepare_create(ctx: Context, actor: Actor, activity: dict[str, Any]) -> Fetched:
    fetched = await fetch_post(ctx, activity.get("object"), actor)
    if fetched.author.id != actor.id:
        raise Skip("Create of an object attributed to someone else")
    return fetched


async def apply_create(
    ctx: Context, session: AsyncSession, actor: Actor, activity: dict[str, Any], fetched: Fetched
) -> str:
    now = ctx.clock.now()
    interested = await _interested(session, fetched, activity)
    if not interested:
        return "ignored"  # nobody here follows, is addressed, or was replied to
    post = await store_post(session, fetched, now)
    if post is None:
        return "ignored"  # deleted before it arrived
    await file_items(
        session,
        [
            item(
                user_id=user_id,
                kind=kind,
                actor_id=actor.id,
                activity_uri=fetched.obj.id,
                now=now,
                remote_post_id=post.id,
            )
            for user_id, kind in interested.items()
        ],
    )
    return "filed"


# --- Update -------------------------------------------------------------------


async def prepare_update(ctx: Context, actor: Actor, activity: dict[str, Any]) -> Fetched | None:
    obj = activity.get("object")
    if isinstance(obj, dict) and obj.get("id") == actor.uri:
        return None  # an actor update; see inbound.on_actor_update
    if not isinstance(obj, dict) or not obj.get("updated"):
        # Mastodon applies only edits that say when they were made.
        raise Skip("Update without an updated time")
    fetched = await fetch_post(ctx, obj, actor)
    if fetched.author.id != actor.id:
        raise Skip("Update of someone else's object")
    return fetched


async def apply_update(
    ctx: Context, session: AsyncSession, actor: Actor, activity: dict[str, Any], fetched: Fetched
) -> str:
    post = (
        await session.execute(select(RemotePost).where(RemotePost.uri == fetched.obj.id))
    ).scalar_one_or_none()
    if post is None or post.author_id != actor.id:
        return "ignored"
    for name, value in _columns(fetched.obj, actor).items():
        setattr(post, name, value)
    post.edited_at = fetched.obj.updated or ctx.clock.now()
    return "edited"


# --- Delete -------------------------------------------------------------------


async def apply_delete(
    ctx: Context, session: AsyncSession, actor: Actor, activity: dict[str, Any]
) -> str:
    """Only an author deletes: someone else's post is left alone, and the tombstone of
    an unseen id only stops the deleting actor's own object (:func:`store_post`)."""
    object_id = id_of(activity.get("object"))
    if not isinstance(object_id, str) or not same_origin(object_id, actor.uri):
        return "ignored"
    post = (
        await session.execute(select(RemotePost).where(RemotePost.uri == object_id))
    ).scalar_one_or_none()
    if post is not None and post.author_id != actor.id:
        return "ignored"
    if await session.get(RemoteTombstone, (object_id, actor.id)) is None:
        session.add(RemoteTombstone(uri=object_id, actor_id=actor.id, deleted_at=ctx.clock.now()))
    if post is None:
        return "tombstoned"
    # Items in unsealed and sealed bundles go with the post (ON DELETE CASCADE).
    await session.execute(delete(RemotePost).where(RemotePost.id == post.id))
    return "deleted"


# --- Announce -----------------------------------------------------------------


@dataclass
class Boost:
    fetched: Fetched | None
    local_post_id: int | None


async def prepare_announce(ctx: Context, actor: Actor, activity: dict[str, Any]) -> Boost:
    object_id = id_of(activity.get("object"))
    async with ctx.db.sessions() as session:
        local = await _local_post(session, object_id)
        if local is not None:
            return Boost(None, local.id)
        if not await _users_following(session, [actor.id]):
            raise Skip("nobody here follows the booster")
    # A boosted post lives on its author's server: fetch it from there.
    return Boost(await fetch_post(ctx, object_id, None), None)


async def apply_announce(
    ctx: Context, session: AsyncSession, actor: Actor, activity: dict[str, Any], boost: Boost
) -> str:
    now = ctx.clock.now()
    if boost.local_post_id is not None:
        post = await session.get(Post, boost.local_post_id)
        if post is None:
            return "ignored"
        await file_items(
            session,
            [
                item(
                    user_id=post.user_id,
                    kind="share",
                    actor_id=actor.id,
                    activity_uri=activity["id"],
                    now=now,
                    local_post_id=post.id,
                )
            ],
        )
        return "filed"
    assert boost.fetched is not None
    obj = boost.fetched.obj
    followers = boost.fetched.author.followers_url
    if visibility(list(obj.to), list(obj.cc), followers) not in ("public", "unlisted"):
        return "ignored"  # only public posts can be boosted
    stored = await store_post(session, boost.fetched, now)
    if stored is None:
        return "ignored"
    await file_items(
        session,
        [
            item(
                user_id=user_id,
                kind="boost",
                actor_id=actor.id,
                activity_uri=activity["id"],
                now=now,
                remote_post_id=stored.id,
            )
            for user_id in await _users_following(session, [actor.id])
        ],
    )
    return "filed"


# --- Like and undo of content ---------------------------------------------------------


async def apply_like(
    ctx: Context, session: AsyncSession, actor: Actor, activity: dict[str, Any]
) -> str:
    post = await _local_post(session, id_of(activity.get("object")))
    if post is None:
        return "ignored"
    await file_items(
        session,
        [
            item(
                user_id=post.user_id,
                kind="like",
                actor_id=actor.id,
                activity_uri=activity["id"],
                now=ctx.clock.now(),
                local_post_id=post.id,
            )
        ],
    )
    return "filed"


async def undo_items(session: AsyncSession, actor: Actor, activity_uri: str) -> int:
    """Withdraw what an undone Like/Announce/Follow filed, sealed or not."""
    result = await session.execute(
        delete(InboundItem).where(
            InboundItem.activity_uri == activity_uri, InboundItem.actor_id == actor.id
        )
    )
    return int(result.rowcount or 0)
