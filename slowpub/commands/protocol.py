"""uvicorn's HTTP/1.1 protocol with the two bounds it lacks: on the request head's time and size.

uvicorn only times out idle keep-alive connections, and only after a first
response; a connection that sends half a request head and then a byte now
and then is kept forever (a slowloris), and with httptools, which uvicorn
picks whenever it is installed, a head has no size limit at all (13 MB of
one header was read without complaint). ``h11_max_incomplete_event_size``
bounds the head only under the slower pure-Python h11 parser, so the bound
is kept here instead, for the parser slowpub actually runs on.

A head must be complete within ``header_timeout`` seconds of the connection
opening, or of the previous response: the connection is closed otherwise.
The body has its own deadline in :class:`slowpub.web.limits.RequestLimits`.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from slowpub.config import DEFAULT_HEADER_TIMEOUT

# The largest request head (request line and headers) we read: ten times a
# signed Mastodon POST's, and h11's own default bound.
MAX_HEAD = 16 * 1024
_REASON = b'{"error": "request head larger than 16 KiB"}'
_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-type: application/json\r\n"
    b"content-length: " + str(len(_REASON)).encode() + b"\r\n"
    b"connection: close\r\n\r\n" + _REASON
)


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    header_timeout: float = DEFAULT_HEADER_TIMEOUT

    @classmethod
    def configured(cls, header_timeout: float) -> type[BoundedHttpToolsProtocol]:
        """The protocol class uvicorn instantiates per connection, with our timeout."""
        return type(cls.__name__, (cls,), {"header_timeout": header_timeout})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_deadline: asyncio.TimerHandle | None = None
        self._reading_head = True
        self._head_size = 0
        self._heads = 0  # heads completed on this connection

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        # An unfinished head is buffered by the parser: count the reads that
        # were all head, so it never holds more than MAX_HEAD and one read.
        all_head, heads = self._reading_head, self._heads
        super().data_received(data)
        if all_head and self._reading_head and heads == self._heads:
            self._head_size += len(data)
            if self._head_size > MAX_HEAD:
                self._refuse_head()

    def on_headers_complete(self) -> None:
        self._reading_head = False
        self._heads += 1
        # A head that came in one read is only measurable once parsed.
        size = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
        if size > MAX_HEAD:
            self._refuse_head()
        if not self.transport.is_closing():
            super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self.transport.is_closing():  # the rest of a refused request
            super().on_body(body)

    def on_message_complete(self) -> None:
        # Whatever comes after the body is the next request's head.
        self._reading_head = True
        self._head_size = 0
        if not self.transport.is_closing():
            super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_head_deadline()

    def _arm_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
        self._head_deadline = self.loop.call_later(self.header_timeout, self._head_overdue)

    def _head_overdue(self) -> None:
        """Close unless a request is being answered (its body has its own deadline)."""
        self._head_deadline = None
        if not self._busy() and not self.transport.is_closing():
            self.transport.close()

    def _refuse_head(self) -> None:
        if self.transport.is_closing():
            return
        if not self._busy():
            self.transport.write(_TOO_LARGE)
        self.transport.close()

    def _busy(self) -> bool:
        """A request is being answered."""
        return self.cycle is not None and not self.cycle.response_complete
