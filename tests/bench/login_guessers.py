"""Inbox ingest while password guessers hammer the login: accepted POSTs/s with and without.

    .venv/bin/python tests/bench/login_guessers.py                    # temp SQLite file
    .venv/bin/python tests/bench/login_guessers.py --requests 3000    # quicker
    .venv/bin/python tests/bench/login_guessers.py \\
        --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test

Goal (issue 9.4): 8 clients guessing passwords must not starve the inbox.
The review measured 2,234 accepted/s alone and 19 with 8 guessers, because
Argon2 ran on the event loop. Here one ``slowpub serve`` process (pinned to
``--server-cpu`` like ``ingest.py``) takes signed inbox POSTs from
``--concurrency`` keep-alive connections in three phases, each with its own
``--requests`` distinct activities:

* **alone**: no guessers (the baseline, measured in the same run);
* **botnet**: ``--guessers`` threads (another process, on the bench CPU)
  POST the password grant in a loop, every guess with a fresh
  ``X-Forwarded-For`` address (the server trusts 127.0.0.1 as a proxy) and
  a fresh unknown username, so no limit applies and every guess costs a full
  Argon2 check: the worst case;
* **one address**: the same guessers from one address against ``alice``
  (who has a password): the per-address limit answers 429 after 10
  failures, without checking. Before issue 9.4 this was the worst case (a
  name that does not exist cost no check at all).

Printed per phase: accepted POSTs/s, its ratio to "alone", and the
guessers' answers by status and rate. PASS if both guessing phases keep at
least ``--goal`` (default 0.5) of the baseline. Exit status: 0 PASS, 1 FAIL,
2 unexpected non-202 answers to the inbox POSTs.

Uses ``ingest.py``'s key server, request signing and load generator.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))
sys.path.insert(0, str(HERE))

from ingest import (  # noqa: E402
    SERVERS,
    drop_database,
    free_port,
    make_database,
    measure,
    presign,
    slowpub_cli,
    start_server,
    stop,
    wait_ready,
)

OOB = "urn:ietf:wg:oauth:2.0:oob"


def _register(port: int) -> dict[str, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    body = f"client_name=guesser&redirect_uris={OOB}&scopes=read"
    conn.request(
        "POST", "/api/v1/apps", body, {"Content-Type": "application/x-www-form-urlencoded"}
    )
    app: dict[str, str] = json.loads(conn.getresponse().read())
    conn.close()
    return app


def _guess_loop(
    port: int, app: dict[str, str], mode: str, worker: int, stop_at: Any, out: Any
) -> None:
    """One guesser: POST the password grant until told to stop; count answers."""
    statuses: Counter[int] = Counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    n = 0
    while not stop_at.is_set():
        n += 1
        if mode == "botnet":
            # A fresh address and a fresh name every time: no limit applies.
            address = f"10.{worker}.{n >> 8 & 255}.{n & 255}"
            username = f"nobody{worker}x{n}"
        else:
            address, username = "203.0.113.7", "alice"
        body = (
            f"grant_type=password&username={username}&password=guess{n}"
            f"&client_id={app['client_id']}&client_secret={app['client_secret']}&scope=read"
        )
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Forwarded-For": address,
        }
        try:
            conn.request("POST", "/oauth/token", body, headers)
            response = conn.getresponse()
            response.read()
            statuses[response.status] += 1
        except (OSError, http.client.HTTPException):
            statuses[0] += 1
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.close()
    out.put(dict(statuses))


def _guessers(
    port: int, app: dict[str, str], mode: str, count: int, cpu: int, stop_at: Any, out: Any
) -> None:
    if cpu >= 0:
        os.sched_setaffinity(0, {cpu})
    threads = [
        threading.Thread(target=_guess_loop, args=(port, app, mode, w, stop_at, out))
        for w in range(count)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def phase(
    label: str,
    mode: str | None,
    args: argparse.Namespace,
    proc: subprocess.Popen[bytes],
    port: int,
    app: dict[str, str],
    warm: list[bytes],
    timed: list[bytes],
) -> tuple[float, Counter[int], float]:
    ctx = multiprocessing.get_context("fork")
    stop_at = ctx.Event()
    out = ctx.Queue()
    guessers = None
    if mode is not None:
        guessers = ctx.Process(
            target=_guessers,
            args=(port, app, mode, args.guessers, args.bench_cpu, stop_at, out),
        )
        guessers.start()
        time.sleep(1.0)  # the guessers are at it before the inbox load starts
    start = time.perf_counter()
    result = measure(label, proc, port, warm, timed, args.concurrency)
    seconds = time.perf_counter() - start
    answers: Counter[int] = Counter()
    if guessers is not None:
        stop_at.set()
        for _ in range(args.guessers):
            answers.update(out.get(timeout=120))
        guessers.join(30)
        seconds += 1.0
    print(result.line(), flush=True)
    if answers:
        total = sum(answers.values())
        print(f"    guesses answered: {dict(answers)} ({total / seconds:,.1f}/s)", flush=True)
    other = set(result.result.statuses) - {202}
    return result.result.rate, answers, float(len(other) + len(result.result.errors))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--requests", type=int, default=6000, help="inbox POSTs per phase")
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--guessers", type=int, default=8)
    parser.add_argument("--goal", type=float, default=0.5)
    parser.add_argument("--server-cpu", type=int, default=1, help="-1: do not pin")
    parser.add_argument("--bench-cpu", type=int, default=0, help="-1: do not pin")
    args = parser.parse_args()
    if (os.cpu_count() or 1) < 2:
        args.server_cpu = args.bench_cpu = -1
    if args.bench_cpu >= 0:
        os.sched_setaffinity(0, {args.bench_cpu})

    from federation.keys import generate_private_key_pem, public_key_pem

    tmp = Path(tempfile.mkdtemp(prefix="slowpub-guessers-"))
    data_dir = tmp / "data"
    db_url, pg_name = make_database(args.database_url, data_dir)
    procs: list[subprocess.Popen[bytes]] = []
    status = 0
    try:
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
        per_phase = args.warmup + args.requests
        signed = presign(3 * per_phase, 0, private_pem, actor, base_url + "/inbox")
        batches = [signed[i * per_phase : (i + 1) * per_phase] for i in range(3)]
        wait_ready(key_port, keys, "key server")

        env = {
            **os.environ,
            "SLOWPUB_BASE_URL": base_url,
            "SLOWPUB_DATA_DIR": str(data_dir),
            "SLOWPUB_ALLOW_PRIVATE_NETWORKS": "1",
            "SLOWPUB_DATABASE_URL": db_url,
            # The guessers' X-Forwarded-For is believed, as behind a proxy.
            "SLOWPUB_TRUSTED_PROXIES": "127.0.0.1",
        }
        slowpub_cli(env, "init")
        exe = str(Path(sys.executable).parent / "slowpub")
        created = subprocess.run(
            [exe, "user", "create", "alice", "--password-stdin"],
            input="correct horse battery\n",
            env=env,
            capture_output=True,
            text=True,
        )
        if created.returncode != 0:
            raise SystemExit(f"slowpub user create failed: {created.stderr.strip()}")
        server_cpu = args.server_cpu if args.server_cpu >= 0 else None
        slow = start_server([exe, "serve", "--port", str(port)], env, server_cpu, tmp / "s.log")
        procs.append(slow)
        wait_ready(port, slow, "slowpub serve")
        app = _register(port)
        print(
            f"{args.requests} inbox POSTs per phase, {args.concurrency} connections; "
            f"{args.guessers} guessers; database "
            f"{'sqlite' if db_url.startswith('sqlite') else 'postgresql'}",
            flush=True,
        )
        rates = []
        bad = 0.0
        for (label, mode), batch in zip(
            [("alone", None), ("botnet guessers", "botnet"), ("one-address guessers", "one")],
            batches,
            strict=True,
        ):
            rate, _, problems = phase(
                label, mode, args, slow, port, app, batch[: args.warmup], batch[args.warmup :]
            )
            rates.append(rate)
            bad += problems
        alone, botnet, single = rates
        print()
        print(f"alone:                {alone:8,.0f} accepted/s")
        print(f"botnet guessers:      {botnet:8,.0f} accepted/s  ratio {botnet / alone:4.2f}")
        print(f"one-address guessers: {single:8,.0f} accepted/s  ratio {single / alone:4.2f}")
        worst = min(botnet, single) / alone
        verdict = "PASS" if worst >= args.goal else "FAIL"
        print(f"goal: both ratios >= {args.goal}  {verdict}")
        status = 2 if bad else (0 if verdict == "PASS" else 1)
    finally:
        for proc in procs:
            stop(proc)
        if pg_name is not None and args.database_url:
            drop_database(args.database_url, pg_name)
        shutil.rmtree(tmp, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
