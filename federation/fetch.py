"""Fetching remote documents and delivering activities, safely.

Remote URLs are attacker-chosen, so every hop is checked (scheme, address),
redirects are followed by hand (each hop re-checked and re-signed), bodies are
streamed and capped, the whole fetch has a deadline, and ActivityPub
documents must carry an ActivityPub content type — Mastodon 4.2.5 added that
check to close CVE-2024-23832, where an uploaded file on the victim's host
impersonated an actor. The same fix trusts a document only for the origin it
was finally served from: an open redirect on one host must not let another
host speak for it, so :func:`signed_get` refuses a document whose ``id`` is
on another origin than the URL the redirects ended on.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urljoin

import httpx

from federation.errors import (
    ContentTypeError,
    FetchError,
    OriginMismatchError,
    ResponseTooLargeError,
    TooManyRedirectsError,
)
from federation.netguard import check_url
from federation.signatures import sign_request
from federation.vocab import (
    AP_ACCEPT,
    AP_CONTENT_TYPE,
    is_ap_content_type,
    parse_media_type,
    same_origin,
)

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
# Seconds for a whole fetch: every hop, every header and all of the body.
# httpx's timeouts are per read, so a server dripping a byte every few
# seconds would otherwise hold the caller as long as it likes. 30 s is
# Mastodon's own read deadline for the same reason.
FETCH_DEADLINE = 30.0

ContentTypePredicate = Callable[[str | None], bool]
# Given (url, headers) returns the headers to send for that hop.
HopSigner = Callable[[str, dict[str, str]], dict[str, str]]


def is_json_content_type(content_type: str | None) -> bool:
    """``application/json`` or any ``+json`` type (JRD, NodeInfo, AP)."""
    if not content_type:
        return False
    media, _ = parse_media_type(content_type)
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


async def _read_capped(response: httpx.Response, max_bytes: int) -> bytes:
    declared = response.headers.get("content-length")
    if declared and declared.isascii() and declared.isdigit() and int(declared) > max_bytes:
        raise ResponseTooLargeError(
            f"response declares {declared} bytes", status=response.status_code
        )
    chunks: list[bytes] = []
    size = 0
    # aiter_bytes decodes gzip/br, so the cap also bounds decompression bombs.
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise ResponseTooLargeError(
                f"response exceeds {max_bytes} bytes", status=response.status_code
            )
        chunks.append(chunk)
    return b"".join(chunks)


async def fetch_bytes(
    client: httpx.AsyncClient,
    url: str,
    *,
    allow_private: bool,
    accept: str,
    max_bytes: int,
    max_redirects: int = 3,
    content_type_ok: ContentTypePredicate | None = None,
    signer: HopSigner | None = None,
    deadline: float | None = FETCH_DEADLINE,
) -> tuple[str, str | None, bytes]:
    """GET ``url`` following redirects by hand; returns (final_url, content_type, body).

    The whole fetch must end within ``deadline`` seconds (``None``: no limit).
    """
    try:
        async with asyncio.timeout(deadline):
            return await _follow(
                client,
                url,
                allow_private=allow_private,
                accept=accept,
                max_bytes=max_bytes,
                max_redirects=max_redirects,
                content_type_ok=content_type_ok,
                signer=signer,
            )
    except TimeoutError as exc:
        raise FetchError(f"GET {url} did not complete within {deadline:g} s") from exc


async def _follow(
    client: httpx.AsyncClient,
    url: str,
    *,
    allow_private: bool,
    accept: str,
    max_bytes: int,
    max_redirects: int,
    content_type_ok: ContentTypePredicate | None,
    signer: HopSigner | None,
) -> tuple[str, str | None, bytes]:
    current = url
    for _hop in range(max_redirects + 1):
        check_url(current, allow_private=allow_private)
        headers = {"Accept": accept}
        if signer is not None:
            headers = signer(current, headers)
        request = client.build_request("GET", current, headers=headers)
        try:
            response = await client.send(request, stream=True, follow_redirects=False)
        except httpx.HTTPError as exc:
            raise FetchError(f"GET {current} failed: {exc!r}") from exc
        try:
            status = response.status_code
            if status in _REDIRECTS:
                location = response.headers.get("location")
                if not location:
                    raise FetchError(f"redirect without Location from {current}", status=status)
                current = urljoin(current, location)
                continue
            if not 200 <= status < 300:
                raise FetchError(f"GET {current} answered {status}", status=status)
            content_type = response.headers.get("content-type")
            if content_type_ok is not None and not content_type_ok(content_type):
                raise ContentTypeError(
                    f"GET {current} returned unexpected content type {content_type!r}",
                    status=status,
                )
            try:
                body = await _read_capped(response, max_bytes)
            except httpx.HTTPError as exc:
                raise FetchError(f"reading {current} failed: {exc!r}", status=status) from exc
            return current, content_type, body
        finally:
            await response.aclose()
    raise TooManyRedirectsError(f"more than {max_redirects} redirects from {url}")


def _parse_object(final_url: str, body: bytes) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise FetchError(f"{final_url} did not return valid JSON") from exc
    if not isinstance(document, dict):
        raise FetchError(f"{final_url} did not return a JSON object")
    return document


async def fetch_json(
    client: httpx.AsyncClient,
    url: str,
    *,
    allow_private: bool,
    accept: str = "application/json",
    max_bytes: int = 1024 * 1024,
    max_redirects: int = 3,
    content_type_ok: ContentTypePredicate = is_json_content_type,
    deadline: float | None = FETCH_DEADLINE,
) -> tuple[str, dict[str, Any]]:
    """Unsigned GET of a JSON object (WebFinger JRD, NodeInfo); returns (final_url, doc)."""
    final_url, _, body = await fetch_bytes(
        client,
        url,
        allow_private=allow_private,
        accept=accept,
        max_bytes=max_bytes,
        max_redirects=max_redirects,
        content_type_ok=content_type_ok,
        deadline=deadline,
    )
    return final_url, _parse_object(final_url, body)


async def signed_get(
    client: httpx.AsyncClient,
    url: str,
    *,
    key_id: str | None,
    private_key_pem: str | None,
    allow_private: bool,
    accept: str = AP_ACCEPT,
    max_bytes: int = 1024 * 1024,
    max_redirects: int = 3,
    now: datetime | None = None,
    deadline: float | None = FETCH_DEADLINE,
) -> tuple[str, dict[str, Any]]:
    """Fetch an ActivityPub object, signing each hop when a key is given.

    Servers in authorized-fetch mode (and GoToSocial always) refuse unsigned
    GETs. The document's ``id`` must be on the origin of the final URL
    (``OriginMismatchError`` otherwise), whatever was asked for: the caller
    may trust the object for that origin, and must still check that what it
    names (an author, a key owner) is on the same origin.
    """
    signer: HopSigner | None = None
    if key_id is not None and private_key_pem is not None:
        signing_key_id, signing_pem = key_id, private_key_pem

        def signer(hop_url: str, headers: dict[str, str]) -> dict[str, str]:
            return sign_request(
                "GET",
                hop_url,
                headers,
                None,
                key_id=signing_key_id,
                private_key_pem=signing_pem,
                now=now,
            )

    final_url, _, body = await fetch_bytes(
        client,
        url,
        allow_private=allow_private,
        accept=accept,
        max_bytes=max_bytes,
        max_redirects=max_redirects,
        content_type_ok=is_ap_content_type,
        signer=signer,
        deadline=deadline,
    )
    document = _parse_object(final_url, body)
    ident = document.get("id")
    if not isinstance(ident, str) or not same_origin(ident, final_url):
        raise OriginMismatchError(
            f"{url} ended on {final_url}, which served an object of another host ({ident!r})"
        )
    return final_url, document


async def signed_post(
    client: httpx.AsyncClient,
    url: str,
    body: bytes,
    *,
    key_id: str,
    private_key_pem: str,
    allow_private: bool,
    content_type: str = AP_CONTENT_TYPE,
    now: datetime | None = None,
) -> httpx.Response:
    """Deliver ``body`` to an inbox; returns the response whatever its status.

    Network failures become ``FetchError(status=None)`` so delivery code can
    treat every failure through one type and decide retries itself.
    """
    check_url(url, allow_private=allow_private)
    headers = sign_request(
        "POST",
        url,
        {"Content-Type": content_type, "Accept": AP_ACCEPT},
        body,
        key_id=key_id,
        private_key_pem=private_key_pem,
        now=now,
    )
    try:
        return await client.post(url, content=body, headers=headers, follow_redirects=False)
    except httpx.HTTPError as exc:
        raise FetchError(f"POST {url} failed: {exc!r}") from exc
