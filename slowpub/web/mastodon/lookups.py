"""Finding what a Mastodon API id names, and who may see it.

Accounts are named by the actor's ``public_id`` and statuses by the post's,
never by row ids. Anonymous callers (no token, or an app-only one) see only
what this server's accounts published: local accounts and their public
posts. Remote accounts and posts are for signed-in users, so the actors the
server knows (its users' followers and followees) cannot be listed from
outside; Mastodon with ``DISALLOW_UNAUTHENTICATED_API_ACCESS`` refuses all
of them, local ones included.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from slowpub.ids import parse_id
from slowpub.storage.models import Actor, Bookmark, InboundItem, Post, QueueItem, RemotePost, User


@dataclass
class Found:
    """A status id resolved: exactly one of ``local`` and ``remote`` is set."""

    local: Post | None = None
    author: User | None = None
    item: QueueItem | None = None
    remote: RemotePost | None = None

    @property
    def uri(self) -> str:
        return self.local.uri if self.local else self.remote.uri  # type: ignore[union-attr]


async def find_status(session: AsyncSession, status_id: str) -> Found | None:
    public_id = parse_id(status_id)
    if public_id is None:
        return None
    post = (
        await session.execute(select(Post).where(Post.public_id == public_id))
    ).scalar_one_or_none()
    if post is not None:
        author = await session.get(User, post.user_id)
        item = (
            await session.execute(
                select(QueueItem).where(QueueItem.post_id == post.id, QueueItem.kind == "create")
            )
        ).scalar_one_or_none()
        return Found(local=post, author=author, item=item)
    remote = (
        await session.execute(select(RemotePost).where(RemotePost.public_id == public_id))
    ).scalar_one_or_none()
    return Found(remote=remote) if remote is not None else None


async def find_status_by_uri(session: AsyncSession, uri: str) -> Found | None:
    post = (await session.execute(select(Post).where(Post.uri == uri))).scalar_one_or_none()
    if post is not None and post.public_id is not None:
        return await find_status(session, str(post.public_id))
    remote = (
        await session.execute(select(RemotePost).where(RemotePost.uri == uri))
    ).scalar_one_or_none()
    return Found(remote=remote) if remote is not None else None


def can_see(found: Found, viewer: User | None, has_item: bool) -> bool:
    """What the viewer may read: own posts always; others' only when released and
    public; remote posts only when signed in (their authors are part of the graph)."""
    if found.local is not None:
        if viewer is not None and found.local.user_id == viewer.id:
            return True
        return found.local.state == "released" and found.local.visibility in ("public", "unlisted")
    assert found.remote is not None
    if viewer is None:
        return False
    return found.remote.visibility in ("public", "unlisted") or has_item


async def has_item(session: AsyncSession, viewer: User | None, remote: RemotePost | None) -> bool:
    if viewer is None or remote is None:
        return False
    query = select(InboundItem.id).where(
        InboundItem.user_id == viewer.id, InboundItem.remote_post_id == remote.id
    )
    return (await session.execute(query.limit(1))).first() is not None


async def find_actor(
    session: AsyncSession, account_id: str, viewer: User | None = None
) -> Actor | None:
    """The account an API id names, if this viewer may know of it (None: anonymous).

    An anonymous caller gets None for a remote account, exactly as for an id
    that names nobody, so the answer does not even confirm the id exists.
    """
    public_id = parse_id(account_id)
    if public_id is None:
        return None
    query = select(Actor).where(Actor.public_id == public_id)
    if viewer is None:
        query = query.where(Actor.local.is_(True))
    return (await session.execute(query)).scalar_one_or_none()


async def is_bookmarked(session: AsyncSession, viewer: User, uri: str) -> bool:
    query = select(Bookmark.id).where(Bookmark.user_id == viewer.id, Bookmark.object_uri == uri)
    return (await session.execute(query.limit(1))).first() is not None
