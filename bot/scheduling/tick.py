"""The tick: find what is due now and write it to the outbox. Takes `now`, never sleeps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db.models import Cohort, CohortStatus, CurriculumVersion, Delivery, Participant
from bot.db.models import ParticipantStatus as Status
from bot.db.session import is_postgres
from bot.services.catalog import program_of
from bot.services.group_posts import queue_group_posts
from bot.services.outbox import OutgoingMessage, enqueue
from bot.services.schedule import advance_due_day
from bot.texts import text

BATCH = 1000


@dataclass
class TickResult:
    days_queued: int = 0
    completed: int = 0
    reminders: int = 0
    more: bool = False  # a batch was full: run again for the rest

    @property
    def anything(self) -> bool:
        return bool(self.days_queued or self.completed or self.reminders)


async def _due_participants(
    *, session: AsyncSession, now: datetime, limit: int
) -> list[tuple[Participant, Cohort, CurriculumVersion]]:
    """Active participants whose next day is due, via the (status, next_due_at) index.

    On PostgreSQL the rows are claimed with FOR UPDATE SKIP LOCKED, so several bot processes
    can share the work without queueing anything twice. Curriculum versions (large JSON) are
    read once per version, not once per participant.
    """
    query = (
        select(Participant, Cohort)
        .join(Cohort, col(Participant.cohort_id) == Cohort.id)
        .where(Participant.status == Status.ACTIVE)
        .where(col(Participant.next_due_at) <= now)
        .order_by(col(Participant.next_due_at))
        .limit(limit)
    )
    if is_postgres(session):
        # NO KEY UPDATE: a plain FOR UPDATE would also block the foreign-key checks of rows
        # that reference these participants (another process queueing a reminder for one of
        # them), and two ticks could deadlock.
        query = query.with_for_update(skip_locked=True, key_share=True, of=Participant)  # type: ignore[arg-type]
    rows = (await session.exec(query)).all()
    version_ids = {cohort.curriculum_version_id for _, cohort in rows}
    versions = {
        version.id: version
        for version in (
            await session.exec(
                select(CurriculumVersion).where(col(CurriculumVersion.id).in_(version_ids))
            )
        ).all()
    }
    return [(p, c, versions[c.curriculum_version_id]) for p, c in rows]


async def queue_due_days(
    *, session: AsyncSession, clock, now: datetime, limit: int = BATCH
) -> TickResult:  # type: ignore[no-untyped-def]
    """Queue the due days of up to `limit` participants, in one INSERT for the whole batch."""
    result = TickResult()
    due = await _due_participants(session=session, now=now, limit=limit)
    result.more = len(due) == limit
    outgoing: list[OutgoingMessage] = []
    for participant, cohort, version in due:
        day, messages = advance_due_day(
            clock=clock,
            program=program_of(version),
            cohort=cohort,
            participant=participant,
            now=now,
        )
        outgoing += messages
        session.add(participant)
        if day is None:
            result.completed += 1
        else:
            result.days_queued += 1
            if cohort.status == CohortStatus.SCHEDULED:
                cohort.status = CohortStatus.RUNNING
                session.add(cohort)
    await enqueue(session=session, messages=outgoing)
    return result


async def queue_reminders(*, session: AsyncSession, now: datetime, limit: int = BATCH) -> int:
    """One gentle reminder per unanswered prompt of the participant's latest day."""
    query = (
        select(Delivery, Participant)
        .join(Participant, col(Delivery.participant_id) == Participant.id)
        .where(col(Delivery.remind_at) <= now)
        .order_by(col(Delivery.remind_at))
        .limit(limit)
    )
    if is_postgres(session):
        query = query.with_for_update(skip_locked=True, of=Delivery)  # type: ignore[arg-type]
    reminders = []
    for delivery, participant in (await session.exec(query)).all():
        delivery.remind_at = None
        session.add(delivery)
        latest_day = (participant.next_day or 0) - 1
        new_day_due = participant.next_due_at is not None and participant.next_due_at <= now
        if participant.status != Status.ACTIVE or delivery.day != latest_day or new_day_due:
            continue  # only the latest day is reminded of, and never once the next one is due
        reminders.append(
            OutgoingMessage(
                chat_id=participant.chat_id,
                participant_id=participant.id,
                cohort_id=participant.cohort_id,
                day=delivery.day,
                item=f"reminder:{delivery.prompt_id}",
                kind="reminder",
                prompt_id=delivery.prompt_id,
                text=text("reminder_for_prompt", participant.language, prompt=delivery.text),
                reply_markup=delivery.reply_markup,
                due_at=now,
            )
        )
    await enqueue(session=session, messages=reminders)
    return len(reminders)


async def run_tick(*, session: AsyncSession, clock, now: datetime) -> TickResult:  # type: ignore[no-untyped-def]
    """Queue every program day and reminder due at `now`. The caller commits."""
    result = await queue_due_days(session=session, clock=clock, now=now)
    result.reminders = await queue_reminders(session=session, now=now)
    await queue_group_posts(session=session, clock=clock, now=now)  # cohorts' group chats
    return result
