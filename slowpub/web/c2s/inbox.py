"""The owner's inbox GET: the daily bundles as an OrderedCollection.

Items come from sealed bundles only, each complete enough to show without
another fetch, so a C2S client reads the same once-a-day bundle as the web.
"""

from __future__ import annotations

import html
import json
from typing import Any

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response

from federation.vocab import AS_CONTEXT, web_url
from slowpub import urls
from slowpub.ids import MAX_ID, parse_id
from slowpub.storage.models import Actor, Bundle, InboundItem, Post, RemotePost
from slowpub.web.c2s.common import error, owner
from slowpub.web.mastodon.entities import iso
from slowpub.web.responses import activity_json, ctx_of

PAGE_SIZE = 50


def _actor_json(actor: Actor) -> dict[str, Any]:
    return {
        "id": actor.uri,
        "type": actor.actor_type,
        "name": actor.name or actor.username,
        "preferredUsername": actor.username,
        "url": web_url(actor.url) or actor.uri,
    }


def _object_json(post: RemotePost) -> dict[str, Any]:
    extra = json.loads(post.extra_json or "{}")
    doc: dict[str, Any] = {
        "id": post.uri,
        "type": post.object_type,
        "attributedTo": _actor_json(post.author),
        "published": iso(post.published_at or post.received_at),
        # AS2 summary is HTML; ours is plain text.
        "summary": html.escape(post.summary) if post.summary else None,
        "content": post.content_html,
        "url": web_url(post.url) or post.uri,
        "inReplyTo": post.in_reply_to,
    }
    if post.name:
        doc["name"] = html.escape(post.name)
    if post.edited_at:
        doc["updated"] = iso(post.edited_at)
    if extra.get("attachments"):
        doc["attachment"] = [
            {
                "type": "Document",
                "url": a["url"],
                "mediaType": a.get("type"),
                "name": a.get("description"),
            }
            for a in extra["attachments"]
            if web_url(a.get("url"))
        ]
    return doc


async def inbox_get(request: Request) -> Response:
    """The owner's daily bundles as an OrderedCollection, newest bundle first."""
    user = await owner(request, "read")
    ctx = ctx_of(request)
    inbox = urls.inbox(ctx.settings, user.username)
    page = request.query_params.get("page")
    if page is None:
        return activity_json(
            {
                "@context": AS_CONTEXT,
                "id": inbox,
                "type": "OrderedCollection",
                "first": inbox + "?page=1",
            }
        )
    number = parse_id(page, maximum=MAX_ID // PAGE_SIZE)
    if not number:
        raise error(400, "page must be a positive integer")
    async with ctx.db.sessions() as session:
        query = (
            select(InboundItem, Bundle, Actor, RemotePost)
            .join(Bundle, Bundle.id == InboundItem.bundle_id)
            .join(Actor, Actor.id == InboundItem.actor_id)
            .outerjoin(RemotePost, RemotePost.id == InboundItem.remote_post_id)
            .where(InboundItem.user_id == user.id)
            .order_by(Bundle.sealed_at.desc(), InboundItem.id.desc())
            .offset((number - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE + 1)
        )
        rows = (await session.execute(query)).all()
        local_posts = {
            p.id: p
            for p in (
                await session.execute(
                    select(Post).where(
                        Post.id.in_([i.local_post_id for i, *_ in rows if i.local_post_id])
                    )
                )
            ).scalars()
        }
    items = []
    for item, bundle, actor, remote in rows[:PAGE_SIZE]:
        if remote is not None and item.kind != "boost":
            entry = _object_json(remote)
        else:
            kind = {
                "boost": "Announce",
                "like": "Like",
                "share": "Announce",
                "follow": "Follow",
                "follow_request": "Follow",
                "move": "Move",
            }.get(item.kind, "Activity")
            entry = {
                "id": item.activity_uri,
                "type": kind,
                "actor": _actor_json(actor),
                "published": iso(item.created_at),
            }
            if remote is not None:
                entry["object"] = _object_json(remote)
            elif item.local_post_id in local_posts:
                entry["object"] = local_posts[item.local_post_id].uri
            else:
                entry["object"] = user.actor.uri
        entry["slowpub"] = {
            "bundle": bundle.id,
            "bundleDate": bundle.local_date,
            "reason": item.kind,
        }
        items.append(entry)
    doc: dict[str, Any] = {
        "@context": AS_CONTEXT,
        "id": f"{inbox}?page={number}",
        "type": "OrderedCollectionPage",
        "partOf": inbox,
        "orderedItems": items,
    }
    if len(rows) > PAGE_SIZE:
        doc["next"] = f"{inbox}?page={number + 1}"
    return activity_json(doc)
