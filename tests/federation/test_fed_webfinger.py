"""WebFinger account parsing, lookup and our own documents."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import httpx
import pytest

from federation.errors import WebFingerError
from federation.webfinger import (
    account_of_actor,
    host_meta_xrd,
    jrd_for_actor,
    lookup,
    parse_account,
)

# Shaped like mastodon.social's answer.
MASTODON_JRD = {
    "subject": "acct:Gargron@mastodon.social",
    "aliases": ["https://mastodon.social/@Gargron", "https://mastodon.social/users/Gargron"],
    "links": [
        {
            "rel": "http://webfinger.net/rel/profile-page",
            "type": "text/html",
            "href": "https://mastodon.social/@Gargron",
        },
        {
            "rel": "self",
            "type": "application/activity+json",
            "href": "https://mastodon.social/users/Gargron",
        },
        {
            "rel": "http://ostatus.org/schema/1.0/subscribe",
            "template": "https://mastodon.social/authorize_interaction?uri={uri}",
        },
    ],
}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("alice@example.com", ("alice", "example.com")),
        ("@alice@Example.COM", ("alice", "example.com")),
        ("acct:alice@example.com", ("alice", "example.com")),
        ("ACCT:alice@example.com", ("alice", "example.com")),
        (" alice@localhost:8000 ", ("alice", "localhost:8000")),
        ("Al.ice_1@sub.example.org", ("Al.ice_1", "sub.example.org")),
    ],
)
def test_parse_account(value: str, expected: tuple[str, str]) -> None:
    assert parse_account(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "",
        "alice",
        "@alice",
        "alice@",
        "@example.com",
        "a@b@c",
        "a b@example.com",
        "a@exa mple.com",
        "a@-x.com",
        "https://example.com/@a",
    ],
)
def test_parse_account_refuses(value: str) -> None:
    with pytest.raises(WebFingerError):
        parse_account(value)


def _client(routes: dict[str, httpx.Response]) -> tuple[httpx.AsyncClient, list[str]]:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return routes.get(str(request.url), httpx.Response(404))

    return httpx.AsyncClient(transport=httpx.MockTransport(handler)), seen


WF_URL = "https://mastodon.social/.well-known/webfinger?resource=acct%3AGargron%40mastodon.social"


async def test_lookup_mastodon_jrd() -> None:
    client, seen = _client(
        {
            WF_URL: httpx.Response(
                200,
                json=MASTODON_JRD,
                headers={"Content-Type": "application/jrd+json; charset=utf-8"},
            )
        }
    )
    async with client:
        actor = await lookup(client, "@Gargron@mastodon.social", allow_private=False)
    assert actor == "https://mastodon.social/users/Gargron"
    assert seen == [WF_URL]


async def test_lookup_without_self_link() -> None:
    jrd = {**MASTODON_JRD, "links": MASTODON_JRD["links"][:1]}
    client, _ = _client({WF_URL: httpx.Response(200, json=jrd)})
    async with client:
        with pytest.raises(WebFingerError, match="self link"):
            await lookup(client, "Gargron@mastodon.social", allow_private=False)


async def test_lookup_falls_back_to_host_meta() -> None:
    xrd = host_meta_xrd("https://wf.example")
    lrdd = "https://wf.example/.well-known/webfinger?resource=acct%3AGargron%40mastodon.social"
    client, seen = _client(
        {
            "https://mastodon.social/.well-known/host-meta": httpx.Response(
                200, text=xrd, headers={"Content-Type": "application/xrd+xml"}
            ),
            lrdd: httpx.Response(200, json=MASTODON_JRD),
        }
    )
    async with client:
        assert (
            await lookup(client, "Gargron@mastodon.social", allow_private=False)
            == "https://mastodon.social/users/Gargron"
        )
    assert seen[-1] == lrdd


async def test_lookup_fails_with_reason() -> None:
    client, _ = _client({})
    async with client:
        with pytest.raises(WebFingerError, match="cannot resolve"):
            await lookup(client, "nobody@mastodon.social", allow_private=False)


async def test_lookup_http_scheme_for_development() -> None:
    url = "http://localhost:8000/.well-known/webfinger?resource=acct%3Aalice%40localhost%3A8000"
    jrd = jrd_for_actor(
        "acct:alice@localhost:8000",
        "http://localhost:8000/users/alice",
        "http://localhost:8000/@alice",
        [],
    )
    client, _ = _client({url: httpx.Response(200, json=jrd)})
    async with client:
        actor = await lookup(
            client, "alice@localhost:8000", allow_private=True, schemes=("https", "http")
        )
    assert actor == "http://localhost:8000/users/alice"


REVERSE_URL = (
    "https://mastodon.social/.well-known/webfinger"
    "?resource=https%3A%2F%2Fmastodon.social%2Fusers%2FGargron"
)


async def test_reverse_lookup_names_the_actor() -> None:
    client, seen = _client({REVERSE_URL: httpx.Response(200, json=MASTODON_JRD)})
    async with client:
        account = await account_of_actor(
            client, "https://mastodon.social/users/Gargron", allow_private=False
        )
    assert account == ("Gargron", "mastodon.social") and seen == [REVERSE_URL]


async def test_reverse_lookup_must_point_back_to_the_actor() -> None:
    # A host answering with someone else's account for this id names nobody.
    other = {**MASTODON_JRD, "subject": "acct:admin@mastodon.social"}
    other["links"] = [
        {**link, "href": "https://mastodon.social/users/admin"} for link in MASTODON_JRD["links"]
    ]
    client, _ = _client({REVERSE_URL: httpx.Response(200, json=other)})
    async with client:
        with pytest.raises(WebFingerError, match="point back"):
            await account_of_actor(
                client, "https://mastodon.social/users/Gargron", allow_private=False
            )


def test_jrd_for_actor_shape() -> None:
    jrd = jrd_for_actor(
        "acct:alice@local.example",
        "https://local.example/users/alice",
        "https://local.example/@alice",
        ["https://local.example/@alice"],
        subscribe_template="https://local.example/authorize_interaction?uri={uri}",
    )
    assert jrd["subject"] == "acct:alice@local.example"
    rels = {link["rel"]: link for link in jrd["links"]}
    assert rels["self"] == {
        "rel": "self",
        "type": "application/activity+json",
        "href": "https://local.example/users/alice",
    }
    assert rels["http://webfinger.net/rel/profile-page"]["type"] == "text/html"
    assert "template" in rels["http://ostatus.org/schema/1.0/subscribe"]


def test_host_meta_xrd() -> None:
    root = ET.fromstring(host_meta_xrd("https://local.example/"))
    link = root.find("{http://docs.oasis-open.org/ns/xri/xrd-1.0}Link")
    assert link is not None
    assert link.get("rel") == "lrdd"
    assert link.get("template") == "https://local.example/.well-known/webfinger?resource={uri}"
