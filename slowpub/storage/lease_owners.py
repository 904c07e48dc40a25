"""Who holds leases: one row per running worker process, kept fresh by a heartbeat.

A lease (``locked_until`` on a delivery or an inbound activity, see
``claims``) keeps other workers off a row while one sends or processes it.
On its own, a killed worker's rows wait out the whole lease (five minutes)
before anyone retries them. So each worker registers here, its leases name
it (``locked_by``), and a worker that starts, and every worker every
``HEARTBEAT``, releases the leases of owners that are gone:

- on the same host (same machine and process namespace, where a pid means
  something), an owner whose pid no longer exists: at once;
- anywhere, an owner whose heartbeat is older than ``STALE``: a crashed
  worker on another machine, or one whose pid was reused.

"Is the pid alive" alone would not do: several workers may run on several
machines against one PostgreSQL database. Heartbeats use the workers'
clocks, as leases do, so machines sharing a database must agree on the time
to within a few seconds (NTP), far less than ``STALE``.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update

from slowpub.storage.engine import Database
from slowpub.storage.models import Delivery, InboundActivity, LeaseOwner

HEARTBEAT = timedelta(seconds=5)
# Six missed heartbeats: a worker stalled that long (a stopped process, a
# cut network) is treated as gone; if it comes back it registers again.
STALE = 6 * HEARTBEAT
# The tables whose rows are leased (see claims.claim).
LEASED: tuple[Any, ...] = (Delivery, InboundActivity)


def new_owner_id() -> str:
    return secrets.token_hex(16)


def this_host() -> str:
    """The host name, plus the pid namespace where there is one.

    Two containers may share a host name but not their pids: only an owner
    in our own pid namespace can be judged by its pid.
    """
    name = socket.gethostname()[:200]
    try:
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return name
    return f"{name}/pidns:{namespace}"


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid runs here (a zombie counts as gone)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists, as another user
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            state = stat.read().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in (b"Z", b"X")


async def register(
    db: Database, owner_id: str, now: datetime, *, host: str | None = None, pid: int | None = None
) -> None:
    """Record a worker process (this one unless ``host`` and ``pid`` say otherwise)."""
    async with db.transaction() as session:
        session.add(
            LeaseOwner(
                id=owner_id,
                host=host or this_host(),
                pid=os.getpid() if pid is None else pid,
                started_at=now,
                heartbeat_at=now,
            )
        )


async def beat(db: Database, owner_id: str, now: datetime) -> bool:
    """Refresh a heartbeat; False if the row is gone (reaped as stale)."""
    async with db.transaction() as session:
        result = await session.execute(
            update(LeaseOwner).where(LeaseOwner.id == owner_id).values(heartbeat_at=now)
        )
    return bool(result.rowcount)


async def _release(session: Any, owner_ids: list[str]) -> int:
    released = 0
    for model in LEASED:
        result = await session.execute(
            update(model)
            .where(model.state == "pending", model.locked_by.in_(owner_ids))
            .values(locked_until=None, locked_by=None)
        )
        released += result.rowcount
    return released


async def reap(
    db: Database,
    now: datetime,
    *,
    host: str | None = None,
    alive: Callable[[int], bool] = pid_alive,
) -> int:
    """Release the leases of every owner that is gone; returns how many rows were freed."""
    here = host or this_host()
    async with db.sessions() as session:
        owners = (
            await session.execute(
                select(LeaseOwner.id, LeaseOwner.host, LeaseOwner.pid, LeaseOwner.heartbeat_at)
            )
        ).all()
    gone = {
        row.id: row.heartbeat_at
        for row in owners
        if row.heartbeat_at < now - STALE or (row.host == here and not alive(row.pid))
    }
    if not gone:
        return 0
    async with db.transaction() as session:
        # Delete first, and only rows whose heartbeat did not move since we
        # read it: an owner that beat in between is alive and keeps its leases.
        removed: list[str] = []
        for owner_id, heartbeat_at in gone.items():
            result = await session.execute(
                delete(LeaseOwner)
                .where(LeaseOwner.id == owner_id, LeaseOwner.heartbeat_at == heartbeat_at)
                .returning(LeaseOwner.id)
            )
            removed.extend(result.scalars())
        return await _release(session, removed) if removed else 0


async def retire(db: Database, owner_id: str) -> int:
    """A clean shutdown: free this owner's leases at once and forget it."""
    async with db.transaction() as session:
        released = await _release(session, [owner_id])
        await session.execute(delete(LeaseOwner).where(LeaseOwner.id == owner_id))
    return released
