"""Per-host quotas on the inbound backlog: what one sender may have waiting.

An inbox that answers 202 to everything lets one host fill the disk and
queue every other host's activities behind its own. Each sending host may
have at most so many activities, and so many bytes, accepted but not yet
processed; past either the inbox answers 429 (Mastodon retries those later,
so nothing is lost) before it verifies or stores anything.

The hot path must not count rows per POST. Counts live in memory: seeded
from the database on first use, raised by every stored activity, and only
lowered by recounting one host's pending rows in the database (an indexed
count, at most once per :data:`RECOUNT` per host) when that host looks over
its quota. Processing may happen in another process (``slowpub worker``), so
the database is the only place that knows what was processed. A count in
memory may be too high for a moment (then a recount corrects it), never too
low: an activity stored during a recount is added on top of what it found,
even if the recount already saw it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from slowpub.storage.engine import Database
from slowpub.storage.models import InboundActivity

# How often a host over its quota is recounted from the database.
RECOUNT = timedelta(seconds=1)
# Seconds a refused sender is asked to wait (Mastodon retries on its own
# schedule anyway; this is what others read).
RETRY_AFTER = 30


@dataclass(slots=True)
class Backlog:
    activities: int = 0
    bytes: int = 0


class InboxQuota:
    def __init__(self, db: Database, max_activities: int, max_bytes: int) -> None:
        self.db = db
        self.max_activities = max_activities
        self.max_bytes = max_bytes
        self._pending: dict[str, Backlog] = {}
        # Everything ever stored here, per host: a recount adds what arrived
        # while it ran.
        self._stored: dict[str, Backlog] = {}
        self._recounted: dict[str, datetime] = {}
        self._seeded = False
        self._seeding = asyncio.Lock()

    def stored(self, host: str, size: int) -> None:
        """An activity from ``host`` was committed as pending."""
        for table in (self._pending, self._stored):
            backlog = table.setdefault(host, Backlog())
            backlog.activities += 1
            backlog.bytes += size

    async def refusal(self, host: str, now: datetime) -> str | None:
        """Why ``host`` may not add to its backlog now, or None if it may."""
        if not self._seeded:
            await self._seed()
        if not self._over(host):
            return None
        last = self._recounted.get(host)
        if last is None or not last <= now < last + RECOUNT:
            self._recounted[host] = now
            await self._recount(host)
            if not self._over(host):
                return None
        backlog = self._pending[host]
        return (
            f"{host} has {backlog.activities} activities ({backlog.bytes:,} bytes) waiting"
            f" to be processed here, the most one host may have is {self.max_activities}"
            f" ({self.max_bytes:,} bytes): retry later"
        )

    def _over(self, host: str) -> bool:
        backlog = self._pending.get(host)
        return backlog is not None and (
            backlog.activities >= self.max_activities or backlog.bytes >= self.max_bytes
        )

    def _since(self, before: dict[str, Backlog], host: str) -> Backlog:
        now = self._stored.get(host, Backlog())
        then = before.get(host, Backlog())
        return Backlog(now.activities - then.activities, now.bytes - then.bytes)

    def _snapshot(self) -> dict[str, Backlog]:
        return {h: Backlog(b.activities, b.bytes) for h, b in self._stored.items()}

    async def _seed(self) -> None:
        async with self._seeding:
            if self._seeded:
                return
            before = self._snapshot()
            query = (
                select(
                    InboundActivity.sender_host,
                    func.count(InboundActivity.id),
                    func.coalesce(func.sum(InboundActivity.body_bytes), 0),
                )
                .where(InboundActivity.state == "pending")
                .group_by(InboundActivity.sender_host)
            )
            async with self.db.sessions() as session:
                found = {h: Backlog(n, size) for h, n, size in (await session.execute(query))}
            for host in set(found) | set(self._pending):
                counted = found.get(host, Backlog())
                since = self._since(before, host)
                self._pending[host] = Backlog(
                    counted.activities + since.activities, counted.bytes + since.bytes
                )
            self._seeded = True

    async def _recount(self, host: str) -> None:
        before = self._snapshot()
        query = select(
            func.count(InboundActivity.id),
            func.coalesce(func.sum(InboundActivity.body_bytes), 0),
        ).where(InboundActivity.state == "pending", InboundActivity.sender_host == host)
        async with self.db.sessions() as session:
            activities, size = (await session.execute(query)).one()
        since = self._since(before, host)
        self._pending[host] = Backlog(activities + since.activities, size + since.bytes)
