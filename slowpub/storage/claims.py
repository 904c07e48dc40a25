"""Claiming rows of durable work: the one place leases are taken.

Work is rows (deliveries, inbound activities, later cooling posts). A worker
claims a batch by setting ``locked_until`` and, when it is a registered
worker, ``locked_by`` (its ``lease_owners`` row): a crashed worker's leases
are released as soon as another worker sees it is gone (``lease_owners``);
a lease without an owner (a CLI command's) simply runs out. On PostgreSQL the candidate rows
are read ``FOR UPDATE SKIP LOCKED`` so concurrent workers never wait on each
other; on SQLite the single writer makes the guarded UPDATE atomic.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update

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
