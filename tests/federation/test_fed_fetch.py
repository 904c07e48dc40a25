"""Fetching: content types, size caps, redirects, signing — over MockTransport."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import httpx
import pytest
from fed_helpers import FakeResolver

from federation.errors import (
    BlockedAddressError,
    ContentTypeError,
    FetchError,
    OriginMismatchError,
    ResponseTooLargeError,
    TooManyRedirectsError,
)
from federation.fetch import fetch_json, signed_get, signed_post
from federation.keys import public_key_pem
from federation.verify import PublicKey, verify_request
from federation.vocab import LD_CONTENT_TYPE

ACTOR = "https://remote.example/users/bob"
DOC = {"id": ACTOR, "type": "Person"}
KEY_ID = "https://local.example/actor#main-key"
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
AP = "application/activity+json"

Handler = Callable[[httpx.Request], httpx.Response]


def _client(handler: Handler) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


def _json(content_type: str, doc: object = DOC, status: int = 200) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            status, content=json.dumps(doc).encode(), headers={"Content-Type": content_type}
        )

    return handler


async def _get(handler: Handler, url: str = ACTOR, **kw: object) -> tuple[str, dict[str, object]]:
    async with _client(handler) as client:
        args: dict[str, object] = {"key_id": None, "private_key_pem": None, "allow_private": False}
        args.update(kw)
        return await signed_get(client, url, **args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "content_type",
    ["application/activity+json", "application/activity+json; charset=utf-8", LD_CONTENT_TYPE],
)
async def test_ap_content_types_accepted(content_type: str) -> None:
    assert await _get(_json(content_type)) == (ACTOR, DOC)


@pytest.mark.parametrize(
    "content_type", ["text/html", "application/json", "application/ld+json", "image/png"]
)
async def test_other_content_types_refused(content_type: str) -> None:
    # CVE-2024-23832: a file uploaded to the victim's host must not pass as an actor.
    with pytest.raises(ContentTypeError):
        await _get(_json(content_type))


async def test_non_object_json_refused() -> None:
    with pytest.raises(FetchError):
        await _get(_json("application/activity+json", doc=[1, 2]))


async def test_error_status_carries_status() -> None:
    with pytest.raises(FetchError) as caught:
        await _get(_json("application/activity+json", status=410))
    assert caught.value.status == 410


async def test_size_cap_streamed() -> None:
    big = {"id": ACTOR, "padding": "x" * 5000}
    with pytest.raises(ResponseTooLargeError):
        await _get(_json("application/activity+json", doc=big), max_bytes=1000)

    def chunked(request: httpx.Request) -> httpx.Response:
        # No Content-Length: the cap must hold while streaming.
        stream = httpx.ByteStream(json.dumps(big).encode())
        return httpx.Response(
            200, stream=stream, headers={"Content-Type": "application/activity+json"}
        )

    with pytest.raises(ResponseTooLargeError):
        await _get(chunked, max_bytes=1000)


def _serves_itself(request: httpx.Request) -> httpx.Response:
    """Every URL serves an object whose id is that URL."""
    return _json("application/activity+json", {"id": str(request.url), "type": "Note"})(request)


async def test_deadline_bounds_the_whole_fetch() -> None:
    # Each chunk comes well within any per-read timeout; the body never ends.
    async def drip() -> AsyncIterator[bytes]:
        while True:
            yield b" "
            await asyncio.sleep(0.05)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=drip(), headers={"Content-Type": AP})

    started = time.monotonic()
    with pytest.raises(FetchError, match=r"within 0\.3 s"):
        await _get(handler, deadline=0.3)
    assert time.monotonic() - started < 2


def _redirects(targets: dict[str, str], final: Handler = _serves_itself) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        if url in targets:
            return httpx.Response(302, headers={"Location": targets[url]})
        return final(request)

    return handler


async def test_redirects_followed_and_final_url_returned() -> None:
    handler = _redirects(
        {ACTOR: "/users/bob2", "https://remote.example/users/bob2": "https://cdn.example/b"}
    )
    final, doc = await _get(handler)
    assert final == "https://cdn.example/b"
    assert doc == {"id": "https://cdn.example/b", "type": "Note"}


@pytest.mark.parametrize(
    "served",
    [
        DOC,  # the id asked for, served by the host the redirect went to
        {"id": "https://remote.example:8443/users/bob", "type": "Person"},  # another port
        {"id": "http://cdn.example/b", "type": "Person"},  # another scheme
        {"type": "Person"},  # no id to place at all
    ],
)
async def test_document_not_on_the_final_origin_is_refused(served: dict[str, str]) -> None:
    # An open redirect on remote.example must not let cdn.example speak for it.
    handler = _redirects(
        {ACTOR: "https://cdn.example/b"}, _json("application/activity+json", served)
    )
    with pytest.raises(OriginMismatchError, match="another host"):
        await _get(handler)


async def test_too_many_redirects() -> None:
    chain = {f"https://r.example/{i}": f"https://r.example/{i + 1}" for i in range(10)}
    with pytest.raises(TooManyRedirectsError):
        await _get(_redirects(chain), url="https://r.example/0", max_redirects=3)


@pytest.mark.parametrize(
    "target",
    ["https://127.0.0.1/x", "http://remote.example/x", "https://[::1]/", "file:///etc/passwd"],
)
async def test_redirect_to_private_or_bad_scheme_refused(target: str) -> None:
    with pytest.raises(BlockedAddressError):
        await _get(_redirects({ACTOR: target}))


async def test_initial_private_url_refused_without_request() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("must not be called")

    with pytest.raises(BlockedAddressError):
        await _get(handler, url="https://192.168.0.1/actor")


async def test_signed_get_signs_every_hop(actor_private_pem: str) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if str(request.url) == ACTOR:
            return httpx.Response(301, headers={"Location": "https://other.example/bob"})
        return _serves_itself(request)

    await _get(handler, key_id=KEY_ID, private_key_pem=actor_private_pem, now=NOW)
    assert len(seen) == 2
    resolver = FakeResolver(
        PublicKey(KEY_ID, "https://local.example/actor", public_key_pem(actor_private_pem))
    )
    for request in seen:
        assert request.headers["host"] == request.url.host
        key = await verify_request(
            method="GET",
            url=str(request.url),
            headers=dict(request.headers),
            body=b"",
            resolver=resolver,
            now=NOW,
        )
        assert key.key_id == KEY_ID


async def test_signed_post_verifiable(actor_private_pem: str) -> None:
    captured: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        captured.append(request)
        return httpx.Response(202)

    body = json.dumps({"type": "Create", "actor": "https://local.example/actor"}).encode()
    async with _client(handler) as client:
        response = await signed_post(
            client,
            "https://remote.example/inbox",
            body,
            key_id=KEY_ID,
            private_key_pem=actor_private_pem,
            allow_private=False,
            now=NOW,
        )
    assert response.status_code == 202
    request = captured[0]
    assert request.headers["content-type"] == "application/activity+json"
    assert "digest content-type" in request.headers["signature"]
    resolver = FakeResolver(PublicKey(KEY_ID, "x", public_key_pem(actor_private_pem)))
    await verify_request(
        method="POST",
        url=str(request.url),
        headers=dict(request.headers),
        body=request.content,
        resolver=resolver,
        now=NOW,
    )


async def test_signed_post_returns_error_statuses_and_wraps_network_errors(
    actor_private_pem: str,
) -> None:
    async with _client(lambda request: httpx.Response(503)) as client:
        response = await signed_post(
            client,
            "https://r.example/inbox",
            b"{}",
            key_id=KEY_ID,
            private_key_pem=actor_private_pem,
            allow_private=False,
        )
    assert response.status_code == 503

    def broken(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async with _client(broken) as client:
        with pytest.raises(FetchError) as caught:
            await signed_post(
                client,
                "https://r.example/inbox",
                b"{}",
                key_id=KEY_ID,
                private_key_pem=actor_private_pem,
                allow_private=False,
            )
    assert caught.value.status is None
    with pytest.raises(BlockedAddressError):
        await signed_post(
            client,
            "https://10.0.0.1/inbox",
            b"{}",
            key_id=KEY_ID,
            private_key_pem=actor_private_pem,
            allow_private=False,
        )


async def test_fetch_json_accepts_jrd_and_json() -> None:
    for content_type in ("application/jrd+json", "application/json; charset=utf-8"):
        async with _client(_json(content_type, doc={"links": []})) as client:
            _, doc = await fetch_json(
                client, "https://r.example/.well-known/nodeinfo", allow_private=False
            )
        assert doc == {"links": []}
    async with _client(_json("text/html")) as client:
        with pytest.raises(ContentTypeError):
            await fetch_json(client, "https://r.example/x", allow_private=False)
