"""RFC 9421 verification: the B.2.6 vector, round trips and verify_request policy."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fed_helpers import (
    RFC_RSA_PRIVATE_PEM,
    FakeResolver,
    ed25519_private_pem,
    ed25519_public_pem,
)

from federation.errors import (
    DigestError,
    SignatureExpiredError,
    SignatureMalformedError,
    SignatureMismatchError,
    UnsupportedAlgorithmError,
)
from federation.keys import public_key_pem
from federation.rfc9421 import (
    build_signature_base,
    parse_rfc9421,
    sign_rfc9421,
    verify_rfc9421,
)
from federation.verify import PublicKey, verify_request

# RFC 9421 Appendix B.2: the test request, and B.2.6's signature by test-key-ed25519.
B2_URL = "http://example.com/foo?param=Value&Pet=dog"
B2_HEADERS = {
    "Host": "example.com",
    "Date": "Tue, 20 Apr 2021 02:07:55 GMT",
    "Content-Type": "application/json",
    "Content-Length": "18",
}
B26_INPUT = (
    'sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length")'
    ';created=1618884473;keyid="test-key-ed25519"'
)
B26_SIGNATURE = (
    "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPp"
    "BKRCw==:"
)
B26_BASE = (
    '"date": Tue, 20 Apr 2021 02:07:55 GMT\n'
    '"@method": POST\n'
    '"@path": /foo\n'
    '"@authority": example.com\n'
    '"content-type": application/json\n'
    '"content-length": 18\n'
    '"@signature-params": ("date" "@method" "@path" "@authority" "content-type" '
    '"content-length");created=1618884473;keyid="test-key-ed25519"'
)

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
CREATED = int(NOW.timestamp())
INBOX = "https://local.example/users/alice/inbox"
BODY = b'{"type":"Like"}'
KEY_ID = "https://remote.example/users/bob#main-key"


def test_b26_signature_base_and_verification() -> None:
    headers = {**B2_HEADERS, "Signature-Input": B26_INPUT, "Signature": B26_SIGNATURE}
    sig = parse_rfc9421(headers)
    assert (sig.label, sig.key_id, sig.created, sig.alg) == (
        "sig-b26",
        "test-key-ed25519",
        1618884473,
        None,
    )
    assert (
        build_signature_base("POST", B2_URL, headers, sig.components, sig.params_line) == B26_BASE
    )
    verify_rfc9421("POST", B2_URL, headers, sig, ed25519_public_pem())
    with pytest.raises(SignatureMismatchError):
        verify_rfc9421("PUT", B2_URL, headers, sig, ed25519_public_pem())


def test_b26_signing_reproduces_rfc() -> None:
    signed = sign_rfc9421(
        "POST",
        B2_URL,
        B2_HEADERS,
        None,
        key_id="test-key-ed25519",
        private_key_pem=ed25519_private_pem(),
        covered=["date", "@method", "@path", "@authority", "content-type", "content-length"],
        created=1618884473,
        alg=None,
        label="sig-b26",
    )
    assert signed["Signature-Input"] == B26_INPUT
    assert signed["Signature"] == B26_SIGNATURE


def test_rsa_v1_5_round_trip_with_rfc_test_key() -> None:
    signed = sign_rfc9421(
        "POST",
        INBOX,
        {},
        BODY,
        key_id="test-key-rsa",
        private_key_pem=RFC_RSA_PRIVATE_PEM,
        created=CREATED,
    )
    assert signed["Signature-Input"] == (
        'sig1=("@method" "@target-uri" "content-digest");'
        f'created={CREATED};keyid="test-key-rsa";alg="rsa-v1_5-sha256"'
    )
    sig = parse_rfc9421(signed)
    verify_rfc9421("POST", INBOX, signed, sig, public_key_pem(RFC_RSA_PRIVATE_PEM))
    with pytest.raises(SignatureMismatchError):
        verify_rfc9421("POST", INBOX + "x", signed, sig, public_key_pem(RFC_RSA_PRIVATE_PEM))


def test_rsa_pss_round_trip() -> None:
    signed = sign_rfc9421(
        "GET",
        INBOX,
        {},
        None,
        key_id="test-key-rsa",
        private_key_pem=RFC_RSA_PRIVATE_PEM,
        alg="rsa-pss-sha512",
        created=CREATED,
    )
    verify_rfc9421("GET", INBOX, signed, parse_rfc9421(signed), public_key_pem(RFC_RSA_PRIVATE_PEM))


def test_unsupported_alg_and_component_parameters() -> None:
    headers = {
        "Signature-Input": 'sig1=("@method");created=1;keyid="k";alg="hmac-sha256"',
        "Signature": "sig1=:AAAA:",
    }
    with pytest.raises(UnsupportedAlgorithmError):
        verify_rfc9421(
            "GET", INBOX, headers, parse_rfc9421(headers), public_key_pem(RFC_RSA_PRIVATE_PEM)
        )
    headers = {
        "Signature-Input": 'sig1=("@method" "x";sf);created=1;keyid="k"',
        "Signature": "sig1=:AAAA:",
        "X": "1",
    }
    with pytest.raises(SignatureMalformedError):
        verify_rfc9421(
            "GET", INBOX, headers, parse_rfc9421(headers), public_key_pem(RFC_RSA_PRIVATE_PEM)
        )


@pytest.mark.parametrize(
    ("signature_input", "signature"),
    [
        ('sig1=("@method");created=1', "sig1=:AAAA:"),  # no keyid
        ('sig1=("@method");keyid="k"', "sig1=AAAA"),  # value not a byte sequence
        ('sig1=("@method";keyid="k"', "sig1=:AAAA:"),  # unterminated list
        ('sig1=("@method");keyid="k"', "sig2=:AAAA:"),  # no matching label
        ("sig1=@method", "sig1=:AAAA:"),  # not an inner list
    ],
)
def test_malformed_inputs(signature_input: str, signature: str) -> None:
    with pytest.raises(SignatureMalformedError):
        parse_rfc9421({"Signature-Input": signature_input, "Signature": signature})


def _resolver() -> FakeResolver:
    owner = "https://remote.example/users/bob"
    return FakeResolver(PublicKey(KEY_ID, owner, public_key_pem(RFC_RSA_PRIVATE_PEM)))


async def _verify(
    headers: dict[str, str], body: bytes | None = BODY, method: str = "POST"
) -> PublicKey:
    return await verify_request(
        method=method, url=INBOX, headers=headers, body=body, resolver=_resolver(), now=NOW
    )


def _sign(**kw: object) -> dict[str, str]:
    args: dict[str, object] = {
        "key_id": KEY_ID,
        "private_key_pem": RFC_RSA_PRIVATE_PEM,
        "created": CREATED,
    }
    args.update(kw)
    return sign_rfc9421("POST", INBOX, {"Content-Type": "application/activity+json"}, BODY, **args)  # type: ignore[arg-type]


async def test_verify_request_rfc9421_post() -> None:
    key = await _verify(_sign())
    assert key.key_id == KEY_ID


async def test_verify_request_rfc9421_get_without_alg() -> None:
    signed = sign_rfc9421(
        "GET",
        INBOX,
        {},
        None,
        key_id=KEY_ID,
        private_key_pem=RFC_RSA_PRIVATE_PEM,
        created=CREATED,
        alg=None,
    )
    await _verify(signed, body=b"", method="GET")


async def test_missing_created() -> None:
    signed = _sign()
    signed["Signature-Input"] = signed["Signature-Input"].replace(f"created={CREATED};", "")
    with pytest.raises(SignatureMalformedError):
        await _verify(signed)


async def test_stale_created_and_expired() -> None:
    with pytest.raises(SignatureExpiredError):
        await _verify(_sign(created=CREATED - 3 * 3600))
    with pytest.raises(SignatureExpiredError):
        await _verify(_sign(expires=CREATED - 1))


@pytest.mark.parametrize(
    "covered",
    [["@target-uri", "content-digest"], ["@method", "content-digest"]],
)
async def test_method_and_target_uri_required(covered: list[str]) -> None:
    with pytest.raises(SignatureMalformedError):
        await _verify(_sign(covered=covered))


async def test_content_digest_must_be_covered() -> None:
    with pytest.raises(DigestError):
        await _verify(_sign(covered=["@method", "@target-uri"]))


async def test_content_digest_mismatch() -> None:
    with pytest.raises(DigestError):
        await verify_request(
            method="POST", url=INBOX, headers=_sign(), body=b"{}", resolver=_resolver(), now=NOW
        )
