"""Applying the Alembic migrations from inside slowpub.

``slowpub init`` and the test fixtures call :func:`upgrade`; the migration
scripts live in the top-level ``migrations/`` folder of the source tree
(slowpub is installed from a checkout: ``pip install -e .``).
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

ROOT = Path(__file__).resolve().parents[2]  # slowpub/storage/migrate.py -> the tree


def alembic_config() -> Config:
    ini = ROOT / "alembic.ini"
    if not ini.exists():
        raise RuntimeError(
            f"alembic.ini not found next to the slowpub package ({ROOT}); "
            "install slowpub from its source tree with `pip install -e .`"
        )
    return Config(str(ini))


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    def run(connection: Connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)

    async with engine.begin() as conn:
        await conn.run_sync(run)


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    def run(connection: Connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, revision)

    async with engine.begin() as conn:
        await conn.run_sync(run)


async def pending_revisions(engine: AsyncEngine) -> bool:
    """True when the database is not at the newest migration (or empty)."""

    def check(connection: Connection) -> bool:
        current = MigrationContext.configure(connection).get_current_heads()
        heads = ScriptDirectory.from_config(alembic_config()).get_heads()
        return set(current) != set(heads)

    async with engine.connect() as conn:
        return await conn.run_sync(check)
