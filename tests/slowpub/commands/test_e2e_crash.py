"""End to end: a worker killed with SIGKILL mid fan-out, and the next one takes over.

A real ``slowpub worker`` process fans a post out to 150 followers on a
fake receiver (tests/peers.py ``FakeServer`` on a real socket, answering
each POST after 0.2 s so the fan-out takes seconds). It is killed with
SIGKILL once some POSTs have arrived; it had claimed the rest, with a
five-minute lease each. A second worker started then must deliver every
remaining one well within those five minutes (the bound below is 60 s,
where the real figure is a few seconds), and on SIGTERM leave no lease
owner behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import uvicorn
from peers import FakeServer
from serve_support import Server, free_port
from sqlalchemy import func, insert, select
from starlette.requests import ClientDisconnect
from starlette.types import Receive, Scope, Send

from slowpub.storage.engine import create_database
from slowpub.storage.models import Actor, Delivery, Follow, LeaseOwner, User

pytestmark = pytest.mark.slow

FOLLOWERS = 150
ANSWER_AFTER = 0.2  # seconds per POST; 4 at a time per host: ~8 s for the fan-out
TAKE_OVER_BOUND = 60.0  # seconds; the lease it must not wait for is 300


class SlowReceiver:
    """A FakeServer on a real port, answering POSTs slowly, recording which inboxes got one."""

    def __init__(self) -> None:
        self.port = free_port()
        self.fake = FakeServer(f"127.0.0.1:{self.port}")
        self.inboxes: set[str] = set()
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="off",
            interface="asgi3",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            await asyncio.sleep(ANSWER_AFTER)
            self.inboxes.add(scope["path"])
        with contextlib.suppress(ClientDisconnect):  # the killed worker's requests
            await self.fake.app(scope, receive, send)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "receiver did not start"
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


class Worker:
    """A ``slowpub worker`` process on the sender's data."""

    def __init__(self, sender: Server, name: str) -> None:
        self.log = Path(sender.env["SLOWPUB_DATA_DIR"]).parent / f"{name}.log"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "slowpub.cli", "worker"],
            env=sender.env,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
        )

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(10)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        return self.proc.wait(10)


async def add_followers(url: str, username: str, receiver: SlowReceiver) -> None:
    """``FOLLOWERS`` accounts on the receiver, each with its own inbox, following ``username``."""
    db = create_database(url)
    try:
        async with db.transaction() as session:
            user = (
                await session.execute(select(User).where(User.username == username))
            ).scalar_one()
            now = user.created_at
            base = f"http://127.0.0.1:{receiver.port}/users"
            rows = [
                {
                    "uri": f"{base}/f{n}",
                    "local": False,
                    "actor_type": "Person",
                    "username": f"f{n}",
                    "domain": f"127.0.0.1:{receiver.port}",
                    "inbox": f"{base}/f{n}/inbox",
                    "key_id": f"{base}/f{n}#main-key",
                    "manually_approves_followers": False,
                    "created_at": now,
                }
                for n in range(FOLLOWERS)
            ]
            ids = list((await session.execute(insert(Actor).returning(Actor.id), rows)).scalars())
            await session.execute(
                insert(Follow),
                [
                    {
                        "follower_id": actor_id,
                        "followed_id": user.actor_id,
                        "uri": f"{base}/f{n}#follows/1",
                        "state": "accepted",
                        "created_at": now,
                        "updated_at": now,
                    }
                    for n, actor_id in enumerate(ids)
                ],
            )
    finally:
        await db.dispose()


async def count(url: str, query) -> int:
    db = create_database(url)
    try:
        async with db.sessions() as session:
            return int((await session.execute(query)).scalar_one())
    finally:
        await db.dispose()


async def wait_until(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.1)
    return predicate()


@pytest.fixture
async def sender(tmp_path: Path, network) -> AsyncIterator[Server]:
    # `network` only lends its database factory (PostgreSQL when configured).
    url = None
    if os.environ.get("SLOWPUB_TEST_DATABASE_URL"):
        url = await network.databases.new_url("e2e_crash")
    server = Server("sender", tmp_path, url)
    server.cli("init")
    server.cli("user", "create", "alice")
    yield server


@pytest.fixture
def receiver() -> AsyncIterator[SlowReceiver]:
    receiver = SlowReceiver()
    receiver.start()
    yield receiver
    receiver.stop()


async def test_a_killed_workers_fan_out_resumes_within_seconds(
    sender: Server, receiver: SlowReceiver
) -> None:
    await add_followers(sender.database_url, "alice", receiver)
    sender.cli("user", "set", "alice", "cooling-off", "1s")
    sender.cli("post", "alice", "a post to every follower")

    first = Worker(sender, "worker1")
    try:
        assert await wait_until(lambda: len(receiver.inboxes) >= 15, 60), first.log.read_text()
    finally:
        first.kill()  # SIGKILL mid fan-out: no shutdown code runs
    await asyncio.sleep(2 * ANSWER_AFTER)  # POSTs already in flight land
    at_kill = len(receiver.inboxes)
    assert at_kill < FOLLOWERS, "the fan-out finished before the kill: slow the receiver"

    second = Worker(sender, "worker2")
    started = time.monotonic()
    try:
        await wait_until(lambda: len(receiver.inboxes) > at_kill, TAKE_OVER_BOUND)
        resumed = time.monotonic() - started
        everything = await wait_until(lambda: len(receiver.inboxes) == FOLLOWERS, TAKE_OVER_BOUND)
        took = time.monotonic() - started
        print(
            f"\n{at_kill}/{FOLLOWERS} delivered at the kill; after the restart, the next one "
            f"in {resumed:.1f} s, all of them in {took:.1f} s"
        )
        assert everything, (
            f"{len(receiver.inboxes)}/{FOLLOWERS} delivered {TAKE_OVER_BOUND:.0f} s after the "
            f"restart: {second.log.read_text()[-2000:]}"
        )
        pending = select(func.count()).select_from(Delivery).where(Delivery.state != "done")
        for _ in range(100):
            if await count(sender.database_url, pending) == 0:
                break
            await asyncio.sleep(0.2)
        assert await count(sender.database_url, pending) == 0
    finally:
        assert second.stop() == 0, second.log.read_text()
    # A clean stop leaves no owner (and so no lease) behind.
    owners = select(func.count()).select_from(LeaseOwner)
    assert await count(sender.database_url, owners) == 0
