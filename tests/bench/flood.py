"""A flood from one host against another host's Follow, through one ``slowpub serve``.

    .venv/bin/python tests/bench/flood.py                               # temp SQLite file
    .venv/bin/python tests/bench/flood.py \\
        --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test  # fresh db, dropped
    .venv/bin/python tests/bench/flood.py --quota 20000     # let the whole flood in: fairness alone

Goal (issue 9.12): after host A sends >= 10,000 activities, a Follow from
host B is processed no more than a few seconds later than the same Follow
with no flood, measured in the same run; and past its quota A gets 429.

What runs (all on loopback, the same pieces as ``ingest.py``):

* host A, a key server (``_ingest_servers.py keys``) serving the flooding
  actor; host B, another key server on another port (so another host)
  serving two actors, ``early`` and ``late``, and recording what is POSTed
  to it with the time it arrived;
* ``slowpub serve`` (``slowpub init``, ``slowpub user create alice``), its
  workers in the process, as an operator runs it; ``--quota`` sets
  ``SLOWPUB_INBOX_QUOTA_ACTIVITIES`` (default: the server's default);
* baseline: B's ``early`` follows alice with nothing else going on; the time
  from its 202 to alice's Accept arriving at B (the Follow processed and the
  Accept delivered);
* flood: A sends ``--flood`` signed Creates (public Notes, ~2 KB, nobody here
  follows A) over ``--concurrency`` keep-alive connections, as fast as the
  server answers; every status is counted. Then one more POST from A is sent
  alone and its status and ``Retry-After`` printed. Then B's ``late``
  follows alice, timed like the baseline.

Exit status: 0 PASS (the flood delays the Follow by at most ``--goal``
seconds beyond the baseline), 1 FAIL, 2 the Follow was never accepted
within ``--timeout``, or something else went wrong.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

import asyncio  # noqa: E402

from _ingest_client import blast  # noqa: E402
from ingest import (  # noqa: E402
    SERVERS,
    drop_database,
    free_port,
    make_database,
    presign,
    slowpub_cli,
    start_server,
    stop,
    wait_ready,
)


def key_server(
    port: int, actors: list[str], pem_file: Path, cpu: int | None, log: Path
) -> subprocess.Popen[bytes]:
    argv = [sys.executable, SERVERS, "keys", "--port", str(port), "--public-key-file"]
    argv.append(str(pem_file))
    for actor in actors:
        argv += ["--actor", actor]
    return start_server(argv, dict(os.environ), cpu, log)


def signed_post(
    url: str, activity: dict[str, object], key_id: str, private_pem: str
) -> tuple[int, dict[str, str], float]:
    """POST one signed activity; (status, headers, CLOCK_MONOTONIC time of the answer)."""
    from federation.signatures import sign_request

    body = json.dumps(activity).encode()
    headers = sign_request(
        "POST",
        url,
        {"Content-Type": "application/activity+json", "User-Agent": "flood-bench/1"},
        body,
        key_id=key_id,
        private_key_pem=private_pem,
        now=datetime.now(UTC),
    )
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers), time.monotonic()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), time.monotonic()


def accepted_at(key_port: int, follow_id: str, timeout: float) -> float | None:
    """When alice's Accept of ``follow_id`` reached host B (CLOCK_MONOTONIC), polling."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with suppress(OSError, ValueError):
            url = f"http://127.0.0.1:{key_port}/received"
            for arrived, kind, object_id in json.loads(urllib.request.urlopen(url).read()):
                if kind == "Accept" and object_id == follow_id:
                    return float(arrived)
        time.sleep(0.02)
    return None


