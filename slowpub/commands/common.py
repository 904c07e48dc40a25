"""What every command shares: the one-line error, output, and opening the database.

A database that cannot be opened, is not up to date or (for the commands
that must write: ``serve``, ``worker``, ``init``) is read-only is one
``CommandError`` line, never a driver traceback.

Kept apart from ``slowpub.cli`` so the command modules can use it without
importing the entry point (which imports them).
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Coroutine
from typing import Any, TypeVar
from urllib.parse import urlsplit

from sqlalchemy import select

from slowpub.config import Settings
from slowpub.context import Context, build_context
from slowpub.storage.engine import Database, sqlite_file, sqlite_threads_stopped
from slowpub.storage.failures import failure_line
from slowpub.storage.migrate import pending_revisions
from slowpub.storage.models import Actor

T = TypeVar("T")


class CommandError(Exception):
    """A failure to report on one line."""


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` for commands: the loop outlives the database's threads.

    Otherwise a connection that failed to open can add a thread's traceback
    to the command's one-line error (see ``sqlite_threads_stopped``).
    """

    async def then_settle() -> T:
        try:
            return await main
        finally:
            await sqlite_threads_stopped()

    return asyncio.run(then_settle())


def emit(args: argparse.Namespace, data: Any, text: str) -> None:
    """Print ``data`` as JSON under ``--json``, else ``text`` (if any)."""
    if getattr(args, "json", False):
        print(json.dumps(data, indent=2, default=str))
    elif text:
        print(text)


async def open_context(settings: Settings) -> Context:
    """A context on an initialised, up-to-date database, or a ``CommandError``."""
    path = sqlite_file(settings.database_url)
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
        raise CommandError(failure_line(settings.database_url, exc, "cannot open")) from exc
    try:
        await _check_base_url(ctx)
    except CommandError:
        await ctx.close()
        raise
    return ctx


async def require_writable(db: Database, url: str) -> None:
    """A ``CommandError`` unless the database takes writes (see ``Database.check_writable``)."""
    try:
        await db.check_writable()
    except Exception as exc:
        raise CommandError(failure_line(url, exc, "cannot write to")) from exc


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
