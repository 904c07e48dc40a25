"""OAuth 2.0 below the routes: clients, scopes, authorization codes, bearer tokens.

The Mastodon API, C2S and the OAuth endpoints all ask the same questions (is
this token good, may it do this, who is this client), and those are database
questions, not HTTP ones, so they are answered here once. Client secrets,
codes and tokens are 256-bit random strings stored only as SHA-256 digests:
with that much entropy a plain hash is enough, and a leaked database grants
nothing. Error codes and messages are RFC 6749's and Mastodon's own, because
clients match on them.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Collection, Iterable, Set
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.exceptions import HTTPException
from starlette.requests import Request

from federation.errors import FederationError
from federation.fetch import fetch_json, is_json_content_type
from slowpub.accounts import check_password, get_user
from slowpub.context import Context
from slowpub.models import OAuthApp, OAuthCode, OAuthToken, User

OOB_URI = "urn:ietf:wg:oauth:2.0:oob"
CODE_LIFETIME = timedelta(minutes=10)
# Writing last_used_at on every request would turn every API read into a write.
LAST_USED_STEP = timedelta(minutes=1)
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})

_READ = (
    "accounts blocks bookmarks favourites filters follows lists mutes notifications search statuses"
)
_WRITE = (
    "accounts blocks bookmarks conversations favourites filters follows lists media "
    "mutes notifications reports statuses"
)
SCOPES: frozenset[str] = frozenset(
    ["read", "write", "follow", "push", "profile"]
    + [f"read:{name}" for name in _READ.split()]
    + [f"write:{name}" for name in _WRITE.split()]
)
# Mastodon's legacy "follow" scope, kept for old clients.
_FOLLOW_COVERS = frozenset(
    ["read:blocks", "read:follows", "read:mutes", "write:blocks", "write:follows", "write:mutes"]
)
# What a client gets when it registers without saying (Mastodon's default).
DEFAULT_SCOPES = "read"
# A client metadata document may ask for anything; the user still consents.
_METADATA_SCOPES = "read write follow push profile"
_FORBIDDEN_SCHEMES = frozenset({"javascript", "data", "vbscript", "file"})
_VERIFIER_RE = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
_CHALLENGE_RE = re.compile(r"[A-Za-z0-9\-_]{43}")


class OAuthError(Exception):
    """A refusal with RFC 6749's error code (``invalid_grant``...) and an HTTP status."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.status = status
        self.error = error
        self.description = description


# --- scopes -----------------------------------------------------------------


def parse_scopes(raw: str | None) -> list[str]:
    """Split a space-separated scope string, keeping order, refusing unknown scopes."""
    found: list[str] = []
    for scope in (raw or "").split():
        if scope not in SCOPES:
            raise OAuthError(400, "invalid_scope", "Scopes doesn't match configured on the server.")
        if scope not in found:
            found.append(scope)
    return found


def scope_allows(granted: Set[str], required: str) -> bool:
    """Whether a token holding ``granted`` may do what needs ``required``.

    ``read``/``write`` cover their sub-scopes; ``follow`` covers Mastodon's
    six relationship scopes; ``profile`` covers only itself.
    """
    if required in granted:
        return True
    family = required.split(":", 1)[0]
    if family != required and family in ("read", "write") and family in granted:
        return True
    return required in _FOLLOW_COVERS and "follow" in granted


def _within(allowed: Set[str], requested: Iterable[str]) -> bool:
    return all(scope_allows(allowed, scope) for scope in requested)


def requested_scopes(app: OAuthApp, raw: str | None, *, default: str | None = None) -> list[str]:
    """The scopes asked for (or the default), checked against what the app registered."""
    app_scopes = frozenset(app.scopes.split())
    if not (raw or "").strip():
        raw = default
        if raw is None:
            raw = DEFAULT_SCOPES if scope_allows(app_scopes, DEFAULT_SCOPES) else app.scopes
    scopes = parse_scopes(raw)
    if not scopes or not _within(app_scopes, scopes):
        raise OAuthError(
            400, "invalid_scope", "The requested scope is invalid, unknown, or malformed."
        )
    return scopes


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
    """A metadata-document client whose document could never be fetched."""
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


