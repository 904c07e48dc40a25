"""The ASGI application: routes, error pages and the workers' lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy.exc import DBAPIError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from federation.vocab import wants_ap
from slowpub.config import require_secret
from slowpub.context import Context
from slowpub.social.instance_actor import ensure_instance_key
from slowpub.storage.failures import failure_line, is_read_only
from slowpub.web import client_api, reading, sessions
from slowpub.web.federation import actors, inbox, statuses, wellknown
from slowpub.web.limits import RequestLimits
from slowpub.web.oauth.routes import routes as oauth_routes
from slowpub.web.responses import json_error, page
from slowpub.web.security_headers import SecurityHeadersMiddleware
from slowpub.workers import run_workers

# Our own stylesheet (and, later, scripts and icons): same origin, so the CSP can
# forbid every other source.
ASSETS_DIR = Path(__file__).resolve().parent.parent / "static"


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    accept = request.headers.get("accept", "")
    api = request.url.path.startswith(("/api/", "/oauth/", "/.well-known/", "/nodeinfo/"))
    if exc.status_code == 404 and not api and not wants_ap(accept) and "json" not in accept:
        return page(request, "not_found.html", {}, status=404)
    return json_error(exc.status_code, exc.detail)


log = logging.getLogger(__name__)


async def _database_error(request: Request, exc: Exception) -> Response:
    """A database that turned read-only while serving: 503 and one log line.

    ``serve`` refuses to start on one it cannot write; this is for a disk
    remounted read-only (or a PostgreSQL failover to a standby) later. Any
    other database error stays a 500 with its traceback: it is a bug.
    """
    if not is_read_only(exc):
        raise exc
    log.error("%s", failure_line(ctx_url(request), exc))
    response = json_error(503, "the database is read-only for now; nothing was changed")
    response.headers["Retry-After"] = "60"
    return response


def ctx_url(request: Request) -> str:
    return request.app.state.ctx.settings.database_url


class PathSessionMiddleware(SessionMiddleware):
    """Sessions only where a person logs in: the web pages and the OAuth consent.

    Server-to-server and API traffic (inboxes, /api, /.well-known, actors)
    never carries our cookie, and skipping the cookie work there is measurable
    on a busy inbox.
    """

    SESSION_PREFIXES = ("/login", "/logout", "/bundles", "/oauth/authorize")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope["path"].startswith(self.SESSION_PREFIXES):
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def create_app(ctx: Context, *, workers: bool = False, owns_context: bool = False) -> Starlette:
    """Build the app around a context.

    ``workers`` also runs the background loops in this process (``slowpub
    serve``); ``owns_context`` closes the context's database and HTTP client
    at shutdown.
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await ensure_instance_key(ctx)
        task = asyncio.create_task(run_workers(ctx)) if workers else None
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if owns_context:
                await ctx.close()

    app = Starlette(
        routes=[
            *wellknown.routes,
            *inbox.routes,
            *statuses.routes,
            *sessions.routes,
            *reading.routes,
            *oauth_routes,
            *client_api.routes,
            *actors.routes,
            Mount("/assets", StaticFiles(directory=ASSETS_DIR), name="assets"),
        ],
        middleware=[
            Middleware(SecurityHeadersMiddleware),
            Middleware(RequestLimits, body_timeout=ctx.settings.body_timeout),
            Middleware(
                PathSessionMiddleware,
                secret_key=require_secret(ctx.settings),
                session_cookie="slowpub_session",
                same_site="lax",
                https_only=ctx.settings.scheme == "https",
                max_age=30 * 24 * 3600,
            ),
        ],
        exception_handlers={HTTPException: _http_error, DBAPIError: _database_error},
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    return app
