"""Retention: deleting finished durable work once it is old enough.

Processed inbound activities keep their whole body, and finished deliveries
the whole activity they sent; kept forever they grow the database by every
byte anyone ever sent us. Nothing refers to either once it is finished: a
bundle holds its own items (``inbound_items`` pointing at ``remote_posts``
and actors), not the activities they came from, and ``slowpub deliveries``
only lists recent work. What goes after the retention period:

* inbound activities ``done``, ``ignored`` or ``failed``, processed before
  the cut-off (so a redelivery of an id older than that is taken as new;
  senders give up retrying after days, not weeks);
* deliveries ``done`` or ``failed`` (given up), finished before the cut-off.

Pending work is never touched, however old. Each call deletes at most
``batch`` rows of each table, in its own short transaction, so a large
first pruning never holds SQLite's write lock for long.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select

from slowpub.storage.engine import Database
from slowpub.storage.models import Delivery, InboundActivity

BATCH = 500
INBOUND_FINISHED = ("done", "ignored", "failed")
DELIVERY_FINISHED = ("done", "failed")


async def prune(db: Database, before: datetime, batch: int = BATCH) -> int:
    """Delete up to ``batch`` finished rows of each kind older than ``before``.

    Returns how many rows went; fewer than ``2 * batch`` means nothing old is
    left (for now).
    """
    # A finished row was claimed at or after its next_attempt_at, so the
    # condition on it excludes nothing and lets the (state, next_attempt_at)
    # index find the rows.
    inbound = (
        select(InboundActivity.id)
        .where(
            InboundActivity.state.in_(INBOUND_FINISHED),
            InboundActivity.next_attempt_at < before,
            InboundActivity.processed_at < before,
        )
        .limit(batch)
    )
    deliveries = (
        select(Delivery.id)
        .where(
            Delivery.state.in_(DELIVERY_FINISHED),
            Delivery.next_attempt_at < before,
            Delivery.finished_at < before,
        )
        .limit(batch)
    )
    removed = 0
    for model, chosen in ((InboundActivity, inbound), (Delivery, deliveries)):
        async with db.transaction() as session:
            ids = list((await session.execute(chosen)).scalars())
            if ids:
                await session.execute(delete(model).where(model.id.in_(ids)))
                removed += len(ids)
    return removed
