"""Processing stored inbound activities: what each activity type does to us.

Runs in the workers on rows that :mod:`slowpub.inbound.accept` stored. A handler that
fails is retried with backoff and finally marked ``failed`` with its error;
an activity we do not act on is marked ``ignored``, never an error.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.vocab import id_of
from slowpub import urls
from slowpub.context import Context
from slowpub.inbound import intake
from slowpub.inbound.items import file_items, item
from slowpub.inbound.remote_actors import ActorError, cached_actor, fetch_actor, parse_actor
from slowpub.social import moves
from slowpub.social.follows import receive_follow, remove_follow_by_uri, remove_pair
from slowpub.storage.claims import claim_by_turns
from slowpub.storage.models import Actor, Follow, InboundActivity, User

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8


Apply = Callable[[Context, AsyncSession, Actor, dict[str, Any], Any], Awaitable[str]]
Prepare = Callable[[Context, Actor, dict[str, Any]], Awaitable[Any]]


async def _local_user(ctx: Context, session: AsyncSession, uri: str | None) -> User | None:
    name = urls.username_from_actor(ctx.settings, uri or "")
    if name is None:
        return None
    return (await session.execute(select(User).where(User.username == name))).scalar_one_or_none()


async def on_follow(
    ctx: Context, session: AsyncSession, actor: Actor, activity: dict[str, Any], prepared: Any
) -> str:
    user = await _local_user(ctx, session, id_of(activity["object"]))
    if user is None:
        return "ignored"
    row = await receive_follow(ctx, session, user, actor, activity)
    kind = "follow" if row.state == "accepted" else "follow_request"
    await file_items(
        session,
        [
            item(
                user_id=user.id,
                kind=kind,
                actor_id=actor.id,
                activity_uri=activity["id"],
                now=ctx.clock.now(),
            )
        ],
    )
    return row.state


async def _follow_from(session: AsyncSession, obj: Any) -> Follow | None:
    """The follow an Accept/Reject/Undo points at: by the Follow's id, else by its pair."""
    follow_id = id_of(obj)
    if follow_id:
        row = (
            await session.execute(select(Follow).where(Follow.uri == follow_id))
        ).scalar_one_or_none()
        if row is not None:
            return row
    if isinstance(obj, dict):
        follower = id_of(obj.get("actor"))
        followed = id_of(obj.get("object"))
        if follower and followed:
            a = (await session.execute(select(Actor.id).where(Actor.uri == follower))).scalar()
            b = (await session.execute(select(Actor.id).where(Actor.uri == followed))).scalar()
            if a is not None and b is not None:
                query = select(Follow).where(Follow.follower_id == a, Follow.followed_id == b)
                return (await session.execute(query)).scalar_one_or_none()
    return None


async def on_accept(
    ctx: Context, session: AsyncSession, actor: Actor, activity: dict[str, Any], prepared: Any
) -> str:
    row = await _follow_from(session, activity["object"])
    # Only the followed account may accept, and only our own follows.
    if row is None or row.followed_id != actor.id or not row.follower.local:
        return "ignored"
    row.state = "accepted"
    row.updated_at = ctx.clock.now()
    return "accepted"


async def on_reject(
    ctx: Context, session: AsyncSession, actor: Actor, activity: dict[str, Any], prepared: Any
) -> str:
    row = await _follow_from(session, activity["object"])
    if row is None or row.followed_id != actor.id:
        return "ignored"
    await session.delete(row)
    return "rejected"


async def on_undo(
    ctx: Context, session: AsyncSession, actor: Actor, activity: dict[str, Any], prepared: Any
) -> str:
    obj = activity["object"]
    inner_type = obj.get("type") if isinstance(obj, dict) else None
    if inner_type == "Accept" and isinstance(obj, dict):
        # Undo{Accept{Follow}}: the followed account revokes our follow.
        row = await _follow_from(session, obj.get("object"))
        if row is not None and row.followed_id == actor.id and row.follower.local:
            await remove_follow_by_uri(session, row.uri)
            return "follow revoked"
        return "ignored"
    if inner_type in ("Like", "Announce", "EmojiReact") or (
        inner_type is None and not await _follow_from(session, obj)
    ):
        inner_id = id_of(obj)
        removed = await intake.undo_items(session, actor, inner_id) if inner_id else 0
        return "withdrawn" if removed else "ignored"
    row = await _follow_from(session, obj)
    if row is not None and row.follower_id == actor.id and inner_type in (None, "Follow"):
        await intake.undo_items(session, actor, row.uri)
        await remove_follow_by_uri(session, row.uri)
        return "unfollowed"
    return "ignored"


async def on_block(
    ctx: Context, session: AsyncSession, actor: Actor, activity: dict[str, Any], prepared: Any
) -> str:
    user = await _local_user(ctx, session, id_of(activity["object"]))
    if user is None:
        return "ignored"
    # A block ends the relationship both ways, as on Mastodon.
    await remove_pair(session, actor.id, user.actor_id)
    await remove_pair(session, user.actor_id, actor.id)
    return "blocked"


