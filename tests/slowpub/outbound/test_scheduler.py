"""The scheduler never releases twice, even with several workers on one database."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import func, select
from tests_support import set_user, settle

from slowpub.context import build_context
from slowpub.outbound.posting import Draft, create_post
from slowpub.outbound.release import release_due
from slowpub.social.accounts import create_user
from slowpub.social.follows import follow
from slowpub.storage.engine import create_database
from slowpub.storage.models import Delivery, QueueItem


async def test_concurrent_workers_release_each_post_once(network, alpha, beta) -> None:
    await create_user(alpha.ctx, "alice", password="correct horse")
    await create_user(beta.ctx, "bob", password="correct horse")
    await set_user(alpha, "alice", cooling_off="1m")
    await follow(beta.ctx, "bob", "alice@alpha.test")
    await settle(alpha, beta)
    for n in range(30):
        await create_post(alpha.ctx, "alice", Draft(f"post {n}"))
    network.clock.advance(timedelta(minutes=2))

    # Three "worker processes": separate engines and contexts on one database.
    workers = [alpha.ctx] + [
        build_context(
            alpha.ctx.settings,
            clock=network.clock,
            http=network.client(),
            db=create_database(alpha.ctx.settings.database_url),
        )
        for _ in range(2)
    ]
    try:
        released = 0
        for _ in range(10):
            counts = await asyncio.gather(*(release_due(w, limit=7) for w in workers))
            released += sum(counts)
    finally:
        for extra in workers[1:]:
            await extra.close()
    assert released == 30
    async with alpha.ctx.db.sessions() as s:
        states = (
            await s.execute(select(QueueItem.state, func.count()).group_by(QueueItem.state))
        ).all()
        creates = (
            await s.execute(
                select(func.count()).select_from(Delivery).where(Delivery.activity_type == "Create")
            )
        ).scalar_one()
    assert dict(states) == {"released": 30}
    assert creates == 30  # one inbox (beta's shared inbox) per post, never doubled
