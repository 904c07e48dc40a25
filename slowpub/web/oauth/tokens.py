"""The token and revocation endpoints: client authentication, then a grant."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from urllib.parse import unquote_plus

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from slowpub.auth import clients as oauth_clients
from slowpub.auth import grants as oauth_grants
from slowpub.auth.errors import OAuthError
from slowpub.auth.logins import LoginThrottled
from slowpub.web.oauth.params import (
    CORS,
    NO_STORE,
    body,
    flat,
    oauth_json,
)
from slowpub.web.responses import ctx_of
from slowpub.web.sessions import client_address


def _client_auth(request: Request, params: Mapping[str, str]) -> tuple[str | None, str | None]:
    """client_secret_basic or client_secret_post (or a bare client_id), never both."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return params.get("client_id"), params.get("client_secret") or None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise OAuthError(401, "invalid_client", "Malformed Basic credentials") from exc
    raw_id, sep, raw_secret = decoded.partition(":")
    if not sep:
        raise OAuthError(401, "invalid_client", "Malformed Basic credentials")
    # RFC 6749 §2.3.1: both parts are form-urlencoded before encoding.
    client_id, secret = unquote_plus(raw_id), unquote_plus(raw_secret)
    if params.get("client_secret") or params.get("client_id", client_id) != client_id:
        raise OAuthError(400, "invalid_request", "Use one client authentication method")
    return client_id, secret


def _uses_basic(request: Request) -> bool:
    return request.headers.get("authorization", "")[:6].lower() == "basic "


async def token(request: Request) -> Response:
    params = flat(await body(request))
    ctx = ctx_of(request)
    try:
        client_id, secret = _client_auth(request, params)
        app = await oauth_clients.authenticate_client(ctx, client_id, secret)
        grant = params.get("grant_type")
        if grant == "authorization_code":
            code = params.get("code")
            if not code:
                raise OAuthError(400, "invalid_request", "The code parameter is missing")
            issued = await oauth_grants.exchange_code(
                ctx,
                app,
                code=code,
                redirect_uri=params.get("redirect_uri") or None,
                code_verifier=params.get("code_verifier") or None,
            )
        elif grant == "password":
            issued = await oauth_grants.password_grant(
                ctx,
                app,
                username=params.get("username", ""),
                password=params.get("password", ""),
                scope=params.get("scope"),
                address=client_address(request),
            )
        elif grant == "client_credentials":
            issued = await oauth_grants.client_credentials_grant(
                ctx, app, scope=params.get("scope")
            )
        elif not grant:
            raise OAuthError(400, "invalid_request", "The grant_type parameter is missing")
        else:
            raise OAuthError(400, "unsupported_grant_type", f"Unsupported grant_type {grant!r}")
    except OAuthError as exc:
        return oauth_json(exc, basic=_uses_basic(request))
    except LoginThrottled as throttled:
        return _throttled(throttled)
    return JSONResponse(issued.json(), headers={**NO_STORE, **CORS})


def _throttled(throttled: LoginThrottled) -> Response:
    """RFC 6749's error shape with RFC 6585's status. ``slow_down`` is the
    registered OAuth error for "too many token requests" (RFC 8628 §3.5)."""
    wait = throttled.retry_after
    exc = OAuthError(429, "slow_down", f"Too many failed logins; try again in {wait} seconds")
    response = oauth_json(exc)
    response.headers["Retry-After"] = str(wait)
    return response


async def revoke(request: Request) -> Response:
    """RFC 7009: 200 whether or not the token existed."""
    params = flat(await body(request))
    ctx = ctx_of(request)
    try:
        client_id, secret = _client_auth(request, params)
        app = await oauth_clients.authenticate_client(ctx, client_id, secret)
        value = params.get("token")
        if not value:
            raise OAuthError(400, "invalid_request", "The token parameter is missing")
    except OAuthError as exc:
        return oauth_json(exc, basic=_uses_basic(request))
    await oauth_grants.revoke_token(ctx, app, value)
    return JSONResponse({}, headers={**NO_STORE, **CORS})
