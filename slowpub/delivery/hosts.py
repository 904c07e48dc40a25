"""Delivery health per remote host, by Mastodon's rule.

A host is unavailable after delivery failures on 7 distinct days; deliveries
to it are then dropped at once instead of retried for days. Any successful
delivery, or any signed POST we receive from it, makes it available again.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from slowpub.context import Context
from slowpub.storage.models import Host

FAILURE_DAYS = 7
REFRESH = timedelta(minutes=1)


async def unavailable_hosts(session: AsyncSession, domains: set[str]) -> set[str]:
    if not domains:
        return set()
    query = select(Host.domain).where(
        Host.domain.in_(sorted(domains)), Host.unavailable_since.is_not(None)
    )
    return set((await session.execute(query)).scalars())


async def record(
    session: AsyncSession, *, failed: set[str], succeeded: set[str], now: datetime
) -> set[str]:
    """Apply one batch of outcomes; returns the hosts that still have failures on record."""
    today = now.date().isoformat()
    if succeeded:
        await session.execute(
            update(Host)
            .where(Host.domain.in_(sorted(succeeded)))
            .values(failure_days=0, last_failure_day=None, unavailable_since=None)
        )
    for domain in sorted(failed - succeeded):
        host = await session.get(Host, domain)
        if host is None:
            host = Host(domain=domain, failure_days=0)
            session.add(host)
        if host.last_failure_day != today:
            host.failure_days = (host.failure_days or 0) + 1
            host.last_failure_day = today
            if host.failure_days >= FAILURE_DAYS and host.unavailable_since is None:
                host.unavailable_since = now
    return failed - succeeded


async def heard_from(ctx: Context, domain: str) -> None:
    """A signed POST from ``domain`` arrived: it is alive, forget its failures."""
    now = ctx.clock.now()
    if ctx.troubled_hosts_loaded is None or now - ctx.troubled_hosts_loaded > REFRESH:
        async with ctx.db.sessions() as session:
            query = select(Host.domain).where(Host.failure_days > 0)
            ctx.troubled_hosts = set((await session.execute(query)).scalars())
        ctx.troubled_hosts_loaded = now
    if domain not in ctx.troubled_hosts:
        return
    async with ctx.db.transaction() as session:
        await record(session, failed=set(), succeeded={domain}, now=now)
    ctx.troubled_hosts.discard(domain)
