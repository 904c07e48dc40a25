"""Fan-out benchmark: one post to many followers on many shared inboxes.

    .venv/bin/python tests/bench/fanout.py                       # temp SQLite file
    .venv/bin/python tests/bench/fanout.py \\
        --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test
    .venv/bin/python tests/bench/fanout.py --followers 10000 --inboxes 1000 --runs 3

What it does (see tests/bench/README.md):

1. setup (not timed): a fresh database (a temp SQLite file, or a new
   PostgreSQL database created next to the one named and dropped afterwards),
   migrations, one local user, ``--followers`` remote actors spread evenly
   over ``--inboxes`` distinct hosts ``hNNNN.bench.test``, each with the
   shared inbox ``http://hNNNN.bench.test/inbox``, all following the user
   (Core bulk inserts); a receiver process (tests/bench/receiver.py) that
   verifies every signature, pinned to its own CPU.
2. floor: ``--inboxes`` bare RSA-2048 PKCS#1 v1.5 SHA-256 signatures with
   ``cryptography``, single thread, in this process (measured before and
   after the fan-out; the smaller is the floor, i.e. the stricter goal).
3. fan-out (timed): a post is queued with the normal cooling-off, made due,
   then ``release_due`` (one delivery row per shared inbox) and
   ``deliver_due`` in a loop until it finds nothing due — exactly what the
   release and delivery workers do — until the receiver reports every
   inbox's POST verified.

It prints wall time, deliveries/s, the ratio to the floor and PASS/FAIL
against the goal (fan-out wall time <= 2x floor). Exit status 0 on PASS, 1 on
FAIL, 2 if deliveries were missing or rejected.

Every request goes through slowpub's own delivery client, built as
``build_context`` builds it when no client factory is injected: the lean
keep-alive pool (``slowpub.delivery.clients.delivery_pool``, private networks
allowed); with ``--client httpx``, the per-host httpx clients of
``federation.netguard.make_http_client`` instead. Only the address dialled
differs: the pool's resolver (or the httpx pool's network backend) gives
127.0.0.1:PORT whatever the host name (as if DNS said so), and URL, pool
origin and the signed ``Host`` header keep the virtual host, so 1,000
virtual hosts need neither DNS nor 1,000 listening sockets.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import os
import pstats
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpcore
import httpx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.ext.asyncio import create_async_engine

from federation.keys import load_private_key, public_key_pem
from federation.netguard import make_http_client
from slowpub import urls
from slowpub.config import Settings
from slowpub.context import Context, build_context, user_agent
from slowpub.delivery.clients import delivery_pool
from slowpub.delivery.sending import deliver_due
from slowpub.outbound.posting import Draft, create_post
from slowpub.outbound.release import release_due
from slowpub.social.accounts import create_user
from slowpub.storage.engine import create_database
from slowpub.storage.migrate import upgrade
from slowpub.storage.models import Actor, Delivery, Follow, QueueItem, User

HERE = Path(__file__).resolve().parent
GOAL_RATIO = 2.0
BASE_URL = "http://slowpub.bench.test"
USERNAME = "bench"
POST_TEXT = (
    "Benchmark post: one note fanned out to every follower's shared inbox. "
    "It is about as long as an ordinary toot, with a #hashtag-free body so that "
    "rendering stays out of the way. " * 2
).strip()


# --- plumbing -------------------------------------------------------------------


class LoopbackBackend(httpcore.AsyncNetworkBackend):
    """Connect every host name to 127.0.0.1:port, as if DNS said so.

    The URL, the connection pool's origin and the signed ``Host`` header keep
    the virtual host; only the address dialled changes.
    """

    def __init__(self, inner: httpcore.AsyncNetworkBackend, port: int) -> None:
        self._inner = inner
        self._port = port

    async def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):  # type: ignore[no-untyped-def]  # noqa: ASYNC109
        return await self._inner.connect_tcp(
            "127.0.0.1",
            self._port,
            timeout=timeout,
            local_address=local_address,
            socket_options=socket_options,
        )

    async def connect_unix_socket(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise httpcore.ConnectError("no unix sockets in the benchmark")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def client_factory(settings: Settings, port: int):  # type: ignore[no-untyped-def]
    """slowpub's default per-host client (build_context's default factory, i.e.
    ``make_http_client``), with its connection pool dialling the receiver."""

    def factory(max_connections: int) -> httpx.AsyncClient:
        client = make_http_client(
            allow_private=settings.allow_private_networks,
            user_agent=user_agent(settings),
            max_connections=max_connections,
        )
        pool = getattr(getattr(client, "_transport", None), "_pool", None)
        if not isinstance(pool, httpcore.AsyncConnectionPool):
            raise RuntimeError("cannot redirect this httpx client to the receiver")
        pool._network_backend = LoopbackBackend(pool._network_backend, port)
        return client

    return factory


def loopback_resolver(port: int):  # type: ignore[no-untyped-def]
    """For the lean pool: every host name resolves to 127.0.0.1:port."""

    async def resolver(host: str, _port: int) -> list[tuple[str, int]]:
        return [("127.0.0.1", port)]

    return resolver


# --- what-if experiments ----------------------------------------------------------------
# Off by default: the benchmark measures slowpub as it is. Each one patches, in
# this process only, what a proposed change to slowpub would do, so its effect
# can be measured before anyone edits slowpub.


def what_if_shared_ssl() -> None:
    """make_http_client passes one shared SSLContext (``verify=``) to every client.

    httpx builds a new SSLContext (loading certifi's bundle, ~20 ms of CPU)
    for every transport, even for http:// URLs; HostClients makes a client
    per destination host, so a post to 1,000 hosts pays that 1,000 times.
    """
    import httpx._transports.default as default

    original = default.create_ssl_context
    shared = original()

    def create_ssl_context(verify=True, cert=None, trust_env=True):  # type: ignore[no-untyped-def]
        if verify is True and cert is None:
            return shared
        return original(verify=verify, cert=cert, trust_env=trust_env)

    default.create_ssl_context = create_ssl_context  # type: ignore[assignment]


def what_if_sniffio() -> None:
    """sniffio is installed (e.g. listed in slowpub's dependencies).

    httpcore's ``current_async_library()`` runs ``import sniffio`` on every
    lock, shield and connection set-up; anyio 4 no longer depends on sniffio,
    so in this venv that import fails every time, after a search of the whole
    sys.path (~50 us a call, several calls a request). A stand-in module that
    answers "asyncio" (this benchmark never runs under trio) costs what the
    real one would.
    """
    import types

    if "sniffio" in sys.modules:
        return
    try:
        import sniffio  # noqa: F401

        return
    except ImportError:
        pass
    module = types.ModuleType("sniffio")
    module.current_async_library = lambda: "asyncio"  # type: ignore[attr-defined]
    sys.modules["sniffio"] = module


WHAT_IF = {
    "shared-ssl": what_if_shared_ssl,
    "sniffio": what_if_sniffio,
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pin(cpu: int | None) -> None:
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})


@contextlib.asynccontextmanager
async def database(url: str | None, tmp: Path) -> AsyncIterator[str]:
    """A fresh, empty database URL; a PostgreSQL database is dropped afterwards."""
    if not url:
        yield f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
        return
    if url.startswith("sqlite"):
        yield url
        return
    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+asyncpg://" + url.split("://", 1)[1]
    name = f"slowpub_bench_{uuid.uuid4().hex[:10]}"
    admin = create_async_engine(url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.rsplit("/", 1)[0] + "/" + name
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


@contextlib.contextmanager
def receiver(port: int, key_id: str, public_pem: str, tmp: Path, cpu: int | None) -> Iterator[None]:
    pem_file = tmp / "sender.pem"
    pem_file.write_text(public_pem)
    command = [
        sys.executable,
        str(HERE / "receiver.py"),
        "--port",
        str(port),
        "--key-id",
        key_id,
        "--public-key-file",
        str(pem_file),
    ]
    if cpu is not None:
        command += ["--cpu", str(cpu)]
    process = subprocess.Popen(command)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/count", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the receiver did not start") from None
                time.sleep(0.1)
        yield
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


class ReceiverProbe:
    """Reads the receiver's counters over one kept-alive connection (built before timing)."""

    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}/count"
        self.client = httpx.AsyncClient(trust_env=False, timeout=10)

    async def count(self) -> dict:  # type: ignore[type-arg]
        response = await self.client.get(self.url)
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]

    async def aclose(self) -> None:
        await self.client.aclose()


