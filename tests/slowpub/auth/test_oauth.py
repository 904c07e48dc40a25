"""The OAuth 2.0 server, driven over HTTP the way Mastodon clients and RFC clients do."""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from slowpub.auth import access
from slowpub.social.accounts import create_user
from slowpub.storage.models import OAuthToken

OOB = "urn:ietf:wg:oauth:2.0:oob"
CALLBACK = "https://client.example/callback"


@pytest.fixture
async def alice(alpha):
    return await create_user(alpha.ctx, "alice", password="correct horse", email="alice@mail.test")


@pytest.fixture
async def client(alpha):
    transport = httpx.ASGITransport(app=alpha.app)
    async with httpx.AsyncClient(transport=transport, base_url="https://alpha.test") as http:
        yield http


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def hidden_fields(page: str) -> dict[str, str]:
    pairs = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page)
    return {name: html.unescape(value) for name, value in pairs}


async def mastodon_app(
    client: httpx.AsyncClient, redirect_uris: str = CALLBACK, scopes: str = "read write follow"
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/apps",
        data={"client_name": "Toot", "redirect_uris": redirect_uris, "scopes": scopes},
    )
    assert response.status_code == 200, response.text
    return response.json()


async def public_app(client: httpx.AsyncClient, redirect_uris: list[str]) -> dict[str, Any]:
    response = await client.post(
        "/oauth/register",
        json={
            "client_name": "Public",
            "redirect_uris": redirect_uris,
            "token_endpoint_auth_method": "none",
            "scope": "read write",
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


async def authorize(
    client: httpx.AsyncClient,
    client_id: str,
    *,
    redirect_uri: str | None = CALLBACK,
    challenge: str | None = None,
    scope: str | None = "read write",
    login: bool = True,
    decision: str = "allow",
) -> httpx.Response:
    """Open the consent page, log in on it if asked, and answer."""
    params = {"response_type": "code", "client_id": client_id, "state": "st4te"}
    if redirect_uri is not None:
        params["redirect_uri"] = redirect_uri
    if scope is not None:
        params["scope"] = scope
    if challenge is not None:
        params |= {"code_challenge": challenge, "code_challenge_method": "S256"}
    page = await client.get("/oauth/authorize", params=params)
    assert page.status_code == 200, page.text
    assert page.headers["x-frame-options"] == "DENY"
    form = hidden_fields(page.text) | {"decision": decision}
    if login:
        form |= {"username": "alice", "password": "correct horse"}
    return await client.post("/oauth/authorize", data=form)


def redirect_params(response: httpx.Response, starts: str = CALLBACK) -> dict[str, str]:
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith(starts)
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


async def get_code(client, app, *, redirect_uri=CALLBACK, challenge=None) -> str:
    answer = redirect_params(
        await authorize(client, app["client_id"], redirect_uri=redirect_uri, challenge=challenge)
    )
    assert answer["state"] == "st4te"
    assert answer["iss"] == "https://alpha.test"
    return answer["code"]


async def exchange(client, app, code, **extra) -> httpx.Response:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": app["client_id"],
        "redirect_uri": CALLBACK,
        **extra,
    }
    if app.get("client_secret"):
        data["client_secret"] = app["client_secret"]
    return await client.post("/oauth/token", data={k: v for k, v in data.items() if v})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- discovery and registration -------------------------------------------


async def test_server_metadata(client) -> None:
    doc = (await client.get("/.well-known/oauth-authorization-server")).json()
    assert doc["issuer"] == "https://alpha.test"
    assert doc["authorization_endpoint"] == "https://alpha.test/oauth/authorize"
    assert doc["token_endpoint"] == "https://alpha.test/oauth/token"
    assert doc["revocation_endpoint"] == "https://alpha.test/oauth/revoke"
    assert doc["registration_endpoint"] == "https://alpha.test/oauth/register"
    assert doc["app_registration_endpoint"] == "https://alpha.test/api/v1/apps"
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["response_types_supported"] == ["code"]
    assert "password" in doc["grant_types_supported"]
    assert "write:statuses" in doc["scopes_supported"]
    assert "none" in doc["token_endpoint_auth_methods_supported"]


async def test_metadata_omits_password_grant_when_disabled(alpha, client) -> None:
    alpha.ctx.settings = alpha.ctx.settings.with_overrides(allow_password_grant=False)
    doc = (await client.get("/.well-known/oauth-authorization-server")).json()
    assert doc["grant_types_supported"] == ["authorization_code", "client_credentials"]


async def test_mastodon_app_registration_form_and_json(client) -> None:
    app = await mastodon_app(client, redirect_uris=f"{CALLBACK}\n{OOB}")
    assert app["name"] == "Toot"
    assert app["scopes"] == ["read", "write", "follow"]
    assert app["redirect_uris"] == [CALLBACK, OOB]
    assert app["redirect_uri"] == f"{CALLBACK}\n{OOB}"
    assert app["client_id"] and app["client_secret"]
    assert app["client_secret_expires_at"] == 0
    assert isinstance(app["id"], str)

    response = await client.post(
        "/api/v1/apps",
        json={
            "client_name": "Json",
            "redirect_uris": [CALLBACK],
            "website": "https://client.example",
        },
    )
    assert response.status_code == 200
    doc = response.json()
    assert doc["scopes"] == ["read"]
    assert doc["website"] == "https://client.example"
    assert doc["redirect_uris"] == [CALLBACK]

    files = {"client_name": (None, "Multi"), "redirect_uris": (None, OOB)}
    assert (await client.post("/api/v1/apps", files=files)).status_code == 200


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"scopes": "read admin:everything"}, "Validation failed: Scopes"),
        ({"redirect_uris": "/relative"}, "Validation failed: Redirect URI must be an absolute"),
        ({"redirect_uris": "javascript:alert(1)"}, "Validation failed: Redirect URI is forbidden"),
        ({"redirect_uris": ""}, "Validation failed: Redirect URI can't be blank"),
        ({"client_name": ""}, "Validation failed: Name can't be blank"),
    ],
)
async def test_mastodon_app_registration_refusals(client, fields, message) -> None:
    data = {"client_name": "Bad", "redirect_uris": OOB, **fields}
    response = await client.post("/api/v1/apps", data=data)
    assert response.status_code == 422
    assert response.json()["error"].startswith(message)


