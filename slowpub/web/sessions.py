"""Logging in to the owner-only pages: a signed session cookie and a CSRF token.

The cookie (Starlette's SessionMiddleware, signed with the instance secret)
holds only the username and a CSRF token; every state-changing form posts
the token back.
"""

from __future__ import annotations

import secrets
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from slowpub.social.accounts import check_password, get_user
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
    username = request.session.get("user")
    if not username:
        return None
    async with ctx_of(request).db.sessions() as session:
        return await get_user(session, username)


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
    async with ctx_of(request).db.sessions() as session:
        user = await get_user(session, username) if username else None
    if user is None or not check_password(user, password):
        return page(
            request,
            "login.html",
            {
                "next": _safe_next(form.get("next")),
                "error": "Wrong username or password.",
                "username": username,
                "csrf": csrf_token(request),
            },
            status=401,
        )
    request.session.clear()
    request.session["user"] = user.username
    csrf_token(request)
    return RedirectResponse(_safe_next(form.get("next")), status_code=303)


async def logout(request: Request) -> Response:
    form = await request.form()
    if not csrf_ok(request, form.get("csrf")):
        return Response("Invalid or missing CSRF token.", status_code=403)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


routes = [
    Route("/login", login_form, methods=["GET"]),
    Route("/login", login_submit, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
]
