"""The social graph: following, being followed, approving requests.

The CLI, the inbox processor and (later) the client APIs all change follows
through these functions, which write the follow row and the activity to send
in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from slowpub.context import Context
from slowpub.delivery.sending import add_delivery
from slowpub.inbound.remote_actors import resolve_account
from slowpub.outbound import activities
from slowpub.social.accounts import AccountError, require_user
from slowpub.storage.models import Actor, Follow, User


class FollowError(ValueError):
    """A follow operation that cannot be done; the message says why."""


@dataclass
class FollowView:
    handle: str
    uri: str
    state: str
    since: str

    def as_json(self) -> dict[str, str]:
        return {"account": self.handle, "uri": self.uri, "state": self.state, "since": self.since}


async def _pair(session: AsyncSession, follower_id: int, followed_id: int) -> Follow | None:
    query = select(Follow).where(
        Follow.follower_id == follower_id, Follow.followed_id == followed_id
    )
    return (await session.execute(query)).scalar_one_or_none()


async def follow(ctx: Context, username: str, account: str) -> Follow:
    """``username`` follows ``account``; pending until the other side accepts."""
    async with ctx.db.sessions() as session:
        await require_user(session, username)  # before any network lookup
    target = await resolve_account(ctx, account)
    async with ctx.db.transaction() as session:
        user = await require_user(session, username)
        row = await follow_in_session(ctx, session, user, target)
    ctx.wakeups.deliveries.set()
    return row


async def follow_in_session(
    ctx: Context, session: AsyncSession, user: User, target: Actor
) -> Follow:
    """The follow itself, inside the caller's transaction (also used for Move)."""
    now = ctx.clock.now()
    if target.id == user.actor_id:
        raise FollowError("an account cannot follow itself")
    existing = await _pair(session, user.actor_id, target.id)
    if existing is not None and existing.state == "accepted":
        return existing
    follow_id = activities.new_id(user.actor.uri, "follows")
    if existing is None:
        existing = Follow(
            follower_id=user.actor_id,
            followed_id=target.id,
            uri=follow_id,
            state="pending",
            created_at=now,
            updated_at=now,
        )
        session.add(existing)
    else:
        # Asking again (say the first Follow was lost) sends a new Follow.
        existing.uri = follow_id
        existing.updated_at = now
    await session.flush()
    if target.local:
        await _local_follow(ctx, session, existing, target)
    else:
        activity = activities.follow(user.actor.uri, target.uri, follow_id)
        add_delivery(session, user=user, activity=activity, inbox=target.inbox, now=now)
    return existing


async def _local_follow(ctx: Context, session: AsyncSession, row: Follow, target: Actor) -> None:
    """Both ends are ours: no HTTP, the target's policy applies directly."""
    if not target.manually_approves_followers:
        row.state = "accepted"
        row.updated_at = ctx.clock.now()


async def unfollow(ctx: Context, username: str, account: str) -> None:
    target = await resolve_account(ctx, account)
    now = ctx.clock.now()
    async with ctx.db.transaction() as session:
        user = await require_user(session, username)
        row = await _pair(session, user.actor_id, target.id)
        if row is None:
            raise FollowError(f"{username} does not follow {target.handle}")
        if not target.local:
            inner = activities.follow(user.actor.uri, target.uri, row.uri)
            add_delivery(
                session,
                user=user,
                activity=activities.undo(user.actor.uri, inner),
                inbox=target.inbox,
                now=now,
            )
        await session.delete(row)
    ctx.wakeups.deliveries.set()


async def receive_follow(
    ctx: Context, session: AsyncSession, user: User, follower: Actor, activity: dict[str, Any]
) -> Follow:
    """A remote Follow of a local user: accept at once unless the user approves by hand."""
    now = ctx.clock.now()
    row = await _pair(session, follower.id, user.actor_id)
    if row is None:
        row = Follow(
            follower_id=follower.id,
            followed_id=user.actor_id,
            uri=activity["id"],
            state="pending",
            created_at=now,
            updated_at=now,
        )
        session.add(row)
    else:
        # Mastodon re-sends Follow when it believes it is not following; it
        # waits for an Accept of the new id, so always answer the latest one.
        row.uri = activity["id"]
        row.updated_at = now
    await session.flush()
    if row.state == "accepted" or not user.actor.manually_approves_followers:
        row.state = "accepted"
        _answer(session, user, follower, activity, "Accept", now)
    return row


def _answer(
    session: AsyncSession,
    user: User,
    follower: Actor,
    follow_activity: dict[str, Any],
    kind: str,
    now: Any,
) -> None:
    answer = activities.answer_follow(kind, user.actor.uri, follow_activity)
    add_delivery(session, user=user, activity=answer, inbox=follower.inbox, now=now)


async def decide_request(
    ctx: Context, username: str, account: str, *, accept: bool
) -> Follow | None:
    """Approve or refuse a pending follow request of ``username``."""
    requester = await resolve_account(ctx, account)
    now = ctx.clock.now()
    async with ctx.db.transaction() as session:
        user = await require_user(session, username)
        row = await _pair(session, requester.id, user.actor_id)
        if row is None or row.state != "pending":
            raise FollowError(f"no pending follow request from {requester.handle}")
        follow_activity = activities.follow(requester.uri, user.actor.uri, row.uri)
        if not requester.local:
            _answer(
                session, user, requester, follow_activity, "Accept" if accept else "Reject", now
            )
        if accept:
            row.state = "accepted"
            row.updated_at = now
        else:
            await session.delete(row)
    ctx.wakeups.deliveries.set()
    return row if accept else None


async def remove_follow_by_uri(session: AsyncSession, uri: str) -> Follow | None:
    row = (await session.execute(select(Follow).where(Follow.uri == uri))).scalar_one_or_none()
    if row is not None:
        await session.delete(row)
    return row


async def remove_pair(session: AsyncSession, follower_id: int, followed_id: int) -> bool:
    result = await session.execute(
        delete(Follow).where(Follow.follower_id == follower_id, Follow.followed_id == followed_id)
    )
    return bool(result.rowcount)


async def list_follows(
    ctx: Context, username: str, *, direction: str, state: str | None = None
) -> list[FollowView]:
    """``direction`` is ``following`` (whom the user follows) or ``followers``."""
    async with ctx.db.sessions() as session:
        try:
            user = await require_user(session, username)
        except AccountError:
            raise
        column = Follow.follower_id if direction == "following" else Follow.followed_id
        query = select(Follow).where(column == user.actor_id).order_by(Follow.created_at, Follow.id)
        if state is not None:
            query = query.where(Follow.state == state)
        rows = list((await session.execute(query)).scalars())
    views = []
    for row in rows:
        other = row.followed if direction == "following" else row.follower
        views.append(FollowView(other.handle, other.uri, row.state, row.created_at.isoformat()))
    return views
