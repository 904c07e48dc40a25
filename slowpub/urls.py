"""The public URL layout of an instance, in one place.

Ids that have federated can never change, so every route and every id we
mint is spelled here and nowhere else.
"""

from __future__ import annotations

from slowpub.config import Settings


def actor(settings: Settings, username: str) -> str:
    return settings.url(f"/users/{username}")


def key_id(actor_uri: str) -> str:
    return actor_uri + "#main-key"


def profile(settings: Settings, username: str) -> str:
    return settings.url(f"/@{username}")


def inbox(settings: Settings, username: str) -> str:
    return actor(settings, username) + "/inbox"


def outbox(settings: Settings, username: str) -> str:
    return actor(settings, username) + "/outbox"


def followers(settings: Settings, username: str) -> str:
    return actor(settings, username) + "/followers"


def following(settings: Settings, username: str) -> str:
    return actor(settings, username) + "/following"


def featured(settings: Settings, username: str) -> str:
    return actor(settings, username) + "/collections/featured"


def shared_inbox(settings: Settings) -> str:
    return settings.url("/inbox")


def instance_actor(settings: Settings) -> str:
    return settings.url("/actor")


def instance_inbox(settings: Settings) -> str:
    return settings.url("/actor/inbox")


def username_from_actor(settings: Settings, uri: str) -> str | None:
    """The local username an actor URI (or profile URL) names, if it is ours."""
    for prefix in (settings.url("/users/"), settings.url("/@")):
        if uri.startswith(prefix):
            rest = uri[len(prefix) :]
            if rest and "/" not in rest and "#" not in rest and "?" not in rest:
                return rest.lower()
    return None


def status(settings: Settings, username: str, post_id: int) -> str:
    return actor(settings, username) + f"/statuses/{post_id}"


def like_or_announce(actor_uri: str, kind: str, item_id: int) -> str:
    return f"{actor_uri}/{'boosts' if kind == 'announce' else 'likes'}/{item_id}"
