"""Time-ordered public ids, the way Mastodon's clients expect them, and reading ids back.

Mastodon status ids are 64-bit snowflakes that sort by time, and clients
page and sort by them. Ours: milliseconds since 2020 in the high bits, then
6 random bits per process and a 16-bit counter, so ids made in one process
never collide and ids from several processes practically never do (the
columns are unique, so a collision would fail loudly, not corrupt).

Account ids must not be guessable (walking them would list every actor the
server knows, followers included): :func:`unguessable_id` keeps the time in
the high bits and fills the low 22 with fresh randomness, so one id says
nothing about its neighbours.
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


def unguessable_id(moment: datetime) -> int:
    """Time-ordered to the millisecond, then 22 random bits (about 4 million per ms).

    One process never draws the same bits twice for one millisecond (a bulk
    insert of 10,000 rows stamped with one time would otherwise collide about
    12 times); two processes collide once in 4 million pairs of ids made in
    the same millisecond, and the unique column makes that insert fail, to
    be retried (see store_actor), never a duplicate.
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    millis = max(int((moment - EPOCH).total_seconds() * 1000), 0)
    if len(_drawn) > _DRAWN_MILLIS:
        for old in list(_drawn)[: -_DRAWN_MILLIS // 2]:
            if old != millis:
                del _drawn[old]
    taken = _drawn.setdefault(millis, set())
    if len(taken) >= 1 << 21:
        taken.clear()  # half the space drawn in one ms: give up on remembering
    while (low := secrets.randbits(22)) in taken:
        pass
    taken.add(low)
    return (millis << 22) | low


# The random bits drawn per recent millisecond, for unguessable_id.
_DRAWN_MILLIS = 256
_drawn: dict[int, set[int]] = {}


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
