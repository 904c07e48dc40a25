"""OAuthError, the one refusal type every OAuth module raises.

It lives apart so that :mod:`slowpub.auth.scopes`, :mod:`slowpub.auth.clients`,
:mod:`slowpub.auth.grants` and :mod:`slowpub.auth.access` can all raise it without
importing each other in a circle. Error codes and messages are RFC 6749's and
Mastodon's own, because clients match on them.
"""

from __future__ import annotations


class OAuthError(Exception):
    """A refusal with RFC 6749's error code (``invalid_grant``...) and an HTTP status."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.status = status
        self.error = error
        self.description = description
