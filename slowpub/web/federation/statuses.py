"""Our posts at their ids: the Note, its Create, or a Tombstone once deleted.

Only released public and unlisted posts are served to anyone; a cooling or
cancelled post does not exist as far as the Fediverse can tell, and
followers-only and direct posts need an authorised fetch, which is not
offered yet (they are delivered, never fetched).
"""

from __future__ import annotations

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from federation.vocab import wants_ap
from slowpub import urls
from slowpub.ids import MAX_ID, parse_id
from slowpub.outbound import notes
from slowpub.social.accounts import get_user
from slowpub.storage.models import Post, QueueItem, User
from slowpub.web.responses import activity_json, ctx_of, json_error

PAGE_SIZE = 20
VISIBLE = ("public", "unlisted")


async def _post(request: Request) -> tuple[User, Post] | None:
    ctx = ctx_of(request)
    post_id = parse_id(request.path_params["post_id"])
    async with ctx.db.sessions() as session:
        user = await get_user(session, request.path_params["username"])
        if user is None or post_id is None:
            return None
        post = await session.get(Post, post_id)
    if post is None or post.user_id != user.id:
        return None
    return user, post


async def status_route(request: Request) -> Response:
    found = await _post(request)
    if found is None:
        return json_error(404, "no such post")
    user, post = found
    if post.state == "deleted":
        return activity_json(
            {"@context": notes.NOTE_CONTEXT[0], **notes.tombstone(post)}, status=410
        )
    if post.state != "released" or post.visibility not in VISIBLE:
        return json_error(404, "no such post")
    if not wants_ap(request.headers.get("accept")):
        # No HTML post pages yet: the author's profile is the human view.
        return Response(
            status_code=303,
            headers={"Location": urls.profile(ctx_of(request).settings, user.username)},
        )
    if request.url.path.endswith("/activity"):
        return activity_json(notes.create(post, user))
    return activity_json(notes.with_context(notes.note(post, user)))


async def outbox_route(request: Request) -> Response:
    """Released public and unlisted posts, newest first; no count (no vanity metrics)."""
    ctx = ctx_of(request)
    owner = False
    if request.headers.get("authorization"):
        from slowpub.auth.access import require_auth

        token = await require_auth(request, "read")
        owner = (
            token.user is not None
            and token.user.username == request.path_params["username"].lower()
        )
    async with ctx.db.sessions() as session:
        user = await get_user(session, request.path_params["username"])
        if user is None:
            return json_error(404, "no such account here")
        outbox = urls.outbox(ctx.settings, user.username)
        page = request.query_params.get("page")
        if page is None:
            return activity_json(
                {
                    "@context": notes.NOTE_CONTEXT[0],
                    "id": outbox,
                    "type": "OrderedCollection",
                    "first": outbox + "?page=1",
                }
            )
        number = parse_id(page, maximum=MAX_ID // PAGE_SIZE)
        if not number:
            return json_error(400, "page must be a positive integer")
        query = (
            select(Post, QueueItem)
            .join(QueueItem, (QueueItem.post_id == Post.id) & (QueueItem.kind == "create"))
            .where(Post.user_id == user.id)
            .order_by(Post.public_id.desc(), Post.id.desc())
            .offset((number - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE + 1)
        )
        if not owner:
            query = query.where(Post.state == "released", Post.visibility.in_(VISIBLE))
        rows = (await session.execute(query)).all()
    items = []
    for post, item in rows[:PAGE_SIZE]:
        entry = {k: v for k, v in notes.create(post, user).items() if k != "@context"}
        if owner:
            # The owner also sees what is cooling or was cancelled (C2S clients).
            entry["slowpub"] = {
                "state": post.state,
                "releaseAt": notes.iso(item.release_at),
                "queueId": item.id,
            }
        items.append(entry)
    posts = rows
    doc = {
        "@context": notes.NOTE_CONTEXT,
        "id": f"{outbox}?page={number}",
        "type": "OrderedCollectionPage",
        "partOf": outbox,
        "orderedItems": items,
    }
    if len(posts) > PAGE_SIZE:
        doc["next"] = f"{outbox}?page={number + 1}"
    if number > 1:
        doc["prev"] = f"{outbox}?page={number - 1}"
    return activity_json(doc)


routes = [
    Route("/users/{username}/statuses/{post_id}", status_route),
    Route("/users/{username}/statuses/{post_id}/activity", status_route),
    Route("/users/{username}/outbox", outbox_route),
]
