"""Digest and Content-Digest, and the structured-field parser under them."""

from __future__ import annotations

import hashlib

import pytest

from federation.digest import make_content_digest, make_digest, verify_content_digest, verify_digest
from federation.errors import DigestError, SignatureMalformedError
from federation.structured import InnerList, Item, Token, parse_dictionary, serialize_inner_list

BODY = b'{"hello": "world"}'


def test_make_digest_matches_draft_example() -> None:
    assert make_digest(BODY) == "SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE="


@pytest.mark.parametrize(
    "header",
    [
        "SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=",
        "sha-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=",
        "SHA-512=abc=, SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=",
    ],
)
def test_verify_digest_accepts(header: str) -> None:
    verify_digest(header, BODY)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "SHA-512=abc=",
        "SHA-256=Y48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=",
        "SHA-256=%%%",
    ],
)
def test_verify_digest_refuses(header: str | None) -> None:
    with pytest.raises(DigestError):
        verify_digest(header, BODY)


def test_content_digest_rfc9530_example() -> None:
    # RFC 9530 / RFC 9421 examples use this body and value.
    assert make_content_digest(BODY) == "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
    verify_content_digest(make_content_digest(BODY), BODY)
    sha512 = hashlib.sha512(BODY).digest()
    import base64

    verify_content_digest(f"sha-512=:{base64.b64encode(sha512).decode()}:, md5=:AAAA:", BODY)


@pytest.mark.parametrize(
    "header", [None, "md5=:AAAA:", "sha-256=:AAAA:", "sha-256=abc", "sha-256=:"]
)
def test_content_digest_refuses(header: str | None) -> None:
    with pytest.raises(DigestError):
        verify_content_digest(header, BODY)


def test_structured_dictionary_round_trip() -> None:
    text = 'sig1=("@method" "a\\"b");created=1;keyid="k";flag;tok=abc, sig2=:AAE=:;n=-2.5'
    parsed = parse_dictionary(text)
    inner = parsed["sig1"]
    assert isinstance(inner, InnerList)
    assert [item.value for item in inner.items] == ["@method", 'a"b']
    assert inner.params == {"created": 1, "keyid": "k", "flag": True, "tok": Token("abc")}
    assert serialize_inner_list(inner) == '("@method" "a\\"b");created=1;keyid="k";flag;tok=abc'
    assert parsed["sig2"] == Item(b"\x00\x01", {"n": -2.5})


@pytest.mark.parametrize("text", ["sig1=(", "Sig=1", "a=1,", 'a="\\x"', "a=1 b=2"])
def test_structured_refuses(text: str) -> None:
    with pytest.raises(SignatureMalformedError):
        parse_dictionary(text)
