"""Recording what delivery attempts did: outcomes written in batches.

A transaction per POST would cost more than the POST, so outcomes pile up
and one background task writes them, together with the hosts' delivery
health (slowpub.delivery.hosts). If the process dies, at most the requests whose
outcome was not yet written are sent again; receivers de-duplicate by
activity id.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam

from slowpub.context import Context
from slowpub.delivery import hosts
from slowpub.storage.models import Delivery

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Outcome:
    """What one attempt did; written to its row by :class:`OutcomeWriter`."""

    delivery_id: int
    host: str
    attempts: int
    status: int | None
    error: str | None
    state: str  # done, failed or pending (retry at next_attempt_at)
    next_attempt_at: datetime | None = None
    reachable: bool = False  # the host answered at all (any HTTP status)


class OutcomeWriter:
    """Collects outcomes and writes them in batches, with the hosts' health.

    ``add`` never waits for the database: once ``FLUSH_EVERY`` outcomes are
    pending, one background task writes them, one transaction at a time,
    taking everything that piled up meanwhile (so batches grow when the
    database is slow). ``flush`` waits for it and writes the rest; it raises
    the first error a background write hit (those rows stay leased and are
    retried when the lease runs out).
    """

    FLUSH_EVERY = 64

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.pending: list[Outcome] = []
        self._task: asyncio.Task[None] | None = None
        self._error: BaseException | None = None

    async def add(self, outcome: Outcome) -> None:
        self.add_nowait(outcome)

    def add_nowait(self, outcome: Outcome) -> None:
        self.pending.append(outcome)
        if len(self.pending) >= self.FLUSH_EVERY and self._task is None:
            self._task = asyncio.create_task(self._drain())

    async def _drain(self) -> None:
        try:
            while len(self.pending) >= self.FLUSH_EVERY:
                await self._write()
        except Exception as exc:  # reported by flush(); the loop must not die silently
            log.exception("writing delivery outcomes failed")
            self._error = self._error or exc
        finally:
            self._task = None

    async def flush(self) -> None:
        if self._task is not None:
            await asyncio.shield(self._task)
        await self._write()
        error, self._error = self._error, None
        if error is not None:
            raise error

    async def _write(self) -> None:
        batch, self.pending = self.pending, []
        if not batch:
            return
        now = self.ctx.clock.now()
        rows = [
            {
                "b_id": o.delivery_id,
                "state": o.state,
                "attempts": o.attempts,
                "last_status": o.status,
                "last_error": o.error,
                "next_attempt_at": o.next_attempt_at or now,
                "finished_at": now if o.state != "pending" else None,
                "locked_until": None,
                "locked_by": None,
            }
            for o in batch
        ]
        table = Delivery.__table__
        statement = (
            table.update()
            .where(table.c.id == bindparam("b_id"))
            .values(
                state=bindparam("state"),
                attempts=bindparam("attempts"),
                last_status=bindparam("last_status"),
                last_error=bindparam("last_error"),
                next_attempt_at=bindparam("next_attempt_at"),
                finished_at=bindparam("finished_at"),
                locked_until=bindparam("locked_until"),
                locked_by=bindparam("locked_by"),
            )
        )
        succeeded = {o.host for o in batch if o.state == "done"}
        failed = {o.host for o in batch if o.state != "done" and not o.reachable}
        async with self.ctx.db.transaction() as session:
            # Core executemany: one prepared UPDATE for the whole batch.
            connection = await session.connection()
            await connection.execute(statement, rows)
            troubled = await hosts.record(session, failed=failed, succeeded=succeeded, now=now)
        self.ctx.troubled_hosts |= troubled
        self.ctx.troubled_hosts -= succeeded
