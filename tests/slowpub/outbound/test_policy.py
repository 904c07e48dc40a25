"""Release times: cooling-off, quiet hours in the user's timezone, the daily limit."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from slowpub.outbound.policy import (
    PolicyError,
    format_duration,
    parse_duration,
    parse_quiet_hours,
    release_time,
)

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("0", 0), ("30s", 30), ("15m", 900), ("1h", 3600), ("2d", 172800), ("1h30m", 5400)],
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)
    assert parse_duration(format_duration(timedelta(seconds=seconds))).total_seconds() == seconds


@pytest.mark.parametrize("text", ["", "soon", "8d", "1x", "-1h", "1h 2"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(PolicyError):
        parse_duration(text)


def test_quiet_hours_parse() -> None:
    assert parse_quiet_hours("22:00-07:00") == (time(22), time(7))
    assert parse_quiet_hours("off") is None
    for bad in ("22-07", "25:00-07:00", "10:00-10:00"):
        with pytest.raises(PolicyError):
            parse_quiet_hours(bad)


async def _never(start: datetime, end: datetime) -> int:
    return 0


async def test_quiet_hours_wrap_midnight_in_local_time() -> None:
    # 21:30 UTC is 22:30 in Berlin in winter: inside 22:00-07:00, so it waits
    # until 07:00 Berlin = 06:00 UTC.
    now = datetime(2026, 1, 10, 21, 0, tzinfo=UTC)
    when = await release_time(
        now=now,
        cooling=timedelta(minutes=30),
        tz=BERLIN,
        quiet=(time(22), time(7)),
        daily_limit=None,
        count_releases=_never,
    )
    assert when == datetime(2026, 1, 11, 6, 0, tzinfo=UTC)


async def test_quiet_hours_across_dst_change() -> None:
    # The night clocks go forward in Berlin (29 March 2026): 07:00 local is 05:00 UTC.
    now = datetime(2026, 3, 28, 22, 0, tzinfo=UTC)
    when = await release_time(
        now=now,
        cooling=timedelta(minutes=5),
        tz=BERLIN,
        quiet=(time(22), time(7)),
        daily_limit=None,
        count_releases=_never,
    )
    assert when == datetime(2026, 3, 29, 5, 0, tzinfo=UTC)


async def test_daily_limit_rolls_to_next_local_day_in_order() -> None:
    scheduled: list[datetime] = []

    async def count(start: datetime, end: datetime) -> int:
        return sum(1 for t in scheduled if start <= t < end)

    now = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
    for _ in range(5):
        scheduled.append(
            await release_time(
                now=now,
                cooling=timedelta(hours=1),
                tz=BERLIN,
                quiet=(time(22), time(7)),
                daily_limit=2,
                count_releases=count,
            )
        )
    local = [t.astimezone(BERLIN) for t in scheduled]
    assert [t.date().day for t in local] == [1, 1, 2, 2, 3]
    # Rolled items leave at the first moment the next day allows: after quiet hours.
    assert local[2].time() == time(7) and local[4].time() == time(7)
    assert scheduled == sorted(scheduled)


async def test_not_before_wins_when_later() -> None:
    now = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
    later = now + timedelta(days=2)
    when = await release_time(
        now=now,
        cooling=timedelta(hours=1),
        tz=BERLIN,
        quiet=None,
        daily_limit=None,
        count_releases=_never,
        not_before=later,
    )
    assert when == later
