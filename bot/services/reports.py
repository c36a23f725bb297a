"""The facilitator's engagement report: who is taking part, day by day, and who is slipping.

Definitions (also in the README, "What the report's numbers mean"):

- delivered day: a participant's lesson for program day d has state `sent` (the `deliveries`
  row with kind 'lesson' and item 'lesson').
- answered day: of the participants day d was delivered to, those with at least one response
  of type text, scale or choice for day d (voice notes, photos and other media don't count).
- response rate: answered / delivered (None when nothing was delivered).
- scale average: the mean of the numeric scale answers to a prompt; if someone answered the
  same prompt more than once, only their latest answer counts; answers of people who deleted
  their data are left out (they still count as answered).
- completion of a prompt: participants with an answer to it / participants its day was
  delivered to.
- at risk: active participants whose last `at_risk_days` delivered days all have no answer.
  "Newly at risk" means exactly `at_risk_days` such days in a row (they crossed the line with
  the latest delivered day).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Float, and_, cast, func, not_, or_
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.curriculum.schema import ScalePrompt
from bot.db.models import (
    Cohort,
    Delivery,
    DeliveryState,
    Participant,
    ParticipantStatus,
    Response,
    SafetyAlert,
)
from bot.db.session import is_postgres
from bot.services.clock import ProgramClock
from bot.services.cohorts import cohort_day, get_cohort_view

ANSWER_TYPES = ("text", "scale", "choice")
DELETED_NAME = "participant deleted their data"
STREAM_ROWS = 5_000
ID_CHUNK = 900  # under the 999 bind parameters of SQLite before 3.32


class CohortNotFound(LookupError):
    pass


@dataclass(frozen=True)
class StatusCounts:
    enrolled: int = 0
    active: int = 0
    paused: int = 0
    withdrawn: int = 0
    blocked: int = 0
    completed: int = 0
    pending: int = 0  # opened the invite, hasn't consented yet (not enrolled)


@dataclass(frozen=True)
class DayStats:
    day: int
    date: date
    delivered: int
    answered: int

    @property
    def rate(self) -> float | None:
        return self.answered / self.delivered if self.delivered else None


@dataclass(frozen=True)
class PromptStats:
    day: int
    prompt_id: str
    type: str
    text: str
    delivered: int
    answered: int
    average: float | None = None
    scale_min: int | None = None
    scale_max: int | None = None

    @property
    def completion(self) -> float | None:
        return self.answered / self.delivered if self.delivered else None


@dataclass(frozen=True)
class AtRisk:
    participant_id: int
    pseudonym: str
    name: str
    last_activity_at: datetime | None
    missed_days: int  # delivered days in a row without an answer, back from the latest
    last_delivered_day: int


@dataclass(frozen=True)
class Report:
    cohort_id: int
    cohort_name: str
    program_id: str
    program_title: str
    status: str
    start_date: date
    timezone: str
    program_day: int  # 0 before day 1; length_days + 1 once the program has ended
    length_days: int
    generated_at: datetime
    at_risk_days: int
    counts: StatusCounts
    days: list[DayStats]
    prompts: list[PromptStats]
    at_risk: list[AtRisk]
    yesterday: DayStats | None = None
    newly_at_risk: list[AtRisk] = field(default_factory=list)


def display_name(participant: Participant) -> str:
    if participant.data_deleted_at is not None:
        return DELETED_NAME
    return participant.display_name or f"participant {participant.pseudonym[:6]}"


def day_date(*, cohort: Cohort, clock: ProgramClock, day: int) -> date:
    """The local date (cohort time zone) a program day is delivered on."""
    due = clock.due_at(
        start_at=cohort.start_at,
        start_date=cohort.start_date,
        delivery_time=cohort.delivery_time,
        timezone=cohort.timezone,
        day=day,
    )
    return due.astimezone(ZoneInfo(cohort.timezone)).date()


def yesterday_day(*, program_day: int, length_days: int) -> int | None:
    """The last program day that has fully passed (None before day 2)."""
    day = min(program_day - 1, length_days)
    return day if day >= 1 else None


def _lessons(cohort_id: int) -> Any:
    """(pid, day) of every lesson sent to the cohort's participants: the delivered days."""
    return (
        select(col(Delivery.participant_id).label("pid"), col(Delivery.day).label("day"))
        .join(Participant, col(Delivery.participant_id) == Participant.id)
        .where(Participant.cohort_id == cohort_id)
        .where(Delivery.kind == "lesson", Delivery.item == "lesson")
        .where(Delivery.state == DeliveryState.SENT)
    )


