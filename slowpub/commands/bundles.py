"""Commands on the daily bundle: seal one now, list them, show one, its feed URL.

``bundle seal``, ``bundle list``, ``bundle show`` and ``bundle feed``.
"""

from __future__ import annotations

import argparse
import json
import secrets
from typing import Any

from sqlalchemy import select

from slowpub.bundles import view as bundle_view
from slowpub.bundles.mail import bundle_title, render_html
from slowpub.bundles.sealing import seal_now
from slowpub.commands.common import CommandError, emit
from slowpub.context import Context
from slowpub.outbound.queue_views import iso
from slowpub.social.accounts import require_user
from slowpub.storage.models import Bundle


async def _bundle_for(ctx: Context, name: str, bundle_id: int | None) -> tuple[Any, Any, Any]:
    async with ctx.db.sessions() as session:
        user = await require_user(session, name)
        if bundle_id is None:
            query = (
                select(Bundle).where(Bundle.user_id == user.id).order_by(Bundle.sealed_at.desc())
            )
            bundle = (await session.execute(query.limit(1))).scalar_one_or_none()
            if bundle is None:
                raise CommandError(f"{name} has no bundles yet")
        else:
            bundle = await session.get(Bundle, bundle_id)
            if bundle is None or bundle.user_id != user.id:
                raise CommandError(f"{name} has no bundle {bundle_id}")
        view = await bundle_view.load(session, user, bundle)
    return user, bundle, view


async def cmd_bundle_seal(args: argparse.Namespace, ctx: Context) -> None:
    bundle = await seal_now(ctx, args.name)
    if bundle is None:
        emit(args, {"sealed": None}, "nothing to seal: no bundle made")
        return
    emit(args, {"sealed": bundle.id, "date": bundle.local_date}, f"sealed bundle {bundle.id}")


async def cmd_bundle_list(args: argparse.Namespace, ctx: Context) -> None:
    async with ctx.db.sessions() as session:
        user = await require_user(session, args.name)
        query = select(Bundle).where(Bundle.user_id == user.id).order_by(Bundle.sealed_at.desc())
        bundles = list((await session.execute(query)).scalars())
    data = [
        {"id": b.id, "date": b.local_date, "sealed_at": iso(b.sealed_at), "mail": b.mail_state}
        for b in bundles
    ]
    emit(
        args,
        data,
        "\n".join(f"{d['id']:>6} {d['date']} sealed {d['sealed_at']}" for d in data)
        or "(no bundles yet)",
    )


async def cmd_bundle_show(args: argparse.Namespace, ctx: Context) -> None:
    _, bundle, view = await _bundle_for(ctx, args.name, args.id)
    title = bundle_title(bundle)
    if args.format == "json" or args.json:
        print(json.dumps(bundle_view.as_json(view), indent=2))
    elif args.format == "html":
        print(render_html(view, title, ctx.settings.base_url))
    else:
        print(bundle_view.as_text(view, title), end="")


async def cmd_bundle_feed(args: argparse.Namespace, ctx: Context) -> None:
    async with ctx.db.transaction() as session:
        user = await require_user(session, args.name)
        if user.feed_token is None or args.regenerate:
            user.feed_token = secrets.token_urlsafe(24)
        url = ctx.settings.url(f"/feeds/{user.feed_token}.atom")
    emit(args, {"feed": url}, url)
