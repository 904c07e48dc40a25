"""Every page carries a strict CSP, nosniff and no-referrer; no page needs inline code.

A sanitizer bug or a template slip must find nothing to execute: the policy
forbids script and every foreign source, and our own pages prove they live
with it (no inline ``<style>``, ``style=`` or ``<script>`` anywhere).
"""

from __future__ import annotations

import re

import httpx
from sqlalchemy import select
from tests_support import set_user

from slowpub.bundles.sealing import seal_now
from slowpub.outbound.posting import Draft, create_post
from slowpub.social.accounts import create_user
from slowpub.storage.models import Post

PAGE_DIRECTIVES = (
    "default-src 'none'",
    "style-src 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
)


def assert_page_headers(r: httpx.Response, *, form_action: bool = True) -> None:
    assert r.headers["content-type"].startswith("text/html"), (r.url, r.status_code)
    policy = r.headers["content-security-policy"]
    for directive in PAGE_DIRECTIVES:
        assert directive in policy, (r.url, policy)
    assert "script-src" not in policy and "unsafe-inline" not in policy
    assert ("form-action 'self'" in policy) is form_action, (r.url, policy)
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["x-frame-options"] == "DENY"
    for inline in ("<script", "<style", " style="):
        assert inline not in r.text, (r.url, inline)


async def test_every_page_has_the_headers(network, alpha) -> None:
    await create_user(alpha.ctx, "alice", password="correct horse")
    await set_user(alpha, "alice", cooling_off="0")
    item = await create_post(alpha.ctx, "alice", Draft("a post to look at"))
    assert item.state == "released"
    bundle = await seal_now(alpha.ctx, "alice")
    html = {"Accept": "text/html"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=alpha.app), base_url="https://alpha.test"
    ) as web:
        pages = [
            await web.get("/"),
            await web.get("/login"),
            await web.get("/users/alice", headers=html),
            await web.get("/@alice", headers=html),
            await web.get("/no/such/page", headers=html),
        ]
        async with alpha.ctx.db.sessions() as s:
            post = (await s.execute(select(Post))).scalar_one()
        path = post.uri.removeprefix("https://alpha.test")
        # A post page shows its author for now (the web issue gives posts a page).
        pages.append(await web.get(path, headers=html, follow_redirects=True))
        form = pages[1]
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
        login = await web.post(
            "/login", data={"username": "alice", "password": "correct horse", "csrf": csrf}
        )
        assert login.status_code == 303
        pages.append(await web.get("/bundles"))
        if bundle is not None:
            pages.append(await web.get(f"/bundles/{bundle.id}"))
        for page in pages:
            assert page.status_code in (200, 404), (page.url, page.status_code)
            assert_page_headers(page)

        app = await web.post(
            "/api/v1/apps",
            data={"client_name": "t", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob"},
        )
        consent = await web.get(
            "/oauth/authorize",
            params={
                "client_id": app.json()["client_id"],
                "redirect_uri": "urn:ietf:wg:oauth:2.0:oob",
                "response_type": "code",
            },
        )
        assert consent.status_code == 200
        # Its form answers with a redirect to the client: no form-action there.
        assert_page_headers(consent, form_action=False)

        css = await web.get("/assets/slowpub.css")
        assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
        assert "body{" in css.text


async def test_documents_are_never_sniffed_or_rendered(network, alpha) -> None:
    await create_user(alpha.ctx, "alice", password="correct horse")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=alpha.app), base_url="https://alpha.test"
    ) as web:
        for r in (
            await web.get("/users/alice", headers={"Accept": "application/activity+json"}),
            await web.get("/.well-known/webfinger?resource=acct:alice@alpha.test"),
            await web.get("/api/v1/instance"),
            await web.get("/api/v1/accounts/verify_credentials"),  # a 401 too
        ):
            assert r.headers["x-content-type-options"] == "nosniff", r.url
            assert r.headers["referrer-policy"] == "no-referrer"
            assert "sandbox" in r.headers["content-security-policy"]
