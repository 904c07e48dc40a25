"""Mastodon API entities (Account, Status, ScheduledStatus, Notification, ...).

Field names and types follow Mastodon's documentation, so clients and
libraries parse them unchanged. Counts a user keeps private (followers,
following, posts, likes, boosts) are reported as 0, never the real number.
A cooling post carries its release time in the ``slowpub`` extension field.
Account ids are the actors' unguessable ``public_id`` (slowpub.ids), never
their row ids.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from federation.vocab import web_url
from slowpub import __version__
from slowpub.config import Settings
from slowpub.inbound.sanitize import sanitize_html
from slowpub.outbound.posting import Withdrawal
from slowpub.outbound.text import plain_to_html
from slowpub.storage.models import Actor, Post, QueueItem, RemotePost, User

MASTODON_API_VERSION = "4.3.0"  # the Mastodon API served (README: Clients)
MASTODON_VERSION = f"{MASTODON_API_VERSION} (compatible; slowpub {__version__})"
EMPTY = datetime(1970, 1, 1)


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def avatar_url(settings: Settings) -> str:
    return settings.url("/static/avatar.png")


def header_url(settings: Settings) -> str:
    return settings.url("/static/header.png")


def account(settings: Settings, actor: Actor, *, user: User | None = None) -> dict[str, Any]:
    local = actor.local
    acct = actor.username if local else f"{actor.username}@{actor.domain}"
    data: dict[str, Any] = {
        "id": str(actor.public_id),
        "username": actor.username,
        "acct": acct,
        "display_name": actor.name or "",
        "locked": bool(actor.manually_approves_followers),
        "bot": actor.actor_type in ("Service", "Application"),
        "discoverable": False,
        "indexable": False,
        "group": actor.actor_type == "Group",
        "created_at": iso(actor.created_at),
        # Local summaries are plain text; remote ones HTML, sanitized again
        # here for rows stored before intake sanitized them.
        "note": plain_to_html(actor.summary or "") if local else sanitize_html(actor.summary or ""),
        "url": web_url(actor.url) or actor.uri,
        "uri": actor.uri,
        "avatar": avatar_url(settings),
        "avatar_static": avatar_url(settings),
        "header": header_url(settings),
        "header_static": header_url(settings),
        "followers_count": 0,
        "following_count": 0,
        "statuses_count": 0,
        "last_status_at": None,
        "hide_collections": True,
        "noindex": True,
        "emojis": [],
        "roles": [],
        "fields": [],
    }
    if user is not None:
        data["source"] = {
            "privacy": "public",
            "sensitive": False,
            "language": None,
            "note": actor.summary or "",
            "fields": [],
            "follow_requests_count": 0,
            "hide_collections": True,
            "discoverable": False,
            "indexable": False,
        }
        data["role"] = {
            "id": "-99",
            "name": "",
            "permissions": "0",
            "color": "",
            "highlighted": False,
        }
        data["slowpub"] = {
            "cooling_off_seconds": user.cooling_off_seconds,
            "bundle_time": user.bundle_time,
            "timezone": user.timezone,
        }
    return data


def _base_status(
    *,
    status_id: str,
    uri: str,
    url: str,
    created_at: datetime | None,
    account_json: dict[str, Any],
    content: str,
    visibility: str,
    spoiler: str | None,
    sensitive: bool,
    in_reply_to_id: str | None,
    in_reply_to_account_id: str | None,
    edited_at: datetime | None,
    mentions: list[dict[str, Any]],
    tags: list[dict[str, Any]],
    media: list[dict[str, Any]],
) -> dict[str, Any]:
    return {
        "id": status_id,
        "uri": uri,
        "url": url,
        "created_at": iso(created_at or EMPTY),
        "account": account_json,
        "content": content,
        "visibility": visibility,
        "sensitive": sensitive,
        "spoiler_text": spoiler or "",
        "media_attachments": media,
        "application": None,
        "mentions": mentions,
        "tags": tags,
        "emojis": [],
        "reblogs_count": 0,
        "favourites_count": 0,
        "replies_count": 0,
        "reblog": None,
        "poll": None,
        "card": None,
        "language": None,
        "text": None,
        "in_reply_to_id": in_reply_to_id,
        "in_reply_to_account_id": in_reply_to_account_id,
        "edited_at": iso(edited_at),
        "favourited": False,
        "reblogged": False,
        "muted": False,
        "bookmarked": False,
        "filtered": [],
    }


def _mentions_and_tags(settings: Settings, tags: list[dict[str, Any]]) -> tuple[list, list]:
    mentions = []
    hashtags = []
    for tag in tags:
        if tag.get("type") == "Mention":
            handle = str(tag.get("name", "")).lstrip("@")
            username, _, domain = handle.partition("@")
            local = domain == settings.host
            mentions.append(
                {
                    "id": "0",
                    "username": username,
                    "acct": username if local else handle,
                    "url": web_url(tag.get("href")),
                }
            )
        elif tag.get("type") == "Hashtag":
            name = str(tag.get("name", "")).lstrip("#")
            hashtags.append({"name": name, "url": web_url(tag.get("href"))})
    return mentions, hashtags


def local_status(
    settings: Settings,
    post: Post,
    user: User,
    item: QueueItem | None,
    *,
    reply_ids: tuple[str | None, str | None] = (None, None),
    viewer_is_author: bool = False,
) -> dict[str, Any]:
    mentions, tags = _mentions_and_tags(settings, json.loads(post.tags_json))
    data = _base_status(
        status_id=str(post.public_id),
        uri=post.uri,
        url=post.uri,
        created_at=post.published_at or post.created_at,
        account_json=account(settings, user.actor),
        content=post.content_html,
        visibility="private" if post.visibility == "followers" else post.visibility,
        spoiler=post.summary,
        sensitive=bool(post.summary),
        in_reply_to_id=reply_ids[0],
        in_reply_to_account_id=reply_ids[1],
        edited_at=post.edited_at,
        mentions=mentions,
        tags=tags,
        media=[],
    )
    if viewer_is_author:
        data["text"] = post.source
        data["pinned"] = False
        slow: dict[str, Any] = {"state": post.state}
        if item is not None:
            slow["release_at"] = iso(item.release_at)
            slow["queue_id"] = str(item.id)
        data["slowpub"] = slow
    return data


def remote_status(settings: Settings, post: RemotePost) -> dict[str, Any]:
    extra = json.loads(post.extra_json or "{}")
    media = [
        {
            "id": str(index),
            "type": {"image": "image", "video": "video", "audio": "audio"}.get(
                a.get("kind"), "unknown"
            ),
            "url": a.get("url"),
            "preview_url": a.get("url"),
            "remote_url": a.get("url"),
            "preview_remote_url": None,
            "text_url": None,
            "meta": {},
            "description": a.get("description"),
            "blurhash": None,
        }
        for index, a in enumerate(extra.get("attachments", []))
        if web_url(a.get("url"))
    ]
    content = post.content_html
    if post.name and post.object_type in ("Article", "Page", "Event", "Video", "Question"):
        content = f"<p><strong>{_escape(post.name)}</strong></p>" + content
    data = _base_status(
        status_id=str(post.public_id),
        uri=post.uri,
        url=web_url(post.url) or post.uri,
        created_at=post.published_at or post.received_at,
        account_json=account(settings, post.author),
        content=content,
        visibility="private" if post.visibility == "followers" else post.visibility,
        spoiler=post.summary,
        sensitive=post.sensitive or bool(post.summary),
        in_reply_to_id=None,
        in_reply_to_account_id=None,
        edited_at=post.edited_at,
        mentions=[],
        tags=[
            {"name": h, "url": settings.url(f"/tags/{h.lower()}")}
            for h in extra.get("hashtags", [])
        ],
        media=media,
    )
    if "poll" in extra:
        data["poll"] = {
            "id": str(post.public_id),
            "expires_at": extra["poll"].get("ends"),
            "expired": False,
            "multiple": bool(extra["poll"].get("multiple")),
            "votes_count": 0,
            "voters_count": None,
            "options": [{"title": o, "votes_count": None} for o in extra["poll"]["options"]],
            "emojis": [],
            "voted": False,
            "own_votes": [],
        }
    return data


def _escape(text: str) -> str:
    import html

    return html.escape(text, quote=False)


def scheduled_status(post: Post, item: QueueItem) -> dict[str, Any]:
    """A cooling item as Mastodon's ScheduledStatus, so apps show the queue."""
    text = post.source
    spoiler = post.summary
    if item.kind == "update" and item.payload:
        payload = json.loads(item.payload)
        text, spoiler = payload["source"], payload["summary"]
    return {
        "id": str(item.id),
        "scheduled_at": iso(item.release_at),
        "params": {
            "text": text,
            "poll": None,
            "media_ids": None,
            "sensitive": bool(spoiler),
            "spoiler_text": spoiler,
            "visibility": "private" if post.visibility == "followers" else post.visibility,
            "idempotency": None,
            "scheduled_at": None,
            "application_id": 0,
            "in_reply_to_id": None,
            "language": None,
            "with_rate_limit": False,
        },
        "media_attachments": [],
    }


