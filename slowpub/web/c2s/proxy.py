"""``proxyUrl``: a C2S client fetches an object through us, with the user's rights.

A remote object is fetched over the network, signed as the user, under the
network guard. An object or collection of this server is answered in-process
by the very route a direct GET reaches, with the caller's own bearer token:
a signed fetch of our own inbox would be refused (inboxes take tokens, not
signatures), and the outbox would show only its public view.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
from starlette.requests import Request
from starlette.responses import Response

from federation.errors import FederationError
from federation.fetch import signed_get
from federation.vocab import AP_ACCEPT
from slowpub import urls
from slowpub.auth.access import require_auth
from slowpub.config import Settings
from slowpub.web.c2s.common import error
from slowpub.web.responses import activity_json, ctx_of

DEFAULT_PORTS = {"http": ":80", "https": ":443"}


def is_ours(settings: Settings, url: str) -> bool:
    """Whether ``url`` names something of this server (default ports aside)."""
    parts = urlsplit(url)
    netloc = parts.netloc.lower()
    netloc = netloc.removesuffix(DEFAULT_PORTS.get(parts.scheme, "\0"))
    return parts.scheme == settings.scheme and netloc == settings.host


async def _local(request: Request, target: str) -> Response:
    """Our own route's answer to the caller's GET, status and reason included."""
    client = (request.client.host, request.client.port) if request.client else ("127.0.0.1", 0)
    transport = httpx.ASGITransport(app=request.app, client=client)
    headers = {"Accept": AP_ACCEPT, "Authorization": request.headers["authorization"]}
    async with httpx.AsyncClient(transport=transport) as inner:
        answer = await inner.get(target, headers=headers)
    return Response(
        answer.content,
        status_code=answer.status_code,
        media_type=answer.headers.get("content-type", "application/json"),
        headers={"Cache-Control": "private"},
    )


async def proxy(request: Request) -> Response:
    """``proxyUrl``: the object at the form field ``id``, as the user may see it."""
    token = await require_auth(request, "read")
    assert token.user is not None
    ctx = ctx_of(request)
    form = await request.form()
    target = form.get("id")
    if not isinstance(target, str) or not target.startswith(("https://", "http://")):
        raise error(400, "POST a form field id=<URL of the object>")
    if is_ours(ctx.settings, target):
        return await _local(request, target)
    try:
        _, doc = await signed_get(
            ctx.http,
            target,
            key_id=urls.key_id(token.user.actor.uri),
            private_key_pem=token.user.private_key_pem,
            allow_private=ctx.settings.allow_private_networks,
            now=ctx.clock.now(),
        )
    except FederationError as exc:
        raise error(502, f"could not fetch {target}: {exc}") from exc
    return activity_json(doc, vary=False)
