"""Mastodon API: what the user kept, bookmarks and favourites, listed newest first.

Bookmarks are private to the user and never federate; favourites are the
user's likes, cooling or released (a withdrawn like is not a favourite).
Both list only statuses the user may still see, paged by when they were kept.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from slowpub.auth.access import require_auth
from slowpub.storage.models import Bookmark, QueueItem, User
from slowpub.web.api_util import api_json, limit_of, link_header
from slowpub.web.mastodon.accounts import _page, newest_first
from slowpub.web.mastodon.lookups import can_see, find_status_by_uri, has_item
from slowpub.web.mastodon.statuses import load_status, status_json
from slowpub.web.responses import ctx_of


async def _listing(request: Request, user: User, query: Any, column: Any) -> Response:
    """Statuses named by (row id, uri) rows, as one page with Mastodon's Link header."""
    ctx = ctx_of(request)
    query = _page(query, column, request.query_params, limit_of(request.query_params))
    statuses = []
    async with ctx.db.sessions() as session:
        rows = newest_first(list((await session.execute(query)).all()), request.query_params)
        found = []
        for _, uri in rows:
            status = await find_status_by_uri(session, uri)
            if status is not None and can_see(
                status, user, await has_item(session, user, status.remote)
            ):
                found.append(status)
    statuses = [await status_json(request, f, user) for f in found]
    ids = [row_id for row_id, _ in rows]
    return api_json(statuses, headers=link_header(request, ids, ctx.settings.base_url))


async def bookmarks(request: Request) -> Response:
    token = await require_auth(request, ("read", "read:bookmarks"))
    assert token.user is not None
    query = select(Bookmark.id, Bookmark.object_uri).where(Bookmark.user_id == token.user.id)
    return await _listing(request, token.user, query, Bookmark.id)


async def favourites(request: Request) -> Response:
    token = await require_auth(request, ("read", "read:favourites"))
    assert token.user is not None
    query = select(QueueItem.id, QueueItem.object_uri).where(
        QueueItem.user_id == token.user.id,
        QueueItem.kind == "like",
        QueueItem.state.in_(("cooling", "released")),
    )
    return await _listing(request, token.user, query, QueueItem.id)


async def _mark(request: Request, keep: bool) -> Response:
    token = await require_auth(request, ("write", "write:bookmarks"))
    assert token.user is not None
    ctx = ctx_of(request)
    found = await load_status(request, token.user)
    try:
        async with ctx.db.transaction() as session:
            mine = (Bookmark.user_id == token.user.id) & (Bookmark.object_uri == found.uri)
            existing = (await session.execute(select(Bookmark.id).where(mine))).first()
            if keep and existing is None:
                now = ctx.clock.now()
                session.add(Bookmark(user_id=token.user.id, object_uri=found.uri, created_at=now))
            elif not keep:
                await session.execute(delete(Bookmark).where(mine))
    except IntegrityError:
        pass  # the same bookmark made twice at once: it exists, as asked
    return api_json(await status_json(request, found, token.user))


async def bookmark(request: Request) -> Response:
    return await _mark(request, True)


async def unbookmark(request: Request) -> Response:
    return await _mark(request, False)


routes = [
    Route("/api/v1/bookmarks", bookmarks, methods=["GET"]),
    Route("/api/v1/favourites", favourites, methods=["GET"]),
    Route("/api/v1/statuses/{id}/bookmark", bookmark, methods=["POST"]),
    Route("/api/v1/statuses/{id}/unbookmark", unbookmark, methods=["POST"]),
]
