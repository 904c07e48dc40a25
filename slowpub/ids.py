"""Time-ordered public ids, the way Mastodon's clients expect them, and reading ids back.

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
# Every id column is a BIGINT: a larger number overflows the database driver.
MAX_ID = 2**63 - 1
_PROCESS = secrets.randbits(6)
_counter = itertools.count(secrets.randbits(16))


def snowflake(moment: datetime) -> int:
    millis = int((moment - EPOCH).total_seconds() * 1000)
    return (max(millis, 0) << 22) | (_PROCESS << 16) | (next(_counter) & 0xFFFF)


def parse_id(text: str, maximum: int = MAX_ID) -> int | None:
    """A non-negative id from a URL or a parameter, or None if it is not one.

    ASCII digits only: ``str.isdigit`` also takes ``"²"`` (which ``int``
    refuses) and other scripts' digits (which ``int`` reads, so one id
    would have many spellings). Never above ``maximum``, by default the
    largest BIGINT, so no lookup can overflow the driver.
    """
    if not (0 < len(text) <= 19 and text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if value <= maximum else None