async def _fetch_metadata(ctx: Context, client_id: str) -> dict[str, Any] | None:
    try:
        final_url, doc = await fetch_json(
            ctx.http,
            client_id,
            allow_private=ctx.settings.allow_private_networks,
            max_bytes=64 * 1024,
            max_redirects=0,
            content_type_ok=is_json_content_type,
        )
    except FederationError:
        return None
    if final_url != client_id or doc.get("client_id") != client_id:
        return None
    uris = doc.get("redirect_uris")
    if not isinstance(uris, list) or not uris or not all(isinstance(u, str) for u in uris):
        return None
    # Such a client has nowhere to keep a secret: only "none" makes sense.
    if doc.get("token_endpoint_auth_method", "none") != "none":
        return None
    try:
        for uri in uris:
            check_redirect_uri(uri)
        if isinstance(doc.get("scope"), str):
            parse_scopes(doc["scope"])
        _check_website(doc.get("client_uri") if isinstance(doc.get("client_uri"), str) else None)
    except OAuthError:
        return None
    return doc


async def resolve_metadata_client(ctx: Context, client_id: str) -> OAuthApp:
    """Fetch (again) the client's metadata document and store what it says.

    A document that cannot be fetched leaves an *unverified* client (no
    redirect URIs stored) that may only send users to loopback addresses,
    where nobody but the user's own machine listens. A client verified once
    keeps its last good document if a later fetch fails.
    """
    doc = await _fetch_metadata(ctx, client_id)
    existing = await find_app(ctx, client_id)
    host = urlsplit(client_id).hostname or client_id
    if doc is None:
        if existing is not None:
            return existing
        return await _register_metadata(ctx, client_id, host, [], _METADATA_SCOPES, None)
    name = doc.get("client_name") if isinstance(doc.get("client_name"), str) else None
    name = (name or host).strip()[:255] or host
    scope = doc["scope"] if isinstance(doc.get("scope"), str) and doc["scope"].strip() else None
    website = doc.get("client_uri") if isinstance(doc.get("client_uri"), str) else None
    uris = [check_redirect_uri(uri) for uri in doc["redirect_uris"]]
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


# --- users -------------------------------------------------------------------


async def find_login(session: AsyncSession, login: str) -> User | None:
    """The user a login form or password grant names: username, @username or e-mail."""
    login = login.strip()
    if "@" in login.lstrip("@"):
        result = await session.execute(select(User).where(User.email == login.lower()))
        return result.scalar_one_or_none()
    return await get_user(session, login.lstrip("@")) if login.lstrip("@") else None


async def verify_login(ctx: Context, login: str, password: str) -> User | None:
    async with ctx.db.sessions() as session:
        user = await find_login(session, login)
    if user is None or not check_password(user, password):
        return None
    return user


# --- codes and tokens ------------------------------------------------------


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    scopes: tuple[str, ...]
    created_at: datetime

    def json(self) -> dict[str, Any]:
        """The token response as Mastodon sends it (clients read ``created_at``)."""
        return {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "scope": " ".join(self.scopes),
            "created_at": int(self.created_at.timestamp()),
        }


def _issue(
    session: AsyncSession,
    app: OAuthApp,
    user_id: int | None,
    scopes: Iterable[str],
    now: datetime,
    code_hash: str | None = None,
) -> IssuedToken:
    plain = secrets.token_urlsafe(32)
    scope_tuple = tuple(scopes)
    session.add(
        OAuthToken(
            token_hash=hash_secret(plain),
            app_id=app.id,
            user_id=user_id,
            scopes=" ".join(scope_tuple),
            created_at=now,
            code_hash=code_hash,
        )
    )
    return IssuedToken(plain, scope_tuple, now)


def is_s256_challenge(value: str) -> bool:
    """The shape of an S256 challenge: 43 base64url characters, no padding."""
    return _CHALLENGE_RE.fullmatch(value) is not None


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


