"""Shared fixtures: real slowpub instances on real databases, joined by real HTTP.

Each simulated instance has its own database (a SQLite file, or a fresh
PostgreSQL database when ``SLOWPUB_TEST_DATABASE_URL`` names a server), its
own keys, and an httpx client whose transport routes by host name to the
other instances' ASGI apps, so every federation test exercises real
signatures, real routing and real SQL. Time comes from one shared
:class:`FrozenClock` per network.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from starlette.applications import Starlette

from slowpub.clock import FrozenClock
from slowpub.config import Settings
from slowpub.context import Context, build_context
from slowpub.storage.engine import create_database
from slowpub.storage.migrate import upgrade
from slowpub.web.app import create_app

PG_URL = os.environ.get("SLOWPUB_TEST_DATABASE_URL", "")


class RouterTransport(httpx.AsyncBaseTransport):
    """Sends each request to the ASGI app registered for its host, as DNS would."""

    def __init__(self) -> None:
        self.apps: dict[str, httpx.ASGITransport] = {}
        self.requests: list[httpx.Request] = []

    def add(self, host: str, app: Starlette) -> None:
        self.apps[host] = httpx.ASGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        target = self.apps.get(request.url.netloc.decode())
        if target is None:
            raise httpx.ConnectError(f"no route to {request.url.host}", request=request)
        return await target.handle_async_request(request)


class DatabaseFactory:
    """Hands out empty, migrated databases and removes them afterwards."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.created: list[str] = []

    async def new_url(self, name: str) -> str:
        if not PG_URL:
            return f"sqlite+aiosqlite:///{self.tmp_path / (name + '.db')}"
        db_name = f"slowpub_t_{name.replace('.', '_')}_{uuid.uuid4().hex[:8]}"
        admin = create_async_engine(PG_URL, isolation_level="AUTOCOMMIT")
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{db_name}"'))
        await admin.dispose()
        self.created.append(db_name)
        return PG_URL.rsplit("/", 1)[0] + "/" + db_name

    async def cleanup(self) -> None:
        if not self.created:
            return
        admin = create_async_engine(PG_URL, isolation_level="AUTOCOMMIT")
        async with admin.connect() as conn:
            for db_name in self.created:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
        await admin.dispose()


@dataclass
class Instance:
    host: str
    ctx: Context
    app: Starlette

    @property
    def base_url(self) -> str:
        return self.ctx.settings.base_url


@dataclass
class Network:
    """Several slowpub instances (and any other ASGI apps) that can reach each other."""

    clock: FrozenClock
    transport: RouterTransport
    databases: DatabaseFactory
    instances: dict[str, Instance] = field(default_factory=dict)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=self.transport, timeout=10)

    async def settings_for(self, host: str) -> Settings:
        return Settings(
            base_url=f"https://{host}",
            data_dir=self.databases.tmp_path / host,
            database_url=await self.databases.new_url(host),
            secret_key="test-secret-" + host,
            # Off, as in production: the in-process transport needs no DNS,
            # and ids stay https-only.
            allow_private_networks=False,
        )

    async def add(self, host: str, **overrides: object) -> Instance:
        settings = (await self.settings_for(host)).with_overrides(**overrides)
        db = create_database(settings.database_url)
        await upgrade(db.engine)
        ctx = build_context(
            settings,
            clock=self.clock,
            http=self.client(),
            db=db,
            client_factory=lambda _limit: self.client(),
        )
        app = create_app(ctx)
        self.transport.add(host, app)
        instance = Instance(host=host, ctx=ctx, app=app)
        self.instances[host] = instance
        return instance

    async def close(self) -> None:
        for instance in self.instances.values():
            await instance.ctx.close()


@pytest.fixture
async def network(tmp_path: Path) -> AsyncIterator[Network]:
    net = Network(
        clock=FrozenClock(datetime.now(UTC).replace(microsecond=0)),
        transport=RouterTransport(),
        databases=DatabaseFactory(tmp_path),
    )
    try:
        yield net
    finally:
        await net.close()
        await net.databases.cleanup()


@pytest.fixture
async def alpha(network: Network) -> Instance:
    return await network.add("alpha.test")


@pytest.fixture
async def beta(network: Network) -> Instance:
    return await network.add("beta.test")
