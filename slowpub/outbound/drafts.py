"""Drafts: what a user wrote, checked and rendered into what a post federates with.

Everything about a post's content that is computed from its text lives here:
the length and content-warning checks, resolving @mentions, the reply
target, Mastodon's addressing for each visibility. :mod:`slowpub.outbound.posting`
calls it for new posts and edits alike, so both are judged the same way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from federation.vocab import PUBLIC, web_url
from slowpub.context import Context
from slowpub.inbound.intake import Skip, fetch_post
from slowpub.inbound.remote_actors import ActorError, resolve_account
from slowpub.outbound.text import (
    MentionRef,
    ResolvedMention,
    TextError,
    check_length,
    find_mentions,
    render,
)
from slowpub.storage.models import Post, QueueItem, User

# "self": a private note (a C2S Create with no recipients); it never federates.
VISIBILITIES = ("public", "unlisted", "followers", "direct", "self")


class PostingError(ValueError):
    """A post, edit or reaction that cannot be queued; the message says why."""


@dataclass
class Draft:
    text: str
    visibility: str = "public"
    in_reply_to: str | None = None
    cw: str | None = None
    not_before: datetime | None = None
    # Actor URIs addressed without an @mention in the text (C2S clients do this).
    recipients: tuple[str, ...] = ()


@dataclass
class Rendered:
    """Everything about a post's content that is computed from its text."""

    source: str
    content_html: str
    summary: str | None
    tags: list[dict[str, Any]]
    to: list[str]
    cc: list[str]
    recipients: list[str]

    def as_payload(self) -> str:
        return json.dumps(self.__dict__)

    def apply(self, post: Post) -> None:
        post.source = self.source
        post.content_html = self.content_html
        post.summary = self.summary
        post.tags_json = json.dumps(self.tags)
        post.to_json = json.dumps(self.to)
        post.cc_json = json.dumps(self.cc)
        post.extra_recipients_json = json.dumps(self.recipients)


async def _resolve_mentions(
    ctx: Context, refs: list[MentionRef]
) -> dict[MentionRef, ResolvedMention]:
    resolved: dict[MentionRef, ResolvedMention] = {}
    for ref in refs:
        account = f"{ref.username}@{ref.host or ctx.settings.host}"
        try:
            actor = await resolve_account(ctx, account)
        except ActorError as exc:
            raise PostingError(f"cannot mention @{account}: {exc}") from exc
        resolved[ref] = ResolvedMention(
            uri=actor.uri,
            profile_url=web_url(actor.url) or actor.uri,
            username=actor.username,
            handle=actor.handle,
        )
    return resolved


@dataclass
class ReplyTarget:
    uri: str
    author_uri: str
    author_handle: str
    # Set when the target is the replier's own cooling post: the reply may not
    # leave before it (release holds it), so it is scheduled no earlier.
    cooling_until: datetime | None = None


async def reply_target(ctx: Context, url: str, replier: User | None = None) -> ReplyTarget:
    """What ``url`` names, if it can be replied to (or reacted to, with no ``replier``).

    A post of this server must be released, except the replier's own cooling
    post: a thread may be written while it cools (each reply cools too).
    """
    url = url.strip()
    if url.startswith(ctx.settings.base_url + "/"):
        async with ctx.db.sessions() as session:
            post = (await session.execute(select(Post).where(Post.uri == url))).scalar_one_or_none()
            own_cooling = (
                post is not None
                and post.state == "cooling"
                and replier is not None
                and post.user_id == replier.id
            )
            if post is None or (post.state != "released" and not own_cooling):
                raise PostingError(f"cannot reply to {url}: no such released post here")
            author = await session.get(User, post.user_id)
            assert author is not None
            cooling_until = None
            if own_cooling:
                cooling_until = (
                    await session.execute(
                        select(QueueItem.release_at).where(
                            QueueItem.post_id == post.id, QueueItem.kind == "create"
                        )
                    )
                ).scalar_one()
            return ReplyTarget(url, author.actor.uri, author.actor.handle, cooling_until)
    try:
        fetched = await fetch_post(ctx, url, None)
    except Skip as exc:
        raise PostingError(f"cannot reply to {url}: {exc}") from exc
    return ReplyTarget(fetched.obj.id, fetched.author.uri, fetched.author.handle)


def _addressing(
    visibility: str, followers: str, mentioned: list[str]
) -> tuple[list[str], list[str]]:
    """Mastodon's addressing: visibility is nothing but who is in to and cc."""
    if visibility == "public":
        return [PUBLIC], [followers, *mentioned]
    if visibility == "unlisted":
        return [followers], [PUBLIC, *mentioned]
    if visibility == "followers":
        return [followers], list(mentioned)
    if visibility == "self":
        return [], []
    return list(mentioned), []


async def render_draft(
    ctx: Context,
    user: User,
    text: str,
    *,
    visibility: str,
    cw: str | None,
    reply: ReplyTarget | None,
    also: tuple[ReplyTarget, ...] = (),
) -> Rendered:
    try:
        text = check_length(text)
    except TextError as exc:
        raise PostingError(str(exc)) from exc
    if cw is not None and len(cw) > 500:
        raise PostingError("a content warning can be at most 500 characters")
    mentions = await _resolve_mentions(ctx, find_mentions(text))
    html, tags = render(
        text,
        mentions=mentions,
        tag_url=ctx.settings.url("/tags/{tag}"),
        local_host=ctx.settings.host,
    )
    mentioned = [t["href"] for t in tags if t["type"] == "Mention"]
    # The author replied to always hears of it, as on Mastodon; so do accounts
    # a C2S client addressed without naming them in the text.
    for target in (reply, *also):
        if (
            target is not None
            and target.author_uri not in mentioned
            and target.author_uri != user.actor.uri
        ):
            tags.append(
                {"type": "Mention", "href": target.author_uri, "name": "@" + target.author_handle}
            )
            mentioned.append(target.author_uri)
    mentioned = [m for m in mentioned if m != user.actor.uri]
    to, cc = _addressing(visibility, user.actor.followers_url or "", mentioned)
    return Rendered(
        source=text,
        content_html=html,
        summary=(cw or "").strip() or None,
        tags=tags,
        to=to,
        cc=cc,
        recipients=mentioned,
    )
