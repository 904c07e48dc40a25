"""OAuth clients: registration, redirect URIs, client authentication, metadata documents.

Who a client is and where it may send a user are answered here, whether the
client registered through Mastodon's ``POST /api/v1/apps`` or is a URL whose
client metadata document (draft-ietf-oauth-client-id-metadata-document) we
fetch (within the bounds of :mod:`slowpub.auth.client_documents`, and stored
only once a valid document arrived). Client secrets (and the codes and tokens
of :mod:`slowpub.auth.grants`)
are 256-bit random strings stored only as SHA-256 digests: with that much
entropy a plain hash is enough, and a leaked database grants nothing.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from federation.errors import FederationError
from federation.fetch import fetch_json, is_json_content_type
from slowpub.auth.client_documents import MAX_DOCUMENT_BYTES, DocumentUnavailable
from slowpub.auth.errors import OAuthError
from slowpub.auth.scopes import DEFAULT_SCOPES, parse_scopes
from slowpub.context import Context
from slowpub.storage.models import OAuthApp

OOB_URI = "urn:ietf:wg:oauth:2.0:oob"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
# A client metadata document may ask for anything; the user still consents.
_METADATA_SCOPES = "read write follow push profile"
_FORBIDDEN_SCHEMES = frozenset({"javascript", "data", "vbscript", "file"})


# --- redirect URIs --------------------------------------------------------


def check_redirect_uri(uri: str) -> str:
    """Refuse what Doorkeeper refuses: relative URIs, fragments, script schemes."""
    uri = uri.strip()
    if uri == OOB_URI:
        return uri
    try:
        parts = urlsplit(uri)
    except ValueError:
        parts = None
    if parts is None or not uri or any(char.isspace() for char in uri):
        raise OAuthError(400, "invalid_redirect_uri", "Redirect URI must be a valid URI.")
    if not parts.scheme:
        raise OAuthError(400, "invalid_redirect_uri", "Redirect URI must be an absolute URI.")
    if parts.fragment or "#" in uri:
        raise OAuthError(400, "invalid_redirect_uri", "Redirect URI cannot contain a fragment.")
    if parts.scheme.lower() in _FORBIDDEN_SCHEMES:
        raise OAuthError(400, "invalid_redirect_uri", "Redirect URI is forbidden by the server.")
    if parts.scheme.lower() in ("http", "https") and not parts.hostname:
        raise OAuthError(400, "invalid_redirect_uri", "Redirect URI must be a valid URI.")
    return uri


def is_loopback_uri(uri: str) -> bool:
    """``http://127.0.0.1``, ``http://[::1]`` or ``http://localhost``, any port (RFC 8252)."""
    try:
        parts = urlsplit(uri)
        return parts.scheme == "http" and (parts.hostname or "") in LOOPBACK_HOSTS
    except ValueError:
        return False


def redirect_uris_of(app: OAuthApp) -> list[str]:
    return [uri for uri in app.redirect_uris.split("\n") if uri]


def is_unverified(app: OAuthApp) -> bool:
    """A metadata-document client stored, by an earlier version, without a document.

    Such rows are no longer made (a client_id whose document cannot be
    fetched is refused); migration 0007 kept only those someone authorized.
    """
    return app.registration == "metadata" and not redirect_uris_of(app)


def redirect_allowed(app: OAuthApp, uri: str) -> bool:
    """Exact match, except that a loopback URI matches on any port (RFC 8252 §7.3)."""
    if is_unverified(app):
        return is_loopback_uri(uri) and "#" not in uri
    registered = redirect_uris_of(app)
    if uri in registered:
        return True
    if not is_loopback_uri(uri):
        return False
    asked = urlsplit(uri)
    for candidate in registered:
        if is_loopback_uri(candidate):
            known = urlsplit(candidate)
            if (
                known.hostname == asked.hostname
                and (known.path or "/") == (asked.path or "/")
                and known.query == asked.query
                and not asked.fragment
            ):
                return True
    return False


# --- clients -------------------------------------------------------------


