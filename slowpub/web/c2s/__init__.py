"""ActivityPub client-to-server: the owner's outbox, inbox and proxyUrl.

``outbox`` (POSTed activities onto the posting service and the graph),
``inbox`` (the sealed bundles as a collection), ``proxy``, ``common``. A face:
it calls the domain and is called by nothing but the application.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from slowpub.web.c2s.outbox import outbox_post
from slowpub.web.c2s.proxy import proxy

routes: list[BaseRoute] = [
    Route("/users/{username}/outbox", outbox_post, methods=["POST"]),
    Route("/api/proxy", proxy, methods=["POST"]),
]
