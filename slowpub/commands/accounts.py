"""Commands that set up the database and manage local accounts.

``init``, ``user create/list/show/set``, the account's web sessions
(``user sessions``, ``user end-sessions``), and the first account that
``quickstart`` makes (and remembers the password of).
"""

from __future__ import annotations

import argparse
import secrets
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from slowpub import urls
from slowpub.auth import web_sessions
from slowpub.commands.common import CommandError, emit, open_context, require_writable
from slowpub.config import Settings
from slowpub.context import Context, build_context
from slowpub.social.accounts import check_password, create_user, list_users, require_user
from slowpub.social.instance_actor import ensure_instance_key
from slowpub.social.profile import change_settings
from slowpub.social.settings import describe_user
from slowpub.storage.engine import create_database
from slowpub.storage.failures import failure_line
from slowpub.storage.migrate import upgrade


async def init_database(settings: Settings) -> None:
    """Create the data dir, apply the migrations, make the instance key.

    A migration that fails, or a database that cannot be written (which
    would only fail later, under ``serve``), is one ``CommandError`` line.
    """
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CommandError(f"cannot create the data dir {settings.data_dir}: {exc}") from exc
    db = create_database(settings.database_url)
    try:
        try:
            await upgrade(db.engine)
        except Exception as exc:
            raise CommandError(failure_line(settings.database_url, exc, "cannot migrate")) from exc
        await require_writable(db, settings.database_url)
    finally:
        await db.dispose()
    ctx = build_context(settings)
    try:
        await ensure_instance_key(ctx)
    finally:
        await ctx.close()


async def cmd_init(args: argparse.Namespace, settings: Settings) -> None:
    await init_database(settings)
    emit(
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
    emit(args, data, f"{data['handle']} {data['actor']}")


async def cmd_user_list(args: argparse.Namespace, ctx: Context) -> None:
    async with ctx.db.sessions() as session:
        users = await list_users(session)
    data = [_user_json(ctx, u) for u in users]
    emit(args, data, "\n".join(f"{d['handle']} {d['actor']}" for d in data))


async def cmd_user_show(args: argparse.Namespace, ctx: Context) -> None:
    async with ctx.db.sessions() as session:
        user = await require_user(session, args.name)
    data = {**_user_json(ctx, user), **describe_user(user)}
    emit(args, data, "\n".join(f"{k}: {v}" for k, v in data.items()))


async def cmd_user_set(args: argparse.Namespace, ctx: Context) -> None:
    value = args.value
    if args.key == "password":
        value = _read_password(argparse.Namespace(password_stdin=True)) if value == "-" else value
    # A profile change also queues an Update of the actor for followers.
    user, _ = await change_settings(ctx, args.name, {args.key: value})
    data = describe_user(user)
    text = f"{args.name}: {args.key} set"
    if args.key == "password":
        # The sessions are already dead (they hold the old password's
        # fingerprint); this only removes their rows.
        await web_sessions.end_all(ctx, user.id)
        text += "; every web session of the account is ended"
    emit(args, data, text)


async def cmd_user_sessions(args: argparse.Namespace, ctx: Context) -> None:
    async with ctx.db.sessions() as session:
        user = await require_user(session, args.name)
    live = await web_sessions.list_live(ctx, user)
    data = [
        {
            "created_at": _utc(info.created_at),
            "last_seen_at": _utc(info.last_seen_at),
            "user_agent": info.user_agent,
        }
        for info in live
    ]
    lines = [
        f"since {d['created_at']} last seen {d['last_seen_at']} {d['user_agent'] or '-'}"
        for d in data
    ]
    emit(args, data, "\n".join(lines) or f"{args.name} has no web session")


async def cmd_user_end_sessions(args: argparse.Namespace, ctx: Context) -> None:
    async with ctx.db.sessions() as session:
        user = await require_user(session, args.name)
    ended = await web_sessions.end_all(ctx, user.id)
    emit(args, {"ended": ended}, f"{args.name}: {ended} web session(s) ended")


def _utc(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


async def prepare_quickstart(settings: Settings, username: str) -> str:
    """Initialise, make ``username`` if missing; return the password to show."""
    secret_file = settings.data_dir / "quickstart-password"
    await init_database(settings)
    ctx = await open_context(settings)
    try:
        async with ctx.db.sessions() as session:
            existing = {u.username: u for u in await list_users(session)}
        user = existing.get(username)
        if user is None:
            password = secrets.token_urlsafe(12)
            await create_user(ctx, username, password=password, display_name=username.title())
            _write_private(secret_file, password)
            return password
        saved = secret_file.read_text().strip() if secret_file.exists() else ""
        if saved and check_password(user, saved):
            return saved
        return "(changed since the first run; set one with: slowpub user set NAME password -)"
    finally:
        await ctx.close()


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.write_text(text + "\n")
