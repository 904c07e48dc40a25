"""The database engine and session factory, built once per process.

SQLite is the embedded default (one process, WAL mode so readers never block
the writer); PostgreSQL is the same code with several processes. Nothing is
created at import time: :func:`create_database` is called by the CLI and the
app factory.

A SQLite URL may name a URI filename (``sqlite+aiosqlite:///file:/path.db?mode=ro&uri=true``,
a database opened read-only whoever runs, root included).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
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

    async def check_writable(self) -> None:
        """Raise the driver's error unless this database takes writes.

        A read-only file, mount, transaction default or role all fail here,
        before a server starts answering 500 to every write. The write is
        rolled back; BEGIN IMMEDIATE alone succeeds on a read-only SQLite file,
        so it is a real UPDATE (of the Alembic version row, which every
        initialised database has).
        """
        async with self.sessions() as session:
            if self.is_sqlite:
                await session.connection(execution_options={"sqlite_immediate": True})
            await session.execute(text("UPDATE alembic_version SET version_num = version_num"))
            await session.rollback()

    async def dispose(self) -> None:
        await self.engine.dispose()


async def sqlite_threads_stopped(within: float = 1.0) -> None:
    """Wait (briefly) until aiosqlite's connection threads have stopped.

    When a connection fails to open, aiosqlite stops its thread without
    waiting; if the event loop closes first, the thread prints a traceback
    ("Event loop is closed", aiosqlite issue #241) under the command's
    one-line error. The CLI calls this before its loop ends.
    """
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not any(
            "_connection_worker_thread" in thread.name and thread.is_alive()
            for thread in threading.enumerate()
        ):
            return
        await asyncio.sleep(0.01)


def sqlite_file(url: str) -> Path | None:
    """The file a SQLite URL opens (plain path or ``file:`` URI), else None."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    name = parsed.database
    if name.startswith("file:"):
        name = name[len("file:") :]
        if name.startswith("//"):  # file:///path or file://localhost/path
            name = urlsplit("file:" + name).path
        name = name.split("?", 1)[0]
    return None if name in ("", ":memory:") else Path(name)


def describe(url: str) -> str:
    """The database as an error message may name it: a path, or a URL without its password."""
    path = sqlite_file(url)
    if path is not None:
        return str(path)
    return make_url(url).render_as_string(hide_password=True)


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
