"""``proxyUrl``: a C2S client fetches a remote object through us, signed as the user."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from federation.errors import FederationError
from federation.fetch import signed_get
from slowpub import urls
from slowpub.auth.access import require_auth
from slowpub.web.c2s.common import error
from slowpub.web.responses import activity_json, ctx_of


async def proxy(request: Request) -> Response:
    """``proxyUrl``: fetch a remote object, signed as the user, under the network guard."""
    token = await require_auth(request, "read")
    assert token.user is not None
    ctx = ctx_of(request)
    form = await request.form()
    target = form.get("id")
    if not isinstance(target, str) or not target.startswith(("https://", "http://")):
        raise error(400, "POST a form field id=<URL of the object>")
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
