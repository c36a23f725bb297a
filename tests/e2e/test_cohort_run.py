"""A whole cohort on the preview clock: every day exactly once, in order, every answer kept."""

from __future__ import annotations

import asyncio
import re

import pytest
from sqlmodel import select

from bot.db.models import Participant, ParticipantStatus, Response
from bot.sandbox.simulation import REFLECTIONS
from tests.e2e.conftest import Harness
from tests.e2e.people import Autopilot, run_autopilots

DAY_SECONDS = 60.0  # each test moves the clock to the next day itself
LESSON = re.compile(r"^Day (\d+) of 3 ·")


@pytest.fixture
def settings_overrides() -> dict:
    return {"day_length_seconds": DAY_SECONDS}


def lesson_days(harness: Harness, user_id: int) -> list[int]:
    return [int(match.group(1)) for text in harness.texts(user_id) if (match := LESSON.match(text))]


def said(harness: Harness, user_id: int, fragment: str) -> bool:
    return any(fragment in text for text in harness.texts(user_id))


async def test_twenty_participants_whole_program(harness: Harness) -> None:
    cohort = await harness.create_cohort()
    users = [harness.user(2000 + n, f"P{n}") for n in range(20)]
    pilots = [Autopilot(harness.emulator, u, scale=str(1 + n % 5)) for n, u in enumerate(users)]
    stop = asyncio.Event()
    answering = asyncio.create_task(run_autopilots(pilots, stop))
    await asyncio.gather(*(harness.join(u, cohort.invite_code) for u in users))

    pauser, blocker = users[18], users[19]
    await harness.wait_for(lambda: 1 in lesson_days(harness, pauser.id))
    await harness.wait_for(lambda: 1 in lesson_days(harness, blocker.id))
    blocker.block()
    pauser.send_command("pause")
    await harness.wait_for_text(pauser.id, "Paused")

    everyone_else = users[:18]
    for day in (1, 2):  # everyone answers the day, then the next one begins
        await harness.wait_for(
            lambda day=day: all(said(harness, u.id, f"Day {day} of 3 done") for u in everyone_else)
        )
        harness.advance(DAY_SECONDS)
    # Resumed during day 3: day 2 was missed and must never arrive.
    pauser.send_command("resume")
    await harness.wait_for_text(pauser.id, "Welcome back")
    await harness.wait_for(
        lambda: all(said(harness, u.id, "That was day 3 of 3") for u in [*everyone_else, pauser])
    )
    harness.advance(DAY_SECONDS)  # the day after the last: the closing message

    everyone_else = users[:18]
    await harness.wait_for(
        lambda: all(
            "closing" in " ".join(harness.texts(u.id))
            or "end of the mini program" in " ".join(harness.texts(u.id))
            for u in everyone_else
        ),
        timeout=30,
    )
    await harness.wait_for(
        lambda: all(lesson_days(harness, u.id) == [1, 2, 3] for u in everyone_else)
    )
    # Give the last answers time to land.
    await asyncio.sleep(1.5)
    stop.set()
    await answering

    for user in everyone_else:
        assert lesson_days(harness, user.id) == [1, 2, 3], user.first_name
    assert lesson_days(harness, pauser.id) == [1, 3]
    assert lesson_days(harness, blocker.id) == [1]

    async with harness.runtime.sessions() as session:
        people = {p.telegram_user_id: p for p in (await session.exec(select(Participant))).all()}
        responses = (await session.exec(select(Response))).all()
    assert people[blocker.id].status == ParticipantStatus.BLOCKED
    assert all(people[u.id].status == ParticipantStatus.COMPLETED for u in everyone_else)

    stored = {(r.participant_id, r.day, r.prompt_id): r for r in responses}
    expected_prompts = [(1, "d1-mood"), (1, "d1-reflect"), (2, "d2-choice"), (3, "d3-reflect")]
    for n, user in enumerate(everyone_else):
        pid = people[user.id].id
        for day, prompt_id in expected_prompts:
            response = stored.get((pid, day, prompt_id))
            assert response is not None, (user.first_name, day, prompt_id)
            assert response.cohort_id == cohort.id
        assert stored[(pid, 1, "d1-mood")].value == str(1 + n % 5)
        assert stored[(pid, 2, "d2-choice")].value in {"walk", "talk"}
        assert stored[(pid, 3, "d3-reflect")].text in REFLECTIONS
    assert len(responses) == len(stored)  # one row per answered prompt, nothing twice
    assert harness.emulator.counters.rate_limited == 0  # paced under the limits, no 429s
