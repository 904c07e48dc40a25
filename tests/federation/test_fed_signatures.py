"""draft-cavage signing and verification against the draft's Appendix C vectors."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from fed_helpers import CAVAGE_PRIVATE_PEM, CAVAGE_PUBLIC_PEM

from federation.algorithms import Algorithm, sign_bytes
from federation.errors import (
    SignatureMalformedError,
    SignatureMismatchError,
    SignatureMissingError,
    UnsupportedAlgorithmError,
)
from federation.keys import public_key_pem
from federation.signatures import (
    build_signing_string,
    parse_signature_header,
    sign_request,
    signature_from_headers,
    verify_cavage,
)

# The request all Appendix C examples sign.
HEADERS = {
    "Host": "example.com",
    "Date": "Sun, 05 Jan 2014 21:31:40 GMT",
    "Content-Type": "application/json",
    "Digest": "SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=",
    "Content-Length": "18",
}
PATH, QUERY = "/foo", "param=value&pet=dog"

C1_SIGNATURE = (
    "SjWJWbWN7i0wzBvtPl8rbASWz5xQW6mcJmn+ibttBqtifLN7Sazz6m79cNfwwb8DMJ5cou1s7uEGKKCs+FLEEaDV5lp7"
    "q25WqS+lavg7T8hc0GppauB6hbgEKTwblDHYGEtbGmtdHgVCk9SuS13F0hZ8FD0k/5OxEPXe5WozsbM="
)
C2_SIGNATURE = (
    "qdx+H7PHHDZgy4y/Ahn9Tny9V3GP6YgBPyUXMmoxWtLbHpUnXS2mg2+SbrQDMCJypxBLSPQR2aAjn7ndmw2iicw3HMbe"
    "8VfEdKFYRqzic+efkb3nndiv/x1xSHDJWeSWkx3ButlYSuBskLu6kd9Fswtemr3lgdDEmn04swr2Os0="
)
C3_SIGNATURE = (
    "vSdrb+dS3EceC9bcwHSo4MlyKS59iFIrhgYkz8+oVLEEzmYZZvRs8rgOp+63LEM3v+MFHB32NfpB2bEKBIvB1q52LaEU"
    "HFv120V01IL+TAD48XaERZFukWgHoBTLMhYS2Gb51gWxpeIq8knRmPnYePbF5MOkR0Zkly4zKH7s1dE="
)
C2_HEADERS = "(request-target) host date"
C3_HEADERS = "(request-target) host date content-type digest content-length"

VECTORS = [
    pytest.param(None, C1_SIGNATURE, id="C.1-default"),
    pytest.param(C2_HEADERS, C2_SIGNATURE, id="C.2-basic"),
    pytest.param(C3_HEADERS, C3_SIGNATURE, id="C.3-all-headers"),
]


def _header(headers: str | None, signature: str) -> str:
    listed = f'headers="{headers}",' if headers is not None else ""
    return f'keyId="Test",algorithm="rsa-sha256",{listed}signature="{signature}"'


@pytest.mark.parametrize(("headers", "expected"), VECTORS)
def test_signing_reproduces_appendix_c(headers: str | None, expected: str) -> None:
    signed = headers.split() if headers else ["date"]
    text = build_signing_string("POST", f"{PATH}?{QUERY}", HEADERS, signed)
    raw = sign_bytes(Algorithm.RSA_V1_5_SHA256, CAVAGE_PRIVATE_PEM, text.encode())
    assert base64.b64encode(raw).decode() == expected


def test_c2_signing_string_matches_draft() -> None:
    text = build_signing_string("POST", f"{PATH}?{QUERY}", HEADERS, C2_HEADERS.split())
    assert text == (
        "(request-target): post /foo?param=value&pet=dog\n"
        "host: example.com\n"
        "date: Sun, 05 Jan 2014 21:31:40 GMT"
    )


@pytest.mark.parametrize(("headers", "expected"), VECTORS)
def test_verification_accepts_appendix_c(headers: str | None, expected: str) -> None:
    sig = parse_signature_header(_header(headers, expected))
    assert sig.key_id == "Test"
    verify_cavage("POST", PATH, QUERY, HEADERS, sig, CAVAGE_PUBLIC_PEM)


def test_default_headers_is_date() -> None:
    assert parse_signature_header(_header(None, C1_SIGNATURE)).headers == ["date"]


def test_authorization_header_form() -> None:
    sig = signature_from_headers(
        {"Authorization": "Signature " + _header(C2_HEADERS, C2_SIGNATURE)}
    )
    verify_cavage("POST", PATH, QUERY, HEADERS, sig, CAVAGE_PUBLIC_PEM)


def test_no_signature_header() -> None:
    with pytest.raises(SignatureMissingError):
        signature_from_headers({"Authorization": "Bearer abc"})


@pytest.mark.parametrize(
    ("method", "path", "query", "changes"),
    [
        ("GET", PATH, QUERY, {}),
        ("POST", "/bar", QUERY, {}),
        ("POST", PATH, "param=value&pet=cat", {}),
        ("POST", PATH, QUERY, {"Host": "example.org"}),
        ("POST", PATH, QUERY, {"Date": "Sun, 05 Jan 2014 21:31:41 GMT"}),
        ("POST", PATH, QUERY, {"Digest": "SHA-256=tampered"}),
    ],
)
def test_tampering_fails(method: str, path: str, query: str, changes: dict[str, str]) -> None:
    sig = parse_signature_header(_header(C3_HEADERS, C3_SIGNATURE))
    with pytest.raises(SignatureMismatchError):
        verify_cavage(method, path, query, {**HEADERS, **changes}, sig, CAVAGE_PUBLIC_PEM)


def test_header_lookup_is_case_insensitive() -> None:
    lowered = {name.lower(): value for name, value in HEADERS.items()}
    sig = parse_signature_header(_header(C3_HEADERS, C3_SIGNATURE))
    verify_cavage("post", PATH, QUERY, lowered, sig, CAVAGE_PUBLIC_PEM)


def test_missing_signed_header_is_malformed() -> None:
    sig = parse_signature_header(_header(C3_HEADERS, C3_SIGNATURE))
    headers = {k: v for k, v in HEADERS.items() if k != "Content-Length"}
    with pytest.raises(SignatureMalformedError):
        verify_cavage("POST", PATH, QUERY, headers, sig, CAVAGE_PUBLIC_PEM)


@pytest.mark.parametrize(
    "value",
    [
        "",
        'algorithm="rsa-sha256",signature="abc="',
        'keyId="Test",algorithm="rsa-sha256"',
        'keyId="Test",signature="not base64!"',
        'keyId="Test",keyId="Other",signature="abcd"',
        'keyId="Test" signature="abcd"',
        'keyId="Test",created=soon,signature="abcd"',
    ],
)
def test_malformed_headers(value: str) -> None:
    with pytest.raises(SignatureMalformedError):
        parse_signature_header(value)


def test_bare_created_parameter_and_spacing() -> None:
    sig = parse_signature_header(
        'keyId="k", algorithm="hs2019", created=1402170695, expires=1402170699, '
        'headers="(created) (expires) (request-target)", signature="abcd"'
    )
    assert (sig.created, sig.expires, sig.algorithm) == (1402170695, 1402170699, "hs2019")
    text = build_signing_string("GET", "/x", {}, sig.headers, sig.created, sig.expires)
    assert text == "(created): 1402170695\n(expires): 1402170699\n(request-target): get /x"


@pytest.mark.parametrize("algorithm", ["hmac-sha256", "ecdsa-sha256", "rsa-sha512"])
def test_unsupported_algorithms(algorithm: str) -> None:
    sig = parse_signature_header(
        f'keyId="Test",algorithm="{algorithm}",headers="{C2_HEADERS}",signature="{C2_SIGNATURE}"'
    )
    with pytest.raises(UnsupportedAlgorithmError):
        verify_cavage("POST", PATH, QUERY, HEADERS, sig, CAVAGE_PUBLIC_PEM)


def test_hs2019_and_absent_algorithm_mean_rsa_sha256() -> None:
    for prefix in ('algorithm="hs2019",', ""):
        sig = parse_signature_header(
            f'keyId="Test",{prefix}headers="{C2_HEADERS}",signature="{C2_SIGNATURE}"'
        )
        verify_cavage("POST", PATH, QUERY, HEADERS, sig, CAVAGE_PUBLIC_PEM)


def test_sign_request_post_shape(actor_private_pem: str) -> None:
    now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    headers = sign_request(
        "POST",
        "https://remote.example/users/bob/inbox",
        {"Content-Type": "application/activity+json", "date": "stale"},
        b'{"type":"Follow"}',
        key_id="https://local.example/users/alice#main-key",
        private_key_pem=actor_private_pem,
        now=now,
    )
    assert headers["Host"] == "remote.example"
    assert headers["Date"] == "Wed, 01 May 2024 12:00:00 GMT"
    assert "date" not in headers  # the caller's own Date was replaced, not duplicated
    assert headers["Digest"].startswith("SHA-256=")
    sig = parse_signature_header(headers["Signature"])
    assert sig.headers == ["(request-target)", "host", "date", "digest", "content-type"]
    assert sig.algorithm == "rsa-sha256"
    assert headers["Signature"].startswith('keyId="https://local.example/users/alice#main-key",')
    verify_cavage("POST", "/users/bob/inbox", "", headers, sig, public_key_pem(actor_private_pem))


def test_sign_request_get_shape(actor_private_pem: str) -> None:
    headers = sign_request(
        "GET",
        "https://remote.example:8443/users/bob?page=1",
        {"Accept": "application/activity+json"},
        None,
        key_id="k",
        private_key_pem=actor_private_pem,
    )
    assert headers["Host"] == "remote.example:8443"
    assert "Digest" not in headers
    sig = parse_signature_header(headers["Signature"])
    assert sig.headers == ["(request-target)", "host", "date", "accept"]
    verify_cavage("GET", "/users/bob", "page=1", headers, sig, public_key_pem(actor_private_pem))
    no_accept = sign_request(
        "GET", "https://r.example/", {}, None, key_id="k", private_key_pem=actor_private_pem
    )
    assert parse_signature_header(no_accept["Signature"]).headers == [
        "(request-target)",
        "host",
        "date",
    ]


def test_query_fallback_without_query(actor_private_pem: str) -> None:
    # A signer that dropped the query from (request-target) still verifies.
    headers = sign_request(
        "GET",
        "https://r.example/users/bob",
        {},
        None,
        key_id="k",
        private_key_pem=actor_private_pem,
    )
    sig = parse_signature_header(headers["Signature"])
    verify_cavage("GET", "/users/bob", "x=1", headers, sig, public_key_pem(actor_private_pem))
