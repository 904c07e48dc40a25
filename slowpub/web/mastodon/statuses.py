"""Mastodon API: statuses and scheduled statuses, onto the posting service.

A new status is accepted at once and cools: the answer is the Status,
visible to its author only, with its release time in ``slowpub.release_at``.
Every cooling item is also a ScheduledStatus, so apps with a scheduled-posts
screen show the queue and can move or cancel it.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from slowpub.auth.access import require_auth
from slowpub.outbound.posting import (
    Draft,
    PostingError,
    cancel_item,
    create_post,
    delete_item,
    edit_item,
)
from slowpub.storage.models import IdempotencyKey, Post, QueueItem, RemotePost, User
from slowpub.web.api_util import api_json, not_found, params, unprocessable
from slowpub.web.mastodon import entities
from slowpub.web.mastodon.lookups import (
    Found,
    can_see,
    find_status,
    find_status_by_uri,
    has_item,
    is_bookmarked,
)
from slowpub.web.responses import ctx_of

VISIBILITY_IN = {
    "public": "public",
    "unlisted": "unlisted",
    "private": "followers",
    "direct": "direct",
}


def parse_time(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise unprocessable("scheduled_at is not an ISO 8601 time") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def _reply_ids(request: Request, uri: str | None) -> tuple[str | None, str | None]:
    """(in_reply_to_id, in_reply_to_account_id): apps thread replies by these;
    only a parent this server holds has ids."""
    if not uri:
        return None, None
    async with ctx_of(request).db.sessions() as session:
        parent = await find_status_by_uri(session, uri)
    if parent is None:
        return None, None
    post = parent.local or parent.remote
    if parent.author is not None:
        account = str(parent.author.actor.public_id)
    else:
        account = str(parent.remote.author.public_id) if parent.remote else None
    return (str(post.public_id) if post else None), account


async def status_json(request: Request, found: Found, viewer: User | None) -> dict[str, Any]:
    """The Status entity for a local or remote post, as this viewer may see it."""
    data = await _status_entity(request, found, viewer)
    if viewer is not None:
        async with ctx_of(request).db.sessions() as session:
            data["bookmarked"] = await is_bookmarked(session, viewer, found.uri)
    return data


async def _status_entity(request: Request, found: Found, viewer: User | None) -> dict[str, Any]:
    ctx = ctx_of(request)
    if found.local is not None:
        assert found.author is not None
        return entities.local_status(
            ctx.settings,
            found.local,
            found.author,
            found.item,
            reply_ids=await _reply_ids(request, found.local.in_reply_to),
            viewer_is_author=viewer is not None and viewer.id == found.author.id,
        )
    assert found.remote is not None
    data = entities.remote_status(ctx.settings, found.remote)
    data["in_reply_to_id"], data["in_reply_to_account_id"] = await _reply_ids(
        request, found.remote.in_reply_to
    )
    if viewer is not None:
        async with ctx.db.sessions() as session:
            mine = select(QueueItem.kind).where(
                QueueItem.user_id == viewer.id,
                QueueItem.object_uri == found.remote.uri,
                QueueItem.state.in_(("cooling", "released")),
            )
            kinds = set((await session.execute(mine)).scalars())
        data["favourited"] = "like" in kinds
        data["reblogged"] = "announce" in kinds
    return data


async def load_status(request: Request, viewer: User | None) -> Found:
    async with ctx_of(request).db.sessions() as session:
        found = await find_status(session, request.path_params["id"])
        if found is None:
            raise not_found()
        visible = can_see(found, viewer, await has_item(session, viewer, found.remote))
    if not visible:
        raise not_found()
    return found


def posting_error(exc: PostingError) -> HTTPException:
    return unprocessable(str(exc))


async def create_status(request: Request) -> Response:
    token = await require_auth(request, "write:statuses")
    assert token.user is not None
    data = await params(request)
    key = (request.headers.get("idempotency-key") or "")[:255]
    if not key:
        return await _create_once(request, data, token.user, None)
    # One request per key at a time in this process; across processes the
    # primary key on (user, key) decides, and the loser withdraws its copy.
    lock = _IDEMPOTENCY_LOCKS.setdefault((token.user.id, key), asyncio.Lock())
    try:
        async with lock:
            return await _create_once(request, data, token.user, key)
    finally:
        if not lock.locked():
            _IDEMPOTENCY_LOCKS.pop((token.user.id, key), None)


_IDEMPOTENCY_LOCKS: dict[tuple[int, str], asyncio.Lock] = {}


async def _create_once(
    request: Request, data: dict[str, Any], user: User, key: str | None
) -> Response:
    ctx = ctx_of(request)
    token_user = user
    if key:
        async with ctx.db.sessions() as session:
            seen = await session.get(IdempotencyKey, (user.id, key))
        if seen is not None:
            return await _answer_for_item(request, seen.queue_item_id, user)
    if data.get("media_ids"):
        raise unprocessable("media attachments are not supported by this server")
    if data.get("poll"):
        raise unprocessable("polls are not supported by this server")
    text = str(data.get("status") or "")
    visibility = VISIBILITY_IN.get(str(data.get("visibility") or "public"))
    if visibility is None:
        raise unprocessable("visibility must be public, unlisted, private or direct")
    in_reply_to = None
    if data.get("in_reply_to_id"):
        async with ctx.db.sessions() as session:
            parent = await find_status(session, str(data["in_reply_to_id"]))
            visible = parent is not None and can_see(
                parent, user, await has_item(session, user, parent.remote)
            )
        if parent is None or not visible:
            raise not_found()
        in_reply_to = parent.uri
    scheduled = parse_time(data.get("scheduled_at"))
    draft = Draft(
        text=text,
        visibility=visibility,
        in_reply_to=in_reply_to,
        cw=str(data.get("spoiler_text") or "") or None,
        not_before=scheduled,
    )
    try:
        item = await create_post(ctx, token_user.username, draft)
    except PostingError as exc:
        raise posting_error(exc) from exc
    if key:
        try:
            async with ctx.db.transaction() as session:
                session.add(
                    IdempotencyKey(
                        user_id=token_user.id,
                        key=key,
                        queue_item_id=item.id,
                        created_at=ctx.clock.now(),
                    )
                )
        except IntegrityError:
            # Another process stored this key first: ours is the duplicate.
            await cancel_item(ctx, item.id)
            async with ctx.db.sessions() as session:
                seen = await session.get(IdempotencyKey, (token_user.id, key))
            assert seen is not None
            return await _answer_for_item(request, seen.queue_item_id, token_user)
    if scheduled is not None:
        # Mastodon answers a scheduled post with a ScheduledStatus.
        return await scheduled_answer(request, item.id)
    return await _answer_for_item(request, item.id, token_user)


async def _answer_for_item(request: Request, item_id: int, viewer: User) -> Response:
    async with ctx_of(request).db.sessions() as session:
        item = await session.get(QueueItem, item_id)
        post = await session.get(Post, item.post_id) if item and item.post_id else None
        if post is None:
            raise not_found()
        found = await find_status(session, str(post.public_id))
    assert found is not None
    return api_json(await status_json(request, found, viewer))


async def show_status(request: Request) -> Response:
    viewer = None
    if request.headers.get("authorization"):
        viewer = (await require_auth(request, "read:statuses", user_required=False)).user
    found = await load_status(request, viewer)
    return api_json(await status_json(request, found, viewer))


async def delete_status(request: Request) -> Response:
    token = await require_auth(request, "write:statuses")
    found = await load_status(request, token.user)
    if found.local is None or found.item is None or found.author.id != token.user.id:  # type: ignore[union-attr]
        raise not_found()
    answer = await status_json(request, found, token.user)
    answer["text"] = found.local.source
    try:
        withdrawal = await delete_item(ctx_of(request), found.item.id)
    except PostingError as exc:
        raise posting_error(exc) from exc
    answer["slowpub"]["cancelled_replies"] = entities.cancelled_replies(withdrawal)
    return api_json(answer)


async def edit_status(request: Request) -> Response:
    token = await require_auth(request, "write:statuses")
    found = await load_status(request, token.user)
    if found.local is None or found.item is None or found.author.id != token.user.id:  # type: ignore[union-attr]
        raise not_found()
    data = await params(request)
    if data.get("media_ids"):
        raise unprocessable("media attachments are not supported by this server")
    try:
        item = await edit_item(
            ctx_of(request),
            found.item.id,
            str(data.get("status") or ""),
            # Mastodon clears the content warning when an edit leaves it out.
            cw=str(data.get("spoiler_text") or ""),
        )
    except PostingError as exc:
        raise posting_error(exc) from exc
    found = await load_status(request, token.user)
    answer = await status_json(request, found, token.user)
    if item.kind == "update":
        answer["slowpub"]["pending_edit"] = {
            "queue_id": str(item.id),
            "release_at": entities.iso(item.release_at),
        }
    return api_json(answer)


async def source(request: Request) -> Response:
    """What edit screens load: the plain text and content warning of your own post."""
    token = await require_auth(request, "read:statuses")
    found = await load_status(request, token.user)
    if found.local is None or found.author is None or found.author.id != token.user.id:  # type: ignore[union-attr]
        raise not_found()
    return api_json(
        {
            "id": str(found.local.public_id),
            "text": found.local.source,
            "spoiler_text": found.local.summary or "",
        }
    )


async def history(request: Request) -> Response:
    """Edit history: slowpub keeps only the current version, so one entry."""
    viewer = None
    if request.headers.get("authorization"):
        viewer = (await require_auth(request, "read:statuses", user_required=False)).user
    status = await status_json(request, await load_status(request, viewer), viewer)
    return api_json(
        [
            {
                "content": status["content"],
                "spoiler_text": status["spoiler_text"],
                "sensitive": status["sensitive"],
                "created_at": status["edited_at"] or status["created_at"],
                "account": status["account"],
                "poll": status["poll"],
                "media_attachments": status["media_attachments"],
                "emojis": [],
            }
        ]
    )


async def context(request: Request) -> Response:
    viewer = None
    if request.headers.get("authorization"):
        viewer = (await require_auth(request, "read:statuses", user_required=False)).user
    found = await load_status(request, viewer)
    ancestors: list[dict[str, Any]] = []
    descendants: list[dict[str, Any]] = []
    # Released replies, and the viewer's own cooling ones (a thread written while it cools).
    local_visible = Post.state == "released"
    if viewer is not None:
        local_visible = local_visible | ((Post.state == "cooling") & (Post.user_id == viewer.id))
    async with ctx_of(request).db.sessions() as session:
        parent_uri = (found.local or found.remote).in_reply_to  # type: ignore[union-attr]
        seen = {found.uri}
        while parent_uri and parent_uri not in seen and len(ancestors) < 40:
            seen.add(parent_uri)
            parent = await find_status_by_uri(session, parent_uri)
            if parent is None or not can_see(
                parent, viewer, await has_item(session, viewer, parent.remote)
            ):
                break
            ancestors.insert(0, parent)  # type: ignore[arg-type]
            parent_uri = (parent.local or parent.remote).in_reply_to  # type: ignore[union-attr]
        frontier = [found.uri]
        while frontier and len(descendants) < 60:
            uri = frontier.pop(0)
            children = list(
                (
                    await session.execute(select(RemotePost).where(RemotePost.in_reply_to == uri))
                ).scalars()
            ) + list(
                (
                    await session.execute(
                        select(Post).where(Post.in_reply_to == uri, local_visible)
                    )
                ).scalars()
            )
            for child in children:
                child_found = await find_status_by_uri(session, child.uri)
                if child_found and can_see(
                    child_found, viewer, await has_item(session, viewer, child_found.remote)
                ):
                    descendants.append(child_found)  # type: ignore[arg-type]
                    frontier.append(child.uri)
    return api_json(
        {
            "ancestors": [await status_json(request, f, viewer) for f in ancestors],  # type: ignore[arg-type]
            "descendants": [await status_json(request, f, viewer) for f in descendants],  # type: ignore[arg-type]
        }
    )


async def scheduled_answer(request: Request, item_id: int) -> Response:
    async with ctx_of(request).db.sessions() as session:
        item = await session.get(QueueItem, item_id)
        post = await session.get(Post, item.post_id) if item and item.post_id else None
    if item is None or post is None:
        raise not_found()
    return api_json(entities.scheduled_status(post, item))


routes = [
    Route("/api/v1/statuses", create_status, methods=["POST"]),
    Route("/api/v1/statuses/{id}", show_status, methods=["GET"]),
    Route("/api/v1/statuses/{id}", delete_status, methods=["DELETE"]),
    Route("/api/v1/statuses/{id}", edit_status, methods=["PUT"]),
    Route("/api/v1/statuses/{id}/context", context, methods=["GET"]),
    Route("/api/v1/statuses/{id}/source", source, methods=["GET"]),
    Route("/api/v1/statuses/{id}/history", history, methods=["GET"]),
]