async def test_dynamic_registration_public_and_confidential(client) -> None:
    public = await public_app(client, ["http://127.0.0.1/cb"])
    assert "client_secret" not in public
    assert public["token_endpoint_auth_method"] == "none"
    assert public["redirect_uris"] == ["http://127.0.0.1/cb"]
    assert public["scope"] == "read write"
    assert isinstance(public["client_id_issued_at"], int)

    response = await client.post(
        "/oauth/register",
        json={
            "client_name": "Server app",
            "redirect_uris": [CALLBACK],
            "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
            "client_uri": "https://client.example",
            "logo_uri": "https://client.example/logo.png",
        },
    )
    assert response.status_code == 201
    confidential = response.json()
    assert confidential["client_secret"]
    assert confidential["client_secret_expires_at"] == 0
    assert confidential["grant_types"] == ["authorization_code", "client_credentials"]
    assert confidential["token_endpoint_auth_method"] == "client_secret_basic"
    assert confidential["client_uri"] == "https://client.example"
    assert confidential["logo_uri"] == "https://client.example/logo.png"

    bad_uri = await client.post("/oauth/register", json={"redirect_uris": ["no-scheme"]})
    assert bad_uri.status_code == 400
    assert bad_uri.json()["error"] == "invalid_redirect_uri"
    bad_scope = await client.post(
        "/oauth/register", json={"redirect_uris": [CALLBACK], "scope": "root"}
    )
    assert bad_scope.status_code == 400
    assert bad_scope.json()["error"] == "invalid_client_metadata"
    no_uris = await client.post("/oauth/register", json={"client_name": "x"})
    assert no_uris.json()["error"] == "invalid_redirect_uri"


# --- the authorization code flow ---------------------------------------------


