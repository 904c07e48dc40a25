"""The database tables, as SQLAlchemy 2 declarative models.

The schema is only ever changed by an Alembic migration under ``migrations/``;
this module must describe exactly what the migrations create (a test compares
them). Every stored time is UTC (:class:`UTCDateTime`).

Local and remote accounts share the ``actors`` table (as in Mastodon), so a
follow is always actor → actor whoever is where; ``users`` holds what only a
local account has (password, private key, preferences).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import true as sa_true
from sqlalchemy.engine import Dialect, ExecutionContext
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from slowpub.ids import unguessable_id


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, returns aware UTC: identical on SQLite and PostgreSQL."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets BIGINT.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    pass


class InstanceSetting(Base):
    """Instance-wide values kept in the database, such as the instance actor's key."""

    __tablename__ = "instance_settings"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


def _actor_public_id(context: ExecutionContext) -> int:
    created = context.get_current_parameters().get("created_at")
    return unguessable_id(created if isinstance(created, datetime) else datetime.now(UTC))


class Actor(Base):
    """Any ActivityPub actor we know: our own users' and cached remote ones."""

    __tablename__ = "actors"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # The account id client APIs show: creation time, then random bits
    # (slowpub.ids.unguessable_id), so walking ids lists nobody. Set on every
    # insert, ORM or Core, from the row's created_at.
    public_id: Mapped[int] = mapped_column(
        BigInteger, unique=True, index=True, default=_actor_public_id
    )
    uri: Mapped[str] = mapped_column(String(2048), unique=True)
    local: Mapped[bool] = mapped_column(Boolean, default=False)
    actor_type: Mapped[str] = mapped_column(String(32), default="Person")
    username: Mapped[str] = mapped_column(String(255))
    domain: Mapped[str] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(Text, nullable=True)
    summary: Mapped[str | None] = mapped_column(Text, nullable=True)
    url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    inbox: Mapped[str] = mapped_column(String(2048))
    shared_inbox: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    outbox: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    followers_url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    key_id: Mapped[str | None] = mapped_column(String(2048), nullable=True, index=True)
    public_key_pem: Mapped[str | None] = mapped_column(Text, nullable=True)
    manually_approves_followers: Mapped[bool] = mapped_column(Boolean, default=False)
    raw: Mapped[str | None] = mapped_column(Text, nullable=True)
    fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_actors_username_domain", "username", "domain"),)

    @property
    def handle(self) -> str:
        return f"{self.username}@{self.domain}"

    @property
    def delivery_inbox(self) -> str:
        """Where activities for this actor go: the shared inbox when it has one."""
        return self.shared_inbox or self.inbox


