"""Mastodon API: scheduled statuses, which are slowpub's cooling queue.

Every post cools, so every post is a scheduled status until it leaves:
listing, reading, moving (``scheduled_at``) and cancelling map onto the
queue through the posting service.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from slowpub.auth.access import require_auth
from slowpub.ids import parse_id
from slowpub.outbound.posting import cancel_item
from slowpub.storage.models import Post, QueueItem
from slowpub.web.api_util import api_json, not_found, params, unprocessable
from slowpub.web.mastodon import entities
from slowpub.web.mastodon.statuses import parse_time, scheduled_answer
from slowpub.web.responses import ctx_of


async def list_scheduled(request: Request) -> Response:
    token = await require_auth(request, "read:statuses")
    assert token.user is not None
    async with ctx_of(request).db.sessions() as session:
        query = (
            select(QueueItem, Post)
            .join(Post, Post.id == QueueItem.post_id)
            .where(QueueItem.user_id == token.user.id, QueueItem.state == "cooling")
            .order_by(QueueItem.release_at, QueueItem.id)
        )
        rows = (await session.execute(query)).all()
    return api_json([entities.scheduled_status(post, item) for item, post in rows])


async def _own_item(request: Request, scope: str) -> tuple[Any, QueueItem]:
    token = await require_auth(request, scope)
    item_id = parse_id(request.path_params["id"])
    async with ctx_of(request).db.sessions() as session:
        item = await session.get(QueueItem, item_id) if item_id is not None else None
    if (
        item is None
        or item.user_id != token.user.id
        or item.state != "cooling"
        or item.post_id is None
    ):  # type: ignore[union-attr]
        raise not_found()
    return token, item


async def show_scheduled(request: Request) -> Response:
    _, item = await _own_item(request, "read:statuses")
    return await scheduled_answer(request, item.id)


async def move_scheduled(request: Request) -> Response:
    _, item = await _own_item(request, "write:statuses")
    data = await params(request)
    moment = parse_time(data.get("scheduled_at"))
    if moment is None:
        raise unprocessable("scheduled_at is required")
    ctx = ctx_of(request)
    async with ctx.db.transaction() as session:
        stored = await session.get(QueueItem, item.id)
        if stored is None or stored.state != "cooling":
            raise not_found()
        stored.release_at = max(moment, ctx.clock.now())
        stored.not_before = stored.release_at  # an edit must not undo the move
    ctx.wakeups.release.set()
    return await scheduled_answer(request, item.id)


async def cancel_scheduled(request: Request) -> Response:
    _, item = await _own_item(request, "write:statuses")
    withdrawal = await cancel_item(ctx_of(request), item.id)
    # Mastodon answers {}; the extension says which cooling replies went too.
    return api_json({"slowpub": {"cancelled_replies": entities.cancelled_replies(withdrawal)}})


routes = [
    Route("/api/v1/scheduled_statuses", list_scheduled, methods=["GET"]),
    Route("/api/v1/scheduled_statuses/{id}", show_scheduled, methods=["GET"]),
    Route("/api/v1/scheduled_statuses/{id}", move_scheduled, methods=["PUT"]),
    Route("/api/v1/scheduled_statuses/{id}", cancel_scheduled, methods=["DELETE"]),
]
