"""Security headers on every response, set in one place so no page can forget them.

HTML pages get a strict Content-Security-Policy: nothing may load but our
own stylesheet and images, no script runs at all (inline or not), forms
post only to us, nobody may frame us, and ``<base>`` cannot redirect
relative links. Remote HTML that slipped past the sanitizer would still find
nothing to execute. Every response gets ``nosniff`` (a JSON body is never
sniffed into HTML) and ``no-referrer`` (a bundle's secret feed URL or an
OAuth code never leaks to the sites the owner clicks through to).

A route may set its own policy first; the middleware never overwrites one.
The OAuth consent page does, because its form answers with a redirect to the
client's own ``redirect_uri`` and browsers apply ``form-action`` to that
redirect (Mastodon drops ``form-action`` on that page for the same reason).
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGE_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' https:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
# Anything that is not a page (JSON, AS2, Atom, images) renders nothing.
DOCUMENT_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; sandbox"
ALWAYS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class SecurityHeadersMiddleware:
    """Adds the headers above to every HTTP response that lacks them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in ALWAYS.items():
                    headers.setdefault(name, value)
                html = headers.get("content-type", "").startswith("text/html")
                headers.setdefault(
                    "Content-Security-Policy", PAGE_POLICY if html else DOCUMENT_POLICY
                )
                if html:
                    headers.setdefault("X-Frame-Options", "DENY")
            await send(message)

        await self.app(scope, receive, send_with_headers)
