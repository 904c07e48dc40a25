"""Helpers shared by the client API routes: request bodies, paging, JSON answers.

Mastodon clients send parameters as query strings, HTML forms (also
multipart) or JSON, with Rails-style ``key[]`` arrays and ``a[b]`` nesting;
every route reads them through :func:`params`.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.datastructures import QueryParams
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from slowpub.ids import parse_id

DEFAULT_LIMIT = 20
MAX_LIMIT = 40


def api_json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(data), status_code=status, media_type="application/json", headers=headers
    )


def unprocessable(reason: str) -> HTTPException:
    return HTTPException(422, f"Validation failed: {reason}")


def not_found() -> HTTPException:
    return HTTPException(404, "Record not found")


async def params(request: Request) -> dict[str, Any]:
    """Query, form or JSON parameters in one dict; ``x[]`` keys become lists."""
    data: dict[str, Any] = _flatten(request.query_params)
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        content_type = request.headers.get("content-type", "")
        if "json" in content_type:
            try:
                body = await request.json()
            except (ValueError, RecursionError) as exc:  # nested past the recursion limit
                raise HTTPException(400, "The request body is not valid JSON") from exc
            if body is not None and not isinstance(body, dict):
                raise HTTPException(400, "The request body must be a JSON object")
            data.update(body or {})
        elif "form" in content_type:
            form = await request.form()
            data.update(_flatten(form))
    return data


def _flatten(source: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in source.keys():
        values = source.getlist(key) if hasattr(source, "getlist") else [source[key]]
        if key.endswith("[]"):
            out.setdefault(key[:-2], []).extend(values)
        elif "[" in key and key.endswith("]"):
            outer, inner = key[:-1].split("[", 1)
            out.setdefault(outer, {})[inner] = values[-1]
        else:
            out[key] = values[-1]
    return out


def as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)]


def truthy(value: Any) -> bool:
    return str(value).lower() in {"1", "true", "on", "yes"}


def limit_of(query: QueryParams | dict[str, Any]) -> int:
    raw = query.get("limit")
    limit = parse_id(str(raw)) if raw is not None else None
    return DEFAULT_LIMIT if limit is None else max(1, min(limit, MAX_LIMIT))


def int_param(query: QueryParams | dict[str, Any], name: str) -> int | None:
    raw = query.get(name)
    return parse_id(str(raw)) if raw is not None else None


def link_header(request: Request, ids: list[int], base_url: str) -> dict[str, str]:
    """Mastodon's paging: next = older (max_id), prev = newer (min_id)."""
    if not ids:
        return {}
    base = base_url + request.url.path
    keep = [
        (k, v)
        for k, v in request.query_params.multi_items()
        if k not in ("max_id", "min_id", "since_id")
    ]

    def url(extra: tuple[str, str]) -> str:
        from urllib.parse import urlencode

        return base + "?" + urlencode([*keep, extra])

    return {
        "Link": f'<{url(("max_id", str(min(ids))))}>; rel="next", '
        f'<{url(("min_id", str(max(ids))))}>; rel="prev"'
    }
