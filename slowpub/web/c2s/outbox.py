"""The owner's outbox POST: every C2S activity onto the domain services.

Every activity is translated onto the same posting service, queue and
follow code as the other faces: a Create cools like any post (the answer
carries the release time), an Update of a cooling post edits it, a Delete of
a cooling post cancels it, a Create with no recipients is a private
note that never federates, and an Update of the owner's actor changes the
profile (followers get it, as from every other face).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response

from federation.objects import addressed_to
from federation.vocab import AS_CONTEXT, PUBLIC, PUBLIC_ALIASES, as_list, id_of, is_ap_content_type
from slowpub import urls
from slowpub.inbound.remote_actors import ActorError
from slowpub.inbound.sanitize import html_to_text
from slowpub.outbound.posting import (
    Draft,
    PostingError,
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


async def _post_by_uri(request: Request, user: User, uri: str | None) -> tuple[Post, QueueItem]:
    async with ctx_of(request).db.sessions() as session:
        post = (await session.execute(select(Post).where(Post.uri == uri))).scalar_one_or_none()
        if post is None or post.user_id != user.id:
            raise error(404, f"no post of yours at {uri}")
        item = (
            await session.execute(
                select(QueueItem).where(QueueItem.post_id == post.id, QueueItem.kind == "create")
            )
        ).scalar_one()
    return post, item


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
    async with ctx_of(request).db.sessions() as session:
        item = await session.get(QueueItem, item_id)
        post = await session.get(Post, item.post_id) if item and item.post_id else None
    assert item is not None
    from slowpub.outbound import notes

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
    activity["slowpub"] = {
        "state": item.state,
        "releaseAt": iso(item.release_at),
        "queueId": item.id,
    }
    return activity


async def outbox_post(request: Request) -> Response:
    user = await owner(request, "write")
    ctx = ctx_of(request)
    content_type = request.headers.get("content-type", "")
    if not (
        is_ap_content_type(content_type) or content_type.split(";")[0].strip() == "application/json"
    ):
        raise error(415, "send application/activity+json, application/ld+json or application/json")
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
            _, item = await _post_by_uri(request, user, id_of(obj))
            edited = await edit_item(ctx, item.id, _text_of(obj), cw=obj.get("summary"))
            return _created(await _item_activity(request, user, edited.id), None)
        if kind == "Delete":
            _, item = await _post_by_uri(request, user, id_of(obj))
            await delete_item(ctx, item.id)
            answer = {
                "@context": AS_CONTEXT,
                "id": id_of(obj) + "#delete",
                "type": "Delete",
                "actor": user.actor.uri,
                "object": id_of(obj),
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
    async with ctx.db.sessions() as session:
        item = (
            (
                await session.execute(
                    select(QueueItem).where(
                        QueueItem.user_id == user.id, QueueItem.activity_uri == inner_id
                    )
                )
            ).scalar_one_or_none()
            if inner_id
            else None
        )
        if item is None and isinstance(obj, dict) and inner_type in ("Like", "Announce"):
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
    if item is not None:
        await delete_item(ctx, item.id)
    elif inner_type == "Follow" or (isinstance(obj, dict) and obj.get("type") == "Follow"):
        await unfollow(ctx, user.username, id_of(obj.get("object")) or "")
    else:
        raise error(422, "nothing of yours to undo there")
    answer = {
        "@context": AS_CONTEXT,
        "id": f"{user.actor.uri}#undo/{inner_id}",
        "type": "Undo",
        "actor": user.actor.uri,
        "object": obj,
    }
    return _created(answer, None)
