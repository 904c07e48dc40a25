"""The ``slowpub`` command line.

Its commands and flags are a contract (the README and operators' scripts use
them): every listing or creating command takes ``--json`` and prints one JSON
document; every failure prints one line to stderr and exits non-zero.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import secrets
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

from sqlalchemy import select

from slowpub import __version__, bundle_view, urls
from slowpub.accounts import AccountError, check_password, create_user, list_users, require_user
from slowpub.bundles import seal_now
from slowpub.config import ConfigError, Settings, load_settings
from slowpub.context import Context, build_context
from slowpub.db import create_database
from slowpub.deliveries import deliver_due
from slowpub.follows import FollowError, decide_request, follow, list_follows, unfollow
from slowpub.instance_actor import ensure_instance_key
from slowpub.mail import bundle_title, render_html
from slowpub.migrate import pending_revisions, upgrade
from slowpub.models import Actor, Bundle
from slowpub.posting import (
    VISIBILITIES,
    Draft,
    PostingError,
    cancel_item,
    create_post,
    delete_item,
    edit_item,
    react,
    release_now,
)
from slowpub.queue_views import first_line, iso, item_view, list_deliveries, list_queue
from slowpub.remote_actors import ActorError
from slowpub.user_settings import SettingError, apply_setting, describe_user

EXIT_BAD_INPUT = 1


class CommandError(Exception):
    """A failure to report on one line."""


def _emit(args: argparse.Namespace, data: Any, text: str) -> None:
    if getattr(args, "json", False):
        print(json.dumps(data, indent=2, default=str))
    elif text:
        print(text)


def _sqlite_path(url: str) -> Path | None:
    prefix = "sqlite+aiosqlite:///"
    return Path(url[len(prefix) :]) if url.startswith(prefix) else None


async def _open(settings: Settings) -> Context:
    path = _sqlite_path(settings.database_url)
    if path is not None and not path.exists():
        # Opening would create an empty file; say what to do instead.
        raise CommandError(f"no database at {path}: run `slowpub init` first")
    ctx = build_context(settings)
    try:
        if await pending_revisions(ctx.db.engine):
            raise CommandError(
                "the database is not initialised or not up to date: run `slowpub init`"
            )
    except CommandError:
        await ctx.close()
        raise
    except Exception as exc:
        await ctx.close()
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CommandError(f"cannot open the database: {first_line}") from exc
    try:
        await _check_base_url(ctx)
    except CommandError:
        await ctx.close()
        raise
    return ctx


async def _check_base_url(ctx: Context) -> None:
    """Ids that have federated can never change: refuse to run under another base URL."""
    async with ctx.db.sessions() as session:
        query = select(Actor.uri).where(Actor.local.is_(True)).limit(1)
        uri = (await session.execute(query)).scalar()
    if uri is not None and not uri.startswith(ctx.settings.base_url + "/"):
        parts = urlsplit(uri)
        origin = f"{parts.scheme}://{parts.netloc}"
        raise CommandError(
            f"the accounts in this database live at {origin}, not {ctx.settings.base_url}; "
            f"set SLOWPUB_BASE_URL={origin} (a base URL cannot change once accounts exist)"
        )


def _serving_settings(settings: Settings, host: str, port: int) -> Settings:
    """Without SLOWPUB_BASE_URL, the address we listen on is the public one."""
    if os.environ.get("SLOWPUB_BASE_URL"):
        return settings
    public = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    netloc = f"[{public}]" if ":" in public else public
    return settings.with_overrides(base_url=f"http://{netloc}:{port}")


async def init_database(settings: Settings) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = create_database(settings.database_url)
    try:
        await upgrade(db.engine)
    finally:
        await db.dispose()
    ctx = build_context(settings)
    try:
        await ensure_instance_key(ctx)
    finally:
        await ctx.close()


# --- commands -----------------------------------------------------------------


async def cmd_init(args: argparse.Namespace, settings: Settings) -> None:
    await init_database(settings)
    _emit(
        args,
        {"database": "ready", "base_url": settings.base_url},
        f"slowpub is ready at {settings.base_url} (data in {settings.data_dir})",
    )


def _read_password(args: argparse.Namespace) -> str | None:
    if not getattr(args, "password_stdin", False):
        return None
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise CommandError("no password on standard input")
    return password


def _user_json(ctx: Context, user: Any) -> dict[str, Any]:
    return {
        "username": user.username,
        "handle": f"@{user.username}@{ctx.settings.host}",
        "actor": urls.actor(ctx.settings, user.username),
        "profile": urls.profile(ctx.settings, user.username),
    }


async def cmd_user_create(args: argparse.Namespace, ctx: Context) -> None:
    password = _read_password(args)
    user = await create_user(
        ctx, args.name, password=password, display_name=args.display_name, email=args.email
    )
    data = _user_json(ctx, user)
    _emit(args, data, f"{data['handle']} {data['actor']}")


async def cmd_user_list(args: argparse.Namespace, ctx: Context) -> None:
    async with ctx.db.sessions() as session:
        users = await list_users(session)
    data = [_user_json(ctx, u) for u in users]
    _emit(args, data, "\n".join(f"{d['handle']} {d['actor']}" for d in data))


async def cmd_user_show(args: argparse.Namespace, ctx: Context) -> None:
    async with ctx.db.sessions() as session:
        user = await require_user(session, args.name)
    data = {**_user_json(ctx, user), **describe_user(user)}
    _emit(args, data, "\n".join(f"{k}: {v}" for k, v in data.items()))


async def cmd_user_set(args: argparse.Namespace, ctx: Context) -> None:
    value = args.value
    if args.key == "password":
        value = _read_password(argparse.Namespace(password_stdin=True)) if value == "-" else value
    async with ctx.db.transaction() as session:
        user = await require_user(session, args.name)
        apply_setting(user, args.key, value)
        data = describe_user(user)
    _emit(args, data, f"{args.name}: {args.key} set")


async def cmd_follow(args: argparse.Namespace, ctx: Context) -> None:
    row = await follow(ctx, args.name, args.account)
    data = {"follow": row.uri, "state": row.state}
    _emit(args, data, f"{row.state}: {args.name} → {args.account}")


async def cmd_unfollow(args: argparse.Namespace, ctx: Context) -> None:
    await unfollow(ctx, args.name, args.account)
    _emit(args, {"unfollowed": args.account}, f"{args.name} no longer follows {args.account}")


async def _list_graph(
    args: argparse.Namespace, ctx: Context, direction: str, state: str | None
) -> None:
    views = await list_follows(ctx, args.name, direction=direction, state=state)
    _emit(
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
    _emit(args, {args.action: args.account}, f"{verb} {args.account}")


def _item_line(data: dict[str, Any]) -> str:
    head = f"{data['id']:>6} {data['state']:9} {data['release_at']} {data['kind']:8}"
    return f"{head} {first_line(data)}"


async def cmd_post(args: argparse.Namespace, ctx: Context) -> None:
    draft = Draft(
        text=args.text, visibility=args.visibility, in_reply_to=args.in_reply_to, cw=args.cw
    )
    item = await create_post(ctx, args.name, draft)
    data = await item_view(ctx, item.id)
    _emit(args, data, f"{data['id']} {data['release_at']}")


async def cmd_react(args: argparse.Namespace, ctx: Context) -> None:
    item = await react(ctx, args.name, "announce" if args.command == "boost" else "like", args.url)
    data = await item_view(ctx, item.id)
    _emit(args, data, f"{data['id']} {data['release_at']}")


async def cmd_queue_list(args: argparse.Namespace, ctx: Context) -> None:
    items = await list_queue(ctx, args.name, all_states=args.all)
    _emit(args, items, "\n".join(_item_line(d) for d in items) or "(nothing cooling)")


async def cmd_queue_show(args: argparse.Namespace, ctx: Context) -> None:
    data = await item_view(ctx, args.id)
    _emit(args, data, "\n".join(f"{k}: {v}" for k, v in data.items() if v is not None))


async def cmd_queue_edit(args: argparse.Namespace, ctx: Context) -> None:
    item = await edit_item(ctx, args.id, args.text, cw=args.cw)
    data = await item_view(ctx, item.id)
    _emit(args, data, f"{data['id']} {data['release_at']}")


async def cmd_queue_cancel(args: argparse.Namespace, ctx: Context) -> None:
    item = await cancel_item(ctx, args.id)
    data = await item_view(ctx, item.id)
    _emit(args, data, f"{data['id']} cancelled")


async def cmd_queue_release(args: argparse.Namespace, ctx: Context) -> None:
    item = await release_now(ctx, args.id)
    data = await item_view(ctx, item.id)
    _emit(args, data, f"{data['id']} {data['state']} {data['released_at']}")


async def cmd_delete(args: argparse.Namespace, ctx: Context) -> None:
    item = await delete_item(ctx, args.id)
    data = await item_view(ctx, item.id)
    _emit(args, data, f"{data['id']} {data.get('post_state') or data['state']}")


async def cmd_deliveries(args: argparse.Namespace, ctx: Context) -> None:
    rows = await list_deliveries(ctx, args.name, failed_only=args.failed)
    _emit(
        args,
        rows,
        "\n".join(
            f"{r['state']:8} {r['type']:8} {r['inbox']} attempts={r['attempts']}"
            + (f" error={r['last_error']}" if r["last_error"] else "")
            for r in rows
        )
        or "(no deliveries)",
    )


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
        _emit(args, {"sealed": None}, "nothing to seal: no bundle made")
        return
    _emit(args, {"sealed": bundle.id, "date": bundle.local_date}, f"sealed bundle {bundle.id}")


async def cmd_bundle_list(args: argparse.Namespace, ctx: Context) -> None:
    async with ctx.db.sessions() as session:
        user = await require_user(session, args.name)
        query = select(Bundle).where(Bundle.user_id == user.id).order_by(Bundle.sealed_at.desc())
        bundles = list((await session.execute(query)).scalars())
    data = [
        {"id": b.id, "date": b.local_date, "sealed_at": iso(b.sealed_at), "mail": b.mail_state}
        for b in bundles
    ]
    _emit(
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
    _emit(args, {"feed": url}, url)


# --- long-running commands -------------------------------------------------------


def _uvicorn_config(
    app: Any, settings: Settings, host: str, port: int, access_log: bool = False
) -> Any:
    import uvicorn

    proxies = [str(n) for n in settings.trusted_proxies]
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies or None,
        server_header=False,
        log_level="info",
        # A line per request costs a few percent of a busy inbox's CPU, and
        # the reverse proxy logs requests anyway; --access-log turns it on.
        access_log=access_log,
    )


def serve(
    settings: Settings,
    host: str,
    port: int,
    banner: Callable[[], None] | None = None,
    access_log: bool = False,
) -> None:
    import uvicorn

    from slowpub.web.app import create_app

    asyncio.run(_check_ready(settings))
    ctx = build_context(settings)
    app = create_app(ctx, workers=True, owns_context=True)
    if banner is not None:
        banner()
    # Start-up objects live for the whole process: keep them out of the
    # garbage collector's full passes (measurable pauses during a fan-out).
    gc.freeze()
    uvicorn.Server(_uvicorn_config(app, settings, host, port, access_log)).run()


async def _check_ready(settings: Settings) -> None:
    ctx = await _open(settings)
    await ctx.close()


def cmd_serve(args: argparse.Namespace, settings: Settings) -> None:
    serve(
        _serving_settings(settings, args.host, args.port),
        args.host,
        args.port,
        access_log=args.access_log,
    )


def cmd_worker(args: argparse.Namespace, settings: Settings) -> None:
    from slowpub.workers import run_workers

    async def main() -> None:
        ctx = await _open(settings)
        gc.freeze()  # see serve()
        task = asyncio.create_task(run_workers(ctx))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, task.cancel)
        logging.getLogger("slowpub").info("worker started (pid %s)", __import__("os").getpid())
        try:
            await task
        except asyncio.CancelledError:
            pass
        finally:
            await ctx.close()

    asyncio.run(main())


QUICKSTART_USER = "alice"


def cmd_quickstart(args: argparse.Namespace, settings: Settings) -> None:
    """Everything a first run needs: data dir, database, one account; then serve."""
    settings = _serving_settings(settings, args.host, args.port)
    secret_file = settings.data_dir / "quickstart-password"

    async def prepare() -> str:
        await init_database(settings)
        ctx = await _open(settings)
        try:
            async with ctx.db.sessions() as session:
                existing = {u.username: u for u in await list_users(session)}
            user = existing.get(args.user)
            if user is None:
                password = secrets.token_urlsafe(12)
                await create_user(ctx, args.user, password=password, display_name=args.user.title())
                _write_private(secret_file, password)
                return password
            saved = secret_file.read_text().strip() if secret_file.exists() else ""
            if saved and check_password(user, saved):
                return saved
            return "(changed since the first run; set one with: slowpub user set NAME password -)"
        finally:
            await ctx.close()

    password = asyncio.run(prepare())

    def banner() -> None:
        print(
            "\nslowpub is running.\n"
            f"  address:  {settings.base_url}\n"
            f"  handle:   @{args.user}@{settings.host}\n"
            f"  password: {password}\n"
            f"  data:     {settings.data_dir}\n",
            flush=True,
        )

    serve(settings, args.host, args.port, banner)


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.write_text(text + "\n")


# --- parser ------------------------------------------------------------------------


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
    p = usub.add_parser("create", help="create an account")
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
    p = qadd("cancel", cmd_queue_cancel, "withdraw a cooling item; it never federates")
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
    try:
        settings = load_settings(create_secret=args.func in (cmd_init, cmd_quickstart))
        if args.func in SYNC_COMMANDS:
            args.func(args, settings)
        elif args.func in NO_CONTEXT:
            asyncio.run(args.func(args, settings))
        else:
            asyncio.run(_with_context(args.func, args, settings))
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
    except KeyboardInterrupt:
        return 130
    return 0


async def _with_context(
    func: Callable[[argparse.Namespace, Context], Awaitable[None]],
    args: argparse.Namespace,
    settings: Settings,
) -> None:
    ctx = await _open(settings)
    try:
        await func(args, ctx)
        # What the command queued (a Follow, say) is sent now if it can be;
        # anything that fails is retried by the server's workers.
        await deliver_due(ctx)
    finally:
        await ctx.close()


if __name__ == "__main__":
    sys.exit(main())