async def test_code_flow_with_pkce_end_to_end(alpha, alice, client) -> None:
    app = await mastodon_app(client)
    verifier, challenge = pkce()
    page = await client.get(
        "/oauth/authorize",
        params={
            "response_type": "code",
            "client_id": app["client_id"],
            "redirect_uri": CALLBACK,
            "scope": "read write",
            "state": "st4te",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )
    assert "Toot" in page.text and "Log in" in page.text
    assert 'name="password"' in page.text
    form = hidden_fields(page.text)
    assert form["csrf"]

    wrong = form | {"username": "alice", "password": "nope nope", "decision": "allow"}
    refused = await client.post("/oauth/authorize", data=wrong)
    assert refused.status_code == 401
    assert "Wrong username or password" in refused.text

    form = hidden_fields(refused.text) | {
        "username": "alice",
        "password": "correct horse",
        "decision": "allow",
    }
    answer = redirect_params(await client.post("/oauth/authorize", data=form))
    assert answer["state"] == "st4te"

    response = await exchange(client, app, answer["code"], code_verifier=verifier)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    issued = response.json()
    assert issued["token_type"] == "Bearer"
    assert issued["scope"] == "read write"
    assert issued["created_at"] == int(alpha.ctx.clock.now().timestamp())

    me = await client.get("/api/v1/apps/verify_credentials", headers=bearer(issued["access_token"]))
    assert me.status_code == 200
    assert me.json()["name"] == "Toot"
    assert "client_secret" not in me.json()

    info = await access.authenticate(alpha.ctx, f"Bearer {issued['access_token']}")
    assert info.user is not None and info.user.username == "alice"
    assert info.scopes == frozenset({"read", "write"})

    # Now logged in: the page asks only for consent.
    page = await client.get("/oauth/authorize", params={**answer_params(app), "scope": "read"})
    assert "logged in as" in page.text and 'name="password"' not in page.text
    form = hidden_fields(page.text) | {"decision": "allow"}
    code = redirect_params(await client.post("/oauth/authorize", data=form))["code"]
    token = (await exchange(client, app, code)).json()
    assert token["scope"] == "read"


def answer_params(app: dict[str, Any]) -> dict[str, str]:
    return {"response_type": "code", "client_id": app["client_id"], "redirect_uri": CALLBACK}


async def test_login_by_email_and_force_login(alice, client) -> None:
    app = await mastodon_app(client)
    params = answer_params(app)
    page = await client.get("/oauth/authorize", params=params)
    form = hidden_fields(page.text) | {
        "username": "Alice@Mail.test",
        "password": "correct horse",
        "decision": "allow",
    }
    redirect_params(await client.post("/oauth/authorize", data=form))
    page = await client.get("/oauth/authorize", params={**params, "force_login": "true"})
    assert 'name="password"' in page.text


async def test_default_scope_and_redirect_uri(alice, client) -> None:
    app = await mastodon_app(client, scopes="read follow")
    response = await authorize(client, app["client_id"], redirect_uri=None, scope=None)
    code = redirect_params(response)["code"]
    token = await client.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
        },
    )
    assert token.status_code == 200, token.text
    assert token.json()["scope"] == "read follow"


async def test_deny_redirects_with_access_denied(alice, client) -> None:
    app = await mastodon_app(client)
    answer = redirect_params(
        await authorize(client, app["client_id"], login=False, decision="deny")
    )
    assert answer == {
        "error": "access_denied",
        "error_description": "The user said no",
        "state": "st4te",
        "iss": "https://alpha.test",
    }


async def test_bad_client_or_redirect_uri_is_shown_not_redirected(client) -> None:
    app = await mastodon_app(client)
    unknown = await client.get(
        "/oauth/authorize",
        params={"response_type": "code", "client_id": "nope", "redirect_uri": CALLBACK},
    )
    assert unknown.status_code == 400
    assert "not registered" in unknown.text
    elsewhere = await client.get(
        "/oauth/authorize",
        params={**answer_params(app), "redirect_uri": "https://evil.example/callback"},
    )
    assert elsewhere.status_code == 400
    assert "location" not in elsewhere.headers


async def test_other_errors_go_back_to_the_client(client) -> None:
    app = await mastodon_app(client, scopes="read")
    for params, error in [
        ({"scope": "write"}, "invalid_scope"),
        ({"scope": "read bogus"}, "invalid_scope"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"code_challenge": pkce()[1], "code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": pkce()[1]}, "invalid_request"),
    ]:
        response = await client.get(
            "/oauth/authorize", params={**answer_params(app), "state": "s", **params}
        )
        answer = redirect_params(response)
        assert answer["error"] == error, params
        assert answer["state"] == "s"


