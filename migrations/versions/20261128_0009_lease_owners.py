"""lease owners

Each worker process registers itself (a random id, its host, pid and a
heartbeat) and the leases it takes on deliveries and inbound activities name
it, so a newly started worker can release at once what a killed one held
instead of waiting out the five-minute lease.

Revision ID: 0009
Revises: 0007
Create Date: 2026-11-28 16:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LEASED = ("deliveries", "inbound_activities")


def upgrade() -> None:
    op.create_table(
        "lease_owners",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    for table in LEASED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("locked_by", sa.String(length=32), nullable=True))


def downgrade() -> None:
    for table in LEASED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("locked_by")
    op.drop_table("lease_owners")
