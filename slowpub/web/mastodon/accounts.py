"""Mastodon API: accounts, relationships, follows, follow requests, search.

Follower and following lists are private on slowpub (as the ActivityPub
collections are): the owner sees their own, others see them only if the
owner publishes them (``publish-graph``), and every count is 0. For the
same reason an anonymous caller (or an app-only token) finds only local
accounts, by id or by lookup (see ``lookups``), and a signed-in user's
search lists only local accounts and those in their own circle (followed,
following, or heard from), never another user's followers.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from slowpub.auth.access import require_auth
from slowpub.inbound.intake import Skip, fetch_post, store_post
from slowpub.inbound.remote_actors import ActorError, resolve_account
from slowpub.social.accounts import AccountError
from slowpub.social.follows import FollowError, decide_request, follow, unfollow
from slowpub.social.profile import change_settings
from slowpub.social.settings import SettingError
from slowpub.storage.models import Actor, Follow, InboundItem, Post, RemotePost, User
from slowpub.web.api_util import (
    api_json,
    as_list,
    int_param,
    limit_of,
    link_header,
    not_found,
    params,
    truthy,
    unprocessable,
)
from slowpub.web.mastodon import entities
from slowpub.web.mastodon.lookups import (
    can_see,
    find_actor,
    find_status,
    find_status_by_uri,
    has_item,
)
from slowpub.web.mastodon.statuses import status_json
from slowpub.web.responses import ctx_of


async def verify_credentials(request: Request) -> Response:
    token = await require_auth(request, None)
    assert token.user is not None
    if not ({"read", "read:accounts", "profile"} & set(token.scopes)):
        raise HTTPException(403, "This action is outside the authorized scopes")
    return api_json(await _credential_account(request, token.user))


async def _credential_account(request: Request, user: User) -> dict[str, Any]:
    """The CredentialAccount: the account with its ``source``, whose pending follow
    requests apps badge (Tusky, Ivory, Ice Cubes read ``source.follow_requests_count``)."""
    ctx = ctx_of(request)
    async with ctx.db.sessions() as session:
        pending = (
            await session.execute(
                select(func.count(Follow.id)).where(
                    Follow.followed_id == user.actor_id, Follow.state == "pending"
                )
            )
        ).scalar_one()
    data = entities.account(ctx.settings, user.actor, user=user)
    data["source"]["follow_requests_count"] = int(pending)
    return data


async def update_credentials(request: Request) -> Response:
    token = await require_auth(request, "write:accounts")
    assert token.user is not None
    data = await params(request)
    ctx = ctx_of(request)
    names = {"display_name": "display-name", "note": "summary"}
    changes = {key: str(data[field]) for field, key in names.items() if field in data}
    if "locked" in data:
        changes["manually-approves-followers"] = "on" if truthy(data["locked"]) else "off"
    try:
        # Followers get an Update of the actor when the profile changed.
        user, _ = await change_settings(ctx, token.user.username, changes)
    except SettingError as exc:
        raise unprocessable(str(exc)) from exc
    return api_json(await _credential_account(request, user))


async def _actor(request: Request, viewer: User | None) -> Actor:
    async with ctx_of(request).db.sessions() as session:
        actor = await find_actor(session, request.path_params["id"], viewer)
    if actor is None:
        raise not_found()
    return actor


async def _optional_viewer(request: Request, scope: tuple[str, ...]) -> User | None:
    """Mastodon's ``authorize_if_got_token!``: a token is checked if sent, not required."""
    if not request.headers.get("authorization"):
        return None
    return (await require_auth(request, scope, user_required=False)).user


async def show_account(request: Request) -> Response:
    viewer = await _optional_viewer(request, ("read", "read:accounts"))
    actor = await _actor(request, viewer)
    return api_json(entities.account(ctx_of(request).settings, actor))


async def lookup(request: Request) -> Response:
    acct = request.query_params.get("acct", "").strip().lstrip("@")
    if not acct:
        raise unprocessable("acct is required")
    ctx = ctx_of(request)
    if await _optional_viewer(request, ("read", "read:accounts")) is None:
        # Anonymous callers get our own accounts only: no fetching for them,
        # and no answer saying which remote accounts this server knows.
        name, _, host = acct.partition("@")
        if host and host.lower() != ctx.settings.host:
            raise not_found()
        async with ctx.db.sessions() as session:
            query = select(Actor).where(
                Actor.local.is_(True),
                Actor.username == name.lower(),
                Actor.domain == ctx.settings.host,
            )
            actor = (await session.execute(query)).scalars().first()
        if actor is None:
            raise not_found()
        return api_json(entities.account(ctx.settings, actor))
    try:
        actor = await resolve_account(ctx, acct)
    except ActorError as exc:
        raise not_found() from exc
    return api_json(entities.account(ctx.settings, actor))


