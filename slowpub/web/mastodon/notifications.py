"""Mastodon 4.3's notification API beyond the v1 list: groups, the unread count,
the policy and requests.

The instance claims 4.3, and 4.3 clients (the Mastodon web app, Phanpy, Elk,
Ice Cubes) switch to ``/api/v2/notifications`` and poll the unread count as
soon as they see it. Notifications are the sealed bundles' items, as in
``timelines``; a group is what Mastodon groups (favourites and boosts of one
status, follows) within one bundle, since a bundle is the unit the user
reads. slowpub filters nothing (everything waits for the bundle instead), so
the policy accepts everything, refuses to be set to filter, and there are no
notification requests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from slowpub.auth.access import require_auth
from slowpub.ids import parse_id
from slowpub.storage.models import Actor, InboundItem, Marker, Post, RemotePost, User
from slowpub.web.api_util import (
    api_json,
    as_list,
    int_param,
    link_header,
    not_found,
    params,
    unprocessable,
)
from slowpub.web.mastodon import entities
from slowpub.web.mastodon.accounts import _page, newest_first
from slowpub.web.mastodon.lookups import Found
from slowpub.web.mastodon.statuses import status_json
from slowpub.web.mastodon.timelines import NOTIFICATION_TYPES
from slowpub.web.responses import ctx_of

READ = ("read", "read:notifications")
WRITE = ("write", "write:notifications")
GROUPABLE = ("favourite", "reblog", "follow")
SAMPLE_ACCOUNTS = 8  # Mastodon's NotificationGroup::SAMPLE_ACCOUNTS_SIZE
STATUS_TYPES = ("favourite", "reblog", "mention")
Row = tuple[InboundItem, Actor, RemotePost | None, Post | None]


def _group_key(item: InboundItem, grouped: Sequence[str]) -> str:
    kind = NOTIFICATION_TYPES[item.kind]
    if kind in grouped and kind in ("favourite", "reblog") and item.local_post_id:
        return f"{kind}-{item.local_post_id}-b{item.bundle_id}"
    if kind in grouped and kind == "follow":
        return f"follow-b{item.bundle_id}"
    return f"ungrouped-{item.public_id}"


def _group_filter(user: User, group_key: str) -> Any:
    """The WHERE clause selecting every notification of one group, or None."""
    mine = (InboundItem.user_id == user.id) & InboundItem.bundle_id.is_not(None)
    if group_key.startswith("ungrouped-"):
        public_id = parse_id(group_key.removeprefix("ungrouped-"))
        return None if public_id is None else mine & (InboundItem.public_id == public_id)
    parts = group_key.split("-")
    bundle = parse_id(parts[-1].removeprefix("b")) if parts[-1].startswith("b") else None
    if bundle is None:
        return None
    mine = mine & (InboundItem.bundle_id == bundle)
    if parts[0] == "follow" and len(parts) == 2:
        return mine & (InboundItem.kind == "follow")
    if parts[0] in ("favourite", "reblog") and len(parts) == 3:
        post_id = parse_id(parts[1])
        kind = "like" if parts[0] == "favourite" else "share"
        if post_id is not None:
            return mine & (InboundItem.kind == kind) & (InboundItem.local_post_id == post_id)
    return None


def _kinds(data: dict[str, Any]) -> list[str]:
    wanted = as_list(data.get("types")) or list(set(NOTIFICATION_TYPES.values()))
    excluded = set(as_list(data.get("exclude_types")))
    return [k for k, t in NOTIFICATION_TYPES.items() if t in wanted and t not in excluded]


def _rows_query(where: Any) -> Any:
    return (
        select(InboundItem, Actor, RemotePost, Post)
        .join(Actor, Actor.id == InboundItem.actor_id)
        .outerjoin(RemotePost, RemotePost.id == InboundItem.remote_post_id)
        .outerjoin(Post, Post.id == InboundItem.local_post_id)
        .where(where)
    )


@dataclass
class _Group:
    key: str
    rows: list[Row] = field(default_factory=list)
    count: int = 0
    samples: list[Actor] = field(default_factory=list)


class _Page:
    """Accounts and statuses once each, as Mastodon's DedupNotificationGroupSerializer."""

    def __init__(self, request: Request, user: User) -> None:
        self.request, self.user = request, user
        self.accounts: dict[str, dict[str, Any]] = {}
        self.statuses: dict[str, dict[str, Any]] = {}

    def account(self, actor: Actor) -> str:
        data = entities.account(ctx_of(self.request).settings, actor)
        self.accounts.setdefault(data["id"], data)
        return str(data["id"])

    async def status(self, remote: RemotePost | None, local: Post | None) -> str | None:
        if remote is not None:
            found = Found(remote=remote)
        elif local is not None:
            found = Found(local=local, author=self.user, item=None)
        else:
            return None
        data = await status_json(self.request, found, self.user)
        self.statuses.setdefault(data["id"], data)
        return str(data["id"])

    async def group_json(self, group: _Group) -> dict[str, Any]:
        item, _, remote, local = group.rows[0]
        kind = NOTIFICATION_TYPES[item.kind]
        ids = [r[0].public_id or 0 for r in group.rows]
        data: dict[str, Any] = {
            "group_key": group.key,
            "notifications_count": group.count,
            "type": kind,
            "most_recent_notification_id": str(max(ids)),
            "page_min_id": str(min(ids)),
            "page_max_id": str(max(ids)),
            "latest_page_notification_at": entities.iso(item.created_at),
            "sample_account_ids": [self.account(a) for a in group.samples],
        }
        if kind in STATUS_TYPES:
            data["status_id"] = await self.status(remote, local)
        return data

    def answer(self, groups: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "accounts": list(self.accounts.values()),
            "statuses": list(self.statuses.values()),
            "notification_groups": groups,
        }


