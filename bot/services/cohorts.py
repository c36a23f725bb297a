"""Cohorts: create them, find them by invite code, list them."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlalchemy import case, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.curriculum.schema import Program
from bot.db.models import Cohort, CohortStatus, CurriculumVersion, Participant, ParticipantStatus
from bot.services.catalog import program_of
from bot.services.clock import ProgramClock


class InvalidTimezone(ValueError):
    def __init__(self, name: str, suggestions: list[str]) -> None:
        self.name = name
        self.suggestions = suggestions
        super().__init__(f"unknown time zone {name!r}")


MAX_TIMEZONE_LENGTH = 64


def check_timezone(name: str) -> str:
    """Return the IANA name if valid; raise InvalidTimezone with close suggestions otherwise."""
    if len(name) > MAX_TIMEZONE_LENGTH:  # no zone is that long; the lookup would fail anyway
        raise InvalidTimezone(name[:MAX_TIMEZONE_LENGTH] + "…", [])
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "file name too long" etc.
        raise InvalidTimezone(name, suggest_timezones(name)) from None
    return name


def suggest_timezones(query: str, limit: int = 5) -> list[str]:
    import difflib

    zones = sorted(z for z in available_timezones() if "/" in z and not z.startswith("Etc/"))
    needle = query.strip().replace(" ", "_").lower()
    contains = [z for z in zones if needle and needle in z.lower()]
    if contains:
        return contains[:limit]
    by_city = {z.rsplit("/", 1)[-1].lower(): z for z in zones}
    close = difflib.get_close_matches(needle, list(by_city), n=limit, cutoff=0.6)
    return [by_city[c] for c in close]


def new_invite_code() -> str:
    return secrets.token_urlsafe(9)


@dataclass(frozen=True)
class CohortView:
    cohort: Cohort
    version: CurriculumVersion

    @property
    def program(self) -> Program:
        return program_of(self.version)


async def create_cohort(
    *,
    session: AsyncSession,
    version: CurriculumVersion,
    name: str,
    start: date | None,
    timezone: str,
    delivery_time: time,
    now: datetime,
) -> Cohort:
    """Create a cohort starting on `start` (a local date), or right now when `start` is None."""
    check_timezone(timezone)
    if start is None:
        start_at = now
        start_date = now.astimezone(ZoneInfo(timezone)).date()
    else:
        start_date = start
        start_at = datetime.combine(start, delivery_time, tzinfo=ZoneInfo(timezone)).astimezone(UTC)
    cohort = Cohort(
        name=name,
        curriculum_version_id=version.id,  # type: ignore[arg-type]
        start_date=start_date,
        start_at=start_at,
        timezone=timezone,
        delivery_time=delivery_time,
        invite_code=new_invite_code(),
        status=CohortStatus.SCHEDULED,
    )
    session.add(cohort)
    await session.flush()
    return cohort


async def get_cohort_view(*, session: AsyncSession, cohort_id: int) -> CohortView | None:
    row = (
        await session.exec(
            select(Cohort, CurriculumVersion)
            .join(CurriculumVersion, col(Cohort.curriculum_version_id) == CurriculumVersion.id)
            .where(Cohort.id == cohort_id)
        )
    ).first()
    return CohortView(*row) if row else None


async def find_by_invite(*, session: AsyncSession, code: str) -> CohortView | None:
    row = (
        await session.exec(
            select(Cohort, CurriculumVersion)
            .join(CurriculumVersion, col(Cohort.curriculum_version_id) == CurriculumVersion.id)
            .where(Cohort.invite_code == code)
        )
    ).first()
    return CohortView(*row) if row else None


def cohort_day(
    *, cohort: Cohort, clock: ProgramClock, now: datetime, timezone: str | None = None
) -> int:
    return clock.current_day(
        start_at=cohort.start_at,
        start_date=cohort.start_date,
        delivery_time=cohort.delivery_time,
        timezone=timezone or cohort.timezone,
        now=now,
    )


@dataclass(frozen=True)
class CohortSummary:
    id: int
    name: str
    program_id: str
    program_title: str
    length_days: int
    start_date: date
    timezone: str
    delivery_time: str
    invite_code: str
    status: str
    day: int
    participants: int
    active: int


async def list_cohorts(
    *,
    session: AsyncSession,
    clock: ProgramClock,
    now: datetime,
    cohort_ids: set[int] | None = None,
) -> list[CohortSummary]:
    """All cohorts (or just `cohort_ids`) with their program day and head counts."""
    counts = (
        select(
            Participant.cohort_id,
            func.count().label("total"),
            func.sum(case((col(Participant.status) == ParticipantStatus.ACTIVE, 1), else_=0)).label(
                "active"
            ),
        )
        .where(col(Participant.status) != ParticipantStatus.PENDING)
        .group_by(col(Participant.cohort_id))
        .subquery()
    )
    query = (
        select(Cohort, CurriculumVersion, counts.c.total, counts.c.active)
        .join(CurriculumVersion, col(Cohort.curriculum_version_id) == CurriculumVersion.id)
        .outerjoin(counts, counts.c.cohort_id == Cohort.id)
        .order_by(col(Cohort.id))
    )
    if cohort_ids is not None:
        query = query.where(col(Cohort.id).in_(cohort_ids))
    summaries = []
    for cohort, version, total, active in (await session.exec(query)).all():
        program = program_of(version)
        summaries.append(
            CohortSummary(
                id=cohort.id,  # type: ignore[arg-type]
                name=cohort.name,
                program_id=version.program_id,
                program_title=version.title,
                length_days=program.length_days,
                start_date=cohort.start_date,
                timezone=cohort.timezone,
                delivery_time=cohort.delivery_time.strftime("%H:%M"),
                invite_code=cohort.invite_code,
                status=cohort.status,
                day=min(cohort_day(cohort=cohort, clock=clock, now=now), program.length_days + 1),
                participants=int(total or 0),
                active=int(active or 0),
            )
        )
    return summaries
