"""A local ActivityPub inbox farm for the fan-out benchmark: verifies every signature.

One uvicorn process (httptools, one event loop) answers for any number of
virtual hosts (``h0001.bench.test`` ...): the benchmark's HTTP transport dials
127.0.0.1:PORT whatever the URL's host and keeps the ``Host`` header, and this
app rebuilds the public URL from that header, as a real server behind DNS
would. Every POST is authenticated with ``federation.verify.verify_request``
(Digest, Date window, draft-cavage or RFC 9421 signature, RSA verify) against
the sender's public key, which is passed in at start; only then is it counted
and answered 202.

    python tests/bench/receiver.py --port 8765 --key-id URL --public-key-file PEM [--cpu 1]

``GET /count`` returns what has been verified so far (and the process CPU
time, so the benchmark can tell whether the receiver was the bottleneck);
``POST /reset`` zeroes the counters.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import Counter
from datetime import UTC, datetime

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from federation.errors import FederationError, KeyNotFoundError
from federation.verify import PublicKey, verify_request


def make_app(key_id: str, owner: str, public_pem: str) -> Starlette:
    key = PublicKey(key_id=key_id, owner=owner, pem=public_pem)
    verified: Counter[str] = Counter()  # host -> verified POSTs
    rejected: Counter[str] = Counter()  # error class -> count
    activities: set[str] = set()
    state = {"first": 0.0, "last": 0.0}

    async def resolver(wanted: str, refresh: bool) -> PublicKey:
        if wanted != key.key_id:
            raise KeyNotFoundError(f"unknown key {wanted}")
        return key

    async def inbox(request: Request) -> Response:
        body = await request.body()
        host = request.headers.get("host", "")
        url = f"http://{host}{request.url.path}"
        if request.url.query:
            url += "?" + request.url.query
        try:
            await verify_request(
                method="POST",
                url=url,
                headers=request.headers,
                body=body,
                resolver=resolver,
                now=datetime.now(UTC),
            )
            activity = json.loads(body)
        except (FederationError, ValueError) as exc:
            rejected[type(exc).__name__] += 1
            return JSONResponse({"error": str(exc)}, status_code=401)
        if not verified:
            state["first"] = time.monotonic()
        state["last"] = time.monotonic()
        verified[host] += 1
        activities.add(str(activity.get("id")))
        return Response(status_code=202)

    async def count(request: Request) -> Response:
        cpu = os.times()
        return JSONResponse(
            {
                "verified": sum(verified.values()),
                "hosts": len(verified),
                "max_per_host": max(verified.values(), default=0),
                "activities": len(activities),
                "rejected": dict(rejected),
                "cpu_seconds": cpu.user + cpu.system,
                "busy_seconds": state["last"] - state["first"],
            }
        )

    async def reset(request: Request) -> Response:
        verified.clear()
        rejected.clear()
        activities.clear()
        return Response(status_code=204)

    return Starlette(
        routes=[
            Route("/count", count, methods=["GET"]),
            Route("/reset", reset, methods=["POST"]),
            Route("/{path:path}", inbox, methods=["POST"]),
        ]
    )


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--key-id", required=True)
    parser.add_argument("--owner", default=None, help="actor URI (default: key id sans fragment)")
    parser.add_argument("--public-key-file", required=True)
    parser.add_argument("--cpu", type=int, default=None, help="pin to this CPU")
    args = parser.parse_args()
    if args.cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.cpu})
    with open(args.public_key_file) as handle:
        pem = handle.read()
    owner = args.owner or args.key_id.split("#", 1)[0]
    app = make_app(args.key_id, owner, pem)
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        http="httptools",
        loop="uvloop",
        log_level="warning",
        access_log=False,
        backlog=4096,
    )


if __name__ == "__main__":
    main()
