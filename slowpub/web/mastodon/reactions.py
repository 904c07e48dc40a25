"""Mastodon API: favourites and boosts, which cool like posts before they leave.

Favouriting or boosting queues a like or an announce through the posting
service; undoing one that is still cooling withdraws it, undoing a released
one sends the Undo at once.
"""

from __future__ import annotations

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from slowpub.auth.access import require_auth
from slowpub.outbound.posting import (
    PostingError,
    delete_item,
    react,
)
from slowpub.storage.models import QueueItem
from slowpub.web.api_util import api_json
from slowpub.web.mastodon.statuses import load_status, posting_error, status_json
from slowpub.web.responses import ctx_of


async def _react(request: Request, kind: str, undo: bool) -> Response:
    scope = "write:favourites" if kind == "like" else "write:statuses"
    token = await require_auth(request, scope)
    assert token.user is not None
    ctx = ctx_of(request)
    found = await load_status(request, token.user)
    if undo:
        async with ctx.db.sessions() as session:
            query = select(QueueItem).where(
                QueueItem.user_id == token.user.id,
                QueueItem.kind == kind,
                QueueItem.object_uri == found.uri,
                QueueItem.state.in_(("cooling", "released")),
            )
            existing = (await session.execute(query)).scalar_one_or_none()
        if existing is not None:
            try:
                await delete_item(ctx, existing.id)
            except PostingError as exc:
                raise posting_error(exc) from exc
    else:
        try:
            await react(
                ctx, token.user.username, "announce" if kind == "announce" else "like", found.uri
            )
        except PostingError as exc:
            raise posting_error(exc) from exc
    return api_json(await status_json(request, await load_status(request, token.user), token.user))


async def favourite(request: Request) -> Response:
    return await _react(request, "like", undo=False)


async def unfavourite(request: Request) -> Response:
    return await _react(request, "like", undo=True)


async def reblog(request: Request) -> Response:
    return await _react(request, "announce", undo=False)


async def unreblog(request: Request) -> Response:
    return await _react(request, "announce", undo=True)


routes = [
    Route("/api/v1/statuses/{id}/favourite", favourite, methods=["POST"]),
    Route("/api/v1/statuses/{id}/unfavourite", unfavourite, methods=["POST"]),
    Route("/api/v1/statuses/{id}/reblog", reblog, methods=["POST"]),
    Route("/api/v1/statuses/{id}/unreblog", unreblog, methods=["POST"]),
]
