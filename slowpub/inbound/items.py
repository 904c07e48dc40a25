"""Filing inbound items for users: inserted once, whoever sends the activity twice."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from slowpub.ids import snowflake
from slowpub.storage.models import InboundItem


async def file_items(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Insert items, skipping any (user, kind, activity) already filed."""
    if not rows:
        return
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(InboundItem).on_conflict_do_nothing(
        index_elements=["user_id", "kind", "activity_uri"]
    )
    await session.execute(statement, list(rows))


def item(
    *,
    user_id: int,
    kind: str,
    actor_id: int,
    activity_uri: str,
    now: datetime,
    remote_post_id: int | None = None,
    local_post_id: int | None = None,
) -> dict[str, Any]:
    return {
        "public_id": snowflake(now),
        "user_id": user_id,
        "kind": kind,
        "actor_id": actor_id,
        "activity_uri": activity_uri,
        "created_at": now,
        "remote_post_id": remote_post_id,
        "local_post_id": local_post_id,
        "bundle_id": None,
    }