def cancelled_replies(withdrawal: Withdrawal) -> list[dict[str, Any]]:
    """The cooling replies cancelled with a post: status and scheduled-status ids."""
    return [
        {"id": str(r.status_id), "scheduled_status_id": str(r.queue_id), "uri": r.uri}
        for r in withdrawal.replies
    ]


def instance_v1(settings: Settings, contact: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "uri": settings.host,
        "title": settings.host,
        "short_description": "A slowpub server: posts cool before they leave; "
        "what comes in is read once a day.",
        "description": "slowpub: the Fediverse, slowly.",
        "email": "",
        "version": MASTODON_VERSION,
        # No streaming API: apps then poll (a slow server has little to stream).
        "urls": {"streaming_api": None},
        "stats": {"user_count": 0, "status_count": 0, "domain_count": 0},
        "thumbnail": None,
        "languages": ["en"],
        "registrations": False,
        "approval_required": True,
        "invites_enabled": False,
        "configuration": _configuration(),
        "contact_account": contact,
        "rules": [],
    }


def _configuration() -> dict[str, Any]:
    """Every limit Mastodon 4.3 publishes, with slowpub's real values.

    Media and polls cannot be posted here (the API refuses them), so their
    counts are 0 and no MIME type is supported; apps then hide those buttons.
    """
    from slowpub.outbound.text import MAX_LENGTH

    return {
        "accounts": {
            "max_featured_tags": 0,
            "max_pinned_statuses": 0,
            "max_note_length": 2000,  # the summary setting's limit
            "max_profile_fields": 0,
        },
        "statuses": {
            "max_characters": MAX_LENGTH,
            "max_media_attachments": 0,
            "characters_reserved_per_url": 23,
        },
        "media_attachments": {
            "supported_mime_types": [],
            "description_limit": 0,
            "image_size_limit": 0,
            "image_matrix_limit": 0,
            "video_size_limit": 0,
            "video_frame_rate_limit": 0,
            "video_matrix_limit": 0,
        },
        "polls": {
            "max_options": 0,
            "max_characters_per_option": 0,
            "min_expiration": 0,
            "max_expiration": 0,
        },
        "translation": {"enabled": False},
    }


def instance_v2(settings: Settings, contact: dict[str, Any] | None) -> dict[str, Any]:
    config = _configuration()
    config["urls"] = {
        "streaming": None,
        "status": None,
        "about": settings.url("/about"),
        "privacy_policy": None,
        "terms_of_service": None,
    }
    config["vapid"] = {"public_key": ""}
    return {
        "domain": settings.host,
        "title": settings.host,
        "version": MASTODON_VERSION,
        "source_url": settings.url("/about"),
        "description": "A slowpub server: posts cool before they leave; "
        "what comes in is read once a day.",
        "usage": {"users": {"active_month": 0}},
        "thumbnail": {"url": settings.url("/static/header.png")},
        "icon": [],
        "languages": ["en"],
        "configuration": config,
        "registrations": {
            "enabled": False,
            "approval_required": True,
            "message": None,
            "url": None,
            "min_age": None,
            "reason_required": False,
        },
        "api_versions": {"mastodon": 2},
        "contact": {"email": "", "account": contact},
        "rules": [],
    }
