"""Program-day arithmetic: when each day of a cohort is due, in real or preview time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

SECONDS_PER_DAY = 86_400


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(frozen=True)
class ProgramClock:
    """Real days at a local delivery time, or preview days of `day_length_seconds` each."""

    day_length_seconds: float | None = None

    @property
    def is_preview(self) -> bool:
        return self.day_length_seconds is not None

    def scale(self, seconds: float) -> float:
        """Shrink a real-world duration in proportion to the preview day length."""
        if self.day_length_seconds is None:
            return seconds
        return seconds * self.day_length_seconds / SECONDS_PER_DAY

    def due_at(
        self, *, start_at: datetime, start_date: date, delivery_time: time, timezone: str, day: int
    ) -> datetime:
        """When program day `day` (1-based) is due, as UTC.

        A delivery time that falls in a daylight-saving gap resolves to the same wall-clock
        offset as before the change (02:30 becomes 03:30), so every local day gets one delivery.
        """
        if self.day_length_seconds is not None:
            return start_at + timedelta(seconds=(day - 1) * self.day_length_seconds)
        local_date = start_date + timedelta(days=day - 1)
        local = datetime.combine(local_date, delivery_time, tzinfo=ZoneInfo(timezone))
        return local.astimezone(UTC)

    def current_day(
        self,
        *,
        start_at: datetime,
        start_date: date,
        delivery_time: time,
        timezone: str,
        now: datetime,
    ) -> int:
        """The latest program day whose delivery time has passed (0 before day 1)."""
        if self.day_length_seconds is not None:
            if now < start_at:
                return 0
            return int((now - start_at).total_seconds() // self.day_length_seconds) + 1
        local_today = now.astimezone(ZoneInfo(timezone)).date()
        day = (local_today - start_date).days + 1
        if day < 1:
            return 0
        due_today = self.due_at(
            start_at=start_at,
            start_date=start_date,
            delivery_time=delivery_time,
            timezone=timezone,
            day=day,
        )
        return day if now >= due_today else day - 1
