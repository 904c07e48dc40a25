"""Accepting activities POSTed to our inboxes.

Everything here happens before the 202: size limit, the sender's quota
(:mod:`slowpub.inbound.quota`), signature, origin checks, and one INSERT.
Processing comes later in the workers (:mod:`slowpub.inbound.processing`),
so a slow or crashing handler can never lose an activity that was
acknowledged. Nothing is stored unless every check passed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from federation.errors import KeyNotFoundError, SignatureError
from federation.verify import verify_request
from federation.vocab import host_of, id_of, same_origin
from slowpub.config import MAX_REQUEST_BODY
from slowpub.context import Context
from slowpub.delivery.hosts import heard_from
from slowpub.inbound.quota import RETRY_AFTER
from slowpub.inbound.remote_actors import make_key_resolver

# The same cap as every other endpoint (slowpub.web.limits enforces it in
# front of the routes); kept here too for callers that bypass the web app.
MAX_BODY = MAX_REQUEST_BODY
# Activities whose object must come from the actor's own host when embedded.
ORIGIN_BOUND = frozenset({"Create", "Update", "Delete"})


class InboxError(Exception):
    def __init__(self, status: int, reason: str, retry_after: int | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.retry_after = retry_after


def parse_activity(body: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InboxError(400, "body is not JSON") from exc
    except RecursionError as exc:  # before the signature check: anyone can send it
        raise InboxError(400, "body is nested too deeply") from exc
    if not isinstance(doc, dict):
        raise InboxError(400, "body is not a JSON object")
    if not isinstance(doc.get("type"), str):
        raise InboxError(400, "not an activity: no type")
    if doc.get("id") is None:
        # Mastodon's own Add/Remove carry no id; de-duplicate on the content.
        doc["id"] = "urn:sha256:" + hashlib.sha256(body).hexdigest()

    if not isinstance(doc["id"], str):
        raise InboxError(400, "not an activity: its id is not a string")
    if not isinstance(id_of(doc.get("actor")), str):
        raise InboxError(400, "not an activity: no actor")
    if "object" not in doc:
        raise InboxError(400, "not an activity: no object")
    return doc


def _stored_body(body: bytes, activity: dict[str, Any]) -> str:
    """The body as received (no re-encoding on the hot path), unless we gave it an id."""
    if not activity["id"].startswith("urn:sha256:"):
        try:
            return body.decode()
        except UnicodeDecodeError:
            pass  # UTF-16/32 JSON: json.loads took it; store it as UTF-8
    return json.dumps(activity)


def check_origins(activity: dict[str, Any]) -> None:
    actor = id_of(activity["actor"])
    assert actor is not None
    if activity["id"].startswith(("https://", "http://")) and not same_origin(
        activity["id"], actor
    ):
        raise InboxError(400, "activity id is not on the actor's host")
    if activity["type"] in ORIGIN_BOUND:
        obj = activity["object"]
        object_id = id_of(obj)
        if not isinstance(object_id, str):
            raise InboxError(400, f"{activity['type']} without an object id")
        if not same_origin(object_id, actor):
            raise InboxError(400, "object is not on the actor's host")
        if isinstance(obj, dict):
            author = id_of(obj.get("attributedTo"))
            if author is not None and author != actor and obj.get("type") not in ("Tombstone",):
                raise InboxError(400, "object is attributed to someone other than the actor")


def sender_host(actor: str) -> str:
    """The host an activity counts against; "" for an id no URL parser takes."""
    try:
        return host_of(actor)[:255]
    except ValueError:
        return ""


def _is_self_delete(activity: dict[str, Any]) -> bool:
    return activity["type"] == "Delete" and id_of(activity["object"]) == id_of(activity["actor"])


async def receive(
    ctx: Context, *, method: str, url: str, headers: Mapping[str, str], body: bytes
) -> bool:
    """Check and store one inbox POST. True if stored, False if a known duplicate.

    Raises InboxError with the HTTP status to answer.
    """
    if len(body) > MAX_BODY:
        raise InboxError(413, "body larger than 1 MiB")
    lowered = {k.lower() for k in headers}
    if not ({"signature", "signature-input"} & lowered) and not str(
        headers.get("authorization", "")
    ).lower().startswith("signature"):
        raise InboxError(401, "request is not signed")
    activity = parse_activity(body)
    actor = id_of(activity["actor"])
    assert actor is not None
    # Before the signature check, on the host the body claims: a forger only
    # meets the quota of a host that is already over it, and a flooding host
    # costs no RSA verification per refused POST.
    host = sender_host(actor)
    refusal = await ctx.inbox_quota.refusal(host, ctx.clock.now())
    if refusal is not None:
        raise InboxError(429, refusal, retry_after=RETRY_AFTER)
    try:
        key = await verify_request(
            method=method,
            url=url,
            headers=headers,
            body=body,
            resolver=make_key_resolver(ctx),
            now=ctx.clock.now(),
        )
    except KeyNotFoundError as exc:
        if _is_self_delete(activity):
            # A deleted account's key is gone with it; Mastodon drops these
            # quietly, and a 401 would only make the sender retry for days.
            return False
        raise InboxError(401, f"signature: {exc}") from exc
    except SignatureError as exc:
        raise InboxError(401, f"signature: {exc}") from exc
    if key.owner != actor:
        if not same_origin(key.owner, actor):
            # Forwarded by a third server (Mastodon forwards replies and
            # deletes). Without LD signatures we cannot trust the copy, but
            # a 401 would only make the forwarder retry for days: take it
            # and drop it; the original arrives from its own server.
            return False
        raise InboxError(401, "the signing key does not belong to the activity's actor")
    check_origins(activity)
    now = ctx.clock.now()
    stored = await ctx.inbox_writer.store(
        {
            "uri": activity["id"],
            "actor_uri": actor,
            "sender_host": host,
            "activity_type": activity["type"][:64],
            "body": _stored_body(body, activity),
            "body_bytes": len(body),
            "received_at": now,
            "state": "pending",
            "attempts": 0,
            "next_attempt_at": now,
        }
    )
    if not stored:
        return False
    ctx.inbox_quota.stored(host, len(body))
    ctx.wakeups.inbound.set()
    await heard_from(ctx, host_of(key.key_id))
    return True
