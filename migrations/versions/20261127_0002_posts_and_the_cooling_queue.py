"""posts and the cooling queue

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 04:34:10.420248
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "hosts",
        sa.Column("domain", sa.String(length=255), nullable=False),
        sa.Column("failure_days", sa.Integer(), nullable=False),
        sa.Column("last_failure_day", sa.String(length=10), nullable=True),
        sa.Column("unavailable_since", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("domain"),
    )
    op.create_table(
        "posts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("uri", sa.String(length=2048), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("content_html", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("visibility", sa.String(length=16), nullable=False),
        sa.Column("in_reply_to", sa.String(length=2048), nullable=True),
        sa.Column("to_json", sa.Text(), nullable=False),
        sa.Column("cc_json", sa.Text(), nullable=False),
        sa.Column("tags_json", sa.Text(), nullable=False),
        sa.Column("extra_recipients_json", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("published_at", sa.DateTime(), nullable=True),
        sa.Column("edited_at", sa.DateTime(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uri"),
    )
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_posts_user_id"), ["user_id"], unique=False)

    op.create_table(
        "queue_items",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("post_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("object_uri", sa.String(length=2048), nullable=True),
        sa.Column("object_actor_uri", sa.String(length=2048), nullable=True),
        sa.Column("payload", sa.Text(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("release_at", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("released_at", sa.DateTime(), nullable=True),
        sa.Column("activity_uri", sa.String(length=2048), nullable=True),
        sa.ForeignKeyConstraint(["post_id"], ["posts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("queue_items", schema=None) as batch_op:
        batch_op.create_index("ix_queue_due", ["state", "release_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_queue_items_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("cooling_off_seconds", sa.Integer(), server_default="3600", nullable=False)
        )
        batch_op.add_column(sa.Column("quiet_hours", sa.String(length=11), nullable=True))
        batch_op.add_column(sa.Column("daily_limit", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("timezone", sa.String(length=64), server_default="UTC", nullable=False)
        )
        batch_op.add_column(
            sa.Column("restart_on_edit", sa.Boolean(), server_default=sa.true(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("restart_on_edit")
        batch_op.drop_column("timezone")
        batch_op.drop_column("daily_limit")
        batch_op.drop_column("quiet_hours")
        batch_op.drop_column("cooling_off_seconds")

    with op.batch_alter_table("queue_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_queue_items_user_id"))
        batch_op.drop_index("ix_queue_due")

    op.drop_table("queue_items")
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_posts_user_id"))

    op.drop_table("posts")
    op.drop_table("hosts")
