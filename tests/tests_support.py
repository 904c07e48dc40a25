"""Small helpers shared by the slowpub tests."""

from __future__ import annotations

import json
from typing import Any

import httpx
from sqlalchemy import func, select

from federation.signatures import sign_request
from federation.vocab import AP_CONTENT_TYPE
from slowpub import urls
from slowpub.storage.models import InboundActivity


async def ap_get(client: httpx.AsyncClient, url: str) -> dict[str, Any]:
    r = await client.get(url, headers={"Accept": AP_CONTENT_TYPE})
    assert r.status_code == 200, (url, r.status_code, r.text)
    assert r.headers["content-type"].startswith(AP_CONTENT_TYPE)
    doc: dict[str, Any] = r.json()
    return doc


async def set_user(instance: Any, name: str, **settings: str) -> None:
    """``slowpub user set`` for tests: keys with underscores for dashes."""
    from slowpub.social.accounts import require_user
    from slowpub.social.settings import apply_setting

    async with instance.ctx.db.transaction() as session:
        user = await require_user(session, name)
        for key, value in settings.items():
            apply_setting(user, key.replace("_", "-"), value)


async def settle(*instances: Any) -> None:
    """Run every instance's workers until none has work left."""
    from slowpub.workers import drain

    for _ in range(6):
        for instance in instances:
            await drain(instance.ctx)


async def follows_already(instance: Any, actor_uri: str, username: str = "alice") -> None:
    """``username`` follows the remote actor, accepted (the handshake is tested elsewhere)."""
    from slowpub.inbound.remote_actors import fetch_actor
    from slowpub.social.accounts import require_user
    from slowpub.storage.models import Follow

    remote = await fetch_actor(instance.ctx, actor_uri)
    async with instance.ctx.db.transaction() as s:
        user = await require_user(s, username)
        now = instance.ctx.clock.now()
        s.add(
            Follow(
                follower_id=user.actor_id,
                followed_id=remote.id,
                uri=f"{user.actor.uri}#follows/{remote.id}",
                state="accepted",
                created_at=now,
                updated_at=now,
            )
        )


async def token_for(
    instance: Any, username: str, password: str, scopes: str = "read write follow"
) -> str:
    """A bearer token the way a command-line client gets one: app + password grant."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=instance.app), base_url=instance.base_url
    ) as client:
        app = await client.post(
            "/api/v1/apps",
            data={
                "client_name": "tests",
                "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
                "scopes": scopes,
            },
        )
        assert app.status_code == 200, app.text
        token = await client.post(
            "/oauth/token",
            data={
                "grant_type": "password",
                "username": username,
                "password": password,
                "client_id": app.json()["client_id"],
                "client_secret": app.json()["client_secret"],
                "scope": scopes,
            },
        )
        assert token.status_code == 200, token.text
        access: str = token.json()["access_token"]
        return access


async def followed_by_fake_mastodon(network: Any, alpha: Any) -> tuple[Any, Any]:
    """alice (no cooling-off) on alpha, followed by mary on a fake Mastodon.

    Returns (the fake server, mary); the server's record of received
    activities starts empty (the Accept of the follow is cleared).
    """
    from peers import FakeServer, signed_post

    from slowpub.social.accounts import create_user

    await create_user(alpha.ctx, "alice", password="correct horse")
    await set_user(alpha, "alice", cooling_off="0")
    masto = FakeServer("masto.test")
    network.transport.add("masto.test", masto.app)
    mary = masto.add_actor("mary")
    follow = {
        "id": mary.uri + "#follows/1",
        "type": "Follow",
        "actor": mary.uri,
        "object": "https://alpha.test/users/alice",
    }
    assert (await signed_post(alpha, mary, follow)).status_code == 202
    await settle(alpha)
    masto.received.clear()
    return masto, mary


async def received(instance, kind: str = "Create") -> list[dict]:
    async with instance.ctx.db.sessions() as s:
        rows = (
            await s.execute(
                select(InboundActivity)
                .where(InboundActivity.activity_type == kind)
                .order_by(InboundActivity.id)
            )
        ).scalars()
        return [json.loads(r.body) for r in rows]


INBOX = "https://alpha.test/users/alice/inbox"


def follow_body(actor: str = "https://beta.test/users/bob", n: int = 1) -> dict[str, Any]:
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{actor}#follows/{n}",
        "type": "Follow",
        "actor": actor,
        "object": "https://alpha.test/users/alice",
    }


async def post(
    alpha, bob, body: bytes, *, now=None, tamper=None, url: str = INBOX, sign: bool = True
) -> httpx.Response:
    headers = {"Content-Type": "application/activity+json"}
    if sign:
        headers = sign_request(
            "POST",
            url,
            headers,
            body,
            key_id=urls.key_id(bob.actor.uri),
            private_key_pem=bob.private_key_pem,
            now=now or alpha.ctx.clock.now(),
        )
    if tamper:
        headers, body = tamper(headers, body)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=alpha.app)) as client:
        return await client.post(url, content=body, headers=headers)


async def stored(alpha) -> int:
    async with alpha.ctx.db.sessions() as s:
        return int((await s.execute(select(func.count(InboundActivity.id)))).scalar_one())


async def web_login(web: httpx.AsyncClient, username: str, password: str) -> None:
    """Log in to the owner's pages the way a browser does: the form, its CSRF token."""
    import re

    form = await web.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf is not None, form.text
    r = await web.post(
        "/login", data={"username": username, "password": password, "csrf": csrf.group(1)}
    )
    assert r.status_code == 303, r.text