def _answered_days(cohort_id: int) -> Any:
    """(pid, day) with at least one text, scale or choice answer."""
    return (
        select(col(Response.participant_id).label("pid"), col(Response.day).label("day"))
        .where(Response.cohort_id == cohort_id)
        .where(col(Response.answer_type).in_(ANSWER_TYPES))
        .distinct()
    )


@dataclass
class _Engagement:
    days: dict[int, list[int]] = field(default_factory=dict)  # day -> [delivered, answered]
    slipping: dict[int, tuple[int, int]] = field(default_factory=dict)  # pid -> (missed, last)


async def _engagement(*, session: AsyncSession, cohort_id: int, at_risk_days: int) -> _Engagement:
    """One streamed pass over the delivered days, (pid, day, answered?) in day order: the
    per-day counts, and everyone whose last `at_risk_days` delivered days have no answer."""
    answered = (
        select(Response.id)
        .where(Response.participant_id == Delivery.participant_id, Response.day == Delivery.day)
        .where(col(Response.answer_type).in_(ANSWER_TYPES))
        .exists()
    )
    lessons = _lessons(cohort_id).add_columns(answered).order_by(col(Delivery.day))
    found = _Engagement()
    runs: dict[int, tuple[int, int]] = {}  # pid -> (unanswered days in a row, latest day)
    connection = await session.connection()  # plain rows: no ORM processing per row
    result = await connection.stream(lessons)
    async for rows in result.partitions(STREAM_ROWS):
        for pid, day, got in rows:
            counts = found.days.setdefault(day, [0, 0])
            counts[0] += 1
            counts[1] += bool(got)
            runs[pid] = (0 if got else runs.get(pid, (0, 0))[0] + 1, day)
    found.slipping = {pid: run for pid, run in runs.items() if run[0] >= at_risk_days}
    return found


async def _prompt_counts(*, session: AsyncSession, cohort_id: int) -> dict[tuple[int, str], int]:
    """(day, prompt id) -> participants who answered it and had that day delivered."""
    lessons = _lessons(cohort_id).subquery("lessons")
    rows = await session.exec(
        select(Response.day, Response.prompt_id, func.count(func.distinct(Response.participant_id)))
        .join(
            lessons,
            (lessons.c.pid == col(Response.participant_id)) & (lessons.c.day == Response.day),
        )
        .where(Response.cohort_id == cohort_id)
        .where(col(Response.answer_type).in_(ANSWER_TYPES))
        .group_by(col(Response.day), col(Response.prompt_id))
    )
    return {(day, prompt_id): int(count) for day, prompt_id, count in rows.all()}


def _is_integer(session: AsyncSession, value: Any) -> Any:
    """SQL: the text is an integer, as the bot stores every scale answer (str(int))."""
    if is_postgres(session):
        return value.regexp_match("^-?[0-9]+$")
    glob = value.op("GLOB", is_comparison=True)
    rest = func.substr(value, 2).op("GLOB", is_comparison=True)
    return and_(or_(glob("[0-9]*"), glob("-[0-9]*")), not_(rest("*[^0-9]*")))


async def _scale_averages(*, session: AsyncSession, cohort_id: int) -> dict[tuple[int, str], float]:
    """(day, prompt id) -> mean of each participant's latest numeric scale answer (people who
    deleted their data are left out)."""
    later = aliased(Response)
    superseded = (
        select(later.id)
        .where(later.participant_id == Response.participant_id, later.day == Response.day)
        .where(later.prompt_id == Response.prompt_id, later.answer_type == "scale")
        .where(
            (later.answered_at > Response.answered_at)
            | ((later.answered_at == Response.answered_at) & (later.id > Response.id))
        )
        .where(_is_integer(session, col(later.value)))
        .exists()
    )
    rows = await session.exec(
        select(Response.day, Response.prompt_id, func.avg(cast(Response.value, Float)))
        .join(Participant, col(Response.participant_id) == Participant.id)
        .where(Response.cohort_id == cohort_id, Response.answer_type == "scale")
        .where(col(Participant.data_deleted_at).is_(None))
        .where(_is_integer(session, col(Response.value)))
        .where(~superseded)
        .group_by(col(Response.day), col(Response.prompt_id))
    )
    return {(day, prompt_id): float(mean) for day, prompt_id, mean in rows.all()}


