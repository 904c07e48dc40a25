"""OAuth scopes: the set Mastodon knows, parsing a scope string, and what covers what.

Every grant and every API route asks "may this token do that", and Mastodon's
answer has its own rules (``read`` covers ``read:statuses``, the legacy
``follow`` covers six relationship scopes), so they are written down once here.
"""

from __future__ import annotations

from collections.abc import Iterable, Set

from slowpub.auth.errors import OAuthError
from slowpub.storage.models import OAuthApp

_READ = (
    "accounts blocks bookmarks favourites filters follows lists mutes notifications search statuses"
)
_WRITE = (
    "accounts blocks bookmarks conversations favourites filters follows lists media "
    "mutes notifications reports statuses"
)
SCOPES: frozenset[str] = frozenset(
    ["read", "write", "follow", "push", "profile"]
    + [f"read:{name}" for name in _READ.split()]
    + [f"write:{name}" for name in _WRITE.split()]
)
# Mastodon's legacy "follow" scope, kept for old clients.
_FOLLOW_COVERS = frozenset(
    ["read:blocks", "read:follows", "read:mutes", "write:blocks", "write:follows", "write:mutes"]
)
# What a client gets when it registers without saying (Mastodon's default).
DEFAULT_SCOPES = "read"


def parse_scopes(raw: str | None) -> list[str]:
    """Split a space-separated scope string, keeping order, refusing unknown scopes."""
    found: list[str] = []
    for scope in (raw or "").split():
        if scope not in SCOPES:
            raise OAuthError(400, "invalid_scope", "Scopes doesn't match configured on the server.")
        if scope not in found:
            found.append(scope)
    return found


def scope_allows(granted: Set[str], required: str) -> bool:
    """Whether a token holding ``granted`` may do what needs ``required``.

    ``read``/``write`` cover their sub-scopes; ``follow`` covers Mastodon's
    six relationship scopes; ``profile`` covers only itself.
    """
    if required in granted:
        return True
    family = required.split(":", 1)[0]
    if family != required and family in ("read", "write") and family in granted:
        return True
    return required in _FOLLOW_COVERS and "follow" in granted


def _within(allowed: Set[str], requested: Iterable[str]) -> bool:
    return all(scope_allows(allowed, scope) for scope in requested)


def requested_scopes(app: OAuthApp, raw: str | None, *, default: str | None = None) -> list[str]:
    """The scopes asked for (or the default), checked against what the app registered."""
    app_scopes = frozenset(app.scopes.split())
    if not (raw or "").strip():
        raw = default
        if raw is None:
            raw = DEFAULT_SCOPES if scope_allows(app_scopes, DEFAULT_SCOPES) else app.scopes
    scopes = parse_scopes(raw)
    if not scopes or not _within(app_scopes, scopes):
        raise OAuthError(
            400, "invalid_scope", "The requested scope is invalid, unknown, or malformed."
        )
    return scopes
