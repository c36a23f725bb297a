"""A participant's own progress: days done, answers given, current streak."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.services.answers import answered_prompts
from bot.services.participants import Enrollment


@dataclass(frozen=True)
class Progress:
    days_done: int
    days_total: int
    answers: int
    streak: int
    delivered_up_to: int


async def participant_progress(*, session: AsyncSession, enrollment: Enrollment) -> Progress:
    """Days done: every prompt of the day answered. Streak: consecutive delivered days with an
    answer, counting back from the latest delivered day (today still open doesn't break it)."""
    program = enrollment.program
    answered = await answered_prompts(session=session, participant_id=enrollment.participant.id)  # type: ignore[arg-type]
    answered_days = {day for day, _ in answered}
    done = sum(
        1
        for day in answered_days
        if 1 <= day <= program.length_days
        and all((day, p.id) in answered for p in program.day(day).prompts)
    )
    next_day = enrollment.participant.next_day
    delivered_up_to = min((next_day - 1) if next_day else program.length_days, program.length_days)
    first_day = enrollment.participant.first_day or 1
    streak = 0
    day = delivered_up_to
    if day >= first_day and day not in answered_days:
        day -= 1
    while day >= first_day and day in answered_days:
        streak += 1
        day -= 1
    return Progress(
        days_done=done,
        days_total=program.length_days,
        answers=len(answered),
        streak=streak,
        delivered_up_to=max(delivered_up_to, 0),
    )
