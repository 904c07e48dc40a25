"""Every OAuth route, in one list for the application."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from slowpub.web.oauth.consent import authorize_form, authorize_submit
from slowpub.web.oauth.params import (
    preflight,
)
from slowpub.web.oauth.registration import (
    dynamic_register,
    mastodon_register,
    mastodon_verify_app,
    server_metadata,
)
from slowpub.web.oauth.tokens import revoke, token

routes: list[BaseRoute] = [
    Route("/.well-known/oauth-authorization-server", server_metadata, methods=["GET"]),
    Route("/oauth/authorize", authorize_form, methods=["GET"]),
    Route("/oauth/authorize", authorize_submit, methods=["POST"]),
    Route("/oauth/token", token, methods=["POST"]),
    Route("/oauth/revoke", revoke, methods=["POST"]),
    Route("/oauth/register", dynamic_register, methods=["POST"]),
    Route("/api/v1/apps", mastodon_register, methods=["POST"]),
    Route("/api/v1/apps/verify_credentials", mastodon_verify_app, methods=["GET"]),
    *(
        Route(path, preflight, methods=["OPTIONS"])
        for path in (
            "/.well-known/oauth-authorization-server",
            "/oauth/token",
            "/oauth/revoke",
            "/oauth/register",
            "/api/v1/apps",
            "/api/v1/apps/verify_credentials",
        )
    ),
]
