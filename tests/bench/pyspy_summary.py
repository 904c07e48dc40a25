"""Summarise a raw py-spy profile (``fanout.py --py-spy FILE.txt``) of the delivery path.

    .venv/bin/python tests/bench/pyspy_summary.py /tmp/fanout.txt [--top 25]

Prints where the samples went, by category (first matching rule, checked
from the innermost frame outwards, so e.g. connecting inside an httpx request
counts as "tcp connect"), then the top functions by self and inclusive time.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter

# (category, regex on "function (file)") — the first rule matching any frame of
# a sample, innermost frame first, wins.
RULES: list[tuple[str, str]] = [
    ("rsa sign (sign_bytes)", r"^sign_bytes "),
    (
        "http client create (HostClients.get/make_http_client)",
        r"^(HostClients\.get|make_http_client) ",
    ),
    (
        "http client close (close_retired/aclose)",
        r"^(HostClients\.close_retired|HostClients\.aclose|AsyncClient\.aclose) ",
    ),
    ("tcp connect (httpcore/anyio connect_tcp)", r"connect_tcp "),
    (
        "failed `import sniffio` (httpcore current_async_library)",
        r"^current_async_library \(httpcore",
    ),
    ("signature header build (sign_request, minus RSA)", r"^sign_request "),
    ("http request (httpx/httpcore/h11, minus the above)", r"\((httpx|httpcore|h11|anyio)/"),
    ("sender key lookup (_signer)", r"^_signer "),
    ("outcome writes (OutcomeWriter.flush)", r"^OutcomeWriter\.flush "),
    ("claim rows (queue.claim)", r"^claim \(slowpub/queue"),
    ("release (release_due)", r"^release_due "),
    ("database other (sqlalchemy/aiosqlite/asyncpg)", r"\((sqlalchemy|aiosqlite|asyncpg)/"),
    ("aiosqlite worker thread", r"^_connection_worker_thread "),
    ("slowpub delivery other", r"\(slowpub/"),
    ("event loop idle/other", r"^Runner\.run "),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("raw")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    rules = [(name, re.compile(pattern)) for name, pattern in RULES]
    categories: Counter[str] = Counter()
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    with open(args.raw) as handle:
        for line in handle:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if not stack or not count.isdigit():
                continue
            n = int(count)
            total += n
            frames = [re.sub(r":\d+\)$", ")", f) for f in stack.split(";")]
            own[frames[-1]] += n
            for frame in set(frames):
                inclusive[frame] += n
            for name, pattern in rules:
                if any(pattern.search(f) for f in reversed(frames)):
                    categories[name] += n
                    break
            else:
                categories["other"] += n
    print(f"{total} samples")
    print("\nby category:")
    for name, n in categories.most_common():
        print(f"  {n / total:6.1%}  {name}")
    print(f"\ntop {args.top} by self time:")
    for name, n in own.most_common(args.top):
        print(f"  {n / total:6.1%}  {name}")
    print(f"\ntop {args.top} by inclusive time:")
    for name, n in inclusive.most_common(args.top):
        print(f"  {n / total:6.1%}  {name}")


if __name__ == "__main__":
    main()
