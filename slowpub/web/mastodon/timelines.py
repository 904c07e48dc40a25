"""Mastodon API: the home timeline, notifications and markers, from sealed bundles only.

Nothing reaches a client before the user's bundle time: the home timeline
holds the posts (and boosts) of sealed bundles, notifications the replies,
mentions, follows, likes and boosts sealed with them, and a marker keeps
where the user stopped reading.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, select
from sqlalchemy.orm import aliased
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from slowpub.auth.access import require_auth
from slowpub.storage.models import Actor, InboundItem, Marker, Post, QueueItem, RemotePost, User
from slowpub.web.api_util import api_json, as_list, int_param, limit_of, link_header, params
from slowpub.web.mastodon import entities
from slowpub.web.mastodon.accounts import _page, newest_first
from slowpub.web.mastodon.lookups import Found
from slowpub.web.mastodon.statuses import status_json
from slowpub.web.responses import ctx_of

TIMELINE_KINDS = ("post", "reply", "mention", "boost")
NOTIFICATION_TYPES = {
    "reply": "mention",
    "mention": "mention",
    "follow": "follow",
    "follow_request": "follow_request",
    "like": "favourite",
    "share": "reblog",
}


async def home(request: Request) -> Response:
    token = await require_auth(request, "read:statuses")
    assert token.user is not None
    ctx = ctx_of(request)
    # A boost is its own entry (the booster's wrapper); anything else is the post.
    entry_id = case(
        (InboundItem.kind == "boost", InboundItem.public_id), else_=RemotePost.public_id
    )
    async with ctx.db.sessions() as session:
        query = (
            select(InboundItem, RemotePost, entry_id.label("entry_id"))
            .join(RemotePost, RemotePost.id == InboundItem.remote_post_id)
            .where(
                InboundItem.user_id == token.user.id,
                InboundItem.bundle_id.is_not(None),
                InboundItem.kind.in_(TIMELINE_KINDS),
            )
        )
        query = _page(query, entry_id, request.query_params, limit_of(request.query_params) * 2)
        rows = newest_first(list((await session.execute(query)).all()), request.query_params)
        boosters = {
            a.id: a
            for a in (
                await session.execute(
                    select(Actor).where(Actor.id.in_({item.actor_id for item, _, _ in rows}))
                )
            ).scalars()
        }
    entries: list[dict[str, Any]] = []
    seen: set[int] = set()
    for item, remote, entry in rows:
        if entry in seen:
            continue  # one post filed as both mention and post
        seen.add(entry)
        status = await status_json(request, Found(remote=remote), token.user)
        if item.kind == "boost":
            status = {
                **status,
                "id": str(entry),
                "uri": f"{remote.uri}#boosted-by-{item.actor_id}",
                "account": entities.account(ctx.settings, boosters[item.actor_id]),
                "content": "",
                "reblog": status,
                "created_at": entities.iso(item.created_at),
            }
        entries.append(status)
        if len(entries) >= limit_of(request.query_params):
            break
    ids = [int(e["id"]) for e in entries]
    return api_json(entries, headers=link_header(request, ids, ctx.settings.base_url))


async def public(request: Request) -> Response:
    """This server's public posts (slowpub keeps no federated firehose)."""
    viewer = None
    if request.headers.get("authorization"):
        viewer = (await require_auth(request, "read:statuses", user_required=False)).user
    ctx = ctx_of(request)
    if request.query_params.get("remote") in ("true", "1"):
        return api_json([])
    async with ctx.db.sessions() as session:
        query = (
            select(Post, User)
            .join(User, User.id == Post.user_id)
            .where(Post.state == "released", Post.visibility == "public")
        )
        query = _page(query, Post.public_id, request.query_params, limit_of(request.query_params))
        rows = newest_first(list((await session.execute(query)).all()), request.query_params)
        items = {
            item.post_id: item
            for item in (
                await session.execute(
                    select(QueueItem).where(
                        QueueItem.post_id.in_([p.id for p, _ in rows]), QueueItem.kind == "create"
                    )
                )
            ).scalars()
        }
    statuses = [
        await status_json(request, Found(local=post, author=user, item=items.get(post.id)), viewer)
        for post, user in rows
    ]
    ids = [int(s["id"]) for s in statuses]
    return api_json(statuses, headers=link_header(request, ids, ctx.settings.base_url))


