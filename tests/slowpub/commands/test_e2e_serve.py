"""End to end: two real `slowpub serve` processes on loopback ports follow each other.

Everything goes through the installed CLI and real sockets: init, user
creation, the server's own workers, WebFinger over plain HTTP (allowed only
because SLOWPUB_ALLOW_PRIVATE_NETWORKS is on), signatures both ways.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from serve_support import Server, wait_for

pytestmark = pytest.mark.slow


@pytest.fixture
async def servers(tmp_path: Path, network) -> Iterator[tuple[Server, Server]]:
    # `network` only lends its database factory (PostgreSQL when configured).
    urls = [None, None]
    if os.environ.get("SLOWPUB_TEST_DATABASE_URL"):
        urls = [await network.databases.new_url("e2e_a"), await network.databases.new_url("e2e_b")]
    a, b = Server("a", tmp_path, urls[0]), Server("b", tmp_path, urls[1])
    try:
        yield a, b
    finally:
        a.stop()
        b.stop()


def test_two_real_servers_follow_each_other(servers) -> None:
    a, b = servers
    for server, name in ((a, "alice"), (b, "bob")):
        server.cli("init")
        created = json.loads(
            server.cli(
                "user", "create", name, "--password-stdin", "--json", stdin="a long password\n"
            ).stdout
        )
        assert created["handle"] == f"@{name}@127.0.0.1:{server.port}"
        server.start()

    # Mastodon's first two requests: WebFinger, then the actor.
    wf = httpx.get(
        f"{b.base}/.well-known/webfinger", params={"resource": f"acct:bob@127.0.0.1:{b.port}"}
    )
    assert wf.status_code == 200
    actor_url = next(link for link in wf.json()["links"] if link["rel"] == "self")["href"]
    actor = httpx.get(actor_url, headers={"Accept": "application/activity+json"}).json()
    assert actor["inbox"] == f"{b.base}/users/bob/inbox"

    follow = json.loads(a.cli("follow", "alice", f"bob@127.0.0.1:{b.port}", "--json").stdout)
    assert follow["state"] in ("pending", "accepted")

    def accepted() -> bool:
        rows = json.loads(a.cli("following", "alice", "--json").stdout)
        return [r["state"] for r in rows] == ["accepted"]

    wait_for(accepted)
    followers = json.loads(b.cli("followers", "bob", "--json").stdout)
    assert [(f["account"], f["state"]) for f in followers] == [
        (f"alice@127.0.0.1:{a.port}", "accepted")
    ]

    # bob renames himself from the command line, while b serves: b's worker
    # sends the Update, and a's copy of bob changes without refetching him.
    b.cli("user", "set", "bob", "display-name", "Bob the Builder")

    # Remote accounts are shown to signed-in users only: alice signs in the
    # way a command-line client does (an app, then the password grant).
    app = httpx.post(
        f"{a.base}/api/v1/apps",
        data={"client_name": "e2e", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "scopes": "read"},
    ).json()
    grant = httpx.post(
        f"{a.base}/oauth/token",
        data={
            "grant_type": "password",
            "username": "alice",
            "password": "a long password",
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "scope": "read",
        },
    )
    assert grant.status_code == 200, grant.text
    signed_in = {"Authorization": f"Bearer {grant.json()['access_token']}"}

    def renamed() -> bool:
        lookup = httpx.get(
            f"{a.base}/api/v1/accounts/lookup",
            params={"acct": f"bob@127.0.0.1:{b.port}"},
            headers=signed_in,
        )
        return lookup.status_code == 200 and lookup.json()["display_name"] == "Bob the Builder"

    wait_for(renamed)


def test_cli_reports_bad_input(tmp_path: Path) -> None:
    server = Server("c", tmp_path, None)
    not_ready = server.cli("user", "list", check=False)
    assert not_ready.returncode != 0 and "slowpub init" in not_ready.stderr
    server.cli("init")
    server.cli("init")  # idempotent
    bad_name = server.cli("user", "create", "no spaces allowed", check=False)
    assert bad_name.returncode != 0 and "invalid username" in bad_name.stderr
    assert len(bad_name.stderr.strip().splitlines()) == 1
    server.cli("user", "create", "alice")
    dup = server.cli("user", "create", "alice", check=False)
    assert dup.returncode != 0 and "already exists" in dup.stderr
    unknown = server.cli("follow", "nobody", "bob@example.com", check=False)
    assert unknown.returncode != 0
    bad_account = server.cli("follow", "alice", "not-an-account", check=False)
    assert bad_account.returncode != 0 and bad_account.stderr.startswith("slowpub: ")
    listing = json.loads(server.cli("user", "list", "--json").stdout)
    assert [u["username"] for u in listing] == ["alice"]


def test_base_url_follows_port_and_never_changes(tmp_path: Path) -> None:
    server = Server("d", tmp_path, None)
    del server.env["SLOWPUB_BASE_URL"]
    server.cli("init")
    server.cli("user", "create", "alice")  # at the default base URL, port 8000
    other = subprocess.run(
        [sys.executable, "-m", "slowpub.cli", "serve", "--port", str(server.port)],
        env=server.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert other.returncode == 1
    assert "SLOWPUB_BASE_URL=http://127.0.0.1:8000" in other.stderr
    assert len(other.stderr.strip().splitlines()) == 1


async def _count(url: str, query) -> int:
    from slowpub.storage.engine import create_database

    db = create_database(url)
    try:
        async with db.sessions() as session:
            return int((await session.execute(query)).scalar_one())
    finally:
        await db.dispose()


async def _poll(url: str, query, want: int, seconds: float = 60) -> int:
    """Re-count until the database shows ``want`` (another process is working)."""
    got = -1
    for _ in range(int(seconds / 0.3)):
        got = await _count(url, query)
        if got == want:
            break
        await asyncio.sleep(0.3)
    return got


async def test_killed_server_still_delivers_everything(servers) -> None:
    from sqlalchemy import func, select

    from slowpub.storage.models import Delivery, InboundActivity

    a, b = servers
    for server, name in ((a, "alice"), (b, "bob")):
        server.cli("init")
        server.cli("user", "create", name)
        server.start()
    b.cli("follow", "bob", f"alice@127.0.0.1:{a.port}")
    wait_for(
        lambda: json.loads(b.cli("following", "bob", "--json").stdout)[0]["state"] == "accepted"
    )
    a.cli("user", "set", "alice", "cooling-off", "4s")
    for n in range(8):
        a.cli("post", "alice", f"post number {n}")
    creates = select(func.count(func.distinct(InboundActivity.uri))).where(
        InboundActivity.activity_type == "Create"
    )
    # Kill the sender around the first release time, mid-work.
    await asyncio.sleep(2.5)
    a.kill()
    a.start()
    assert await _poll(b.database_url, creates, 8) == 8
    pending = select(func.count()).select_from(Delivery).where(Delivery.state != "done")
    assert await _poll(a.database_url, pending, 0) == 0
