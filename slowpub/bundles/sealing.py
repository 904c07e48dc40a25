"""Sealing the daily bundle: everything unsealed for a user, once a day at their time.

Each user has a ``bundle_time`` in their ``timezone``; ``users.next_seal_at``
holds the next such moment in UTC. The worker seals every user whose moment
has passed and moves the moment to the next occurrence after *now*, so a
server that was down at bundle time seals once when it comes back (nothing
lost, nothing doubled). A guarded UPDATE of ``next_seal_at`` makes two
workers unable to seal the same day twice. An empty day makes no bundle.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from slowpub.context import Context
from slowpub.outbound.policy import PolicyError, parse_timezone
from slowpub.storage.models import Bundle, InboundItem, User

_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")


def parse_bundle_time(text: str) -> time:
    match = _TIME.match(text.strip())
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise PolicyError(f"{text!r} is not a time of day like 07:00")
    return time(int(match.group(1)), int(match.group(2)))


def next_occurrence(after: datetime, at: time, tz_name: str) -> datetime:
    """The first moment strictly after ``after`` when it is ``at`` in ``tz_name`` (UTC)."""
    tz = parse_timezone(tz_name)
    local = after.astimezone(tz)
    for days in range(3):
        # A time inside a DST gap converts to the moment after the gap, as clocks do.
        moment = datetime.combine(local.date() + timedelta(days=days), at, tzinfo=tz).astimezone(
            UTC
        )
        if moment > after:
            return moment
    raise AssertionError("unreachable: a time of day recurs within two days")


def schedule_user(user: User, now: datetime) -> None:
    """Recompute the user's next seal after a change of bundle time or timezone."""
    user.next_seal_at = next_occurrence(now, parse_bundle_time(user.bundle_time), user.timezone)


async def seal(ctx: Context, session: AsyncSession, user: User, now: datetime) -> Bundle | None:
    """Seal the user's unsealed items into a new bundle, inside the caller's transaction."""
    unsealed = InboundItem.user_id == user.id, InboundItem.bundle_id.is_(None)
    count = (
        await session.execute(select(func.count(InboundItem.id)).where(*unsealed))
    ).scalar_one()
    if not count:
        return None  # an empty day: no bundle, no mail
    local_date = now.astimezone(parse_timezone(user.timezone)).date().isoformat()
    mail = "pending" if (ctx.settings.smtp_url and user.email) else "none"
    bundle = Bundle(
        user_id=user.id,
        sealed_at=now,
        local_date=local_date,
        mail_state=mail,
        mail_attempts=0,
        mail_next_attempt_at=now if mail == "pending" else None,
    )
    session.add(bundle)
    await session.flush()
    await session.execute(update(InboundItem).where(*unsealed).values(bundle_id=bundle.id))
    return bundle


async def seal_now(ctx: Context, username: str) -> Bundle | None:
    """``slowpub bundle seal``: seal whatever is waiting, whatever the hour."""
    from slowpub.social.accounts import require_user

    async with ctx.db.transaction() as session:
        user = await require_user(session, username)
        bundle = await seal(ctx, session, user, ctx.clock.now())
    if bundle is not None and bundle.mail_state == "pending":
        ctx.wakeups.mail.set()
    return bundle


async def seal_due(ctx: Context) -> int:
    """Seal every user whose bundle time has passed; returns bundles made."""
    now = ctx.clock.now()
    made = 0
    async with ctx.db.sessions() as session:
        unscheduled = list(
            (await session.execute(select(User.id).where(User.next_seal_at.is_(None)))).scalars()
        )
        due = list(
            (
                await session.execute(
                    select(User.id, User.next_seal_at).where(User.next_seal_at <= now)
                )
            ).all()
        )
    for user_id in unscheduled:
        async with ctx.db.transaction() as session:
            user = await session.get(User, user_id)
            if user is not None and user.next_seal_at is None:
                schedule_user(user, now)
    for user_id, scheduled in due:
        async with ctx.db.transaction() as session:
            user = await session.get(User, user_id)
            if user is None:
                continue
            following = next_occurrence(now, parse_bundle_time(user.bundle_time), user.timezone)
            claimed = await session.execute(
                update(User)
                .where(User.id == user_id, User.next_seal_at == scheduled)
                .values(next_seal_at=following)
            )
            if claimed.rowcount != 1:
                continue  # another worker sealed this one
            if await seal(ctx, session, user, now) is not None:
                made += 1
    if made:
        ctx.wakeups.mail.set()
    return made