class User(Base):
    """A local account: an actor plus what only we know about it."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"), unique=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str | None] = mapped_column(String(320), unique=True, nullable=True)
    password_hash: Mapped[str | None] = mapped_column(Text, nullable=True)
    private_key_pem: Mapped[str] = mapped_column(Text)
    publish_graph: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Posting policy (see slowpub.outbound.policy).
    cooling_off_seconds: Mapped[int] = mapped_column(Integer, default=3600, server_default="3600")
    quiet_hours: Mapped[str | None] = mapped_column(String(11), nullable=True)
    daily_limit: Mapped[int | None] = mapped_column(Integer, nullable=True)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    restart_on_edit: Mapped[bool] = mapped_column(Boolean, default=True, server_default=sa_true())
    # The daily bundle (see slowpub.bundles.sealing).
    bundle_time: Mapped[str] = mapped_column(String(5), default="07:00", server_default="07:00")
    next_seal_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    feed_token: Mapped[str | None] = mapped_column(
        String(64), unique=True, index=True, nullable=True
    )

    actor: Mapped[Actor] = relationship(lazy="joined")


class Follow(Base):
    """One actor following another; ``state`` is ``pending`` until accepted."""

    __tablename__ = "follows"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    follower_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    followed_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    uri: Mapped[str] = mapped_column(String(2048), unique=True)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    follower: Mapped[Actor] = relationship(foreign_keys=[follower_id], lazy="joined")
    followed: Mapped[Actor] = relationship(foreign_keys=[followed_id], lazy="joined")

    __table_args__ = (
        UniqueConstraint("follower_id", "followed_id", name="uq_follows_pair"),
        Index("ix_follows_followed_state", "followed_id", "state"),
    )


class InboundActivity(Base):
    """A verified activity as it arrived, waiting to be (or already) processed.

    Storing it before answering 202 is what makes the inbox durable; the
    unique ``uri`` is what makes redelivery harmless. Processed rows are
    deleted after the retention period (:mod:`slowpub.storage.retention`):
    nothing else points at them, bundles hold their own items.
    """

    __tablename__ = "inbound_activities"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    uri: Mapped[str] = mapped_column(String(2048), unique=True)
    actor_uri: Mapped[str] = mapped_column(String(2048))
    activity_type: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The lease_owners row of the worker holding the lease (NULL: none, or a CLI).
    locked_by: Mapped[str | None] = mapped_column(String(32), nullable=True)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Who sent it (the actor's host) and how big it is: the inbox's per-host
    # quota counts pending rows by these, the claim takes hosts in turn.
    sender_host: Mapped[str] = mapped_column(String(255), default="", server_default="")
    body_bytes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    __table_args__ = (
        Index("ix_inbound_due", "state", "next_attempt_at"),
        Index("ix_inbound_pending_host", "state", "sender_host", "next_attempt_at", "id"),
    )


class Delivery(Base):
    """One signed POST of one activity to one inbox, with its retry state."""

    __tablename__ = "deliveries"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # The signer: a local user, or NULL for the instance actor.
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=True
    )
    activity_uri: Mapped[str] = mapped_column(String(2048))
    activity_type: Mapped[str] = mapped_column(String(64))
    inbox_url: Mapped[str] = mapped_column(String(2048))
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The lease_owners row of the worker holding the lease (NULL: none, or a CLI).
    locked_by: Mapped[str | None] = mapped_column(String(32), nullable=True)
    last_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (
        UniqueConstraint("activity_uri", "inbox_url", name="uq_deliveries_activity_inbox"),
        Index("ix_deliveries_due", "state", "next_attempt_at"),
    )


class LeaseOwner(Base):
    """A running worker process, so the leases it holds die with it.

    ``host`` names the machine and its process namespace: only there does
    ``pid`` mean anything. A row whose heartbeat stopped, or whose pid is gone
    from this host, is a crashed worker whose leases anyone may release.
    """

    __tablename__ = "lease_owners"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Post(Base):
    """A local post: its content, addressing and where it stands in its life.

    ``state``: ``cooling`` (nothing has federated; editable, cancellable),
    ``released`` (federated), ``cancelled`` (never federated, kept for its
    author), ``deleted`` (federated, then deleted: its id answers Tombstone).
    """

    __tablename__ = "posts"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # The id client APIs show: time-ordered like Mastodon's (slowpub.ids).
    public_id: Mapped[int | None] = mapped_column(
        BigInteger, unique=True, index=True, nullable=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    uri: Mapped[str] = mapped_column(String(2048), unique=True)
    source: Mapped[str] = mapped_column(Text)
    content_html: Mapped[str] = mapped_column(Text)
    summary: Mapped[str | None] = mapped_column(Text, nullable=True)
    visibility: Mapped[str] = mapped_column(String(16))
    in_reply_to: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    # JSON: the to/cc lists and the tag list (Mention, Hashtag) as sent.
    to_json: Mapped[str] = mapped_column(Text)
    cc_json: Mapped[str] = mapped_column(Text)
    tags_json: Mapped[str] = mapped_column(Text)
    # JSON list of actor URIs that must receive it beyond followers
    # (mentioned accounts, the author replied to).
    extra_recipients_json: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class QueueItem(Base):
    """Something a user sent that waits out the cooling-off before it leaves.

    ``kind``: ``create`` (a new post), ``update`` (an edit of a released
    post; the new text is in ``payload``), ``announce`` or ``like`` (of
    ``object_uri``). ``state``: ``cooling`` → ``released`` or ``cancelled``.
    """

    __tablename__ = "queue_items"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    post_id: Mapped[int | None] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), nullable=True
    )
    object_uri: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    object_actor_uri: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    payload: Mapped[str | None] = mapped_column(Text, nullable=True)
    state: Mapped[str] = mapped_column(String(16))
    release_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    activity_uri: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    # A time the author asked for (Mastodon's scheduled_at): restarting the
    # cooling-off after an edit never releases it earlier than this.
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (Index("ix_queue_due", "state", "release_at"),)


class Host(Base):
    """Delivery health of a remote host (Mastodon's rule: unavailable after
    failures on 7 distinct days; any success or signed inbound POST resets it)."""

    __tablename__ = "hosts"
    domain: Mapped[str] = mapped_column(String(255), primary_key=True)
    failure_days: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_day: Mapped[str | None] = mapped_column(String(10), nullable=True)
    unavailable_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class RemotePost(Base):
    """A remote post some local user has reason to read, sanitised on arrival.

    Bundles point at these rows, so a remote edit shows in every bundle that
    holds the post, and a remote delete (which removes the row) takes it out
    of all of them.
    """

    __tablename__ = "remote_posts"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    public_id: Mapped[int | None] = mapped_column(
        BigInteger, unique=True, index=True, nullable=True
    )
    uri: Mapped[str] = mapped_column(String(2048), unique=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"), index=True)
    object_type: Mapped[str] = mapped_column(String(32))
    url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    name: Mapped[str | None] = mapped_column(Text, nullable=True)
    summary: Mapped[str | None] = mapped_column(Text, nullable=True)
    content_html: Mapped[str] = mapped_column(Text)
    in_reply_to: Mapped[str | None] = mapped_column(String(2048), nullable=True, index=True)
    thread: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    visibility: Mapped[str] = mapped_column(String(16))
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    # JSON: attachments, poll, event details, quote, as shown in a bundle.
    extra_json: Mapped[str] = mapped_column(Text, default="{}")
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)

    author: Mapped[Actor] = relationship(lazy="joined")


class RemoteTombstone(Base):
    """A remote object deleted before (or after) it reached us: never shown again.

    Keyed by the deleting actor too, and only honoured for objects that
    actor wrote: before an object arrives we cannot know its author, and
    another account on the same host must not bury it by deleting its id.
    """

    __tablename__ = "remote_tombstones"
    uri: Mapped[str] = mapped_column(String(2048), primary_key=True)
    actor_id: Mapped[int] = mapped_column(
        ForeignKey("actors.id", ondelete="CASCADE"), primary_key=True
    )
    deleted_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Bundle(Base):
    """One sealed day of inbound items for one user."""

    __tablename__ = "bundles"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    sealed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    local_date: Mapped[str] = mapped_column(String(10))
    # E-mail: none (not configured), pending, sent, failed.
    mail_state: Mapped[str] = mapped_column(String(16), default="none")
    mail_attempts: Mapped[int] = mapped_column(Integer, default=0)
    mail_next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    mail_error: Mapped[str | None] = mapped_column(Text, nullable=True)

    __table_args__ = (
        Index("ix_bundles_user_sealed", "user_id", "sealed_at"),
        Index("ix_bundles_mail", "mail_state", "mail_next_attempt_at"),
    )


class InboundItem(Base):
    """Something that came in for one user, waiting for (or sealed into) a bundle.

    ``kind``: ``post`` (from someone followed), ``reply`` (to your post),
    ``mention``, ``boost`` (someone followed shared a post), ``follow``,
    ``follow_request``, ``like`` and ``share`` (of your post), ``move``.
    """

    __tablename__ = "inbound_items"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    public_id: Mapped[int | None] = mapped_column(
        BigInteger, unique=True, index=True, nullable=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    remote_post_id: Mapped[int | None] = mapped_column(
        ForeignKey("remote_posts.id", ondelete="CASCADE"), nullable=True, index=True
    )
    local_post_id: Mapped[int | None] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), nullable=True
    )
    activity_uri: Mapped[str] = mapped_column(String(2048), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    bundle_id: Mapped[int | None] = mapped_column(
        ForeignKey("bundles.id", ondelete="CASCADE"), nullable=True
    )

    __table_args__ = (
        UniqueConstraint("user_id", "kind", "activity_uri", name="uq_items_user_kind_activity"),
        Index("ix_items_user_bundle", "user_id", "bundle_id"),
    )


class OAuthApp(Base):
    """A registered client: through Mastodon's /api/v1/apps, RFC 7591, or a
    client metadata document URL used as its client_id."""

    __tablename__ = "oauth_apps"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(2048), unique=True)
    # SHA-256 hex of the secret; NULL for public clients (PKCE required).
    client_secret_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    name: Mapped[str] = mapped_column(String(255))
    website: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    redirect_uris: Mapped[str] = mapped_column(Text)  # newline-separated
    scopes: Mapped[str] = mapped_column(String(1024))
    registration: Mapped[str] = mapped_column(String(16))  # mastodon, dynamic, metadata
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OAuthCode(Base):
    """A one-time authorization code (stored hashed), bound to client, user,
    redirect URI, scopes and PKCE challenge."""

    __tablename__ = "oauth_codes"
    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("oauth_apps.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    redirect_uri: Mapped[str] = mapped_column(String(2048))
    scopes: Mapped[str] = mapped_column(String(1024))
    code_challenge: Mapped[str | None] = mapped_column(String(128), nullable=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used: Mapped[bool] = mapped_column(Boolean, default=False)


class OAuthToken(Base):
    """A bearer token (stored hashed). ``user_id`` NULL: an app-only token."""

    __tablename__ = "oauth_tokens"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("oauth_apps.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=True, index=True
    )
    scopes: Mapped[str] = mapped_column(String(1024))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The authorization code it was issued for: a replayed code revokes it.
    code_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)


class WebSession(Base):
    """A browser logged in to the owner's pages; the cookie carries the id, stored hashed.

    The row is what makes a session endable (log out, sign out everywhere, a
    password change): a signed cookie alone stays valid until it expires.
    ``password_fingerprint`` ties it to the password it was opened with.
    """

    __tablename__ = "web_sessions"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    password_fingerprint: Mapped[str] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


class IdempotencyKey(Base):
    """Mastodon's Idempotency-Key for POST /api/v1/statuses: the same key, the same post."""

    __tablename__ = "idempotency_keys"
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    queue_item_id: Mapped[int] = mapped_column(ForeignKey("queue_items.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Marker(Base):
    """Where the user stopped reading a timeline (Mastodon's markers API)."""

    __tablename__ = "markers"
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    timeline: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_read_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Bookmark(Base):
    """A status the user bookmarked (Mastodon's bookmarks), local or remote, by its URI.

    Bookmarks are the user's own and private: they never federate.
    """

    __tablename__ = "bookmarks"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    object_uri: Mapped[str] = mapped_column(String(2048))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("user_id", "object_uri", name="uq_bookmarks_user_object"),)
