"""The database engine and session factory, built once per process.

SQLite is the embedded default (one process, WAL mode so readers never block
the writer); PostgreSQL is the same code with several processes. Nothing is
created at import time: :func:`create_database` is called by the CLI and the
app factory.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


@dataclass
class Database:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session whose work is committed on success and rolled back on error.

        On SQLite it takes the write lock up front (BEGIN IMMEDIATE): a
        deferred transaction that reads and then writes fails at once with
        "database is locked" if another connection wrote in between, while
        IMMEDIATE waits its turn (busy_timeout). Plain ``sessions()`` are
        read-only and never take it.
        """
        async with self.sessions() as session:
            if self.is_sqlite:
                # Begins the transaction on a connection marked for _sqlite_begin.
                await session.connection(execution_options={"sqlite_immediate": True})
            try:
                yield session
            except BaseException:
                await session.rollback()
                raise
            await session.commit()

    async def dispose(self) -> None:
        await self.engine.dispose()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the web app read while a worker writes; busy_timeout turns
    # brief writer contention into a wait instead of "database is locked".
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
    # Let SQLAlchemy, not the driver, decide where transactions begin (below).
    dbapi_connection.isolation_level = None


def _sqlite_begin(connection: Any) -> None:
    # See Database.transaction: writers BEGIN IMMEDIATE, readers plain BEGIN.
    immediate = connection.get_execution_options().get("sqlite_immediate", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def create_database(url: str, *, echo: bool = False) -> Database:
    kwargs: dict[str, Any] = {"echo": echo}
    if url.startswith("postgresql"):
        kwargs.update(pool_size=10, max_overflow=10, pool_pre_ping=True)
    engine = create_async_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    return Database(engine=engine, sessions=sessions)
