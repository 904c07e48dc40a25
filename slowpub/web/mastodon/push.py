"""Mastodon's Web Push subscription endpoints, answered as a server without Web Push.

slowpub sends no push notifications (what comes in waits for the daily
bundle). Apps (Tusky, Ivory, Ice Cubes, Mastodon's own) subscribe at login
and must learn that cleanly rather than from a 404 on the route: there is
never a subscription to show or change (404, as Mastodon answers when you
have none), creating one is refused with the reason (422), and removing one
succeeds, as Mastodon's ``destroy`` does when there is nothing to remove.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from slowpub.auth.access import require_auth
from slowpub.web.api_util import api_json, not_found, unprocessable

NO_PUSH = "this server does not send push notifications; new items arrive in your daily bundle"


async def subscription(request: Request) -> Response:
    await require_auth(request, "push")
    if request.method == "DELETE":
        return api_json({})
    if request.method == "POST":
        raise unprocessable(NO_PUSH)
    raise not_found()


routes = [
    Route("/api/v1/push/subscription", subscription, methods=["GET", "POST", "PUT", "DELETE"]),
]
