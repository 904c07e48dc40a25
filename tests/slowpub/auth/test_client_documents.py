"""Issue 9.8: naming any URL as client_id must neither store a client nor let a
stranger make us fetch at will.

``GET /oauth/authorize?client_id=<URL>`` needs no login, so every request is
an attacker's: these tests send them and count the rows stored and the
requests that reach the named host.
"""

from __future__ import annotations

import asyncio
import html
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from slowpub.auth import client_documents
from slowpub.storage.models import OAuthApp

REPEATS = 50


@pytest.fixture
async def client(alpha):
    transport = httpx.ASGITransport(app=alpha.app)
    async with httpx.AsyncClient(transport=transport, base_url="https://alpha.test") as http:
        yield http


def authorize_params(client_id: str, redirect_uri: str = "https://app.example/cb") -> dict:
    return {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
    }


async def app_rows(alpha) -> int:
    async with alpha.ctx.db.sessions() as session:
        return (await session.execute(select(func.count()).select_from(OAuthApp))).scalar_one()


def requests_to(network, host: str) -> int:
    return sum(1 for r in network.transport.requests if r.url.host == host)


def document(client_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "client_id": client_id,
        "client_name": "Real App",
        "redirect_uris": ["https://app.example/cb"],
        "token_endpoint_auth_method": "none",
        **extra,
    }


async def test_unreachable_client_id_stores_nothing_and_is_fetched_once(
    network, alpha, client
) -> None:
    client_id = "https://nowhere.example/client.json"
    pages = [
        await client.get("/oauth/authorize", params=authorize_params(client_id))
        for _ in range(REPEATS)
    ]
    assert await app_rows(alpha) == 0
    assert requests_to(network, "nowhere.example") == 1
    assert {page.status_code for page in pages} == {400}
    assert not any("location" in page.headers for page in pages)
    assert f"The client's metadata document {client_id}: it could not be fetched" in (
        html.unescape(pages[0].text)
    )
    assert "not fetched again yet" in html.unescape(pages[-1].text)

    # The memory is a window, not a ban: a few minutes later it is asked again.
    network.clock.advance(client_documents.FAILED_TTL + timedelta(seconds=1))
    await client.get("/oauth/authorize", params=authorize_params(client_id))
    assert requests_to(network, "nowhere.example") == 2
    assert await app_rows(alpha) == 0


async def test_pages_that_are_no_client_document_store_nothing(network, alpha, client) -> None:
    async def serve(request: Request) -> Response:
        if request.url.path == "/page":
            return HTMLResponse("<html>hello</html>")
        if request.url.path == "/liar.json":
            return JSONResponse(document("https://pages.example/other.json"))
        if request.url.path == "/no-uris.json":
            return JSONResponse({"client_id": "https://pages.example/no-uris.json"})
        return Response(status_code=404)

    network.transport.add("pages.example", Starlette(routes=[Route("/{p:path}", serve)]))
    reasons = {}
    for path in ("/page", "/liar.json", "/no-uris.json"):
        client_id = f"https://pages.example{path}"
        first = await client.get("/oauth/authorize", params=authorize_params(client_id))
        reasons[path] = html.unescape(first.text)
        for _ in range(REPEATS):
            page = await client.get("/oauth/authorize", params=authorize_params(client_id))
            assert (first.status_code, page.status_code) == (400, 400)
    assert requests_to(network, "pages.example") == 3
    assert await app_rows(alpha) == 0
    assert "it could not be fetched" in reasons["/page"]  # not JSON
    assert "its client_id is not the URL it was fetched from" in reasons["/liar.json"]
    assert "it lists no redirect_uris" in reasons["/no-uris.json"]

    # Three failed client_ids on one host: any other id there is refused
    # without asking it, so naming a host's random paths reflects nothing.
    for n in range(REPEATS):
        client_id = f"https://pages.example/random{n}"
        page = await client.get("/oauth/authorize", params=authorize_params(client_id))
        assert page.status_code == 400
        assert "pages.example failed moments ago" in html.unescape(page.text)
    assert requests_to(network, "pages.example") == 3
    assert await app_rows(alpha) == 0


async def test_a_valid_document_is_stored_and_not_refetched_on_every_visit(
    network, alpha, client
) -> None:
    client_id = "https://app.example/client.json"

    async def serve(request: Request) -> Response:
        return JSONResponse(document(client_id))

    network.transport.add("app.example", Starlette(routes=[Route("/client.json", serve)]))
    for _ in range(REPEATS):
        page = await client.get("/oauth/authorize", params=authorize_params(client_id))
        assert page.status_code == 200, page.text
        assert "Real App" in page.text
    assert await app_rows(alpha) == 1
    assert requests_to(network, "app.example") == 1
    network.clock.advance(client_documents.FRESH_TTL + timedelta(seconds=1))
    assert (
        await client.get("/oauth/authorize", params=authorize_params(client_id))
    ).status_code == 200
    assert requests_to(network, "app.example") == 2


async def test_simultaneous_requests_for_one_client_make_one_fetch(network, alpha, client) -> None:
    client_id = "https://slow.example/client.json"
    arrived = asyncio.Event()
    release = asyncio.Event()

    async def serve(request: Request) -> Response:
        arrived.set()
        await release.wait()
        return JSONResponse(document(client_id))

    network.transport.add("slow.example", Starlette(routes=[Route("/client.json", serve)]))

    async def visit() -> int:
        page = await client.get("/oauth/authorize", params=authorize_params(client_id))
        return page.status_code

    visits = [asyncio.create_task(visit()) for _ in range(20)]
    await arrived.wait()
    for _ in range(20):
        await asyncio.sleep(0)  # let every visit reach the fetch in flight
    release.set()
    assert await asyncio.gather(*visits) == [200] * 20
    assert requests_to(network, "slow.example") == 1
    assert await app_rows(alpha) == 1


async def test_hanging_hosts_get_a_deadline_and_few_slots(
    network, alpha, client, monkeypatch
) -> None:
    monkeypatch.setattr(client_documents, "DOCUMENT_DEADLINE", 0.3)
    active = 0
    most = 0

    async def hang(request: Request) -> Response:
        nonlocal active, most
        active += 1
        most = max(most, active)
        try:
            await asyncio.Event().wait()  # never answers
        finally:
            active -= 1
        return Response()

    hosts = [f"hang{n}.example" for n in range(10)]
    for host in hosts:
        network.transport.add(host, Starlette(routes=[Route("/c.json", hang)]))
    pages = await asyncio.gather(
        *(
            client.get("/oauth/authorize", params=authorize_params(f"https://{host}/c.json"))
            for host in hosts
        )
    )
    assert most <= client_documents.FETCH_SLOTS
    assert {p.status_code for p in pages} <= {400, 503}
    busy = [p for p in pages if p.status_code == 503]
    assert all(p.headers["retry-after"] for p in busy)
    assert await app_rows(alpha) == 0
    # A host that overran the deadline is not asked again for any client_id.
    timed_out = next(
        h for h, p in zip(hosts, pages, strict=True) if "not served within" in html.unescape(p.text)
    )
    before = requests_to(network, timed_out)
    again = await client.get("/oauth/authorize", params=authorize_params(f"https://{timed_out}/x"))
    assert again.status_code == 400
    assert requests_to(network, timed_out) == before