async def _fill(session: Any, user: User, group: _Group, up_to: int) -> None:
    """Count the whole group (up to the page's newest) and take its newest senders."""
    where = _group_filter(user, group.key)
    members = list(
        (
            await session.execute(
                select(InboundItem.actor_id)
                .where(where, InboundItem.public_id <= up_to)
                .order_by(InboundItem.public_id.desc())
            )
        ).scalars()
    )
    group.count = len(members) or 1
    newest = list(dict.fromkeys(members))[:SAMPLE_ACCOUNTS]
    found = (await session.execute(select(Actor).where(Actor.id.in_(newest)))).scalars()
    actors = {a.id: a for a in found}
    group.samples = [actors[i] for i in newest if i in actors] or [group.rows[0][1]]


async def _user(request: Request, scope: tuple[str, ...]) -> User:
    token = await require_auth(request, scope)
    assert token.user is not None
    return token.user


async def grouped(request: Request) -> Response:
    """GET /api/v2/notifications: one page of notifications, grouped."""
    user = await _user(request, READ)
    ctx = ctx_of(request)
    data = await params(request)
    if data.get("expand_accounts") not in (None, "full", "partial_avatars"):
        raise HTTPException(
            400,
            "Invalid value for 'expand_accounts', allowed values are 'full' and 'partial_avatars'",
        )
    grouped_types = as_list(data.get("grouped_types")) or list(GROUPABLE)
    limit = max(1, min(int_param(data, "limit") or 40, 80))
    where = (
        (InboundItem.user_id == user.id)
        & InboundItem.bundle_id.is_not(None)
        & InboundItem.kind.in_(_kinds(data))
    )
    async with ctx.db.sessions() as session:
        query = _page(_rows_query(where), InboundItem.public_id, request.query_params, limit)
        rows: list[Row] = newest_first(list((await session.execute(query)).all()), data)
        groups: dict[str, _Group] = {}
        for row in rows:
            key = _group_key(row[0], grouped_types)
            groups.setdefault(key, _Group(key)).rows.append(row)
        up_to = max((r[0].public_id or 0 for r in rows), default=0)
        for group in groups.values():
            await _fill(session, user, group, up_to)
    page = _Page(request, user)
    answer = page.answer([await page.group_json(g) for g in groups.values()])
    ids = [r[0].public_id or 0 for r in rows]
    return api_json(answer, headers=link_header(request, ids, ctx.settings.base_url))


async def _one_group(request: Request, user: User) -> _Group:
    key = request.path_params["group_key"]
    where = _group_filter(user, key)
    if where is None:
        raise not_found()
    async with ctx_of(request).db.sessions() as session:
        rows = list(
            (
                await session.execute(
                    _rows_query(where).order_by(InboundItem.public_id.desc()).limit(1)
                )
            ).all()
        )
        if not rows:
            raise not_found()
        group = _Group(key, rows=rows)  # type: ignore[arg-type]
        await _fill(session, user, group, rows[0][0].public_id or 0)
    return group


async def show_group(request: Request) -> Response:
    user = await _user(request, READ)
    page = _Page(request, user)
    group = await _one_group(request, user)
    return api_json(page.answer([await page.group_json(group)]))


