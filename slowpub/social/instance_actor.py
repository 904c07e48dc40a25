"""The instance actor: a Service that signs our fetches of remote objects.

Servers in authorized-fetch mode (and GoToSocial always) refuse unsigned
GETs, and fetching a remote key must not depend on any local user existing,
so fetches are signed by this actor. Its key pair is created by
``slowpub init`` and kept in ``instance_settings``.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from federation.keys import generate_private_key_pem, public_key_pem
from slowpub import urls
from slowpub.context import Context
from slowpub.storage.models import InstanceSetting

PRIVATE_KEY = "instance_actor_private_key"


async def ensure_instance_key(ctx: Context) -> tuple[str, str]:
    """Return (private PEM, public PEM), creating the pair on first use."""
    if ctx.instance_key is not None:
        return ctx.instance_key
    try:
        async with ctx.db.transaction() as session:
            row = await session.get(InstanceSetting, PRIVATE_KEY)
            if row is None:
                session.add(InstanceSetting(name=PRIVATE_KEY, value=generate_private_key_pem()))
    except IntegrityError:
        pass  # a concurrent first use stored one: the stored row wins (read below)
    async with ctx.db.sessions() as session:
        stored = (
            await session.execute(
                select(InstanceSetting.value).where(InstanceSetting.name == PRIVATE_KEY)
            )
        ).scalar_one()
    ctx.instance_key = (stored, public_key_pem(stored))
    return ctx.instance_key


async def signing_identity(ctx: Context) -> tuple[str, str]:
    """(keyId, private PEM) for signing instance-level requests."""
    private_pem, _ = await ensure_instance_key(ctx)
    return urls.key_id(urls.instance_actor(ctx.settings)), private_pem
