"""Request parameters and answers shared by the OAuth endpoints.

Mastodon accepts form, multipart and JSON bodies on every OAuth endpoint,
and browser clients need CORS on the ones they call; both rules are kept
once, here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from slowpub.auth.errors import OAuthError

Params = dict[str, list[str]]

CORS = {"Access-Control-Allow-Origin": "*"}
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def from_form(form: FormData) -> Params:
    params: Params = {}
    for key, value in form.multi_items():
        if isinstance(value, str):
            params.setdefault(key.removesuffix("[]"), []).append(value)
    return params


def from_json(doc: object) -> Params:
    params: Params = {}
    if isinstance(doc, dict):
        for key, value in doc.items():
            items = value if isinstance(value, list) else [value]
            params[str(key)] = [str(item) for item in items if item is not None]
    return params


async def body(request: Request) -> Params:
    """Form (urlencoded or multipart) or JSON: Mastodon accepts all three."""
    content_type = request.headers.get("content-type", "")
    if "json" in content_type:
        try:
            return from_json(json.loads(await request.body()))
        except (ValueError, RecursionError):  # nested past the recursion limit
            return {}
    return from_form(await request.form())


def one(params: Mapping[str, list[str]], key: str) -> str | None:
    values = params.get(key)
    return values[0] if values else None


def flat(params: Params) -> dict[str, str]:
    return {key: values[0] for key, values in params.items() if values}


def oauth_json(exc: OAuthError, *, basic: bool = False) -> Response:
    headers = {**NO_STORE, **CORS}
    if exc.status == 401 and basic:
        headers["WWW-Authenticate"] = 'Basic realm="slowpub"'
    body = {"error": exc.error, "error_description": exc.description}
    return JSONResponse(body, status_code=exc.status, headers=headers)


async def preflight(request: Request) -> Response:
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
