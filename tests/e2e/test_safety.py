"""Crisis language through the real Application and the emulator: the caring reply, alerts to the
right facilitators only, "I'm on it", escalation, low scale answers, /alerts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from bot.db.models import Cohort, Delivery, FacilitatorAccess, Response, SafetyAlert
from bot.db.session import unit_of_work
from bot.sandbox import EmulatedUser, Emulator
from tests.e2e.conftest import MINI_PROGRAM, Harness

ADMIN = 900
RISK = "honestly I just want to kill myself tonight"
CRISIS_INTRO = "You don't have to go through this alone"
ALERT_HEAD = "Safety alert"

LOW_PROGRAM = """\
program_id: lowmood
title: Low Mood Check
description: Mood check-ins.
consent: {version: "1", text: "Your facilitator reads your answers. Not an emergency service."}
weeks:
  - title: Week
    days:
""" + "".join(
    f"""      - title: Day {n}
        lesson: {{text: "Day {n} lesson."}}
        prompts:
          - {{id: d{n}-mood, type: scale, text: "How is your mood?", min: 1, max: 5,
             alert: {{at_or_below: 2, consecutive_days: 2}}}}
"""
    for n in (1, 2, 3)
)


@pytest.fixture
def curricula_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "curricula"
    directory.mkdir()
    (directory / "mini.yaml").write_text(MINI_PROGRAM)
    (directory / "lowmood.yaml").write_text(LOW_PROGRAM)
    return directory


FAST = {"send_rate_per_second": 0}  # pacing is tested elsewhere; these tests send a lot


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    async with Emulator(rate_limits=False) as emu:
        yield emu


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    # Long preview days: the setup below must not outlast day 1.
    return {
        "facilitator_ids": frozenset({ADMIN}),
        "alert_escalation_minutes": 100_000,
        "day_length_seconds": 60.0,
        **FAST,
    }


async def _mood_answers(harness: Harness, *, at_least: int) -> bool:
    async with unit_of_work(harness.runtime.sessions) as session:
        rows = await session.exec(select(Response.id).where(Response.answer_type == "scale"))
        return len(rows.all()) >= at_least


async def _facilitate(harness: Harness, cohort_id: int, *user_ids: int) -> list[EmulatedUser]:
    users = []
    async with unit_of_work(harness.runtime.sessions) as session:
        for uid in user_ids:
            session.add(FacilitatorAccess(cohort_id=cohort_id, telegram_user_id=uid))
    for uid in user_ids:
        user = harness.user(uid, f"Fac{uid}")
        user.send_command("help")  # opens the private chat, as a real person would
        await harness.wait_for_text(uid, "What you can do")
        users.append(user)
    return users


async def _alerts(harness: Harness) -> list[SafetyAlert]:
    async with harness.runtime.sessions() as session:
        return list((await session.exec(select(SafetyAlert).order_by(SafetyAlert.id))).all())


def _alert_messages(harness: Harness, user_id: int) -> list[Any]:
    return [m for m in harness.inbox(user_id) if ALERT_HEAD in (m.text or "")]


async def test_risk_message_gets_crisis_reply_and_alerts_only_its_facilitators(
    harness: Harness,
) -> None:
    spring = await harness.create_cohort(name="Spring")
    autumn = await harness.create_cohort(name="Autumn")
    async with unit_of_work(harness.runtime.sessions) as session:
        cohort = await session.get(Cohort, spring.id)
        assert cohort is not None
        cohort.crisis_resources = {"helplines": [{"name": "Spring Line", "phone": "0800 111"}]}
        session.add(cohort)
    fac_a1, fac_a2 = await _facilitate(harness, spring.id, 501, 502)
    (fac_b,) = await _facilitate(harness, autumn.id, 503)
    admin = harness.user(ADMIN, "Admin")
    admin.send_command("help")
    ana, ben, cara = (
        harness.user(1001, "Ana"),
        harness.user(1002, "Ben"),
        harness.user(1003, "Cara"),
    )
    await harness.join(ana, spring.invite_code)
    await harness.join(ben, spring.invite_code)
    await harness.join(cara, autumn.invite_code)
    mood = await harness.wait_for_text(ana.id, "How are you today?")

    ana.send_text(RISK)
    reply = await harness.wait_for_text(ana.id, CRISIS_INTRO)
    assert "Spring Line: 0800 111" in reply.text  # the cohort's own resources
    assert "emergency number" in reply.text
    assert "therapist" not in reply.text.lower()
    # Queued by the same update, before the usual answer to a message.
    async with harness.runtime.sessions() as session:
        rows = (
            await session.exec(
                select(Delivery).where(Delivery.chat_id == ana.id, Delivery.kind == "safety")
            )
        ).all()
    assert len(rows) == 1 and rows[0].dedupe_key.endswith(":r1")
    await harness.wait_for_text(ana.id, "tap one of the buttons")
    texts = harness.texts(ana.id)
    assert texts.index(reply.text) < next(
        i for i, t in enumerate(texts) if "tap one of the buttons" in t
    )

    for fac in (fac_a1, fac_a2):
        await harness.wait_for(lambda fac=fac: _alert_messages(harness, fac.id))
    for fac in (fac_a1, fac_a2):
        (alert_message,) = _alert_messages(harness, fac.id)
        assert "Ana" in alert_message.text and RISK in alert_message.text
        assert "Spring" in alert_message.text
        assert [label for row in alert_message.buttons for label, _ in row] == ["I'm on it"]
    for other in (fac_b.id, ADMIN, ben.id, cara.id):
        assert not _alert_messages(harness, other)
    assert not any(CRISIS_INTRO in t for t in harness.texts(ben.id) + harness.texts(cara.id))
    (alert,) = await _alerts(harness)
    assert (alert.category, alert.cohort_id, alert.message_text) == ("self_harm", spring.id, RISK)

    # The program goes on as usual: the message is kept, the next answers are recorded.
    ana.press_button(mood, "4")
    reflect = await harness.wait_for_text(ana.id, "Which strength did you notice?")
    ana.send_text("My patience", reply_to=reflect.message_id)
    await harness.wait_for_text(ana.id, "Day 1 of 3 done")
    async with harness.runtime.sessions() as session:
        answers = (
            await session.exec(select(Response).where(Response.cohort_id == spring.id))
        ).all()
    kept = {(r.prompt_id, r.answer_type, r.text) for r in answers if r.participant_id}
    assert ("d1-mood", "note", RISK) in kept
    assert ("d1-reflect", "text", "My patience") in kept

    # "I'm on it": recorded with who and when; every copy of the alert then says so.
    (message_a1,) = _alert_messages(harness, fac_a1.id)
    fac_a1.press_button(message_a1, "I'm on it")
    await harness.wait_for(
        lambda: all(
            "Fac501" in m.text and "is on it" in m.text and not m.buttons
            for fac in (fac_a1, fac_a2)
            for m in _alert_messages(harness, fac.id)
        )
    )
    (alert,) = await _alerts(harness)
    assert alert.acknowledged_by == fac_a1.id and alert.acknowledged_at is not None

    # /alerts: facilitators see their cohorts' alerts, administrators all, others nothing.
    fac_a2.send_command("alerts")
    listing = await harness.wait_for_text(fac_a2.id, "Open safety alerts: 0")
    assert "Ana" in listing.text and "Fac501 is on it" in listing.text
    fac_b.send_command("alerts")
    listing_b = await harness.wait_for_text(fac_b.id, "Open safety alerts: 0")
    assert "Ana" not in listing_b.text
    admin.send_command("alerts")
    assert "Ana" in (await harness.wait_for_text(ADMIN, "Open safety alerts")).text
    ben.send_command("alerts")
    await harness.wait_for_text(ben.id, "I don't know that command")


async def test_edits_and_captions_are_checked_and_a_repeat_alerts_once(harness: Harness) -> None:
    cohort = await harness.create_cohort()
    (fac,) = await _facilitate(harness, cohort.id, 601)
    dana = harness.user(1004, "Dana")
    await harness.join(dana, cohort.invite_code)
    await harness.wait_for_text(dana.id, "How are you today?")

    sent = dana.send_text("just a normal day")
    await harness.wait_for_text(dana.id, "tap one of the buttons")
    dana.edit(sent["message_id"], "he said he would kill me if I leave")
    await harness.wait_for(lambda: len(_alert_messages(harness, fac.id)) == 1)
    await harness.wait_for_text(dana.id, "Nobody deserves to be hurt")

    dana.send_photo(caption="I keep thinking about ending my life")
    await harness.wait_for(lambda: len(_alert_messages(harness, fac.id)) == 2)
    dana.send_photo(caption="I keep thinking about ending my life")  # the same words again
    await harness.wait_for(
        lambda: sum(CRISIS_INTRO in t for t in harness.texts(dana.id)) == 3, timeout=10
    )
    alerts = await _alerts(harness)
    assert [a.category for a in alerts] == ["abuse", "self_harm"]
    assert len(_alert_messages(harness, fac.id)) == 2


async def test_alert_without_facilitators_goes_to_admins(harness: Harness) -> None:
    cohort = await harness.create_cohort()
    admin = harness.user(ADMIN, "Admin")
    admin.send_command("help")
    eve = harness.user(1005, "Eve")
    await harness.join(eve, cohort.invite_code)
    eve.send_text(RISK)
    message = await harness.wait_for_text(ADMIN, ALERT_HEAD)
    assert "Eve" in message.text


@pytest.mark.parametrize(
    "settings_overrides",
    [
        {
            "facilitator_ids": frozenset({ADMIN, ADMIN + 1}),
            "alert_escalation_minutes": 1,  # 1.25 s with 30-second preview days
            "day_length_seconds": 30.0,
            **FAST,
        }
    ],
)
async def test_unacknowledged_alert_is_repeated_once_to_admins(harness: Harness) -> None:
    cohort = await harness.create_cohort()
    (fac,) = await _facilitate(harness, cohort.id, 701)
    admins = [harness.user(ADMIN, "Admin"), harness.user(ADMIN + 1, "Admin2")]
    for admin in admins:
        admin.send_command("help")
    fay = harness.user(1006, "Fay")
    await harness.join(fay, cohort.invite_code)
    fay.send_text(RISK)
    await harness.wait_for_text(fac.id, ALERT_HEAD)
    for admin in admins:
        escalated = await harness.wait_for_text(admin.id, "No one has taken this alert on")
        assert "Fay" in escalated.text and RISK in escalated.text
    (alert,) = await _alerts(harness)
    assert alert.escalated_at is not None and alert.acknowledged_at is None

    # An administrator takes it on from the escalation; the facilitator's copy says so too.
    admins[0].press_button(escalated_message(harness, ADMIN), "I'm on it")
    await harness.wait_for(
        lambda: "Admin is on it" in _alert_messages(harness, fac.id)[0].text, timeout=10
    )
    for admin in admins:
        assert len(_alert_messages(harness, admin.id)) == 1  # repeated once, not again


def escalated_message(harness: Harness, user_id: int) -> Any:
    return next(m for m in harness.inbox(user_id) if "No one has taken" in (m.text or ""))


@pytest.mark.parametrize(
    "settings_overrides",
    [{"facilitator_ids": frozenset({ADMIN}), "day_length_seconds": 60.0, **FAST}],
)
@pytest.mark.parametrize("typed_day", [None, 2], ids=["buttons", "typed-on-day-2"])
async def test_low_scale_answers_in_a_row_raise_one_alert_per_streak(
    harness: Harness, typed_day: int | None
) -> None:
    cohort = await harness.create_cohort("lowmood")
    (fac,) = await _facilitate(harness, cohort.id, 801)
    gus = harness.user(1007, "Gus")
    await harness.join(gus, cohort.invite_code)
    for day in (1, 2, 3):
        if day > 1:
            harness.advance(60.0)  # the next program day

        def mood_prompts() -> list[Any]:
            return [m for m in harness.inbox(gus.id) if "How is your mood?" in (m.text or "")]

        await harness.wait_for(lambda day=day: len(mood_prompts()) >= day)
        prompt = mood_prompts()[day - 1]
        if day == typed_day:  # a typed number answers a scale question too
            gus.send_text("1")
            await harness.wait_for(lambda: _mood_answers(harness, at_least=2))
        else:
            gus.press_button(prompt, "1")
            await harness.wait_for(lambda p=prompt: "✓" in (p.text or ""))
        if day == 2:
            await harness.wait_for_text(gus.id, "I've noticed your answers have been low")
            message = await harness.wait_for_text(fac.id, ALERT_HEAD)
            assert "Gus" in message.text and "1, 1" in message.text
    alerts = await _alerts(harness)
    assert [(a.category, a.message_text) for a in alerts] == [("low_scale", None)]
    assert sum("answers have been low" in t for t in harness.texts(gus.id)) == 1
