"""Building the activities we send, so every sender shapes them the same way."""

from __future__ import annotations

import uuid
from typing import Any

from federation.vocab import AS_CONTEXT


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
