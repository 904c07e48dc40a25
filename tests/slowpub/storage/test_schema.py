"""The migrations create exactly the schema the models describe, and can be undone."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from slowpub.storage.migrate import downgrade, pending_revisions, upgrade
from slowpub.storage.models import Base


async def test_migrations_match_models(alpha) -> None:
    engine = alpha.ctx.db.engine

    def diff(connection) -> list:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)

    async with engine.connect() as conn:
        assert await conn.run_sync(diff) == []
    assert not await pending_revisions(engine)


async def test_downgrade_and_upgrade_again(alpha) -> None:
    engine = alpha.ctx.db.engine
    await downgrade(engine, "base")
    async with engine.connect() as conn:
        tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
    assert set(tables) <= {"alembic_version"}
    await upgrade(engine)
    async with engine.connect() as conn:
        tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
    assert {"actors", "users", "follows", "inbound_activities", "deliveries"} <= set(tables)


async def test_instance_key_is_created_once_under_concurrency(alpha) -> None:
    import asyncio

    from slowpub.social.instance_actor import ensure_instance_key

    alpha.ctx.instance_key = None
    keys = await asyncio.gather(*(ensure_instance_key(alpha.ctx) for _ in range(8)))
    assert len({k[0] for k in keys}) == 1
