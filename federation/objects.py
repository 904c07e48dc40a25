"""One normalised view of the content objects remote servers send.

Mastodon, GoToSocial, Misskey and its forks, Pleroma/Akkoma, Pixelfed,
PeerTube, Lemmy, WordPress, Friendica and Mobilizon all speak ActivityStreams,
but each picks its own shape: a property may be a string, an object or a list;
content may sit in ``content`` or only in ``contentMap``; a video's media hide
in ``url``. The app should not care, so this module reduces every shape to a
``RemoteObject`` once, at the edge. It never sanitises HTML (the app does that
before storage) and ignores properties it does not know.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from federation.errors import FederationError
from federation.vocab import PUBLIC_ALIASES, as_list, id_of, web_url

# The types the app shows; Document is shown as a file.
OBJECT_TYPES: frozenset[str] = frozenset(
    {"Note", "Article", "Page", "Question", "Image", "Video", "Audio", "Event", "Document"}
)

# Types that are never content: an activity, an actor, a collection, a link or
# a deleted object arriving where an object was expected is a caller's mistake
# or a hostile document, not a post with missing fields.
_NOT_OBJECTS: frozenset[str] = frozenset(
    (
        "Accept Add Announce Arrive Block Create Delete Dislike EmojiReact Flag Follow Ignore"
        " Invite Join Leave Like Listen Move Offer Read Reject Remove TentativeAccept"
        " TentativeReject Travel Undo Update View"  # activities
        " Application Group Organization Person Service"  # actors
        " Collection CollectionPage OrderedCollection OrderedCollectionPage"
        " Link Mention Hashtag Tombstone"
    ).split()
)

# Actor types that can author a post, as opposed to the Group (a Lemmy
# community, a PeerTube channel) that is listed beside the author.
_AUTHOR_TYPES = frozenset({"Person", "Service", "Application", "Organization"})
_MEDIA_TYPES = {"Image": "image", "Video": "video", "Audio": "audio"}
_PLAIN = ("text/markdown", "text/plain")


class ObjectShapeError(FederationError):
    """The document is not a content object we can read (a one-line reason)."""


@dataclass(frozen=True)
class Attachment:
    url: str
    media_type: str | None
    kind: str  # "image" | "video" | "audio" | "document" | "link"
    description: str | None  # alt text
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True)
class Mention:
    href: str
    name: str | None


@dataclass(frozen=True)
class Hashtag:
    name: str  # without the leading "#"
    href: str | None


@dataclass(frozen=True)
class PollOption:
    name: str
    votes: int | None


@dataclass(frozen=True)
class RemoteObject:
    id: str
    type: str
    attributed_to: str | None
    content: str  # HTML as sent, not sanitised
    summary: str | None
    name: str | None
    url: str | None
    in_reply_to: str | None
    published: datetime | None
    updated: datetime | None
    to: tuple[str, ...]
    cc: tuple[str, ...]
    audience: tuple[str, ...]
    sensitive: bool
    mentions: tuple[Mention, ...]
    hashtags: tuple[Hashtag, ...]
    attachments: tuple[Attachment, ...]
    poll_options: tuple[PollOption, ...]
    poll_multiple: bool
    poll_end: datetime | None
    start_time: datetime | None
    location: str | None
    context: str | None
    quote_of: str | None


def parse_object(doc: dict[str, Any]) -> RemoteObject:
    """Normalise one content object; raise ``ObjectShapeError`` if it is none."""
    if not isinstance(doc, dict):
        raise ObjectShapeError(f"expected a JSON object, got {type(doc).__name__}")
    ident = doc.get("id")
    if not isinstance(ident, str) or not ident.strip():
        raise ObjectShapeError("object has no id")
    kind = _object_type(doc.get("type"))
    if kind is None:
        raise ObjectShapeError(f"{ident}: object has no type")
    if kind in _NOT_OBJECTS:
        raise ObjectShapeError(f"{ident}: {kind} is not a content object")

    options, multiple = _poll(doc)
    return RemoteObject(
        id=ident,
        type=kind,
        attributed_to=_author(doc.get("attributedTo")) or _author(doc.get("actor")),
        content=_content(doc),
        summary=_summary(doc),
        name=_text(doc.get("name")) or _from_map(doc.get("nameMap")),
        url=_human_url(doc.get("url")),
        in_reply_to=id_of(_first(doc.get("inReplyTo"))),
        published=parse_datetime(doc.get("published")),
        updated=parse_datetime(doc.get("updated")),
        to=_ids(doc.get("to")),
        cc=_ids(doc.get("cc")),
        audience=_ids(
            [*as_list(doc.get("bto")), *as_list(doc.get("bcc")), *as_list(doc.get("audience"))]
        ),
        # Pleroma sends ``null``; only a real true hides the post.
        sensitive=doc.get("sensitive") is True,
        mentions=_mentions(doc.get("tag")),
        hashtags=_hashtags(doc.get("tag")),
        attachments=_attachments(doc, kind),
        poll_options=options,
        poll_multiple=multiple,
        # ``closed`` replaces ``endTime`` once a poll ends (Mastodon, Misskey);
        # on an Event, ``endTime`` is when the event ends, not a poll.
        poll_end=_poll_end(doc) if kind == "Question" or options else None,
        start_time=parse_datetime(doc.get("startTime")),
        location=_location(doc.get("location")),
        # Mastodon sends both; its ``conversation`` may be an old tag: URI.
        context=id_of(doc.get("context")) or id_of(doc.get("conversation")),
        quote_of=_quote(doc),
    )


def addressed_to(doc: dict[str, Any]) -> set[str]:
    """Every id the document is addressed to (to, cc, bto, bcc, audience)."""
    found: set[str] = set()
    for key in ("to", "cc", "bto", "bcc", "audience"):
        found.update(_ids(doc.get(key)))
    return found


def visibility(to: Iterable[str], cc: Iterable[str], followers_url: str | None) -> str:
    """Mastodon's reading of addressing: public, unlisted, followers or direct."""
    to_set, cc_set = set(to), set(cc)
    if to_set & PUBLIC_ALIASES:
        return "public"
    if cc_set & PUBLIC_ALIASES:
        return "unlisted"
    if followers_url and followers_url in (to_set | cc_set):
        return "followers"
    return "direct"


