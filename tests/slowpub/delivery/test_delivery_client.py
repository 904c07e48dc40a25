"""Deliveries through the production client (federation.http1) against real sockets.

The other delivery tests inject httpx clients routed to in-process apps;
these build the context as production does (no client factory), so rows are
claimed, signed, POSTed over TCP to local servers and their outcomes written:
per-host limits, Retry-After, final 4xx, network errors, refused addresses,
and a pass that keeps claiming while earlier rows are in flight.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from federation.http1 import Http1Pool
from federation.keys import public_key_pem
from federation.verify import PublicKey, verify_request
from slowpub import urls
from slowpub.clock import FrozenClock
from slowpub.config import Settings
from slowpub.context import Context, build_context
from slowpub.delivery.sending import add_deliveries, deliver_due
from slowpub.social.accounts import create_user
from slowpub.storage.engine import create_database
from slowpub.storage.migrate import upgrade
from slowpub.storage.models import Delivery, Host, User

ACTIVITY = {
    "id": "https://alpha.test/users/alice/statuses/1/activity",
    "type": "Create",
    "actor": "https://alpha.test/users/alice",
    "object": {"type": "Note", "content": "hi"},
}


@dataclass
class Inbox:
    """A local HTTP/1.1 inbox answering ``status`` (and ``headers``) to every POST."""

    status: int = 202
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    port: int = 0
    received: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    open_now: int = 0
    most_open: int = 0
    server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/inbox"

    async def start(self) -> Inbox:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.open_now += 1
        self.most_open = max(self.most_open, self.open_now)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                headers: dict[str, str] = {}
                for line in lines[1:]:
                    if line:
                        name, _, value = line.partition(":")
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.received.append((path, headers, body))
                await asyncio.sleep(self.delay)
                extra = "".join(f"{k}: {v}\r\n" for k, v in self.headers.items())
                writer.write(
                    f"HTTP/1.1 {self.status} X\r\n{extra}Content-Length: 0\r\n\r\n".encode()
                )
                await writer.drain()
        finally:
            self.open_now -= 1
            writer.close()

    def close(self) -> None:
        if self.server is not None:
            self.server.close()


@pytest.fixture
async def inboxes() -> AsyncIterator[Callable[..., Awaitable[Inbox]]]:
    started: list[Inbox] = []

    async def start(**kwargs: Any) -> Inbox:
        inbox = await Inbox(**kwargs).start()
        started.append(inbox)
        return inbox

    yield start
    for inbox in started:
        inbox.close()


@pytest.fixture
async def make_ctx(network) -> AsyncIterator[Callable[..., Awaitable[Context]]]:
    """A context built as production builds it: no client factory."""
    built: list[Context] = []

    async def make(*, allow_private: bool = True) -> Context:
        name = f"lean{len(built)}.test"
        settings = Settings(
            base_url="https://alpha.test",
            data_dir=network.databases.tmp_path / name,
            database_url=await network.databases.new_url(name),
            secret_key="test-secret-delivery-client",
            allow_private_networks=allow_private,
        )
        db = create_database(settings.database_url)
        await upgrade(db.engine)
        ctx = build_context(settings, db=db, clock=FrozenClock(datetime.now(UTC)))
        built.append(ctx)
        await create_user(ctx, "alice", password=None)
        return ctx

    yield make
    for ctx in built:
        await ctx.close()


async def queue(ctx: Context, urls_: list[str]) -> None:
    async with ctx.db.transaction() as session:
        user = (await session.execute(select(User))).scalars().one()
        await add_deliveries(
            session, user=user, activity=ACTIVITY, inboxes=urls_, now=ctx.clock.now()
        )


async def rows(ctx: Context) -> list[Delivery]:
    async with ctx.db.sessions() as session:
        return list((await session.execute(select(Delivery).order_by(Delivery.id))).scalars())


async def test_production_context_uses_the_lean_pool(network, make_ctx) -> None:
    ctx = await make_ctx(allow_private=False)
    assert ctx.host_clients is not None
    assert isinstance(ctx.host_clients.pool, Http1Pool)
    assert ctx.host_clients.pool.allow_private is False
    assert ctx.host_clients.pool.max_per_host == 4
    injected = build_context(
        ctx.settings,
        db=ctx.db,
        client_factory=lambda _limit: httpx.AsyncClient(transport=network.transport),
    )
    assert injected.host_clients is not None and injected.host_clients.pool is None
    await injected.http.aclose()


async def test_one_pass_signs_and_delivers_everything(make_ctx, inboxes) -> None:
    ctx = await make_ctx()
    servers = [await inboxes() for _ in range(3)]
    targets = [server.url + f"?n={n}" for n in range(4) for server in servers]
    await queue(ctx, targets)
    # Claims of 5 rows at a time, but one pass: it keeps claiming while sending.
    assert await deliver_due(ctx, limit=5) == 12
    assert [r.state for r in await rows(ctx)] == ["done"] * 12
    assert all(r.last_status == 202 and r.locked_until is None for r in await rows(ctx))
    async with ctx.db.sessions() as session:
        alice = (await session.execute(select(User))).scalars().one()
        key = PublicKey(
            key_id=urls.key_id(alice.actor.uri),
            owner=alice.actor.uri,
            pem=public_key_pem(alice.private_key_pem),
        )

    async def resolver(wanted: str, refresh: bool) -> PublicKey:
        assert wanted == key.key_id
        return key

    for server in servers:
        assert sorted(path for path, _, _ in server.received) == [f"/inbox?n={n}" for n in range(4)]
        for path, headers, body in server.received:
            assert headers["content-type"] == "application/activity+json"
            # Digest, Date, Host and the signature over them all verify.
            await verify_request(
                method="POST",
                url=f"http://{headers['host']}{path}",
                headers=headers,
                body=body,
                resolver=resolver,
                now=ctx.clock.now(),
            )
    assert await deliver_due(ctx) == 0


async def test_per_host_concurrency_is_four(make_ctx, inboxes) -> None:
    ctx = await make_ctx()
    slow = await inboxes(delay=0.05)
    await queue(ctx, [slow.url + f"?n={n}" for n in range(12)])
    assert await deliver_due(ctx) == 12
    assert len(slow.received) == 12
    assert slow.most_open == 4


async def test_answers_decide_retries(make_ctx, inboxes) -> None:
    ctx = await make_ctx()
    busy = await inboxes(status=429, headers={"Retry-After": "3600"})
    gone = await inboxes(status=410)
    broken = await inboxes(status=502)
    closed = await inboxes()
    closed.close()
    assert closed.server is not None
    await closed.server.wait_closed()
    await queue(ctx, [busy.url, gone.url, broken.url, closed.url])
    now = ctx.clock.now()
    assert await deliver_due(ctx) == 4
    by_url = {r.inbox_url: r for r in await rows(ctx)}
    retry = by_url[busy.url]
    assert retry.state == "pending" and retry.last_status == 429
    assert retry.next_attempt_at >= now + timedelta(seconds=3600)
    final = by_url[gone.url]
    assert final.state == "failed" and final.last_status == 410 and final.attempts == 1
    server_error = by_url[broken.url]
    assert server_error.state == "pending" and server_error.last_status == 502
    refused = by_url[closed.url]
    assert refused.state == "pending" and refused.last_status is None
    assert refused.last_error and refused.last_error.startswith("FetchError")
    async with ctx.db.sessions() as session:
        failing = set((await session.execute(select(Host.domain))).scalars())
    assert f"127.0.0.1:{closed.port}" in failing  # unreachable hosts are recorded


async def test_private_addresses_are_refused_for_good(make_ctx, inboxes) -> None:
    ctx = await make_ctx(allow_private=False)
    server = await inboxes()
    await queue(ctx, [f"https://127.0.0.1:{server.port}/inbox", server.url])
    assert await deliver_due(ctx) == 2
    for row in await rows(ctx):
        assert row.state == "failed" and row.last_error.startswith("refused")
    assert server.received == []
