"""The owner's outbox POST: every C2S activity onto the domain services.

Every activity is translated onto the same posting service, queue and
follow code as the other faces: a Create cools like any post (the answer
carries the release time), an Update of a cooling post edits it, a Delete
or Undo of a cooling post (by its object id or its activity id) cancels it
and its cooling replies, a Create with no recipients is a private note
that never federates, and an Update of the owner's actor changes the
profile (followers get it, as from every other face). Every id an answer
hands out (the Create, an Update, a Like or Announce) can be undone while
it cools.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response

from federation.objects import addressed_to
from federation.vocab import AS_CONTEXT, PUBLIC, PUBLIC_ALIASES, as_list, id_of, parse_media_type
from slowpub import urls
from slowpub.ids import parse_id
from slowpub.inbound.remote_actors import ActorError
from slowpub.inbound.sanitize import html_to_text
from slowpub.outbound import notes
from slowpub.outbound.posting import (
    Draft,
    PostingError,
    Withdrawal,
    create_post,
    delete_item,
    edit_item,
    react,
)
from slowpub.social.accounts import AccountError
from slowpub.social.documents import person
from slowpub.social.follows import FollowError, decide_request, follow, unfollow
from slowpub.social.profile import change_settings
from slowpub.social.settings import SettingError
from slowpub.storage.models import Actor, Post, QueueItem, User
from slowpub.web.c2s.common import error, owner
from slowpub.web.mastodon.entities import iso
from slowpub.web.responses import activity_json, ctx_of

OBJECT_TYPES = {"Note", "Article", "Page", "Question"}
MAX_BODY = 256 * 1024
# ActivityPub: ld+json with the AS profile MUST be taken, activity+json SHOULD;
# clients also send ld+json without the profile, and plain JSON.
CONTENT_TYPES = ("application/activity+json", "application/ld+json", "application/json")


def _text_of(obj: dict[str, Any]) -> str:
    source = obj.get("source")
    if isinstance(source, dict) and isinstance(source.get("content"), str):
        return source["content"]
    content = obj.get("content")
    if isinstance(content, str):
        return html_to_text(content)
    content_map = obj.get("contentMap")
    if isinstance(content_map, dict) and content_map:
        return html_to_text(str(next(iter(content_map.values()))))
    return ""


def _visibility(activity: dict[str, Any], obj: dict[str, Any], followers: str) -> str:
    to = {*as_list(obj.get("to")), *as_list(activity.get("to"))}
    cc = {*as_list(obj.get("cc")), *as_list(activity.get("cc"))}
    to = {id_of(x) for x in to}
    cc = {id_of(x) for x in cc}
    if to & (PUBLIC_ALIASES | {PUBLIC}):
        return "public"
    if cc & (PUBLIC_ALIASES | {PUBLIC}):
        return "unlisted"
    if followers in to or followers in cc:
        return "followers"
    if addressed_to(obj) | addressed_to(activity):
        return "direct"
    return "self"


async def _own_item(request: Request, user: User, uri: str | None) -> QueueItem | None:
    """The queue item one of our ids names, if it is the user's.

    A post's object id and its Create's id name the post's create item; an
    Update's id (``#updates/N``) names that edit; a Like's or Announce's id
    names the reaction, cooling or not.
    """
    if not uri:
        return None
    base, _, fragment = uri.partition("#")
    async with ctx_of(request).db.sessions() as session:
        post = (
            await session.execute(select(Post).where(Post.uri == base.removesuffix("/activity")))
        ).scalar_one_or_none()
        if post is not None:
            if post.user_id != user.id:
                return None
            item_id: int | None = None
            if fragment.startswith("updates/"):
                item_id = parse_id(fragment.removeprefix("updates/"))
            elif fragment:
                return None
            query = select(QueueItem).where(QueueItem.post_id == post.id)
            if item_id is not None:
                query = query.where(QueueItem.id == item_id, QueueItem.kind == "update")
            else:
                query = query.where(QueueItem.kind == "create")
            return (await session.execute(query)).scalar_one_or_none()
        for kind in ("like", "announce"):
            prefix = urls.like_or_announce(user.actor.uri, kind, 0).removesuffix("0")
            if uri.startswith(prefix) and (item_id := parse_id(uri.removeprefix(prefix))):
                item = await session.get(QueueItem, item_id)
                return item if item and item.user_id == user.id and item.kind == kind else None
        return (
            await session.execute(
                select(QueueItem).where(QueueItem.user_id == user.id, QueueItem.activity_uri == uri)
            )
        ).scalar_one_or_none()


async def _post_item(request: Request, user: User, uri: str | None) -> QueueItem:
    """The create item of the post ``uri`` names (by object, Create or Update id)."""
    item = await _own_item(request, user, uri)
    if item is None or item.post_id is None:
        raise error(404, f"no post of yours at {uri}")
    if item.kind == "create":
        return item
    async with ctx_of(request).db.sessions() as session:
        query = select(QueueItem).where(
            QueueItem.post_id == item.post_id, QueueItem.kind == "create"
        )
        return (await session.execute(query)).scalar_one()


async def _withdrawn(request: Request, withdrawal: Withdrawal) -> dict[str, Any]:
    """The ``slowpub`` extension of a Delete or Undo answer: what it came to."""
    item = withdrawal.item
    state = item.state
    if item.kind == "create" and item.post_id is not None:
        async with ctx_of(request).db.sessions() as session:
            post = await session.get(Post, item.post_id)
        state = post.state if post is not None else state
    return {
        "state": state,
        "queueId": item.id,
        # A cooling reply never leaves before its post: cancelled with it.
        "cancelledReplies": [r.uri for r in withdrawal.replies],
    }


def _created(activity: dict[str, Any], item: QueueItem | None, status: int = 201) -> Response:
    if item is not None:
        activity["slowpub"] = {
            "state": item.state,
            "releaseAt": iso(item.release_at),
            "queueId": item.id,
        }
    response = activity_json(activity, status=status, vary=False)
    response.headers["Location"] = activity["id"]
    return response


async def _item_activity(request: Request, user: User, item_id: int) -> dict[str, Any]:
    """The activity a queue item is (or will be), as its author sees it."""
    async with ctx_of(request).db.sessions() as session:
        item = await session.get(QueueItem, item_id)
        post = await session.get(Post, item.post_id) if item and item.post_id else None
    assert item is not None
    if post is not None:
        activity = (
            notes.create(post, user) if item.kind == "create" else notes.update(post, user, item.id)
        )
    else:
        activity = {
            "@context": AS_CONTEXT,
            "type": "Announce" if item.kind == "announce" else "Like",
            "id": urls.like_or_announce(user.actor.uri, item.kind, item.id),
            "actor": user.actor.uri,
            "object": item.object_uri,
        }
    return notes.for_owner(activity, item.state, item)


async def outbox_post(request: Request) -> Response:
    user = await owner(request, "write")
    ctx = ctx_of(request)
    if parse_media_type(request.headers.get("content-type", ""))[0] not in CONTENT_TYPES:
        raise error(
            415,
            "send application/activity+json, application/ld+json (with or without"
            ' profile="https://www.w3.org/ns/activitystreams") or application/json',
        )
    body = await request.body()
    if len(body) > MAX_BODY:
        raise error(413, "body too large")
    try:
        activity = json.loads(body)
    except ValueError as exc:
        raise error(400, "body is not JSON") from exc
    except RecursionError as exc:
        raise error(400, "body is nested too deeply") from exc
    if not isinstance(activity, dict) or not isinstance(activity.get("type"), str):
        raise error(400, "not an ActivityStreams object: no type")
    kind = activity["type"]
    if kind in OBJECT_TYPES:
        activity = {
            "type": "Create",
            "object": activity,
            "to": activity.get("to"),
            "cc": activity.get("cc"),
        }
        kind = "Create"
    obj = activity.get("object")
    try:
        if kind == "Create":
            if not isinstance(obj, dict) or obj.get("type") not in OBJECT_TYPES:
                raise error(
                    422,
                    f"Create needs an embedded object of type {', '.join(sorted(OBJECT_TYPES))}",
                )
            visibility = _visibility(activity, obj, user.actor.followers_url or "")
            addressed = sorted(
                uri
                for uri in addressed_to(obj) | addressed_to(activity)
                if uri not in PUBLIC_ALIASES and uri != PUBLIC and uri != user.actor.followers_url
            )
            draft = Draft(
                text=_text_of(obj),
                visibility=visibility,
                in_reply_to=id_of(obj.get("inReplyTo")),
                cw=obj.get("summary") or None,
                recipients=tuple(addressed),
            )
            item = await create_post(ctx, user.username, draft)
            return _created(await _item_activity(request, user, item.id), None)
        if kind == "Update":
            if not isinstance(obj, dict):
                raise error(422, "Update needs the edited object embedded")
            if id_of(obj) == user.actor.uri:
                return await _update_profile(request, user, obj)
            item = await _post_item(request, user, id_of(obj))
            edited = await edit_item(ctx, item.id, _text_of(obj), cw=obj.get("summary"))
            return _created(await _item_activity(request, user, edited.id), None)
        if kind == "Delete":
            item = await _post_item(request, user, id_of(obj))
            withdrawal = await delete_item(ctx, item.id)
            async with ctx.db.sessions() as session:
                post = await session.get(Post, item.post_id)
            assert post is not None
            post_uri = post.uri
            answer = {
                "@context": notes.OWNER_CONTEXT,
                "id": post_uri + "#delete",
                "type": "Delete",
                "actor": user.actor.uri,
                "object": post_uri,
                "slowpub": await _withdrawn(request, withdrawal),
            }
            return _created(answer, None)
        if kind in ("Like", "Announce"):
            target = id_of(obj)
            if not target:
                raise error(422, f"{kind} needs an object")
            item = await react(ctx, user.username, kind.lower(), target)
            return _created(await _item_activity(request, user, item.id), None)
        if kind == "Follow":
            target = id_of(obj)
            if not target:
                raise error(422, "Follow needs an object")
            row = await follow(ctx, user.username, target)
            answer = {
                "@context": AS_CONTEXT,
                "id": row.uri,
                "type": "Follow",
                "actor": user.actor.uri,
                "object": target,
                "slowpub": {"state": row.state},
            }
            return _created(answer, None)
        if kind == "Undo":
            return await _undo(request, user, obj)
        if kind in ("Accept", "Reject"):
            requester = id_of(obj.get("actor")) if isinstance(obj, dict) else None
            if requester is None and isinstance(obj, str):
                async with ctx.db.sessions() as session:
                    from slowpub.storage.models import Follow

                    row = (
                        await session.execute(select(Follow).where(Follow.uri == obj))
                    ).scalar_one_or_none()
                    if row is not None:
                        requester = (await session.get(Actor, row.follower_id)).uri  # type: ignore[union-attr]
            if requester is None:
                raise error(422, f"{kind} needs the Follow (or its id) as object")
            await decide_request(ctx, user.username, requester, accept=kind == "Accept")
            answer = {
                "@context": AS_CONTEXT,
                "id": urls.actor(ctx.settings, user.username) + f"#{kind.lower()}s/{requester}",
                "type": kind,
                "actor": user.actor.uri,
                "object": obj,
            }
            return _created(answer, None)
        if kind == "Block":
            target = id_of(obj)
            if not target:
                raise error(422, "Block needs an object")
            from slowpub.social.blocks import block

            await block(ctx, user.username, target)
            answer = {
                "@context": AS_CONTEXT,
                "id": user.actor.uri + "#blocks/" + target,
                "type": "Block",
                "actor": user.actor.uri,
                "object": target,
            }
            return _created(answer, None)
    except (PostingError, FollowError, ActorError, AccountError) as exc:
        raise error(422, str(exc)) from exc
    raise error(422, f"{kind} activities are not supported in the outbox")


async def _update_profile(request: Request, user: User, actor: dict[str, Any]) -> Response:
    """An Update of the owner's own actor: the fields slowpub keeps, the rest as they are."""
    if actor.get("preferredUsername") not in (None, user.username):
        raise error(422, "the username is part of the account's address and cannot change")
    changes: dict[str, str] = {}
    if "name" in actor:
        changes["display-name"] = actor["name"] if isinstance(actor["name"], str) else ""
    if "summary" in actor:  # served as HTML, kept as plain text
        summary = actor["summary"]
        changes["summary"] = html_to_text(summary).strip() if isinstance(summary, str) else ""
    if "manuallyApprovesFollowers" in actor:
        locked = actor["manuallyApprovesFollowers"] is True
        changes["manually-approves-followers"] = "on" if locked else "off"
    ctx = ctx_of(request)
    try:
        user, update = await change_settings(ctx, user.username, changes)
    except SettingError as exc:
        raise error(422, str(exc)) from exc
    if update is None:  # nothing changed, nothing sent: the actor as it stands
        return _created(person(ctx.settings, user), None, status=200)
    return _created(update, None)