# --- setup ------------------------------------------------------------------------


def host_name(index: int) -> str:
    return f"h{index:04d}.bench.test"


async def add_followers(ctx: Context, user: User, followers: int, inboxes: int) -> None:
    """``followers`` remote actors on ``inboxes`` hosts, all following ``user`` (Core inserts)."""
    now = ctx.clock.now()
    chunk = 1000
    actor_ids: list[int] = []
    for start in range(0, followers, chunk):
        rows = []
        for i in range(start, min(start + chunk, followers)):
            host = host_name(i % inboxes)
            uri = f"http://{host}/users/u{i}"
            rows.append(
                {
                    "uri": uri,
                    "local": False,
                    "actor_type": "Person",
                    "username": f"u{i}",
                    "domain": host,
                    "inbox": uri + "/inbox",
                    "shared_inbox": f"http://{host}/inbox",
                    "key_id": uri + "#main-key",
                    "public_key_pem": None,
                    "manually_approves_followers": False,
                    "created_at": now,
                }
            )
        async with ctx.db.transaction() as session:
            result = await session.execute(insert(Actor).returning(Actor.id), rows)
            actor_ids.extend(result.scalars())
    for start in range(0, len(actor_ids), chunk):
        rows = [
            {
                "follower_id": actor_id,
                "followed_id": user.actor_id,
                "uri": f"http://{host_name(n % inboxes)}/follows/{n}",
                "state": "accepted",
                "created_at": now,
                "updated_at": now,
            }
            for n, actor_id in enumerate(actor_ids[start : start + chunk], start)
        ]
        async with ctx.db.transaction() as session:
            await session.execute(insert(Follow), rows)


