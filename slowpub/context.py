"""What every part of the running application shares, built once per process.

The CLI, the web app and the workers each build one :class:`Context` and pass
it down explicitly; nothing lives in module globals. Tests build several
(one per simulated instance) with their own clocks and HTTP transports.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime

import httpx

from federation.netguard import make_http_client
from federation.verify import PublicKey
from slowpub import __version__
from slowpub.auth.client_documents import ClientDocuments
from slowpub.auth.login_limits import LoginLimiter
from slowpub.auth.password_checks import PasswordChecks
from slowpub.clock import Clock
from slowpub.config import Settings
from slowpub.delivery.clients import ClientFactory, HostClients, delivery_pool
from slowpub.inbound.group_commit import InboxWriter
from slowpub.inbound.quota import InboxQuota
from slowpub.storage.engine import Database, create_database

# Remote key fetches in flight at once while answering inbox POSTs; the rest
# wait for a slot (within the lookup's deadline, see inbound.remote_actors).
KEY_FETCH_CONCURRENCY = 16


@dataclass
class Wakeups:
    """In-process nudges so a worker in the same process starts at once.

    Other processes (``slowpub worker``) find the same rows by polling, so a
    missed nudge only costs up to one poll interval, never work.
    """

    inbound: asyncio.Event = field(default_factory=asyncio.Event)
    deliveries: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    mail: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class Context:
    settings: Settings
    db: Database
    clock: Clock
    http: httpx.AsyncClient
    wakeups: Wakeups = field(default_factory=Wakeups)
    # Per key id: when we last refetched it after a failed signature, and
    # that refetch (in flight or done), so a forger cannot make us fetch in
    # a loop and requests meanwhile share what it fetched.
    key_refetches: dict[str, tuple[datetime, asyncio.Future[PublicKey]]] = field(
        default_factory=dict
    )
    instance_key: tuple[str, str] | None = None
    inbox_writer: InboxWriter = field(init=False)
    inbox_quota: InboxQuota = field(init=False)
    # Verified remote keys by keyId, so a busy inbox does not query per request.
    key_cache: dict[str, tuple[datetime, PublicKey]] = field(default_factory=dict)
    key_lookups: dict[str, asyncio.Future[PublicKey]] = field(default_factory=dict)
    # Key ids whose fetch failed, and per host (since, failed key ids), so a
    # flood of POSTs naming them is refused without refetching.
    failed_keys: dict[str, datetime] = field(default_factory=dict)
    failed_key_hosts: dict[str, tuple[datetime, int]] = field(default_factory=dict)
    key_fetch_slots: asyncio.Semaphore = field(
        default_factory=lambda: asyncio.Semaphore(KEY_FETCH_CONCURRENCY)
    )
    # OAuth client metadata document fetches: limits and recent outcomes.
    client_documents: ClientDocuments = field(default_factory=ClientDocuments)
    host_clients: HostClients | None = None
    # Hosts with recorded delivery failures; a signed POST from one of them
    # clears its record (refreshed from the database now and then).
    troubled_hosts: set[str] = field(default_factory=set)
    troubled_hosts_loaded: datetime | None = None
    # This process's lease_owners row once its workers run (slowpub.workers):
    # the leases they take name it, so they are released if the process dies.
    lease_owner: str | None = None
    # Failed logins per address and account, and the threads that check passwords.
    login_limits: LoginLimiter = field(default_factory=LoginLimiter)
    password_checks: PasswordChecks = field(default_factory=lambda: PasswordChecks())

    def __post_init__(self) -> None:
        self.inbox_writer = InboxWriter(self.db)
        self.inbox_quota = InboxQuota(
            self.db, self.settings.inbox_quota_activities, self.settings.inbox_quota_bytes
        )

    def delivery_client(self, host: str) -> httpx.AsyncClient:
        if self.host_clients is None:
            return self.http
        return self.host_clients.get(host)

    @property
    def user_agent(self) -> str:
        return user_agent(self.settings)

    async def close(self) -> None:
        self.password_checks.close()
        await self.inbox_writer.close()
        if self.host_clients is not None:
            await self.host_clients.aclose()
        await self.http.aclose()
        await self.db.dispose()


def user_agent(settings: Settings) -> str:
    return f"slowpub/{__version__} (+{settings.base_url})"


def build_context(
    settings: Settings,
    *,
    clock: Clock | None = None,
    http: httpx.AsyncClient | None = None,
    db: Database | None = None,
    client_factory: ClientFactory | None = None,
) -> Context:
    """``client_factory(max_connections)`` builds per-host httpx delivery clients
    (tests inject in-process transports this way); without one, deliveries go
    through the lean keep-alive pool, guarded like ``http``."""

    def default_factory(max_connections: int) -> httpx.AsyncClient:
        return make_http_client(
            allow_private=settings.allow_private_networks,
            user_agent=user_agent(settings),
            max_connections=max_connections,
        )

    return Context(
        settings=settings,
        db=db or create_database(settings.database_url),
        clock=clock or Clock(),
        http=http or default_factory(100),
        host_clients=HostClients(
            client_factory or default_factory,
            pool=None
            if client_factory is not None
            else delivery_pool(
                allow_private=settings.allow_private_networks, user_agent=user_agent(settings)
            ),
        ),
    )
