"""Local accounts: creating them, finding them, checking their passwords.

A local account is a ``users`` row plus its ``actors`` row (the public face
every follow points at) and an RSA key pair that signs everything it sends.
"""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from federation.keys import generate_private_key_pem, public_key_pem
from slowpub import urls
from slowpub.context import Context
from slowpub.social.passwords import HASHER, verify_password_hash
from slowpub.storage.models import Actor, User

USERNAME_RE = re.compile(r"^[A-Za-z0-9_]{1,30}$")
MIN_PASSWORD_LENGTH = 8


class AccountError(ValueError):
    """A request about accounts that cannot be done; the message says why."""


def normalise_username(name: str) -> str:
    """Usernames are matched case-insensitively, as Mastodon does; we store lowercase."""
    name = name.strip().lstrip("@")
    if not USERNAME_RE.match(name):
        raise AccountError(f"invalid username {name!r}: use 1-30 letters, digits or underscores")
    return name.lower()


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"password too short: at least {MIN_PASSWORD_LENGTH} characters")
    return HASHER.hash(password)


def check_password(user: User, password: str) -> bool:
    """Blocking (tens of ms of CPU): the web faces go through ``slowpub.auth.logins``."""
    if not user.password_hash:
        return False
    return verify_password_hash(user.password_hash, password)


async def create_user(
    ctx: Context,
    username: str,
    *,
    password: str | None,
    display_name: str | None = None,
    email: str | None = None,
) -> User:
    username = normalise_username(username)
    password_hash = hash_password(password) if password is not None else None
    private_pem = generate_private_key_pem()
    now = ctx.clock.now()
    settings = ctx.settings
    actor_uri = urls.actor(settings, username)
    async with ctx.db.transaction() as session:
        if await get_user(session, username) is not None:
            raise AccountError(f"user {username!r} already exists")
        actor = Actor(
            uri=actor_uri,
            local=True,
            actor_type="Person",
            username=username,
            domain=settings.host,
            name=display_name or None,
            url=urls.profile(settings, username),
            inbox=urls.inbox(settings, username),
            shared_inbox=urls.shared_inbox(settings),
            outbox=urls.outbox(settings, username),
            followers_url=urls.followers(settings, username),
            key_id=urls.key_id(actor_uri),
            public_key_pem=public_key_pem(private_pem),
            manually_approves_followers=False,
            created_at=now,
        )
        session.add(actor)
        try:
            await session.flush()
        except IntegrityError as exc:
            raise AccountError(f"user {username!r} already exists") from exc
        user = User(
            actor_id=actor.id,
            username=username,
            email=email.strip().lower() if email else None,
            password_hash=password_hash,
            private_key_pem=private_pem,
            publish_graph=False,
            created_at=now,
        )
        session.add(user)
        await session.flush()
        user.actor = actor
    return user


async def get_user(session: AsyncSession, username: str) -> User | None:
    result = await session.execute(select(User).where(User.username == username.lower()))
    return result.scalar_one_or_none()


async def require_user(session: AsyncSession, username: str) -> User:
    user = await get_user(session, username.strip().lstrip("@"))
    if user is None:
        raise AccountError(f"no local user named {username!r}")
    return user


async def list_users(session: AsyncSession) -> list[User]:
    result = await session.execute(select(User).order_by(User.username))
    return list(result.scalars())


async def count_users(session: AsyncSession) -> int:
    return int((await session.execute(select(func.count(User.id)))).scalar_one())