async def create_code(
    ctx: Context,
    *,
    app: OAuthApp,
    user: User,
    redirect_uri: str,
    scopes: Iterable[str],
    code_challenge: str | None,
) -> str:
    code = secrets.token_urlsafe(32)
    async with ctx.db.transaction() as session:
        session.add(
            OAuthCode(
                code_hash=hash_secret(code),
                app_id=app.id,
                user_id=user.id,
                redirect_uri=redirect_uri,
                scopes=" ".join(scopes),
                code_challenge=code_challenge,
                expires_at=ctx.clock.now() + CODE_LIFETIME,
                used=False,
            )
        )
    return code


async def exchange_code(
    ctx: Context,
    app: OAuthApp,
    *,
    code: str,
    redirect_uri: str | None,
    code_verifier: str | None,
) -> IssuedToken:
    """Trade a code for a token. Any attempt uses the code up, so a wrong
    verifier cannot be retried until it guesses right."""
    now = ctx.clock.now()
    problem: str | None = None
    issued: IssuedToken | None = None
    async with ctx.db.transaction() as session:
        row = await session.get(OAuthCode, hash_secret(code))
        if row is None or row.app_id != app.id:
            problem = "The authorization code is invalid"
        else:
            # Conditional update: of two concurrent exchanges only one wins.
            won = await session.execute(
                update(OAuthCode)
                .where(OAuthCode.code_hash == row.code_hash, OAuthCode.used.is_(False))
                .values(used=True)
                .returning(OAuthCode.code_hash)
                .execution_options(synchronize_session=False)
            )
            first_use = won.scalar_one_or_none() is not None
            problem = _code_problem(app, row, first_use, now, redirect_uri, code_verifier)
            if problem is None:
                issued = _issue(
                    session, app, row.user_id, row.scopes.split(), now, code_hash=row.code_hash
                )
            elif not first_use:
                # RFC 6749 §4.1.2: a code used twice was probably stolen;
                # revoke what it already bought.
                await session.execute(
                    update(OAuthToken)
                    .where(OAuthToken.code_hash == row.code_hash, OAuthToken.revoked_at.is_(None))
                    .values(revoked_at=now)
                    .execution_options(synchronize_session=False)
                )
    if issued is None:
        raise OAuthError(400, "invalid_grant", problem or "The authorization code is invalid")
    return issued


def _code_problem(
    app: OAuthApp,
    row: OAuthCode,
    first_use: bool,
    now: datetime,
    redirect_uri: str | None,
    verifier: str | None,
) -> str | None:
    if not first_use:
        return "The authorization code was already used"
    if row.expires_at <= now:
        return "The authorization code expired"
    if redirect_uri is not None:
        if redirect_uri != row.redirect_uri:
            return "The redirect_uri does not match the one used to authorize"
    elif redirect_uris_of(app) != [row.redirect_uri]:
        # Only a client with a single registered URI could have left it out.
        return "The redirect_uri is required"
    if row.code_challenge is None:
        if verifier:
            # RFC 9700 §2.1.1: a verifier without a challenge is a downgrade attempt.
            return "A code_verifier was sent but the authorization used no code_challenge"
        if app.client_secret_hash is None:
            return "Public clients must use PKCE"
        return None
    if not verifier or not _VERIFIER_RE.fullmatch(verifier):
        return "The code_verifier is missing or malformed"
    if not secrets.compare_digest(s256(verifier), row.code_challenge):
        return "The code_verifier does not match the code_challenge"
    return None


async def password_grant(
    ctx: Context, app: OAuthApp, *, username: str, password: str, scope: str | None
) -> IssuedToken:
    if not ctx.settings.allow_password_grant:
        raise OAuthError(400, "unsupported_grant_type", "The password grant is disabled here")
    scopes = requested_scopes(app, scope)
    user = await verify_login(ctx, username, password)
    if user is None:
        raise OAuthError(400, "invalid_grant", "Invalid username or password")
    async with ctx.db.transaction() as session:
        return _issue(session, app, user.id, scopes, ctx.clock.now())


