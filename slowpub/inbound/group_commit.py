"""Grouped commits for the inbox: many requests share one transaction.

An inbox must not answer 202 before the activity is committed (or a crash
would lose what the sender considers delivered), but a transaction per
request caps ingest at a few hundred per second (shared/PERFORMANCE.md).
Here each request hands its row to one writer task and waits; the writer
commits everything that queued up while the previous commit ran, in one
multi-row INSERT, and then releases all the waiters. At low load a batch is
one row and nothing waits longer than its own commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite

from slowpub.storage.engine import Database
from slowpub.storage.models import InboundActivity

log = logging.getLogger(__name__)
MAX_BATCH = 500


class InboxWriter:
    def __init__(self, db: Database) -> None:
        self.db = db
        # When the last POST was stored (monotonic): the inbound worker in
        # the same process steps back while the inbox is busy.
        self.last_store = 0.0
        self._queue: asyncio.Queue[tuple[dict[str, Any], asyncio.Future[bool]]] | None = None
        self._task: asyncio.Task[None] | None = None

    async def store(self, row: dict[str, Any]) -> bool:
        """Commit one inbound activity; True if new, False if its id was already stored."""
        if self._task is None or self._task.done():
            self._queue = asyncio.Queue()
            self._task = asyncio.create_task(self._run())
        assert self._queue is not None
        self.last_store = time.monotonic()
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        await self._queue.put((row, future))
        return await future

    async def _run(self) -> None:
        assert self._queue is not None
        while True:
            batch = [await self._queue.get()]
            while len(batch) < MAX_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                results = await self._commit([row for row, _ in batch])
            except Exception as exc:  # the waiters get the error; the writer lives on
                log.exception("inbox batch of %d failed", len(batch))
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), new in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(new)

    async def _commit(self, rows: list[dict[str, Any]]) -> list[bool]:
        insert = postgresql.insert if not self.db.is_sqlite else sqlite.insert
        table = InboundActivity.__table__
        # Core on the table, not the ORM entity: the ORM's bulk path costs
        # more per row than the INSERT itself (measured in tests/bench/ingest.py).
        statement = (
            insert(table).on_conflict_do_nothing(index_elements=["uri"]).returning(table.c.uri)
        )
        # The same id twice in one batch: only the first is new.
        unique: dict[str, dict[str, Any]] = {}
        for row in rows:
            unique.setdefault(row["uri"], row)
        async with self.db.transaction() as session:
            # One multi-row INSERT … ON CONFLICT DO NOTHING RETURNING uri.
            result = await session.execute(statement, list(unique.values()))
            inserted = set(result.scalars())
        seen: set[str] = set()
        results = []
        for row in rows:
            results.append(row["uri"] in inserted and row["uri"] not in seen)
            seen.add(row["uri"])
        return results

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
