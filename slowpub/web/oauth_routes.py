"""OAuth 2.0 routes (being written)."""

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
