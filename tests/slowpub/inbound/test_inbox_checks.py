"""The inbox refuses every malformed or forged POST, and stores nothing for it."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from tests_support import follow_body, post, stored

from slowpub.social.accounts import create_user


@pytest.fixture
async def pair(alpha, beta):
    await create_user(alpha.ctx, "alice", password="correct horse")
    bob = await create_user(beta.ctx, "bob", password="correct horse")
    await create_user(beta.ctx, "carol", password="correct horse")
    return alpha, beta, bob


async def test_valid_post_is_stored_once(pair) -> None:
    alpha, _, bob = pair
    body = json.dumps(follow_body()).encode()
    first = await post(alpha, bob, body)
    assert first.status_code == 202, first.text
    again = await post(alpha, bob, body)
    assert again.status_code == 202  # a redelivery is acknowledged...
    assert await stored(alpha) == 1  # ...and ignored


async def test_shared_inbox_accepts_too(pair) -> None:
    alpha, _, bob = pair
    r = await post(alpha, bob, json.dumps(follow_body()).encode(), url="https://alpha.test/inbox")
    assert r.status_code == 202
    assert await stored(alpha) == 1


def _replace_header(name: str, value: str | None):
    def tamper(headers: dict[str, str], body: bytes):
        headers = {k: v for k, v in headers.items() if k.lower() != name}
        if value is not None:
            headers[name] = value
        return headers, body

    return tamper


def _alter_body(headers: dict[str, str], body: bytes):
    return headers, body.replace(b"follows/1", b"follows/2")


def _unsign_digest(headers: dict[str, str], body: bytes):
    sig = headers["Signature"].replace(" digest", "")
    return {**headers, "Signature": sig}, body


@pytest.mark.parametrize(
    ("name", "tamper", "sign", "status"),
    [
        ("unsigned", None, False, 401),
        ("body changed after signing", _alter_body, True, 401),
        ("wrong digest", _replace_header("digest", "SHA-256=AAAA"), True, 401),
        ("missing digest", _replace_header("digest", None), True, 401),
        ("digest not signed", _unsign_digest, True, 401),
        ("garbage signature", _replace_header("signature", 'keyId="x",signature="!!"'), True, 401),
    ],
)
async def test_signature_failures(pair, name, tamper, sign, status) -> None:
    alpha, _, bob = pair
    r = await post(alpha, bob, json.dumps(follow_body()).encode(), tamper=tamper, sign=sign)
    assert r.status_code == status, (name, r.text)
    assert r.json()["error"]
    assert await stored(alpha) == 0


@pytest.mark.parametrize("offset", [timedelta(hours=-2), timedelta(hours=2)])
async def test_stale_or_future_date(pair, offset) -> None:
    alpha, _, bob = pair
    body = json.dumps(follow_body()).encode()
    r = await post(alpha, bob, body, now=alpha.ctx.clock.now() + offset)
    assert r.status_code == 401
    assert await stored(alpha) == 0


async def test_key_not_owned_by_actor(pair) -> None:
    alpha, _, bob = pair
    # bob signs an activity that claims to be carol's.
    body = json.dumps(follow_body("https://beta.test/users/carol")).encode()
    r = await post(alpha, bob, body)
    assert r.status_code == 401
    assert "actor" in r.json()["error"]
    assert await stored(alpha) == 0


async def test_object_on_another_host_is_rejected(pair) -> None:
    alpha, _, bob = pair
    activity = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": "https://beta.test/users/bob/statuses/1/activity",
        "type": "Create",
        "actor": "https://beta.test/users/bob",
        "to": ["https://alpha.test/users/alice"],
        "object": {
            "id": "https://gamma.test/notes/1",
            "type": "Note",
            "attributedTo": "https://beta.test/users/bob",
            "content": "forged",
        },
    }
    r = await post(alpha, bob, json.dumps(activity).encode())
    assert r.status_code == 400
    assert "host" in r.json()["error"]
    assert await stored(alpha) == 0


async def test_oversized_body(pair) -> None:
    alpha, _, bob = pair
    activity = follow_body()
    activity["padding"] = "x" * (1024 * 1024)
    r = await post(alpha, bob, json.dumps(activity).encode())
    assert r.status_code == 413
    assert await stored(alpha) == 0


@pytest.mark.parametrize(
    "body",
    [b"this is not json", b"[1, 2, 3]", json.dumps({"hello": "world"}).encode()],
)
async def test_not_an_activity(pair, body) -> None:
    alpha, _, bob = pair
    r = await post(alpha, bob, body)
    assert r.status_code == 400
    assert await stored(alpha) == 0


async def test_unknown_inbox_owner(pair) -> None:
    alpha, _, bob = pair
    url = "https://alpha.test/users/nobody/inbox"
    r = await post(alpha, bob, json.dumps(follow_body()).encode(), url=url)
    assert r.status_code == 404
    assert await stored(alpha) == 0