async def _active_participants(*, session: AsyncSession, ids: list[int]) -> list[Participant]:
    found: list[Participant] = []
    for chunk in range(0, len(ids), ID_CHUNK):  # bound the bind parameters per statement
        rows = await session.exec(
            select(Participant)
            .where(col(Participant.id).in_(ids[chunk : chunk + ID_CHUNK]))
            .where(Participant.status == ParticipantStatus.ACTIVE)
        )
        found.extend(rows.all())
    return sorted(found, key=lambda p: p.id or 0)


async def build_report(
    *,
    session: AsyncSession,
    cohort_id: int,
    now: datetime,
    clock: ProgramClock,
    at_risk_days: int,
) -> Report:
    """Every number of the report, computed from the outbox and the stored answers."""
    view = await get_cohort_view(session=session, cohort_id=cohort_id)
    if view is None:
        raise CohortNotFound(cohort_id)
    cohort, version, program = view.cohort, view.version, view.program
    counts: dict[str, int] = defaultdict(int)
    for status, count in (
        await session.exec(
            select(Participant.status, func.count())
            .where(Participant.cohort_id == cohort_id)
            .group_by(col(Participant.status))
        )
    ).all():
        counts[status] = int(count)
    status_counts = StatusCounts(
        enrolled=sum(n for s, n in counts.items() if s != ParticipantStatus.PENDING),
        active=counts[ParticipantStatus.ACTIVE],
        paused=counts[ParticipantStatus.PAUSED],
        withdrawn=counts[ParticipantStatus.WITHDRAWN],
        blocked=counts[ParticipantStatus.BLOCKED],
        completed=counts[ParticipantStatus.COMPLETED],
        pending=counts[ParticipantStatus.PENDING],
    )

    # Aggregated in the database: a few hundred rows, not one per answer.
    engagement = await _engagement(session=session, cohort_id=cohort_id, at_risk_days=at_risk_days)
    day_counts = {day: (delivered, got) for day, (delivered, got) in engagement.days.items()}
    prompt_counts = await _prompt_counts(session=session, cohort_id=cohort_id)
    averages = await _scale_averages(session=session, cohort_id=cohort_id)

    def stats_for(day: int) -> DayStats:
        delivered, answered = day_counts.get(day, (0, 0))
        return DayStats(
            day=day,
            date=day_date(cohort=cohort, clock=clock, day=day),
            delivered=delivered,
            answered=answered,
        )

    days = [stats_for(day) for day in sorted(day_counts) if 1 <= day <= program.length_days]
    prompts = []
    for day_number, day in enumerate(program.days(), start=1):
        delivered = day_counts.get(day_number, (0, 0))[0]
        if not delivered:
            continue
        for prompt in day.prompts:
            scale = isinstance(prompt, ScalePrompt)
            prompts.append(
                PromptStats(
                    day=day_number,
                    prompt_id=prompt.id,
                    type=prompt.type,
                    text=prompt.text,
                    delivered=delivered,
                    answered=prompt_counts.get((day_number, prompt.id), 0),
                    average=averages.get((day_number, prompt.id)) if scale else None,
                    scale_min=prompt.min if scale else None,  # type: ignore[union-attr]
                    scale_max=prompt.max if scale else None,  # type: ignore[union-attr]
                )
            )

    at_risk = [
        AtRisk(
            participant_id=participant.id,  # type: ignore[arg-type]
            pseudonym=participant.pseudonym,
            name=display_name(participant),
            last_activity_at=participant.last_activity_at,
            missed_days=missed,
            last_delivered_day=last_day,
        )
        for participant in await _active_participants(
            session=session, ids=list(engagement.slipping)
        )
        for missed, last_day in [engagement.slipping[participant.id]]  # type: ignore[index]
    ]
    at_risk.sort(key=lambda r: (r.last_activity_at is not None, r.last_activity_at, r.name))

    program_day = min(cohort_day(cohort=cohort, clock=clock, now=now), program.length_days + 1)
    yesterday = yesterday_day(program_day=program_day, length_days=program.length_days)
    return Report(
        cohort_id=cohort.id,  # type: ignore[arg-type]
        cohort_name=cohort.name,
        program_id=version.program_id,
        program_title=version.title,
        status=cohort.status,
        start_date=cohort.start_date,
        timezone=cohort.timezone,
        program_day=program_day,
        length_days=program.length_days,
        generated_at=now,
        at_risk_days=at_risk_days,
        counts=status_counts,
        days=days,
        prompts=prompts,
        at_risk=at_risk,
        yesterday=stats_for(yesterday) if yesterday else None,
        newly_at_risk=[r for r in at_risk if r.missed_days == at_risk_days],
    )