async def group_accounts(request: Request) -> Response:
    user = await _user(request, READ)
    group = await _one_group(request, user)
    settings = ctx_of(request).settings
    return api_json([entities.account(settings, a) for a in group.samples])


async def unread_count(request: Request) -> Response:
    """Notifications after the notifications marker (v2: groups), at most ``limit``."""
    user = await _user(request, READ)
    data = await params(request)
    limit = max(1, min(int_param(data, "limit") or 100, 1000))
    async with ctx_of(request).db.sessions() as session:
        marker = await session.get(Marker, (user.id, "notifications"))
        last_read = parse_id(marker.last_read_id) if marker else None
        query = select(InboundItem).where(
            InboundItem.user_id == user.id,
            InboundItem.bundle_id.is_not(None),
            InboundItem.kind.in_(_kinds(data)),
        )
        if last_read is not None:
            query = query.where(InboundItem.public_id > last_read)
        query = query.order_by(InboundItem.public_id.desc()).limit(limit)
        items = list((await session.execute(query)).scalars())
    if request.url.path.startswith("/api/v2/"):
        grouped_types = as_list(data.get("grouped_types")) or list(GROUPABLE)
        return api_json({"count": len({_group_key(i, grouped_types) for i in items})})
    return api_json({"count": len(items)})


POLICY_V1 = ("filter_not_following", "filter_not_followers", "filter_new_accounts")
POLICY_V2 = (
    "for_not_following",
    "for_not_followers",
    "for_new_accounts",
    "for_private_mentions",
    "for_limited_accounts",
)
NO_FILTERING = (
    "slowpub does not filter notifications: everything waits for your daily bundle instead"
)


async def policy(request: Request) -> Response:
    """The notification policy: accept everything (v1 shape or v2's), the only one served.

    Setting it to what it already is succeeds; asking to filter or drop is
    refused with the reason, so an app does not show a setting that does nothing.
    """
    v2 = request.url.path.startswith("/api/v2/")
    await _user(request, WRITE if request.method in ("PUT", "PATCH") else READ)
    if request.method in ("PUT", "PATCH"):
        data = await params(request)
        for name in POLICY_V2 if v2 else (*POLICY_V1, "filter_private_mentions"):
            value = data.get(name)
            if value is None:
                continue
            if str(value).lower() not in (("accept",) if v2 else ("false", "0", "off")):
                raise unprocessable(NO_FILTERING)
    if v2:
        return api_json(
            {
                **{name: "accept" for name in POLICY_V2},
                "summary": {"pending_requests_count": 0, "pending_notifications_count": 0},
            }
        )
    return api_json(
        {
            **{name: False for name in POLICY_V1},
            "filter_private_mentions": False,
            "summary": {"pending_requests_count": "0", "pending_notifications_count": "0"},
        }
    )


async def no_requests(request: Request) -> Response:
    await _user(request, READ)
    return api_json([])


async def no_such_request(request: Request) -> Response:
    await _user(request, WRITE if request.method == "POST" else READ)
    raise not_found()


async def requests_done(request: Request) -> Response:
    """Accepting or dismissing requests in bulk: there are none, so nothing to do."""
    await _user(request, WRITE)
    return api_json({})


async def requests_merged(request: Request) -> Response:
    await _user(request, READ)
    return api_json({"merged": True})


routes = [
    Route("/api/v2/notifications", grouped, methods=["GET"]),
    Route("/api/v1/notifications/unread_count", unread_count, methods=["GET"]),
    Route("/api/v2/notifications/unread_count", unread_count, methods=["GET"]),
    Route("/api/v1/notifications/policy", policy, methods=["GET", "PUT", "PATCH"]),
    Route("/api/v2/notifications/policy", policy, methods=["GET", "PUT", "PATCH"]),
    Route("/api/v1/notifications/requests", no_requests, methods=["GET"]),
    Route("/api/v1/notifications/requests/merged", requests_merged, methods=["GET"]),
    Route("/api/v1/notifications/requests/accept", requests_done, methods=["POST"]),
    Route("/api/v1/notifications/requests/dismiss", requests_done, methods=["POST"]),
    Route("/api/v1/notifications/requests/{id}", no_such_request, methods=["GET"]),
    Route("/api/v1/notifications/requests/{id}/accept", no_such_request, methods=["POST"]),
    Route("/api/v1/notifications/requests/{id}/dismiss", no_such_request, methods=["POST"]),
    Route("/api/v2/notifications/{group_key}", show_group, methods=["GET"]),
    Route("/api/v2/notifications/{group_key}/accounts", group_accounts, methods=["GET"]),
]
