"""Followers/following stay hidden unless the user publishes them."""

from __future__ import annotations

import httpx
from tests_support import ap_get

from slowpub.social.accounts import create_user, require_user
from slowpub.social.follows import follow
from slowpub.social.settings import apply_setting


async def test_publish_graph_shows_count_and_members(alpha) -> None:
    await create_user(alpha.ctx, "alice", password="correct horse")
    for name in ("bob", "carol"):
        await create_user(alpha.ctx, name, password="correct horse")
        await follow(alpha.ctx, name, "alice@alpha.test")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=alpha.app)) as client:
        hidden = await ap_get(client, "https://alpha.test/users/alice/followers")
        assert "totalItems" not in hidden and "first" not in hidden

        async with alpha.ctx.db.transaction() as s:
            apply_setting(await require_user(s, "alice"), "publish-graph", "on")
        shown = await ap_get(client, "https://alpha.test/users/alice/followers")
        assert shown["totalItems"] == 2
        first = await ap_get(client, shown["first"])
        assert sorted(first["orderedItems"]) == [
            "https://alpha.test/users/bob",
            "https://alpha.test/users/carol",
        ]
        following = await ap_get(client, "https://alpha.test/users/bob/following")
        assert "totalItems" not in following  # bob did not publish his
        bad = await client.get(
            "https://alpha.test/users/alice/followers?page=zero",
            headers={"Accept": "application/activity+json"},
        )
        assert bad.status_code == 400
