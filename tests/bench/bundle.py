"""Sealing and rendering a bundle of 10,000 items: seconds to seal, ms to render, peak memory.

    .venv/bin/python tests/bench/bundle.py                              # temp SQLite file
    .venv/bin/python tests/bench/bundle.py \\
        --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test  # fresh db, dropped
    .venv/bin/python tests/bench/bundle.py --items 2000 --repeat 1      # quick check

Set-up (not timed; Core bulk inserts, ``_bundle_setup.py``): migrations, one
user ``alice`` (``accounts.create_user``), ``--actors`` remote actors on 40
hosts, a few local posts of alice's, ``--items`` remote posts (~500 chars of
sanitised HTML; every fifth starts a reply chain of up to 4, half of the
chains with a ``thread`` id and half found through ``in_reply_to`` only) and
``--items`` unsealed inbound items for alice: mostly ``post``, some
``reply``/``mention``/``boost``/``like``/``share``/``follow``/
``follow_request``/``move``.

Measured in a fresh process (``_bundle_measure.py``, so its peak RSS is its
own, not the set-up's), on the same database:

* **seal**: ``bundles.seal_now(ctx, "alice")``, seconds; beside it the floor,
  a bare ``UPDATE inbound_items SET bundle_id`` of the same rows (run on a
  copy of the rows' state, then reset), in the same run;
* **load**: ``bundle_view.load(session, user, bundle)``; beside it the floor,
  the same five-table join run with Core (tuples, no ORM objects);
* **page**: ``bundle.html`` rendered with the context ``web/reading.show``
  passes (it extends ``base.html`` and includes ``_bundle.html``), bytes and ms;
* **text** ``bundle_view.as_text`` and **json** ``as_json`` + ``json.dumps``;
* **memory**: tracemalloc peak of load + page (separate pass: tracemalloc
  slows Python down, so timings come from passes without it) and the
  process's peak RSS (``ru_maxrss``) before and after.

Timings are the best of ``--repeat`` runs (the first run's is printed too).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from _bundle_setup import build  # noqa: E402


async def _pg(url: str, statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url",
        help="default: a temporary SQLite file; a "
        "postgresql+asyncpg:// URL gets a fresh database on that server, dropped after",
    )
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--actors", type=int, default=400)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", metavar="FILE", help="cProfile the measuring process to FILE")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="slowpub-bundle-"))
    pg_name = None
    if args.database_url and not args.database_url.startswith("sqlite"):
        pg_name = "slowpub_bundle_" + secrets.token_hex(4)
        asyncio.run(_pg(args.database_url, f'CREATE DATABASE "{pg_name}"'))
        url = args.database_url.rsplit("/", 1)[0] + "/" + pg_name
    else:
        url = args.database_url or f"sqlite+aiosqlite:///{tmp / 'slowpub.db'}"
    try:
        t0 = time.perf_counter()
        counts = asyncio.run(build(url, tmp, items=args.items, actors=args.actors))
        print(
            f"database: {'sqlite' if url.startswith('sqlite') else 'postgresql'}; set-up "
            f"{time.perf_counter() - t0:.1f}s (not timed): {counts}"
        )
        cmd = [
            sys.executable,
            str(HERE / "_bundle_measure.py"),
            "--database-url",
            url,
            "--data-dir",
            str(tmp),
            "--repeat",
            str(args.repeat),
        ]
        if args.profile:
            cmd += ["--profile", args.profile]
        done = subprocess.run(cmd, cwd=ROOT)
        return done.returncode
    finally:
        if pg_name is not None:
            asyncio.run(_pg(args.database_url, f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.exit(main())
