"""Fake remote servers for tests: small ASGI apps shaped like other Fediverse software.

They serve what the real software serves (as documented and as read from
their source), sign with real keys, and record what they receive.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from federation.keys import generate_private_key_pem, public_key_pem
from federation.signatures import sign_request

AP = "application/activity+json"


@dataclass
class FakeActor:
    host: str
    username: str
    key_style: str = "fragment"  # "fragment" (Mastodon) or "path" (GoToSocial)
    private_pem: str = field(default_factory=generate_private_key_pem)
    at: str | None = None  # an actor id of another shape (Lemmy /u/x, Misskey /users/9abc)
    # More fields for its document; None removes one (an actor without preferredUsername).
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def uri(self) -> str:
        return self.at or f"https://{self.host}/users/{self.username}"

    @property
    def path(self) -> str:
        return "/" + self.uri.split("/", 3)[3]

    @property
    def key_id(self) -> str:
        return self.uri + ("#main-key" if self.key_style == "fragment" else "/main-key")

    def public_key(self) -> dict[str, str]:
        return {
            "id": self.key_id,
            "owner": self.uri,
            "publicKeyPem": public_key_pem(self.private_pem),
        }

    def document(self) -> dict[str, Any]:
        doc = {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": self.uri,
            "type": "Person",
            "preferredUsername": self.username,
            "inbox": self.uri + "/inbox",
            "outbox": self.uri + "/outbox",
            "followers": self.uri + "/followers",
            "endpoints": {"sharedInbox": f"https://{self.host}/inbox"},
            "publicKey": self.public_key(),
            **self.extra,
        }
        return {k: v for k, v in doc.items() if v is not None}


class FakeServer:
    """One remote host with some actors; serves their documents, records inbox POSTs."""

    def __init__(self, host: str) -> None:
        self.host = host
        self.actors: dict[str, FakeActor] = {}
        self.objects: dict[str, dict[str, Any]] = {}
        self.redirects: dict[str, str] = {}
        # Paths answered with a bare status (410 for a deleted account).
        self.statuses: dict[str, int] = {}
        self.received: list[dict[str, Any]] = []
        # Answers to give, in order, before the 202s: a status or (status, headers).
        self.inbox_status: list[int | tuple[int, dict[str, str]]] = []
        self.app = Starlette(
            routes=[
                Route("/{path:path}", self.get, methods=["GET"]),
                Route("/{path:path}", self.post, methods=["POST"]),
            ]
        )

    def add_actor(
        self,
        username: str,
        key_style: str = "fragment",
        at: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> FakeActor:
        actor = FakeActor(self.host, username, key_style, at=at, extra=extra or {})
        self.actors[username] = actor
        return actor

    async def get(self, request: Request) -> Response:
        path = "/" + request.path_params["path"]
        if path in self.statuses:
            return Response(status_code=self.statuses[path])
        if path in self.redirects:
            return Response(status_code=302, headers={"Location": self.redirects[path]})
        url = f"https://{self.host}{path}"
        if url in self.objects:
            return Response(json.dumps(self.objects[url]), media_type=AP)
        for actor in self.actors.values():
            if path == actor.path:
                return Response(json.dumps(actor.document()), media_type=AP)
            if actor.key_style == "path" and path == f"{actor.path}/main-key":
                # GoToSocial serves a stub: the actor's id and its key, nothing else.
                stub = {
                    "@context": [
                        "https://www.w3.org/ns/activitystreams",
                        "https://w3id.org/security/v1",
                    ],
                    "id": actor.uri,
                    "type": "Person",
                    "preferredUsername": actor.username,
                    "publicKey": actor.public_key(),
                }
                return Response(json.dumps(stub), media_type=AP)
        if path == "/.well-known/webfinger":
            resource = request.query_params.get("resource", "")
            name = resource.removeprefix("acct:").split("@")[0]
            # Also the reverse lookup by actor id, as Mastodon answers it.
            by_id = [a.username for a in self.actors.values() if a.uri == resource]
            name = by_id[0] if by_id else name
            if name in self.actors:
                doc = {
                    "subject": f"acct:{name}@{self.host}",
                    "links": [{"rel": "self", "type": AP, "href": self.actors[name].uri}],
                }
                return Response(json.dumps(doc), media_type="application/jrd+json")
        return Response(status_code=404)

    async def post(self, request: Request) -> Response:
        body = await request.body()
        if self.inbox_status:
            answer = self.inbox_status.pop(0)
            status, headers = answer if isinstance(answer, tuple) else (answer, {})
            return Response(status_code=status, headers=headers)
        self.received.append(json.loads(body))
        return Response(status_code=202)


async def signed_post(
    alpha, actor, activity: dict, url: str = "https://alpha.test/users/alice/inbox"
):
    body = json.dumps(activity).encode()
    headers = sign_request(
        "POST",
        url,
        {"Content-Type": "application/activity+json"},
        body,
        key_id=actor.key_id,
        private_key_pem=actor.private_pem,
        now=alpha.ctx.clock.now(),
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=alpha.app)) as client:
        return await client.post(url, content=body, headers=headers)
