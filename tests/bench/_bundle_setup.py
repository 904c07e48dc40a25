"""Set-up for ``bundle.py``: a database with one user and N unsealed inbound items (not timed)."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from federation.keys import generate_private_key_pem, public_key_pem
from slowpub.config import Settings
from slowpub.context import Context, build_context
from slowpub.social.accounts import create_user
from slowpub.storage.migrate import upgrade
from slowpub.storage.models import Actor, InboundItem, Post, RemotePost, User

BASE_URL = "http://127.0.0.1:8000"
USERNAME = "alice"
BATCH = 1000
# Share of the items of each kind (the rest are "post").
KINDS = {
    "reply": 0.06,
    "mention": 0.04,
    "boost": 0.08,
    "like": 0.06,
    "share": 0.02,
    "follow": 0.02,
    "follow_request": 0.005,
    "move": 0.005,
}
WORDS = (
    "the garden keeps its own hours and the letters arrive when they arrive; "
    "nobody here is in a hurry, which is rather the point of the whole exercise"
).split()


def settings_for(url: str, data_dir: Path) -> Settings:
    return Settings(
        base_url=BASE_URL,
        data_dir=data_dir,
        database_url=url,
        secret_key="bench-secret-not-for-production",
        allow_private_networks=True,
    )


def actor_raw(uri: str, host: str, i: int, pem: str) -> dict[str, Any]:
    return {
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": uri,
        "type": "Person",
        "preferredUsername": f"u{i}",
        "name": f"Person Number {i}",
        "summary": "<p>" + " ".join(WORDS) * 3 + "</p>",
        "url": f"https://{host}/@u{i}",
        "inbox": uri + "/inbox",
        "outbox": uri + "/outbox",
        "followers": uri + "/followers",
        "following": uri + "/following",
        "featured": uri + "/collections/featured",
        "endpoints": {"sharedInbox": f"https://{host}/inbox"},
        "icon": {"type": "Image", "mediaType": "image/png", "url": f"https://{host}/a/{i}.png"},
        "attachment": [
            {"type": "PropertyValue", "name": f"field {k}", "value": "<a href='https://x'>x</a>"}
            for k in range(4)
        ],
        "publicKey": {"id": uri + "#main-key", "owner": uri, "publicKeyPem": pem},
    }


def content_html(rng: random.Random, n: int, host: str) -> str:
    """About 500 characters of what slowpub.inbound.sanitize lets through."""
    words = " ".join(rng.choice(WORDS) for _ in range(55))
    return (
        f'<p>{words[:330]} <a href="https://{host}/tags/slow" class="mention hashtag" '
        f'rel="tag">#<span>slow</span></a></p><p>post {n}, with '
        f'<a href="https://{host}/@someone" rel="nofollow noopener" target="_blank">a link</a>'
        f"<br>and a second line.</p>"
    )


async def _bulk(ctx: Context, table: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), BATCH):
        async with ctx.db.transaction() as session:
            await session.execute(insert(table), rows[start : start + BATCH])


async def build(url: str, data_dir: Path, *, items: int, actors: int) -> dict[str, int]:
    rng = random.Random(42)
    ctx = build_context(settings_for(url, data_dir))
    try:
        await upgrade(ctx.db.engine)
        await create_user(ctx, USERNAME, password=None, display_name="Alice")
        now = datetime.now(UTC)
        async with ctx.db.sessions() as session:
            user = (
                await session.execute(select(User).where(User.username == USERNAME))
            ).scalar_one()
        user_id = user.id

        # Remote actors, spread over 40 hosts; ``raw`` and the key as a real
        # fetched actor has them (Mastodon's documents are 2-4 KB).
        pem = public_key_pem(generate_private_key_pem())
        actor_rows = []
        for i in range(actors):
            host = f"h{i % 40:02d}.example"
            uri = f"https://{host}/users/u{i}"
            actor_rows.append(
                {
                    "uri": uri,
                    "local": False,
                    "actor_type": "Person",
                    "username": f"u{i}",
                    "domain": host,
                    "name": f"Person Number {i}",
                    "summary": "<p>a remote account</p>",
                    "url": f"https://{host}/@u{i}",
                    "inbox": uri + "/inbox",
                    "shared_inbox": f"https://{host}/inbox",
                    "outbox": uri + "/outbox",
                    "followers_url": uri + "/followers",
                    "key_id": uri + "#main-key",
                    "public_key_pem": pem,
                    "manually_approves_followers": False,
                    "raw": json.dumps(actor_raw(uri, host, i, pem)),
                    "fetched_at": now,
                    "created_at": now,
                }
            )
        await _bulk(ctx, Actor, actor_rows)
        async with ctx.db.sessions() as session:
            query = select(Actor.id, Actor.uri, Actor.domain).where(Actor.local.is_(False))
            remote = [tuple(r) for r in (await session.execute(query)).all()]

        # Some of alice's own posts, for likes and shares.
        local_posts = []
        for i in range(200):
            local_posts.append(
                {
                    "user_id": user_id,
                    "uri": f"{BASE_URL}/users/{USERNAME}/statuses/{i}",
                    "source": f"my post number {i}: " + " ".join(WORDS[: 10 + i % 20]),
                    "content_html": f"<p>my post number {i}</p>",
                    "visibility": "public",
                    "in_reply_to": None,
                    "to_json": "[]",
                    "cc_json": "[]",
                    "tags_json": "[]",
                    "extra_recipients_json": "[]",
                    "state": "released",
                    "created_at": now,
                    "published_at": now,
                }
            )
        await _bulk(ctx, Post, local_posts)
        async with ctx.db.sessions() as session:
            post_ids = list((await session.execute(select(Post.id))).scalars())

        # Remote posts: every fifth starts a chain of up to 4 replies.
        posts = []
        chain_root: str | None = None
        chain_prev: str | None = None
        for n in range(items):
            author_id, author_uri, host = remote[rng.randrange(len(remote))]
            uri = f"{author_uri}/statuses/{n}"
            published = now - timedelta(hours=24) + timedelta(seconds=n * 8)
            if n % 5 == 0:
                chain_root, chain_prev, in_reply_to, thread = uri, uri, None, None
            else:
                in_reply_to = chain_prev if rng.random() < 0.5 else None
                thread = chain_root if in_reply_to and (n // 5) % 2 == 0 else None
                if in_reply_to:
                    chain_prev = uri
            extra: dict[str, Any] = {}
            if n % 17 == 0:
                extra["attachments"] = [
                    {
                        "url": f"https://{host}/media/{n}.jpg",
                        "type": "image/jpeg",
                        "kind": "image",
                        "description": "a photo of the garden",
                    }
                ]
            if n % 97 == 0:
                extra["poll"] = {"options": ["yes", "no", "later"], "multiple": False}
            posts.append(
                {
                    "uri": uri,
                    "author_id": author_id,
                    "object_type": "Note",
                    "url": f"https://{host}/@x/{n}",
                    "name": None,
                    "summary": "cw: garden" if n % 23 == 0 else None,
                    "content_html": content_html(rng, n, host),
                    "in_reply_to": in_reply_to,
                    "thread": thread,
                    "visibility": "public",
                    "sensitive": False,
                    "extra_json": json.dumps(extra),
                    "published_at": published,
                    "edited_at": published + timedelta(minutes=5) if n % 31 == 0 else None,
                    "received_at": published,
                }
            )
        await _bulk(ctx, RemotePost, posts)
        async with ctx.db.sessions() as session:
            query = select(RemotePost.id, RemotePost.uri, RemotePost.author_id).order_by(
                RemotePost.id
            )
            remote_posts = [tuple(r) for r in (await session.execute(query)).all()]

        # Inbound items: one per remote post for the post-ish kinds; boosts of
        # both posts already in the bundle and others; likes etc. of own posts.
        item_rows = []
        kinds = []
        for kind, share in KINDS.items():
            kinds += [kind] * round(items * share)
        kinds += ["post"] * (items - len(kinds))
        rng.shuffle(kinds)
        for n, kind in enumerate(kinds):
            rp_id, _, rp_author = remote_posts[n % len(remote_posts)]
            actor_id = remote[rng.randrange(len(remote))][0]
            row: dict[str, Any] = {
                "user_id": user_id,
                "kind": kind,
                "actor_id": actor_id,
                "remote_post_id": None,
                "local_post_id": None,
                "activity_uri": f"https://bench.example/activities/{n}",
                "created_at": now,
                "bundle_id": None,
            }
            if kind in ("post", "reply", "mention"):
                row["remote_post_id"] = rp_id
                row["actor_id"] = rp_author
            elif kind == "boost":
                # A third boost a post that is also in the bundle on its own.
                target = rng.randrange(len(remote_posts)) if n % 3 == 0 else n
                row["remote_post_id"] = remote_posts[target % len(remote_posts)][0]
            elif kind in ("like", "share"):
                row["local_post_id"] = post_ids[rng.randrange(len(post_ids))]
            item_rows.append(row)
        await _bulk(ctx, InboundItem, item_rows)
        counts: dict[str, int] = {"actors": len(remote), "remote_posts": len(posts)}
        for kind in kinds:
            counts[kind] = counts.get(kind, 0) + 1
        return counts
    finally:
        await ctx.close()
