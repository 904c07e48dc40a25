"""When a new, edited or restarted item of a user's leaves.

The pure rules (cooling-off, quiet hours, the daily limit) are in
:mod:`slowpub.outbound.policy`; this module feeds them the user's settings
and counts the releases already planned, inside the caller's transaction so
two posts written at once cannot both take the day's last slot unseen.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from slowpub.context import Context
from slowpub.outbound.policy import LIMITED_KINDS, parse_quiet_hours, parse_timezone, release_time
from slowpub.storage.models import QueueItem, User


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
