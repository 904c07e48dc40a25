"""All client API routes: Mastodon's API and ActivityPub client-to-server."""

from __future__ import annotations

from starlette.routing import BaseRoute

from slowpub.web.c2s import routes as c2s_routes
from slowpub.web.mastodon import (
    accounts,
    bookmarks,
    misc,
    notifications,
    push,
    reactions,
    scheduled,
    status_batch,
    statuses,
    timelines,
)

routes: list[BaseRoute] = [
    *misc.routes,
    *status_batch.routes,
    *bookmarks.routes,
    *notifications.routes,
    *push.routes,
    *statuses.routes,
    *reactions.routes,
    *scheduled.routes,
    *accounts.routes,
    *timelines.routes,
    *c2s_routes,
]
