"""Mastodon 4.3's ``GET /api/v1/statuses?id[]=...``: several statuses in one request.

4.3 clients (Phanpy, the Mastodon web app) fetch what they cached this way.
Ids the caller may not see, or that name nothing, are left out, as Mastodon
does; the rest come back in the order asked.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from slowpub.auth.access import require_auth
from slowpub.web.api_util import api_json, as_list, params, unprocessable
from slowpub.web.mastodon.lookups import can_see, find_status, has_item
from slowpub.web.mastodon.statuses import status_json
from slowpub.web.responses import ctx_of

MAX_IDS = 20  # Mastodon's DEFAULT_STATUSES_LIMIT for this endpoint


async def many_statuses(request: Request) -> Response:
    viewer = None
    if request.headers.get("authorization"):
        viewer = (await require_auth(request, ("read", "read:statuses"), user_required=False)).user
    ids = list(dict.fromkeys(as_list((await params(request)).get("id"))))
    if len(ids) > MAX_IDS:
        raise unprocessable(f"at most {MAX_IDS} ids at once")
    found = []
    async with ctx_of(request).db.sessions() as session:
        for status_id in ids:
            status = await find_status(session, status_id)
            gone = (
                status is not None
                and status.local is not None
                and status.local.state
                in (
                    "deleted",
                    "cancelled",
                )
            )
            if (
                status is not None
                and not gone
                and can_see(status, viewer, await has_item(session, viewer, status.remote))
            ):
                found.append(status)
    return api_json([await status_json(request, f, viewer) for f in found])


routes = [Route("/api/v1/statuses", many_statuses, methods=["GET"])]
