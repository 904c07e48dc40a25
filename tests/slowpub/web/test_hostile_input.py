"""Hostile input is answered with a 4xx and a reason, never a 500 and a traceback.

Each case is what an attacker can send without any account: JSON nested
deeper than Python's recursion limit, a signature whose key id names a
host no URL parser accepts, and ids or page numbers that ``str.isdigit``
takes but ``int`` or the database cannot (``"²"``, Arabic-Indic digits,
numbers above BIGINT). The client does not re-raise the app's exceptions,
so a 500 is seen exactly as a remote client would see it. Each test sends
every hostile value to every endpoint it concerns and reports all the
requests that were not refused properly.
"""

from __future__ import annotations

import json
import re

import httpx
import pytest
from tests_support import INBOX, follow_body, set_user, stored, token_for

from federation.signatures import sign_request
from slowpub.social.accounts import create_user

# Under every body cap, far over the recursion limit; and just under it.
NESTED = [b"[" * 200_000, b'{"a":' * 40_000, b"[" * 900 + b"]" * 900]
OVER_BIGINT = str(2**63)  # 19 digits: one more than the largest BIGINT
HUGE = "9" * 30
SUPERSCRIPT = "²"  # isdigit() is True, int() raises
ARABIC_INDIC = "١٢٣"  # isdigit() is True, int() reads 123


@pytest.fixture
async def hostile(alpha, beta):
    await create_user(alpha.ctx, "alice", password="correct horse")
    await set_user(alpha, "alice", publish_graph="on")
    bob = await create_user(beta.ctx, "bob", password="correct horse")
    token = await token_for(alpha, "alice", "correct horse")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=alpha.app, raise_app_exceptions=False),
        base_url=alpha.base_url,
    ) as client:
        form = await client.get("/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
        login = {"username": "alice", "password": "correct horse", "csrf": csrf}
        assert (await client.post("/login", data=login)).status_code == 303
        client.headers["Authorization"] = f"Bearer {token}"
        yield alpha, bob, client


def refusal_problem(r: httpx.Response, *statuses: int) -> str | None:
    """Why ``r`` is not a proper refusal (a listed 4xx with a reason), or None."""
    where = f"{r.request.method} {r.request.url} -> {r.status_code} {r.text[:120]!r}"
    if r.status_code not in statuses:
        return where
    if r.headers.get("content-type", "").startswith("application/json"):
        doc = r.json()
        return None if doc.get("error") or doc.get("error_description") else where
    return None if "not found" in r.text.lower() else where


def signed(alpha, bob, body: bytes, key_id: str) -> dict[str, str]:
    return sign_request(
        "POST",
        INBOX,
        {"Content-Type": "application/activity+json"},
        body,
        key_id=key_id,
        private_key_pem=bob.private_key_pem,
        now=alpha.ctx.clock.now(),
    )


NESTED_ENDPOINTS = [
    ("/inbox", "application/activity+json"),
    ("/users/alice/inbox", "application/activity+json"),
    ("/users/alice/outbox", "application/activity+json"),
    ("/oauth/register", "application/json"),
    ("/oauth/token", "application/json"),
    ("/oauth/revoke", "application/json"),
    ("/api/v1/apps", "application/json"),
    ("/api/v1/statuses", "application/json"),
]


@pytest.mark.parametrize(("path", "content_type"), NESTED_ENDPOINTS)
async def test_deeply_nested_json(hostile, path, content_type) -> None:
    _, _, client = hostile
    problems = []
    for body in NESTED:
        r = await client.post(path, content=body, headers={"Content-Type": content_type})
        problems.append(refusal_problem(r, 400, 401, 413, 422))
    assert [p for p in problems if p] == []


async def test_deeply_nested_json_in_a_signed_activity(hostile) -> None:
    alpha, bob, client = hostile
    start = json.dumps(follow_body())[:-1] + ', "deep": '
    body = (start + "[" * 100_000 + "]" * 100_000 + "}").encode()
    r = await client.post(INBOX, content=body, headers=signed(alpha, bob, body, bob.actor.uri))
    assert refusal_problem(r, 400) is None
    assert await stored(alpha) == 0


BAD_KEY_IDS = [
    "https://exa mple.com/key",
    "https://exa\tmple.com/key",
    "https://example.com:99999/key",
    "https://[not-an-address]/key",
    "https://" + "a" * 300 + ".com/key",
    "https://xn--a.com/key",
    "https://ex<ample>.com/key",
    "https://exa%00mple.com/key",
]


@pytest.mark.parametrize("key_id", BAD_KEY_IDS)
async def test_key_id_no_url_parser_accepts(hostile, key_id) -> None:
    alpha, bob, client = hostile
    body = json.dumps(follow_body()).encode()
    r = await client.post(INBOX, content=body, headers=signed(alpha, bob, body, key_id))
    assert refusal_problem(r, 401) is None
    assert await stored(alpha) == 0


BAD_IDS = [SUPERSCRIPT, ARABIC_INDIC, OVER_BIGINT, HUGE, "-1", "1e3", " 1"]
ID_PATHS = [
    ("GET", "/api/v1/statuses/{}"),
    ("GET", "/api/v1/statuses/{}/context"),
    ("POST", "/api/v1/statuses/{}/favourite"),
    ("DELETE", "/api/v1/statuses/{}"),
    ("GET", "/api/v1/accounts/{}"),
    ("GET", "/api/v1/accounts/{}/statuses"),
    ("POST", "/api/v1/accounts/{}/follow"),
    ("GET", "/api/v1/scheduled_statuses/{}"),
    ("DELETE", "/api/v1/scheduled_statuses/{}"),
    ("GET", "/users/alice/statuses/{}"),
    ("GET", "/bundles/{}"),
]


async def test_bad_ids_in_paths(hostile) -> None:
    _, _, client = hostile
    problems = []
    for method, template in ID_PATHS:
        for bad in BAD_IDS:
            r = await client.request(
                method, template.format(bad), headers={"Accept": "application/json"}
            )
            problems.append(refusal_problem(r, 404))
    assert [p for p in problems if p] == []


async def test_bad_page_numbers(hostile) -> None:
    _, _, client = hostile
    problems = []
    for path in ("/users/alice/outbox", "/users/alice/followers", "/users/alice/inbox"):
        for bad in [*BAD_IDS, "0"]:
            r = await client.get(path, params={"page": bad}, headers={"Accept": "application/json"})
            problems.append(refusal_problem(r, 400))
    assert [p for p in problems if p] == []


async def test_bad_paging_parameters_are_ignored(hostile) -> None:
    """As Mastodon does: a paging parameter that is not a number does not page."""
    _, _, client = hostile
    problems = []
    for path in ("/api/v1/timelines/home", "/api/v1/notifications", "/api/v1/accounts/1/statuses"):
        for name in ("max_id", "since_id", "min_id", "limit"):
            for bad in BAD_IDS:
                r = await client.get(path, params={name: bad})
                if r.status_code not in (200, 404):
                    problems.append(f"{r.request.url} -> {r.status_code} {r.text[:120]!r}")
    assert problems == []