async def test_loopback_redirect_matches_any_port(alice, client) -> None:
    app = await public_app(client, ["http://127.0.0.1/callback"])
    verifier, challenge = pkce()
    uri = "http://127.0.0.1:49152/callback"
    answer = redirect_params(
        await authorize(client, app["client_id"], redirect_uri=uri, challenge=challenge),
        starts=uri,
    )
    token = await exchange(client, app, answer["code"], redirect_uri=uri, code_verifier=verifier)
    assert token.status_code == 200, token.text
    # Only the port may differ.
    other_path = await client.get(
        "/oauth/authorize",
        params={
            "response_type": "code",
            "client_id": app["client_id"],
            "redirect_uri": "http://127.0.0.1:49152/elsewhere",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )
    assert other_path.status_code == 400


async def test_oob_shows_the_code(alice, client) -> None:
    app = await mastodon_app(client, redirect_uris=OOB)
    response = await authorize(client, app["client_id"], redirect_uri=OOB)
    assert response.status_code == 200
    code = re.search(r'<code id="code">([^<]+)</code>', response.text)
    assert code is not None
    token = await exchange(client, app, code.group(1), redirect_uri=OOB)
    assert token.status_code == 200, token.text


async def test_code_exchange_failures(network, alpha, alice, client) -> None:
    app = await mastodon_app(client)
    verifier, challenge = pkce()

    code = await get_code(client, app, challenge=challenge)
    wrong = await exchange(client, app, code, code_verifier=pkce()[0])
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant"
    # The failed attempt used the code up.
    assert (await exchange(client, app, code, code_verifier=verifier)).status_code == 400

    code = await get_code(client, app, challenge=challenge)
    missing = await exchange(client, app, code)
    assert missing.json()["error"] == "invalid_grant"

    code = await get_code(client, app, challenge=challenge)
    first = await exchange(client, app, code, code_verifier=verifier)
    assert first.status_code == 200
    bought = {"Authorization": f"Bearer {first.json()['access_token']}"}
    assert (await client.get("/api/v1/apps/verify_credentials", headers=bought)).status_code == 200
    reused = await exchange(client, app, code, code_verifier=verifier)
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"
    # A replayed code revokes the token it had bought (RFC 6749 §4.1.2).
    assert (await client.get("/api/v1/apps/verify_credentials", headers=bought)).status_code == 401

    code = await get_code(client, app, challenge=challenge)
    network.clock.advance(timedelta(minutes=11))
    expired = await exchange(client, app, code, code_verifier=verifier)
    assert expired.json() == {
        "error": "invalid_grant",
        "error_description": "The authorization code expired",
    }

    code = await get_code(client, app)
    moved = await exchange(client, app, code, redirect_uri="https://client.example/other")
    assert moved.json()["error"] == "invalid_grant"

    # A verifier where no challenge was made is a downgrade attempt.
    code = await get_code(client, app)
    downgrade = await exchange(client, app, code, code_verifier=verifier)
    assert downgrade.json()["error"] == "invalid_grant"

    # Another client cannot redeem the code (nor spoil it for its owner).
    other = await mastodon_app(client)
    code = await get_code(client, app)
    stolen = await exchange(client, other, code)
    assert stolen.json()["error"] == "invalid_grant"
    assert (await exchange(client, app, code)).status_code == 200


async def test_public_client_needs_pkce(alice, client) -> None:
    app = await public_app(client, [CALLBACK])
    refused = await client.get("/oauth/authorize", params={**answer_params(app), "state": "s"})
    answer = redirect_params(refused)
    assert answer["error"] == "invalid_request"
    assert "PKCE" in answer["error_description"]


async def test_client_authentication(alice, client) -> None:
    app = await mastodon_app(client)
    code = await get_code(client, app)
    bad = await client.post(
        "/oauth/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK},
        auth=(app["client_id"], "wrong"),
    )
    assert bad.status_code == 401
    assert bad.json()["error"] == "invalid_client"
    assert bad.headers["www-authenticate"].startswith("Basic")

    code = await get_code(client, app)
    good = await client.post(
        "/oauth/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK},
        auth=(app["client_id"], app["client_secret"]),
    )
    assert good.status_code == 200, good.text

    code = await get_code(client, app)
    no_secret = await client.post(
        "/oauth/token",
        data={"grant_type": "authorization_code", "code": code, "client_id": app["client_id"]},
    )
    assert no_secret.status_code == 401

    odd = await client.post("/oauth/token", data={"grant_type": "implicit", **secret_of(app)})
    assert odd.json()["error"] == "unsupported_grant_type"


def secret_of(app: dict[str, Any]) -> dict[str, str]:
    return {"client_id": app["client_id"], "client_secret": app["client_secret"]}


# --- the other grants ----------------------------------------------------------


async def test_password_grant_by_username_and_email(alice, client) -> None:
    app = await mastodon_app(client)
    for login in ("alice", "@alice", "alice@mail.test"):
        response = await client.post(
            "/oauth/token",
            json={
                "grant_type": "password",
                "username": login,
                "password": "correct horse",
                "scope": "read write",
                **secret_of(app),
            },
        )
        assert response.status_code == 200, response.text
        assert response.json()["scope"] == "read write"
    wrong = await client.post(
        "/oauth/token",
        data={"grant_type": "password", "username": "alice", "password": "x", **secret_of(app)},
    )
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant"
    default = await client.post(
        "/oauth/token",
        data={
            "grant_type": "password",
            "username": "alice",
            "password": "correct horse",
            **secret_of(app),
        },
    )
    assert default.json()["scope"] == "read"


async def test_password_grant_can_be_disabled(alpha, alice, client) -> None:
    alpha.ctx.settings = alpha.ctx.settings.with_overrides(allow_password_grant=False)
    app = await mastodon_app(client)
    response = await client.post(
        "/oauth/token",
        data={
            "grant_type": "password",
            "username": "alice",
            "password": "correct horse",
            **secret_of(app),
        },
    )
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


async def test_client_credentials(alpha, client) -> None:
    app = await mastodon_app(client)
    response = await client.post(
        "/oauth/token", data={"grant_type": "client_credentials", **secret_of(app)}
    )
    assert response.status_code == 200, response.text
    issued = response.json()
    assert issued["scope"] == "read"
    me = await client.get("/api/v1/apps/verify_credentials", headers=bearer(issued["access_token"]))
    assert me.json()["client_id"] == app["client_id"]
    info = await access.authenticate(alpha.ctx, f"Bearer {issued['access_token']}")
    assert info.user is None

    public = await public_app(client, [CALLBACK])
    refused = await client.post(
        "/oauth/token", data={"grant_type": "client_credentials", "client_id": public["client_id"]}
    )
    assert refused.json()["error"] == "unauthorized_client"


# --- using and revoking tokens ----------------------------------------------


async def password_token(client, app, scope: str = "read") -> str:
    response = await client.post(
        "/oauth/token",
        data={
            "grant_type": "password",
            "username": "alice",
            "password": "correct horse",
            "scope": scope,
            **secret_of(app),
        },
    )
    return response.json()["access_token"]


async def test_revoke_then_401(alice, client) -> None:
    app = await mastodon_app(client)
    token = await password_token(client, app)
    assert (
        await client.get("/api/v1/apps/verify_credentials", headers=bearer(token))
    ).status_code == 200

    # Another client cannot revoke it; unknown tokens are "revoked" silently.
    other = await mastodon_app(client)
    assert (
        await client.post("/oauth/revoke", data={"token": token, **secret_of(other)})
    ).status_code == 200
    assert (
        await client.post("/oauth/revoke", data={"token": "unknown", **secret_of(app)})
    ).json() == {}
    assert (
        await client.get("/api/v1/apps/verify_credentials", headers=bearer(token))
    ).status_code == 200

    response = await client.post("/oauth/revoke", data={"token": token, **secret_of(app)})
    assert response.status_code == 200
    after = await client.get("/api/v1/apps/verify_credentials", headers=bearer(token))
    assert after.status_code == 401
    assert after.json() == {"error": "The access token was revoked"}

    unauthenticated = await client.post("/oauth/revoke", data={"token": token})
    assert unauthenticated.status_code == 401


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer garbage", "Basic YTpi", "bearer  "])
async def test_missing_or_garbage_bearer_is_401(client, header) -> None:
    headers = {"Authorization": header} if header else {}
    response = await client.get("/api/v1/apps/verify_credentials", headers=headers)
    assert response.status_code == 401
    assert response.json() == {"error": "The access token is invalid"}


async def test_require_auth_scopes_and_users(alpha, alice, client) -> None:
    async def needs(request: Request) -> Response:
        scope = request.query_params.get("scope") or None
        user = request.query_params.get("user") != "no"
        info = await access.require_auth(request, scope, user_required=user)
        return JSONResponse({"user": info.user.username if info.user else None})

    probe = Starlette(
        routes=[Route("/probe", needs)], exception_handlers=alpha.app.exception_handlers
    )
    probe.state.ctx = alpha.ctx
    app = await mastodon_app(client)
    read_token = await password_token(client, app, "read follow")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=probe), base_url="https://alpha.test"
    ) as http:

        async def call(token: str, **params: str) -> httpx.Response:
            return await http.get("/probe", params=params, headers=bearer(token))

        assert (await call(read_token, scope="read:statuses")).json() == {"user": "alice"}
        assert (await call(read_token, scope="write:follows")).status_code == 200
        denied = await call(read_token, scope="write:statuses")
        assert denied.status_code == 403
        assert denied.json() == {"error": "This action is outside the authorized scopes"}
        assert (await call("nope")).status_code == 401

        app_token = (
            await client.post(
                "/oauth/token", data={"grant_type": "client_credentials", **secret_of(app)}
            )
        ).json()["access_token"]
        needs_user = await call(app_token, scope="read")
        assert needs_user.status_code == 422
        assert needs_user.json() == {"error": "This method requires an authenticated user"}
        assert (await call(app_token, scope="read", user="no")).json() == {"user": None}


