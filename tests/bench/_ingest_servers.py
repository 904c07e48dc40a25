"""Server processes for the ingest and flood benchmarks (they start them; not run by hand).

    python tests/bench/_ingest_servers.py keys --port P --actor URL [...] --public-key-file F
    python tests/bench/_ingest_servers.py bare --port P
    python tests/bench/_ingest_servers.py web-only --port P      # slowpub app, no workers
    python tests/bench/_ingest_servers.py trivial --port P       # raw 202s: the client's ceiling

``keys`` serves the signing actors' documents (the server fetches each once
and caches the key) and records what is POSTed to it (``GET /received``).
``bare`` is the baseline: a Starlette app whose POST handler reads the body,
``json.loads`` it and answers 202, run through slowpub's own
``_uvicorn_config`` so the server settings (httptools, uvloop, access log at
info, no server header) are exactly those of ``slowpub serve``. ``web-only``
is ``slowpub serve`` without the background workers in the process (same
config, same app, ``workers=False``): for telling ingest cost from worker cost.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from contextlib import suppress
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

AP = "application/activity+json"


def actor_document(actor: str, public_pem: str) -> dict[str, object]:
    # The shape tests/peers.py serves for a Mastodon-like actor.
    host = actor.split("/users/")[0]
    return {
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": actor,
        "type": "Person",
        "preferredUsername": "bench",
        "name": "Bench Sender",
        "inbox": actor + "/inbox",
        "outbox": actor + "/outbox",
        "followers": actor + "/followers",
        "endpoints": {"sharedInbox": host + "/inbox"},
        "publicKey": {"id": actor + "#main-key", "owner": actor, "publicKeyPem": public_pem},
    }


def key_app(actors: list[str], public_pem: str) -> Starlette:
    docs = {"/" + a.split("/", 3)[3]: json.dumps(actor_document(a, public_pem)) for a in actors}
    fetched = {"count": 0}
    # What was POSTed here (the flood benchmark waits for an Accept): the
    # CLOCK_MONOTONIC time it arrived (comparable across processes), its
    # type and its object's id.
    received: list[tuple[float, str, str]] = []

    async def get(request: Request) -> Response:
        if request.url.path in docs:
            fetched["count"] += 1
            return Response(docs[request.url.path], media_type=AP)
        if request.url.path == "/fetches":
            return Response(json.dumps(fetched), media_type="application/json")
        if request.url.path == "/received":
            return Response(json.dumps(received), media_type="application/json")
        return Response(status_code=404)

    async def post(request: Request) -> Response:
        arrived = time.monotonic()
        with suppress(ValueError, AttributeError, TypeError):
            doc = json.loads(await request.body())
            obj = doc.get("object")
            object_id = obj.get("id") if isinstance(obj, dict) else obj
            received.append((arrived, str(doc.get("type")), str(object_id)))
        return Response(status_code=202)

    return Starlette(
        routes=[
            Route("/{p:path}", get, methods=["GET"]),
            Route("/{p:path}", post, methods=["POST"]),
        ]
    )


def bare_app() -> Starlette:
    async def inbox(request: Request) -> Response:
        json.loads(await request.body())
        return Response(status_code=202)

    async def ping(request: Request) -> Response:
        return Response("ok")

    return Starlette(
        routes=[
            Route("/{p:path}", inbox, methods=["POST"]),
            Route("/{p:path}", ping, methods=["GET"]),
        ]
    )


def trivial(port: int) -> None:
    """A raw httptools server answering 202 at once: the client's ceiling."""
    import httptools
    import uvloop

    class Proto(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport
            self.parser = httptools.HttpRequestParser(self)

        def data_received(self, data: bytes) -> None:
            self.parser.feed_data(data)

        def on_message_complete(self) -> None:
            self.transport.write(b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n")  # type: ignore[attr-defined]

    async def run() -> None:
        server = await asyncio.get_running_loop().create_server(Proto, "127.0.0.1", port)
        await server.serve_forever()

    uvloop.run(run())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["keys", "bare", "web-only", "trivial"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--actor", action="append", help="repeat to serve several actors")
    parser.add_argument("--public-key-file")
    args = parser.parse_args()

    from slowpub.cli import _serving_settings, _uvicorn_config
    from slowpub.config import Settings, load_settings

    if args.kind == "trivial":
        trivial(args.port)
        return
    if args.kind == "keys":
        pem = Path(args.public_key_file).read_text()
        app = key_app(args.actor, pem)
        uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")
        return
    if args.kind == "bare":
        settings = Settings(
            base_url=f"http://127.0.0.1:{args.port}",
            data_dir=Path("/nonexistent"),
            database_url="sqlite+aiosqlite:///:memory:",
            secret_key="bench-secret-not-for-production",
        )
        config = _uvicorn_config(bare_app(), settings, "127.0.0.1", args.port)
        uvicorn.Server(config).run()
        return
    # web-only: what slowpub.cli.serve does, minus the workers.
    from slowpub.cli import _check_ready
    from slowpub.context import build_context
    from slowpub.web.app import create_app

    settings = _serving_settings(load_settings(), "127.0.0.1", args.port)
    asyncio.run(_check_ready(settings))
    ctx = build_context(settings)
    app = create_app(ctx, workers=False, owns_context=True)
    uvicorn.Server(_uvicorn_config(app, settings, "127.0.0.1", args.port)).run()


if __name__ == "__main__":
    sys.path.insert(0, os.getcwd())
    main()