async def day_stats(
    *, session: AsyncSession, cohort: Cohort, clock: ProgramClock, day: int
) -> DayStats:
    """Delivered and answered for one program day, counted in the database."""
    delivered = (
        _lessons(cohort.id)  # type: ignore[arg-type]
        .with_only_columns(col(Delivery.participant_id))
        .where(Delivery.day == day)
    )
    delivered_count = (
        await session.exec(select(func.count()).select_from(delivered.subquery()))
    ).one()
    answered_count = (
        await session.exec(
            select(func.count(func.distinct(Response.participant_id)))
            .where(Response.cohort_id == cohort.id, Response.day == day)
            .where(col(Response.answer_type).in_(ANSWER_TYPES))
            .where(col(Response.participant_id).in_(delivered))
        )
    ).one()
    return DayStats(
        day=day,
        date=day_date(cohort=cohort, clock=clock, day=day),
        delivered=int(delivered_count),
        answered=int(answered_count),
    )


async def open_alert_counts(*, session: AsyncSession, cohort_ids: list[int]) -> dict[int, int]:
    """Unacknowledged safety alerts per cohort."""
    if not cohort_ids:
        return {}
    rows = await session.exec(
        select(SafetyAlert.cohort_id, func.count())
        .where(col(SafetyAlert.cohort_id).in_(cohort_ids))
        .where(col(SafetyAlert.acknowledged_at).is_(None))
        .group_by(col(SafetyAlert.cohort_id))
    )
    return {cohort_id: int(count) for cohort_id, count in rows.all()}


# --- rendering ------------------------------------------------------------------------------


def percent(rate: float | None) -> str:
    """A rate as a whole percentage, '–' when there is nothing to divide by."""
    if rate is None:
        return "–"
    return f"{round(rate * 100 + 1e-9)}%"