async def test_last_used_at_is_written_at_most_once_a_minute(network, alpha, alice, client) -> None:
    app = await mastodon_app(client)
    token = await password_token(client, app)

    async def last_used():
        async with alpha.ctx.db.sessions() as session:
            return (await session.execute(select(OAuthToken.last_used_at))).scalar_one()

    start = alpha.ctx.clock.now()
    await access.authenticate(alpha.ctx, f"Bearer {token}")
    assert await last_used() == start
    network.clock.advance(timedelta(seconds=30))
    await access.authenticate(alpha.ctx, f"Bearer {token}")
    assert await last_used() == start
    network.clock.advance(timedelta(seconds=31))
    await access.authenticate(alpha.ctx, f"Bearer {token}")
    assert await last_used() == alpha.ctx.clock.now()


def test_scope_allows() -> None:
    assert access.scope_allows({"read"}, "read:statuses")
    assert not access.scope_allows({"read:statuses"}, "read")
    assert access.scope_allows({"write"}, "write:media")
    assert not access.scope_allows({"write"}, "read:statuses")
    assert access.scope_allows({"follow"}, "write:blocks")
    assert not access.scope_allows({"follow"}, "write:statuses")
    assert access.scope_allows({"profile"}, "profile")
    assert not access.scope_allows({"profile"}, "read:accounts")
    assert not access.scope_allows({"read"}, "push")


