"""When a queued item may leave: cooling-off, quiet hours and the daily limit.

The release time is computed once, when an item is queued (or its clock is
restarted by an edit), and shown to the author; the scheduler then only
compares it with the clock. Quiet hours and days are the user's local ones
(IANA timezone, DST-correct); everything stored is UTC.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MAX_COOLING = timedelta(days=7)
_DURATION_PART = re.compile(r"(\d+)\s*([smhd])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_QUIET = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")
# Only what shows up in followers' feeds counts against the daily limit.
LIMITED_KINDS = ("create", "announce")


class PolicyError(ValueError):
    """A policy value that cannot be used; the message says what is expected."""


def parse_duration(text: str) -> timedelta:
    """``0``, ``30s``, ``15m``, ``1h``, ``2d`` or combinations like ``1h30m``; at most 7 days."""
    cleaned = text.strip().lower().replace(" ", "")
    if cleaned in {"0", "none", "off"}:
        return timedelta(0)
    parts = _DURATION_PART.findall(cleaned)
    if not parts or "".join(n + u for n, u in parts) != cleaned:
        raise PolicyError(f"{text!r} is not a duration like 30s, 15m, 1h or 2d")
    value = timedelta(seconds=sum(int(n) * _UNITS[u] for n, u in parts))
    if value > MAX_COOLING:
        raise PolicyError("cooling-off can be at most 7 days")
    return value


def format_duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    if seconds == 0:
        return "0"
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            out.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(out)


def parse_quiet_hours(text: str | None) -> tuple[time, time] | None:
    if text is None or text.strip().lower() in {"", "off", "none"}:
        return None
    match = _QUIET.match(text.strip())
    if not match:
        raise PolicyError(f"{text!r} is not a range like 22:00-07:00 (or off)")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        raise PolicyError(f"{text!r} has an impossible time")
    start, end = time(h1, m1), time(h2, m2)
    if start == end:
        raise PolicyError("quiet hours must not start and end at the same minute")
    return start, end


def format_quiet_hours(value: tuple[time, time] | None) -> str:
    if value is None:
        return "off"
    return f"{value[0]:%H:%M}-{value[1]:%H:%M}"


def parse_timezone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise PolicyError(f"{name!r} is not an IANA timezone like Europe/Berlin") from exc


def _local(day: datetime, at: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day.date(), at, tzinfo=tz)


def quiet_end(moment: datetime, quiet: tuple[time, time], tz: ZoneInfo) -> datetime | None:
    """If ``moment`` falls in quiet hours, when they end (UTC); else None."""
    local = moment.astimezone(tz)
    start, end = quiet
    now = local.time()
    if start < end:
        inside = start <= now < end
        ends = _local(local, end, tz)
    elif now >= start:
        inside = True
        ends = _local(local + timedelta(days=1), end, tz)
    else:
        inside = now < end
        ends = _local(local, end, tz)
    return ends.astimezone(UTC) if inside else None


def local_day(moment: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC bounds [start, end) of the local day containing ``moment``."""
    local = moment.astimezone(tz)
    start = _local(local, time(0), tz)
    end = _local(local + timedelta(days=1), time(0), tz)
    return start.astimezone(UTC), end.astimezone(UTC)


CountReleases = Callable[[datetime, datetime], Awaitable[int]]


async def release_time(
    *,
    now: datetime,
    cooling: timedelta,
    tz: ZoneInfo,
    quiet: tuple[time, time] | None,
    daily_limit: int | None,
    count_releases: CountReleases,
    not_before: datetime | None = None,
) -> datetime:
    """The first moment after the cooling-off that quiet hours and the daily limit allow.

    ``count_releases(start, end)`` says how many limited releases are already
    scheduled in a UTC range; items roll to the next local day in order.
    """
    candidate = now + cooling
    if not_before is not None and not_before > candidate:
        candidate = not_before
    for _ in range(1000):  # bounded: each step moves forward by at least a minute
        if quiet is not None:
            ends = quiet_end(candidate, quiet, tz)
            if ends is not None:
                candidate = ends
                continue
        if daily_limit is not None:
            start, end = local_day(candidate, tz)
            if await count_releases(start, end) >= daily_limit:
                candidate = end
                continue
        return candidate
    raise PolicyError("no release time found within the policy (daily limit of 0?)")
