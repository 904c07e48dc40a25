"""A database that turns read-only under a running server (issue 9.16).

``serve`` refuses to start on a database it cannot write; this is the disk
remounted read-only, or a PostgreSQL failover to a standby, afterwards.
Before, every write answered 500 with a traceback and every worker logged a
traceback each second. Now writes answer 503 with a JSON reason and
``Retry-After``, reads keep working, and a worker logs one line per retry,
backing off.

Read-only for real, root included: a second engine on the same database
through a SQLite ``mode=ro`` URI, or with ``default_transaction_read_only``
set on the PostgreSQL database (new connections only).
"""

from __future__ import annotations

import asyncio
import logging
import os

import httpx
import pytest
from peers import FakeServer, signed_post
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from tests_support import follow_body, token_for

from slowpub.context import build_context
from slowpub.social.accounts import create_user
from slowpub.storage.engine import create_database
from slowpub.web.app import create_app
from slowpub.workers import _inbound_step, _loop

PG = os.environ.get("SLOWPUB_TEST_DATABASE_URL", "")


async def read_only_url(url: str) -> str:
    if not PG:
        return (
            url.replace("sqlite+aiosqlite:///", "sqlite+aiosqlite:///file:") + "?mode=ro&uri=true"
        )
    admin = create_async_engine(PG, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        name = url.rsplit("/", 1)[1]
        await conn.execute(text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'))
    await admin.dispose()
    return url


@pytest.fixture
async def frozen(network):
    """alpha with alice, her token and one activity waiting, then its database read-only."""
    alpha = await network.add("alpha.test")
    await create_user(alpha.ctx, "alice", password="correct horse")
    token = await token_for(alpha, "alice", "correct horse")
    peer = FakeServer("beta.test")
    network.transport.add("beta.test", peer.app)
    bob = peer.add_actor("bob")
    assert (await signed_post(alpha, bob, follow_body(bob.uri))).status_code == 202

    url = await read_only_url(alpha.ctx.settings.database_url)
    settings = alpha.ctx.settings.with_overrides(database_url=url)
    ctx = build_context(
        settings,
        clock=network.clock,
        http=network.client(),
        db=create_database(url),
        client_factory=lambda _limit: network.client(),
    )
    yield ctx, create_app(ctx), token
    await ctx.close()


async def test_writes_answer_503_and_reads_still_work(frozen) -> None:
    _, app, token = frozen
    auth = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
        base_url="https://alpha.test",
    ) as client:
        write = await client.post("/api/v1/statuses", data={"status": "hello"}, headers=auth)
        assert write.status_code == 503, write.text
        assert "read-only" in write.json()["error"]
        assert int(write.headers["retry-after"]) > 0
        read = await client.get("/users/alice", headers={"Accept": "application/activity+json"})
        assert read.status_code == 200


async def test_a_worker_logs_one_line_per_retry_not_a_traceback_a_second(
    frozen, caplog: pytest.LogCaptureFixture
) -> None:
    ctx, _, _ = frozen
    caplog.set_level(logging.ERROR, logger="slowpub.workers")
    worker = asyncio.create_task(_loop("inbound", _inbound_step, asyncio.Event(), ctx))
    await asyncio.sleep(3.5)  # the old loop failed, with a traceback, every second
    worker.cancel()
    with pytest.raises(asyncio.CancelledError):
        await worker
    failures = [r for r in caplog.records if r.name == "slowpub.workers"]
    assert failures, "the read-only database was never reported"
    assert all(r.exc_info is None for r in failures)  # one line each, no traceback
    assert "read-only" in failures[0].getMessage()
    assert len(failures) <= 2  # retried after 2 s, then 4 s: backing off
