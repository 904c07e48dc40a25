"""WebFinger: turning ``user@host`` into an actor URL, and serving our own JRD.

Mastodon resolves accounts only over https and falls back to host-meta's LRDD
template when ``/.well-known/webfinger`` is missing; we do the same so that
accounts on servers with a separate WebFinger host resolve. The reverse
lookup (an actor URL to its account) names actors that publish no
``preferredUsername``. The server-side builders produce the documents
Mastodon expects from us.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote, urlsplit
from xml.sax.saxutils import quoteattr

import httpx

from federation.errors import FetchError, WebFingerError
from federation.fetch import fetch_bytes, fetch_json, is_json_content_type
from federation.vocab import AP_CONTENT_TYPE, is_ap_content_type

MAX_JRD_BYTES = 256 * 1024
JRD_ACCEPT = "application/jrd+json, application/json"
PROFILE_PAGE_REL = "http://webfinger.net/rel/profile-page"
SUBSCRIBE_REL = "http://ostatus.org/schema/1.0/subscribe"

_USER = re.compile(r"[^\s@/?#:]+")
_HOST = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:[0-9]{1,5})?")


def parse_account(value: str) -> tuple[str, str]:
    """Split ``user@host``, ``@user@host`` or ``acct:user@host`` into (user, host)."""
    text = value.strip()
    if text[:5].lower() == "acct:":
        text = text[5:]
    text = text.removeprefix("@")
    user, sep, host = text.partition("@")
    host = host.lower()
    if not sep or not _USER.fullmatch(user) or "@" in host or not _HOST.fullmatch(host):
        raise WebFingerError(f"not an account address: {value!r}")
    return user, host


def _self_link(document: dict[str, Any]) -> str | None:
    links = document.get("links")
    if not isinstance(links, list):
        return None
    for link in links:
        if (
            isinstance(link, dict)
            and link.get("rel") == "self"
            and is_ap_content_type(link.get("type"))
            and isinstance(link.get("href"), str)
        ):
            return str(link["href"])
    return None


def _lrdd_template(xml_text: str) -> str | None:
    # Entities are never legitimate in host-meta and enable expansion attacks.
    if "<!DOCTYPE" in xml_text or "<!ENTITY" in xml_text:
        return None
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError:
        return None
    for element in root.iter():
        if element.tag.endswith("Link") and element.get("rel") == "lrdd":
            template = element.get("template")
            if template and "{uri}" in template:
                return template
    return None


async def _host_meta_url(
    client: httpx.AsyncClient, host: str, *, allow_private: bool
) -> str | None:
    try:
        _, _, body = await fetch_bytes(
            client,
            f"https://{host}/.well-known/host-meta",
            allow_private=allow_private,
            accept="application/xrd+xml",
            max_bytes=MAX_JRD_BYTES,
        )
    except FetchError:
        return None
    return _lrdd_template(body.decode("utf-8", errors="replace"))


async def lookup(
    client: httpx.AsyncClient,
    account: str,
    *,
    allow_private: bool,
    schemes: Sequence[str] = ("https",),
) -> str:
    """Resolve an account to its actor URL (the JRD's ActivityPub ``self`` link)."""
    user, host = parse_account(account)
    resource = quote(f"acct:{user}@{host}", safe="")
    reasons: list[str] = []
    for scheme in schemes:
        url = f"{scheme}://{host}/.well-known/webfinger?resource={resource}"
        try:
            _, document = await fetch_json(
                client,
                url,
                allow_private=allow_private,
                accept=JRD_ACCEPT,
                max_bytes=MAX_JRD_BYTES,
                content_type_ok=is_json_content_type,
            )
        except FetchError as exc:
            reasons.append(str(exc))
            if scheme != "https":
                continue
            # Like Mastodon: no usable WebFinger at the host → try host-meta's template.
            template = await _host_meta_url(client, host, allow_private=allow_private)
            if template is None or template.startswith(f"{url.split('?')[0]}?"):
                continue
            try:
                _, document = await fetch_json(
                    client,
                    template.replace("{uri}", resource),
                    allow_private=allow_private,
                    accept=JRD_ACCEPT,
                    max_bytes=MAX_JRD_BYTES,
                    content_type_ok=is_json_content_type,
                )
            except FetchError as lrdd_exc:
                reasons.append(str(lrdd_exc))
                continue
        actor = _self_link(document)
        if actor is None:
            raise WebFingerError(f"{user}@{host} has no ActivityPub self link")
        return actor
    raise WebFingerError(f"cannot resolve {user}@{host}: {reasons[-1] if reasons else 'no scheme'}")


async def account_of_actor(
    client: httpx.AsyncClient,
    actor_uri: str,
    *,
    allow_private: bool,
    deadline: float | None = None,
) -> tuple[str, str]:
    """The ``(user, host)`` that the actor's own host gives for its id (reverse lookup).

    Mastodon, GoToSocial and most servers answer ``resource=<actor URL>``.
    The subject counts only if the answer's ActivityPub ``self`` link is
    that very actor: anyone can write a subject, only the actor's host
    decides where its WebFinger points.
    """
    parts = urlsplit(actor_uri)
    resource = quote(actor_uri, safe="")
    url = f"{parts.scheme}://{parts.netloc}/.well-known/webfinger?resource={resource}"
    _, document = await fetch_json(
        client,
        url,
        allow_private=allow_private,
        accept=JRD_ACCEPT,
        max_bytes=MAX_JRD_BYTES,
        content_type_ok=is_json_content_type,
        deadline=deadline,
    )
    if _self_link(document) != actor_uri:
        raise WebFingerError(f"WebFinger at {parts.netloc} does not point back to {actor_uri}")
    subject = document.get("subject")
    if not isinstance(subject, str) or subject[:5].lower() != "acct:":
        raise WebFingerError(f"WebFinger at {parts.netloc} names no account for {actor_uri}")
    return parse_account(subject)


def jrd_for_actor(
    subject: str,
    actor_url: str,
    profile_url: str,
    aliases: list[str],
    *,
    subscribe_template: str | None = None,
) -> dict[str, Any]:
    """Our WebFinger answer for one account, shaped like Mastodon's."""
    links: list[dict[str, str]] = [
        {"rel": PROFILE_PAGE_REL, "type": "text/html", "href": profile_url},
        {"rel": "self", "type": AP_CONTENT_TYPE, "href": actor_url},
    ]
    if subscribe_template is not None:
        links.append({"rel": SUBSCRIBE_REL, "template": subscribe_template})
    return {"subject": subject, "aliases": list(aliases), "links": links}


def host_meta_xrd(base_url: str) -> str:
    """The ``/.well-known/host-meta`` XRD pointing at our WebFinger endpoint."""
    template = f"{base_url.rstrip('/')}/.well-known/webfinger?resource={{uri}}"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">\n'
        f'  <Link rel="lrdd" template={quoteattr(template)}/>\n'
        "</XRD>\n"
    )
