"""unguessable account ids; no unverified client rows

Mastodon API account ids were the actors' row ids, 1, 2, 3...: walking them
listed every actor the server knows, followers included. Accounts get a
``public_id`` instead: the creation time in milliseconds since 2020 in the
high bits and 22 random bits below (as slowpub.ids.unguessable_id makes
them), backfilled here for existing rows.

Client metadata documents are now stored only once fetched and valid;
the rows earlier versions stored for any URL anyone named (no redirect URI,
never used for a token or a code) are removed.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 12:00:00.000000
"""

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)


def _public_id(created: datetime | None, used: set[int]) -> int:
    moment = (created or datetime.now(UTC)).replace(tzinfo=UTC)
    millis = max(int((moment - _EPOCH).total_seconds() * 1000), 0)
    while True:
        value = (millis << 22) | secrets.randbits(22)
        if value not in used:
            used.add(value)
            return value


def upgrade() -> None:
    with op.batch_alter_table("actors", schema=None) as batch_op:
        batch_op.add_column(sa.Column("public_id", sa.BigInteger(), nullable=True))
    actors = sa.table(
        "actors",
        sa.column("id", sa.BigInteger()),
        sa.column("created_at", sa.DateTime()),
        sa.column("public_id", sa.BigInteger()),
    )
    bind = op.get_bind()
    used: set[int] = set()
    rows = bind.execute(sa.select(actors.c.id, actors.c.created_at)).all()
    updates = [{"row_id": row_id, "new_id": _public_id(created, used)} for row_id, created in rows]
    if updates:
        bind.execute(
            actors.update()
            .where(actors.c.id == sa.bindparam("row_id"))
            .values(public_id=sa.bindparam("new_id")),
            updates,
        )
    with op.batch_alter_table("actors", schema=None) as batch_op:
        batch_op.alter_column("public_id", existing_type=sa.BigInteger(), nullable=False)
        batch_op.create_index(batch_op.f("ix_actors_public_id"), ["public_id"], unique=True)

    op.execute(
        "DELETE FROM oauth_apps WHERE registration = 'metadata' AND redirect_uris = '' "
        "AND id NOT IN (SELECT app_id FROM oauth_tokens) "
        "AND id NOT IN (SELECT app_id FROM oauth_codes)"
    )


def downgrade() -> None:
    with op.batch_alter_table("actors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_actors_public_id"))
        batch_op.drop_column("public_id")