async def notifications(request: Request) -> Response:
    token = await require_auth(request, "read:notifications")
    assert token.user is not None
    ctx = ctx_of(request)
    wanted = as_list((await params(request)).get("types")) or list(set(NOTIFICATION_TYPES.values()))
    excluded = set(as_list((await params(request)).get("exclude_types")))
    kinds = [k for k, t in NOTIFICATION_TYPES.items() if t in wanted and t not in excluded]
    author = aliased(Actor)
    async with ctx.db.sessions() as session:
        query = (
            select(InboundItem, Actor, RemotePost, Post)
            .join(Actor, Actor.id == InboundItem.actor_id)
            .outerjoin(RemotePost, RemotePost.id == InboundItem.remote_post_id)
            .outerjoin(Post, Post.id == InboundItem.local_post_id)
            .where(
                InboundItem.user_id == token.user.id,
                InboundItem.bundle_id.is_not(None),
                InboundItem.kind.in_(kinds),
            )
        )
        query = _page(
            query, InboundItem.public_id, request.query_params, limit_of(request.query_params)
        )
        rows = newest_first(list((await session.execute(query)).all()), request.query_params)
    del author
    out = []
    for item, actor, remote, local in rows:
        status = None
        if remote is not None:
            status = await status_json(request, Found(remote=remote), token.user)
        elif local is not None:
            status = await status_json(
                request, Found(local=local, author=token.user, item=None), token.user
            )
        out.append(
            {
                "id": str(item.public_id),
                "type": NOTIFICATION_TYPES[item.kind],
                "group_key": f"ungrouped-{item.public_id}",
                "created_at": entities.iso(item.created_at),
                "account": entities.account(ctx.settings, actor),
                "status": status,
            }
        )
    ids = [int(n["id"]) for n in out]
    return api_json(out, headers=link_header(request, ids, ctx.settings.base_url))


async def get_markers(request: Request) -> Response:
    token = await require_auth(request, "read:statuses")
    assert token.user is not None
    timelines = as_list((await params(request)).get("timeline")) or ["home", "notifications"]
    async with ctx_of(request).db.sessions() as session:
        rows = (
            await session.execute(
                select(Marker).where(
                    Marker.user_id == token.user.id, Marker.timeline.in_(timelines)
                )
            )
        ).scalars()
        return api_json({m.timeline: _marker_json(m) for m in rows})


def _marker_json(marker: Marker) -> dict[str, Any]:
    return {
        "last_read_id": marker.last_read_id,
        "version": marker.version,
        "updated_at": entities.iso(marker.updated_at),
    }


async def set_markers(request: Request) -> Response:
    token = await require_auth(request, "write:statuses")
    assert token.user is not None
    data = await params(request)
    ctx = ctx_of(request)
    answer = {}
    async with ctx.db.transaction() as session:
        for timeline in ("home", "notifications"):
            value = data.get(timeline)
            last_read = value.get("last_read_id") if isinstance(value, dict) else None
            if last_read is None or int_param({"x": last_read}, "x") is None:
                continue
            marker = await session.get(Marker, (token.user.id, timeline))
            if marker is None:
                marker = Marker(
                    user_id=token.user.id,
                    timeline=timeline,
                    last_read_id="0",
                    version=0,
                    updated_at=ctx.clock.now(),
                )
                session.add(marker)
            marker.last_read_id = str(last_read)
            marker.version += 1
            marker.updated_at = ctx.clock.now()
            answer[timeline] = _marker_json(marker)
    return api_json(answer)


routes = [
    Route("/api/v1/timelines/home", home, methods=["GET"]),
    Route("/api/v1/timelines/public", public, methods=["GET"]),
    Route("/api/v1/notifications", notifications, methods=["GET"]),
    Route("/api/v1/markers", get_markers, methods=["GET"]),
    Route("/api/v1/markers", set_markers, methods=["POST"]),
]
