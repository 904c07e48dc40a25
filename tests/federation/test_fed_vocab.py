"""Vocabulary helpers, keys and NodeInfo documents."""

from __future__ import annotations

import pytest

from federation.errors import KeyNotFoundError
from federation.keys import (
    generate_private_key_pem,
    load_private_key,
    load_public_key,
    public_key_pem,
)
from federation.nodeinfo import nodeinfo_document, nodeinfo_links
from federation.vocab import (
    AP_ACCEPT,
    PUBLIC_ALIASES,
    as_list,
    host_of,
    id_of,
    is_ap_content_type,
    same_origin,
    wants_ap,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("application/activity+json", True),
        ("Application/Activity+JSON; charset=utf-8", True),
        ('application/ld+json; profile="https://www.w3.org/ns/activitystreams"', True),
        ("application/ld+json;profile=https://www.w3.org/ns/activitystreams", True),
        (
            'application/ld+json ; charset=utf-8 ; profile = "https://www.w3.org/ns/activitystreams"',
            True,
        ),
        (
            'application/ld+json; profile="https://w3id.org/security/v1 https://www.w3.org/ns/activitystreams"',
            True,
        ),
        ("application/ld+json", False),
        ('application/ld+json; profile="https://example.com/other"', False),
        ("application/json", False),
        ("text/html", False),
        ("", False),
        (None, False),
    ],
)
def test_is_ap_content_type(value: str | None, expected: bool) -> None:
    assert is_ap_content_type(value) is expected


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", False),
        ("*/*", False),
        (None, False),
        ("application/activity+json", True),
        (AP_ACCEPT, True),
        ('application/ld+json; profile="https://www.w3.org/ns/activitystreams"', True),
        ("application/ld+json", True),
        ("application/json", True),
        ("text/html;q=0.5, application/json", True),
        ("text/html, application/activity+json;q=0.5", False),
        ("application/activity+json;q=0", False),
    ],
)
def test_wants_ap(accept: str | None, expected: bool) -> None:
    assert wants_ap(accept) is expected


def test_list_and_id_helpers() -> None:
    assert as_list(None) == []
    assert as_list("a") == ["a"]
    assert as_list(["a", "b"]) == ["a", "b"]
    assert as_list({"id": "x"}) == [{"id": "x"}]
    assert id_of("https://a/1") == "https://a/1"
    assert id_of({"id": "https://a/1", "type": "Note"}) == "https://a/1"
    assert id_of({"type": "Note"}) is None
    assert id_of(3) is None
    assert {"as:Public", "Public", "https://www.w3.org/ns/activitystreams#Public"} <= PUBLIC_ALIASES


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://Example.COM/users/a", "example.com"),
        ("https://example.com:443/", "example.com"),
        ("http://example.com:80/", "example.com"),
        ("https://example.com:8443/x", "example.com:8443"),
        ("http://localhost:8000", "localhost:8000"),
        ("https://[2001:db8::1]:8443/", "[2001:db8::1]:8443"),
    ],
)
def test_host_of(url: str, host: str) -> None:
    assert host_of(url) == host


def test_same_origin() -> None:
    assert same_origin("https://a.example/x", "https://A.example:443/y")
    assert not same_origin("https://a.example/x", "http://a.example/x")
    assert not same_origin("https://a.example/x", "https://a.example:8443/x")
    assert not same_origin("https://a.example/x", "https://b.example/x")
    assert not same_origin("https://a.example.evil/x", "https://a.example/x")
    assert not same_origin("not a url", "not a url")


def test_keys_round_trip() -> None:
    private = generate_private_key_pem(bits=2048)
    public = public_key_pem(private)
    assert public.startswith("-----BEGIN PUBLIC KEY-----")
    assert load_public_key(public) is load_public_key(public)  # cached
    assert load_private_key(private).key_size == 2048  # type: ignore[union-attr]
    with pytest.raises(KeyNotFoundError):
        load_public_key("-----BEGIN PUBLIC KEY-----\ngarbage\n-----END PUBLIC KEY-----")
    with pytest.raises(KeyNotFoundError):
        load_private_key("nope")


def test_nodeinfo_links() -> None:
    links = nodeinfo_links("https://local.example/")
    assert links["links"] == [
        {
            "rel": "http://nodeinfo.diaspora.software/ns/schema/2.0",
            "href": "https://local.example/nodeinfo/2.0",
        },
        {
            "rel": "http://nodeinfo.diaspora.software/ns/schema/2.1",
            "href": "https://local.example/nodeinfo/2.1",
        },
    ]


@pytest.mark.parametrize("version", ["2.0", "2.1"])
def test_nodeinfo_document(version: str) -> None:
    doc = nodeinfo_document(
        version,
        software_name="slowpub",
        software_version="0.1.0",
        repository="https://example.org/slowpub",
        homepage="https://slowpub.example",
        open_registrations=False,
        users_total=1,
        active_month=1,
        active_halfyear=1,
        local_posts=3,
        metadata={"nodeName": "x"},
    )
    assert doc["version"] == version
    assert doc["protocols"] == ["activitypub"]
    assert doc["services"] == {"inbound": [], "outbound": []}
    assert doc["usage"] == {
        "users": {"total": 1, "activeMonth": 1, "activeHalfyear": 1},
        "localPosts": 3,
    }
    # Schema 2.0 forbids extra software properties (additionalProperties: false).
    expected_software = {"name", "version"} | (
        {"repository", "homepage"} if version == "2.1" else set()
    )
    assert set(doc["software"]) == expected_software
    assert set(doc) == {
        "version",
        "software",
        "protocols",
        "services",
        "openRegistrations",
        "usage",
        "metadata",
    }


def test_nodeinfo_refuses_bad_input() -> None:
    kwargs: dict[str, object] = {
        "software_version": "1",
        "repository": None,
        "homepage": None,
        "open_registrations": False,
        "users_total": 0,
        "active_month": 0,
        "active_halfyear": 0,
        "local_posts": 0,
        "metadata": {},
    }
    with pytest.raises(ValueError):
        nodeinfo_document("3.0", software_name="slowpub", **kwargs)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        nodeinfo_document("2.1", software_name="SlowPub", **kwargs)  # type: ignore[arg-type]