async def queue_due_post(ctx: Context, run: int) -> QueueItem:
    """Queue a post with the normal cooling-off, then make it due now."""
    item = await create_post(ctx, USERNAME, Draft(f"{POST_TEXT} (run {run})"))
    assert item.state == "cooling", item.state
    async with ctx.db.transaction() as session:
        await session.execute(
            update(QueueItem).where(QueueItem.id == item.id).values(release_at=ctx.clock.now())
        )
    return item


# --- measurements ---------------------------------------------------------------------


def signature_floor(private_pem: str, count: int) -> float:
    """Seconds for ``count`` bare RSA PKCS#1 v1.5 SHA-256 signatures, one thread."""
    key = load_private_key(private_pem)
    base = (
        "(request-target): post /inbox\nhost: h0000.bench.test\n"
        "date: Mon, 01 Jan 2024 00:00:00 GMT\n"
        "digest: SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"
        "content-type: application/activity+json"
    )
    messages = [f"{base}{i}".encode() for i in range(count)]
    pkcs1, sha256 = padding.PKCS1v15(), hashes.SHA256()
    started = time.perf_counter()
    for message in messages:
        key.sign(message, pkcs1, sha256)  # type: ignore[union-attr]
    return time.perf_counter() - started


@dataclass
class FanoutResult:
    wall: float
    release: float
    cpu: float
    batches: list[tuple[int, float]] = field(default_factory=list)
    states: dict[str, int] = field(default_factory=dict)
    received: dict = field(default_factory=dict)  # type: ignore[type-arg]
    receiver_cpu: float = 0.0
    errors: list[str] = field(default_factory=list)


class Profiler:
    """cProfile and/or py-spy around the timed section only."""

    def __init__(self, cprofile: str | None, pyspy: str | None, rate: int) -> None:
        self.cprofile_path = cprofile
        self.pyspy_path = pyspy
        self.rate = rate
        self.profile: cProfile.Profile | None = None
        self.spy: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if self.pyspy_path:
            spy = Path(sys.executable).with_name("py-spy")
            fmt = (
                "speedscope"
                if self.pyspy_path.endswith(".json")
                else ("raw" if self.pyspy_path.endswith(".txt") else "flamegraph")
            )
            self.spy = subprocess.Popen(
                [
                    str(spy),
                    "record",
                    "--pid",
                    str(os.getpid()),
                    "--rate",
                    str(self.rate),
                    "--format",
                    fmt,
                    "--output",
                    self.pyspy_path,
                    "--nonblocking",
                ],
                stdout=subprocess.DEVNULL,
            )
            time.sleep(1.0)  # let it attach
        if self.cprofile_path:
            self.profile = cProfile.Profile()
            self.profile.enable()

    def stop(self) -> None:
        if self.profile is not None:
            self.profile.disable()
        if self.spy is not None:
            self.spy.send_signal(signal.SIGINT)
            self.spy.wait(30)

    def report(self) -> None:
        if self.profile is not None and self.cprofile_path:
            self.profile.dump_stats(self.cprofile_path)
            stats = pstats.Stats(self.profile)
            print(f"\ncProfile of the last timed fan-out (saved to {self.cprofile_path}):")
            stats.sort_stats("tottime").print_stats(25)
            stats.sort_stats("cumulative").print_stats(40)
        if self.pyspy_path:
            print(f"py-spy profile of the last timed fan-out: {self.pyspy_path}")


