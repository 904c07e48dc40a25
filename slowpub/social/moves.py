"""Account moves: when someone a local user follows moves, the follow moves with them.

Mastodon's rule: a Move is honoured only if the new account names the old one
in ``alsoKnownAs`` (so nobody can redirect someone else's followers).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.vocab import as_list, id_of
from slowpub.context import Context
from slowpub.delivery.sending import add_delivery
from slowpub.inbound.intake import Skip
from slowpub.inbound.items import file_items, item
from slowpub.inbound.remote_actors import ActorError, fetch_actor
from slowpub.outbound import activities
from slowpub.social.follows import follow_in_session
from slowpub.storage.models import Actor, Follow, User


async def prepare_move(ctx: Context, actor: Actor, activity: dict[str, Any]) -> Actor:
    if id_of(activity.get("object")) not in (None, actor.uri):
        raise Skip("a Move of someone else")
    target_uri = id_of(activity.get("target"))
    if not isinstance(target_uri, str):
        raise Skip("a Move without a target")
    try:
        target = await fetch_actor(ctx, target_uri, refresh=True)
    except ActorError as exc:
        raise Skip(str(exc)) from exc
    aliases = {id_of(a) for a in as_list(json.loads(target.raw or "{}").get("alsoKnownAs"))}
    if actor.uri not in aliases:
        raise Skip("the new account does not name the old one in alsoKnownAs")
    return target


async def apply_move(
    ctx: Context, session: AsyncSession, actor: Actor, activity: dict[str, Any], target: Actor
) -> str:
    now = ctx.clock.now()
    query = (
        select(User, Follow)
        .join(Follow, Follow.follower_id == User.actor_id)
        .where(Follow.followed_id == actor.id)
    )
    moved = 0
    for user, old in (await session.execute(query)).all():
        await follow_in_session(ctx, session, user, target)
        undo = activities.undo(
            user.actor.uri, activities.follow(user.actor.uri, actor.uri, old.uri)
        )
        add_delivery(session, user=user, activity=undo, inbox=actor.inbox, now=now)
        await session.delete(old)
        await file_items(
            session,
            [
                item(
                    user_id=user.id,
                    kind="move",
                    actor_id=target.id,
                    activity_uri=activity["id"],
                    now=now,
                )
            ],
        )
        moved += 1
    return "moved" if moved else "ignored"
