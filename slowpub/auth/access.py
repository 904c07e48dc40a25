"""OAuth 2.0 bearer tokens on API requests: who is calling, and may they.

The Mastodon API, C2S and the OAuth endpoints all ask the same questions (is
this token good, may it do this), and those are database questions, not HTTP
ones, so they are answered here once. The rest of OAuth lives beside it:
scopes in :mod:`slowpub.auth.scopes`, clients in :mod:`slowpub.auth.clients`,
codes and grants in :mod:`slowpub.auth.grants`. ``OAuthError`` and
``scope_allows`` are re-exported because the API faces import them from here.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from starlette.exceptions import HTTPException
from starlette.requests import Request

from slowpub.auth.clients import hash_secret
from slowpub.auth.errors import OAuthError
from slowpub.auth.scopes import scope_allows
from slowpub.context import Context
from slowpub.storage.models import OAuthApp, OAuthToken, User

__all__ = ["OAuthError", "TokenInfo", "authenticate", "require_auth", "scope_allows"]

# Writing last_used_at on every request would turn every API read into a write.
LAST_USED_STEP = timedelta(minutes=1)


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
