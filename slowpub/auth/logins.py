"""The one door every password login goes through: the OAuth password grant, /login
and the login on the consent page.

An Argon2 check is tens of milliseconds of CPU and 64 MiB of memory. Run on
the event loop, a few guessers stall every inbox POST and request in the
process; so checks run on a small pool of their own threads
(:mod:`slowpub.auth.password_checks`) and the loop keeps serving. Before a
check, :mod:`slowpub.auth.login_limits` decides whether the address and
account may still try. A login naming no one is checked against a dummy
hash, so it costs the same as a wrong password and timing does not reveal
which accounts exist.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from slowpub.auth.login_limits import LoginThrottled, account_key, address_key
from slowpub.context import Context
from slowpub.social.accounts import get_user
from slowpub.storage.models import User

__all__ = ["LoginThrottled", "find_login", "verify_login"]


async def find_login(session: AsyncSession, login: str) -> User | None:
    """The user a login form or password grant names: username, @username or e-mail."""
    login = login.strip()
    if "@" in login.lstrip("@"):
        result = await session.execute(select(User).where(User.email == login.lower()))
        return result.scalar_one_or_none()
    return await get_user(session, login.lstrip("@")) if login.lstrip("@") else None


async def verify_login(
    ctx: Context, login: str, password: str, *, address: str | None
) -> User | None:
    """The user if the password is theirs, None if not.

    ``address`` is the client's (``request.client.host``, which uvicorn takes
    from ``X-Forwarded-For`` only for ``SLOWPUB_TRUSTED_PROXIES``). Raises
    :class:`LoginThrottled` past a limit, without checking the password.
    """
    async with ctx.db.sessions() as session:
        user = await find_login(session, login)
    limiter = ctx.login_limits
    attempt = limiter.begin(
        account_key(user.id if user else None, login),
        address_key(address),
        ctx.clock.now().timestamp(),
    )
    if not await ctx.password_checks.check(user.password_hash if user else None, password):
        return None
    limiter.succeeded(attempt)
    return user
