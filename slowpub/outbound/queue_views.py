"""Read-only views of the cooling queue and of deliveries, for the CLI and the APIs."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select

from slowpub.context import Context
from slowpub.social.accounts import require_user
from slowpub.storage.models import Delivery, Post, QueueItem


def iso(moment: Any) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment is not None else None


def describe(item: QueueItem, post: Post | None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": item.id,
        "kind": item.kind,
        "state": item.state,
        "release_at": iso(item.release_at),
        "released_at": iso(item.released_at),
        "created_at": iso(item.created_at),
    }
    if post is not None:
        data.update(
            post_state=post.state,
            uri=post.uri,
            visibility=post.visibility,
            in_reply_to=post.in_reply_to,
            cw=post.summary,
            text=post.source,
        )
        if item.kind == "update" and item.payload:
            import json

            payload = json.loads(item.payload)
            data.update(text=payload["source"], cw=payload["summary"])
    else:
        data.update(object=item.object_uri)
    if item.activity_uri:
        data["activity"] = item.activity_uri
    return data


def first_line(data: dict[str, Any]) -> str:
    text = data.get("text") or data.get("object") or ""
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= 60 else line[:59] + "…"


async def item_view(ctx: Context, item_id: int) -> dict[str, Any]:
    async with ctx.db.sessions() as session:
        item = await session.get(QueueItem, item_id)
        if item is None:
            raise LookupError(f"no queued item {item_id}")
        post = await session.get(Post, item.post_id) if item.post_id else None
        return describe(item, post)


async def list_queue(
    ctx: Context, username: str, *, all_states: bool = False
) -> list[dict[str, Any]]:
    async with ctx.db.sessions() as session:
        user = await require_user(session, username)
        query = (
            select(QueueItem, Post)
            .outerjoin(Post, Post.id == QueueItem.post_id)
            .where(QueueItem.user_id == user.id)
            .order_by(QueueItem.release_at, QueueItem.id)
        )
        if not all_states:
            query = query.where(QueueItem.state == "cooling")
        rows = (await session.execute(query)).all()
    return [describe(item, post) for item, post in rows]


async def list_deliveries(
    ctx: Context, username: str, *, failed_only: bool = False, limit: int = 200
) -> list[dict[str, Any]]:
    async with ctx.db.sessions() as session:
        user = await require_user(session, username)
        query = (
            select(Delivery)
            .where(Delivery.user_id == user.id)
            .order_by(Delivery.created_at.desc(), Delivery.id.desc())
            .limit(limit)
        )
        if failed_only:
            query = query.where(or_(Delivery.state == "failed", Delivery.last_error.is_not(None)))
        rows = list((await session.execute(query)).scalars())
    return [
        {
            "id": d.id,
            "activity": d.activity_uri,
            "type": d.activity_type,
            "inbox": d.inbox_url,
            "state": d.state,
            "attempts": d.attempts,
            "last_status": d.last_status,
            "last_error": d.last_error,
            "next_attempt_at": iso(d.next_attempt_at) if d.state == "pending" else None,
            "finished_at": iso(d.finished_at),
        }
        for d in rows
    ]
