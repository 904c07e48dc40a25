"""A bundle arranged for reading in one sitting, and its text, HTML and JSON forms.

Posts are grouped by thread (a conversation reads as one piece, in order)
and threads by the person who started them; a post shared by several people
appears once, "shared by A, B"; likes and shares of your own posts are
names, never counts.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import aliased, lazyload, load_only

from federation.vocab import web_url
from slowpub.inbound.sanitize import html_to_text
from slowpub.storage.models import Actor, Bundle, InboundItem, Post, RemotePost, User

POST_KINDS = ("post", "reply", "mention")
PERSON_COLUMNS = ("id", "uri", "name", "username", "domain", "url")


@dataclass
class Person:
    name: str
    handle: str
    url: str

    @classmethod
    def of(cls, actor: Actor) -> Person:
        # Rows stored before links were checked on intake are checked again here.
        url = web_url(actor.url) or actor.uri
        return cls(actor.name or actor.username, "@" + actor.handle, url)


@dataclass
class PostView:
    uri: str
    url: str
    author: Person
    published: datetime | None
    edited: datetime | None
    title: str | None
    summary: str | None
    content_html: str
    kind: str  # the item kind that brought it: post, reply, mention, boost
    in_reply_to: str | None
    thread: str | None
    extra: dict[str, Any]
    shared_by: list[Person] = field(default_factory=list)

    @property
    def sort_key(self) -> tuple[str, str]:
        return (self.published.isoformat() if self.published else "", self.uri)


@dataclass
class Thread:
    starter: Person
    posts: list[PostView]
    for_you: bool


@dataclass
class OwnPost:
    uri: str
    excerpt: str
    liked_by: list[Person] = field(default_factory=list)
    shared_by: list[Person] = field(default_factory=list)


@dataclass
class BundleView:
    bundle_id: int | None
    local_date: str
    sealed_at: datetime | None
    for_you: list[Thread]
    by_person: list[tuple[Person, list[Thread]]]
    shared: list[PostView]
    followers: list[Person]
    requests: list[Person]
    moves: list[Person]
    own_posts: list[OwnPost]

    @property
    def empty(self) -> bool:
        return not (
            self.for_you
            or self.by_person
            or self.shared
            or self.followers
            or self.requests
            or self.moves
            or self.own_posts
        )


async def load(session: Any, user: User, bundle: Bundle | None) -> BundleView:
    """Arrange a sealed bundle (or, with ``bundle=None``, what is still unsealed)."""
    author = aliased(Actor)
    where = (
        InboundItem.bundle_id == bundle.id
        if bundle is not None
        else InboundItem.bundle_id.is_(None)
    )
    query = (
        select(InboundItem, Actor, RemotePost, author, Post)
        .join(Actor, Actor.id == InboundItem.actor_id)
        .outerjoin(RemotePost, RemotePost.id == InboundItem.remote_post_id)
        .outerjoin(author, author.id == RemotePost.author_id)
        .outerjoin(Post, Post.id == InboundItem.local_post_id)
        .where(InboundItem.user_id == user.id, where)
        .order_by(InboundItem.id)
        # Only what a reader sees: not the actors' stored documents and keys,
        # and not a second copy of each author through the relationship.
        .options(
            lazyload(RemotePost.author),
            load_only(*(getattr(Actor, c) for c in PERSON_COLUMNS)),
            load_only(*(getattr(author, c) for c in PERSON_COLUMNS)),
        )
    )
    posts: dict[str, PostView] = {}
    boosts: dict[str, PostView] = {}
    followers: list[Person] = []
    requests: list[Person] = []
    moves: list[Person] = []
    own: dict[int, OwnPost] = {}
    for item, actor, remote, remote_author, local in (await session.execute(query)).all():
        person = Person.of(actor)
        if remote is not None and item.kind in (*POST_KINDS, "boost"):
            view = _post_view(remote, remote_author, item.kind)
            if item.kind == "boost":
                target = posts.get(view.uri) or boosts.setdefault(view.uri, view)
                if person.handle not in {p.handle for p in target.shared_by}:
                    target.shared_by.append(person)
            else:
                existing = posts.get(view.uri)
                if existing is None:
                    if view.uri in boosts:
                        view.shared_by = boosts.pop(view.uri).shared_by
                    posts[view.uri] = view
                elif _rank(item.kind) > _rank(existing.kind):
                    existing.kind = item.kind
        elif item.kind == "follow":
            followers.append(person)
        elif item.kind == "follow_request":
            requests.append(person)
        elif item.kind == "move":
            moves.append(person)
        elif item.kind in ("like", "share") and local is not None:
            entry = own.setdefault(local.id, OwnPost(local.uri, _excerpt(local.source)))
            names = entry.liked_by if item.kind == "like" else entry.shared_by
            if person.handle not in {p.handle for p in names}:
                names.append(person)
    threads = _threads(list(posts.values()))
    for_you = [t for t in threads if t.for_you]
    by_person: dict[str, tuple[Person, list[Thread]]] = {}
    for thread in threads:
        if not thread.for_you:
            by_person.setdefault(thread.starter.handle, (thread.starter, []))[1].append(thread)
    return BundleView(
        bundle_id=bundle.id if bundle else None,
        local_date=bundle.local_date if bundle else "",
        sealed_at=bundle.sealed_at if bundle else None,
        for_you=for_you,
        by_person=sorted(by_person.values(), key=lambda entry: entry[0].name.lower()),
        shared=sorted(boosts.values(), key=lambda p: p.sort_key),
        followers=followers,
        requests=requests,
        moves=moves,
        own_posts=list(own.values()),
    )


def _rank(kind: str) -> int:
    return {"post": 0, "boost": 0, "mention": 1, "reply": 2}.get(kind, 0)


def _excerpt(text: str, limit: int = 80) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _post_view(remote: RemotePost, author: Actor, kind: str) -> PostView:
    return PostView(
        uri=remote.uri,
        url=web_url(remote.url) or remote.uri,
        author=Person.of(author),
        published=remote.published_at,
        edited=remote.edited_at,
        title=remote.name,
        summary=remote.summary,
        content_html=remote.content_html,
        kind=kind,
        in_reply_to=remote.in_reply_to,
        thread=remote.thread,
        extra=_checked_extra(remote.extra_json),
    )


def _checked_extra(raw: str | None) -> dict[str, Any]:
    extra: dict[str, Any] = json.loads(raw or "{}")
    if "attachments" in extra:
        extra["attachments"] = [a for a in extra["attachments"] if web_url(a.get("url"))]
    return extra


def _threads(posts: list[PostView]) -> list[Thread]:
    """Group posts into conversations: by their thread id, else by reply chains."""
    by_uri = {p.uri: p for p in posts}

    def root(post: PostView) -> str:
        seen = set()
        while post.in_reply_to in by_uri and post.uri not in seen:
            seen.add(post.uri)
            post = by_uri[post.in_reply_to]
        return post.thread or post.in_reply_to or post.uri

    groups: dict[str, list[PostView]] = defaultdict(list)
    for post in posts:
        groups[root(post)].append(post)
    threads = []
    for members in groups.values():
        members.sort(key=lambda p: p.sort_key)
        threads.append(
            Thread(
                starter=members[0].author,
                posts=members,
                for_you=any(p.kind in ("reply", "mention") for p in members),
            )
        )
    threads.sort(key=lambda t: t.posts[0].sort_key)
    return threads


# --- forms ----------------------------------------------------------------------


def _names(people: list[Person]) -> str:
    return ", ".join(p.name for p in people)


def _post_json(post: PostView) -> dict[str, Any]:
    return {
        "id": post.uri,
        "url": post.url,
        "author": {"name": post.author.name, "handle": post.author.handle, "url": post.author.url},
        "published": post.published.isoformat() if post.published else None,
        "edited": post.edited.isoformat() if post.edited else None,
        "title": post.title,
        "summary": post.summary,
        "content": post.content_html,
        "reason": post.kind,
        "in_reply_to": post.in_reply_to,
        "shared_by": [p.name for p in post.shared_by],
        **post.extra,
    }


def as_json(view: BundleView) -> dict[str, Any]:
    def thread_json(thread: Thread) -> dict[str, Any]:
        return {"started_by": thread.starter.handle, "posts": [_post_json(p) for p in thread.posts]}

    return {
        "id": view.bundle_id,
        "date": view.local_date,
        "sealed_at": view.sealed_at.isoformat() if view.sealed_at else None,
        "for_you": [thread_json(t) for t in view.for_you],
        "from_people_you_follow": [
            {"person": person.handle, "name": person.name, "threads": [thread_json(t) for t in ts]}
            for person, ts in view.by_person
        ],
        "shared": [_post_json(p) for p in view.shared],
        "new_followers": [p.handle for p in view.followers],
        "follow_requests": [p.handle for p in view.requests],
        "moved": [p.handle for p in view.moves],
        "your_posts": [
            {
                "id": o.uri,
                "excerpt": o.excerpt,
                "liked_by": [p.name for p in o.liked_by],
                "shared_by": [p.name for p in o.shared_by],
            }
            for o in view.own_posts
        ],
    }


def _post_text(post: PostView, indent: str = "  ") -> list[str]:
    when = post.published.strftime("%Y-%m-%d %H:%M UTC") if post.published else ""
    lines = [f"{post.author.name} ({post.author.handle}) {when}".rstrip()]
    if post.title:
        lines.append(post.title)
    if post.summary:
        lines.append(f"[{post.summary}]")
    body = html_to_text(post.content_html).strip()
    lines.extend(body.splitlines())
    for attachment in post.extra.get("attachments", []):
        lines.append(f"[{attachment.get('kind', 'file')}: {attachment.get('url')}]")
    if "poll" in post.extra:
        lines.extend(f"( ) {option}" for option in post.extra["poll"]["options"])
    if post.shared_by:
        lines.append(f"shared by {_names(post.shared_by)}")
    lines.append(post.url)
    return [indent + line if line else "" for line in lines]


def as_text(view: BundleView, title: str) -> str:
    out = [title, "=" * len(title), ""]

    def section(name: str) -> None:
        out.extend([name, "-" * len(name), ""])

    if view.for_you:
        section("Replies and mentions")
        for thread in view.for_you:
            for post in thread.posts:
                out.extend(_post_text(post))
                out.append("")
    for person, threads in view.by_person:
        section(f"From {person.name} ({person.handle})")
        for thread in threads:
            for post in thread.posts:
                out.extend(_post_text(post))
                out.append("")
    if view.shared:
        section("Shared by people you follow")
        for post in view.shared:
            out.extend(_post_text(post))
            out.append("")
    for name, people in (
        ("New followers", view.followers),
        ("Follow requests", view.requests),
        ("Moved accounts", view.moves),
    ):
        if people:
            section(name)
            out.extend(f"  {p.name} ({p.handle})" for p in people)
            out.append("")
    if view.own_posts:
        section("Your posts")
        for own in view.own_posts:
            out.append(f"  {own.excerpt}")
            if own.liked_by:
                out.append(f"    liked by {_names(own.liked_by)}")
            if own.shared_by:
                out.append(f"    shared by {_names(own.shared_by)}")
        out.append("")
    if view.empty:
        out.append("Nothing came in.")
    return "\n".join(out).rstrip() + "\n"
