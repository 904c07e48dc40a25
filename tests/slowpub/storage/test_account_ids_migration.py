"""Migration 0007 on a database that already has accounts and stray client rows."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text

from slowpub.ids import EPOCH
from slowpub.storage.migrate import downgrade, upgrade

CREATED = datetime(2026, 1, 2, 3, 4, 5)


async def test_existing_accounts_get_unguessable_ids_and_stray_apps_go(alpha) -> None:
    engine = alpha.ctx.db.engine
    await downgrade(engine, "0005")
    async with engine.begin() as conn:
        for n in range(1, 31):
            await conn.execute(
                text(
                    "INSERT INTO actors (id, uri, local, actor_type, username, domain, inbox,"
                    " manually_approves_followers, created_at) VALUES (:id, :uri, false,"
                    " 'Person', :name, 'masto.test', :inbox, false, :created)"
                ),
                {
                    "id": n,
                    "uri": f"https://masto.test/users/u{n}",
                    "name": f"u{n}",
                    "inbox": f"https://masto.test/users/u{n}/inbox",
                    "created": CREATED,
                },
            )
        for n, uris in ((1, ""), (2, ""), (3, "https://app.example/cb")):
            await conn.execute(
                text(
                    "INSERT INTO oauth_apps (id, client_id, name, redirect_uris, scopes,"
                    " registration, created_at) VALUES (:id, :client, 'x', :uris, 'read',"
                    " 'metadata', :created)"
                ),
                {"id": n, "client": f"https://app{n}.example/c", "uris": uris, "created": CREATED},
            )
        # An unverified client someone did authorize keeps working.
        await conn.execute(
            text(
                "INSERT INTO oauth_tokens (id, token_hash, app_id, scopes, created_at)"
                " VALUES (1, 'h', 2, 'read', :created)"
            ),
            {"created": CREATED},
        )
    await upgrade(engine)
    async with engine.connect() as conn:
        ids = [row[0] for row in await conn.execute(text("SELECT public_id FROM actors"))]
        apps = [row[0] for row in await conn.execute(text("SELECT id FROM oauth_apps"))]
    assert len(ids) == len(set(ids)) == 30
    millis = int((CREATED.replace(tzinfo=EPOCH.tzinfo) - EPOCH).total_seconds() * 1000)
    assert {value >> 22 for value in ids} == {millis}
    assert sorted(ids) != list(range(min(ids), min(ids) + 30))
    assert sorted(apps) == [2, 3]
