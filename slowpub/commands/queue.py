"""Commands on what a local account sends: posts, boosts and likes, and their fate.

``post``, ``boost``/``like``, ``queue list/show/edit/cancel/release``,
``delete`` and ``deliveries``.
"""

from __future__ import annotations

import argparse
from typing import Any

from slowpub.commands.common import emit
from slowpub.context import Context
from slowpub.outbound.posting import (
    Draft,
    Withdrawal,
    cancel_item,
    create_post,
    delete_item,
    edit_item,
    react,
    release_now,
)
from slowpub.outbound.queue_views import first_line, item_view, list_deliveries, list_queue


def _item_line(data: dict[str, Any]) -> str:
    head = f"{data['id']:>6} {data['state']:9} {data['release_at']} {data['kind']:8}"
    return f"{head} {first_line(data)}"


async def cmd_post(args: argparse.Namespace, ctx: Context) -> None:
    draft = Draft(
        text=args.text, visibility=args.visibility, in_reply_to=args.in_reply_to, cw=args.cw
    )
    item = await create_post(ctx, args.name, draft)
    data = await item_view(ctx, item.id)
    emit(args, data, f"{data['id']} {data['release_at']}")


async def cmd_react(args: argparse.Namespace, ctx: Context) -> None:
    item = await react(ctx, args.name, "announce" if args.command == "boost" else "like", args.url)
    data = await item_view(ctx, item.id)
    emit(args, data, f"{data['id']} {data['release_at']}")


async def cmd_queue_list(args: argparse.Namespace, ctx: Context) -> None:
    items = await list_queue(ctx, args.name, all_states=args.all)
    emit(args, items, "\n".join(_item_line(d) for d in items) or "(nothing cooling)")


async def cmd_queue_show(args: argparse.Namespace, ctx: Context) -> None:
    data = await item_view(ctx, args.id)
    emit(args, data, "\n".join(f"{k}: {v}" for k, v in data.items() if v is not None))


async def cmd_queue_edit(args: argparse.Namespace, ctx: Context) -> None:
    item = await edit_item(ctx, args.id, args.text, cw=args.cw)
    data = await item_view(ctx, item.id)
    emit(args, data, f"{data['id']} {data['release_at']}")


def _withdrawn(data: dict[str, Any], withdrawal: Withdrawal, line: str) -> str:
    """Name the cooling replies that were cancelled with the post (queue ids)."""
    data["cancelled_replies"] = [{"id": r.queue_id, "uri": r.uri} for r in withdrawal.replies]
    if not withdrawal.replies:
        return line
    ids = ", ".join(str(r.queue_id) for r in withdrawal.replies)
    return f"{line}; its cooling replies were cancelled with it: {ids}"


async def cmd_queue_cancel(args: argparse.Namespace, ctx: Context) -> None:
    withdrawal = await cancel_item(ctx, args.id)
    data = await item_view(ctx, withdrawal.item.id)
    emit(args, data, _withdrawn(data, withdrawal, f"{data['id']} cancelled"))


async def cmd_queue_release(args: argparse.Namespace, ctx: Context) -> None:
    item = await release_now(ctx, args.id)
    data = await item_view(ctx, item.id)
    emit(args, data, f"{data['id']} {data['state']} {data['released_at']}")


async def cmd_delete(args: argparse.Namespace, ctx: Context) -> None:
    withdrawal = await delete_item(ctx, args.id)
    data = await item_view(ctx, withdrawal.item.id)
    line = f"{data['id']} {data.get('post_state') or data['state']}"
    emit(args, data, _withdrawn(data, withdrawal, line))


async def cmd_deliveries(args: argparse.Namespace, ctx: Context) -> None:
    rows = await list_deliveries(ctx, args.name, failed_only=args.failed)
    emit(
        args,
        rows,
        "\n".join(
            f"{r['state']:8} {r['type']:8} {r['inbox']} attempts={r['attempts']}"
            + (f" error={r['last_error']}" if r["last_error"] else "")
            for r in rows
        )
        or "(no deliveries)",
    )
