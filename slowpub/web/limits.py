"""Bounds on what one request can make us hold: its body's size, and how long it may take.

Routes read their bodies through Starlette (``request.body()``, ``.form()``,
``.json()``), which buffers them whole before any route can look at the
size, so a cap inside each route comes too late and is easy to forget. This
pure-ASGI middleware sits in front of every route instead: it refuses a
declared ``Content-Length`` over the cap before reading a byte, counts a
streamed (chunked) body as uvicorn hands it over, answering 413 the moment
it passes the cap, and gives up with 408 on a body that has not finished
arriving within its deadline, so a client dribbling a byte a second cannot
hold a request (and its memory) open. The request head has its own
deadline, kept by uvicorn's protocol (:mod:`slowpub.commands.protocol`).
"""

from __future__ import annotations

import asyncio
import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from slowpub.config import DEFAULT_BODY_TIMEOUT, MAX_REQUEST_BODY


class _Refused(Exception):
    """Raised out of ``receive`` to abandon the route; answered by the middleware."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class RequestLimits:
    """413 for a body over ``max_body`` bytes, 408 for one not in after ``body_timeout`` s."""

    def __init__(
        self,
        app: ASGIApp,
        max_body: int = MAX_REQUEST_BODY,
        body_timeout: float = DEFAULT_BODY_TIMEOUT,
    ) -> None:
        self.app = app
        self.max_body = max_body
        self.body_timeout = body_timeout

    def _too_large(self) -> _Refused:
        return _Refused(413, f"request body larger than {self.max_body} bytes")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body:
            await _refuse(send, self._too_large())
            return
        # From the moment the head is in: the whole body must follow by then.
        deadline = asyncio.get_running_loop().time() + self.body_timeout
        size = 0
        body_done = False
        response_started = False

        async def bounded_receive() -> Message:
            nonlocal size, body_done
            if body_done:  # later calls wait for a disconnect: no deadline there
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise _Refused(408, "request body not received in time") from None
            if message["type"] == "http.request":
                size += len(message.get("body", b""))
                if size > self.max_body:
                    raise self._too_large()
                body_done = not message.get("more_body", False)
            else:
                body_done = True
            return message

        async def watched_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, bounded_receive, watched_send)
        except _Refused as refused:
            if response_started:  # too late to answer; let uvicorn drop the connection
                raise
            await _refuse(send, refused)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


async def _refuse(send: Send, refused: _Refused) -> None:
    """A JSON reason, and ``Connection: close``: the rest of the body is not wanted."""
    body = json.dumps({"error": refused.reason}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": refused.status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
