"""The AS2 documents for our posts and the activities that carry them.

A post's id is minted when it is queued but only ever federates once
released; after a delete the same id answers with a Tombstone forever.
Its author alone also sees it while it cools, with slowpub's queue state in a
``slowpub`` extension (:func:`for_owner`), the C2S counterpart of the
Mastodon API's ``slowpub`` field.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from federation.vocab import AS_CONTEXT, PUBLIC
from slowpub.storage.models import Post, QueueItem, User

NOTE_CONTEXT: list[Any] = [
    AS_CONTEXT,
    {
        "sensitive": "as:sensitive",
        "Hashtag": "as:Hashtag",
        "toot": "http://joinmastodon.org/ns#",
    },
]

# Where the owner's extension term lives. A URN: nothing needs to dereference
# it, and it is the same on every instance.
SLOWPUB_NS = "urn:slowpub:ns#"
# The extension is opaque JSON to a JSON-LD processor (1.1 ``@json``), so its
# keys need no terms of their own.
OWNER_CONTEXT: list[Any] = [
    *NOTE_CONTEXT,
    {"slowpub": {"@id": SLOWPUB_NS + "queue", "@type": "@json"}},
]


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def activity_id(post: Post) -> str:
    return post.uri + "/activity"


def note(post: Post, user: User) -> dict[str, Any]:
    published = post.published_at or post.created_at
    doc: dict[str, Any] = {
        "id": post.uri,
        "type": "Note",
        "attributedTo": user.actor.uri,
        "content": post.content_html,
        "summary": post.summary or None,
        "sensitive": bool(post.summary),
        "published": iso(published),
        "url": post.uri,
        "to": json.loads(post.to_json),
        "cc": json.loads(post.cc_json),
        "inReplyTo": post.in_reply_to,
        "tag": json.loads(post.tags_json),
        "attachment": [],
    }
    if post.edited_at is not None:
        doc["updated"] = iso(post.edited_at)
    return doc


def with_context(doc: dict[str, Any]) -> dict[str, Any]:
    return {"@context": NOTE_CONTEXT, **doc}


def create(post: Post, user: User) -> dict[str, Any]:
    obj = note(post, user)
    return with_context(
        {
            "id": activity_id(post),
            "type": "Create",
            "actor": user.actor.uri,
            "published": obj["published"],
            "to": obj["to"],
            "cc": obj["cc"],
            "object": obj,
        }
    )


def queue_state(state: str, item: QueueItem | None) -> dict[str, Any]:
    """The ``slowpub`` extension: where the post stands, and when it leaves."""
    data: dict[str, Any] = {"state": state}
    if item is not None:
        data["releaseAt"] = iso(item.release_at)
        data["queueId"] = item.id
    return data


def for_owner(doc: dict[str, Any], state: str, item: QueueItem | None) -> dict[str, Any]:
    """``doc`` as its author sees it: with the queue state, under our context."""
    body = {k: v for k, v in doc.items() if k != "@context"}
    return {"@context": OWNER_CONTEXT, **body, "slowpub": queue_state(state, item)}


def update(post: Post, user: User, item_id: int) -> dict[str, Any]:
    obj = note(post, user)
    return with_context(
        {
            "id": f"{post.uri}#updates/{item_id}",
            "type": "Update",
            "actor": user.actor.uri,
            "published": obj.get("updated", obj["published"]),
            "to": obj["to"],
            "cc": obj["cc"],
            "object": obj,
        }
    )


def tombstone(post: Post) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": post.uri, "type": "Tombstone"}
    if post.deleted_at is not None:
        doc["deleted"] = iso(post.deleted_at)
    return doc


def delete(post: Post, user: User) -> dict[str, Any]:
    return {
        "@context": AS_CONTEXT,
        "id": post.uri + "#delete",
        "type": "Delete",
        "actor": user.actor.uri,
        "to": json.loads(post.to_json),
        "cc": json.loads(post.cc_json),
        "object": tombstone(post),
    }


def announce(
    user: User, activity_uri: str, object_uri: str, object_actor: str | None, now: datetime
) -> dict[str, Any]:
    cc = [user.actor.followers_url or user.actor.uri + "/followers"]
    if object_actor:
        cc.append(object_actor)
    return {
        "@context": AS_CONTEXT,
        "id": activity_uri,
        "type": "Announce",
        "actor": user.actor.uri,
        "published": iso(now),
        "to": [PUBLIC],
        "cc": cc,
        "object": object_uri,
    }


def like(user: User, activity_uri: str, object_uri: str) -> dict[str, Any]:
    return {
        "@context": AS_CONTEXT,
        "id": activity_uri,
        "type": "Like",
        "actor": user.actor.uri,
        "object": object_uri,
    }