def parse_datetime(value: Any) -> datetime | None:
    """An aware UTC datetime, or None for anything missing or unreadable.

    Servers send ISO 8601 with ``Z``, offsets or up to nine fractional digits;
    a few old ones send RFC 2822. A bad date must not cost us the post.
    """
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    parsed: datetime | None = None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    if parsed.tzinfo is None:
        # AS2 requires an offset; a missing one is most likely UTC.
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


# --- helpers -----------------------------------------------------------------


def _object_type(value: Any) -> str | None:
    # JSON-LD allows several types; prefer one we show, then one we refuse.
    names = [v for v in as_list(value) if isinstance(v, str) and v]
    known = [n for n in names if n in OBJECT_TYPES or n in _NOT_OBJECTS]
    return (known or names or [None])[0]


def _first(value: Any) -> Any:
    return next(iter(as_list(value)), None)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _from_map(value: Any) -> str | None:
    # contentMap order is not meaningful; English first, then the first entry.
    if not isinstance(value, dict):
        return None
    return _text(value.get("en")) or next(filter(None, map(_text, value.values())), None)


def _ids(value: Any) -> tuple[str, ...]:
    # dict keeps first-seen order while dropping duplicates.
    return tuple(dict.fromkeys(i for i in map(id_of, as_list(value)) if i))


def _author(value: Any) -> str | None:
    items = as_list(value)
    # PeerTube/Lemmy may list the Person next to a Group: take the Person.
    typed = [i for i in items if isinstance(i, dict) and i.get("type") in _AUTHOR_TYPES]
    untyped = [i for i in items if not (isinstance(i, dict) and i.get("type") == "Group")]
    return next(filter(None, map(id_of, typed + untyped)), None)


