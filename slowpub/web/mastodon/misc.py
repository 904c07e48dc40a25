"""Mastodon API: the instance document, preferences, and empty-but-valid lists.

Apps call many endpoints on start-up; those for features slowpub does not
have (custom emojis, filters, lists, announcements, trends, suggestions...) answer with
the empty value of the right type rather than 404, so apps keep working.
"""

from __future__ import annotations

import base64

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from slowpub.auth.access import require_auth
from slowpub.storage.models import Actor
from slowpub.web.api_util import api_json
from slowpub.web.mastodon import entities
from slowpub.web.responses import ctx_of

# A 1x1 grey PNG: the avatar and header of every account (no media yet).
PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGPY8OEDAATkAnFfqsAGAAAAAElFTkSuQmCC"
)


async def _contact(request: Request) -> dict[str, object] | None:
    ctx = ctx_of(request)
    async with ctx.db.sessions() as session:
        actor = (
            await session.execute(
                select(Actor).where(Actor.local.is_(True)).order_by(Actor.id).limit(1)
            )
        ).scalar_one_or_none()
    return entities.account(ctx.settings, actor) if actor is not None else None


async def instance_v1(request: Request) -> Response:
    return api_json(entities.instance_v1(ctx_of(request).settings, await _contact(request)))


async def instance_v2(request: Request) -> Response:
    return api_json(entities.instance_v2(ctx_of(request).settings, await _contact(request)))


async def preferences(request: Request) -> Response:
    await require_auth(request, "read:accounts")
    return api_json(
        {
            "posting:default:visibility": "public",
            "posting:default:sensitive": False,
            "posting:default:language": None,
            "reading:expand:media": "default",
            "reading:expand:spoilers": False,
        }
    )


async def public_empty(request: Request) -> Response:
    return api_json([])


async def authed_empty(request: Request) -> Response:
    await require_auth(request, None, user_required=False)
    return api_json([])


async def pixel(request: Request) -> Response:
    return Response(PIXEL, media_type="image/png", headers={"Cache-Control": "max-age=86400"})


routes = [
    Route("/api/v1/instance", instance_v1, methods=["GET"]),
    Route("/api/v2/instance", instance_v2, methods=["GET"]),
    Route("/api/v1/preferences", preferences, methods=["GET"]),
    Route("/api/v1/custom_emojis", public_empty, methods=["GET"]),
    Route("/api/v1/instance/peers", public_empty, methods=["GET"]),
    Route("/api/v1/instance/rules", public_empty, methods=["GET"]),
    Route("/api/v1/trends", public_empty, methods=["GET"]),
    Route("/api/v1/trends/tags", public_empty, methods=["GET"]),
    Route("/api/v1/trends/statuses", public_empty, methods=["GET"]),
    Route("/api/v1/trends/links", public_empty, methods=["GET"]),
    Route("/api/v1/suggestions", authed_empty, methods=["GET"]),
    Route("/api/v2/suggestions", authed_empty, methods=["GET"]),
    Route("/api/v1/filters", authed_empty, methods=["GET"]),
    Route("/api/v2/filters", authed_empty, methods=["GET"]),
    Route("/api/v1/lists", authed_empty, methods=["GET"]),
    Route("/api/v1/announcements", authed_empty, methods=["GET"]),
    Route("/api/v1/conversations", authed_empty, methods=["GET"]),
    Route("/api/v1/followed_tags", authed_empty, methods=["GET"]),
    Route("/api/v1/domain_blocks", authed_empty, methods=["GET"]),
    Route("/api/v1/endorsements", authed_empty, methods=["GET"]),
    Route("/api/v1/featured_tags", authed_empty, methods=["GET"]),
    Route("/static/avatar.png", pixel, methods=["GET"]),
    Route("/static/header.png", pixel, methods=["GET"]),
]