def average_text(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def _short_date(value: date) -> str:
    return f"{value.day} {value:%b}"


def _short_time(value: datetime | None, timezone: str) -> str:
    if value is None:
        return "never"
    local = value.astimezone(ZoneInfo(timezone))
    return f"{local.day} {local:%b %H:%M}"


def day_label(report: Report) -> str:
    if report.program_day < 1:
        return f"starts {_short_date(report.start_date)}"
    if report.program_day > report.length_days:
        return f"finished ({report.length_days} days)"
    return f"day {report.program_day} of {report.length_days}"


def _status_line(counts: StatusCounts) -> str:
    return (
        f"{counts.enrolled} enrolled: {counts.active} active, {counts.paused} paused, "
        f"{counts.withdrawn} withdrawn, {counts.blocked} blocked, {counts.completed} completed"
    )


def _day_line(stats: DayStats) -> str:
    return (
        f"Day {stats.day} ({_short_date(stats.date)}): {stats.answered} of {stats.delivered} "
        f"answered · {percent(stats.rate)}"
    )


def _prompt_line(prompt: PromptStats, limit: int | None = None) -> str:
    text = prompt.text if limit is None or len(prompt.text) <= limit else prompt.text[: limit - 1]
    if limit is not None and len(prompt.text) > limit:
        text += "…"
    line = (
        f"Day {prompt.day} · {text}: {prompt.answered} of {prompt.delivered} · "
        f"{percent(prompt.completion)}"
    )
    if prompt.type == "scale":
        line += f" · average {average_text(prompt.average)}"
        if prompt.scale_min is not None:
            line += f" ({prompt.scale_min}–{prompt.scale_max})"
    return line


def _at_risk_line(person: AtRisk, timezone: str) -> str:
    return (
        f"{person.name} · {person.missed_days} days without an answer · last active "
        f"{_short_time(person.last_activity_at, timezone)}"
    )


def render_report_text(report: Report) -> str:
    """The whole report as plain text (for the terminal and the demo)."""
    lines = [
        f"{report.cohort_name} · {report.program_title} · {day_label(report)}",
        f"Participants: {_status_line(report.counts)}",
    ]
    if report.counts.pending:
        lines.append(f"Opened the invite but not consented yet: {report.counts.pending}")
    if report.yesterday is not None:
        lines.append(f"Yesterday: {_day_line(report.yesterday)}")
    lines += ["", "Answers by day (answered of delivered · response rate)"]
    lines += [f"  {_day_line(d)}" for d in report.days] or ["  nothing delivered yet"]
    lines += ["", "Questions (answered of delivered · completion · scale average)"]
    lines += [f"  {_prompt_line(p)}" for p in report.prompts] or ["  nothing delivered yet"]
    lines += ["", f"At risk: no answer on their last {report.at_risk_days} delivered days"]
    lines += [f"  {_at_risk_line(p, report.timezone)}" for p in report.at_risk] or ["  nobody"]
    return "\n".join(lines)


def report_html_parts(report: Report, escape: Any) -> list[str]:
    """The report as short HTML sections for a phone screen (the caller packs them)."""
    head = [
        f"<b>{escape(report.cohort_name)}</b> · {escape(day_label(report))}",
        f"People: {_status_line(report.counts)}",
    ]
    if report.counts.pending:
        head.append(f"Not consented yet: {report.counts.pending}")
    if report.yesterday is not None:
        head.append(f"Yesterday: {escape(_day_line(report.yesterday))}")
    days = ["<b>Answers by day</b>"] + (
        [escape(_day_line(d)) for d in report.days] or ["Nothing delivered yet."]
    )
    prompts = ["<b>Questions</b>"] + (
        [escape(_prompt_line(p, limit=48)) for p in report.prompts] or ["Nothing delivered yet."]
    )
    risk = [f"<b>Slipping</b>: no answer on their last {report.at_risk_days} delivered days"] + (
        [f"• {escape(_at_risk_line(p, report.timezone))}" for p in report.at_risk]
        or ["Nobody right now."]
    )
    return ["\n".join(section) for section in (head, days, prompts, risk)]


def pack_messages(sections: list[str], limit: int = 3800) -> list[str]:
    """Join sections into as few messages as fit under `limit`, splitting long ones by line."""
    messages: list[str] = []
    current = ""

    def push(piece: str, separator: str) -> None:
        nonlocal current
        candidate = f"{current}{separator}{piece}" if current else piece
        if len(candidate) <= limit:
            current = candidate
            return
        if current:
            messages.append(current)
        current = piece[:limit]

    for section in sections:
        if len(section) <= limit:
            push(section, "\n\n")
            continue
        first, *rest = section.split("\n")
        push(first, "\n\n")
        for line in rest:
            push(line, "\n")
    if current:
        messages.append(current)
    return messages


def report_to_dict(report: Report) -> dict[str, Any]:
    """JSON-ready report: the same numbers as the chat and the text, rates as fractions."""

    def day(d: DayStats) -> dict[str, Any]:
        return {
            "day": d.day,
            "date": d.date.isoformat(),
            "delivered": d.delivered,
            "answered": d.answered,
            "response_rate": d.rate,
        }

    return {
        "cohort_id": report.cohort_id,
        "cohort_name": report.cohort_name,
        "program_id": report.program_id,
        "program_title": report.program_title,
        "status": report.status,
        "start_date": report.start_date.isoformat(),
        "timezone": report.timezone,
        "program_day": report.program_day,
        "length_days": report.length_days,
        "generated_at": report.generated_at.isoformat(),
        "participants": {
            "enrolled": report.counts.enrolled,
            "active": report.counts.active,
            "paused": report.counts.paused,
            "withdrawn": report.counts.withdrawn,
            "blocked": report.counts.blocked,
            "completed": report.counts.completed,
            "pending_consent": report.counts.pending,
        },
        "yesterday": day(report.yesterday) if report.yesterday else None,
        "days": [day(d) for d in report.days],
        "prompts": [
            {
                "day": p.day,
                "prompt_id": p.prompt_id,
                "type": p.type,
                "text": p.text,
                "delivered": p.delivered,
                "answered": p.answered,
                "completion": p.completion,
                "average": p.average,
                "scale_min": p.scale_min,
                "scale_max": p.scale_max,
            }
            for p in report.prompts
        ],
        "at_risk_days": report.at_risk_days,
        "at_risk": [
            {
                "participant_id": p.pseudonym,
                "name": p.name,
                "last_activity_at": p.last_activity_at.isoformat() if p.last_activity_at else None,
                "missed_days": p.missed_days,
                "last_delivered_day": p.last_delivered_day,
            }
            for p in report.at_risk
        ],
    }
