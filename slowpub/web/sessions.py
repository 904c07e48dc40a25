"""Logging in to the owner-only pages: a signed session cookie and a CSRF token.

The cookie (Starlette's SessionMiddleware, signed with the instance secret)
holds only a session id and a CSRF token; every state-changing form posts
the token back. The id names a row the server can end
(:mod:`slowpub.auth.web_sessions`): logging out ends it, "sign out
everywhere" ends all of the account's, and so does a password change.
Passwords are checked through :mod:`slowpub.auth.logins` (off the event
loop, limited per address and account: 429 with ``Retry-After`` past it).
"""

from __future__ import annotations

import math
import secrets
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from slowpub.auth import web_sessions
from slowpub.auth.logins import LoginThrottled, verify_login
from slowpub.storage.models import User
from slowpub.web.responses import ctx_of, page


def csrf_token(request: Request) -> str:
    token: str | None = request.session.get("csrf")
    if token is None:
        token = secrets.token_urlsafe(24)
        request.session["csrf"] = token
    return token


def csrf_ok(request: Request, submitted: object) -> bool:
    expected = request.session.get("csrf")
    return (
        bool(expected)
        and isinstance(submitted, str)
        and secrets.compare_digest(expected, submitted)
    )


async def current_user(request: Request) -> User | None:
    """The logged-in owner, if the cookie names a session that is still live."""
    token = request.session.get("sid")
    if not isinstance(token, str) or not token:
        return None
    user = await web_sessions.resolve(ctx_of(request), token)
    if user is None:
        request.session.pop("sid", None)
    return user


async def sign_in(request: Request, user: User) -> None:
    """A new session on every login: a planted cookie must not become logged in."""
    token = await web_sessions.start(ctx_of(request), user, request.headers.get("user-agent"))
    request.session.clear()
    request.session["sid"] = token
    csrf_token(request)


def client_address(request: Request) -> str | None:
    """uvicorn's client address: from X-Forwarded-For only for SLOWPUB_TRUSTED_PROXIES."""
    return request.client.host if request.client else None


def try_again_text(throttled: LoginThrottled) -> str:
    seconds = throttled.retry_after
    when = f"{seconds} seconds" if seconds < 90 else f"{math.ceil(seconds / 60)} minutes"
    return f"Too many failed logins. Try again in {when}."


def throttled_headers(throttled: LoginThrottled) -> dict[str, str]:
    return {"Retry-After": str(throttled.retry_after), "Cache-Control": "no-store"}


def login_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target)}", status_code=303)


def _safe_next(value: object) -> str:
    # Only paths on this site: never an open redirect.
    if isinstance(value, str) and value.startswith("/") and not value.startswith("//"):
        return value
    return "/bundles"


async def login_form(request: Request) -> Response:
    return page(
        request,
        "login.html",
        {
            "next": _safe_next(request.query_params.get("next")),
            "error": None,
            "username": "",
            "csrf": csrf_token(request),
        },
    )


async def login_submit(request: Request) -> Response:
    form = await request.form()
    if not csrf_ok(request, form.get("csrf")):
        # Without this, another site could log a visitor into its own account.
        return page(
            request,
            "login.html",
            {
                "next": _safe_next(form.get("next")),
                "username": "",
                "csrf": csrf_token(request),
                "error": "The form expired; please log in again.",
            },
            status=403,
        )
    username = str(form.get("username", "")).strip().lstrip("@").lower()
    password = str(form.get("password", ""))
    context = {"next": _safe_next(form.get("next")), "username": username}
    try:
        user = await verify_login(
            ctx_of(request), username, password, address=client_address(request)
        )
    except LoginThrottled as throttled:
        context |= {"error": try_again_text(throttled), "csrf": csrf_token(request)}
        response = page(request, "login.html", context, status=429)
        response.headers.update(throttled_headers(throttled))
        return response
    if user is None:
        context |= {"error": "Wrong username or password.", "csrf": csrf_token(request)}
        return page(request, "login.html", context, status=401)
    await sign_in(request, user)
    return RedirectResponse(_safe_next(form.get("next")), status_code=303)


async def logout(request: Request) -> Response:
    form = await request.form()
    if not csrf_ok(request, form.get("csrf")):
        return Response("Invalid or missing CSRF token.", status_code=403)
    token = request.session.get("sid")
    if isinstance(token, str) and token:
        await web_sessions.end(ctx_of(request), token)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


async def logout_everywhere(request: Request) -> Response:
    """End every session of the account, this one included (a lost or shared device)."""
    form = await request.form()
    if not csrf_ok(request, form.get("csrf")):
        return Response("Invalid or missing CSRF token.", status_code=403)
    user = await current_user(request)
    if user is not None:
        await web_sessions.end_all(ctx_of(request), user.id)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


routes = [
    Route("/login", login_form, methods=["GET"]),
    Route("/login", login_submit, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route("/logout/everywhere", logout_everywhere, methods=["POST"]),
]