async def account_statuses(request: Request) -> Response:
    viewer = await _optional_viewer(request, ("read:statuses",))
    actor = await _actor(request, viewer)
    ctx = ctx_of(request)
    query_params = request.query_params
    limit = limit_of(query_params)
    async with ctx.db.sessions() as session:
        if actor.local:
            owner = (
                await session.execute(select(User).where(User.actor_id == actor.id))
            ).scalar_one()
            query = select(Post.public_id).where(Post.user_id == owner.id)
            if viewer is None or viewer.id != owner.id:
                query = query.where(
                    Post.state == "released",
                    Post.visibility.in_(await _visible_to(session, viewer, actor)),
                )
            else:
                query = query.where(Post.state.in_(("released", "cooling")))
            if truthy(query_params.get("exclude_replies", "false")):
                query = query.where(Post.in_reply_to.is_(None))
            column = Post.public_id
        else:
            viewer_id = viewer.id if viewer is not None else 0
            seen = select(InboundItem.remote_post_id).where(InboundItem.user_id == viewer_id)
            query = select(RemotePost.public_id).where(
                RemotePost.author_id == actor.id,
                or_(RemotePost.visibility.in_(("public", "unlisted")), RemotePost.id.in_(seen)),
            )
            if truthy(query_params.get("exclude_replies", "false")):
                query = query.where(RemotePost.in_reply_to.is_(None))
            column = RemotePost.public_id
        if truthy(query_params.get("pinned", "false")) or truthy(
            query_params.get("only_media", "false")
        ):
            # Nothing is pinned here, and our posts carry no media: apps ask for
            # the pinned ones first on every profile, and must not get them all.
            query = query.where(column.is_(None))
        query = _page(query, column, query_params, limit)
        ids = newest_first(list((await session.execute(query)).scalars()), query_params)
        found = [await find_status(session, str(i)) for i in ids]
    statuses = [await status_json(request, f, viewer) for f in found if f is not None]
    return api_json(statuses, headers=link_header(request, ids, ctx.settings.base_url))


def _page(query: Any, column: Any, query_params: Any, limit: int) -> Any:
    max_id, since_id, min_id = (
        int_param(query_params, n) for n in ("max_id", "since_id", "min_id")
    )
    if max_id is not None:
        query = query.where(column < max_id)
    if since_id is not None:
        query = query.where(column > since_id)
    if min_id is not None:
        # The page just after min_id; callers turn it newest-first (newest_first).
        return query.where(column > min_id).order_by(column.asc()).limit(limit)
    return query.order_by(column.desc()).limit(limit)


def newest_first(rows: list[Any], query_params: Any) -> list[Any]:
    """Mastodon answers every page newest first, min_id pages included."""
    return rows[::-1] if int_param(query_params, "min_id") is not None else rows


async def _visible_to(session: Any, viewer: User | None, author: Actor) -> tuple[str, ...]:
    """Visibilities of a local author's released posts this viewer may read:
    followers-only ones too for an accepted follower."""
    if viewer is None:
        return ("public", "unlisted")
    query = select(Follow.id).where(
        Follow.follower_id == viewer.actor_id,
        Follow.followed_id == author.id,
        Follow.state == "accepted",
    )
    if (await session.execute(query)).first() is None:
        return ("public", "unlisted")
    return ("public", "unlisted", "followers")


async def graph(request: Request) -> Response:
    """An account's followers or following (accepted), newest first.

    The owner always sees their own lists in full; everyone else sees a local
    account's lists only if it publishes them (``publish-graph on``), as the
    ActivityPub collections. A remote account's lists are not ours to show.
    """
    viewer = await _optional_viewer(request, ("read", "read:accounts"))
    actor = await _actor(request, viewer)
    ctx = ctx_of(request)
    followers = request.url.path.endswith("/followers")
    own, other = (
        (Follow.followed_id, Follow.follower_id)
        if followers
        else (Follow.follower_id, Follow.followed_id)
    )
    async with ctx.db.sessions() as session:
        owner = (
            (await session.execute(select(User).where(User.actor_id == actor.id))).scalar_one()
            if actor.local
            else None
        )
        if owner is None or not (owner.publish_graph or (viewer and viewer.id == owner.id)):
            return api_json([])
        query = (
            select(Follow.id, Actor)
            .join(Actor, Actor.id == other)
            .where(own == actor.id, Follow.state == "accepted")
        )
        query = _page(query, Follow.id, request.query_params, limit_of(request.query_params))
        rows = newest_first(list((await session.execute(query)).all()), request.query_params)
    accounts = [entities.account(ctx.settings, member) for _, member in rows]
    ids = [follow_id for follow_id, _ in rows]
    return api_json(accounts, headers=link_header(request, ids, ctx.settings.base_url))