async def fan_out(
    ctx: Context, probe: ReceiverProbe, expected: int, item: QueueItem, limit: int | None
) -> FanoutResult:
    before = await probe.count()
    cpu0 = time.process_time()
    started = time.perf_counter()
    released = await release_due(ctx)
    release_done = time.perf_counter()
    assert released == 1, released
    batches: list[tuple[int, float]] = []
    errors: list[str] = []
    while True:
        t = time.perf_counter()
        try:
            done = await (deliver_due(ctx) if limit is None else deliver_due(ctx, limit))
        except Exception as exc:  # as slowpub.workers._loop does: log, go on
            errors.append(f"{type(exc).__name__}: {str(exc).splitlines()[0]}")
            done = -1
        batches.append((done, time.perf_counter() - t))
        if done == 0:
            break
    # Every 202 was sent after its signature was verified, so the count is
    # final by now; poll anyway in case a request is still being answered.
    deadline = time.perf_counter() + (3 if errors else 30)
    while True:
        received = await probe.count()
        if received["verified"] - before["verified"] >= expected or time.perf_counter() > deadline:
            break
        await asyncio.sleep(0.005)
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu0
    async with ctx.db.sessions() as session:
        activity_uri = (
            await session.execute(select(QueueItem.activity_uri).where(QueueItem.id == item.id))
        ).scalar_one()
        rows = await session.execute(
            select(Delivery.state, func.count())
            .where(Delivery.activity_uri == activity_uri)
            .group_by(Delivery.state)
        )
        states = {state: n for state, n in rows}
    result = FanoutResult(wall=wall, release=release_done - started, cpu=cpu, batches=batches)
    result.states = states
    result.errors = errors
    result.received = {
        "verified": received["verified"] - before["verified"],
        "hosts": received["hosts"],
        "rejected": received["rejected"],
    }
    result.receiver_cpu = received["cpu_seconds"] - before["cpu_seconds"]
    return result


# --- main -------------------------------------------------------------------------------


async def main_async(args: argparse.Namespace) -> int:
    pin(args.bench_cpu)
    status = 0
    with tempfile.TemporaryDirectory(prefix="slowpub-bench-") as tmpdir:
        tmp = Path(tmpdir)
        async with database(args.database_url, tmp) as url:
            port = args.port or free_port()
            settings = Settings(
                base_url=BASE_URL,
                data_dir=tmp,
                database_url=url,
                secret_key="bench-secret-not-for-production",
                allow_private_networks=True,
            )
            db = create_database(url)
            await upgrade(db.engine)
            ctx = build_context(settings, db=db, client_factory=client_factory(settings, port))
            assert ctx.host_clients is not None
            if args.client == "http1":
                # What build_context builds without a client factory, dialling the receiver.
                ctx.host_clients.pool = delivery_pool(
                    allow_private=settings.allow_private_networks,
                    user_agent=user_agent(settings),
                    resolver=loopback_resolver(port),
                )
            try:
                t = time.perf_counter()
                user = await create_user(ctx, USERNAME, password=None)
                await add_followers(ctx, user, args.followers, args.inboxes)
                expected = min(args.followers, args.inboxes)
                key_id = urls.key_id(urls.actor(settings, USERNAME))
                dialect = ctx.db.engine.dialect.name
                if args.what_if:
                    print(
                        f"WHAT-IF patches active (not slowpub as it is): {', '.join(args.what_if)}"
                    )
                print(
                    f"setup: {dialect} database, {args.followers:,} followers on "
                    f"{expected:,} shared inboxes, receiver on 127.0.0.1:{port} "
                    f"({time.perf_counter() - t:.1f} s); delivery client {args.client}"
                )
                with receiver(
                    port, key_id, public_key_pem(user.private_key_pem), tmp, args.receiver_cpu
                ):
                    # Warm the imports and the key cache outside the timed section.
                    signature_floor(user.private_key_pem, 20)
                    profiler = Profiler(args.cprofile, args.py_spy, args.py_spy_rate)
                    probe = ReceiverProbe(port)
                    for run in range(1, args.runs + 1):
                        item = await queue_due_post(ctx, run)
                        floor_before = signature_floor(user.private_key_pem, expected)
                        if run == args.runs:
                            profiler.start()
                        result = await fan_out(ctx, probe, expected, item, args.limit)
                        if run == args.runs:
                            profiler.stop()
                        floor_after = signature_floor(user.private_key_pem, expected)
                        status = max(
                            status, report(run, args, expected, result, floor_before, floor_after)
                        )
                        # Next run starts cold, like a post after the keep-alive ran out.
                        assert ctx.host_clients is not None
                        await ctx.host_clients.aclose()
                    await probe.aclose()
                    profiler.report()
            finally:
                await ctx.close()
    return status


