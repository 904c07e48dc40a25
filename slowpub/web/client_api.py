"""All client API routes: Mastodon's API and ActivityPub client-to-server."""

from __future__ import annotations

from starlette.routing import BaseRoute

from slowpub.web import c2s, mastodon_accounts, mastodon_misc, mastodon_reading, mastodon_statuses

routes: list[BaseRoute] = [
    *mastodon_misc.routes,
    *mastodon_statuses.routes,
    *mastodon_accounts.routes,
    *mastodon_reading.routes,
    *c2s.routes,
]
