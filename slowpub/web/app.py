"""The ASGI application: routes, error pages and the workers' lifespan."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import Response

from federation.vocab import wants_ap
from slowpub.context import Context
from slowpub.instance_actor import ensure_instance_key
from slowpub.web import (
    actors,
    client_api,
    inbox,
    oauth_routes,
    reading,
    sessions,
    statuses,
    wellknown,
)
from slowpub.web.responses import json_error, page
from slowpub.workers import run_workers


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    accept = request.headers.get("accept", "")
    if exc.status_code == 404 and not wants_ap(accept) and "json" not in accept:
        return page(request, "not_found.html", {}, status=404)
    return json_error(exc.status_code, exc.detail)


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
            *oauth_routes.routes,
            *client_api.routes,
            *actors.routes,
        ],
        middleware=[
            Middleware(
                SessionMiddleware,
                secret_key=ctx.settings.secret_key or "unset",
                session_cookie="slowpub_session",
                same_site="lax",
                https_only=ctx.settings.scheme == "https",
                max_age=30 * 24 * 3600,
            )
        ],
        exception_handlers={HTTPException: _http_error},
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    return app
