"""Who receives what we send: the one audience resolver.

Followers are reached through their shared inbox when they have one, so a
post to 10,000 followers on 1,000 servers is 1,000 deliveries. Local
recipients are not delivered over HTTP.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from slowpub.storage.models import Actor, Follow, User


async def follower_inboxes(session: AsyncSession, user: User) -> set[str]:
    inbox = func.coalesce(Actor.shared_inbox, Actor.inbox)
    query = (
        select(inbox)
        .join(Follow, Follow.follower_id == Actor.id)
        .where(
            Follow.followed_id == user.actor_id,
            Follow.state == "accepted",
            Actor.local.is_(False),
        )
        .distinct()
    )
    return set((await session.execute(query)).scalars())


async def actor_inboxes(session: AsyncSession, actor_uris: Iterable[str]) -> set[str]:
    uris = sorted(set(actor_uris))
    if not uris:
        return set()
    inbox = func.coalesce(Actor.shared_inbox, Actor.inbox)
    query = select(inbox).where(Actor.uri.in_(uris), Actor.local.is_(False))
    return set((await session.execute(query)).scalars())


async def inboxes(
    session: AsyncSession, user: User, *, followers: bool, actors: Iterable[str] = ()
) -> list[str]:
    targets = await actor_inboxes(session, actors)
    if followers:
        targets |= await follower_inboxes(session, user)
    return sorted(targets)
