"""tombstones by deleting actor

A remote tombstone now records who deleted the id, and only stops that
actor's own object: another account on the same host could bury any post by
deleting its id first. Existing tombstones cannot be attributed and are
dropped (they only mattered for deletes racing ahead of their post).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_table("remote_tombstones")
    op.create_table(
        "remote_tombstones",
        sa.Column("uri", sa.String(length=2048), nullable=False),
        sa.Column("actor_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("deleted_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["actors.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("uri", "actor_id"),
    )


def downgrade() -> None:
    op.rename_table("remote_tombstones", "remote_tombstones_by_actor")
    op.create_table(
        "remote_tombstones",
        sa.Column("uri", sa.String(length=2048), nullable=False),
        sa.Column("deleted_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("uri"),
    )
    op.execute(
        "INSERT INTO remote_tombstones (uri, deleted_at) "
        "SELECT uri, MIN(deleted_at) FROM remote_tombstones_by_actor GROUP BY uri"
    )
    op.drop_table("remote_tombstones_by_actor")
