"""Changing a user's settings, and telling followers when their profile changed.

Other servers show our users as the actor document they last received, so
whenever a change alters that document (display name, summary, locked; the
avatar once there is one) an Update carrying the whole document is queued
for every follower's shared inbox, in the same transaction as the change.
It leaves at once: a profile is not a post, and does not cool. A newer
Update supersedes an older one not yet sent, so rapid edits (a name, then
a summary) reach each server as one Update, and a retried old Update can
never land after a newer one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, or_
from sqlalchemy.ext.asyncio import AsyncSession

from slowpub.context import Context
from slowpub.delivery.sending import add_deliveries
from slowpub.outbound.activities import update_actor
from slowpub.outbound.audience import follower_inboxes
from slowpub.social.accounts import require_user
from slowpub.social.documents import person
from slowpub.social.settings import apply_setting
from slowpub.storage.models import Delivery, User


async def change_settings(
    ctx: Context, username: str, changes: Mapping[str, str]
) -> tuple[User, dict[str, Any] | None]:
    """Apply ``slowpub user set`` settings, all or none (SettingError, AccountError).

    Returns the user and the Update queued for followers, if the actor
    document changed.
    """
    update: dict[str, Any] | None = None
    async with ctx.db.transaction() as session:
        user = await require_user(session, username)
        before = person(ctx.settings, user)
        for key, value in changes.items():
            apply_setting(user, key, value)
        if person(ctx.settings, user) != before:
            update = await queue_profile_update(ctx, session, user)
    if update is not None:
        ctx.wakeups.deliveries.set()
    return user, update


async def queue_profile_update(ctx: Context, session: AsyncSession, user: User) -> dict[str, Any]:
    """Queue an Update of ``user``'s actor for its followers' inboxes; returns it."""
    now = ctx.clock.now()
    activity = update_actor(person(ctx.settings, user))
    # Superseded: older profile Updates still waiting (not being sent right
    # now: a claimed row has a live lease).
    await session.execute(
        delete(Delivery).where(
            Delivery.user_id == user.id,
            Delivery.activity_type == "Update",
            Delivery.activity_uri.startswith(user.actor.uri + "#updates/", autoescape=True),
            Delivery.state == "pending",
            or_(Delivery.locked_until.is_(None), Delivery.locked_until < now),
        )
    )
    inboxes = sorted(await follower_inboxes(session, user))
    await add_deliveries(session, user=user, activity=activity, inboxes=inboxes, now=now)
    return activity