def _content(doc: dict[str, Any]) -> str:
    text = _text(doc.get("content")) or _from_map(doc.get("contentMap")) or ""
    # PeerTube sends a Markdown description; the app expects HTML, so turn the
    # plain text into safe HTML rather than render Markdown we cannot vouch for.
    media_type = doc.get("mediaType")
    if text and isinstance(media_type, str) and media_type.split(";")[0].strip() in _PLAIN:
        paragraphs = [p.strip() for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
        return "".join(f"<p>{html.escape(p)}</p>".replace("\n", "<br>") for p in paragraphs)
    return text


def _summary(doc: dict[str, Any]) -> str | None:
    text = _text(doc.get("summary")) or _from_map(doc.get("summaryMap"))
    # Misskey marks an empty content warning with a lone zero-width space.
    return text if text and text.replace("\u200b", "").strip() else None


def _link_href(value: Any) -> str | None:
    if isinstance(value, str):
        return web_url(value)
    if not isinstance(value, dict):
        return None
    href = value.get("href")
    return web_url(href) if isinstance(href, str) else _link_href(_first(value.get("url")))


def _media_type(value: Any) -> str | None:
    media_type = value.get("mediaType") if isinstance(value, dict) else None
    return media_type if isinstance(media_type, str) else None


def _human_url(value: Any) -> str | None:
    items = as_list(value)
    # PeerTube lists the watch page (text/html) among its files; prefer it,
    # then any link that does not claim to be a media file.
    html_links = [i for i in items if _media_type(i) == "text/html"]
    plain = [i for i in items if _media_type(i) is None]
    return next(filter(None, map(_link_href, html_links + plain + items)), None)


def _tags(value: Any, kind: str) -> list[dict[str, Any]]:
    return [t for t in as_list(value) if isinstance(t, dict) and t.get("type") == kind]


def _mentions(value: Any) -> tuple[Mention, ...]:
    found: dict[str, Mention] = {}
    for tag in _tags(value, "Mention"):
        href = web_url(tag.get("href"))
        if href is not None:
            found.setdefault(href, Mention(href=href, name=_text(tag.get("name"))))
    return tuple(found.values())


def _hashtags(value: Any) -> tuple[Hashtag, ...]:
    found: dict[str, Hashtag] = {}
    for tag in _tags(value, "Hashtag"):
        # PeerTube sends bare names, everyone else "#name"; store one form.
        bare = (_text(tag.get("name")) or "").strip().lstrip("#")
        href = tag.get("href")
        if bare:
            tag_href = web_url(href)
            found.setdefault(bare.lower(), Hashtag(name=bare, href=tag_href))
    return tuple(found.values())


def _int(value: Any) -> int | None:
    # bool is an int in Python; a "true" width is no width.
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _kind(media_type: str | None, as_type: Any) -> str:
    major = (media_type or "").split("/")[0].lower()
    if major in ("image", "video", "audio"):
        return major
    return _MEDIA_TYPES.get(as_type, "link" if as_type == "Link" else "document")


def _attachment(item: Any, description: str | None = None) -> Attachment | None:
    if isinstance(item, str):  # only http(s) links, as everywhere in this module
        return Attachment(item, None, "link", description) if web_url(item) else None
    if not isinstance(item, dict) or item.get("type") == "PropertyValue":
        return None  # Mobilizon event metadata, profile fields: not media
    url = _link_href(item) if item.get("type") == "Link" else _link_href(_first(item.get("url")))
    if url is None:
        return None
    # The mediaType may sit on the attachment or on its Link-valued url.
    media_type = _media_type(item) or _media_type(_first(item.get("url")))
    return Attachment(
        url=url,
        media_type=media_type,
        kind=_kind(media_type, item.get("type")),
        description=_text(item.get("name")) or _text(item.get("summary")) or description,
        width=_int(item.get("width")),
        height=_int(item.get("height")),
    )


def _attachments(doc: dict[str, Any], kind: str) -> tuple[Attachment, ...]:
    found = [a for a in map(_attachment, as_list(doc.get("attachment"))) if a]
    if kind in _MEDIA_TYPES:
        found.extend(_own_media(doc))
    unique: dict[str, Attachment] = {}
    for item in found:
        unique.setdefault(item.url, item)
    return tuple(unique.values())


def _own_media(doc: dict[str, Any]) -> list[Attachment]:
    """The media of an Image/Video/Audio object itself, kept in ``url``.

    PeerTube lists every resolution; one file per kind (the tallest) is enough
    to show the post. When only streaming playlists exist, fall back to the
    widest thumbnail in ``icon`` so the reader still sees something.
    """
    title = _text(doc.get("name"))
    best: dict[str, Attachment] = {}
    for link in as_list(doc.get("url")):
        item = _attachment({**link, "type": "Link"}, title) if isinstance(link, dict) else None
        if item is None or item.media_type is None or item.kind not in _MEDIA_TYPES.values():
            continue
        current = best.get(item.kind)
        if current is None or (item.height or 0) > (current.height or 0):
            best[item.kind] = item
    if best:
        return list(best.values())
    icons = [i for i in as_list(doc.get("icon")) if isinstance(i, dict)]
    icon = max(icons, key=lambda i: _int(i.get("width")) or 0, default=None)
    item = _attachment(icon, title) if icon else None
    return [replace(item, kind="image")] if item else []


def _poll(doc: dict[str, Any]) -> tuple[tuple[PollOption, ...], bool]:
    one_of, any_of = as_list(doc.get("oneOf")), as_list(doc.get("anyOf"))
    options = []
    for item in one_of or any_of:
        if isinstance(item, dict) and _text(item.get("name")):
            replies = item.get("replies")
            votes = _int(replies.get("totalItems")) if isinstance(replies, dict) else None
            options.append(PollOption(name=str(item["name"]), votes=votes))
    return tuple(options), bool(any_of) and not one_of


def _poll_end(doc: dict[str, Any]) -> datetime | None:
    return parse_datetime(doc.get("endTime")) or parse_datetime(doc.get("closed"))


def _location(value: Any) -> str | None:
    place = _first(value)
    if not isinstance(place, dict):
        return _text(place)
    address = place.get("address")
    if isinstance(address, dict):  # Mobilizon's schema.org PostalAddress
        keys = ("streetAddress", "postalCode", "addressLocality", "addressCountry")
        address = ", ".join(str(address[k]) for k in keys if _text(address.get(k)))
    return _text(place.get("name")) or _text(address)


def _quote(doc: dict[str, Any]) -> str | None:
    # Mastodon 4.5 sends ``quote`` (plus the legacy keys); Misskey and its
    # forks ``quoteUrl`` and ``_misskey_quote``; Fedibird ``quoteUri``.
    keys = ("quote", "quoteUrl", "quoteUri", "quoteURL", "_misskey_quote")
    return next(filter(None, (id_of(doc.get(k)) for k in keys)), None)
