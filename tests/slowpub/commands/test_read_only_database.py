"""A database slowpub cannot write: one line and a non-zero exit, never a running server.

Read-only for real, root included (CI runs as root, and root ignores file
modes): SQLite opened through a ``mode=ro`` URI filename, PostgreSQL with
``default_transaction_read_only`` set on the database. Before, ``serve``
started on it and answered 500 to every write, and ``init`` or a CLI write
printed a traceback of ~170 lines.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from serve_support import Server
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

pytestmark = pytest.mark.slow

PG = os.environ.get("SLOWPUB_TEST_DATABASE_URL", "")


async def make_read_only(url: str) -> str:
    """The URL of the same database, which no connection made from it can write."""
    if not PG:
        return (
            url.replace("sqlite+aiosqlite:///", "sqlite+aiosqlite:///file:") + "?mode=ro&uri=true"
        )
    admin = create_async_engine(PG, isolation_level="AUTOCOMMIT")
    name = url.rsplit("/", 1)[1]
    async with admin.connect() as conn:
        await conn.execute(text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'))
    await admin.dispose()
    return url


@pytest.fixture
async def server(tmp_path: Path, network) -> AsyncIterator[Server]:
    """An initialised instance with one account, then made read-only."""
    url = await network.databases.new_url("read_only") if PG else None
    server = Server("ro", tmp_path, url)
    server.cli("init")
    server.cli("user", "create", "alice")
    server.env["SLOWPUB_DATABASE_URL"] = await make_read_only(server.database_url)
    yield server


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("slowpub: ")
    return lines[0]


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_serve_and_worker_refuse_a_read_only_database(server: Server, command: str) -> None:
    args = [command, "--port", str(server.port)] if command == "serve" else [command]
    # A server that started anyway would run until the timeout, failing the test.
    result = subprocess.run(
        [sys.executable, "-m", "slowpub.cli", *args],
        env=server.env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    line = one_line(result)
    assert "is read-only" in line
    assert (server.database_url.rsplit("/", 1)[1] if PG else "ro/slowpub.db") in line


@pytest.mark.parametrize(
    "args",
    [
        ("user", "create", "bob"),
        ("user", "set", "alice", "cooling-off", "2h"),
        ("post", "alice", "hello"),
        ("init",),
    ],
)
def test_writes_on_a_read_only_database_are_one_line(server: Server, args: tuple[str]) -> None:
    assert "is read-only" in one_line(server.cli(*args, check=False))


def test_reading_a_read_only_database_still_works(server: Server) -> None:
    listing = server.cli("user", "list")
    assert "@alice@" in listing.stdout


async def test_a_failed_migration_is_one_line(tmp_path: Path, network) -> None:
    """A database from a newer slowpub (a revision this one does not know)."""
    url = await network.databases.new_url("newer") if PG else None
    server = Server("newer", tmp_path, url)
    server.cli("init")
    engine = create_async_engine(server.database_url)
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE alembic_version SET version_num = 'f00d'"))
    await engine.dispose()
    line = one_line(server.cli("init", check=False))
    assert line.startswith("slowpub: cannot migrate the database at ") and "'f00d'" in line


def test_init_where_no_database_can_be_created_is_one_line(tmp_path: Path) -> None:
    server = Server("nowhere", tmp_path, None)
    missing = tmp_path / "nowhere" / "slowpub.db"
    server.env["SLOWPUB_DATABASE_URL"] = f"sqlite+aiosqlite:///file:{missing}?mode=ro&uri=true"
    line = one_line(server.cli("init", check=False))
    assert "unable to open database file" in line
