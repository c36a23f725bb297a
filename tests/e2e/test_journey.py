"""A participant's journey through the real Application and the emulator."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.db.models import ConsentRefusal, Participant, Response
from tests.e2e.conftest import Harness


@pytest.fixture
def settings_overrides() -> dict:
    return {"send_rate_per_second": 0}


@pytest.fixture
def emulator_rate_limits() -> bool:
    return False


async def _responses(harness: Harness) -> list[Response]:
    async with harness.runtime.sessions() as session:
        return list((await session.exec(select(Response).order_by(Response.id))).all())


async def test_join_consent_lesson_and_answers(harness: Harness) -> None:
    cohort = await harness.create_cohort()
    ana = harness.user(1001, "Ana")
    ana.send_command("start", cohort.invite_code)
    welcome = await harness.wait_for_text(ana.id, "Welcome to Mini Resilience")
    assert "3 days" not in welcome.text  # weeks, not days
    consent = await harness.wait_for_text(ana.id, "Please read before you start")
    assert [b[0] for row in consent.buttons for b in row] == ["I agree", "No, thanks"]

    ana.press_button(consent, "I agree")
    lesson = await harness.wait_for_text(ana.id, "Day 1 of 3")
    assert "Today's practice" in lesson.text
    prompt = await harness.wait_for_text(ana.id, "How are you today?")
    assert [b[0] for b in prompt.buttons[0]] == ["1", "2", "3", "4", "5"]

    ana.press_button(prompt, "4")
    reflect = await harness.wait_for_text(ana.id, "Which strength did you notice?")
    ana.send_text("I was patient with my kids", reply_to=reflect.message_id)
    await harness.wait_for_text(ana.id, "Day 1 of 3 done")

    answers = await _responses(harness)
    assert [(r.day, r.prompt_id, r.answer_type, r.value, r.text) for r in answers] == [
        (1, "d1-mood", "scale", "4", "4"),
        (1, "d1-reflect", "text", None, "I was patient with my kids"),
    ]
    assert all(r.cohort_id == cohort.id for r in answers)


async def test_decline_keeps_only_the_refusal(harness: Harness) -> None:
    cohort = await harness.create_cohort()
    ben = harness.user(1002, "Ben")
    ben.send_command("start", cohort.invite_code)
    consent = await harness.wait_for_text(ben.id, "Please read before you start")
    ben.press_button(consent, "No, thanks")
    await harness.wait_for_text(ben.id, "Nothing about you has been kept")
    async with harness.runtime.sessions() as session:
        assert (await session.exec(select(Participant))).all() == []
        refusals = (await session.exec(select(ConsentRefusal))).all()
    assert [(r.cohort_id, r.consent_version) for r in refusals] == [(cohort.id, "mini-1")]


async def test_unknown_code_and_no_code(harness: Harness) -> None:
    cara = harness.user(1003, "Cara")
    cara.send_command("start", "nope")
    await harness.wait_for_text(cara.id, "couldn't find a program")
    cara.send_command("start")
    await harness.wait_for_text(cara.id, "open the invite link")