async def relationship(session: Any, user: User, actor: Actor) -> dict[str, Any]:
    async def state(follower: int, followed: int) -> str | None:
        query = select(Follow.state).where(
            Follow.follower_id == follower, Follow.followed_id == followed
        )
        return (await session.execute(query)).scalar_one_or_none()

    outgoing = await state(user.actor_id, actor.id)
    incoming = await state(actor.id, user.actor_id)
    return {
        "id": str(actor.public_id),
        "following": outgoing == "accepted",
        "showing_reblogs": outgoing == "accepted",
        "notifying": False,
        "languages": None,
        "followed_by": incoming == "accepted",
        "blocking": False,
        "blocked_by": False,
        "muting": False,
        "muting_notifications": False,
        "requested": outgoing == "pending",
        "requested_by": incoming == "pending",
        "domain_blocking": False,
        "endorsed": False,
        "note": "",
    }


async def relationships(request: Request) -> Response:
    token = await require_auth(request, "read:follows")
    assert token.user is not None
    data = await params(request)
    ids = as_list(data.get("id"))
    answers = []
    async with ctx_of(request).db.sessions() as session:
        for account_id in ids[:40]:
            actor = await find_actor(session, account_id, token.user)
            if actor is not None:
                answers.append(await relationship(session, token.user, actor))
    return api_json(answers)


async def follow_account(request: Request) -> Response:
    token = await require_auth(request, "write:follows")
    assert token.user is not None
    actor = await _actor(request, token.user)
    ctx = ctx_of(request)
    try:
        await follow(ctx, token.user.username, actor.uri)
    except (FollowError, ActorError, AccountError) as exc:
        raise unprocessable(str(exc)) from exc
    async with ctx.db.sessions() as session:
        return api_json(await relationship(session, token.user, actor))


async def unfollow_account(request: Request) -> Response:
    token = await require_auth(request, "write:follows")
    assert token.user is not None
    actor = await _actor(request, token.user)
    ctx = ctx_of(request)
    try:
        await unfollow(ctx, token.user.username, actor.uri)
    except FollowError:
        pass  # Mastodon: unfollowing someone you do not follow is not an error
    async with ctx.db.sessions() as session:
        return api_json(await relationship(session, token.user, actor))


async def follow_requests(request: Request) -> Response:
    token = await require_auth(request, "read:follows")
    assert token.user is not None
    ctx = ctx_of(request)
    async with ctx.db.sessions() as session:
        query = (
            select(Actor)
            .join(Follow, Follow.follower_id == Actor.id)
            .where(Follow.followed_id == token.user.actor_id, Follow.state == "pending")
            .order_by(Follow.id.desc())
            .limit(limit_of(request.query_params))
        )
        actors = list((await session.execute(query)).scalars())
    return api_json([entities.account(ctx.settings, a) for a in actors])


async def _decide(request: Request, accept: bool) -> Response:
    token = await require_auth(request, "write:follows")
    assert token.user is not None
    actor = await _actor(request, token.user)
    ctx = ctx_of(request)
    try:
        await decide_request(ctx, token.user.username, actor.uri, accept=accept)
    except FollowError as exc:
        raise not_found() from exc
    async with ctx.db.sessions() as session:
        return api_json(await relationship(session, token.user, actor))


async def authorize_request(request: Request) -> Response:
    return await _decide(request, True)


async def reject_request(request: Request) -> Response:
    return await _decide(request, False)


async def search(request: Request) -> Response:
    token = await require_auth(request, "read:search")
    ctx = ctx_of(request)
    query = request.query_params.get("q", "").strip()
    kind = request.query_params.get("type")
    resolve = truthy(request.query_params.get("resolve", "false"))
    accounts: list[dict[str, Any]] = []
    statuses: list[dict[str, Any]] = []
    if not query:
        return api_json({"accounts": [], "statuses": [], "hashtags": []})
    looks_like_account = "@" in query.lstrip("@") and " " not in query and "/" not in query
    if kind in (None, "accounts") and (looks_like_account or query.startswith("http")):
        try:
            if resolve:
                actor = await resolve_account(ctx, query)
                accounts.append(entities.account(ctx.settings, actor))
            else:
                accounts.extend(await _known_accounts(ctx, token.user, query, 5))
        except ActorError:
            pass
    if kind in (None, "statuses") and query.startswith(("https://", "http://")) and not accounts:
        async with ctx.db.sessions() as session:
            found = await find_status_by_uri(session, query)
        if found is None and resolve:
            try:
                fetched = await fetch_post(ctx, query, None)
                async with ctx.db.transaction() as session:
                    await store_post(session, fetched, ctx.clock.now())
                async with ctx.db.sessions() as session:
                    found = await find_status_by_uri(session, fetched.obj.id)
            except Skip:
                found = None
        if found is not None:
            async with ctx.db.sessions() as session:
                visible = can_see(
                    found, token.user, await has_item(session, token.user, found.remote)
                )
            if visible:
                statuses.append(await status_json(request, found, token.user))
    return api_json({"accounts": accounts, "statuses": statuses, "hashtags": []})