async def on_delete(
    ctx: Context, session: AsyncSession, actor: Actor, activity: dict[str, Any], prepared: Any
) -> str:
    if id_of(activity["object"]) != actor.uri:
        return await intake.apply_delete(ctx, session, actor, activity)
    await session.delete(actor)  # follows, posts and items go with it (ON DELETE CASCADE)
    return "actor deleted"


async def on_update(
    ctx: Context, session: AsyncSession, actor: Actor, activity: dict[str, Any], prepared: Any
) -> str:
    if prepared is not None:
        return await intake.apply_update(ctx, session, actor, activity, prepared)
    obj = activity["object"]
    if not isinstance(obj, dict) or obj.get("id") != actor.uri:
        return "ignored"
    try:
        fields = parse_actor(obj)
    except ActorError:
        return "ignored"
    for name, value in fields.items():
        setattr(actor, name, value)
    actor.fetched_at = ctx.clock.now()
    return "actor updated"


async def _apply_like(
    ctx: Context, session: AsyncSession, actor: Actor, activity: dict[str, Any], prepared: Any
) -> str:
    return await intake.apply_like(ctx, session, actor, activity)


@dataclass(frozen=True)
class Handler:
    """``prepare`` does network work before the transaction; ``apply`` runs inside it."""

    apply: Apply
    prepare: Prepare | None = None


HANDLERS: dict[str, Handler] = {
    "Follow": Handler(on_follow),
    "Accept": Handler(on_accept),
    "Reject": Handler(on_reject),
    "Undo": Handler(on_undo),
    "Block": Handler(on_block),
    "Delete": Handler(on_delete),
    "Update": Handler(on_update, intake.prepare_update),
    "Create": Handler(intake.apply_create, intake.prepare_create),
    "Announce": Handler(intake.apply_announce, intake.prepare_announce),
    "Like": Handler(_apply_like),
    "EmojiReact": Handler(_apply_like),
    "Move": Handler(moves.apply_move, moves.prepare_move),
}


async def _process(ctx: Context, row: InboundActivity) -> None:
    activity = json.loads(row.body)
    handler = HANDLERS.get(row.activity_type)
    now = ctx.clock.now()
    outcome = "ignored"
    error: str | None = None
    note: str | None = None
    if handler is not None:
        try:
            if row.activity_type == "Delete" and id_of(activity["object"]) == row.actor_uri:
                # The account is gone: its document cannot be fetched any more.
                actor = await cached_actor(ctx, row.actor_uri)
            else:
                actor = await fetch_actor(ctx, row.actor_uri)
            if actor is None:
                raise intake.Skip("an unknown account deleted itself")
            prepared = await handler.prepare(ctx, actor, activity) if handler.prepare else None
            async with ctx.db.transaction() as session:
                local_actor = await session.get(Actor, actor.id)
                if local_actor is None:
                    raise ActorError(f"actor {row.actor_uri} vanished")
                outcome = await handler.apply(ctx, session, local_actor, activity, prepared)
        except intake.Skip as exc:
            outcome, note = "ignored", str(exc)[:500]
        except Exception as exc:  # a bad activity must not stop the worker
            log.exception("processing %s %s failed", row.activity_type, row.uri)
            error = f"{type(exc).__name__}: {exc}"[:500]
    async with ctx.db.transaction() as session:
        stored = await session.get(InboundActivity, row.id)
        if stored is None:
            return
        stored.attempts += 1
        stored.locked_until = None
        stored.locked_by = None
        if error is None:
            stored.state = "ignored" if outcome == "ignored" else "done"
            stored.processed_at = now
            stored.error = note
            if outcome == "ignored":
                # Nothing was filed: the body is of no further use, and kept
                # it would let any host fill the disk at processing speed
                # with activities nobody here asked for. The row (its uri)
                # stays, so a redelivery is still recognised.
                stored.body = ""
        elif stored.attempts >= MAX_ATTEMPTS:
            stored.state = "failed"
            stored.error = error
            stored.processed_at = now
        else:
            stored.error = error
            stored.next_attempt_at = now + timedelta(seconds=15 * 4**stored.attempts)
    if outcome != "ignored" and error is None:
        ctx.wakeups.deliveries.set()


async def process_due(ctx: Context, limit: int = 100) -> int:
    """Process one batch, taking sending hosts in turn.

    A host with thousands waiting gets its share of the batch like any
    other (:func:`slowpub.storage.claims.claim_by_turns`), so a single
    activity from another host waits at most for the batch being processed.
    Within a host, in arrival order: a Follow then its Undo must not be
    swapped.
    """
    ids = await claim_by_turns(
        ctx.db,
        InboundActivity,
        InboundActivity.sender_host,
        ctx.clock.now(),
        limit,
        owner=ctx.lease_owner,
    )
    if not ids:
        return 0
    async with ctx.db.sessions() as session:
        query = select(InboundActivity).where(InboundActivity.id.in_(ids))
        by_id = {row.id: row for row in (await session.execute(query)).scalars()}
    rows = [by_id[i] for i in ids if i in by_id]
    for row in rows:
        await _process(ctx, row)
    return len(rows)
