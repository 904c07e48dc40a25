"""Turning a user's plain text into the HTML and tags a post federates with.

URLs become links, ``@user@host`` mentions become Mastodon-style h-card
links with a ``Mention`` tag, ``#tags`` become hashtag links with a
``Hashtag`` tag. Mentions are resolved by the caller (WebFinger) between
:func:`find_mentions` and :func:`render`, so an unknown account is an error
before anything is stored.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

MAX_LENGTH = 5000

_URL = r"https?://[^\s<>\"']+"
_MENTION = (
    r"(?<![\w@/.])@(?P<user>[A-Za-z0-9_]+(?:[.-][A-Za-z0-9_]+)*)"
    r"(?:@(?P<host>[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*(?::\d{1,5})?))?"
)
_HASHTAG = r"(?<![\w#&/])#(?P<tagname>\w*[^\W\d_]\w*)"
_TOKEN = re.compile(f"(?P<url>{_URL})|(?P<mention>{_MENTION})|(?P<tag>{_HASHTAG})")
_TRAILING = ".,;:!?)]}'\""


class TextError(ValueError):
    """Text that cannot be posted; the message says why."""


@dataclass(frozen=True)
class MentionRef:
    username: str
    host: str | None  # None: a local account

    def display(self, local_host: str) -> str:
        return f"@{self.username}@{self.host or local_host}"


@dataclass(frozen=True)
class ResolvedMention:
    uri: str
    profile_url: str
    username: str
    handle: str  # user@host


def _trim_url(url: str) -> tuple[str, str]:
    """Split trailing punctuation off a URL; keep a ')' that closes a '(' inside it."""
    tail = ""
    while url and url[-1] in _TRAILING:
        if url[-1] == ")" and url.count("(") >= url.count(")"):
            break
        tail = url[-1] + tail
        url = url[:-1]
    return url, tail


def _ref(match: re.Match[str]) -> MentionRef:
    return MentionRef(match.group("user"), (match.group("host") or "").lower() or None)


def check_length(text: str) -> str:
    text = text.replace("\r\n", "\n").strip()
    if not text:
        raise TextError("a post needs some text")
    if len(text) > MAX_LENGTH:
        raise TextError(f"a post can be at most {MAX_LENGTH} characters (this one has {len(text)})")
    return text


def find_mentions(text: str) -> list[MentionRef]:
    found: list[MentionRef] = []
    for match in _TOKEN.finditer(text):
        if match.group("mention"):
            ref = _ref(match)
            if ref not in found:
                found.append(ref)
    return found


def render(
    text: str,
    *,
    mentions: dict[MentionRef, ResolvedMention],
    tag_url: str,
    local_host: str,
) -> tuple[str, list[dict[str, Any]]]:
    """HTML and the AS2 ``tag`` list for ``text``; ``tag_url`` has a ``{tag}`` slot."""
    tags: list[dict[str, Any]] = []
    seen: set[str] = set()

    def inline(segment: str) -> str:
        out: list[str] = []
        pos = 0
        for match in _TOKEN.finditer(segment):
            out.append(html.escape(segment[pos : match.start()], quote=False))
            pos = match.end()
            if match.group("url"):
                url, tail = _trim_url(match.group("url"))
                out.append(
                    f'<a href="{html.escape(url)}" target="_blank" '
                    f'rel="nofollow noopener noreferrer">{html.escape(url, quote=False)}</a>'
                )
                out.append(html.escape(tail, quote=False))
            elif match.group("mention"):
                ref = _ref(match)
                resolved = mentions.get(ref)
                if resolved is None:
                    out.append(html.escape(match.group(0), quote=False))
                    continue
                profile = html.escape(resolved.profile_url)
                name = html.escape(resolved.username)
                out.append(
                    f'<span class="h-card" translate="no"><a href="{profile}" '
                    f'class="u-url mention">@<span>{name}</span></a></span>'
                )
                if resolved.uri not in seen:
                    seen.add(resolved.uri)
                    tags.append(
                        {"type": "Mention", "href": resolved.uri, "name": "@" + resolved.handle}
                    )
            else:
                name = match.group("tagname")
                href = tag_url.format(tag=name.lower())
                out.append(
                    f'<a href="{html.escape(href)}" class="mention hashtag" rel="tag">'
                    f"#<span>{html.escape(name)}</span></a>"
                )
                key = "#" + name.lower()
                if key not in seen:
                    seen.add(key)
                    tags.append({"type": "Hashtag", "href": href, "name": "#" + name.lower()})
        out.append(html.escape(segment[pos:], quote=False))
        return "".join(out)

    paragraphs = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
    rendered = "".join(
        "<p>" + "<br>".join(inline(line) for line in p.strip("\n").split("\n")) + "</p>"
        for p in paragraphs
    )
    return rendered, tags


def plain_to_html(text: str) -> str:
    """Plain text (a local profile's summary) as the HTML AS2 and Mastodon expect.

    Everything is escaped: what a user typed is shown, never interpreted.
    """
    paragraphs = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
    return "".join(
        "<p>" + "<br>".join(html.escape(line) for line in p.strip("\n").split("\n")) + "</p>"
        for p in paragraphs
    )
