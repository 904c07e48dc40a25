"""Building the activities we send, so every sender shapes them the same way."""

from __future__ import annotations

import uuid
from typing import Any

from federation.vocab import AS_CONTEXT, PUBLIC


def new_id(actor_uri: str, kind: str) -> str:
    # Mastodon mints ids like <actor>#follows/<id>; a fragment needs no route
    # and stays unique per actor.
    return f"{actor_uri}#{kind}/{uuid.uuid4()}"


def follow(actor_uri: str, target_uri: str, follow_id: str) -> dict[str, Any]:
    return {
        "@context": AS_CONTEXT,
        "id": follow_id,
        "type": "Follow",
        "actor": actor_uri,
        "object": target_uri,
    }


def _embedded(activity: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in activity.items() if k != "@context"}


def undo(actor_uri: str, inner: dict[str, Any]) -> dict[str, Any]:
    return {
        "@context": AS_CONTEXT,
        "id": new_id(actor_uri, "undo"),
        "type": "Undo",
        "actor": actor_uri,
        "object": _embedded(inner),
    }


def answer_follow(kind: str, actor_uri: str, follow_activity: dict[str, Any]) -> dict[str, Any]:
    """An Accept or Reject of a Follow, embedding the Follow as Mastodon expects."""
    return {
        "@context": AS_CONTEXT,
        "id": new_id(actor_uri, kind.lower() + "s"),
        "type": kind,
        "actor": actor_uri,
        "object": _embedded(follow_activity),
    }


def update_actor(actor_document: dict[str, Any]) -> dict[str, Any]:
    """An Update carrying our whole actor document, addressed as Mastodon addresses it.

    Mastodon replaces its copy of a remote account with the embedded actor,
    so the object is the full document we serve (key included), in its
    context; ``cc`` names the followers, who are the ones it is sent to.
    """
    actor_uri = actor_document["id"]
    return {
        "@context": actor_document["@context"],
        "id": new_id(actor_uri, "updates"),
        "type": "Update",
        "actor": actor_uri,
        "to": [PUBLIC],
        "cc": [actor_document["followers"]],
        "object": _embedded(actor_document),
    }
