"""Our posts at their ids: the Note, its Create, or a Tombstone once deleted.

Only released public and unlisted posts are served to anyone; a cooling
post does not exist as far as the Fediverse can tell, and followers-only and
direct posts need an authorised fetch, which is not offered yet (they are
delivered, never fetched). The author, with a bearer token (as C2S clients
send), also sees their cooling and non-public posts, with the queue state:
that is how a C2S client opens the ``Location`` its outbox POST returned. A
cancelled post is gone for everyone (it lives on in the author's queue
history only); a deleted one is a Tombstone for everyone.
"""

from __future__ import annotations

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from federation.vocab import wants_ap
from slowpub import urls
from slowpub.auth.access import require_auth
from slowpub.ids import MAX_ID, parse_id
from slowpub.outbound import notes
from slowpub.social.accounts import get_user
from slowpub.storage.models import Post, QueueItem, User
from slowpub.web.responses import activity_json, ctx_of, json_error

PAGE_SIZE = 20
VISIBLE = ("public", "unlisted")


async def _post(request: Request) -> tuple[User, Post, QueueItem | None] | None:
    ctx = ctx_of(request)
    post_id = parse_id(request.path_params["post_id"])
    async with ctx.db.sessions() as session:
        user = await get_user(session, request.path_params["username"])
        if user is None or post_id is None:
            return None
        post = await session.get(Post, post_id)
        if post is None or post.user_id != user.id:
            return None
        item = (
            await session.execute(
                select(QueueItem).where(QueueItem.post_id == post.id, QueueItem.kind == "create")
            )
        ).scalar_one_or_none()
    return user, post, item


async def _is_owner(request: Request, username: str) -> bool:
    """Whether the request carries the owner's token (a bad token is a 401)."""
    if not request.headers.get("authorization"):
        return False
    token = await require_auth(request, "read")
    return token.user is not None and token.user.username == username.lower()


def _private(response: Response) -> Response:
    """What the answer was depends on who asked: no shared cache may keep it."""
    response.headers["Vary"] = "Accept, Authorization"
    response.headers["Cache-Control"] = "private"
    return response


async def status_route(request: Request) -> Response:
    found = await _post(request)
    if found is None:
        return json_error(404, "no such post")
    user, post, item = found
    if post.state == "deleted":
        return activity_json(
            {"@context": notes.NOTE_CONTEXT[0], **notes.tombstone(post)}, status=410
        )
    owner = await _is_owner(request, user.username)
    public = post.state == "released" and post.visibility in VISIBLE
    if post.state == "cancelled" or not (public or owner):
        return _private(json_error(404, "no such post"))
    if not wants_ap(request.headers.get("accept")):
        # No HTML post pages yet: the author's profile is the human view.
        return Response(
            status_code=303,
            headers={"Location": urls.profile(ctx_of(request).settings, user.username)},
        )
    if request.url.path.endswith("/activity"):
        doc = notes.create(post, user)
    else:
        doc = notes.with_context(notes.note(post, user))
    if owner:
        doc = notes.for_owner(doc, post.state, item)
    return _private(activity_json(doc))


async def outbox_route(request: Request) -> Response:
    """Released public and unlisted posts, newest first; no count (no vanity metrics).

    The owner also sees what is cooling and their non-public posts, never what
    was cancelled or deleted (Mastodon's outbox omits deleted posts too).
    """
    ctx = ctx_of(request)
    owner = await _is_owner(request, request.path_params["username"])
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
        if owner:
            query = query.where(Post.state.in_(("cooling", "released")))
        else:
            query = query.where(Post.state == "released", Post.visibility.in_(VISIBLE))
        rows = (await session.execute(query)).all()
    items = []
    for post, item in rows[:PAGE_SIZE]:
        entry = notes.create(post, user)
        if owner:
            entry = notes.for_owner(entry, post.state, item)
        items.append({k: v for k, v in entry.items() if k != "@context"})
    posts = rows
    doc = {
        "@context": notes.OWNER_CONTEXT if owner else notes.NOTE_CONTEXT,
        "id": f"{outbox}?page={number}",
        "type": "OrderedCollectionPage",
        "partOf": outbox,
        "orderedItems": items,
    }
    if len(posts) > PAGE_SIZE:
        doc["next"] = f"{outbox}?page={number + 1}"
    if number > 1:
        doc["prev"] = f"{outbox}?page={number - 1}"
    return _private(activity_json(doc))


routes = [
    Route("/users/{username}/statuses/{post_id}", status_route),
    Route("/users/{username}/statuses/{post_id}/activity", status_route),
    Route("/users/{username}/outbox", outbox_route),
]
