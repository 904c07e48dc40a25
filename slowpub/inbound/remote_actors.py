"""Remote actors: fetching, validating and caching them, and finding their keys.

Every signature check asks :func:`make_key_resolver` for the signer's key;
every follow asks :func:`resolve_account`. Both end in :func:`fetch_actor`,
which only ever trusts an actor document fetched from the actor's own id.
Key fetches happen while a sender waits for our answer, so they run under a
deadline, a cap on fetches in flight and a memory of recent failures.
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import unquote, urlsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from federation import webfinger
from federation.errors import FederationError, KeyNotFoundError
from federation.fetch import signed_get
from federation.verify import KeyResolver, PublicKey
from federation.vocab import as_list, host_of, id_of, same_origin, web_url
from slowpub import urls
from slowpub.context import Context
from slowpub.inbound.sanitize import sanitize_html
from slowpub.social.instance_actor import signing_identity
from slowpub.storage.models import Actor

ACTOR_TYPES = frozenset({"Person", "Service", "Application", "Group", "Organization"})
CACHE_TTL = timedelta(days=1)
# A key id is refetched after a failed signature at most once this often
# (see _refetch); other key ids of the same host keep their own refetch.
KEY_REFETCH_COOLDOWN = timedelta(minutes=1)
# Keys are re-read from the database after this long (another process may
# have refetched a rotated key meanwhile).
KEY_CACHE_TTL = timedelta(minutes=5)
KEY_CACHE_SIZE = 20_000
# A sender waits for our answer while we fetch its key, so the whole lookup
# (a free slot, every GET and body) gets this many seconds: under the 10 s
# Mastodon waits for an inbox to answer.
KEY_FETCH_DEADLINE = 8.0
# A key id whose fetch failed is not fetched again for this long, nor is any
# unknown key id on a host where HOST_FAILURE_LIMIT key ids failed (or one
# fetch overran the deadline): 50 POSTs naming a third party's host must not
# become 50 signed GETs to it. Keys already stored still verify.
FAILED_KEY_TTL = timedelta(minutes=5)
HOST_FAILURE_LIMIT = 3
# An actor without preferredUsername is named by its host's WebFinger
# (reverse lookup, once, within this many seconds of the key deadline),
# else by the last segment of its id that looks like a name.
NAME_LOOKUP_DEADLINE = 3.0
_DERIVED_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.~-]{0,63}")


class ActorError(ValueError):
    """An account that cannot be resolved or used; the message says why."""


def is_local_uri(ctx: Context, uri: str) -> bool:
    return uri.startswith(ctx.settings.base_url + "/")


async def _get(ctx: Context, url: str) -> tuple[str, dict[str, Any]]:
    key_id, private_pem = await signing_identity(ctx)
    return await signed_get(
        ctx.http,
        url,
        key_id=key_id,
        private_key_pem=private_pem,
        allow_private=ctx.settings.allow_private_networks,
        now=ctx.clock.now(),
    )


def _public_key_of(doc: dict[str, Any], key_id: str | None = None) -> dict[str, Any] | None:
    keys = [k for k in as_list(doc.get("publicKey")) if isinstance(k, dict)]
    if key_id is not None:
        keys = [k for k in keys if k.get("id") == key_id]
    return keys[0] if keys else None


def parse_actor(doc: dict[str, Any]) -> dict[str, Any]:
    """The columns we keep for an actor document, or ActorError if it is not one.

    ``preferredUsername`` is optional in ActivityPub: without one there is
    no ``username`` here, and :func:`store_actor` names the actor (an Update
    of a known actor keeps the name it has).
    """
    uri = doc.get("id")
    if not isinstance(uri, str):
        raise ActorError("actor document has no id")
    if doc.get("type") not in ACTOR_TYPES:
        raise ActorError(f"{uri} is a {doc.get('type')!r}, not an actor")
    inbox = doc.get("inbox")
    if not isinstance(inbox, str):
        raise ActorError(f"{uri} has no inbox")
    if not same_origin(inbox, uri):
        raise ActorError(f"{uri} names an inbox on another host")
    key = _public_key_of(doc)
    if key is not None and (
        id_of(key.get("owner")) not in (None, uri)
        or not isinstance(key.get("id"), str)
        or not same_origin(key["id"], uri)
    ):
        # A key on another origin, or owned by someone else, could let this
        # actor speak with another's key id; such an actor gets no key.
        key = None
    endpoints = doc.get("endpoints") if isinstance(doc.get("endpoints"), dict) else {}
    shared = endpoints.get("sharedInbox")
    fields = {
        "uri": uri,
        "actor_type": doc["type"],
        "domain": host_of(uri),
        "name": doc.get("name") if isinstance(doc.get("name"), str) else None,
        # Remote HTML through the one sanitizer, links only if http(s): both
        # end up in the owner's pages and in every client's profile view.
        "summary": sanitize_html(doc["summary"]) if isinstance(doc.get("summary"), str) else None,
        "url": web_url(id_of(as_list(doc.get("url"))[0])) if doc.get("url") else None,
        "inbox": inbox,
        "shared_inbox": shared if isinstance(shared, str) else None,
        "outbox": doc.get("outbox") if isinstance(doc.get("outbox"), str) else None,
        "followers_url": doc.get("followers") if isinstance(doc.get("followers"), str) else None,
        "key_id": key.get("id") if key else None,
        "public_key_pem": key.get("publicKeyPem") if key else None,
        "manually_approves_followers": bool(doc.get("manuallyApprovesFollowers", False)),
        "raw": json.dumps(doc),
    }
    username = doc.get("preferredUsername")
    if isinstance(username, str) and username:
        fields["username"] = username
    return fields


def _name_from_id(uri: str) -> str:
    for segment in reversed(urlsplit(uri).path.split("/")):
        name = unquote(segment).lstrip("@~")
        if _DERIVED_NAME.fullmatch(name):
            return name
    return host_of(uri).split(":")[0]  # like an instance actor: named after its host


async def _name_for(ctx: Context, uri: str) -> str:
    """A username for an actor that publishes none, as Mastodon would show it."""
    known = await cached_actor(ctx, uri)
    if known is not None:
        return known.username
    try:
        name, _ = await webfinger.account_of_actor(
            ctx.http,
            uri,
            allow_private=ctx.settings.allow_private_networks,
            deadline=NAME_LOOKUP_DEADLINE,
        )
    except FederationError:
        return _name_from_id(uri)
    return name if _DERIVED_NAME.fullmatch(name) else _name_from_id(uri)


async def store_actor(ctx: Context, fields: dict[str, Any]) -> Actor:
    if "username" not in fields:
        fields = {**fields, "username": await _name_for(ctx, fields["uri"])}
    now = ctx.clock.now()
    for _ in range(3):
        try:
            async with ctx.db.transaction() as session:
                actor = (
                    await session.execute(select(Actor).where(Actor.uri == fields["uri"]))
                ).scalar_one_or_none()
                if actor is not None and actor.local:
                    return actor
                if actor is None:
                    actor = Actor(local=False, created_at=now, **fields)
                    session.add(actor)
                else:
                    for name, value in fields.items():
                        setattr(actor, name, value)
                actor.fetched_at = now
            return actor
        except IntegrityError:
            # Another request stored the same actor first (PostgreSQL lets two
            # transactions race to the unique uri); the next round updates it.
            continue
    raise ActorError(f"could not store actor {fields['uri']}")


async def cached_actor(ctx: Context, uri: str) -> Actor | None:
    async with ctx.db.sessions() as session:
        return (await session.execute(select(Actor).where(Actor.uri == uri))).scalar_one_or_none()


async def fetch_actor(ctx: Context, uri: str, *, refresh: bool = False) -> Actor:
    """The actor at ``uri``, from the cache while it is fresh, else fetched."""
    actor = await cached_actor(ctx, uri)
    if actor is not None and actor.local:
        return actor
    if is_local_uri(ctx, uri):
        raise ActorError(f"no local actor at {uri}")
    fresh = (
        actor is not None and actor.fetched_at and ctx.clock.now() - actor.fetched_at < CACHE_TTL
    )
    if actor is not None and fresh and not refresh:
        return actor
    try:
        # A document is only trusted for the origin it was finally served
        # from (redirects included), the CVE-2024-23832 rule: signed_get
        # refuses an actor whose id is on another host.
        _, doc = await _get(ctx, uri)
    except FederationError as exc:
        raise ActorError(f"could not fetch {uri}: {exc}") from exc
    return await store_actor(ctx, parse_actor(doc))


async def resolve_account(ctx: Context, account: str) -> Actor:
    """An actor from ``user@host``, ``@user@host``, ``acct:…`` or an actor URL."""
    account = account.strip()
    if account.startswith(("https://", "http://")):
        name = urls.username_from_actor(ctx.settings, account)
        if name is not None:  # our own actor or profile URL
            account = name
        else:
            return await fetch_actor(ctx, account)
    if "@" not in account.lstrip("@"):
        account = f"{account.lstrip('@')}@{ctx.settings.host}"  # a bare name is a local user
    try:
        username, host = webfinger.parse_account(account)
    except FederationError as exc:
        raise ActorError(str(exc)) from exc
    if host.lower() == ctx.settings.host:
        actor = await cached_actor(ctx, urls.actor(ctx.settings, username.lower()))
        if actor is None:
            raise ActorError(f"no local user named {username!r}")
        return actor
    schemes = ("https", "http") if ctx.settings.allow_private_networks else ("https",)
    try:
        actor_url = await webfinger.lookup(
            ctx.http,
            f"{username}@{host}",
            allow_private=ctx.settings.allow_private_networks,
            schemes=schemes,
        )
    except FederationError as exc:
        raise ActorError(f"could not find {username}@{host}: {exc}") from exc
    return await fetch_actor(ctx, actor_url)


def _key_from_actor(actor: Actor, key_id: str) -> PublicKey:
    if actor.key_id != key_id or not actor.public_key_pem:
        raise KeyNotFoundError(f"{actor.uri} does not publish key {key_id}")
    return PublicKey(key_id=key_id, owner=actor.uri, pem=actor.public_key_pem)


async def _fetch_key(ctx: Context, key_id: str) -> PublicKey:
    """Fetch a key by its id and return it as published by its owner's actor document.

    Mastodon's key ids are ``<actor>#main-key`` (the URL is the actor);
    GoToSocial's are ``<actor>/main-key``, which serves a stub with only the
    key, so its owner is then fetched in full. Either way the key counts only
    if the owner's own document lists it.
    """
    try:
        # The document's id is on the origin that served it (signed_get).
        _, doc = await _get(ctx, key_id.split("#", 1)[0])
        if doc.get("type") in ACTOR_TYPES and isinstance(doc.get("inbox"), str):
            fields = parse_actor(doc)
            actor = await store_actor(ctx, fields)
        else:
            key = _public_key_of(doc, key_id) or (doc if "publicKeyPem" in doc else None)
            owner = id_of(key.get("owner")) if key else None
            owner = owner or (doc.get("id") if "publicKey" in doc else None)
            if not isinstance(owner, str) or not same_origin(owner, key_id):
                raise KeyNotFoundError(f"key {key_id} has no owner on its own host")
            actor = await fetch_actor(ctx, owner, refresh=True)
    except (FederationError, ActorError) as exc:
        if isinstance(exc, KeyNotFoundError):
            raise
        raise KeyNotFoundError(f"could not fetch key {key_id}: {exc}") from exc
    return _key_from_actor(actor, key_id)


def _recently_failed(ctx: Context, key_id: str, now: datetime) -> bool:
    failed = ctx.failed_keys.get(key_id)
    if failed is not None and now - failed < FAILED_KEY_TTL:
        return True
    since, count = ctx.failed_key_hosts.get(host_of(key_id), (now, 0))
    return count >= HOST_FAILURE_LIMIT and now - since < FAILED_KEY_TTL


def _record_failure(ctx: Context, key_id: str, now: datetime, *, whole_host: bool) -> None:
    if len(ctx.failed_keys) > KEY_CACHE_SIZE:
        ctx.failed_keys.clear()  # bounded like the key cache
        ctx.failed_key_hosts.clear()
    ctx.failed_keys[key_id] = now
    host = host_of(key_id)
    since, count = ctx.failed_key_hosts.get(host, (now, 0))
    if now - since >= FAILED_KEY_TTL:
        since, count = now, 0
    count = HOST_FAILURE_LIMIT if whole_host else count + 1
    # Refused for FAILED_KEY_TTL from the failure that reached the limit.
    ctx.failed_key_hosts[host] = (now if count >= HOST_FAILURE_LIMIT else since, count)


class _Refused(KeyNotFoundError):
    """Not fetched: the key id or its host failed moments ago."""


def _refuse_if_failed(ctx: Context, key_id: str) -> None:
    if _recently_failed(ctx, key_id, ctx.clock.now()):
        raise _Refused(f"key {key_id} (or its host) failed moments ago; not fetched again yet")


async def _fetch_key_bounded(ctx: Context, key_id: str) -> PublicKey:
    """:func:`_fetch_key` within the limits of answering an inbox POST (see the constants)."""
    now = ctx.clock.now()
    _refuse_if_failed(ctx, key_id)
    try:
        async with asyncio.timeout(KEY_FETCH_DEADLINE), ctx.key_fetch_slots:
            # Again in the slot: its host may have failed while this one waited.
            _refuse_if_failed(ctx, key_id)
            return await _fetch_key(ctx, key_id)
    except _Refused:
        raise
    except TimeoutError as exc:
        _record_failure(ctx, key_id, now, whole_host=True)
        raise KeyNotFoundError(
            f"key {key_id} was not served within {KEY_FETCH_DEADLINE:g} s"
        ) from exc
    except KeyNotFoundError:
        _record_failure(ctx, key_id, now, whole_host=False)
        raise


async def _stored_key(ctx: Context, key_id: str) -> PublicKey:
    """A remote key from the actors we know, else fetched."""
    async with ctx.db.sessions() as session:
        query = select(Actor).where(Actor.key_id == key_id, Actor.local.is_(False))
        actor = (await session.execute(query)).scalars().first()
    if actor is not None and actor.public_key_pem:
        return _key_from_actor(actor, key_id)
    return await _fetch_key_bounded(ctx, key_id)


async def _refetch_and_cache(ctx: Context, key_id: str, now: datetime) -> PublicKey:
    key = await _fetch_key_bounded(ctx, key_id)
    ctx.key_cache[key_id] = (now, key)
    return key


async def _refetch(ctx: Context, key_id: str) -> PublicKey:
    """The key as its owner publishes it now, after a signature failed with the cached one.

    Rationed per key id, not per host: one forged request naming a host's
    key, or several actors there rotating at once, must not leave the other
    senders of that host unverifiable. Within the cool-down a request gets
    what the last refetch of that key fetched (waiting for it if it is in
    flight), so a forger who spent a key's refetch has fetched the owner's
    current key for the owner.
    """
    now = ctx.clock.now()
    last = ctx.key_refetches.get(key_id)
    if last is not None and now - last[0] < KEY_REFETCH_COOLDOWN:
        try:
            return await asyncio.shield(last[1])
        except KeyNotFoundError as exc:
            raise KeyNotFoundError(f"key {key_id} was refetched moments ago: {exc}") from None
    if len(ctx.key_refetches) > KEY_CACHE_SIZE:  # bounded like the key cache
        ctx.key_refetches = {
            k: entry
            for k, entry in ctx.key_refetches.items()
            if now - entry[0] < KEY_REFETCH_COOLDOWN
        }
    ctx.key_cache.pop(key_id, None)
    pending = asyncio.ensure_future(_refetch_and_cache(ctx, key_id, now))
    ctx.key_refetches[key_id] = (now, pending)
    return await asyncio.shield(pending)


def make_key_resolver(ctx: Context) -> KeyResolver:
    async def resolve(key_id: str, refresh: bool) -> PublicKey:
        if web_url(key_id) is None:  # also what no URL parser accepts ("https://[x]/")
            raise KeyNotFoundError(f"key id {key_id!r} is not an http(s) URL")
        if is_local_uri(ctx, key_id):
            async with ctx.db.sessions() as session:
                query = select(Actor).where(Actor.key_id == key_id, Actor.local.is_(True))
                actor = (await session.execute(query)).scalars().first()
            if actor is None:
                raise KeyNotFoundError(f"no local key {key_id}")
            return _key_from_actor(actor, key_id)
        now = ctx.clock.now()
        if not refresh:
            cached = ctx.key_cache.get(key_id)
            if cached is not None and now - cached[0] < KEY_CACHE_TTL:
                return cached[1]
            # One lookup per key at a time: a burst from a new server must
            # not fetch the same actor twenty times over.
            pending = ctx.key_lookups.get(key_id)
            if pending is None:
                pending = asyncio.ensure_future(_stored_key(ctx, key_id))
                ctx.key_lookups[key_id] = pending
                pending.add_done_callback(lambda _: ctx.key_lookups.pop(key_id, None))
            key = await asyncio.shield(pending)
            if len(ctx.key_cache) > KEY_CACHE_SIZE:
                ctx.key_cache.clear()  # crude, but bounded; refilled from the database
            ctx.key_cache[key_id] = (now, key)
            return key
        return await _refetch(ctx, key_id)

    return resolve
