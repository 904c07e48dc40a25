"""Inbox ingest rate: signed Create POSTs/s one ``slowpub serve`` accepts (202 after commit).

    .venv/bin/python tests/bench/ingest.py                              # temp SQLite file
    .venv/bin/python tests/bench/ingest.py \\
        --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test  # fresh db, dropped
    .venv/bin/python tests/bench/ingest.py --requests 5000 --concurrency 50   # quick check
    .venv/bin/python tests/bench/ingest.py --py-spy /tmp/ingest.txt     # also profile the server

Goal (from the issue): the rate of 202s from one ``slowpub serve`` process,
each sent only after its activity is committed, is at least 0.4x the rate of
a bare Starlette app parsing the same bodies under the same server settings,
measured in the same run.

What runs (all on loopback):

* a key server (``_ingest_servers.py keys``) serving the signing actor
  ``http://127.0.0.1:KEYPORT/users/bench`` and its RSA-2048 public key; the
  server under test fetches it once and caches it;
* ``--requests`` distinct Create activities (a public Note, ~2 KB body) are
  signed before anything is timed (draft-cavage, ``sign_request``; signing is
  the sender's cost) and turned into raw HTTP/1.1 requests, plus
  ``--warmup`` more that go first, untimed (key fetch, connection set-up);
* the bare baseline (``_ingest_servers.py bare``): POST handler reads the
  body, ``json.loads`` it, answers 202; uvicorn configured by slowpub's own
  ``_uvicorn_config`` (httptools, uvloop, access log on at info as in
  ``slowpub serve``). It gets the very same request bytes. It is run before
  and after slowpub and the faster of the two is the baseline (stricter);
* ``slowpub serve`` itself (``slowpub init``, ``slowpub user create alice``
  first), with its workers in the process, as an operator runs it.
  ``--server web-only`` runs the same app without the workers instead;
* the load generator is this process (``_ingest_client.py``): ``--concurrency``
  keep-alive connections writing pre-built requests and parsing the answers
  with httptools. Only 202s count; everything else is reported.

With two or more CPUs the servers are pinned to CPU ``--server-cpu`` and this
process to ``--bench-cpu`` so the client never takes the server's core; the
client's and the server's CPU seconds are printed beside the wall time (a
server at ~1.0 CPU-s per wall-s is saturated; a client well below that is
not the bottleneck). ``--client-check`` also measures the client against a
raw httptools server that answers 202 without parsing: the client's ceiling.

After the run the server is stopped and ``inbound_activities`` is counted:
it must hold exactly the warm-up plus timed 202s.

Exit status: 0 PASS, 1 FAIL (ratio below the goal), 2 rows missing or
unexpected errors.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from _ingest_client import Result, blast, build_request  # noqa: E402

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
SERVERS = str(HERE / "_ingest_servers.py")


# --- helpers ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def pin(cpu: int | None) -> Any:
    if cpu is None or cpu < 0:
        return None
    return lambda: os.sched_setaffinity(0, {cpu})


def wait_ready(port: int, proc: subprocess.Popen[bytes], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited with {proc.returncode} before it was ready")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).read()
            return
        except urllib.error.HTTPError:
            return  # any HTTP answer means it is serving
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{what} did not start within {timeout}s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# --- signing (before anything is timed) -------------------------------------------

_SIGNER: dict[str, str] = {}


def _init_signer(private_pem: str, actor: str, inbox_url: str, path: str) -> None:
    _SIGNER.update(private_pem=private_pem, actor=actor, inbox_url=inbox_url, path=path)


def _content(n: int) -> str:
    words = (
        "slow reading is a kind of attention that the timeline does not reward, "
        "so this note walks around the garden twice before it says anything at all. "
    )
    text = f"<p>Note number {n}. " + words * 8 + "</p><p>#slowpub bench " + "x" * 40 + "</p>"
    return text


def _signed_request(n: int) -> bytes:
    from federation.signatures import sign_request

    actor = _SIGNER["actor"]
    note = f"{actor}/statuses/{n}"
    activity = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": note + "/activity",
        "type": "Create",
        "actor": actor,
        "published": "2025-01-01T12:00:00Z",
        "to": [PUBLIC],
        "cc": [actor + "/followers"],
        "object": {
            "id": note,
            "type": "Note",
            "attributedTo": actor,
            "published": "2025-01-01T12:00:00Z",
            "url": note,
            "to": [PUBLIC],
            "cc": [actor + "/followers"],
            "sensitive": False,
            "content": _content(n),
            "tag": [],
            "attachment": [],
        },
    }
    body = json.dumps(activity).encode()
    headers = sign_request(
        "POST",
        _SIGNER["inbox_url"],
        {"Content-Type": "application/activity+json", "User-Agent": "ingest-bench/1"},
        body,
        key_id=actor + "#main-key",
        private_key_pem=_SIGNER["private_pem"],
        now=datetime.now(UTC),
    )
    return build_request(_SIGNER["path"], headers, body)


def presign(count: int, start: int, private_pem: str, actor: str, inbox_url: str) -> list[bytes]:
    path = "/" + inbox_url.split("/", 3)[3]
    init = (private_pem, actor, inbox_url, path)
    procs = max(1, min(os.cpu_count() or 1, 8))
    with multiprocessing.get_context("fork").Pool(procs, _init_signer, init) as pool:
        return pool.map(_signed_request, range(start, start + count), chunksize=256)


# --- the database ----------------------------------------------------------------


async def _pg(url: str, statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def make_database(base_url: str | None, data_dir: Path) -> tuple[str, str | None]:
    """The database URL to use, and the PostgreSQL database to drop afterwards."""
    if not base_url or base_url.startswith("sqlite"):
        return base_url or f"sqlite+aiosqlite:///{data_dir / 'slowpub.db'}", None
    name = "slowpub_ingest_" + secrets.token_hex(4)
    asyncio.run(_pg(base_url, f'CREATE DATABASE "{name}"'))
    return base_url.rsplit("/", 1)[0] + "/" + name, name


def drop_database(base_url: str, name: str) -> None:
    asyncio.run(_pg(base_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def count_rows(url: str, prefix: str) -> dict[str, int]:
    from sqlalchemy import func, select

    from slowpub.storage.engine import create_database
    from slowpub.storage.models import InboundActivity

    db = create_database(url)
    try:
        async with db.sessions() as session:
            query = (
                select(InboundActivity.state, func.count())
                .where(InboundActivity.uri.startswith(prefix))
                .group_by(InboundActivity.state)
            )
            return {state: n for state, n in (await session.execute(query)).all()}
    finally:
        await db.dispose()


# --- one measured server ------------------------------------------------------------


class Measured:
    def __init__(self, label: str, result: Result, server_cpu: float, warm: Result | None) -> None:
        self.label = label
        self.result = result
        self.server_cpu = server_cpu
        self.warm = warm

    def line(self) -> str:
        r = self.result
        other = {k: v for k, v in r.statuses.items() if k != 202}
        errs = dict(r.errors)
        return (
            f"  {self.label:<22} {r.rate:8,.0f} req/s  {r.accepted:>6}/{r.sent} 202s in "
            f"{r.seconds:6.2f}s  server CPU {self.server_cpu:6.2f}s "
            f"({self.server_cpu / r.seconds:4.2f}/s)  client CPU {r.client_cpu:5.2f}s"
            + (f"  other statuses {other}" if other else "")
            + (f"  errors {errs}" if errs else "")
        )


def measure(
    label: str,
    proc: subprocess.Popen[bytes],
    port: int,
    warmup: list[bytes],
    timed: list[bytes],
    concurrency: int,
    py_spy: str | None = None,
) -> Measured:
    warm = None
    if warmup:
        warm = asyncio.run(blast("127.0.0.1", port, warmup, min(concurrency, 20)))
        if warm.accepted != len(warmup):
            print(f"  warm-up on {label}: {dict(warm.statuses)} {dict(warm.errors)}")
            for sample in warm.error_samples:
                print("    ", sample)
    spy = None
    if py_spy:
        spy = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "py-spy"),
                "record",
                "--pid",
                str(proc.pid),
                "--rate",
                "250",
                "--format",
                "raw",
                "--output",
                py_spy,
                "--nonblocking",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        time.sleep(1.0)
    before = cpu_seconds(proc.pid)
    result = asyncio.run(blast("127.0.0.1", port, timed, concurrency))
    after = cpu_seconds(proc.pid)
    if spy is not None:
        spy.send_signal(signal.SIGINT)
        try:
            _, err = spy.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            spy.kill()
            _, err = spy.communicate()
        if spy.returncode not in (0, -2, 130):
            print(f"  py-spy: {err.decode(errors='replace').strip()[-300:]}")
    return Measured(label, result, after - before, warm)


def start_server(
    args: list[str], env: dict[str, str], cpu: int | None, log: Path
) -> subprocess.Popen[bytes]:
    handle = log.open("ab")
    return subprocess.Popen(
        args, env=env, stdout=handle, stderr=subprocess.STDOUT, preexec_fn=pin(cpu), cwd=ROOT
    )


def run_bare(
    warmup: list[bytes],
    timed: list[bytes],
    concurrency: int,
    cpu: int | None,
    tmp: Path,
    label: str,
) -> Measured:
    port = free_port()
    proc = start_server(
        [sys.executable, SERVERS, "bare", "--port", str(port)],
        dict(os.environ),
        cpu,
        tmp / "bare.log",
    )
    try:
        wait_ready(port, proc, "bare server")
        return measure(label, proc, port, warmup, timed, concurrency)
    finally:
        stop(proc)


def run_trivial(timed: list[bytes], concurrency: int, cpu: int | None, tmp: Path) -> Measured:
    port = free_port()
    proc = start_server(
        [sys.executable, SERVERS, "trivial", "--port", str(port)],
        dict(os.environ),
        cpu,
        tmp / "trivial.log",
    )
    try:
        wait_ready(port, proc, "trivial server")
        return measure("client ceiling", proc, port, [], timed, concurrency)
    finally:
        stop(proc)


def slowpub_cli(env: dict[str, str], *argv: str) -> None:
    exe = Path(sys.executable).parent / "slowpub"
    done = subprocess.run([str(exe), *argv], env=env, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"slowpub {' '.join(argv)} failed: {done.stderr.strip()}")


# --- main --------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url",
        help="default: a temporary SQLite file; a "
        "postgresql+asyncpg:// URL gets a fresh database on that server, dropped after",
    )
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument(
        "--inbox",
        choices=["shared", "user"],
        default="shared",
        help="POST to /inbox (what Mastodon uses for public posts) or /users/alice/inbox",
    )
    parser.add_argument(
        "--server",
        choices=["serve", "web-only"],
        default="serve",
        help="`slowpub serve` (workers in the process) or the same app without workers",
    )
    parser.add_argument("--goal", type=float, default=0.4)
    parser.add_argument("--server-cpu", type=int, default=1, help="-1: do not pin")
    parser.add_argument("--bench-cpu", type=int, default=0, help="-1: do not pin")
    parser.add_argument(
        "--client-check",
        action="store_true",
        help="also measure the client against a raw 202 server",
    )
    parser.add_argument("--py-spy", metavar="FILE", help="record the slowpub server (raw format)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()

    if (os.cpu_count() or 1) < 2:
        args.server_cpu = args.bench_cpu = -1
    server_cpu = args.server_cpu if args.server_cpu >= 0 else None
    if args.bench_cpu >= 0:
        os.sched_setaffinity(0, {args.bench_cpu})

    from federation.keys import generate_private_key_pem, public_key_pem

    tmp = Path(tempfile.mkdtemp(prefix="slowpub-ingest-"))
    data_dir = tmp / "data"
    db_url, pg_name = make_database(args.database_url, data_dir)
    procs: list[subprocess.Popen[bytes]] = []
    status = 0
    try:
        # The sender: a key server on its own port.
        private_pem = generate_private_key_pem()
        (tmp / "public.pem").write_text(public_key_pem(private_pem))
        key_port = free_port()
        actor = f"http://127.0.0.1:{key_port}/users/bench"
        keys = start_server(
            [
                sys.executable,
                SERVERS,
                "keys",
                "--port",
                str(key_port),
                "--actor",
                actor,
                "--public-key-file",
                str(tmp / "public.pem"),
            ],
            dict(os.environ),
            args.bench_cpu if args.bench_cpu >= 0 else None,
            tmp / "keys.log",
        )
        procs.append(keys)

        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        inbox_url = base_url + ("/inbox" if args.inbox == "shared" else "/users/alice/inbox")
        t0 = time.perf_counter()
        signed = presign(args.warmup * 2 + args.requests, 0, private_pem, actor, inbox_url)
        warm_bare = signed[: args.warmup]
        warm_slow = signed[args.warmup : args.warmup * 2]
        timed = signed[args.warmup * 2 :]
        mean = sum(len(r) for r in timed) / len(timed)
        print(
            f"signed {len(signed)} requests in {time.perf_counter() - t0:.1f}s "
            f"(mean request {mean:,.0f} bytes); "
            f"{args.requests} timed, {args.concurrency} connections, POST {inbox_url}"
        )
        wait_ready(key_port, keys, "key server")

        env = {
            **os.environ,
            "SLOWPUB_BASE_URL": base_url,
            "SLOWPUB_DATA_DIR": str(data_dir),
            "SLOWPUB_ALLOW_PRIVATE_NETWORKS": "1",
            "SLOWPUB_DATABASE_URL": db_url,
            # One sender sends everything here: its quota (checked on every
            # POST all the same) must not refuse what this measures.
            "SLOWPUB_INBOX_QUOTA_ACTIVITIES": str(10 * (args.requests + args.warmup)),
            "SLOWPUB_INBOX_QUOTA_MIB": "100000",
        }
        slowpub_cli(env, "init")
        slowpub_cli(env, "user", "create", "alice")
        kind = "sqlite" if db_url.startswith("sqlite") else "postgresql"
        print(f"database: {kind} ({db_url.rsplit('@', 1)[-1]})")

        runs: list[Measured] = []
        if args.client_check:
            runs.append(run_trivial(timed, args.concurrency, server_cpu, tmp))
            print(runs[-1].line(), flush=True)
        bare1 = run_bare(warm_bare, timed, args.concurrency, server_cpu, tmp, "bare (before)")
        print(bare1.line(), flush=True)

        if args.server == "serve":
            server_argv = [
                str(Path(sys.executable).parent / "slowpub"),
                "serve",
                "--port",
                str(port),
            ]
        else:
            server_argv = [sys.executable, SERVERS, "web-only", "--port", str(port)]
        slow = start_server(server_argv, env, server_cpu, tmp / "slowpub.log")
        procs.append(slow)
        wait_ready(port, slow, "slowpub serve")
        label = f"slowpub {args.server} ({kind})"
        mine = measure(label, slow, port, warm_slow, timed, args.concurrency, args.py_spy)
        print(mine.line(), flush=True)
        stop(slow)

        bare2 = run_bare(warm_bare, timed, args.concurrency, server_cpu, tmp, "bare (after)")
        print(bare2.line(), flush=True)

        with suppress(OSError):
            fetches = json.loads(
                urllib.request.urlopen(f"http://127.0.0.1:{key_port}/fetches", timeout=5).read()
            )["count"]
            print(f"actor document fetched {fetches} time(s) by the server")

        rows = asyncio.run(count_rows(db_url, f"http://127.0.0.1:{key_port}/"))
        stored = sum(rows.values())
        warm_ok = mine.warm.accepted if mine.warm else 0
        expected = warm_ok + mine.result.accepted
        bare = max(bare1.result.rate, bare2.result.rate)
        ratio = mine.result.rate / bare if bare else 0.0
        verdict = "PASS" if ratio >= args.goal else "FAIL"
        print()
        print(f"bare baseline (faster of two): {bare:8,.0f} req/s")
        print(f"slowpub:                       {mine.result.rate:8,.0f} req/s")
        print(f"ratio:                         {ratio:8.2f}  (goal >= {args.goal})  {verdict}")
        print(
            f"inbound_activities rows: {stored} (expected {expected} = {warm_ok} warm-up + "
            f"{mine.result.accepted} timed 202s); by state at shutdown: {rows}"
        )
        if stored != expected:
            print("ROWS MISSING OR EXTRA: a 202 was answered for something not committed")
            status = 2
        elif mine.result.errors or set(mine.result.statuses) - {202}:
            print("non-202 answers or connection errors from slowpub (see above)")
            for sample in mine.result.error_samples:
                print("    ", sample)
            status = 2
        else:
            status = 0 if verdict == "PASS" else 1
        if args.py_spy:
            print(f"py-spy profile of the slowpub server: {args.py_spy}")
            print(f"  summarise: {sys.executable} tests/bench/_ingest_profile.py {args.py_spy}")
    finally:
        for proc in procs:
            stop(proc)
        if pg_name is not None and args.database_url:
            drop_database(args.database_url, pg_name)
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
