"""What every command shares: the one-line error, output, and opening the database.

Kept apart from ``slowpub.cli`` so the command modules can use it without
importing the entry point (which imports them).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select

from slowpub.config import Settings
from slowpub.context import Context, build_context
from slowpub.storage.migrate import pending_revisions
from slowpub.storage.models import Actor


class CommandError(Exception):
    """A failure to report on one line."""


def emit(args: argparse.Namespace, data: Any, text: str) -> None:
    """Print ``data`` as JSON under ``--json``, else ``text`` (if any)."""
    if getattr(args, "json", False):
        print(json.dumps(data, indent=2, default=str))
    elif text:
        print(text)


def _sqlite_path(url: str) -> Path | None:
    prefix = "sqlite+aiosqlite:///"
    return Path(url[len(prefix) :]) if url.startswith(prefix) else None


async def open_context(settings: Settings) -> Context:
    """A context on an initialised, up-to-date database, or a ``CommandError``."""
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