def _circle_of(viewer: User) -> Any:
    """Accounts a user may find by name: local ones, and those the user follows,
    is followed by or has heard from. Everyone else the server knows belongs
    to other users' graphs, which are private."""
    heard_from = select(InboundItem.actor_id).where(InboundItem.user_id == viewer.id)
    authors = (
        select(RemotePost.author_id)
        .join(InboundItem, InboundItem.remote_post_id == RemotePost.id)
        .where(InboundItem.user_id == viewer.id)
    )
    return or_(
        Actor.local.is_(True),
        Actor.id.in_(select(Follow.followed_id).where(Follow.follower_id == viewer.actor_id)),
        Actor.id.in_(select(Follow.follower_id).where(Follow.followed_id == viewer.actor_id)),
        Actor.id.in_(heard_from),
        Actor.id.in_(authors),
    )


async def _known_accounts(
    ctx: Any, viewer: User | None, query: str, limit: int
) -> list[dict[str, Any]]:
    """Accounts in the viewer's circle whose name or handle starts with the query."""
    if viewer is None:
        return []
    name, _, host = query.lstrip("@").partition("@")
    async with ctx.db.sessions() as session:
        where = Actor.username.ilike(name.replace("%", "").replace("_", r"\_") + "%")
        statement = select(Actor).where(where, _circle_of(viewer))
        if host:
            statement = statement.where(Actor.domain.ilike(host.replace("%", "") + "%"))
        actors = (
            await session.execute(statement.order_by(Actor.local.desc()).limit(limit))
        ).scalars()
        return [entities.account(ctx.settings, a) for a in actors]


async def account_search(request: Request) -> Response:
    """Mention autocomplete: known accounts, or one resolved by WebFinger if asked."""
    token = await require_auth(request, "read:accounts")
    ctx = ctx_of(request)
    query = request.query_params.get("q", "").strip()
    if not query:
        return api_json([])
    limit = limit_of(request.query_params)
    if truthy(request.query_params.get("resolve", "false")) and "@" in query.lstrip("@"):
        try:
            actor = await resolve_account(ctx, query)
            return api_json([entities.account(ctx.settings, actor)])
        except ActorError:
            pass
    return api_json(await _known_accounts(ctx, token.user, query, limit))


async def empty_list(request: Request) -> Response:
    await require_auth(request, None, user_required=False)
    return api_json([])


routes = [
    Route("/api/v1/accounts/verify_credentials", verify_credentials, methods=["GET"]),
    Route("/api/v1/accounts/update_credentials", update_credentials, methods=["PATCH", "POST"]),
    Route("/api/v1/accounts/relationships", relationships, methods=["GET"]),
    Route("/api/v1/accounts/lookup", lookup, methods=["GET"]),
    Route("/api/v1/accounts/search", account_search, methods=["GET"]),
    Route("/api/v1/accounts/{id}", show_account, methods=["GET"]),
    Route("/api/v1/accounts/{id}/statuses", account_statuses, methods=["GET"]),
    Route("/api/v1/accounts/{id}/followers", graph, methods=["GET"]),
    Route("/api/v1/accounts/{id}/following", graph, methods=["GET"]),
    Route("/api/v1/accounts/{id}/follow", follow_account, methods=["POST"]),
    Route("/api/v1/accounts/{id}/unfollow", unfollow_account, methods=["POST"]),
    Route("/api/v1/follow_requests", follow_requests, methods=["GET"]),
    Route("/api/v1/follow_requests/{id}/authorize", authorize_request, methods=["POST"]),
    Route("/api/v1/follow_requests/{id}/reject", reject_request, methods=["POST"]),
    Route("/api/v2/search", search, methods=["GET"]),
    Route("/api/v1/blocks", empty_list, methods=["GET"]),
    Route("/api/v1/mutes", empty_list, methods=["GET"]),
]
