"""Program-day arithmetic, including daylight-saving changes and the preview clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.services.clock import ProgramClock

REAL = ProgramClock()


def _due_times(zone: str, start: date, delivery: time, days: int) -> list[datetime]:
    start_at = datetime.combine(start, delivery, tzinfo=ZoneInfo(zone)).astimezone(UTC)
    return [
        REAL.due_at(
            start_at=start_at, start_date=start, delivery_time=delivery, timezone=zone, day=d
        )
        for d in range(1, days + 1)
    ]


def _deliveries_by_scanning(
    zone: str, start: date, delivery: time, days: int, step: timedelta
) -> dict[date, int]:
    """Walk time forward like the tick does and count how often each new day becomes due."""
    start_at = datetime.combine(start, delivery, tzinfo=ZoneInfo(zone)).astimezone(UTC)
    now = datetime.combine(start, time(0), tzinfo=ZoneInfo(zone)).astimezone(UTC)
    end = now + timedelta(days=days)
    last_day = 0
    per_local_date: dict[date, int] = {}
    while now < end:
        day = REAL.current_day(
            start_at=start_at, start_date=start, delivery_time=delivery, timezone=zone, now=now
        )
        if day > last_day:
            for _ in range(day - last_day):
                local = now.astimezone(ZoneInfo(zone)).date()
                per_local_date[local] = per_local_date.get(local, 0) + 1
            last_day = day
        now += step
    return per_local_date


@pytest.mark.parametrize(
    ("zone", "start"),
    [
        ("Europe/Berlin", date(2026, 3, 25)),  # spring forward on 29 March
        ("Europe/Berlin", date(2026, 10, 21)),  # fall back on 25 October
        ("America/New_York", date(2026, 3, 5)),  # spring forward on 8 March
        ("America/New_York", date(2026, 10, 28)),  # fall back on 1 November
    ],
)
@pytest.mark.parametrize("delivery", [time(9, 0), time(2, 30), time(1, 30)])
def test_one_delivery_per_local_day_across_dst(zone: str, start: date, delivery: time) -> None:
    counts = _deliveries_by_scanning(zone, start, delivery, 10, timedelta(minutes=10))
    assert len(counts) == 10
    assert set(counts.values()) == {1}
    due = _due_times(zone, start, delivery, 10)
    local_dates = [d.astimezone(ZoneInfo(zone)).date() for d in due]
    assert local_dates == [start + timedelta(days=i) for i in range(10)]


def test_delivery_time_keeps_local_wall_clock_across_the_change() -> None:
    due = _due_times("Europe/Berlin", date(2026, 3, 28), time(9, 0), 2)
    assert [d.astimezone(ZoneInfo("Europe/Berlin")).time() for d in due] == [time(9), time(9)]
    assert [d.hour for d in due] == [8, 7]  # UTC shifts by the hour that was skipped


def test_delivery_in_the_skipped_hour_moves_forward_once() -> None:
    due = _due_times("Europe/Berlin", date(2026, 3, 29), time(2, 30), 1)[0]
    assert due.astimezone(ZoneInfo("Europe/Berlin")).strftime("%H:%M") == "03:30"


def test_current_day_before_and_after_the_delivery_time() -> None:
    start = date(2026, 12, 1)
    start_at = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    kwargs = dict(
        start_at=start_at, start_date=start, delivery_time=time(9), timezone="Europe/Berlin"
    )
    assert REAL.current_day(**kwargs, now=datetime(2026, 11, 30, 12, tzinfo=UTC)) == 0
    assert REAL.current_day(**kwargs, now=datetime(2026, 12, 1, 7, 59, tzinfo=UTC)) == 0
    assert REAL.current_day(**kwargs, now=datetime(2026, 12, 1, 8, 0, tzinfo=UTC)) == 1
    assert REAL.current_day(**kwargs, now=datetime(2026, 12, 3, 7, 59, tzinfo=UTC)) == 2
    assert REAL.current_day(**kwargs, now=datetime(2026, 12, 3, 8, 0, tzinfo=UTC)) == 3


def test_preview_clock_ignores_time_of_day_and_zone() -> None:
    preview = ProgramClock(day_length_seconds=10)
    start_at = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)
    kwargs = dict(
        start_at=start_at,
        start_date=date(2026, 12, 1),
        delivery_time=time(9),
        timezone="Asia/Tokyo",
    )
    assert preview.due_at(**kwargs, day=1) == start_at
    assert preview.due_at(**kwargs, day=4) == start_at + timedelta(seconds=30)
    assert preview.current_day(**kwargs, now=start_at - timedelta(seconds=1)) == 0
    assert preview.current_day(**kwargs, now=start_at + timedelta(seconds=29.9)) == 3
    assert preview.scale(6 * 3600) == pytest.approx(2.5)
