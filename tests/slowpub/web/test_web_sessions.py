"""A stolen session cookie stops working when its owner logs out, changes the
password or signs out everywhere; the attacker replays the captured cookie
from a browser of their own."""

from __future__ import annotations

import argparse
import html
import json
import re
from datetime import timedelta

import httpx
import pytest
from tests_support import web_login

from slowpub.commands.accounts import cmd_user_end_sessions, cmd_user_sessions, cmd_user_set
from slowpub.social.accounts import create_user

COOKIE = "slowpub_session"
OOB = "urn:ietf:wg:oauth:2.0:oob"


@pytest.fixture
async def alice(alpha):
    return await create_user(alpha.ctx, "alice", password="correct horse")


def browser(alpha, agent: str = "Firefox/140.0") -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=alpha.app),
        base_url="https://alpha.test",
        headers={"User-Agent": agent},
    )


def replay(alpha, cookie: str) -> httpx.AsyncClient:
    """The attacker's browser, holding only the captured cookie."""
    client = browser(alpha, "curl/8")
    client.cookies.set(COOKIE, cookie, domain="alpha.test")
    return client


async def logged_in(client: httpx.AsyncClient) -> bool:
    r = await client.get("/bundles")
    if r.status_code == 303:
        assert r.headers["location"].startswith("/login")
        return False
    assert r.status_code == 200, r.text
    return True


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None, page
    return html.unescape(found.group(1))


async def post_form(client: httpx.AsyncClient, path: str, **extra: str) -> httpx.Response:
    page = await client.get("/bundles")
    return await client.post(path, data={"csrf": csrf_of(page.text), **extra})


async def consent_mints_a_code(alpha, client: httpx.AsyncClient) -> bool:
    """What a stolen session is worth: an OAuth code for the attacker's app, without a password."""
    app = await client.post(
        "/api/v1/apps", data={"client_name": "evil", "redirect_uris": OOB, "scopes": "read"}
    )
    params = {"response_type": "code", "client_id": app.json()["client_id"], "redirect_uri": OOB}
    page = await client.get("/oauth/authorize", params=params)
    assert page.status_code == 200
    pairs = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text)
    form = {name: html.unescape(value) for name, value in pairs} | {"decision": "allow"}
    answer = await client.post("/oauth/authorize", data=form)
    if answer.status_code == 200 and "logged in as" in page.text:
        return True
    assert answer.status_code == 401 and 'name="password"' in page.text
    return False


async def test_a_cookie_captured_before_logout_is_refused_after_it(alpha, alice) -> None:
    async with browser(alpha) as owner:
        await web_login(owner, "alice", "correct horse")
        captured = owner.cookies[COOKIE]
        async with replay(alpha, captured) as attacker:
            assert await logged_in(attacker)  # the theft works while the session lives

        assert (await post_form(owner, "/logout")).status_code == 303
        assert not await logged_in(owner)

    async with replay(alpha, captured) as attacker:
        assert not await logged_in(attacker)
        assert not await consent_mints_a_code(alpha, attacker)


async def test_a_cookie_captured_before_a_password_change_is_refused_after_it(alpha, alice) -> None:
    async with browser(alpha) as owner:
        await web_login(owner, "alice", "correct horse")
        captured = owner.cookies[COOKIE]
    async with replay(alpha, captured) as attacker:
        assert await logged_in(attacker)
        assert await consent_mints_a_code(alpha, attacker)

    # `slowpub user set alice password ...`
    args = argparse.Namespace(name="alice", key="password", value="a new horse", json=False)
    await cmd_user_set(args, alpha.ctx)

    async with replay(alpha, captured) as attacker:
        assert not await logged_in(attacker)
        assert not await consent_mints_a_code(alpha, attacker)
    async with browser(alpha) as owner:
        await web_login(owner, "alice", "a new horse")
        assert await logged_in(owner)


async def test_sign_out_everywhere_ends_another_browsers_session(alpha, alice) -> None:
    async with browser(alpha, "Firefox/140.0") as laptop, browser(alpha, "Safari/18") as phone:
        await web_login(laptop, "alice", "correct horse")
        await web_login(phone, "alice", "correct horse")
        captured = phone.cookies[COOKIE]

        # Without the form's token nothing happens (another site cannot do this).
        forged = await laptop.post("/logout/everywhere", data={"csrf": "forged"})
        assert forged.status_code == 403
        assert await logged_in(phone)

        page = await laptop.get("/bundles")
        assert 'action="https://alpha.test/logout/everywhere"' in page.text
        ended = await post_form(laptop, "/logout/everywhere")
        assert ended.status_code == 303 and ended.headers["location"] == "/login"
        assert not await logged_in(laptop)
        assert not await logged_in(phone)
    async with replay(alpha, captured) as attacker:
        assert not await logged_in(attacker)


async def test_the_command_line_lists_and_ends_sessions(alpha, alice, capsys) -> None:
    async with browser(alpha, "Firefox/140.0") as laptop, browser(alpha, "Safari/18") as phone:
        await web_login(laptop, "alice", "correct horse")
        await web_login(phone, "alice", "correct horse")
        capsys.readouterr()

        await cmd_user_sessions(argparse.Namespace(name="alice", json=True), alpha.ctx)
        listed = json.loads(capsys.readouterr().out)
        assert sorted(s["user_agent"] for s in listed) == ["Firefox/140.0", "Safari/18"]

        await cmd_user_end_sessions(argparse.Namespace(name="alice", json=False), alpha.ctx)
        assert "2 web session(s) ended" in capsys.readouterr().out
        assert not await logged_in(laptop)
        assert not await logged_in(phone)

        await cmd_user_sessions(argparse.Namespace(name="alice", json=False), alpha.ctx)
        assert "alice has no web session" in capsys.readouterr().out


async def test_a_session_unused_for_30_days_is_over(alpha, alice) -> None:
    async with browser(alpha) as owner:
        await web_login(owner, "alice", "correct horse")
        captured = owner.cookies[COOKIE]
        alpha.ctx.clock.advance(timedelta(days=29))
        assert await logged_in(owner)  # use keeps it alive
    alpha.ctx.clock.advance(timedelta(days=30))
    async with replay(alpha, captured) as attacker:
        assert not await logged_in(attacker)


async def test_a_cookie_from_before_revocable_sessions_is_not_logged_in(alpha, alice) -> None:
    """The old cookie named the user; it must not be honoured after the upgrade."""
    import base64

    from itsdangerous import TimestampSigner

    payload = base64.b64encode(json.dumps({"user": "alice", "csrf": "x"}).encode())
    signer = TimestampSigner(alpha.ctx.settings.secret_key)
    async with replay(alpha, signer.sign(payload).decode()) as attacker:
        assert not await logged_in(attacker)
