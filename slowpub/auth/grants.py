"""OAuth grants: authorization codes with PKCE, the password and client-credentials
grants, issuing tokens and revoking them.

This is where a client trades something (a code, a password, its own secret)
for a bearer token. Codes are single-use even under concurrency, and a code
presented twice revokes what it bought, as RFC 6749 asks.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from slowpub.auth.clients import hash_secret, redirect_uris_of
from slowpub.auth.errors import OAuthError
from slowpub.auth.logins import verify_login
from slowpub.auth.scopes import requested_scopes
from slowpub.context import Context
from slowpub.storage.models import OAuthApp, OAuthCode, OAuthToken, User

CODE_LIFETIME = timedelta(minutes=10)
_VERIFIER_RE = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
_CHALLENGE_RE = re.compile(r"[A-Za-z0-9\-_]{43}")


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
    ctx: Context,
    app: OAuthApp,
    *,
    username: str,
    password: str,
    scope: str | None,
    address: str | None,
) -> IssuedToken:
    """Raises :class:`slowpub.auth.logins.LoginThrottled` past the login limits."""
    if not ctx.settings.allow_password_grant:
        raise OAuthError(400, "unsupported_grant_type", "The password grant is disabled here")
    scopes = requested_scopes(app, scope)
    user = await verify_login(ctx, username, password, address=address)
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
