"""Claiming rows of durable work: the one place leases are taken.

Work is rows (deliveries, inbound activities, later cooling posts). A worker
claims a batch by setting ``locked_until``; a crashed worker's lease simply
runs out and another takes the rows over. On PostgreSQL the candidate rows
are read ``FOR UPDATE SKIP LOCKED`` so concurrent workers never wait on each
other; on SQLite the single writer makes the guarded UPDATE atomic.

:func:`claim_by_turns` takes hosts in turn instead of oldest first, so one
sender's backlog cannot hold another sender's activity back by more than the
batch already being processed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update

from slowpub.storage.engine import Database

LEASE = timedelta(minutes=5)


async def claim(
    db: Database, model: Any, now: datetime, limit: int, lease: timedelta = LEASE
) -> list[int]:
    free = or_(model.locked_until.is_(None), model.locked_until < now)
    async with db.transaction() as session:
        query = (
            select(model.id)
            .where(model.state == "pending", model.next_attempt_at <= now, free)
            .order_by(model.next_attempt_at, model.id)
            .limit(limit)
        )
        if not db.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        ids = list((await session.execute(query)).scalars())
        if not ids:
            return []
        claimed = await session.execute(
            update(model)
            .where(model.id.in_(ids), free)
            .values(locked_until=now + lease)
            .returning(model.id)
        )
        return sorted(claimed.scalars())


async def claim_by_turns(
    db: Database, model: Any, group: Any, now: datetime, limit: int, lease: timedelta = LEASE
) -> list[int]:
    """Claim due rows in turns over ``group``: every group's oldest, then every
    group's second oldest, and so on; within a turn, the group with the least
    due goes first. Returns the ids in that order (within a group, oldest first).

    The claim keeps no memory between batches, so a turn's order must not
    favour old backlogs: by age alone, hosts whose backlog began earlier would
    fill every batch smaller than the number of hosts. Least-due-first puts a
    host with one activity ahead of any flood, whatever the batch size.
    """
    free = or_(model.locked_until.is_(None), model.locked_until < now)
    turn = func.row_number().over(partition_by=group, order_by=model.id).label("turn")
    due = func.count().over(partition_by=group).label("due")
    ranked = (
        select(model.id.label("id"), turn, due)
        .where(model.state == "pending", model.next_attempt_at <= now, free)
        .subquery()
    )
    async with db.transaction() as session:
        query = select(ranked.c.id).order_by(ranked.c.turn, ranked.c.due, ranked.c.id).limit(limit)
        ids = list((await session.execute(query)).scalars())
        if not ids:
            return []
        if not db.is_sqlite:
            # A window function cannot be read FOR UPDATE: lock the chosen rows
            # afterwards, skipping those another worker is claiming right now.
            lock = select(model.id).where(model.id.in_(ids)).with_for_update(skip_locked=True)
            ids_locked = set((await session.execute(lock)).scalars())
            ids = [i for i in ids if i in ids_locked]
        claimed = await session.execute(
            update(model)
            .where(model.id.in_(ids), free)
            .values(locked_until=now + lease)
            .returning(model.id)
        )
        taken = set(claimed.scalars())
        return [i for i in ids if i in taken]
