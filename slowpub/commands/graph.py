"""Commands on the social graph: who a local account follows and who follows it.

``follow``, ``unfollow``, ``following``, ``followers`` and ``requests``.
"""

from __future__ import annotations

import argparse

from slowpub.commands.common import CommandError, emit
from slowpub.context import Context
from slowpub.social.follows import decide_request, follow, list_follows, unfollow


async def cmd_follow(args: argparse.Namespace, ctx: Context) -> None:
    row = await follow(ctx, args.name, args.account)
    data = {"follow": row.uri, "state": row.state}
    emit(args, data, f"{row.state}: {args.name} → {args.account}")


async def cmd_unfollow(args: argparse.Namespace, ctx: Context) -> None:
    await unfollow(ctx, args.name, args.account)
    emit(args, {"unfollowed": args.account}, f"{args.name} no longer follows {args.account}")


async def _list_graph(
    args: argparse.Namespace, ctx: Context, direction: str, state: str | None
) -> None:
    views = await list_follows(ctx, args.name, direction=direction, state=state)
    emit(
        args,
        [v.as_json() for v in views],
        "\n".join(f"{v.state:9} {v.handle} {v.uri}" for v in views)
        or ("(no follow requests)" if state == "pending" else f"({direction}: none)"),
    )


async def cmd_following(args: argparse.Namespace, ctx: Context) -> None:
    await _list_graph(args, ctx, "following", None)


async def cmd_followers(args: argparse.Namespace, ctx: Context) -> None:
    await _list_graph(args, ctx, "followers", "pending" if args.pending else None)


async def cmd_requests(args: argparse.Namespace, ctx: Context) -> None:
    if args.action is None:
        await _list_graph(args, ctx, "followers", "pending")
        return
    if not args.account:
        raise CommandError(f"`requests NAME {args.action}` needs an ACCOUNT")
    await decide_request(ctx, args.name, args.account, accept=args.action == "accept")
    verb = "accepted" if args.action == "accept" else "rejected"
    emit(args, {args.action: args.account}, f"{verb} {args.account}")
