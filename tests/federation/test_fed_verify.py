"""verify_request: the policy Mastodon applies, plus key-rotation refetch."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from fed_helpers import FakeResolver

from federation.digest import make_digest
from federation.errors import (
    DigestError,
    KeyNotFoundError,
    SignatureExpiredError,
    SignatureMalformedError,
    SignatureMismatchError,
    SignatureMissingError,
    UnsupportedAlgorithmError,
)
from federation.keys import public_key_pem
from federation.signatures import sign_request
from federation.verify import PublicKey, verify_request

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
KEY_ID = "https://remote.example/users/bob#main-key"
OWNER = "https://remote.example/users/bob"
INBOX = "https://local.example/users/alice/inbox"
BODY = json.dumps({"type": "Follow", "actor": OWNER}).encode()


def _key(private_pem: str) -> PublicKey:
    return PublicKey(key_id=KEY_ID, owner=OWNER, pem=public_key_pem(private_pem))


def _mastodon_post(private_pem: str, *, url: str = INBOX, when: datetime = NOW) -> dict[str, str]:
    return sign_request(
        "POST",
        url,
        {"Content-Type": "application/activity+json"},
        BODY,
        key_id=KEY_ID,
        private_key_pem=private_pem,
        now=when,
    )


async def _verify(headers: dict[str, str], resolver: FakeResolver, **kw: object) -> PublicKey:
    args: dict[str, object] = {
        "method": "POST",
        "url": INBOX,
        "headers": headers,
        "body": BODY,
        "resolver": resolver,
        "now": NOW,
    }
    args.update(kw)
    return await verify_request(**args)  # type: ignore[arg-type]


async def test_mastodon_shaped_post(actor_private_pem: str) -> None:
    resolver = FakeResolver(_key(actor_private_pem))
    key = await _verify(_mastodon_post(actor_private_pem), resolver)
    assert key.owner == OWNER
    assert resolver.calls == [(KEY_ID, False)]


async def test_hs2019_post(actor_private_pem: str) -> None:
    headers = _mastodon_post(actor_private_pem)
    headers["Signature"] = headers["Signature"].replace(
        'algorithm="rsa-sha256"', 'algorithm="hs2019"'
    )
    await _verify(headers, FakeResolver(_key(actor_private_pem)))


async def test_lowercase_header_names(actor_private_pem: str) -> None:
    headers = {k.lower(): v for k, v in _mastodon_post(actor_private_pem).items()}
    await _verify(headers, FakeResolver(_key(actor_private_pem)))


async def test_wrong_digest(actor_private_pem: str) -> None:
    with pytest.raises(DigestError):
        await _verify(
            _mastodon_post(actor_private_pem), FakeResolver(_key(actor_private_pem)), body=b"{}"
        )


async def test_missing_digest(actor_private_pem: str) -> None:
    headers = _mastodon_post(actor_private_pem)
    del headers["Digest"]
    with pytest.raises((DigestError, SignatureMalformedError)):
        await _verify(headers, FakeResolver(_key(actor_private_pem)))


async def test_digest_not_signed(actor_private_pem: str) -> None:
    # A GET-shaped signature replayed onto a POST: Digest present but unsigned.
    headers = sign_request(
        "POST", INBOX, {}, None, key_id=KEY_ID, private_key_pem=actor_private_pem, now=NOW
    )
    headers["Digest"] = make_digest(BODY)
    with pytest.raises(DigestError):
        await _verify(headers, FakeResolver(_key(actor_private_pem)))


@pytest.mark.parametrize("offset", [timedelta(hours=-2), timedelta(hours=1, minutes=5)])
async def test_date_outside_window(actor_private_pem: str, offset: timedelta) -> None:
    headers = _mastodon_post(actor_private_pem, when=NOW + offset)
    with pytest.raises(SignatureExpiredError):
        await _verify(headers, FakeResolver(_key(actor_private_pem)))


async def test_date_inside_window(actor_private_pem: str) -> None:
    headers = _mastodon_post(actor_private_pem, when=NOW - timedelta(hours=1))
    await _verify(headers, FakeResolver(_key(actor_private_pem)))


async def test_query_string_target_with_and_without_query(actor_private_pem: str) -> None:
    resolver = FakeResolver(_key(actor_private_pem))
    with_query = _mastodon_post(actor_private_pem, url=INBOX + "?a=1")
    await _verify(with_query, resolver, url=INBOX + "?a=1")
    without_query = _mastodon_post(actor_private_pem, url=INBOX)
    await _verify(without_query, resolver, url=INBOX + "?a=1")


async def test_get_must_sign_host(actor_private_pem: str) -> None:
    headers = sign_request(
        "GET", OWNER, {}, None, key_id=KEY_ID, private_key_pem=actor_private_pem, now=NOW
    )
    key = await _verify(
        headers, FakeResolver(_key(actor_private_pem)), method="GET", url=OWNER, body=b""
    )
    assert key.key_id == KEY_ID
    sig = headers["Signature"].replace("(request-target) host date", "(request-target) date")
    with pytest.raises(SignatureMalformedError):
        await _verify(
            {**headers, "Signature": sig},
            FakeResolver(_key(actor_private_pem)),
            method="GET",
            url=OWNER,
            body=None,
        )


async def test_request_target_must_be_signed(actor_private_pem: str) -> None:
    headers = _mastodon_post(actor_private_pem)
    headers["Signature"] = headers["Signature"].replace("(request-target) ", "")
    with pytest.raises(SignatureMalformedError):
        await _verify(headers, FakeResolver(_key(actor_private_pem)))


async def test_key_rotation_refetch_succeeds(
    actor_private_pem: str, other_private_pem: str
) -> None:
    # We cached the old key; the remote has since rotated to a new one.
    resolver = FakeResolver(_key(other_private_pem), refreshed=_key(actor_private_pem))
    key = await _verify(_mastodon_post(actor_private_pem), resolver)
    assert key.pem == public_key_pem(actor_private_pem)
    assert resolver.calls == [(KEY_ID, False), (KEY_ID, True)]


async def test_same_key_after_refetch_fails_once(
    actor_private_pem: str, other_private_pem: str
) -> None:
    resolver = FakeResolver(_key(other_private_pem))
    with pytest.raises(SignatureMismatchError):
        await _verify(_mastodon_post(actor_private_pem), resolver)
    assert resolver.calls == [(KEY_ID, False), (KEY_ID, True)]


async def test_resolver_key_not_found(actor_private_pem: str) -> None:
    async def resolver(key_id: str, refresh: bool) -> PublicKey:
        raise KeyNotFoundError(key_id)

    with pytest.raises(KeyNotFoundError):
        await verify_request(
            method="POST",
            url=INBOX,
            headers=_mastodon_post(actor_private_pem),
            body=BODY,
            resolver=resolver,
            now=NOW,
        )


async def test_unsupported_algorithm(actor_private_pem: str) -> None:
    headers = _mastodon_post(actor_private_pem)
    headers["Signature"] = headers["Signature"].replace("rsa-sha256", "hmac-sha256")
    with pytest.raises(UnsupportedAlgorithmError):
        await _verify(headers, FakeResolver(_key(actor_private_pem)))


async def test_malformed_header(actor_private_pem: str) -> None:
    headers = _mastodon_post(actor_private_pem)
    headers["Signature"] = "keyId=oops"
    with pytest.raises(SignatureMalformedError):
        await _verify(headers, FakeResolver(_key(actor_private_pem)))


async def test_unsigned_request(actor_private_pem: str) -> None:
    with pytest.raises(SignatureMissingError):
        await _verify({"Host": "local.example"}, FakeResolver(_key(actor_private_pem)))


async def test_created_instead_of_date(actor_private_pem: str) -> None:
    # hs2019 signers may sign (created) instead of Date; a stale one is refused.
    from federation.algorithms import Algorithm, sign_bytes
    from federation.signatures import build_signing_string

    def signed(created: int) -> dict[str, str]:
        headers = {"Host": "local.example", "Digest": make_digest(BODY)}
        names = ["(request-target)", "(created)", "host", "digest"]
        text = build_signing_string("POST", "/users/alice/inbox", headers, names, created)
        import base64

        raw = sign_bytes(Algorithm.RSA_V1_5_SHA256, actor_private_pem, text.encode())
        headers["Signature"] = (
            f'keyId="{KEY_ID}",algorithm="hs2019",created={created},'
            f'headers="{" ".join(names)}",signature="{base64.b64encode(raw).decode()}"'
        )
        return headers

    await _verify(signed(int(NOW.timestamp())), FakeResolver(_key(actor_private_pem)))
    with pytest.raises(SignatureExpiredError):
        stale = int((NOW - timedelta(hours=3)).timestamp())
        await _verify(signed(stale), FakeResolver(_key(actor_private_pem)))
