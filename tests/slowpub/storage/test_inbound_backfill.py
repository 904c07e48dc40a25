"""Upgrading a database with inbound rows records each row's sender host and size."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from slowpub.storage.migrate import downgrade, upgrade


async def test_existing_rows_get_their_host_and_size(alpha) -> None:
    engine = alpha.ctx.db.engine
    await downgrade(engine, "0005")
    now = datetime.now(UTC).replace(tzinfo=None)
    rows = [
        ("https://masto.test/a/1", "https://Masto.Test/users/mary", "{}"),
        ("https://masto.test/a/2", "https://masto.test/users/mary", '{"x": 1}'),
        ("https://other.test:8443/a/1", "https://other.test:8443/users/o", "{}"),
        ("urn:x", "https://[broken/users/x", "{}"),
    ]
    async with engine.begin() as conn:
        for uri, actor, body in rows:
            await conn.execute(
                text(
                    "INSERT INTO inbound_activities (uri, actor_uri, activity_type, body,"
                    " received_at, state, attempts, next_attempt_at)"
                    " VALUES (:uri, :actor, 'Like', :body, :now, 'pending', 0, :now)"
                ),
                {"uri": uri, "actor": actor, "body": body, "now": now},
            )
    await upgrade(engine)
    async with engine.connect() as conn:
        found = (
            await conn.execute(
                text("SELECT uri, sender_host, body_bytes FROM inbound_activities ORDER BY id")
            )
        ).all()
    assert [tuple(r) for r in found] == [
        ("https://masto.test/a/1", "masto.test", 2),
        ("https://masto.test/a/2", "masto.test", 8),
        ("https://other.test:8443/a/1", "other.test:8443", 2),
        ("urn:x", "", 2),
    ]
