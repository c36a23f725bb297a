"""/mydata and /delete through the real Application and the emulator."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text
from sqlmodel import select

from bot.db import crypto
from bot.db.models import FacilitatorAccess, Participant, ParticipantStatus, Response
from bot.db.session import unit_of_work
from bot.sandbox import Emulator
from tests.e2e.conftest import Harness
from tests.test_data_rights import leftovers

FIRST, LAST = "Zephyrine", "Quolbeck"
REFLECTION = "my quiet garden with the blue bench"
EDITED = "my quiet garden with the red bench"
CAPTION = "the lighthouse at dusk"
RISK = "some days I want to end my life"
KEY = Fernet.generate_key().decode()


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    async with Emulator(rate_limits=False) as emu:
        yield emu


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"day_length_seconds": 60.0, "send_rate_per_second": 0}


@pytest.fixture(autouse=True)
def no_key_afterwards() -> Any:
    yield
    crypto.configure(None)


async def _answer_day_one(harness: Harness, user: Any) -> None:
    mood = await harness.wait_for_text(user.id, "How are you today?")
    user.press_button(mood, "3")
    reflect = await harness.wait_for_text(user.id, "Which strength did you notice?")
    sent = user.send_text(REFLECTION, reply_to=reflect.message_id)
    await harness.wait_for_text(user.id, "Day 1 of 3 done")
    user.edit(sent["message_id"], EDITED)
    user.send_photo(caption=CAPTION)
    await harness.wait_for(
        lambda: sum("I keep it with your answers" in t for t in harness.texts(user.id)) == 1
    )


@pytest.mark.parametrize(
    "settings_overrides",
    [
        {"day_length_seconds": 60.0, "send_rate_per_second": 0},
        {"day_length_seconds": 60.0, "send_rate_per_second": 0, "answer_encryption_key": KEY},
    ],
    ids=["plain", "encrypted"],
)
async def test_mydata_sends_everything_as_a_json_file(
    harness: Harness, settings_overrides: dict[str, Any]
) -> None:
    cohort = await harness.create_cohort()
    ana = harness.user(1001, FIRST)
    await harness.join(ana, cohort.invite_code)
    await _answer_day_one(harness, ana)
    ana.send_command("mydata")
    message = await harness.wait_for(
        lambda: next((m for m in harness.inbox(ana.id) if m.document), None)
    )
    assert message.document.name == "my-data.json"
    assert "everything I store about you" in message.caption
    data = json.loads(message.document.data)
    (enrollment,) = data["enrollments"]
    assert enrollment["profile"]["display_name"] == FIRST
    assert enrollment["consent"]["version"] == "mini-1"
    texts = {(a["prompt_id"], a["text"], a["previous_text"]) for a in enrollment["answers"]}
    assert ("d1-reflect", EDITED, REFLECTION) in texts
    assert ("d1-mood", "3", None) in texts
    assert any(a["text"] == CAPTION and a["file_id"] for a in enrollment["answers"])

    async with harness.runtime.sessions() as session:
        raw = (await session.exec(text("SELECT text FROM responses"))).all()  # type: ignore[call-overload]
    stored = " ".join(row[0] or "" for row in raw)
    if "answer_encryption_key" in settings_overrides:
        assert REFLECTION not in stored and EDITED not in stored and CAPTION not in stored
    else:
        assert EDITED in stored

    stranger = harness.user(1009, "Sam")
    stranger.send_command("mydata")
    await harness.wait_for_text(stranger.id, "I don't have any data about you")


async def test_delete_erases_their_words_and_name_everywhere(harness: Harness) -> None:
    cohort = await harness.create_cohort(name="Spring")
    async with unit_of_work(harness.runtime.sessions) as session:
        session.add(FacilitatorAccess(cohort_id=cohort.id, telegram_user_id=501))
    fac = harness.user(501, "Fay")
    fac.send_command("help")
    ana, ben = harness.user(1001, FIRST), harness.user(1002, "Bartholomew")
    ana.last_name = LAST
    await harness.join(ana, cohort.invite_code)
    await harness.join(ben, cohort.invite_code)
    await _answer_day_one(harness, ana)
    ana.send_text(RISK)
    alert = await harness.wait_for_text(fac.id, "Safety alert")
    assert f"{FIRST} {LAST}" in alert.text
    fac.press_button(alert, "I'm on it")  # the press's raw update quotes her too
    await harness.wait_for(lambda: "is on it" in (alert.text or ""))
    ana.send_command("mydata")
    await harness.wait_for(lambda: any(m.document for m in harness.inbox(ana.id)))
    ben_mood = await harness.wait_for_text(ben.id, "How are you today?")
    ben.press_button(ben_mood, "5")
    await harness.wait_for(lambda: "✓" in (ben_mood.text or ""))
    needles = [FIRST, LAST, REFLECTION, EDITED, CAPTION, RISK]
    assert await leftovers(harness.runtime.sessions, needles)

    ana.send_command("delete")
    confirm = await harness.wait_for_text(ana.id, "Delete your data?")
    ana.press_button(confirm, "No, keep it")
    await harness.wait_for_text(ana.id, "Nothing was deleted")
    assert await leftovers(harness.runtime.sessions, needles)
    ana.send_command("delete")
    await harness.wait_for(
        lambda: sum("Delete your data?" in t for t in harness.texts(ana.id)) == 2
    )
    confirm = [m for m in harness.inbox(ana.id) if "Delete your data?" in (m.text or "")][-1]
    ana.press_button(confirm, "Yes, delete everything")
    await harness.wait_for_text(ana.id, "Your answers and your name are erased")

    assert await leftovers(harness.runtime.sessions, needles) == []
    async with harness.runtime.sessions() as session:
        people = {p.pseudonym: p for p in (await session.exec(select(Participant))).all()}
        responses = (await session.exec(select(Response))).all()
    deleted = [p for p in people.values() if p.data_deleted_at is not None]
    assert len(deleted) == 1 and deleted[0].status == ParticipantStatus.WITHDRAWN
    assert [p.display_name for p in people.values() if p.data_deleted_at is None] == ["Bartholomew"]
    theirs = [r for r in responses if r.participant_id == deleted[0].id]
    assert len(theirs) >= 4 and all(r.text is None and r.value is None for r in theirs)
    assert any(r.value == "5" for r in responses if r.participant_id != deleted[0].id)

    fac.send_command("alerts")
    listing = await harness.wait_for_text(fac.id, "Open safety alerts")
    assert "participant deleted their data" in listing.text and FIRST not in listing.text
    ana.send_command("mydata")
    await harness.wait_for_text(ana.id, "I don't have any data about you")
    ana.send_command("today")
    await harness.wait_for_text(ana.id, "You're not in a program right now")
