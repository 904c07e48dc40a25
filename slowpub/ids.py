"""Time-ordered public ids, the way Mastodon's clients expect them.

Mastodon status ids are 64-bit snowflakes that sort by time, and clients
page and sort by them. Ours: milliseconds since 2020 in the high bits, then
6 random bits per process and a 16-bit counter, so ids made in one process
never collide and ids from several processes practically never do (the
columns are unique, so a collision would fail loudly, not corrupt).
"""

from __future__ import annotations

import itertools
import secrets
from datetime import UTC, datetime

EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
_PROCESS = secrets.randbits(6)
_counter = itertools.count(secrets.randbits(16))


def snowflake(moment: datetime) -> int:
    millis = int((moment - EPOCH).total_seconds() * 1000)
    return (max(millis, 0) << 22) | (_PROCESS << 16) | (next(_counter) & 0xFFFF)
