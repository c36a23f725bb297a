"""Participant commands and the awkward moments: edits, double taps, stale buttons, media."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import select

from bot.db.models import Cohort, InboxUpdate, Participant, ParticipantStatus, Response
from bot.db.session import unit_of_work
from bot.handlers.registry import COMMANDS
from bot.inbox import store_updates
from tests.e2e.conftest import Harness


@pytest.fixture
def settings_overrides() -> dict:
    # Pacing and rate limits are proven in test_cohort_run; here they would only add waiting.
    return {"day_length_seconds": 30.0, "send_rate_per_second": 0}


@pytest.fixture
def emulator_rate_limits() -> bool:
    return False


async def _responses(harness: Harness) -> list[Response]:
    async with harness.runtime.sessions() as session:
        return list((await session.exec(select(Response).order_by(Response.id))).all())


async def _prompt(harness: Harness, user_id: int, fragment: str):
    return await harness.wait_for_text(user_id, fragment)


async def test_command_menu_comes_from_the_registration_table(harness: Harness) -> None:
    menu = await harness.wait_for(lambda: harness.emulator.commands.get("default"))
    expected = [c.name for c in COMMANDS if c.audience == "participant" and c.name != "start"]
    assert [c["command"] for c in menu] == expected
    assert all(c["description"] for c in menu)


async def test_double_tap_edit_and_redelivered_update_store_one_answer(harness: Harness) -> None:
    cohort = await harness.create_cohort()
    ana = harness.user(5001, "Ana")
    await harness.join(ana, cohort.invite_code)
    mood = await _prompt(harness, ana.id, "How are you today?")
    ana.press_button(mood, "3")
    ana.press_button(mood, "3")  # double tap
    reflect = await _prompt(harness, ana.id, "Which strength")
    sent = ana.send_text("Patience & <courage>", reply_to=reflect.message_id)
    await harness.wait_for_text(ana.id, "Day 1 of 3 done")
    ana.edit(sent["message_id"], "Patience, and courage")
    await harness.wait_for(lambda: harness.emulator.pending_updates() == 0)
    await asyncio.sleep(0.5)

    answers = await _responses(harness)
    assert [(r.prompt_id, r.value, r.text) for r in answers] == [
        ("d1-mood", "3", "3"),
        ("d1-reflect", None, "Patience, and courage"),
    ]
    assert answers[1].previous_text == "Patience & <courage>"
    assert answers[1].edited_at is not None

    # The same update arriving again, and being processed again after a crash, stores nothing new.
    async with unit_of_work(harness.runtime.sessions) as session:
        row = (
            await session.exec(
                select(InboxUpdate).where(
                    InboxUpdate.payload["message"]["message_id"].as_integer() == sent["message_id"]
                )
            )
        ).one()
        assert (
            await store_updates(session=session, updates=[row.payload], now=harness.runtime.now())
            == 0
        )
        await session.exec(
            update(InboxUpdate)
            .where(InboxUpdate.update_id == row.update_id)
            .values(processed=False)
        )
    await harness.runtime.inbox.process_one(row.update_id)
    assert len(await _responses(harness)) == 2


async def test_media_free_text_and_help(harness: Harness) -> None:
    cohort = await harness.create_cohort()
    cara = harness.user(5003, "Cara")
    cara.send_text("hello?")
    await harness.wait_for_text(cara.id, "not in a program")
    await harness.join(cara, cohort.invite_code)
    await _prompt(harness, cara.id, "How are you today?")
    cara.send_voice()
    await harness.wait_for_text(cara.id, "text, so a few written words")
    cara.send_text("I'd rather type")
    await harness.wait_for_text(cara.id, "tap one of the buttons")
    cara.send_command("help")
    await harness.wait_for_text(cara.id, "not a therapist or an emergency service")
    cara.send_command("nonsense")
    await harness.wait_for_text(cara.id, "I don't know that command")
    await asyncio.sleep(0.3)
    kinds = [(r.answer_type, r.prompt_id) for r in await _responses(harness)]
    assert kinds == [("voice", "d1-mood"), ("note", "d1-mood")]


async def test_progress_today_timezone_and_stop(harness: Harness) -> None:
    cohort = await harness.create_cohort()
    dev = harness.user(5004, "Dev")
    await harness.join(dev, cohort.invite_code)
    mood = await _prompt(harness, dev.id, "How are you today?")
    dev.press_button(mood, "4")
    await _prompt(harness, dev.id, "Which strength")
    dev.send_command("progress")
    progress = await harness.wait_for_text(dev.id, "Your progress")
    assert "Answers given: 1" in progress.text and "Days done: 0 of 3" in progress.text

    dev.send_command("today")
    await harness.wait_for(
        lambda: sum(t.startswith("Day 1 of 3") for t in harness.texts(dev.id)) == 2
    )
    await harness.wait_for(lambda: sum("Which strength" in t for t in harness.texts(dev.id)) == 2)

    dev.send_command("timezone", "Berlin")
    unknown = await harness.wait_for_text(dev.id, "I don't know the time zone")
    assert "/timezone Europe/Berlin" in unknown.text
    dev.send_command("timezone", "Europe/Berlin")
    await harness.wait_for_text(dev.id, "Your time zone is now Europe/Berlin")

    dev.send_text("STOP")
    confirm = await harness.wait_for_text(dev.id, "Do you want to leave")
    dev.press_button(confirm, "No, stay")
    await harness.wait_for_text(dev.id, "Nothing has changed")
    dev.send_command("stop")
    await harness.wait_for(
        lambda: sum("Do you want to leave" in t for t in harness.texts(dev.id)) == 2
    )
    confirm = [m for m in harness.inbox(dev.id) if "Do you want to leave" in (m.text or "")][-1]
    dev.press_button(confirm, "Yes, leave")
    await harness.wait_for_text(dev.id, "You've left the program")
    async with harness.runtime.sessions() as session:
        participant = (await session.exec(select(Participant))).one()
    assert participant.status == ParticipantStatus.WITHDRAWN
    assert participant.timezone == "Europe/Berlin"


async def test_joining_before_the_start_late_or_twice(harness: Harness) -> None:
    later = await harness.create_cohort(name="Later")
    async with unit_of_work(harness.runtime.sessions) as session:
        await session.exec(
            update(Cohort)
            .where(Cohort.id == later.id)
            .values(start_at=harness.runtime.now() + timedelta(days=2))
        )
    eve = harness.user(5005, "Eve")
    await harness.join(eve, later.invite_code)
    assert "Day 1 arrives on" in harness.texts(eve.id)[-1]

    running_cohort = await harness.create_cohort(name="Running")
    async with unit_of_work(harness.runtime.sessions) as session:
        await session.exec(  # started 65 s ago: day 3 of the 30-second preview days
            update(Cohort)
            .where(Cohort.id == running_cohort.id)
            .values(start_at=harness.runtime.now() - timedelta(seconds=65))
        )
    eve.send_command("start", running_cohort.invite_code)
    await harness.wait_for_text(eve.id, "already taking part in")

    finn = harness.user(5006, "Finn")
    await harness.join(finn, running_cohort.invite_code)
    await harness.wait_for_text(finn.id, "Day 3 of 3 ·")
    await asyncio.sleep(0.5)
    assert not any(t.startswith(("Day 1 of 3", "Day 2 of 3")) for t in harness.texts(finn.id))


async def test_blocked_participant_is_active_again_after_writing(harness: Harness) -> None:
    cohort = await harness.create_cohort()
    gus = harness.user(5007, "Gus")
    await harness.join(gus, cohort.invite_code)
    await _prompt(harness, gus.id, "How are you today?")
    gus.block()

    async def status() -> str:
        async with harness.runtime.sessions() as session:
            return (await session.exec(select(Participant.status))).one()

    await harness.wait_for(lambda: _eq(status(), ParticipantStatus.BLOCKED))
    gus.unblock()
    gus.send_text("sorry, I'm back")
    await harness.wait_for_text(gus.id, "Welcome back")
    assert await status() == ParticipantStatus.ACTIVE


async def _eq(awaitable, expected) -> bool:
    return (await awaitable) == expected