def hash_secret(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _check_website(website: str | None) -> str | None:
    website = (website or "").strip() or None
    if website is None:
        return None
    try:
        parts = urlsplit(website)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise OAuthError(400, "invalid_client_metadata", "Website is invalid")
    if len(website) > 2000:
        raise OAuthError(400, "invalid_client_metadata", "Website is too long")
    return website


async def register_app(
    ctx: Context,
    *,
    name: str,
    redirect_uris: list[str],
    scopes: str,
    website: str | None,
    registration: str,
    confidential: bool = True,
    client_id: str | None = None,
) -> tuple[OAuthApp, str | None]:
    """Store a new client; returns it with its plain secret (None for public clients).

    ``client_id`` is only given for metadata-document clients, whose id is
    their URL; everyone else gets a random one.
    """
    name = name.strip()
    if not name:
        raise OAuthError(400, "invalid_client_metadata", "Name can't be blank")
    if len(name) > 255:
        raise OAuthError(400, "invalid_client_metadata", "Name is too long")
    uris: list[str] = []
    for uri in redirect_uris:
        checked = check_redirect_uri(uri)
        if checked not in uris:
            uris.append(checked)
    scope_list = parse_scopes(scopes.strip() or DEFAULT_SCOPES)
    secret = secrets.token_urlsafe(32) if confidential else None
    app = OAuthApp(
        client_id=client_id or secrets.token_urlsafe(32),
        client_secret_hash=hash_secret(secret) if secret else None,
        name=name,
        website=_check_website(website),
        redirect_uris="\n".join(uris),
        scopes=" ".join(scope_list),
        registration=registration,
        created_at=ctx.clock.now(),
    )
    async with ctx.db.transaction() as session:
        session.add(app)
    return app, secret


async def find_app(ctx: Context, client_id: str) -> OAuthApp | None:
    async with ctx.db.sessions() as session:
        result = await session.execute(select(OAuthApp).where(OAuthApp.client_id == client_id))
        return result.scalar_one_or_none()


async def authenticate_client(ctx: Context, client_id: str | None, secret: str | None) -> OAuthApp:
    """The client behind a token request: confidential ones must prove their secret,
    public ones must not pretend to have one."""
    app = await find_app(ctx, client_id) if client_id else None
    if app is None:
        raise OAuthError(401, "invalid_client", "Client authentication failed: unknown client")
    if app.client_secret_hash is None:
        if secret:
            raise OAuthError(401, "invalid_client", "Client authentication failed: public client")
        return app
    if not secret or not secrets.compare_digest(hash_secret(secret), app.client_secret_hash):
        raise OAuthError(401, "invalid_client", "Client authentication failed")
    return app


def mastodon_app_json(app: OAuthApp, secret: str | None, ctx: Context) -> dict[str, Any]:
    """Mastodon's Application entity (4.3 shape); the secret only when one is given."""
    uris = redirect_uris_of(app)
    doc: dict[str, Any] = {
        "id": str(app.id),
        "name": app.name,
        "website": app.website,
        "scopes": app.scopes.split(),
        "redirect_uri": "\n".join(uris),
        "redirect_uris": uris,
        "client_id": app.client_id,
        "vapid_key": "",
    }
    if secret is not None:
        doc["client_secret"] = secret
        doc["client_secret_expires_at"] = 0
    return doc


# --- client metadata documents -------------------------------------------


def is_metadata_client_id(ctx: Context, client_id: str) -> bool:
    """A URL client_id (draft-ietf-oauth-client-id-metadata-document): https, or
    http on loopback when the operator allows private networks (development)."""
    try:
        parts = urlsplit(client_id)
    except ValueError:
        return False
    if not parts.hostname or parts.username or parts.password or parts.fragment:
        return False
    if parts.scheme == "https":
        return True
    return (
        parts.scheme == "http"
        and ctx.settings.allow_private_networks
        and parts.hostname in LOOPBACK_HOSTS
    )


async def _fetch_metadata(ctx: Context, client_id: str) -> dict[str, Any]:
    """The client's document, checked; raises DocumentUnavailable saying what is wrong.

    No deadline here: :meth:`ClientDocuments.fetch` holds the whole fetch to one.
    """
    try:
        final_url, doc = await fetch_json(
            ctx.http,
            client_id,
            allow_private=ctx.settings.allow_private_networks,
            max_bytes=MAX_DOCUMENT_BYTES,
            max_redirects=0,
            content_type_ok=is_json_content_type,
            deadline=None,
        )
    except FederationError as exc:
        raise DocumentUnavailable(f"it could not be fetched ({exc})") from exc
    if final_url != client_id or doc.get("client_id") != client_id:
        raise DocumentUnavailable("its client_id is not the URL it was fetched from")
    uris = doc.get("redirect_uris")
    if not isinstance(uris, list) or not uris or not all(isinstance(u, str) for u in uris):
        raise DocumentUnavailable("it lists no redirect_uris")
    # Such a client has nowhere to keep a secret: only "none" makes sense.
    if doc.get("token_endpoint_auth_method", "none") != "none":
        raise DocumentUnavailable("its token_endpoint_auth_method is not none")
    try:
        for uri in uris:
            check_redirect_uri(uri)
        if isinstance(doc.get("scope"), str):
            parse_scopes(doc["scope"])
        _check_website(doc.get("client_uri") if isinstance(doc.get("client_uri"), str) else None)
    except OAuthError as exc:
        raise DocumentUnavailable(exc.description) from exc
    return doc


async def resolve_metadata_client(ctx: Context, client_id: str) -> OAuthApp:
    """The client a metadata document describes, fetched (again) if need be.

    A client is stored only once its document was fetched and found valid;
    until then the answer is a 400 saying why (503 if our own fetch limit
    was full). A stored client keeps its last good document when a later
    fetch fails, and is not refetched while its last fetch is fresh.
    """
    documents = ctx.client_documents
    now = ctx.clock.now()
    if documents.is_fresh(client_id, now):
        app = await find_app(ctx, client_id)
        if app is not None:
            return app
    try:
        return await documents.resolve(
            client_id,
            now,
            lambda: _fetch_metadata(ctx, client_id),
            lambda doc: _store_metadata(ctx, client_id, doc),
        )
    except DocumentUnavailable as exc:
        existing = await find_app(ctx, client_id)
        if existing is not None:
            return existing
        status = 503 if exc.busy else 400
        raise OAuthError(
            status, "invalid_client", f"The client's metadata document {client_id}: {exc.reason}."
        ) from exc


async def _store_metadata(ctx: Context, client_id: str, doc: dict[str, Any]) -> OAuthApp:
    host = urlsplit(client_id).hostname or client_id
    name = doc.get("client_name") if isinstance(doc.get("client_name"), str) else None
    name = (name or host).strip()[:255] or host
    scope = doc["scope"] if isinstance(doc.get("scope"), str) and doc["scope"].strip() else None
    website = doc.get("client_uri") if isinstance(doc.get("client_uri"), str) else None
    uris = [check_redirect_uri(uri) for uri in doc["redirect_uris"]]
    existing = await find_app(ctx, client_id)
    if existing is None:
        return await _register_metadata(
            ctx, client_id, name, uris, scope or _METADATA_SCOPES, website
        )
    async with ctx.db.transaction() as session:
        app = await session.get(OAuthApp, existing.id)
        if app is None:
            return existing
        app.name = name
        app.website = website
        app.redirect_uris = "\n".join(uris)
        app.scopes = " ".join(parse_scopes(scope or _METADATA_SCOPES))
    return app


async def _register_metadata(
    ctx: Context, client_id: str, name: str, uris: list[str], scope: str, website: str | None
) -> OAuthApp:
    try:
        app, _ = await register_app(
            ctx,
            name=name,
            redirect_uris=uris,
            scopes=scope,
            website=website,
            registration="metadata",
            confidential=False,
            client_id=client_id,
        )
    except IntegrityError:
        # Two first visits at once: the other one stored it.
        found = await find_app(ctx, client_id)
        if found is None:
            raise
        return found
    return app
