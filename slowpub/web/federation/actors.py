"""Our actors and their collections, negotiated between AS2 JSON and HTML.

A Fediverse server asking with ``application/activity+json`` (or ld+json)
gets the actor document; a browser gets the profile page at the same URL.
The followers and following collections are hidden unless the user publishes
them, except to the owner's own token, which always sees them in full.
"""

from __future__ import annotations

from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from federation.vocab import wants_ap
from slowpub import urls
from slowpub.auth.access import require_auth
from slowpub.ids import MAX_ID, parse_id
from slowpub.social import documents
from slowpub.social.accounts import get_user, list_users
from slowpub.social.instance_actor import ensure_instance_key
from slowpub.storage.models import Actor, Follow, User
from slowpub.web.responses import activity_json, ctx_of, json_error, page

PAGE_SIZE = 20


async def _user(request: Request) -> User | None:
    async with ctx_of(request).db.sessions() as session:
        return await get_user(session, request.path_params["username"])


def _not_found(request: Request) -> Response:
    if wants_ap(request.headers.get("accept")):
        return json_error(404, "no such account here")
    return page(request, "not_found.html", {}, status=404)


def _profile(request: Request, user: User) -> Response:
    settings = ctx_of(request).settings
    return page(
        request,
        "profile.html",
        {
            "name": user.actor.name or user.username,
            "username": user.username,
            "summary": user.actor.summary,
            "actor_uri": urls.actor(settings, user.username),
        },
    )


async def actor_route(request: Request) -> Response:
    user = await _user(request)
    if user is None:
        return _not_found(request)
    if wants_ap(request.headers.get("accept")):
        return activity_json(documents.person(ctx_of(request).settings, user))
    return _profile(request, user)


async def _owner_asks(request: Request, user: User) -> bool:
    """Whether the request carries the owner's own token (a bad token is a 401)."""
    if not request.headers.get("authorization"):
        return False
    token = await require_auth(request, "read")
    return token.user is not None and token.user.id == user.id


async def graph_route(request: Request) -> Response:
    """followers/following: the owner (with their token) always sees them in full;
    everyone else only if the user chose to publish them."""
    user = await _user(request)
    if user is None:
        return json_error(404, "no such account here")
    ctx = ctx_of(request)
    kind = request.url.path.rsplit("/", 1)[1]
    collection_id = (urls.followers if kind == "followers" else urls.following)(
        ctx.settings, user.username
    )
    if await _owner_asks(request, user):
        answer = await _graph(request, user, kind, collection_id)
        # Who asked decides the answer: no shared cache may keep it.
        answer.headers["Vary"] = "Accept, Authorization"
        answer.headers["Cache-Control"] = "private"
        return answer
    if not user.publish_graph:
        return activity_json(documents.hidden_collection(collection_id))
    return await _graph(request, user, kind, collection_id)


async def _graph(request: Request, user: User, kind: str, collection_id: str) -> Response:
    ctx = ctx_of(request)
    own, other = (
        (Follow.followed_id, Follow.follower_id)
        if kind == "followers"
        else (Follow.follower_id, Follow.followed_id)
    )
    accepted = (own == user.actor_id) & (Follow.state == "accepted")
    page_param = request.query_params.get("page")
    async with ctx.db.sessions() as session:
        if page_param is None:
            total = (await session.execute(select(func.count()).where(accepted))).scalar_one()
            return activity_json(documents.collection(collection_id, total))
        number = parse_id(page_param, maximum=MAX_ID // PAGE_SIZE)
        if not number:
            return json_error(400, "page must be a positive integer")
        query = (
            select(Actor.uri)
            .join(Follow, other == Actor.id)
            .where(accepted)
            .order_by(Follow.id.desc())
            .offset((number - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE + 1)
        )
        items = list((await session.execute(query)).scalars())
    return activity_json(
        documents.collection_page(collection_id, number, items[:PAGE_SIZE], len(items) > PAGE_SIZE)
    )


async def featured_route(request: Request) -> Response:
    user = await _user(request)
    if user is None:
        return json_error(404, "no such account here")
    doc = documents.hidden_collection(urls.featured(ctx_of(request).settings, user.username))
    doc["totalItems"] = 0
    doc["orderedItems"] = []
    return activity_json(doc)


async def instance_actor_route(request: Request) -> Response:
    ctx = ctx_of(request)
    _, public_pem = await ensure_instance_key(ctx)
    return activity_json(documents.instance_service(ctx.settings, public_pem), vary=False)


async def index_route(request: Request) -> Response:
    ctx = ctx_of(request)
    async with ctx.db.sessions() as session:
        users = await list_users(session)
    listed = [
        {"username": u.username, "url": urls.profile(ctx.settings, u.username)} for u in users
    ]
    return page(request, "index.html", {"users": listed})


routes = [
    Route("/", index_route),
    Route("/about", index_route),
    Route("/actor", instance_actor_route),
    Route("/users/{username}", actor_route),
    Route("/@{username}", actor_route),
    Route("/users/{username}/followers", graph_route),
    Route("/users/{username}/following", graph_route),
    Route("/users/{username}/collections/featured", featured_route),
]