async def _undo(request: Request, user: User, obj: Any) -> Response:
    ctx = ctx_of(request)
    inner_id = id_of(obj)
    inner_type = obj.get("type") if isinstance(obj, dict) else None
    item = await _own_item(request, user, inner_id)
    if item is None and isinstance(obj, dict) and inner_type in ("Like", "Announce"):
        async with ctx.db.sessions() as session:
            item = (
                await session.execute(
                    select(QueueItem).where(
                        QueueItem.user_id == user.id,
                        QueueItem.kind == inner_type.lower(),
                        QueueItem.object_uri == id_of(obj.get("object")),
                        QueueItem.state.in_(("cooling", "released")),
                    )
                )
            ).scalar_one_or_none()
    extension: dict[str, Any] | None = None
    if item is not None:
        if item.kind == "update" and item.state != "cooling":
            raise error(422, "that edit has been sent; send another Update to change the post")
        try:
            extension = await _withdrawn(request, await delete_item(ctx, item.id))
        except PostingError as exc:
            raise error(422, str(exc)) from exc
    elif inner_type == "Follow":
        await unfollow(ctx, user.username, id_of(obj.get("object")) or "")
    else:
        raise error(422, "nothing of yours to undo there")
    answer: dict[str, Any] = {
        "@context": notes.OWNER_CONTEXT if extension else AS_CONTEXT,
        "id": f"{user.actor.uri}#undo/{inner_id}",
        "type": "Undo",
        "actor": user.actor.uri,
        "object": obj,
    }
    if extension:
        answer["slowpub"] = extension
    return _created(answer, None)
