"""Claiming rows of durable work: the one place leases are taken.

Work is rows (deliveries, inbound activities, later cooling posts). A worker
claims a batch by setting ``locked_until`` and, when it is a registered
worker, ``locked_by`` (its ``lease_owners`` row): a crashed worker's leases
are released as soon as another worker sees it is gone (``lease_owners``);
a lease without an owner (a CLI command's) simply runs out. On PostgreSQL the candidate rows
are read ``FOR UPDATE SKIP LOCKED`` so concurrent workers never wait on each
other; on SQLite the single writer makes the guarded UPDATE atomic.

:func:`claim_by_turns` takes hosts in turn instead of oldest first, so one
sender's backlog cannot hold another sender's activity back by more than the
batch already being processed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, union_all, update

from slowpub.storage.engine import Database

LEASE = timedelta(minutes=5)


async def claim(
    db: Database,
    model: Any,
    now: datetime,
    limit: int,
    lease: timedelta = LEASE,
    owner: str | None = None,
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
            .values(locked_until=now + lease, locked_by=owner)
            .returning(model.id)
        )
        return sorted(claimed.scalars())


async def claim_by_turns(
    db: Database,
    model: Any,
    group: Any,
    now: datetime,
    limit: int,
    lease: timedelta = LEASE,
    owner: str | None = None,
) -> list[int]:
    """Claim due rows in turns over ``group``: every group's oldest, then every
    group's second oldest, and so on; the groups with least due go first, and
    only the ``limit`` of them with least due when there are more.
    Returns the ids in that order (within a group by ``next_attempt_at``, then
    id: arrival order, a retry waiting its turn, as in :func:`claim`).

    The claim keeps no memory between batches, so a turn's order must not
    favour old backlogs: by age alone, hosts whose backlog began earlier would
    fill every batch smaller than the number of hosts. Least-due-first puts a
    host with one activity ahead of any flood, whatever the batch size.

    Cost: one count per group over the ``(state, group, next_attempt_at, id)``
    index, then one short read of that index per group taken (a single UNION
    ALL), never a sort of the whole backlog (a window function over 10,000
    pending rows took ten times as long as the plain claim). Each group gets an equal share of the
    batch, so the batch may come back smaller than ``limit`` when some group
    has less than its share; the worker simply claims again.
    """
    free = or_(model.locked_until.is_(None), model.locked_until < now)
    due = func.count().label("due")
    # Due rows only (a group whose rows all wait for a retry must not take a
    # place), read from the index alone. Rows another worker holds still
    # count: with more groups than ``limit`` that can make a claim come back
    # short or empty, and the worker claims again at its next poll.
    groups_query = (
        select(group, due)
        .where(model.state == "pending", model.next_attempt_at <= now)
        .group_by(group)
        .order_by(due, group)
        .limit(limit)
    )
    async with db.transaction() as session:
        groups = [g for g, _ in (await session.execute(groups_query)).all()]
        if not groups:
            return []
        share = -(-limit // len(groups))
        heads = [
            select(model.id, group, model.next_attempt_at)
            .where(model.state == "pending", group == name, model.next_attempt_at <= now, free)
            .order_by(model.next_attempt_at, model.id)
            .limit(share)
            .subquery()
            for name in groups
        ]
        query = union_all(
            *(
                select(head.c.id, head.c[group.key], head.c.next_attempt_at).order_by()
                for head in heads
            )
        )
        by_group: dict[Any, list[tuple[datetime, int]]] = {name: [] for name in groups}
        for row_id, name, due in (await session.execute(query)).all():
            by_group[name].append((due, row_id))
        for found in by_group.values():
            found.sort()
        ids = [
            found[turn][1]
            for turn in range(share)
            for found in by_group.values()
            if turn < len(found)
        ]
        if not ids:
            return []
        if not db.is_sqlite:
            # Lock the chosen rows, skipping those another worker is claiming now.
            lock = select(model.id).where(model.id.in_(ids)).with_for_update(skip_locked=True)
            locked = set((await session.execute(lock)).scalars())
            ids = [i for i in ids if i in locked]
        claimed = await session.execute(
            update(model)
            .where(model.id.in_(ids), free)
            .values(locked_until=now + lease, locked_by=owner)
            .returning(model.id)
        )
        taken = set(claimed.scalars())
        return [i for i in ids if i in taken]
