"""The authorization endpoint: checking the request, the consent page, the code.

It has two error channels because RFC 6749 §4.1.2.1 demands it: a bad client
or redirect URI is shown to the user (redirecting to an unverified URI would
make us an open redirector); everything else goes back to the client as
``?error=``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from slowpub.auth import clients as oauth_clients
from slowpub.auth import grants as oauth_grants
from slowpub.auth import scopes as oauth_scopes
from slowpub.auth.clients import OOB_URI
from slowpub.auth.errors import OAuthError
from slowpub.auth.logins import LoginThrottled, verify_login
from slowpub.storage.models import OAuthApp
from slowpub.web.oauth.params import (
    flat,
    from_form,
)
from slowpub.web.responses import ctx_of, page
from slowpub.web.sessions import (
    client_address,
    csrf_ok,
    csrf_token,
    current_user,
    sign_in,
    throttled_headers,
    try_again_text,
)

# The consent page must never be framed: a hidden frame could click Allow.
# Its policy is the pages' one without form-action: the form's answer is a
# redirect to the client, which browsers would check against form-action.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' https:; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
}
_SCOPE_LABELS = {
    "read": "read everything in your account",
    "write": "change everything in your account (post, follow, edit your profile)",
    "follow": "follow, block and mute accounts",
    "push": "receive push notifications",
    "profile": "see your profile (name and handle) only",
}


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
        try:
            app = await oauth_clients.resolve_metadata_client(ctx, client_id)
        except OAuthError as exc:
            refused = _fatal(request, exc.description, status=exc.status)
            if exc.status == 503:
                refused.headers["Retry-After"] = "10"
            return refused
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
    user = None if checked.force_login else await current_user(request)
    return _consent(request, checked, user=user.username if user else None)


async def authorize_submit(request: Request) -> Response:
    params = flat(from_form(await request.form()))
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
        try:
            user = await verify_login(
                ctx, login, params.get("password", ""), address=client_address(request)
            )
        except LoginThrottled as throttled:
            response = _consent(
                request,
                checked,
                user=None,
                error=try_again_text(throttled),
                username=login,
                status=429,
            )
            response.headers.update(throttled_headers(throttled))
            return response
        if user is None:
            return _consent(
                request,
                checked,
                user=None,
                error="Wrong username or password.",
                username=login,
                status=401,
            )
        await sign_in(request, user)
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
