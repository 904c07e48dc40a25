"""OAuth 2.0 endpoints: discovery, client registration, the consent page, tokens.

Thin on purpose: every decision about clients, codes and tokens is made in
:mod:`slowpub.oauth` and its ``oauth_*`` siblings. The authorization
endpoint has two error channels because RFC 6749 §4.1.2.1 demands it: a bad
client or redirect URI is shown to the user (redirecting to an unverified URI
would make us an open redirector); everything else goes back to the client as
``?error=``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit, urlunsplit

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from slowpub import oauth, oauth_clients, oauth_grants, oauth_scopes
from slowpub.models import OAuthApp
from slowpub.oauth_clients import OOB_URI
from slowpub.oauth_errors import OAuthError
from slowpub.web.responses import ctx_of, page
from slowpub.web.sessions import csrf_ok, csrf_token, current_user

Params = dict[str, list[str]]

CORS = {"Access-Control-Allow-Origin": "*"}
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
# The consent page must never be framed: a hidden frame could click Allow.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
}
_SCOPE_LABELS = {
    "read": "read everything in your account",
    "write": "change everything in your account (post, follow, edit your profile)",
    "follow": "follow, block and mute accounts",
    "push": "receive push notifications",
    "profile": "see your profile (name and handle) only",
}


# --- parameters ------------------------------------------------------------


def _from_form(form: FormData) -> Params:
    params: Params = {}
    for key, value in form.multi_items():
        if isinstance(value, str):
            params.setdefault(key.removesuffix("[]"), []).append(value)
    return params


def _from_json(doc: object) -> Params:
    params: Params = {}
    if isinstance(doc, dict):
        for key, value in doc.items():
            items = value if isinstance(value, list) else [value]
            params[str(key)] = [str(item) for item in items if item is not None]
    return params


async def _body(request: Request) -> Params:
    """Form (urlencoded or multipart) or JSON: Mastodon accepts all three."""
    content_type = request.headers.get("content-type", "")
    if "json" in content_type:
        try:
            return _from_json(json.loads(await request.body()))
        except ValueError:
            return {}
    return _from_form(await request.form())


def _one(params: Mapping[str, list[str]], key: str) -> str | None:
    values = params.get(key)
    return values[0] if values else None


def _flat(params: Params) -> dict[str, str]:
    return {key: values[0] for key, values in params.items() if values}


def _oauth_json(exc: OAuthError, *, basic: bool = False) -> Response:
    headers = {**NO_STORE, **CORS}
    if exc.status == 401 and basic:
        headers["WWW-Authenticate"] = 'Basic realm="slowpub"'
    body = {"error": exc.error, "error_description": exc.description}
    return JSONResponse(body, status_code=exc.status, headers=headers)


async def _preflight(request: Request) -> Response:
    # Browser-based clients (RFC 8252 §8.x, metadata-document SPAs) call these.
    return Response(
        status_code=204,
        headers={
            **CORS,
            "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
            "Access-Control-Allow-Headers": "Authorization, Content-Type",
            "Access-Control-Max-Age": "86400",
        },
    )


# --- discovery --------------------------------------------------------------


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


# --- registration ------------------------------------------------------------


def _mastodon_error(status: int, message: str) -> Response:
    return JSONResponse({"error": message}, status_code=status, headers=CORS)


async def mastodon_register(request: Request) -> Response:
    """POST /api/v1/apps. Some clients put the fields in the query string."""
    params: Params = {}
    for key, value in request.query_params.multi_items():
        params.setdefault(key.removesuffix("[]"), []).append(value)
    params.update(await _body(request))
    ctx = ctx_of(request)
    name = (_one(params, "client_name") or "").strip()
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
            website=_one(params, "website"),
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
    except ValueError:
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


# --- authorization ------------------------------------------------------------


@dataclass
class _Authorization:
    """A checked authorization request, ready to show or to grant."""

    app: OAuthApp
    redirect_uri: str
    scopes: list[str]
    state: str | None
    code_challenge: str | None
    force_login: bool

    def hidden_fields(self) -> list[tuple[str, str]]:
        fields = [
            ("response_type", "code"),
            ("client_id", self.app.client_id),
            ("redirect_uri", self.redirect_uri),
            ("scope", " ".join(self.scopes)),
        ]
        if self.state is not None:
            fields.append(("state", self.state))
        if self.code_challenge is not None:
            fields += [("code_challenge", self.code_challenge), ("code_challenge_method", "S256")]
        return fields


def _fatal(request: Request, message: str, status: int = 400) -> Response:
    response = page(request, "oauth_authorize.html", {"fatal": message}, status=status)
    response.headers.update(PAGE_HEADERS)
    return response


def _redirect(request: Request, uri: str, values: dict[str, str | None]) -> Response:
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [(key, value) for key, value in values.items() if value is not None]
    # RFC 9207: tell the client who answered, against mix-up attacks.
    query.append(("iss", ctx_of(request).settings.base_url))
    target = urlunsplit(parts._replace(query=urlencode(query)))
    return RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})


def _refuse(
    request: Request, redirect_uri: str, state: str | None, error: str, description: str
) -> Response:
    if redirect_uri == OOB_URI:
        return _fatal(request, f"{description} ({error})")
    return _redirect(
        request, redirect_uri, {"error": error, "error_description": description, "state": state}
    )


async def _check(
    request: Request, params: Mapping[str, str], *, fetch: bool
) -> _Authorization | Response:
    ctx = ctx_of(request)
    client_id = params.get("client_id", "").strip()
    if not client_id:
        return _fatal(request, "The request names no client (client_id is missing).")
    app = await oauth_clients.find_app(ctx, client_id)
    if (
        fetch
        and (app is None or app.registration == "metadata")
        and oauth_clients.is_metadata_client_id(ctx, client_id)
    ):
        app = await oauth_clients.resolve_metadata_client(ctx, client_id)
    if app is None:
        return _fatal(request, "This client is not registered here.")
    redirect_uri = params.get("redirect_uri", "").strip()
    registered = oauth_clients.redirect_uris_of(app)
    if not redirect_uri:
        if len(registered) != 1:
            return _fatal(request, "The request does not say where to send you back.")
        redirect_uri = registered[0]
    elif not oauth_clients.redirect_allowed(app, redirect_uri):
        return _fatal(request, "The redirect URI is not one this client registered.")
    state = params.get("state")
    if params.get("response_type") != "code":
        return _refuse(
            request, redirect_uri, state, "unsupported_response_type", "Only response_type=code"
        )
    try:
        scopes = oauth_scopes.requested_scopes(app, params.get("scope"), default=app.scopes)
    except OAuthError as exc:
        return _refuse(request, redirect_uri, state, exc.error, exc.description)
    challenge = params.get("code_challenge") or None
    if challenge is not None:
        if params.get("code_challenge_method") != "S256":
            # Absent means "plain" (RFC 7636 §4.3), which we do not accept.
            return _refuse(
                request,
                redirect_uri,
                state,
                "invalid_request",
                "code_challenge_method must be S256",
            )
        if not oauth_grants.is_s256_challenge(challenge):
            return _refuse(request, redirect_uri, state, "invalid_request", "Bad code_challenge")
    elif app.client_secret_hash is None:
        return _refuse(
            request, redirect_uri, state, "invalid_request", "PKCE (code_challenge) is required"
        )
    force = params.get("force_login", "").lower() in {"1", "true", "yes", "on"}
    return _Authorization(app, redirect_uri, scopes, state, challenge, force)


def _scope_label(scope: str) -> str:
    if scope in _SCOPE_LABELS:
        return _SCOPE_LABELS[scope]
    family, _, what = scope.partition(":")
    return f"{'read' if family == 'read' else 'change'} your {what}"


def _consent(
    request: Request,
    auth: _Authorization,
    *,
    user: str | None,
    error: str | None = None,
    username: str = "",
    status: int = 200,
) -> Response:
    app = auth.app
    metadata_client = app.registration == "metadata"
    target = urlsplit(auth.redirect_uri)
    context = {
        "fatal": None,
        "app_name": app.name,
        "website": app.website,
        "client_url": app.client_id if metadata_client else None,
        "unverified": oauth_clients.is_unverified(app),
        "scopes": [{"name": scope, "label": _scope_label(scope)} for scope in auth.scopes],
        "redirect_to": target.netloc or auth.redirect_uri,
        "oob": auth.redirect_uri == OOB_URI,
        "hidden": auth.hidden_fields(),
        "csrf": csrf_token(request),
        "login": user is None,
        "user": user,
        "username": username,
        "error": error,
    }
    response = page(request, "oauth_authorize.html", context, status=status)
    response.headers.update(PAGE_HEADERS)
    return response


async def authorize_form(request: Request) -> Response:
    checked = await _check(request, request.query_params, fetch=True)
    if isinstance(checked, Response):
        return checked
    user = None if checked.force_login else request.session.get("user")
    return _consent(request, checked, user=user)


async def authorize_submit(request: Request) -> Response:
    params = _flat(_from_form(await request.form()))
    if not csrf_ok(request, params.get("csrf")):
        return _fatal(request, "This form expired. Go back, reload and try again.", status=403)
    checked = await _check(request, params, fetch=False)
    if isinstance(checked, Response):
        return checked
    if params.get("decision") != "allow":
        return _refuse(
            request, checked.redirect_uri, checked.state, "access_denied", "The user said no"
        )
    ctx = ctx_of(request)
    if "username" in params:
        login = params["username"]
        user = await oauth_grants.verify_login(ctx, login, params.get("password", ""))
        if user is None:
            return _consent(
                request,
                checked,
                user=None,
                error="Wrong username or password.",
                username=login,
                status=401,
            )
        # A new session on login: a planted cookie must not become logged in.
        request.session.clear()
        request.session["user"] = user.username
        csrf_token(request)
    else:
        user = await current_user(request)
        if user is None:
            return _consent(request, checked, user=None, status=401)
    code = await oauth_grants.create_code(
        ctx,
        app=checked.app,
        user=user,
        redirect_uri=checked.redirect_uri,
        scopes=checked.scopes,
        code_challenge=checked.code_challenge,
    )
    if checked.redirect_uri == OOB_URI:
        response = page(request, "oauth_code.html", {"app_name": checked.app.name, "code": code})
        response.headers.update(PAGE_HEADERS)
        return response
    return _redirect(request, checked.redirect_uri, {"code": code, "state": checked.state})


# --- tokens ----------------------------------------------------------------


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
    params = _flat(await _body(request))
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
        return _oauth_json(exc, basic=_uses_basic(request))
    return JSONResponse(issued.json(), headers={**NO_STORE, **CORS})


async def revoke(request: Request) -> Response:
    """RFC 7009: 200 whether or not the token existed."""
    params = _flat(await _body(request))
    ctx = ctx_of(request)
    try:
        client_id, secret = _client_auth(request, params)
        app = await oauth_clients.authenticate_client(ctx, client_id, secret)
        value = params.get("token")
        if not value:
            raise OAuthError(400, "invalid_request", "The token parameter is missing")
    except OAuthError as exc:
        return _oauth_json(exc, basic=_uses_basic(request))
    await oauth_grants.revoke_token(ctx, app, value)
    return JSONResponse({}, headers={**NO_STORE, **CORS})


routes: list[BaseRoute] = [
    Route("/.well-known/oauth-authorization-server", server_metadata, methods=["GET"]),
    Route("/oauth/authorize", authorize_form, methods=["GET"]),
    Route("/oauth/authorize", authorize_submit, methods=["POST"]),
    Route("/oauth/token", token, methods=["POST"]),
    Route("/oauth/revoke", revoke, methods=["POST"]),
    Route("/oauth/register", dynamic_register, methods=["POST"]),
    Route("/api/v1/apps", mastodon_register, methods=["POST"]),
    Route("/api/v1/apps/verify_credentials", mastodon_verify_app, methods=["GET"]),
    *(
        Route(path, _preflight, methods=["OPTIONS"])
        for path in (
            "/.well-known/oauth-authorization-server",
            "/oauth/token",
            "/oauth/revoke",
            "/oauth/register",
            "/api/v1/apps",
            "/api/v1/apps/verify_credentials",
        )
    ),
]