def follow_delay(
    inbox: str, alice: str, actor: str, private_pem: str, key_port: int, timeout: float
) -> tuple[int, float | None]:
    """(status of the Follow POST, seconds from its 202 to the Accept at B)."""
    follow = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{actor}#follows/{uuid.uuid4()}",
        "type": "Follow",
        "actor": actor,
        "object": alice,
    }
    status, _, answered = signed_post(inbox, follow, actor + "#main-key", private_pem)
    if status != 202:
        return status, None
    arrived = accepted_at(key_port, str(follow["id"]), timeout)
    return status, None if arrived is None else arrived - answered


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="as for ingest.py")
    parser.add_argument("--flood", type=int, default=10_000, help="activities host A sends")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument(
        "--inbox",
        choices=["shared", "user"],
        default="shared",
        help="POST to /inbox (what Mastodon uses when it can) or /users/alice/inbox",
    )
    parser.add_argument("--quota", type=int, help="SLOWPUB_INBOX_QUOTA_ACTIVITIES for the server")
    parser.add_argument("--goal", type=float, default=3.0, help="seconds of extra delay allowed")
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--server-cpu", type=int, default=1, help="-1: do not pin")
    parser.add_argument("--bench-cpu", type=int, default=0, help="-1: do not pin")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()

    if (os.cpu_count() or 1) < 2:
        args.server_cpu = args.bench_cpu = -1
    server_cpu = args.server_cpu if args.server_cpu >= 0 else None
    bench_cpu = args.bench_cpu if args.bench_cpu >= 0 else None
    if bench_cpu is not None:
        os.sched_setaffinity(0, {bench_cpu})

    from federation.keys import generate_private_key_pem, public_key_pem

    tmp = Path(tempfile.mkdtemp(prefix="slowpub-flood-"))
    data_dir = tmp / "data"
    db_url, pg_name = make_database(args.database_url, data_dir)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        private_pem = generate_private_key_pem()
        pem_file = tmp / "public.pem"
        pem_file.write_text(public_key_pem(private_pem))
        port_a, port_b, port = free_port(), free_port(), free_port()
        flooder = f"http://127.0.0.1:{port_a}/users/flood"
        early = f"http://127.0.0.1:{port_b}/users/early"
        late = f"http://127.0.0.1:{port_b}/users/late"
        procs.append(key_server(port_a, [flooder], pem_file, bench_cpu, tmp / "a.log"))
        procs.append(key_server(port_b, [early, late], pem_file, bench_cpu, tmp / "b.log"))

        base_url = f"http://127.0.0.1:{port}"
        inbox = base_url + ("/inbox" if args.inbox == "shared" else "/users/alice/inbox")
        alice = base_url + "/users/alice"
        t0 = time.perf_counter()
        flood = presign(args.flood + 1, 0, private_pem, flooder, inbox)
        flood, straggler = flood[:-1], flood[-1]
        print(
            f"signed {len(flood) + 1} Creates from host A in {time.perf_counter() - t0:.1f}s;"
            f" {args.concurrency} connections, POST {inbox}"
        )
        for proc, key_port, what in ((procs[0], port_a, "host A"), (procs[1], port_b, "host B")):
            wait_ready(key_port, proc, what)

        env = {
            **os.environ,
            "SLOWPUB_BASE_URL": base_url,
            "SLOWPUB_DATA_DIR": str(data_dir),
            "SLOWPUB_ALLOW_PRIVATE_NETWORKS": "1",
            "SLOWPUB_DATABASE_URL": db_url,
        }
        if args.quota is not None:
            env["SLOWPUB_INBOX_QUOTA_ACTIVITIES"] = str(args.quota)
        slowpub_cli(env, "init")
        slowpub_cli(env, "user", "create", "alice")
        kind = "sqlite" if db_url.startswith("sqlite") else "postgresql"
        quota = args.quota if args.quota is not None else "default"
        print(f"database: {kind}; quota per host: {quota} activities")
        exe = str(Path(sys.executable).parent / "slowpub")
        server = start_server(
            [exe, "serve", "--port", str(port)], env, server_cpu, tmp / "slowpub.log"
        )
        procs.append(server)
        wait_ready(port, server, "slowpub serve")

        status, baseline = follow_delay(inbox, alice, early, private_pem, port_b, args.timeout)
        if baseline is None:
            print(f"baseline Follow: status {status}, no Accept within {args.timeout:.0f}s")
            return 2
        print(f"baseline: B's Follow (no flood) accepted {baseline:6.3f}s after its 202")

        result = asyncio.run(blast("127.0.0.1", port, flood, args.concurrency))
        statuses = ", ".join(f"{n:,} × {code}" for code, n in sorted(result.statuses.items()))
        print(
            f"flood: host A sent {result.sent:,} in {result.seconds:.2f}s: {statuses}"
            + (f"; errors {dict(result.errors)}" if result.errors else "")
        )
        # One more from A, alone: what a sender past its quota is told.
        code, headers, _ = straggler_post(port, straggler)
        print(f"host A's next POST: {code}, Retry-After: {headers.get('retry-after', '-')}")

        status, flooded = follow_delay(inbox, alice, late, private_pem, port_b, args.timeout)
        if flooded is None:
            print(f"flooded Follow: status {status}, no Accept within {args.timeout:.0f}s")
            return 2
        print(f"flooded:  B's Follow (after the flood) accepted {flooded:6.3f}s after its 202")
        extra = flooded - baseline
        verdict = "PASS" if extra <= args.goal else "FAIL"
        print()
        print(f"delay added by the flood: {extra:6.3f}s  (goal <= {args.goal:.1f}s)  {verdict}")
        refused = result.statuses.get(429, 0)
        print(f"host A refused with 429: {refused:,} of {result.sent:,}")
        return 0 if verdict == "PASS" else 1
    finally:
        for proc in reversed(procs):
            stop(proc)
        if pg_name is not None and args.database_url:
            drop_database(args.database_url, pg_name)
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def straggler_post(port: int, raw: bytes) -> tuple[int, dict[str, str], float]:
    """Send one pre-built request as it is; (status, lower-cased headers, time)."""
    import http.client

    head, body = raw.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    path = lines[0].split(" ")[1]
    headers = dict(line.split(": ", 1) for line in lines[1:])
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        found = {k.lower(): v for k, v in response.getheaders()}
        return response.status, found, time.monotonic()
    finally:
        connection.close()


if __name__ == "__main__":
    sys.exit(main())
