"""The ActivityStreams documents we serve for our own actors and collections.

Mastodon hides a followers/following collection that has neither
``totalItems`` nor ``first``; that is our default (no vanity metrics), and
``publish_graph`` opts a user into showing both.
"""

from __future__ import annotations

from typing import Any

from federation.vocab import AS_CONTEXT, SECURITY_CONTEXT
from slowpub import __version__, urls
from slowpub.config import Settings
from slowpub.outbound.text import plain_to_html
from slowpub.storage.models import Actor, User

# The extension terms Mastodon reads on actors, mapped as Mastodon maps them.
ACTOR_CONTEXT: list[Any] = [
    AS_CONTEXT,
    SECURITY_CONTEXT,
    {
        "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
        "toot": "http://joinmastodon.org/ns#",
        "featured": {"@id": "toot:featured", "@type": "@id"},
        "discoverable": "toot:discoverable",
        "indexable": "toot:indexable",
    },
]


def _iso(moment: Any) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def person(settings: Settings, user: User) -> dict[str, Any]:
    actor: Actor = user.actor
    return {
        "@context": ACTOR_CONTEXT,
        "id": actor.uri,
        "type": "Person",
        "preferredUsername": user.username,
        "name": actor.name or user.username,
        "summary": plain_to_html(actor.summary or ""),
        "url": urls.profile(settings, user.username),
        "inbox": urls.inbox(settings, user.username),
        "outbox": urls.outbox(settings, user.username),
        "followers": urls.followers(settings, user.username),
        "following": urls.following(settings, user.username),
        "featured": urls.featured(settings, user.username),
        "endpoints": {
            "sharedInbox": urls.shared_inbox(settings),
            # ActivityPub client-to-server: where C2S clients get a token and proxy fetches.
            "oauthAuthorizationEndpoint": settings.url("/oauth/authorize"),
            "oauthTokenEndpoint": settings.url("/oauth/token"),
            "proxyUrl": settings.url("/api/proxy"),
        },
        "manuallyApprovesFollowers": actor.manually_approves_followers,
        "discoverable": False,
        "indexable": False,
        "published": _iso(user.created_at),
        "publicKey": {
            "id": urls.key_id(actor.uri),
            "owner": actor.uri,
            "publicKeyPem": actor.public_key_pem,
        },
    }


def instance_service(settings: Settings, public_pem: str) -> dict[str, Any]:
    uri = urls.instance_actor(settings)
    return {
        "@context": ACTOR_CONTEXT,
        "id": uri,
        "type": "Service",
        # Mastodon names its instance actor after the domain; WebFinger
        # answers acct:HOST@HOST for it so the loop-back check passes.
        "preferredUsername": settings.host.split(":")[0],
        "name": f"slowpub {__version__} at {settings.host}",
        "url": settings.url("/about"),
        "inbox": urls.instance_inbox(settings),
        "outbox": uri + "/outbox",
        "endpoints": {"sharedInbox": urls.shared_inbox(settings)},
        "manuallyApprovesFollowers": True,
        "discoverable": False,
        "indexable": False,
        "publicKey": {"id": urls.key_id(uri), "owner": uri, "publicKeyPem": public_pem},
    }


def hidden_collection(collection_id: str) -> dict[str, Any]:
    """A collection that says nothing about its size or members."""
    return {"@context": AS_CONTEXT, "id": collection_id, "type": "OrderedCollection"}


def collection(collection_id: str, total: int) -> dict[str, Any]:
    return {
        "@context": AS_CONTEXT,
        "id": collection_id,
        "type": "OrderedCollection",
        "totalItems": total,
        "first": collection_id + "?page=1",
    }


def collection_page(
    collection_id: str, page: int, items: list[Any], has_next: bool
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "@context": AS_CONTEXT,
        "id": f"{collection_id}?page={page}",
        "type": "OrderedCollectionPage",
        "partOf": collection_id,
        "orderedItems": items,
    }
    if has_next:
        doc["next"] = f"{collection_id}?page={page + 1}"
    if page > 1:
        doc["prev"] = f"{collection_id}?page={page - 1}"
    return doc