def report(
    run: int,
    args: argparse.Namespace,
    expected: int,
    r: FanoutResult,
    floor_before: float,
    floor_after: float,
) -> int:
    floor = min(floor_before, floor_after)
    ratio = r.wall / floor
    verified = r.received["verified"]
    ok = verified == expected and not r.received["rejected"] and r.states.get("done") == expected
    passed = ratio <= GOAL_RATIO
    batches = ", ".join(f"{n if n >= 0 else 'raised'}:{dt:.2f}s" for n, dt in r.batches)
    print(f"\n=== run {run}: 1 post -> {args.followers:,} followers on {expected:,} shared inboxes")
    print(
        f"floor     {expected:,} bare RSA-2048 signatures: {floor:.3f} s "
        f"(before {floor_before:.3f} s, after {floor_after:.3f} s; "
        f"{expected / floor:,.0f} signatures/s)"
    )
    print(
        f"fan-out   wall {r.wall:.3f} s: {verified / r.wall:,.0f} deliveries/s "
        f"({args.followers / r.wall:,.0f} followers reached/s)"
    )
    print(
        f"          release_due {r.release * 1000:.0f} ms; deliver_due batches "
        f"(rows:time) {batches}"
    )
    print(
        f"          sender CPU {r.cpu:.2f} s ({r.cpu / r.wall:.0%} of wall, "
        f"{r.cpu / floor:.1f}x floor); receiver CPU {r.receiver_cpu:.2f} s"
    )
    print(
        f"          receiver verified {verified:,} from {r.received['hosts']:,} hosts, "
        f"rejected {r.received['rejected'] or 0}; delivery rows {r.states}"
    )
    for error in r.errors:
        print(f"ERROR     deliver_due raised (rows stay claimed for the lease): {error}")
    verdict = "PASS" if passed else "FAIL"
    print(f"ratio     {ratio:.2f}x floor (goal <= {GOAL_RATIO:.1f}x): {verdict}")
    if not ok:
        print("ERROR     not every inbox got a verified delivery")
        return 2
    return 0 if passed else 1


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Fan-out of one post to many followers on many shared inboxes, "
        "against the RSA signature floor."
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help="default: a temp SQLite file; a postgresql+asyncpg:// URL names the server "
        "(and the database to connect to for CREATE/DROP DATABASE): a fresh database "
        "is created for the run and dropped after",
    )
    parser.add_argument("--followers", type=int, default=10_000)
    parser.add_argument("--inboxes", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=1, help="posts to fan out, one after another")
    parser.add_argument(
        "--limit", type=int, default=None, help="deliver_due batch (default: slowpub's)"
    )
    parser.add_argument(
        "--loop",
        choices=("uvloop", "asyncio"),
        default="uvloop",
        help="event loop: uvloop is what `slowpub serve` runs (uvicorn's auto), "
        "asyncio what `slowpub worker` runs",
    )
    parser.add_argument(
        "--client",
        choices=("http1", "httpx"),
        default="http1",
        help="delivery client: http1 is slowpub's default (federation.http1 pool), "
        "httpx the per-host httpx clients used when a client factory is injected",
    )
    parser.add_argument("--port", type=int, default=0, help="receiver port (default: a free one)")
    parser.add_argument("--bench-cpu", type=int, default=0, help="pin this process (-1: no pin)")
    parser.add_argument("--receiver-cpu", type=int, default=1, help="pin the receiver (-1: no pin)")
    parser.add_argument("--cprofile", metavar="FILE", help="cProfile the last timed fan-out")
    parser.add_argument(
        "--py-spy",
        metavar="FILE",
        help="py-spy record the last timed fan-out (.svg flamegraph, .json speedscope, .txt raw)",
    )
    parser.add_argument(
        "--what-if",
        action="append",
        default=[],
        choices=sorted(WHAT_IF),
        help="patch in a proposed slowpub change (this process only) to measure it; repeatable",
    )
    parser.add_argument("--py-spy-rate", type=int, default=250)
    args = parser.parse_args()
    if args.bench_cpu < 0:
        args.bench_cpu = None
    if args.receiver_cpu < 0:
        args.receiver_cpu = None
    if args.inboxes > 9999:
        parser.error("--inboxes is at most 9999")
    for name in args.what_if:
        WHAT_IF[name]()
    if args.loop == "uvloop":
        import uvloop

        sys.exit(uvloop.run(main_async(args)))
    sys.exit(asyncio.run(main_async(args)))


if __name__ == "__main__":
    main()
