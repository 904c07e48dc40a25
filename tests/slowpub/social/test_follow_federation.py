"""Two slowpub instances following each other over real HTTP with real signatures."""

from __future__ import annotations

from sqlalchemy import select

from slowpub.social.accounts import create_user, require_user
from slowpub.social.follows import decide_request, follow, list_follows, unfollow
from slowpub.social.settings import apply_setting
from slowpub.storage.models import Delivery, InboundActivity
from slowpub.workers import drain


async def settle(*instances) -> None:
    """Run every instance's workers until no instance has work left."""
    for _ in range(6):
        for instance in instances:
            await drain(instance.ctx)


def states(views) -> dict[str, str]:
    return {v.handle: v.state for v in views}


async def test_follow_is_accepted_with_signed_accept(alpha, beta) -> None:
    await create_user(alpha.ctx, "alice", password="correct horse")
    await create_user(beta.ctx, "bob", password="correct horse")

    row = await follow(alpha.ctx, "alice", "bob@beta.test")
    assert row.state == "pending"
    assert states(await list_follows(alpha.ctx, "alice", direction="following")) == {
        "bob@beta.test": "pending"
    }
    await settle(alpha, beta)

    assert states(await list_follows(beta.ctx, "bob", direction="followers")) == {
        "alice@alpha.test": "accepted"
    }
    assert states(await list_follows(alpha.ctx, "alice", direction="following")) == {
        "bob@beta.test": "accepted"
    }
    # The Accept really travelled: beta delivered it and alpha stored it once.
    async with beta.ctx.db.sessions() as s:
        accept = (
            await s.execute(select(Delivery).where(Delivery.activity_type == "Accept"))
        ).scalar_one()
    assert accept.state == "done" and accept.inbox_url == "https://alpha.test/users/alice/inbox"
    async with alpha.ctx.db.sessions() as s:
        inbound = (await s.execute(select(InboundActivity))).scalars().all()
    assert [(i.activity_type, i.state) for i in inbound] == [("Accept", "done")]


async def test_mutual_follow_and_unfollow(alpha, beta) -> None:
    await create_user(alpha.ctx, "alice", password="correct horse")
    await create_user(beta.ctx, "bob", password="correct horse")
    await follow(alpha.ctx, "alice", "bob@beta.test")
    await follow(beta.ctx, "bob", "https://alpha.test/users/alice")
    await settle(alpha, beta)
    assert states(await list_follows(alpha.ctx, "alice", direction="followers")) == {
        "bob@beta.test": "accepted"
    }
    assert states(await list_follows(beta.ctx, "bob", direction="followers")) == {
        "alice@alpha.test": "accepted"
    }
    await unfollow(alpha.ctx, "alice", "bob@beta.test")
    await settle(alpha, beta)
    assert await list_follows(beta.ctx, "bob", direction="followers") == []
    assert await list_follows(alpha.ctx, "alice", direction="following") == []
    # The other direction is untouched.
    assert states(await list_follows(alpha.ctx, "alice", direction="followers")) == {
        "bob@beta.test": "accepted"
    }


async def test_manual_approval_then_accept_and_reject(alpha, beta) -> None:
    await create_user(alpha.ctx, "alice", password="correct horse")
    await create_user(alpha.ctx, "carol", password="correct horse")
    await create_user(beta.ctx, "bob", password="correct horse")
    async with beta.ctx.db.transaction() as s:
        apply_setting(await require_user(s, "bob"), "manually-approves-followers", "on")

    await follow(alpha.ctx, "alice", "bob@beta.test")
    await follow(alpha.ctx, "carol", "bob@beta.test")
    await settle(alpha, beta)
    # manuallyApprovesFollowers is published, and nothing is accepted yet.
    assert states(await list_follows(beta.ctx, "bob", direction="followers")) == {
        "alice@alpha.test": "pending",
        "carol@alpha.test": "pending",
    }
    assert states(await list_follows(alpha.ctx, "alice", direction="following")) == {
        "bob@beta.test": "pending"
    }

    await decide_request(beta.ctx, "bob", "alice@alpha.test", accept=True)
    await decide_request(beta.ctx, "bob", "carol@alpha.test", accept=False)
    await settle(alpha, beta)
    assert states(await list_follows(alpha.ctx, "alice", direction="following")) == {
        "bob@beta.test": "accepted"
    }
    assert await list_follows(alpha.ctx, "carol", direction="following") == []
    assert states(await list_follows(beta.ctx, "bob", direction="followers")) == {
        "alice@alpha.test": "accepted"
    }


async def test_local_follow_needs_no_federation(alpha) -> None:
    await create_user(alpha.ctx, "alice", password="correct horse")
    await create_user(alpha.ctx, "dave", password="correct horse")
    row = await follow(alpha.ctx, "alice", "dave@alpha.test")
    assert row.state == "accepted"
    async with alpha.ctx.db.sessions() as s:
        assert (await s.execute(select(Delivery))).first() is None
