"""Blocking an account: the relationship ends both ways and the Block goes out at once.

Blocks are not yet remembered (a blocked account could follow again later);
see the README's list of what is missing.
"""

from __future__ import annotations

from slowpub.context import Context
from slowpub.delivery.sending import add_delivery
from slowpub.inbound.remote_actors import resolve_account
from slowpub.outbound import activities
from slowpub.social.accounts import require_user
from slowpub.social.follows import remove_pair


async def block(ctx: Context, username: str, account: str) -> None:
    target = await resolve_account(ctx, account)
    async with ctx.db.transaction() as session:
        user = await require_user(session, username)
        await remove_pair(session, user.actor_id, target.id)
        await remove_pair(session, target.id, user.actor_id)
        if not target.local:
            activity = {
                "@context": "https://www.w3.org/ns/activitystreams",
                "id": activities.new_id(user.actor.uri, "blocks"),
                "type": "Block",
                "actor": user.actor.uri,
                "object": target.uri,
            }
            add_delivery(
                session, user=user, activity=activity, inbox=target.inbox, now=ctx.clock.now()
            )
    ctx.wakeups.deliveries.set()
