"""The one gate remote HTML passes before it is stored or shown.

Remote servers send post content as HTML, and any of them may be hostile or
broken. ``sanitize_html`` keeps roughly what Mastodon keeps (its
``MASTODON_STRICT`` config in ``lib/sanitize_ext/sanitize_config.rb``) using
nh3, an allow-list sanitizer, so anything not named here is dropped.
``html_to_text`` turns the same HTML into readable plain text for e-mail text
parts and Atom summaries.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import nh3

# Headings are kept, unlike Mastodon (which rewrites them to <p><strong>):
# slowpub shows Articles and Pages (WordPress, Friendica, Lemmy) in full, and
# their section titles are part of the text's structure.
_TAGS = frozenset(
    {"p", "br", "a", "span", "em", "strong", "b", "i", "u", "s", "del", "code", "pre"}
    | {"blockquote", "ul", "ol", "li", "sub", "sup", "h1", "h2", "h3", "h4", "h5", "h6"}
)
# ``class`` is handled by _CLASSES below; nh3 refuses it in both places.
_ATTRIBUTES = {"a": {"href"}, "ol": {"start", "reversed"}, "*": {"lang"}}
# The classes Mastodon's own HTML relies on: h-card/mention/hashtag mark
# mentions and tags; invisible/ellipsis shorten long links in place.
_CLASSES = {
    "a": {"mention", "hashtag", "u-url", "h-card"},
    "span": {"h-card", "invisible", "ellipsis"},
    "p": {"quote-inline"},  # Mastodon's quote fallback, hidden when the quote shows
}
# Mastodon also allows dat/ipfs/gemini/...; a reader mostly opens links in a
# browser or a mail client, so the web and mail are enough.
_SCHEMES = frozenset({"http", "https", "mailto"})
# Elements whose content is dropped along with the tag, not kept as text.
_DROP_WITH_CONTENT = frozenset(
    {"script", "style", "iframe", "noscript", "template", "object", "svg", "textarea", "select"}
)


def sanitize_html(html: str) -> str:
    """Keep only harmless markup; links open in a new tab and carry no referrer."""
    if not html:
        return ""
    return nh3.clean(
        html,
        tags=set(_TAGS),
        clean_content_tags=set(_DROP_WITH_CONTENT),
        attributes={k: set(v) for k, v in _ATTRIBUTES.items()},
        allowed_classes={k: set(v) for k, v in _CLASSES.items()},
        url_schemes=set(_SCHEMES),
        # A relative href in remote content would point at our own host.
        url_relative="deny",
        link_rel="nofollow noopener noreferrer",
        set_tag_attribute_values={"a": {"target": "_blank"}},
    )


_BLOCKS = frozenset(
    {"p", "div", "blockquote", "pre", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6"}
    | {"section", "article", "header", "footer", "figure", "table", "tr", "hr"}
)
_SKIP = frozenset({"script", "style", "template", "noscript", "head", "title"})
_SPACES = re.compile(r"[ \t\r\n\f]+")


class _TextBuilder(HTMLParser):
    """Collects text with paragraph breaks; links remember their href."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        # One buffer per open <a>, so a link's text can be compared to its href.
        self.links: list[tuple[str | None, bool, list[str]]] = []
        self.skip_depth = 0
        self.pre_depth = 0

    def _sink(self) -> list[str]:
        return self.links[-1][2] if self.links else self.parts

    def _break(self, newlines: int) -> None:
        if self.links:
            self._sink().append(" ")
            return
        text = "".join(self.parts).rstrip(" ")
        if not text:
            return
        have = len(text) - len(text.rstrip("\n"))
        self.parts = [text, "\n" * max(0, newlines - have)]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skip_depth += 1
        elif tag == "br":
            self._break(1)
        elif tag == "li":
            self._break(1)
            self._sink().append("- ")
        elif tag == "a":
            attributes = dict(attrs)
            classes = (attributes.get("class") or "").split()
            quiet = "mention" in classes or "hashtag" in classes
            self.links.append((attributes.get("href"), quiet, []))
        elif tag in _BLOCKS:
            self._break(2)
            self.pre_depth += tag == "pre"

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip_depth = max(0, self.skip_depth - 1)
        elif tag == "a" and self.links:
            href, quiet, buffer = self.links.pop()
            text = _SPACES.sub(" ", "".join(buffer)).strip()
            self._sink().append(_link_text(text, href, quiet))
        elif tag == "li":
            self._break(1)
        elif tag in _BLOCKS:
            self.pre_depth = max(0, self.pre_depth - (tag == "pre"))
            self._break(2)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in ("br", "hr"):
            self.handle_endtag(tag)

    def handle_data(self, data: str) -> None:
        if self.skip_depth:
            return
        if not self.pre_depth:
            data = _SPACES.sub(" ", data)
            previous = next((p[-1] for p in reversed(self._sink()) if p), "")
            if data.startswith(" ") and previous in ("", " ", "\n"):
                data = data[1:]
        self._sink().append(data)

    def text(self) -> str:
        while self.links:  # unclosed <a>: keep its text
            self.handle_endtag("a")
        lines = [line.rstrip() for line in "".join(self.parts).split("\n")]
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _link_text(text: str, href: str | None, quiet: bool) -> str:
    # Mentions and hashtags read fine as "@alice" and "#tag"; a plain link
    # whose text is not its address gets the address too, for e-mail readers.
    if not href or quiet or text.startswith(("@", "#")):
        return text
    bare = re.sub(r"^[a-z][a-z0-9+.-]*://", "", href, flags=re.I).rstrip("/")
    if text.rstrip("/") in (href.rstrip("/"), bare) or not text:
        return text or href
    return f"{text} <{href}>"


def html_to_text(html: str) -> str:
    """Readable plain text: paragraphs split by blank lines, links spelled out."""
    builder = _TextBuilder()
    builder.feed(html or "")
    builder.close()
    return builder.text()
