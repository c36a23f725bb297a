"""What each participant gets, and when: queueing a program day, the next prompt, reminders."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.curriculum.schema import Program
from bot.db.models import Cohort, Delivery, Participant, ParticipantStatus
from bot.services.clock import ProgramClock
from bot.services.outbox import OutgoingMessage, enqueue
from bot.services.rendering import lesson_messages, prompt_keyboard, prompt_message
from bot.texts import escape, text

HOUR = 3600.0


def participant_timezone(participant: Participant, cohort: Cohort) -> str:
    return participant.timezone or cohort.timezone


def due_at(*, clock: ProgramClock, cohort: Cohort, participant: Participant, day: int) -> datetime:
    return clock.due_at(
        start_at=cohort.start_at,
        start_date=cohort.start_date,
        delivery_time=cohort.delivery_time,
        timezone=participant_timezone(participant, cohort),
        day=day,
    )


def current_day(
    *, clock: ProgramClock, cohort: Cohort, participant: Participant, now: datetime
) -> int:
    return clock.current_day(
        start_at=cohort.start_at,
        start_date=cohort.start_date,
        delivery_time=cohort.delivery_time,
        timezone=participant_timezone(participant, cohort),
        now=now,
    )


def plan_next(
    *,
    clock: ProgramClock,
    cohort: Cohort,
    participant: Participant,
    program: Program,
    now: datetime,
) -> None:
    """Point the participant at the next thing due: today's day if it's running, else day 1.

    Days that already passed are never queued in a burst: someone who joins, resumes or
    unblocks mid-program continues with the cohort's current day.
    """
    today = current_day(clock=clock, cohort=cohort, participant=participant, now=now)
    delivered_up_to = (participant.next_day or 1) - 1
    if today == 0:
        participant.next_day = 1
        participant.next_due_at = due_at(clock=clock, cohort=cohort, participant=participant, day=1)
    elif today > program.length_days:
        participant.next_day = program.length_days + 1
        participant.next_due_at = now
    elif today > delivered_up_to:
        participant.next_day = today
        participant.next_due_at = now
    else:
        participant.next_day = delivered_up_to + 1
        participant.next_due_at = due_at(
            clock=clock, cohort=cohort, participant=participant, day=delivered_up_to + 1
        )


def reminder_delay(*, program: Program, prompt: object) -> float | None:
    hours = getattr(prompt, "reminder_after_hours", None) or program.reminder_after_hours
    return hours * HOUR if hours else None


def prompt_outgoing(
    *,
    clock: ProgramClock,
    program: Program,
    participant: Participant,
    day: int,
    prompt_index: int,
    now: datetime,
) -> OutgoingMessage:
    prompt = program.day(day).prompts[prompt_index]
    delay = reminder_delay(program=program, prompt=prompt)
    return OutgoingMessage(
        chat_id=participant.chat_id,
        participant_id=participant.id,
        cohort_id=participant.cohort_id,
        day=day,
        item=f"prompt:{prompt.id}",
        kind="prompt",
        prompt_id=prompt.id,
        text=prompt_message(prompt=prompt, language=participant.language),
        reply_markup=prompt_keyboard(
            prompt=prompt,
            participant_id=participant.id,  # type: ignore[arg-type]
            day=day,
            prompt_index=prompt_index,
        ),
        due_at=now,
        remind_at=now + timedelta(seconds=clock.scale(delay)) if delay else None,
    )


def day_messages(
    *,
    clock: ProgramClock,
    program: Program,
    participant: Participant,
    day: int,
    now: datetime,
) -> list[OutgoingMessage]:
    """The day's lesson (split if long) and its first prompt."""
    messages = [
        OutgoingMessage(
            chat_id=participant.chat_id,
            participant_id=participant.id,
            cohort_id=participant.cohort_id,
            day=day,
            item="lesson" if index == 0 else f"lesson.{index + 1}",
            kind="lesson",
            text=part,
            due_at=now,
        )
        for index, part in enumerate(
            lesson_messages(program=program, day_number=day, language=participant.language)
        )
    ]
    messages.append(
        prompt_outgoing(
            clock=clock, program=program, participant=participant, day=day, prompt_index=0, now=now
        )
    )
    return messages