# --- client metadata documents ---------------------------------------------


def metadata_host(network, host: str, doc: dict[str, Any]) -> None:
    async def serve(request: Request) -> Response:
        return JSONResponse(doc)

    network.transport.add(host, Starlette(routes=[Route("/client.json", serve)]))


async def test_client_metadata_document(network, alpha, alice, client) -> None:
    client_id = "https://app.example/client.json"
    metadata_host(
        network,
        "app.example",
        {
            "client_id": client_id,
            "client_name": "Metadata App",
            "client_uri": "https://app.example",
            "redirect_uris": ["https://app.example/callback"],
            "token_endpoint_auth_method": "none",
        },
    )
    verifier, challenge = pkce()
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": "https://app.example/callback",
        "scope": "read",
        "state": "s",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    page = await client.get("/oauth/authorize", params=params)
    assert page.status_code == 200, page.text
    assert "Metadata App" in page.text and client_id in page.text
    assert "Unverified" not in page.text
    form = hidden_fields(page.text) | {
        "username": "alice",
        "password": "correct horse",
        "decision": "allow",
    }
    code = redirect_params(
        await client.post("/oauth/authorize", data=form), starts="https://app.example/callback"
    )["code"]
    token = await client.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "client_id": client_id,
            "redirect_uri": "https://app.example/callback",
            "code_verifier": verifier,
        },
    )
    assert token.status_code == 200, token.text

    # A redirect URI the document does not list is refused.
    elsewhere = await client.get(
        "/oauth/authorize", params={**params, "redirect_uri": "http://127.0.0.1:1234/cb"}
    )
    assert elsewhere.status_code == 400


async def test_client_metadata_document_must_name_itself(network, client) -> None:
    client_id = "https://liar.example/client.json"
    metadata_host(
        network,
        "liar.example",
        {"client_id": "https://other.example/", "redirect_uris": ["https://liar.example/cb"]},
    )
    page = await client.get(
        "/oauth/authorize",
        params={
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": "https://liar.example/cb",
            "code_challenge": pkce()[1],
            "code_challenge_method": "S256",
        },
    )
    assert page.status_code == 400


async def test_csrf_is_required(alice, client) -> None:
    app = await mastodon_app(client)
    page = await client.get("/oauth/authorize", params=answer_params(app))
    form = hidden_fields(page.text) | {
        "csrf": "forged",
        "username": "alice",
        "password": "correct horse",
        "decision": "allow",
    }
    response = await client.post("/oauth/authorize", data=form)
    assert response.status_code == 403
    assert "location" not in response.headers
