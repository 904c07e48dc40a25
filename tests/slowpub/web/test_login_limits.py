"""Guessing passwords: limited per address and per account, never on the event loop.

Every attack goes through the three login surfaces as a client would (the
OAuth password grant, the /login form, the login on the consent page), from
addresses set on the in-process transport (what uvicorn hands the app as
``request.client``). Argon2 checks are made observable through
``ctx.password_checks.verify``, the one function every check calls.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import httpx
import pytest
from tests_support import follow_body, post

from slowpub.auth.login_limits import (
    ACCOUNT_LIMIT,
    ACCOUNT_WINDOW,
    ADDRESS_LIMIT,
    ADDRESS_WINDOW,
    MAX_TRACKED,
    LoginLimiter,
    LoginThrottled,
    address_key,
)
from slowpub.auth.password_checks import CONCURRENT_CHECKS
from slowpub.social.accounts import create_user

OOB = "urn:ietf:wg:oauth:2.0:oob"
Attempt = Callable[[httpx.AsyncClient, str, str], Awaitable[httpx.Response]]


@pytest.fixture
async def accounts(alpha):
    await create_user(alpha.ctx, "alice", password="correct horse", email="alice@mail.test")
    await create_user(alpha.ctx, "carol", password="carol's horse")
    return alpha


@pytest.fixture
def checked(alpha) -> list[str]:
    """The hash of every Argon2 check the server makes, in order."""
    hashes: list[str] = []
    checks = alpha.ctx.password_checks
    real = checks.verify

    def counting(password_hash: str, password: str) -> bool:
        hashes.append(password_hash)
        return real(password_hash, password)

    checks.verify = counting
    return hashes


def client_at(alpha, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=alpha.app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="https://alpha.test")


def _hidden(page: str) -> dict[str, str]:
    pairs = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page)
    return {name: html.unescape(value) for name, value in pairs}


async def _app(client: httpx.AsyncClient) -> dict[str, str]:
    r = await client.post(
        "/api/v1/apps",
        data={"client_name": "guesser", "redirect_uris": OOB, "scopes": "read write"},
    )
    assert r.status_code == 200, r.text
    app: dict[str, str] = r.json()
    return app


async def via_password_grant(client: httpx.AsyncClient, login: str, password: str):
    app = await _app(client)
    return await client.post(
        "/oauth/token",
        data={
            "grant_type": "password",
            "username": login,
            "password": password,
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "scope": "read",
        },
    )


async def via_login_form(client: httpx.AsyncClient, login: str, password: str):
    form = await client.get("/login")
    csrf = _hidden(form.text)["csrf"]
    return await client.post("/login", data={"username": login, "password": password, "csrf": csrf})


async def via_consent_page(client: httpx.AsyncClient, login: str, password: str):
    app = await _app(client)
    page = await client.get(
        "/oauth/authorize",
        params={"response_type": "code", "client_id": app["client_id"], "redirect_uri": OOB},
    )
    assert page.status_code == 200, page.text
    form = _hidden(page.text) | {"username": login, "password": password, "decision": "allow"}
    return await client.post("/oauth/authorize", data=form)


SURFACES: dict[str, tuple[Attempt, int, int]] = {
    # how to try, the status of a wrong password, the status of the right one
    "password grant": (via_password_grant, 400, 200),
    "login form": (via_login_form, 401, 303),
    "consent page": (via_consent_page, 401, 200),
}


def _assert_throttled(surface: str, response: httpx.Response) -> int:
    assert response.status_code == 429, response.text
    retry_after = int(response.headers["retry-after"])
    assert 0 < retry_after <= ADDRESS_WINDOW
    if surface == "password grant":
        body = response.json()
        assert body["error"] == "slow_down"
        assert f"try again in {retry_after} seconds" in body["error_description"]
    else:
        assert response.headers["content-type"].startswith("text/html")
        assert "Too many failed logins. Try again in 5 minutes." in response.text
    return retry_after


@pytest.mark.parametrize("surface", list(SURFACES))
async def test_a_flood_from_one_address_gets_429_with_retry_after(
    accounts, checked, surface
) -> None:
    alpha = accounts
    attempt, wrong, right = SURFACES[surface]
    async with client_at(alpha, "203.0.113.7") as guesser:
        for n in range(ADDRESS_LIMIT):
            r = await attempt(guesser, "alice", f"guess number {n}")
            assert r.status_code == wrong, r.text
        assert len(checked) == ADDRESS_LIMIT

        # Past the limit even the right password waits, and costs no check.
        limited = await attempt(guesser, "alice", "correct horse")
        retry_after = _assert_throttled(surface, limited)
        assert len(checked) == ADDRESS_LIMIT
        # Any account, any spelling, from that address.
        assert (await attempt(guesser, "carol", "carol's horse")).status_code == 429
        assert (await attempt(guesser, "alice@mail.test", "x")).status_code == 429

        # Someone else is not affected.
        async with client_at(alpha, "192.0.2.1") as other:
            assert (await attempt(other, "alice", "correct horse")).status_code == right

        # The wait ends when it said it would.
        alpha.ctx.clock.advance(timedelta(seconds=retry_after - 1))
        assert (await attempt(guesser, "alice", "correct horse")).status_code == 429
        alpha.ctx.clock.advance(timedelta(seconds=1))
        assert (await attempt(guesser, "alice", "correct horse")).status_code == right


async def test_an_account_attacked_from_many_addresses_is_limited(accounts) -> None:
    alpha = accounts
    # alice logged in from home before the attack.
    async with client_at(alpha, "192.0.2.10") as home:
        assert (await via_password_grant(home, "alice", "correct horse")).status_code == 200

    for n in range(ACCOUNT_LIMIT):
        async with client_at(alpha, f"198.51.100.{n + 1}") as bot:
            assert (await via_password_grant(bot, "alice", f"guess {n}")).status_code == 400

    async with client_at(alpha, "198.51.100.200") as bot:
        limited = await via_password_grant(bot, "alice", "correct horse")
        assert limited.status_code == 429
        assert 0 < int(limited.headers["retry-after"]) <= ACCOUNT_WINDOW
        # Also by e-mail, and on the web form: it is the account that is limited.
        assert (await via_password_grant(bot, "alice@mail.test", "x")).status_code == 429
        assert (await via_login_form(bot, "alice", "correct horse")).status_code == 429
        # Other accounts are not.
        assert (await via_password_grant(bot, "carol", "carol's horse")).status_code == 200

    # The owner, from an address that logged in before, is not locked out...
    async with client_at(alpha, "192.0.2.10") as home:
        assert (await via_password_grant(home, "alice", "correct horse")).status_code == 200
    # ...and the lock is bounded: an hour after the failures, anyone may try again.
    alpha.ctx.clock.advance(timedelta(seconds=ACCOUNT_WINDOW))
    async with client_at(alpha, "198.51.100.201") as laptop:
        assert (await via_password_grant(laptop, "alice", "correct horse")).status_code == 200


async def test_other_peoples_failures_do_not_block_a_login(accounts) -> None:
    """A shared address (a NAT): carol logged in from it before someone there
    guessed at alice's password; and logging in to one's own account between
    guesses does not buy more guesses."""
    alpha = accounts
    await create_user(alpha.ctx, "mallory", password="mallory's own")
    async with client_at(alpha, "192.0.2.50") as office:
        assert (await via_password_grant(office, "carol", "carol's horse")).status_code == 200
        for n in range(ADDRESS_LIMIT - 1):
            assert (await via_password_grant(office, "alice", f"guess {n}")).status_code == 400
        assert (await via_password_grant(office, "mallory", "mallory's own")).status_code == 200
        assert (await via_password_grant(office, "alice", "guess 9")).status_code == 400
        assert (await via_password_grant(office, "alice", "guess 10")).status_code == 429

        assert (await via_password_grant(office, "carol", "carol's horse")).status_code == 200
        assert (await via_login_form(office, "carol", "carol's horse")).status_code == 303


@pytest.mark.parametrize("surface", ["password grant", "login form"])
async def test_an_unknown_user_costs_the_same_argon2_check(accounts, checked, surface) -> None:
    attempt, wrong, _ = SURFACES[surface]
    async with client_at(accounts, "203.0.113.9") as prober:
        nobody = await attempt(prober, "nobody", "a guess")
        somebody = await attempt(prober, "alice", "a guess")
    assert nobody.status_code == somebody.status_code == wrong
    if surface == "password grant":
        assert nobody.json() == somebody.json()
    # One check each, against hashes of the same kind and cost.
    assert len(checked) == 2
    dummy, alices = checked
    assert dummy != alices
    assert dummy.split("$")[1:4] == alices.split("$")[1:4]  # argon2id, version, m/t/p
    assert dummy.startswith("$argon2id$")


@pytest.fixture
async def held_checks(alpha) -> AsyncIterator[tuple[threading.Event, list[str]]]:
    """Checks that wait (in whatever thread runs them) until released."""
    release = threading.Event()
    events: list[str] = []
    lock = threading.Lock()
    checks = alpha.ctx.password_checks
    real = checks.verify

    def held(password_hash: str, password: str) -> bool:
        with lock:
            events.append("check started")
        release.wait(10)  # never hangs the test, even if run on the loop
        with lock:
            events.append("check finished")
        return real(password_hash, password)

    checks.verify = held
    yield release, events
    release.set()


async def _until(events: list[str], item: str, count: int) -> None:
    for _ in range(1000):
        if events.count(item) >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{item!r} never happened {count} times: {events}")


async def test_the_inbox_is_served_while_a_password_is_checked(accounts, beta, held_checks) -> None:
    alpha = accounts
    release, events = held_checks
    bob = await create_user(beta.ctx, "bob", password="bob's horse")
    async with client_at(alpha, "203.0.113.20") as guesser:
        guess = asyncio.create_task(via_password_grant(guesser, "alice", "a guess"))
        await _until(events, "check started", 1)

        # The check is running: the server still answers others.
        accepted = await post(alpha, bob, json.dumps(follow_body()).encode())
        events.append(f"inbox answered {accepted.status_code}")
        async with client_at(alpha, "192.0.2.30") as reader:
            r = await reader.get("/.well-known/webfinger?resource=acct:alice@alpha.test")
        events.append(f"webfinger answered {r.status_code}")

        release.set()
        assert (await guess).status_code == 400
    assert events == [
        "check started",
        "inbox answered 202",
        "webfinger answered 200",
        "check finished",
    ]


async def test_at_most_a_few_checks_run_at_once(accounts, held_checks) -> None:
    alpha = accounts
    release, events = held_checks
    clients = [client_at(alpha, f"198.51.100.{n}") for n in range(1, 6)]
    guesses = [asyncio.create_task(via_password_grant(c, "alice", "a guess")) for c in clients]
    await _until(events, "check started", CONCURRENT_CHECKS)
    await asyncio.sleep(0.3)  # the others had every chance to start
    assert events.count("check started") == CONCURRENT_CHECKS
    release.set()
    assert [(await g).status_code for g in guesses] == [400] * 5
    assert events.count("check started") == 5
    for c in clients:
        await c.aclose()


def test_the_limiter_stays_bounded_whatever_is_rotated() -> None:
    """Fresh addresses and usernames on every guess only push out stale entries."""
    limiter = LoginLimiter(max_keys=1000)
    for n in range(20_000):
        address = f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"
        attempt = limiter.begin(f"login:{n}", address, now=float(n))
        if n % 2:
            limiter.succeeded(attempt)
    assert len(limiter.addresses) <= 1000 and len(limiter.accounts) <= 1000
    assert limiter.tracked() <= 4 * 1000
    assert MAX_TRACKED == 10_000  # the default: a few MiB at most

    # An account under attack now is not the one pushed out.
    for n in range(ACCOUNT_LIMIT):
        limiter.begin("user:1", f"172.16.0.{n}", now=30_000.0)
    with pytest.raises(LoginThrottled):
        limiter.begin("user:1", "172.16.1.1", now=30_000.0)


def test_an_ipv6_subscriber_is_one_address() -> None:
    assert address_key("2001:db8:1:2::1") == address_key("2001:db8:1:2:ffff::9")
    assert address_key("2001:db8:1:2::1") != address_key("2001:db8:1:3::1")
    assert address_key("::ffff:192.0.2.1") == address_key("192.0.2.1") == "192.0.2.1"
    assert address_key(None) == "unknown"