async def queue_day(
    *,
    session: AsyncSession,
    clock: ProgramClock,
    program: Program,
    participant: Participant,
    day: int,
    now: datetime,
) -> None:
    """Queue the day's lesson (split if long) and its first prompt."""
    messages = day_messages(clock=clock, program=program, participant=participant, day=day, now=now)
    await enqueue(session=session, messages=messages)


async def queue_after_answer(
    *,
    session: AsyncSession,
    clock: ProgramClock,
    program: Program,
    participant: Participant,
    day: int,
    prompt_index: int,
    now: datetime,
) -> None:
    """After an answer: the day's next prompt, or a short acknowledgement with progress."""
    prompts = program.day(day).prompts
    if prompt_index + 1 < len(prompts):
        message = prompt_outgoing(
            clock=clock,
            program=program,
            participant=participant,
            day=day,
            prompt_index=prompt_index + 1,
            now=now,
        )
    else:
        key = "day_done_last" if day == program.length_days else "day_done"
        message = OutgoingMessage(
            chat_id=participant.chat_id,
            participant_id=participant.id,
            cohort_id=participant.cohort_id,
            day=day,
            item="ack",
            kind="ack",
            text=text(key, participant.language, day=day, days=program.length_days),
            due_at=now,
        )
    await enqueue(session=session, messages=[message])


def closing_messages(
    *, program: Program, participant: Participant, now: datetime
) -> list[OutgoingMessage]:
    closing = program.closing_message or text("program_finished", participant.language)
    return [
        OutgoingMessage(
            chat_id=participant.chat_id,
            participant_id=participant.id,
            cohort_id=participant.cohort_id,
            day=program.length_days + 1,
            item="closing",
            kind="closing",
            text=escape(closing) if program.closing_message else closing,
            due_at=now,
        )
    ]


async def queue_closing(
    *, session: AsyncSession, program: Program, participant: Participant, now: datetime
) -> None:
    messages = closing_messages(program=program, participant=participant, now=now)
    await enqueue(session=session, messages=messages)


def advance_due_day(
    *,
    clock: ProgramClock,
    program: Program,
    cohort: Cohort,
    participant: Participant,
    now: datetime,
) -> tuple[int | None, list[OutgoingMessage]]:
    """What is due for one participant, moving their next-due time on; writes nothing.

    Returns the day due (None when the program has ended for them) and its messages, for
    the caller to enqueue (the tick enqueues a whole batch of participants at once).
    """
    today = current_day(clock=clock, cohort=cohort, participant=participant, now=now)
    day = max(participant.next_day or 1, min(today, program.length_days + 1))
    if day > program.length_days:
        messages = closing_messages(program=program, participant=participant, now=now)
        participant.status = ParticipantStatus.COMPLETED
        participant.next_day = None
        participant.next_due_at = None
        return None, messages
    messages = day_messages(clock=clock, program=program, participant=participant, day=day, now=now)
    participant.next_day = day + 1
    participant.next_due_at = due_at(
        clock=clock, cohort=cohort, participant=participant, day=day + 1
    )
    return day, messages


async def deliver_due_day(
    *,
    session: AsyncSession,
    clock: ProgramClock,
    program: Program,
    cohort: Cohort,
    participant: Participant,
    now: datetime,
) -> int | None:
    """Queue whatever is due for one participant and move their next-due time on.

    Returns the day queued, or None when the program has ended for them.
    """
    day, messages = advance_due_day(
        clock=clock, program=program, cohort=cohort, participant=participant, now=now
    )
    await enqueue(session=session, messages=messages)
    return day


async def delivered_prompt(
    *, session: AsyncSession, participant_id: int, day: int, prompt_id: str
) -> Delivery | None:
    return (
        await session.exec(
            select(Delivery).where(
                Delivery.participant_id == participant_id,
                Delivery.day == day,
                Delivery.item == f"prompt:{prompt_id}",
            )
        )
    ).first()


async def clear_reminder(
    *, session: AsyncSession, participant_id: int, day: int, prompt_id: str
) -> None:
    """No reminder for an answered prompt: one UPDATE, without loading the delivery row."""
    await session.exec(
        update(Delivery)  # type: ignore[call-overload]
        .where(
            col(Delivery.participant_id) == participant_id,
            col(Delivery.day) == day,
            col(Delivery.item) == f"prompt:{prompt_id}",
            col(Delivery.remind_at).is_not(None),
        )
        .values(remind_at=None)
    )
