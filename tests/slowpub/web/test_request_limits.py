"""What one request may make the server hold: a body cap and a body deadline.

An attacker who can POST anywhere must not make us buffer more than
``MAX_REQUEST_BODY``: the answer is a 413 with a reason, and the server
stops reading, whether the size is declared up front or the body is
streamed (chunked) without a length. The streams below count what the
server actually pulled, which is what its memory would grow by. A body
that dribbles in is abandoned with a 408 once its deadline passes (the
same against a real ``slowpub serve`` in ``commands/test_serve_limits.py``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from tests_support import token_for

from slowpub.config import MAX_REQUEST_BODY
from slowpub.social.accounts import create_user

CHUNK = 64 * 1024
ATTACK = 8 * MAX_REQUEST_BODY  # far over the cap; the server must stop long before

ENDPOINTS = [
    ("/oauth/register", "application/json"),
    ("/oauth/token", "application/x-www-form-urlencoded"),
    ("/oauth/revoke", "application/x-www-form-urlencoded"),
    ("/api/v1/apps", "application/json"),
    ("/api/v1/statuses", "application/json"),
    ("/users/alice/outbox", "application/activity+json"),
    ("/users/alice/inbox", "application/activity+json"),
    ("/login", "application/x-www-form-urlencoded"),
]


class Stream:
    """A request body of ``total`` bytes that remembers how much was read."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.sent < self.total:
            self.sent += CHUNK
            yield b"[" * CHUNK


@pytest.fixture
async def client(alpha):
    await create_user(alpha.ctx, "alice", password="correct horse")
    token = await token_for(alpha, "alice", "correct horse")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=alpha.app),
        base_url=alpha.base_url,
        headers={"Authorization": f"Bearer {token}"},
    ) as client:
        yield client


@pytest.mark.parametrize(("path", "content_type"), ENDPOINTS)
async def test_declared_oversized_body_is_refused_unread(client, path, content_type) -> None:
    body = Stream(ATTACK)
    r = await client.post(
        path,
        content=body,
        headers={"Content-Type": content_type, "Content-Length": str(ATTACK)},
    )
    assert r.status_code == 413, (path, r.status_code, r.text[:200])
    assert "body" in r.json()["error"]
    assert body.sent == 0  # refused on the declared length, before reading


@pytest.mark.parametrize(("path", "content_type"), ENDPOINTS)
async def test_chunked_oversized_body_is_cut_off(client, path, content_type) -> None:
    body = Stream(ATTACK)
    r = await client.post(path, content=body, headers={"Content-Type": content_type})
    assert r.status_code == 413, (path, r.status_code, r.text[:200])
    assert "body" in r.json()["error"]
    assert body.sent <= MAX_REQUEST_BODY + CHUNK  # stopped reading at the cap


async def test_body_at_the_cap_still_reaches_the_route(client) -> None:
    r = await client.post(
        "/oauth/register",
        content=b" " * (MAX_REQUEST_BODY - 2) + b"{}",
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 400  # the route's own answer: no redirect_uris
    assert r.json()["error"] == "invalid_redirect_uri"


async def test_dribbling_body_gets_408(network) -> None:
    alpha = await network.add("alpha.test", body_timeout=0.5)

    async def dribble() -> AsyncIterator[bytes]:
        for _ in range(50):  # five seconds, one byte at a time
            yield b"x"
            await asyncio.sleep(0.1)

    started = time.monotonic()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=alpha.app), base_url=alpha.base_url
    ) as client:
        r = await client.post(
            "/oauth/token",
            content=dribble(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    assert r.status_code == 408, r.text
    assert "in time" in r.json()["error"]
    assert r.headers["connection"] == "close"
    assert time.monotonic() - started < 2
