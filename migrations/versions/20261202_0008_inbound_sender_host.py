"""inbound sender host and size

Each stored inbound activity records the host that sent it and the size of
its body: the inbox counts a host's pending backlog (activities and bytes)
for its quota without reading bodies, and the workers claim pending work
round-robin over hosts through the new index. Existing rows are backfilled
from their actor's URL and their body's length.

Revision ID: 0008
Revises: 0009
Create Date: 2026-12-02 23:00:00.000000
"""

from collections.abc import Sequence
from urllib.parse import urlsplit

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DEFAULT_PORTS = {"http": 80, "https": 443}


def _host(url: str) -> str:
    """What ``federation.vocab.host_of`` gives, frozen here (migrations outlive code)."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        return ""
    if ":" in host:
        host = f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS.get(parts.scheme.lower()):
        return f"{host}:{port}"
    return host[:255]


def upgrade() -> None:
    with op.batch_alter_table("inbound_activities", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("sender_host", sa.String(length=255), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("body_bytes", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.create_index(
            "ix_inbound_pending_host",
            ["state", "sender_host", "next_attempt_at", "id"],
            unique=False,
        )
    bind = op.get_bind()
    table = sa.table(
        "inbound_activities",
        sa.column("actor_uri", sa.String()),
        sa.column("sender_host", sa.String()),
        sa.column("body", sa.Text()),
        sa.column("body_bytes", sa.Integer()),
    )
    actors = bind.execute(sa.select(table.c.actor_uri).distinct()).scalars().all()
    if actors:
        bind.execute(
            table.update()
            .where(table.c.actor_uri == sa.bindparam("actor"))
            .values(sender_host=sa.bindparam("host")),
            [{"actor": actor, "host": _host(actor)} for actor in actors],
        )
    # Characters, not bytes, for old rows: close enough for a quota.
    bind.execute(table.update().values(body_bytes=sa.func.length(table.c.body)))


def downgrade() -> None:
    with op.batch_alter_table("inbound_activities", schema=None) as batch_op:
        batch_op.drop_index("ix_inbound_pending_host")
        batch_op.drop_column("body_bytes")
        batch_op.drop_column("sender_host")
