"""The ``slowpub`` command line.

Its commands and flags are a contract (the README and operators' scripts use
them): every listing or creating command takes ``--json`` and prints one JSON
document; every failure prints one line to stderr and exits non-zero.

This module is the entry point: the parser, how each kind of command is run,
and which errors become one line on stderr. The commands themselves live in
``slowpub.commands``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn

from sqlalchemy.exc import DBAPIError

from slowpub import __version__
from slowpub.commands.accounts import (
    cmd_init,
    cmd_user_create,
    cmd_user_end_sessions,
    cmd_user_list,
    cmd_user_sessions,
    cmd_user_set,
    cmd_user_show,
)
from slowpub.commands.bundles import (
    cmd_bundle_feed,
    cmd_bundle_list,
    cmd_bundle_seal,
    cmd_bundle_show,
)
from slowpub.commands.common import CommandError, open_context, run
from slowpub.commands.graph import (
    cmd_follow,
    cmd_followers,
    cmd_following,
    cmd_requests,
    cmd_unfollow,
)
from slowpub.commands.queue import (
    cmd_delete,
    cmd_deliveries,
    cmd_post,
    cmd_queue_cancel,
    cmd_queue_edit,
    cmd_queue_list,
    cmd_queue_release,
    cmd_queue_show,
    cmd_react,
)
from slowpub.commands.server import (
    QUICKSTART_USER,
    check_ready,
    cmd_quickstart,
    cmd_serve,
    cmd_worker,
    serving_settings,
    uvicorn_config,
)
from slowpub.config import ConfigError, Settings, load_settings
from slowpub.context import Context
from slowpub.delivery.sending import deliver_due
from slowpub.inbound.remote_actors import ActorError
from slowpub.outbound.posting import VISIBILITIES, PostingError
from slowpub.social.accounts import AccountError
from slowpub.social.follows import FollowError
from slowpub.social.settings import SettingError
from slowpub.storage.failures import failure_line, is_read_only

EXIT_BAD_INPUT = 1

# The names these had when they lived here (tests/bench builds servers from them).
_check_ready = check_ready
_serving_settings = serving_settings
_uvicorn_config = uvicorn_config


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (and exit status 2), like every other error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"slowpub: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="slowpub", description="A slow ActivityPub server.")
    parser.add_argument("--version", action="version", version=f"slowpub {__version__}")
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_Parser
    )

    def add(
        name: str, func: Any, help_text: str, *, json_flag: bool = True, **kw: Any
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, **kw)
        p.set_defaults(func=func)
        if json_flag:
            p.add_argument("--json", action="store_true", help="print one JSON document")
        return p

    add("init", cmd_init, "create the data dir and database, apply migrations")

    user = sub.add_parser("user", help="manage local accounts")
    usub = user.add_subparsers(
        dest="user_command", required=True, metavar="ACTION", parser_class=_Parser
    )
    p: argparse.ArgumentParser = usub.add_parser("create", help="create an account")
    p.set_defaults(func=cmd_user_create)
    p.add_argument("name")
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    p.add_argument("--display-name")
    p.add_argument("--email")
    p.add_argument("--json", action="store_true")
    p = usub.add_parser("list", help="list accounts")
    p.set_defaults(func=cmd_user_list)
    p.add_argument("--json", action="store_true")
    p = usub.add_parser("show", help="show an account and its settings")
    p.set_defaults(func=cmd_user_show)
    p.add_argument("name")
    p.add_argument("--json", action="store_true")
    p = usub.add_parser("set", help="change a setting (see `slowpub user show NAME`)")
    p.set_defaults(func=cmd_user_set)
    p.add_argument("name")
    p.add_argument("key")
    p.add_argument("value", help="the new value; for password, - reads it from stdin")
    p.add_argument("--json", action="store_true")
    p = usub.add_parser("sessions", help="the account's logged-in browsers")
    p.set_defaults(func=cmd_user_sessions)
    p.add_argument("name")
    p.add_argument("--json", action="store_true")
    p = usub.add_parser("end-sessions", help="log the account out of every browser")
    p.set_defaults(func=cmd_user_end_sessions)
    p.add_argument("name")
    p.add_argument("--json", action="store_true")

    p = add("follow", cmd_follow, "NAME follows ACCOUNT (user@host or actor URL)")
    p.add_argument("name")
    p.add_argument("account")
    p = add("unfollow", cmd_unfollow, "NAME stops following ACCOUNT")
    p.add_argument("name")
    p.add_argument("account")
    p = add("following", cmd_following, "whom NAME follows, with state")
    p.add_argument("name")
    p = add("followers", cmd_followers, "who follows NAME, with state")
    p.add_argument("name")
    p.add_argument("--pending", action="store_true", help="only follow requests awaiting approval")
    p = add("requests", cmd_requests, "list, accept or reject follow requests")
    p.add_argument("name")
    p.add_argument("action", nargs="?", choices=["accept", "reject"])
    p.add_argument("account", nargs="?")

    p = add("post", cmd_post, "queue a post; prints its id and release time (UTC)")
    p.add_argument("name")
    p.add_argument("text")
    p.add_argument("--visibility", default="public", choices=list(VISIBILITIES))
    p.add_argument("--in-reply-to", metavar="URL")
    p.add_argument("--cw", metavar="TEXT", help="content warning (summary)")
    for verb in ("boost", "like"):
        p = add(verb, cmd_react, f"queue a {verb} of the post at URL")
        p.add_argument("name")
        p.add_argument("url")
    p = add("delete", cmd_delete, "delete a released post (or undo a boost or like) at once")
    p.add_argument("id", type=int)
    p = add("deliveries", cmd_deliveries, "what NAME's activities did at each inbox")
    p.add_argument("name")
    p.add_argument("--failed", action="store_true", help="only failed or failing deliveries")

    queue = sub.add_parser("queue", help="the cooling-off queue")
    qsub = queue.add_subparsers(
        dest="queue_command", required=True, metavar="ACTION", parser_class=_Parser
    )

    def qadd(name: str, func: Any, help_text: str) -> argparse.ArgumentParser:
        p = qsub.add_parser(name, help=help_text)
        p.set_defaults(func=func)
        p.add_argument("--json", action="store_true")
        return p

    p = qadd("list", cmd_queue_list, "what NAME has cooling (--all: also released/cancelled)")
    p.add_argument("name")
    p.add_argument("--all", action="store_true")
    p = qadd("show", cmd_queue_show, "one queued item")
    p.add_argument("id", type=int)
    p = qadd("edit", cmd_queue_edit, "change the text (restarts the cooling-off by default)")
    p.add_argument("id", type=int)
    p.add_argument("text")
    p.add_argument("--cw", metavar="TEXT")
    p = qadd("cancel", cmd_queue_cancel, "withdraw a cooling item and its cooling replies")
    p.add_argument("id", type=int)
    p = qadd("release", cmd_queue_release, "send a cooling item now")
    p.add_argument("id", type=int)

    bundle = sub.add_parser("bundle", help="the daily bundle")
    bsub = bundle.add_subparsers(
        dest="bundle_command", required=True, metavar="ACTION", parser_class=_Parser
    )

    def badd(name: str, func: Any, help_text: str) -> argparse.ArgumentParser:
        p = bsub.add_parser(name, help=help_text)
        p.set_defaults(func=func)
        p.add_argument("--json", action="store_true")
        p.add_argument("name")
        return p

    badd("seal", cmd_bundle_seal, "seal what has come in into a bundle now")
    badd("list", cmd_bundle_list, "NAME's bundles, newest first")
    p = badd("show", cmd_bundle_show, "one bundle (default: the newest)")
    p.add_argument("id", nargs="?", type=int)
    p.add_argument("--format", choices=["text", "html", "json"], default="text")
    p = badd("feed", cmd_bundle_feed, "the secret Atom feed URL of NAME's bundles")
    p.add_argument("--regenerate", action="store_true", help="make a new URL; the old one stops")

    p = add("serve", cmd_serve, "run the web app and the workers", json_flag=False)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--access-log", action="store_true", help="log every request")
    add("worker", cmd_worker, "run the background workers only", json_flag=False)
    p = add(
        "quickstart",
        cmd_quickstart,
        "init, create a first account, print its login, serve",
        json_flag=False,
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--user", default=QUICKSTART_USER)
    return parser


SYNC_COMMANDS = {cmd_serve, cmd_worker, cmd_quickstart}
NO_CONTEXT = {cmd_init}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Long-running commands log what they do; one-shot commands print only
    # their answer (and one line on failure).
    level = logging.INFO if args.func in SYNC_COMMANDS else logging.WARNING
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    database_url = ""
    try:
        settings = load_settings(create_secret=args.func in (cmd_init, cmd_quickstart))
        database_url = settings.database_url
        if args.func in SYNC_COMMANDS:
            args.func(args, settings)
        elif args.func in NO_CONTEXT:
            run(args.func(args, settings))
        else:
            run(_with_context(args.func, args, settings))
    except (
        CommandError,
        ConfigError,
        AccountError,
        FollowError,
        ActorError,
        SettingError,
        PostingError,
        LookupError,
    ) as exc:
        print(f"slowpub: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except DBAPIError as exc:  # a read-only or broken database under a command's write
        print(f"slowpub: {failure_line(database_url, exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130
    return 0


async def _with_context(
    func: Callable[[argparse.Namespace, Context], Awaitable[None]],
    args: argparse.Namespace,
    settings: Settings,
) -> None:
    ctx = await open_context(settings)
    try:
        await func(args, ctx)
        # What the command queued (a Follow, say) is sent now if it can be;
        # anything that fails is retried by the server's workers. A read-only
        # database queued nothing, and reading it is no failure.
        try:
            await deliver_due(ctx)
        except DBAPIError as exc:
            if not is_read_only(exc):
                raise
    finally:
        await ctx.close()


if __name__ == "__main__":
    sys.exit(main())
