"""WebFinger, host-meta, NodeInfo and actor documents as Mastodon reads them."""

from __future__ import annotations

import httpx
from tests_support import ap_get

from federation.vocab import AP_CONTENT_TYPE
from slowpub.social.accounts import create_user

AS_LD = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'


async def test_webfinger_acct_and_actor_url(alpha) -> None:
    await create_user(alpha.ctx, "Alice", password="correct horse", display_name="Alice A")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=alpha.app)) as client:
        r = await client.get(
            "https://alpha.test/.well-known/webfinger",
            params={"resource": "acct:alice@alpha.test"},
        )
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("application/jrd+json")
        doc = r.json()
        assert doc["subject"] == "acct:alice@alpha.test"
        self_links = [link for link in doc["links"] if link["rel"] == "self"]
        assert self_links == [
            {"rel": "self", "type": AP_CONTENT_TYPE, "href": "https://alpha.test/users/alice"}
        ]
        # Mastodon's loop-back: the actor URL resolves to the same subject.
        r2 = await client.get(
            "https://alpha.test/.well-known/webfinger",
            params={"resource": "https://alpha.test/users/alice"},
        )
        assert r2.json()["subject"] == "acct:alice@alpha.test"
        # Case-insensitive, as Mastodon users type handles any way.
        r3 = await client.get(
            "https://alpha.test/.well-known/webfinger",
            params={"resource": "acct:ALICE@alpha.test"},
        )
        assert r3.json()["subject"] == "acct:alice@alpha.test"


async def test_webfinger_errors(alpha) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=alpha.app)) as client:
        base = "https://alpha.test/.well-known/webfinger"
        missing = await client.get(base)
        assert missing.status_code == 400 and "resource" in missing.json()["error"]
        unknown = await client.get(base, params={"resource": "acct:nobody@alpha.test"})
        assert unknown.status_code == 404
        other = await client.get(base, params={"resource": "acct:alice@elsewhere.test"})
        assert other.status_code == 404
        garbage = await client.get(base, params={"resource": "acct:not an account"})
        assert garbage.status_code == 400


async def test_actor_document_and_negotiation(alpha) -> None:
    await create_user(alpha.ctx, "alice", password="correct horse", display_name="Alice A")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=alpha.app)) as client:
        for accept in (AP_CONTENT_TYPE, AS_LD):
            r = await client.get("https://alpha.test/users/alice", headers={"Accept": accept})
            assert r.status_code == 200
            assert r.headers["content-type"] == AP_CONTENT_TYPE
            actor = r.json()
            assert actor["id"] == "https://alpha.test/users/alice"
            assert actor["type"] == "Person"
            assert actor["preferredUsername"] == "alice"
            assert actor["name"] == "Alice A"
            assert actor["inbox"] == "https://alpha.test/users/alice/inbox"
            assert actor["endpoints"]["sharedInbox"] == "https://alpha.test/inbox"
            assert actor["publicKey"]["id"] == "https://alpha.test/users/alice#main-key"
            assert actor["publicKey"]["owner"] == actor["id"]
            assert actor["publicKey"]["publicKeyPem"].startswith("-----BEGIN PUBLIC KEY-----")
            assert actor["manuallyApprovesFollowers"] is False
            assert "https://www.w3.org/ns/activitystreams" in actor["@context"]
        html = await client.get(
            "https://alpha.test/users/alice", headers={"Accept": "text/html,application/xhtml+xml"}
        )
        assert html.status_code == 200
        assert html.headers["content-type"].startswith("text/html")
        assert "@alice@alpha.test" in html.text
        missing = await client.get(
            "https://alpha.test/users/bob", headers={"Accept": AP_CONTENT_TYPE}
        )
        assert missing.status_code == 404


async def test_collections_hide_counts_by_default(alpha) -> None:
    await create_user(alpha.ctx, "alice", password="correct horse")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=alpha.app)) as client:
        for kind in ("followers", "following"):
            doc = await ap_get(client, f"https://alpha.test/users/alice/{kind}")
            assert doc["type"] == "OrderedCollection"
            # Mastodon treats a collection without totalItems and first as hidden.
            assert "totalItems" not in doc and "first" not in doc
        outbox = await ap_get(client, "https://alpha.test/users/alice/outbox")
        assert "totalItems" not in outbox


async def test_instance_actor_and_nodeinfo(alpha) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=alpha.app)) as client:
        service = await ap_get(client, "https://alpha.test/actor")
        assert service["type"] == "Service"
        assert service["publicKey"]["owner"] == "https://alpha.test/actor"
        wf = await client.get(
            "https://alpha.test/.well-known/webfinger",
            params={"resource": "acct:alpha.test@alpha.test"},
        )
        self_link = next(link for link in wf.json()["links"] if link["rel"] == "self")
        assert self_link["href"] == "https://alpha.test/actor"
        links = (await client.get("https://alpha.test/.well-known/nodeinfo")).json()["links"]
        hrefs = {link["href"] for link in links}
        assert (
            "https://alpha.test/nodeinfo/2.1" in hrefs
            and "https://alpha.test/nodeinfo/2.0" in hrefs
        )
        for version in ("2.0", "2.1"):
            info = (await client.get(f"https://alpha.test/nodeinfo/{version}")).json()
            assert info["version"] == version
            assert info["software"]["name"] == "slowpub"
            assert info["protocols"] == ["activitypub"]
        meta = await client.get("https://alpha.test/.well-known/host-meta")
        assert "https://alpha.test/.well-known/webfinger?resource={uri}" in meta.text