async def client_credentials_grant(
    ctx: Context, app: OAuthApp, *, scope: str | None
) -> IssuedToken:
    """An app-only token (no user): Mastodon clients use one to register accounts
    or call verify_credentials for the app."""
    if app.client_secret_hash is None:
        raise OAuthError(400, "unauthorized_client", "Public clients cannot use client_credentials")
    scopes = requested_scopes(app, scope)
    async with ctx.db.transaction() as session:
        return _issue(session, app, None, scopes, ctx.clock.now())


async def revoke_token(ctx: Context, app: OAuthApp, token: str) -> None:
    """RFC 7009: revoke if it is this client's; say nothing either way."""
    async with ctx.db.transaction() as session:
        await session.execute(
            update(OAuthToken)
            .where(
                OAuthToken.token_hash == hash_secret(token),
                OAuthToken.app_id == app.id,
                OAuthToken.revoked_at.is_(None),
            )
            .values(revoked_at=ctx.clock.now())
            .execution_options(synchronize_session=False)
        )


# --- bearer tokens on API requests -----------------------------------------


@dataclass
class TokenInfo:
    token_id: int
    app: OAuthApp
    user: User | None
    scopes: frozenset[str]


def _bearer(authorization: str | None) -> str | None:
    scheme, _, value = (authorization or "").strip().partition(" ")
    value = value.strip()
    return value if scheme.lower() == "bearer" and value else None


async def authenticate(ctx: Context, authorization: str | None) -> TokenInfo:
    """The token in an ``Authorization: Bearer`` header, or OAuthError(401)."""
    token = _bearer(authorization)
    if token is None:
        raise OAuthError(401, "invalid_token", "The access token is invalid")
    async with ctx.db.sessions() as session:
        found = (
            await session.execute(
                select(OAuthToken, OAuthApp, User)
                .join(OAuthApp, OAuthApp.id == OAuthToken.app_id)
                .outerjoin(User, User.id == OAuthToken.user_id)
                .where(OAuthToken.token_hash == hash_secret(token))
            )
        ).one_or_none()
    if found is None:
        raise OAuthError(401, "invalid_token", "The access token is invalid")
    row, app, user = found
    now = ctx.clock.now()
    # Doorkeeper's descriptions, which Mastodon passes through.
    if row.revoked_at is not None:
        raise OAuthError(401, "invalid_token", "The access token was revoked")
    if row.expires_at is not None and row.expires_at <= now:
        raise OAuthError(401, "invalid_token", "The access token expired")
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_STEP:
        async with ctx.db.transaction() as session:
            await session.execute(
                update(OAuthToken)
                .where(OAuthToken.id == row.id)
                .values(last_used_at=now)
                .execution_options(synchronize_session=False)
            )
    return TokenInfo(token_id=row.id, app=app, user=user, scopes=frozenset(row.scopes.split()))


async def require_auth(
    request: Request, scope: str | Collection[str] | None, *, user_required: bool = True
) -> TokenInfo:
    """For route handlers: the request's token, or Mastodon's exact refusal.

    ``scope`` may be one scope or several of which any will do (Mastodon's
    ``doorkeeper_authorize! :read, :'read:accounts'``); None accepts any
    valid token. Order and statuses are Mastodon's: 401, then 403 for scope,
    then 422 for an app-only token where a user is needed.
    """
    ctx: Context = request.app.state.ctx
    try:
        info = await authenticate(ctx, request.headers.get("authorization"))
    except OAuthError as exc:
        raise HTTPException(401, exc.description) from exc
    if scope is not None:
        wanted = (scope,) if isinstance(scope, str) else tuple(scope)
        if not any(scope_allows(info.scopes, one) for one in wanted):
            raise HTTPException(403, "This action is outside the authorized scopes")
    if user_required and info.user is None:
        raise HTTPException(422, "This method requires an authenticated user")
    return info
