"""Response helpers shared by the routes: AS2 JSON, JSON errors, templates."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from federation.vocab import AP_CONTENT_TYPE
from slowpub import __version__
from slowpub.context import Context
from slowpub.templating import environment

templates = Jinja2Templates(env=environment)


def ctx_of(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


def activity_json(doc: dict[str, Any], status: int = 200, vary: bool = True) -> Response:
    headers = {"Vary": "Accept"} if vary else {}
    return Response(
        json.dumps(doc), status_code=status, media_type=AP_CONTENT_TYPE, headers=headers
    )


def json_error(status: int, reason: str) -> Response:
    return Response(
        json.dumps({"error": reason}), status_code=status, media_type="application/json"
    )


def page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    ctx = ctx_of(request)
    base = {
        "version": __version__,
        "host": ctx.settings.host,
        "base_url": ctx.settings.base_url,
    }
    response = templates.TemplateResponse(request, name, {**base, **context}, status_code=status)
    response.headers["Vary"] = "Accept"
    return response
