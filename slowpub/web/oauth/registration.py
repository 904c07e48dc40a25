"""OAuth discovery and client registration: RFC 8414 metadata, Mastodon's
``/api/v1/apps`` and RFC 7591 dynamic registration.

The decisions (what a valid redirect URI is, what a registration stores) are
:mod:`slowpub.auth.clients`'s; this module parses and answers.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from slowpub.auth import access as oauth
from slowpub.auth import clients as oauth_clients
from slowpub.auth import scopes as oauth_scopes
from slowpub.auth.errors import OAuthError
from slowpub.web.oauth.params import (
    CORS,
    NO_STORE,
    Params,
    body,
    one,
)
from slowpub.web.responses import ctx_of


async def server_metadata(request: Request) -> Response:
    """RFC 8414, with Mastodon 4.3's ``app_registration_endpoint``."""
    settings = ctx_of(request).settings
    grants = ["authorization_code", "client_credentials"]
    if settings.allow_password_grant:
        grants.insert(1, "password")
    doc = {
        "issuer": settings.base_url,
        "authorization_endpoint": settings.url("/oauth/authorize"),
        "token_endpoint": settings.url("/oauth/token"),
        "revocation_endpoint": settings.url("/oauth/revoke"),
        "registration_endpoint": settings.url("/oauth/register"),
        "app_registration_endpoint": settings.url("/api/v1/apps"),
        "scopes_supported": sorted(oauth_scopes.SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": grants,
        "token_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "none",
        ],
        "revocation_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "none",
        ],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": True,
        "client_id_metadata_document_supported": True,
    }
    return JSONResponse(doc, headers=CORS)


def _mastodon_error(status: int, message: str) -> Response:
    return JSONResponse({"error": message}, status_code=status, headers=CORS)


async def mastodon_register(request: Request) -> Response:
    """POST /api/v1/apps. Some clients put the fields in the query string."""
    params: Params = {}
    for key, value in request.query_params.multi_items():
        params.setdefault(key.removesuffix("[]"), []).append(value)
    params.update(await body(request))
    ctx = ctx_of(request)
    name = (one(params, "client_name") or "").strip()
    if not name:
        return _mastodon_error(422, "Validation failed: Name can't be blank")
    uris = [uri for value in params.get("redirect_uris", []) for uri in value.split()]
    if not uris:
        return _mastodon_error(422, "Validation failed: Redirect URI can't be blank")
    try:
        app, secret = await oauth_clients.register_app(
            ctx,
            name=name,
            redirect_uris=uris,
            scopes=" ".join(params.get("scopes", [])),
            website=one(params, "website"),
            registration="mastodon",
        )
    except OAuthError as exc:
        return _mastodon_error(422, f"Validation failed: {exc.description}")
    return JSONResponse(oauth_clients.mastodon_app_json(app, secret, ctx), headers=CORS)


async def mastodon_verify_app(request: Request) -> Response:
    info = await oauth.require_auth(request, None, user_required=False)
    return JSONResponse(
        oauth_clients.mastodon_app_json(info.app, None, ctx_of(request)), headers=CORS
    )


def _metadata_error(error: str, description: str) -> Response:
    return JSONResponse(
        {"error": error, "error_description": description},
        status_code=400,
        headers={**CORS, **NO_STORE},
    )


_DCR_GRANTS = frozenset({"authorization_code", "client_credentials", "password"})
_DCR_METHODS = frozenset({"none", "client_secret_basic", "client_secret_post"})


async def dynamic_register(request: Request) -> Response:
    """RFC 7591 dynamic client registration (JSON in, JSON out)."""
    try:
        meta = json.loads(await request.body())
    except (ValueError, RecursionError):  # nested past the recursion limit
        meta = None
    if not isinstance(meta, dict):
        return _metadata_error("invalid_client_metadata", "The body must be a JSON object")
    uris = meta.get("redirect_uris", [])
    if not isinstance(uris, list) or not all(isinstance(uri, str) for uri in uris):
        return _metadata_error("invalid_redirect_uri", "redirect_uris must be an array of URIs")
    method = meta.get("token_endpoint_auth_method", "client_secret_basic")
    if method not in _DCR_METHODS:
        return _metadata_error("invalid_client_metadata", f"Unsupported auth method {method!r}")
    asked = meta.get("grant_types", ["authorization_code"])
    if not isinstance(asked, list):
        return _metadata_error("invalid_client_metadata", "grant_types must be an array")
    # We may narrow what was asked (RFC 7591 §3.2.1); refresh tokens are not issued.
    grants = [grant for grant in asked if grant in _DCR_GRANTS]
    if not grants:
        return _metadata_error("invalid_client_metadata", "No supported grant_types")
    if method == "none" and "client_credentials" in grants:
        return _metadata_error(
            "invalid_client_metadata", "client_credentials needs a confidential client"
        )
    if "authorization_code" in grants and not uris:
        return _metadata_error("invalid_redirect_uri", "redirect_uris is required")
    if meta.get("response_types", ["code"]) != ["code"]:
        return _metadata_error("invalid_client_metadata", "Only the code response type")
    scope = meta.get("scope") if isinstance(meta.get("scope"), str) else None
    client_uri = meta.get("client_uri") if isinstance(meta.get("client_uri"), str) else None
    name = meta.get("client_name") if isinstance(meta.get("client_name"), str) else None
    name = name or (urlsplit(client_uri).hostname if client_uri else None) or "Unnamed client"
    ctx = ctx_of(request)
    try:
        app, secret = await oauth_clients.register_app(
            ctx,
            name=name,
            redirect_uris=uris,
            scopes=scope or "",
            website=client_uri,
            registration="dynamic",
            confidential=method != "none",
        )
    except OAuthError as exc:
        error = "invalid_redirect_uri" if exc.error == "invalid_redirect_uri" else None
        return _metadata_error(error or "invalid_client_metadata", exc.description)
    doc: dict[str, Any] = {
        "client_id": app.client_id,
        "client_id_issued_at": int(app.created_at.timestamp()),
        "client_name": app.name,
        "redirect_uris": oauth_clients.redirect_uris_of(app),
        "grant_types": grants,
        "response_types": ["code"],
        "token_endpoint_auth_method": method,
        "scope": app.scopes,
    }
    if secret is not None:
        doc["client_secret"] = secret
        doc["client_secret_expires_at"] = 0
    if app.website:
        doc["client_uri"] = app.website
    if isinstance(meta.get("logo_uri"), str):
        doc["logo_uri"] = meta["logo_uri"]
    return JSONResponse(doc, status_code=201, headers={**CORS, **NO_STORE})
