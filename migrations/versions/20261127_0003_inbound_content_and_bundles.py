"""inbound content and bundles

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 04:48:56.972791
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "remote_tombstones",
        sa.Column("uri", sa.String(length=2048), nullable=False),
        sa.Column("deleted_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("uri"),
    )
    op.create_table(
        "remote_posts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("uri", sa.String(length=2048), nullable=False),
        sa.Column(
            "author_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("object_type", sa.String(length=32), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=True),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("content_html", sa.Text(), nullable=False),
        sa.Column("in_reply_to", sa.String(length=2048), nullable=True),
        sa.Column("thread", sa.String(length=2048), nullable=True),
        sa.Column("visibility", sa.String(length=16), nullable=False),
        sa.Column("sensitive", sa.Boolean(), nullable=False),
        sa.Column("extra_json", sa.Text(), nullable=False),
        sa.Column("published_at", sa.DateTime(), nullable=True),
        sa.Column("edited_at", sa.DateTime(), nullable=True),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["actors.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uri"),
    )
    with op.batch_alter_table("remote_posts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_remote_posts_author_id"), ["author_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_remote_posts_in_reply_to"), ["in_reply_to"], unique=False
        )

    op.create_table(
        "bundles",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("sealed_at", sa.DateTime(), nullable=False),
        sa.Column("local_date", sa.String(length=10), nullable=False),
        sa.Column("mail_state", sa.String(length=16), nullable=False),
        sa.Column("mail_attempts", sa.Integer(), nullable=False),
        sa.Column("mail_next_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("mail_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("bundles", schema=None) as batch_op:
        batch_op.create_index(
            "ix_bundles_mail", ["mail_state", "mail_next_attempt_at"], unique=False
        )
        batch_op.create_index("ix_bundles_user_sealed", ["user_id", "sealed_at"], unique=False)

    op.create_table(
        "inbound_items",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "remote_post_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "local_post_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("activity_uri", sa.String(length=2048), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("bundle_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.ForeignKeyConstraint(["actor_id"], ["actors.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["bundle_id"], ["bundles.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["local_post_id"], ["posts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["remote_post_id"], ["remote_posts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "kind", "activity_uri", name="uq_items_user_kind_activity"),
    )
    with op.batch_alter_table("inbound_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_inbound_items_activity_uri"), ["activity_uri"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_inbound_items_remote_post_id"), ["remote_post_id"], unique=False
        )
        batch_op.create_index("ix_items_user_bundle", ["user_id", "bundle_id"], unique=False)

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("bundle_time", sa.String(length=5), server_default="07:00", nullable=False)
        )
        batch_op.add_column(sa.Column("next_seal_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("feed_token", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_users_next_seal_at"), ["next_seal_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_users_feed_token"), ["feed_token"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_users_feed_token"))
        batch_op.drop_index(batch_op.f("ix_users_next_seal_at"))
        batch_op.drop_column("feed_token")
        batch_op.drop_column("next_seal_at")
        batch_op.drop_column("bundle_time")

    with op.batch_alter_table("inbound_items", schema=None) as batch_op:
        batch_op.drop_index("ix_items_user_bundle")
        batch_op.drop_index(batch_op.f("ix_inbound_items_remote_post_id"))
        batch_op.drop_index(batch_op.f("ix_inbound_items_activity_uri"))

    op.drop_table("inbound_items")
    with op.batch_alter_table("bundles", schema=None) as batch_op:
        batch_op.drop_index("ix_bundles_user_sealed")
        batch_op.drop_index("ix_bundles_mail")

    op.drop_table("bundles")
    with op.batch_alter_table("remote_posts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_remote_posts_in_reply_to"))
        batch_op.drop_index(batch_op.f("ix_remote_posts_author_id"))

    op.drop_table("remote_posts")
    op.drop_table("remote_tombstones")
