"""ActivityStreams constants and small helpers shared by all modules.

Content-type checks live here because both sides need them: the fetcher must
refuse documents that are not ActivityPub (CVE-2024-23832), and the server
must decide whether a client asked for JSON or for the HTML page.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
SECURITY_CONTEXT = "https://w3id.org/security/v1"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
# Servers compact the public collection differently; all mean the same.
PUBLIC_ALIASES: frozenset[str] = frozenset({PUBLIC, "as:Public", "Public"})

AP_CONTENT_TYPE = "application/activity+json"
LD_CONTENT_TYPE = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
AP_ACCEPT = f"{AP_CONTENT_TYPE}, {LD_CONTENT_TYPE}"

_DEFAULT_PORTS = {"http": 80, "https": 443}
_UNSAFE_IN_URL = frozenset(" \t\r\n\x00\"'<>\\`")


def web_url(value: object) -> str | None:
    """``value`` if it is an absolute http(s) URL with a host, else None.

    Every link a remote document gives us (a profile, a post's page, media,
    mention and hashtag targets) passes here before it is stored or shown: a
    ``javascript:`` or ``data:`` URL in an ``href`` runs in the owner's
    session. Quotes, brackets and control characters are refused too, so a
    value can never leave the attribute it is written into.
    """
    if not isinstance(value, str) or len(value) > 4096:
        return None
    if any(ch in _UNSAFE_IN_URL or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if parts.scheme.lower() not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return value


def parse_media_type(value: str) -> tuple[str, dict[str, str]]:
    """Split ``type/subtype; k=v; k="v"`` into a lowercase type and its parameters.

    Quotes are honoured so a ``;`` inside a quoted profile does not split it.
    """
    parts: list[str] = []
    current: list[str] = []
    in_quotes = False
    escaped = False
    for ch in value:
        if escaped:
            current.append(ch)
            escaped = False
        elif ch == "\\" and in_quotes:
            escaped = True
        elif ch == '"':
            in_quotes = not in_quotes
            current.append(ch)
        elif ch == ";" and not in_quotes:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    media = parts[0].strip().lower()
    params: dict[str, str] = {}
    for part in parts[1:]:
        name, sep, raw = part.partition("=")
        if not sep:
            continue
        raw = raw.strip()
        if len(raw) >= 2 and raw[0] == raw[-1] == '"':
            raw = raw[1:-1]
        params[name.strip().lower()] = raw
    return media, params


def is_ap_content_type(content_type: str | None) -> bool:
    """True for ``application/activity+json`` or ld+json with the AS profile."""
    if not content_type:
        return False
    media, params = parse_media_type(content_type)
    if media == AP_CONTENT_TYPE:
        return True
    if media == "application/ld+json":
        # The profile parameter may list several space-separated URIs.
        return AS_CONTEXT in params.get("profile", "").split()
    return False


def _accept_entries(accept_header: str) -> list[tuple[str, float]]:
    entries: list[tuple[str, float]] = []
    for item in accept_header.split(","):
        if not item.strip():
            continue
        media, params = parse_media_type(item)
        try:
            q = float(params.get("q", "1"))
        except ValueError:
            q = 0.0
        entries.append((media, q))
    return entries


_AP_TYPES = frozenset({AP_CONTENT_TYPE, "application/ld+json", "application/json"})


def wants_ap(accept_header: str | None) -> bool:
    """Decide content negotiation: JSON for AP clients, HTML for browsers.

    Only explicit JSON types count for ActivityPub (a browser's ``*/*`` must
    not earn it a JSON document), while wildcards do count for HTML. On a tie
    JSON wins: a client that bothered to name activity+json wants it.
    """
    if not accept_header:
        return False
    ap_q = 0.0
    html_q = 0.0
    for media, q in _accept_entries(accept_header):
        if media in _AP_TYPES:
            ap_q = max(ap_q, q)
        if media in ("text/html", "text/*", "*/*"):
            html_q = max(html_q, q)
    return ap_q > 0 and ap_q >= html_q


def as_list(value: Any) -> list[Any]:
    """Normalise a JSON-LD property that may be absent, a scalar or a list."""
    if value is None:
        return []
    if isinstance(value, list):
        return list(value)
    return [value]


def id_of(value: Any) -> str | None:
    """The id of a reference that is either a bare IRI or an embedded object."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        ident = value.get("id")
        return ident if isinstance(ident, str) else None
    return None


def _host_port(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    return scheme, host, port


def host_of(url: str) -> str:
    """The authority of ``url``: lowercase host, plus ``:port`` if non-default."""
    scheme, host, port = _host_port(url)
    if ":" in host:  # IPv6 literal: urlsplit strips the brackets
        host = f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        return f"{host}:{port}"
    return host


def same_origin(a: str, b: str) -> bool:
    """True when both URLs share scheme, host and (effective) port."""
    scheme_a, host_a, port_a = _host_port(a)
    scheme_b, host_b, port_b = _host_port(b)
    if not host_a or not host_b:
        return False
    effective_a = port_a if port_a is not None else _DEFAULT_PORTS.get(scheme_a)
    effective_b = port_b if port_b is not None else _DEFAULT_PORTS.get(scheme_b)
    return (scheme_a, host_a, effective_a) == (scheme_b, host_b, effective_b)
