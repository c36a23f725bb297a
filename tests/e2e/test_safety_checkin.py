"""Ask, don't guess: a message the detector is unsure about gets "Are you safe right now?"
with three buttons, and each answer does what it should; nobody is asked twice a day."""

from __future__ import annotations

from typing import Any

import pytest

from bot.texts import text
from tests.e2e.conftest import Harness

ADMIN = 9701
UNSURE = "we watched a documentary about suicide"  # a phrase hit the model finds unlikely
QUESTION = text("checkin_question")


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"facilitator_ids": frozenset({ADMIN}), "send_rate_per_second": 0}


@pytest.fixture
def emulator_rate_limits() -> bool:
    return False


async def _asked(harness: Harness, user_id: int, name: str, code: str) -> Any:
    person = harness.user(user_id, name)
    await harness.join(person, code)
    await harness.wait_for_text(person.id, "How are you today?")
    person.send_text(UNSURE)
    question = await harness.wait_for_text(person.id, QUESTION)
    labels = [row[0][0] for row in question.buttons]
    assert labels == ["I'm safe", "I'm not safe", "I'd like to talk to someone"]
    return person, question


def _alerts(harness: Harness) -> list[str]:
    return [t for t in harness.texts(ADMIN) if "Safety alert" in t]


async def test_each_check_in_answer_does_what_it_should(harness: Harness) -> None:
    admin = harness.user(ADMIN, "Alex")
    admin.send_text("hi")
    cohort = await harness.create_cohort()

    ana, question = await _asked(harness, 9711, "Ana", cohort.invite_code)
    ana.press_button(question, "I'm safe")
    await harness.wait_for_text(ana.id, "Thank you for letting me know")
    ana.send_text(UNSURE + " again, on another channel")  # the same day: not asked again
    await harness.wait_for(lambda: harness.emulator.pending_updates() == 0)

    ben, question = await _asked(harness, 9712, "Ben", cohort.invite_code)
    ben.press_button(question, "I'm not safe")
    await harness.wait_for_text(ben.id, "You don't have to go through this alone")
    alert = await harness.wait_for(lambda: next(iter(_alerts(harness)), None))
    assert "Ben" in alert and "I'm not safe" in alert and "documentary" not in alert

    cara, question = await _asked(harness, 9713, "Cara", cohort.invite_code)
    caras_not_safe = question.buttons[1][0][1]  # before the keyboard goes away
    cara.press_button(question, "I'd like to talk to someone")
    await harness.wait_for_text(cara.id, "You don't have to go through this alone")
    await harness.wait_for(lambda: any("Cara" in t for t in _alerts(harness)))

    forged = harness.emulator.world.new_callback_query(ben.id, question, caras_not_safe)
    await harness.wait_for(lambda: harness.emulator.callback_answer(forged))
    assert harness.emulator.callback_answer(forged)["text"] == text("checkin_gone")
    assert not any("Cara" in t and "not safe" in t for t in _alerts(harness))
    assert harness.texts(ana.id).count(QUESTION) == 1  # at most once a day
    assert not any("Safety alert" in t and "Ana" in t for t in harness.texts(ADMIN))


async def test_an_unanswered_check_in_shows_in_alerts_as_low_priority(harness: Harness) -> None:
    admin = harness.user(ADMIN, "Alex")
    admin.send_text("hi")
    cohort = await harness.create_cohort()
    await _asked(harness, 9721, "Dan", cohort.invite_code)
    harness.advance(2 * 3600 * 60 / 86400 + 1)  # two hours, on the 60-second preview day
    admin.send_command("alerts")
    listing = await harness.wait_for_text(ADMIN, "Asked if they are safe")
    assert "Dan" in listing.text and "no answer yet" in listing.text
