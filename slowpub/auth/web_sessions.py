"""Browser sessions the server can end: a row per login, found by the cookie's id.

A signed cookie alone is valid until it expires, whatever happens: logging
out only forgets it in the browser, and a cookie copied before a logout or
a password change keeps working for its 30 days. So the cookie carries a
random id and the server keeps its SHA-256 (a leaked table opens no
session); the session is live while its row exists, has been used within
:data:`IDLE_LIMIT`, and the account's password is the one it was opened
with (``password_fingerprint``: any password change, from any face, ends
every session of the account without each path having to remember).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from slowpub.context import Context
from slowpub.storage.models import User, WebSession

# The cookie's own lifetime: a session unused this long is over.
IDLE_LIMIT = timedelta(days=30)
# Writing last_seen_at on every page view would turn every read into a write.
LAST_SEEN_STEP = timedelta(minutes=1)
USER_AGENT_LENGTH = 255


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def password_fingerprint(user: User) -> str:
    """Changes whenever the password does (a new hash has a new salt)."""
    return hashlib.sha256((user.password_hash or "").encode()).hexdigest()


def _live(row: WebSession, user: User, now: datetime) -> bool:
    return (
        secrets.compare_digest(row.password_fingerprint, password_fingerprint(user))
        and now - row.last_seen_at < IDLE_LIMIT
    )


async def start(ctx: Context, user: User, user_agent: str | None) -> str:
    """Open a session for ``user``; returns the id for the cookie."""
    token = secrets.token_urlsafe(32)
    now = ctx.clock.now()
    async with ctx.db.transaction() as session:
        # Sessions nobody will use again: keep the table to live ones.
        await session.execute(
            delete(WebSession).where(
                WebSession.user_id == user.id,
                WebSession.last_seen_at <= now - IDLE_LIMIT,
            )
        )
        session.add(
            WebSession(
                token_hash=_hash(token),
                user_id=user.id,
                password_fingerprint=password_fingerprint(user),
                user_agent=(user_agent or "")[:USER_AGENT_LENGTH] or None,
                created_at=now,
                last_seen_at=now,
            )
        )
    return token


async def resolve(ctx: Context, token: str) -> User | None:
    """The user of a live session; a dead one is removed."""
    now = ctx.clock.now()
    async with ctx.db.sessions() as session:
        found = (
            await session.execute(
                select(WebSession, User)
                .join(User, User.id == WebSession.user_id)
                .where(WebSession.token_hash == _hash(token))
            )
        ).first()
    if found is None:
        return None
    row, user = found
    if not _live(row, user, now):
        await end(ctx, token)
        return None
    if now - row.last_seen_at >= LAST_SEEN_STEP:
        async with ctx.db.transaction() as session:
            await session.execute(
                update(WebSession)
                .where(WebSession.id == row.id)
                .values(last_seen_at=now)
                .execution_options(synchronize_session=False)
            )
    return user


async def end(ctx: Context, token: str) -> None:
    async with ctx.db.transaction() as session:
        await session.execute(delete(WebSession).where(WebSession.token_hash == _hash(token)))


async def end_all(ctx: Context, user_id: int) -> int:
    """End every session of the account ("sign out everywhere"); how many were live."""
    async with ctx.db.transaction() as session:
        user = await session.get(User, user_id)
        rows = await _rows(session, user_id)
        live = sum(1 for row in rows if user is not None and _live(row, user, ctx.clock.now()))
        await session.execute(delete(WebSession).where(WebSession.user_id == user_id))
    return live


@dataclass(frozen=True)
class SessionInfo:
    created_at: datetime
    last_seen_at: datetime
    user_agent: str | None


async def list_live(ctx: Context, user: User) -> list[SessionInfo]:
    """The account's live sessions, most recently used first."""
    now = ctx.clock.now()
    async with ctx.db.sessions() as session:
        rows = await _rows(session, user.id)
    return [
        SessionInfo(row.created_at, row.last_seen_at, row.user_agent)
        for row in sorted(rows, key=lambda r: r.last_seen_at, reverse=True)
        if _live(row, user, now)
    ]


async def _rows(session: AsyncSession, user_id: int) -> list[WebSession]:
    result = await session.execute(select(WebSession).where(WebSession.user_id == user_id))
    return list(result.scalars())
