"""Inbox routes: the per-user inboxes, the shared inbox, the instance actor's.

All three take the same path into :func:`slowpub.inbound.accept.receive`; which inbox
was used does not matter, only who signed and what they sent.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from slowpub.inbound.accept import MAX_BODY, InboxError, receive
from slowpub.social.accounts import get_user
from slowpub.web.responses import ctx_of, json_error


async def _read_body(request: Request) -> bytes:
    """The body, refusing at 1 MiB without reading further."""
    declared = request.headers.get("content-length")
    if declared and declared.isascii() and declared.isdigit() and int(declared) > MAX_BODY:
        raise InboxError(413, "body larger than 1 MiB")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise InboxError(413, "body larger than 1 MiB")
        chunks.append(chunk)
    return b"".join(chunks)


async def inbox_post(request: Request) -> Response:
    ctx = ctx_of(request)
    if "username" in request.path_params:
        async with ctx.db.sessions() as session:
            if await get_user(session, request.path_params["username"]) is None:
                return json_error(404, "no such account here")
    # Signatures cover the public URL, whatever the proxy in front rewrote.
    url = ctx.settings.base_url + request.url.path
    if request.url.query:
        url += "?" + request.url.query
    headers = dict(request.headers)
    headers["host"] = ctx.settings.host
    try:
        body = await _read_body(request)
        await receive(ctx, method="POST", url=url, headers=headers, body=body)
    except InboxError as exc:
        response = json_error(exc.status, exc.reason)
        if exc.retry_after is not None:
            response.headers["Retry-After"] = str(exc.retry_after)
        return response
    return Response(status_code=202)


async def inbox_get(request: Request) -> Response:
    """GET is the owner's C2S view of the inbox: their daily bundles."""
    from slowpub.web.c2s.inbox import inbox_get as bundles

    return await bundles(request)


routes = [
    Route("/inbox", inbox_post, methods=["POST"]),
    Route("/actor/inbox", inbox_post, methods=["POST"]),
    Route("/users/{username}/inbox", inbox_post, methods=["POST"]),
    Route("/users/{username}/inbox", inbox_get, methods=["GET"]),
]
