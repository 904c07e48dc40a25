"""Summarise a raw py-spy profile of the slowpub server (``ingest.py --py-spy FILE``).

    .venv/bin/python tests/bench/_ingest_profile.py /tmp/ingest.txt [--top 25]

Prints the share of samples that include each function of the ingest path
(inclusive: a sample counts for every listed function on its stack), then
the top functions by self time.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter

# (label, regex on one frame "function (file:line)"): inclusive shares.
WATCH: list[tuple[str, str]] = [
    ("inbound worker (inbound.process_due), whole", r"^process_due \(slowpub/inbound"),
    ("  worker: fetch_actor/cached_actor", r"^(fetch_actor|cached_actor) \(slowpub/"),
    ("  worker: claim", r"^claim \(slowpub/queue"),
    (
        "other workers (release/deliver/seal/mail)",
        r"^(release_due|deliver_due|seal_due|send_due) ",
    ),
    ("inbox route (web/inbox.inbox_post), whole", r"^inbox_post \(slowpub/web/inbox"),
    ("  get_user (per-user inbox only)", r"^get_user \(slowpub/accounts"),
    ("  receive: verify_request", r"^verify_request \(federation/verify"),
    ("    RSA verify (verify_bytes)", r"^verify_bytes \(federation/"),
    ("    digest (verify_digest)", r"^verify_digest \(federation/"),
    ("    key resolver", r"^resolve \(slowpub/remote_actors"),
    ("  receive: parse_activity (json.loads)", r"^parse_activity \(slowpub/inbox"),
    ("  receive: InboxWriter.store (await commit)", r"^InboxWriter\.store "),
    ("  receive: heard_from", r"^heard_from \(slowpub/hosts"),
    ("group commit writer (InboxWriter._commit)", r"^InboxWriter\._commit "),
    ("uvicorn access log / logging", r"\(logging/__init__\.py|^AccessFormatter|access_log"),
    ("SessionMiddleware", r"^SessionMiddleware\.__call__ "),
    ("sqlalchemy (anywhere)", r"\(sqlalchemy/"),
    ("aiosqlite worker thread", r"^_connection_worker_thread |\(aiosqlite/core\.py"),
    ("asyncpg (anywhere)", r"\(asyncpg/"),
]


def parse(path: str) -> list[tuple[list[str], int]]:
    samples = []
    with open(path) as handle:
        for line in handle:
            line = line.rstrip("\n")
            if not line:
                continue
            stack, _, count = line.rpartition(" ")
            samples.append((stack.split(";"), int(count)))
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("raw")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    samples = parse(args.raw)
    total = sum(n for _, n in samples)
    print(f"{total} samples")
    compiled = [(label, re.compile(rx)) for label, rx in WATCH]
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    for frames, n in samples:
        for label, rx in compiled:
            if any(rx.search(f) for f in frames):
                inclusive[label] += n
        own[re.sub(r":\d+\)$", ")", frames[-1])] += n
    print("\ninclusive share of samples:")
    for label, _ in WATCH:
        print(f"  {100 * inclusive[label] / total:5.1f}%  {label}")
    print(f"\ntop {args.top} by self time:")
    for name, n in own.most_common(args.top):
        print(f"  {100 * n / total:5.1f}%  {name}")


if __name__ == "__main__":
    main()
