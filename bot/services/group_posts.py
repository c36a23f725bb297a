"""Group chats: each program day's theme is posted once to the cohort's linked group.

Only the day's title goes to the group, never anyone's answers. Posts go through the outbox
(unique per cohort and day), so the sender's group rate limit and supergroup migration apply.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db.models import Cohort, CohortStatus, CurriculumVersion
from bot.services.catalog import program_of
from bot.services.clock import ProgramClock
from bot.services.cohorts import cohort_day
from bot.services.outbox import OutgoingMessage, enqueue
from bot.texts import escape, text


def group_post(
    *, cohort: Cohort, version: CurriculumVersion, day: int, now: datetime
) -> OutgoingMessage:
    program = program_of(version)
    return OutgoingMessage(
        chat_id=cohort.group_chat_id,  # type: ignore[arg-type]
        cohort_id=cohort.id,
        day=day,
        scope=f"cohort{cohort.id}",
        item=f"group-day{day}",
        kind="group",
        text=text(
            "group_day_theme",
            program.language,
            day=day,
            days=program.length_days,
            title=escape(program.day(day).title),
        ),
        due_at=now,
    )


async def queue_group_posts(*, session: AsyncSession, clock: ProgramClock, now: datetime) -> int:
    """Queue today's theme for every linked group whose cohort is running; returns how many
    were new. Only the current day is posted: days missed during downtime are not caught up."""
    rows = (
        await session.exec(
            select(Cohort, CurriculumVersion)
            .join(CurriculumVersion, col(Cohort.curriculum_version_id) == CurriculumVersion.id)
            .where(col(Cohort.group_chat_id).is_not(None))
            .where(Cohort.status != CohortStatus.CLOSED)
        )
    ).all()
    messages = []
    for cohort, version in rows:
        day = cohort_day(cohort=cohort, clock=clock, now=now)
        if 1 <= day <= program_of(version).length_days:
            messages.append(group_post(cohort=cohort, version=version, day=day, now=now))
    return await enqueue(session=session, messages=messages)
