"""The tick, called directly with `now`: what becomes due, exactly once, and reminders."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from bot.curriculum.loader import LoadedProgram, parse_program
from bot.db.models import Delivery, Participant, ParticipantStatus
from bot.db.session import unit_of_work
from bot.scheduling.tick import queue_reminders, run_tick
from bot.services import answers, participants
from bot.services.catalog import ensure_version
from bot.services.clock import ProgramClock
from bot.services.cohorts import create_cohort
from tests.e2e.conftest import MINI_PROGRAM

START = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)  # 09:00 in Berlin
REAL = ProgramClock()


@pytest.fixture
def mini() -> LoadedProgram:
    program = parse_program(
        MINI_PROGRAM.replace("closing_message", "reminder_after_hours: 6\nclosing_message"),
        "mini.yaml",
    )
    return LoadedProgram(path=Path("mini.yaml"), program=program)


async def _enrol(sessions, mini, count: int, now: datetime = START - timedelta(days=1)):
    async with unit_of_work(sessions) as session:
        version = await ensure_version(session=session, loaded=mini)
        cohort = await create_cohort(
            session=session,
            version=version,
            name="c",
            start=START.date(),
            timezone="Europe/Berlin",
            delivery_time=time(9),
            now=now,
        )
        ids = []
        for n in range(count):
            outcome = await participants.begin_join(
                session=session,
                clock=REAL,
                telegram_user_id=500 + n,
                chat_id=500 + n,
                display_name=f"P{n}",
                language="en",
                code=cohort.invite_code,
                now=now,
            )
            await participants.answer_consent(
                session=session, clock=REAL, enrollment=outcome.enrollment, accept=True, now=now
            )
            ids.append(outcome.enrollment.participant.id)
    return cohort, ids


async def _tick(sessions, now):
    async with unit_of_work(sessions) as session:
        return await run_tick(session=session, clock=REAL, now=now)


async def _items(sessions) -> list[tuple[int, int, str]]:
    async with sessions() as session:
        rows = (await session.exec(select(Delivery).order_by(Delivery.id))).all()
    return [(r.participant_id, r.day, r.item) for r in rows if r.participant_id]


async def test_nothing_due_before_the_delivery_time(sessions, mini) -> None:
    await _enrol(sessions, mini, 3)
    result = await _tick(sessions, START - timedelta(seconds=1))
    assert not result.anything
    assert await _items(sessions) == []


async def test_due_day_is_queued_once_however_often_the_tick_runs(sessions, mini) -> None:
    _, ids = await _enrol(sessions, mini, 3)
    first = await _tick(sessions, START)
    again = await _tick(sessions, START + timedelta(seconds=5))
    assert (first.days_queued, again.days_queued) == (3, 0)
    items = await _items(sessions)
    assert sorted(items) == sorted(
        (pid, 1, item) for pid in ids for item in ("lesson", "prompt:d1-mood")
    )


async def test_downtime_across_several_days_delivers_only_today(sessions, mini) -> None:
    await _enrol(sessions, mini, 1)
    await _tick(sessions, START)
    await _tick(sessions, START + timedelta(days=2, hours=3))  # down through day 2
    days = sorted({day for _, day, _ in await _items(sessions)})
    assert days == [1, 3]


async def test_paused_participants_are_skipped_and_resume_with_today(sessions, mini) -> None:
    _, (pid,) = await _enrol(sessions, mini, 1)
    await _tick(sessions, START)
    async with unit_of_work(sessions) as session:
        enrollment = await participants.enrollment_by_id(session=session, participant_id=pid)
        await participants.pause(session=session, enrollment=enrollment, now=START)
    await _tick(sessions, START + timedelta(days=1))
    assert {day for _, day, _ in await _items(sessions)} == {1}
    resume_at = START + timedelta(days=2, hours=2)
    async with unit_of_work(sessions) as session:
        enrollment = await participants.enrollment_by_id(session=session, participant_id=pid)
        await participants.resume(session=session, clock=REAL, enrollment=enrollment, now=resume_at)
    await _tick(sessions, resume_at)
    assert sorted({day for _, day, _ in await _items(sessions)}) == [1, 3]


async def test_completion_after_the_last_day(sessions, mini) -> None:
    _, (pid,) = await _enrol(sessions, mini, 1)
    for day in range(4):
        await _tick(sessions, START + timedelta(days=day))
    async with sessions() as session:
        participant = await session.get(Participant, pid)
    assert participant.status == ParticipantStatus.COMPLETED
    assert (pid, 4, "closing") in await _items(sessions)


async def _mark_sent(sessions) -> None:
    async with unit_of_work(sessions) as session:
        for row in (await session.exec(select(Delivery))).all():
            if row.state == "pending":
                row.state, row.telegram_message_id = "sent", row.id
                session.add(row)


async def test_one_reminder_for_an_unanswered_prompt_never_for_an_answered_one(
    sessions, mini
) -> None:
    _, (quiet, talkative) = await _enrol(sessions, mini, 2)
    await _tick(sessions, START)
    await _mark_sent(sessions)
    async with unit_of_work(sessions) as session:
        enrollment = await participants.enrollment_by_id(session=session, participant_id=talkative)
        await answers.record_button_answer(
            session=session,
            clock=REAL,
            enrollment=enrollment,
            day=1,
            prompt_index=0,
            value_index=3,
            message_id=None,
            now=START + timedelta(hours=1),
        )
    await _tick(sessions, START + timedelta(hours=5, minutes=59))
    assert [i for i in await _items(sessions) if i[2].startswith("reminder")] == []
    await _tick(sessions, START + timedelta(hours=6))
    await _tick(sessions, START + timedelta(hours=6, minutes=30))
    reminders = [i for i in await _items(sessions) if i[2].startswith("reminder")]
    assert reminders == [(quiet, 1, "reminder:d1-mood")]
    # The talkative one's second question went out an hour later; its reminder is its own.
    await _tick(sessions, START + timedelta(hours=7))
    reminders = [i for i in await _items(sessions) if i[2].startswith("reminder")]
    assert reminders == [(quiet, 1, "reminder:d1-mood"), (talkative, 1, "reminder:d1-reflect")]


async def test_no_reminder_for_yesterday_once_the_next_day_is_due(sessions, mini) -> None:
    """After downtime across the next delivery time, yesterday's question is not reminded of."""
    await _enrol(sessions, mini, 1)
    await _tick(sessions, START)
    await _mark_sent(sessions)
    async with unit_of_work(sessions) as session:  # the day-2 batch has not been reached yet
        reminders = await queue_reminders(session=session, now=START + timedelta(days=1, hours=1))
    assert reminders == 0
    assert [i for i in await _items(sessions) if i[2].startswith("reminder")] == []
