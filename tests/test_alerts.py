"""Safety alerts, called directly with `now`: who gets them, once per streak, acknowledging,
escalating, listing; and what the program promises about who reads the chat."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlmodel import select

from bot.curriculum.loader import LoadedProgram, parse_program
from bot.db.models import (
    Delivery,
    DeliveryState,
    FacilitatorAccess,
    Participant,
    ParticipantStatus,
    Response,
    SafetyAlert,
)
from bot.db.session import unit_of_work
from bot.services import alerts, answers, participants
from bot.services.alerts import AckResult, SafetyChecker
from bot.services.catalog import ensure_version
from bot.services.clock import ProgramClock
from bot.services.cohorts import create_cohort
from bot.services.participants import Enrollment
from tests.conftest import CURRICULA
from tests.e2e.conftest import MINI_PROGRAM

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
REAL = ProgramClock()
ADMINS = frozenset({900, 901})
RISK = "I want to end my life"

MOOD_PROGRAM = """\
program_id: mood
title: Mood
description: Mood check-ins.
consent: {version: "1", text: "Your facilitator reads your answers."}
weeks:
  - title: Week
    days:
""" + "".join(
    f"""      - title: Day {n}
        lesson: {{text: "Day {n}."}}
        prompts:
          - {{id: d{n}-mood, type: scale, text: "How is your mood?", min: 1, max: 5,
             alert: {{at_or_below: 2, consecutive_days: 2}}}}
          - {{id: d{n}-sleep, type: scale, text: "How did you sleep?", min: 1, max: 5}}
"""
    for n in range(1, 8)
)


def _loaded(source: str, name: str) -> LoadedProgram:
    return LoadedProgram(path=Path(name), program=parse_program(source, name))


@pytest.fixture(scope="module")
def checker() -> SafetyChecker:
    return SafetyChecker.load(safety_file=None, curricula_dir=CURRICULA)


async def make_cohort(
    session: Any, source: str = MINI_PROGRAM, name: str = "Spring", facilitators: tuple = ()
) -> Any:
    version = await ensure_version(session=session, loaded=_loaded(source, f"{name}.yaml"))
    cohort = await create_cohort(
        session=session,
        version=version,
        name=name,
        start=None,
        timezone="UTC",
        delivery_time=NOW.time(),
        now=NOW,
    )
    for uid in facilitators:
        session.add(FacilitatorAccess(cohort_id=cohort.id, telegram_user_id=uid))
    await session.flush()
    return cohort


async def enrol(session: Any, cohort: Any, user_id: int, name: str = "Ana") -> Enrollment:
    outcome = await participants.begin_join(
        session=session,
        clock=REAL,
        telegram_user_id=user_id,
        chat_id=user_id,
        display_name=name,
        language="en",
        code=cohort.invite_code,
        now=NOW,
    )
    assert outcome.enrollment is not None
    await participants.answer_consent(
        session=session, clock=REAL, enrollment=outcome.enrollment, accept=True, now=NOW
    )
    await session.flush()
    return outcome.enrollment


async def _check(session: Any, checker: SafetyChecker, enrollment: Any, message: str, **kw: Any):
    return await alerts.check_text(
        session=session,
        checker=checker,
        enrollment=enrollment,
        telegram_user_id=kw.pop("user_id", None),
        message=message,
        language="en",
        now=kw.pop("now", NOW),
        admin_ids=kw.pop("admin_ids", ADMINS),
    )


async def _alert_rows(session: Any) -> list[Delivery]:
    return list(
        (
            await session.exec(
                select(Delivery).where(Delivery.kind == "alert").order_by(Delivery.id)
            )
        ).all()
    )


# --- crisis language -----------------------------------------------------------------------


async def test_a_match_alerts_each_facilitator_of_the_cohort_and_no_one_else(
    sessions: Any, checker: SafetyChecker
) -> None:
    async with unit_of_work(sessions) as session:
        spring = await make_cohort(session, facilitators=(501, 502))
        await make_cohort(session, name="Autumn", facilitators=(503,))
        ana = await enrol(session, spring, 1001, "Ana <Lopez>")
        outcome = await _check(session, checker, ana, f"Day 3. {RISK}.")
        assert outcome is not None and outcome.alert is not None
        assert outcome.category == "self_harm"
        assert "Find A Helpline" in outcome.reply and "emergency number" in outcome.reply
        rows = await _alert_rows(session)
    assert sorted(r.chat_id for r in rows) == [501, 502]
    assert {r.dedupe_key for r in rows} == {
        f"alerts:alert{outcome.alert.id}:501",
        f"alerts:alert{outcome.alert.id}:502",
    }
    for row in rows:
        assert "Ana &lt;Lopez&gt;" in row.text and "tg://user?id=1001" in row.text
        assert RISK in row.text and "Spring" in row.text
        assert row.reply_markup["inline_keyboard"][0][0]["callback_data"] == (
            f"alert:{outcome.alert.id}:ack"
        )
        assert row.cohort_id == spring.id and row.state == DeliveryState.PENDING


async def test_ordinary_messages_raise_nothing(sessions: Any, checker: SafetyChecker) -> None:
    async with unit_of_work(sessions) as session:
        cohort = await make_cohort(session, facilitators=(501,))
        ana = await enrol(session, cohort, 1001)
        for message in ("I killed it at work today", "this traffic is killing me", "", "   "):
            assert await _check(session, checker, ana, message) is None
        assert await _alert_rows(session) == []


async def test_without_facilitators_the_administrators_get_it(
    sessions: Any, checker: SafetyChecker, caplog: pytest.LogCaptureFixture
) -> None:
    async with unit_of_work(sessions) as session:
        cohort = await make_cohort(session)
        ana = await enrol(session, cohort, 1001)
        await _check(session, checker, ana, RISK)
        assert sorted(r.chat_id for r in await _alert_rows(session)) == [900, 901]
        ben = await enrol(session, await make_cohort(session, name="Other"), 1002)
        with caplog.at_level(logging.WARNING):
            outcome = await _check(session, checker, ben, RISK, admin_ids=frozenset())
    assert outcome is not None and outcome.alert is not None  # stored, listed in /alerts
    assert "reaches nobody" in caplog.text


async def test_the_same_words_again_raise_no_second_alert(
    sessions: Any, checker: SafetyChecker
) -> None:
    async with unit_of_work(sessions) as session:
        cohort = await make_cohort(session, facilitators=(501,))
        ana = await enrol(session, cohort, 1001)
        first = await _check(session, checker, ana, RISK)
        again = await _check(session, checker, ana, RISK, now=NOW + timedelta(minutes=5))
        later = await _check(session, checker, ana, RISK, now=NOW + timedelta(days=2))
        other = await _check(session, checker, ana, "i want to kill myself")
    assert first and first.alert and again and later and other
    assert again.alert is None and "Find A Helpline" in again.reply  # still a caring reply
    assert later.alert is not None and other.alert is not None


async def test_people_outside_a_program(sessions: Any, checker: SafetyChecker) -> None:
    async with unit_of_work(sessions) as session:
        stranger = await _check(session, checker, None, RISK, user_id=4242)
        assert stranger is not None and stranger.alert is None
        assert "Find A Helpline" in stranger.reply
        cohort = await make_cohort(session, facilitators=(501,))
        ana = await enrol(session, cohort, 1001)
        ana.participant.status = ParticipantStatus.COMPLETED
        session.add(ana.participant)
        await session.flush()
        finished = await _check(session, checker, None, RISK, user_id=1001)
        assert finished is not None and finished.alert is not None
        assert finished.alert.cohort_id == cohort.id
        assert [r.chat_id for r in await _alert_rows(session)] == [501]


async def test_cohort_crisis_resources(sessions: Any, checker: SafetyChecker) -> None:
    async with unit_of_work(sessions) as session:
        cohort = await make_cohort(session)
        cohort.crisis_resources = {"helplines": [{"name": "Spring Line", "phone": "0800 111"}]}
        ana = await enrol(session, cohort, 1001)
        outcome = await _check(session, checker, ana, RISK)
        assert outcome is not None
        assert "Spring Line: 0800 111" in outcome.reply and "Find A Helpline" not in outcome.reply
        assert "emergency number" in outcome.reply  # the rest comes from the defaults
        cohort.crisis_resources = {"helplines": [{"name": "No way to reach it"}]}
        broken = await _check(session, checker, ana, "i want to die", now=NOW)
    assert broken is not None and "Find A Helpline" in broken.reply


def test_program_override_file(tmp_path: Path) -> None:
    (tmp_path / "safety-mini.yaml").write_text(
        yaml.safe_dump(
            {
                "crisis_resources": {"helplines": [{"name": "Mini Line", "phone": "112233"}]},
                "languages": {"en": {"self_harm": {"phrases": ["purple elephant"]}}},
            }
        )
    )
    checker = SafetyChecker.load(safety_file=None, curricula_dir=tmp_path)
    assert checker.check("a purple elephant again", "en", "mini") is not None
    assert checker.check("a purple elephant again", "en", "other") is None
    reply = checker.reply("self_harm", language="en", program_id="mini", resources=None)
    assert "Mini Line: 112233" in reply


def test_safety_file_setting_and_location(tmp_path: Path) -> None:
    bundled = alerts.BUNDLED_SAFETY_FILE
    assert alerts.default_safety_file(safety_file=None, curricula_dir=tmp_path) == bundled
    (tmp_path / "safety.yaml").write_text(bundled.read_text())
    beside = alerts.default_safety_file(safety_file=None, curricula_dir=tmp_path)
    assert beside == tmp_path / "safety.yaml"
    chosen = tmp_path / "mine.yaml"
    assert alerts.default_safety_file(safety_file=chosen, curricula_dir=tmp_path) == chosen


# --- low scale answers ---------------------------------------------------------------------


async def _tap(
    session: Any, enrollment: Enrollment, *, day: int, prompt_index: int, value: int
) -> None:
    """The participant taps the button `value` under the day's question."""
    await answers.record_button_answer(
        session=session,
        clock=REAL,
        enrollment=enrollment,
        day=day,
        prompt_index=prompt_index,
        value_index=value,
        message_id=None,
        now=NOW,
    )


async def test_low_scale_answers_alert_once_per_streak(
    sessions: Any, checker: SafetyChecker
) -> None:
    """Rule: at or below 2 on two answers in a row (day order), over prompts with that rule."""
    async with unit_of_work(sessions) as session:
        cohort = await make_cohort(session, MOOD_PROGRAM, facilitators=(501,))
        ana = await enrol(session, cohort, 1001)
        raised = []
        # day: mood, sleep (no rule: never counts)
        for day, mood, sleep in [(1, 1, 1), (2, 2, 1), (3, 1, 5), (4, 4, 1), (5, 1, 1), (6, 2, 1)]:
            for index, value in ((0, mood), (1, sleep)):
                await _tap(session, ana, day=day, prompt_index=index, value=value)
                outcome = await alerts.check_scale(
                    session=session, checker=checker, enrollment=ana, now=NOW, admin_ids=ADMINS
                )
                if outcome is not None:
                    raised.append((day, index, outcome))
        assert [(day, index) for day, index, _ in raised] == [(2, 0), (6, 0)]
        _, _, first = raised[0]
        assert first.category == "low_scale" and first.alert is not None
        assert "I've noticed your answers have been low" in first.reply
        assert first.alert.matched and "1, 2" in first.alert.matched
        # Changing day 6 up ends that streak; changing it back down is the same streak again.
        for value in (5, 1):
            await _tap(session, ana, day=6, prompt_index=0, value=value)
        again = await alerts.check_scale(
            session=session, checker=checker, enrollment=ana, now=NOW, admin_ids=ADMINS
        )
        assert again is None
        count = len((await session.exec(select(SafetyAlert))).all())
    assert count == 2


async def test_a_question_answered_twice_is_one_day_not_a_streak(
    sessions: Any, checker: SafetyChecker
) -> None:
    """A tap on 1 and then a typed "1" for the same day's question: one low day, no alert."""
    async with unit_of_work(sessions) as session:
        cohort = await make_cohort(session, MOOD_PROGRAM, facilitators=(501,))
        ana = await enrol(session, cohort, 1001)
        await _tap(session, ana, day=1, prompt_index=0, value=1)
        tapped = (await session.exec(select(Response))).one()
        session.add(
            Response(
                dedupe_key="m:1001:99",
                participant_id=tapped.participant_id,
                cohort_id=tapped.cohort_id,
                curriculum_version_id=tapped.curriculum_version_id,
                day=1,
                prompt_id=tapped.prompt_id,
                answer_type="scale",
                value="1",
                text="1",
                answered_at=NOW + timedelta(minutes=5),
            )
        )
        await session.flush()
        outcome = await alerts.check_scale(
            session=session, checker=checker, enrollment=ana, now=NOW, admin_ids=ADMINS
        )
        assert outcome is None
        assert (await session.exec(select(SafetyAlert))).all() == []


async def test_programs_without_alert_rules_never_alert(
    sessions: Any, checker: SafetyChecker
) -> None:
    async with unit_of_work(sessions) as session:
        cohort = await make_cohort(session, facilitators=(501,))
        ana = await enrol(session, cohort, 1001)
        await _tap(session, ana, day=1, prompt_index=0, value=1)
        assert (
            await alerts.check_scale(
                session=session, checker=checker, enrollment=ana, now=NOW, admin_ids=ADMINS
            )
            is None
        )


# --- acknowledging -------------------------------------------------------------------------


async def _raise(sessions: Any, checker: SafetyChecker, user_id: int = 1001) -> tuple[int, int]:
    async with unit_of_work(sessions) as session:
        spring = await make_cohort(session, facilitators=(501, 502, 504))
        autumn = await make_cohort(session, name="Autumn", facilitators=(503,))
        ana = await enrol(session, spring, user_id)
        outcome = await _check(session, checker, ana, RISK)
        assert outcome is not None and outcome.alert is not None
        prefix = f"alerts:alert{outcome.alert.id}:"
        rows = [r for r in await _alert_rows(session) if r.dedupe_key.startswith(prefix)]
        # 501's copy is sent, 502's is still waiting, 504's is being sent right now.
        states = {501: (DeliveryState.SENT, 77), 502: (DeliveryState.PENDING, None)}
        states[504] = (DeliveryState.SENDING, None)
        for row in rows:
            row.state, row.telegram_message_id = states[row.chat_id]
            session.add(row)
        return outcome.alert.id, autumn.id  # type: ignore[return-value]


async def test_acknowledging_records_who_and_updates_every_copy(
    sessions: Any, checker: SafetyChecker
) -> None:
    alert_id, _ = await _raise(sessions, checker)
    later = NOW + timedelta(minutes=3)
    async with unit_of_work(sessions) as session:
        outcome = await alerts.acknowledge(
            session=session,
            alert_id=alert_id,
            by_user_id=502,
            by_name="Bea",
            admin_ids=ADMINS,
            now=later,
        )
    assert outcome.result == AckResult.ACKNOWLEDGED
    assert [(e.chat_id, e.message_id) for e in outcome.edits] == [(501, 77)]
    assert "Bea</b> is on it" in outcome.edits[0].text
    async with sessions() as session:
        alert = await session.get(SafetyAlert, alert_id)
        rows = {r.chat_id: r for r in await _alert_rows(session)}
    assert alert is not None and (alert.acknowledged_by, alert.acknowledged_at) == (502, later)
    assert "Bea</b> is on it" in rows[502].text and rows[502].reply_markup is None  # waiting
    assert rows[504].reply_markup is not None  # in flight: fixed once it is sent

    async with unit_of_work(sessions) as session:
        assert await alerts.stale_alert_messages(session=session) == []
        row = (await session.exec(select(Delivery).where(Delivery.chat_id == 504))).one()
        row.state, row.telegram_message_id = DeliveryState.SENT, 88
        session.add(row)
    async with unit_of_work(sessions) as session:
        stale = await alerts.stale_alert_messages(session=session)
    assert [(e.chat_id, e.message_id) for e in stale] == [(504, 88)]
    assert "Bea</b> is on it" in stale[0].text
    async with unit_of_work(sessions) as session:
        assert await alerts.stale_alert_messages(session=session) == []


async def test_who_may_acknowledge(sessions: Any, checker: SafetyChecker) -> None:
    alert_id, _ = await _raise(sessions, checker)
    async with unit_of_work(sessions) as session:
        kw: dict[str, Any] = {"session": session, "admin_ids": ADMINS, "now": NOW}
        other = await alerts.acknowledge(alert_id=alert_id, by_user_id=503, by_name="X", **kw)
        participant = await alerts.acknowledge(
            alert_id=alert_id, by_user_id=1001, by_name="A", **kw
        )
        missing = await alerts.acknowledge(alert_id=999, by_user_id=900, by_name="Z", **kw)
        admin = await alerts.acknowledge(alert_id=alert_id, by_user_id=900, by_name="Zoe", **kw)
        second = await alerts.acknowledge(alert_id=alert_id, by_user_id=501, by_name="Al", **kw)
    assert other.result == participant.result == AckResult.NOT_ALLOWED
    assert missing.result == AckResult.NOT_FOUND
    assert admin.result == AckResult.ACKNOWLEDGED
    assert second.result == AckResult.ALREADY and second.by_name == "Zoe"


# --- escalating ----------------------------------------------------------------------------


async def _escalate(sessions: Any, now: datetime, clock: ProgramClock = REAL, **kw: Any):
    async with unit_of_work(sessions) as session:
        return await alerts.escalate_due(
            session=session,
            clock=clock,
            now=now,
            escalation_minutes=kw.get("minutes", 30),
            admin_ids=kw.get("admin_ids", ADMINS),
        )


async def test_unacknowledged_alerts_are_repeated_once_to_the_administrators(
    sessions: Any, checker: SafetyChecker
) -> None:
    alert_id, _ = await _raise(sessions, checker)
    assert await _escalate(sessions, NOW + timedelta(minutes=29)) == []
    assert await _escalate(sessions, NOW + timedelta(minutes=30)) == [alert_id]
    assert await _escalate(sessions, NOW + timedelta(hours=5)) == []
    async with sessions() as session:
        rows = [r for r in await _alert_rows(session) if ":esc:" in r.dedupe_key]
        alert = await session.get(SafetyAlert, alert_id)
    assert sorted(r.chat_id for r in rows) == [900, 901]
    assert all("No one has taken this alert on after 30 minutes" in r.text for r in rows)
    assert all(r.reply_markup for r in rows)
    assert alert is not None and alert.escalated_at == NOW + timedelta(minutes=30)


async def test_acknowledged_alerts_are_not_escalated_and_preview_time_is_scaled(
    sessions: Any, checker: SafetyChecker
) -> None:
    alert_id, _ = await _raise(sessions, checker)
    preview = ProgramClock(day_length_seconds=60)  # 30 minutes -> 1.25 seconds
    assert await _escalate(sessions, NOW + timedelta(seconds=1), preview) == []
    assert await _escalate(sessions, NOW + timedelta(seconds=1.25), preview) == [alert_id]

    second, _ = await _raise(sessions, checker, user_id=1002)
    async with unit_of_work(sessions) as session:
        await alerts.acknowledge(
            session=session, alert_id=second, by_user_id=501, by_name="Al", admin_ids=(), now=NOW
        )
    assert await _escalate(sessions, NOW + timedelta(days=1)) == []


async def test_escalation_without_administrators_is_marked_and_logged(
    sessions: Any, checker: SafetyChecker, caplog: pytest.LogCaptureFixture
) -> None:
    alert_id, _ = await _raise(sessions, checker)
    with caplog.at_level(logging.WARNING):
        assert await _escalate(sessions, NOW + timedelta(hours=1), admin_ids=()) == [alert_id]
    assert "no FACILITATOR_IDS" in caplog.text
    async with sessions() as session:
        assert not [r for r in await _alert_rows(session) if ":esc:" in r.dedupe_key]


# --- listing -------------------------------------------------------------------------------


async def test_list_open_alerts_by_cohort(sessions: Any, checker: SafetyChecker) -> None:
    async with unit_of_work(sessions) as session:
        spring = await make_cohort(session, facilitators=(501,))
        autumn = await make_cohort(session, name="Autumn", facilitators=(503,))
        ana = await enrol(session, spring, 1001, "Ana")
        cara = await enrol(session, autumn, 1003, "Cara")
        first = await _check(session, checker, ana, RISK)
        second = await _check(session, checker, cara, RISK, now=NOW + timedelta(minutes=1))
        third = await _check(session, checker, ana, "i want to die", now=NOW + timedelta(minutes=2))
        assert first and second and third and first.alert and third.alert
        await alerts.acknowledge(
            session=session,
            alert_id=first.alert.id,  # type: ignore[arg-type]
            by_user_id=501,
            by_name="Al",
            admin_ids=ADMINS,
            now=NOW,
        )
        ana.participant.data_deleted_at = NOW
        session.add(ana.participant)
    async with sessions() as session:
        mine = await alerts.list_open_alerts(session=session, cohort_ids=[spring.id])
        everything = await alerts.list_open_alerts(session=session, cohort_ids=None)
        nothing = await alerts.list_open_alerts(session=session, cohort_ids=[])
        history = await alerts.list_alerts(session=session, cohort_ids={spring.id})
        visible = await alerts.visible_cohort_ids(
            session=session, telegram_user_id=503, admin_ids=ADMINS
        )
        admin = await alerts.visible_cohort_ids(
            session=session, telegram_user_id=900, admin_ids=ADMINS
        )
        stranger = await alerts.visible_cohort_ids(
            session=session, telegram_user_id=1001, admin_ids=ADMINS
        )
    assert [a.id for a in mine] == [third.alert.id]
    assert mine[0].participant_name is None  # deleted their data
    assert [a.cohort_name for a in everything] == ["Spring", "Autumn"]
    assert nothing == []
    assert [(a.id, a.is_open) for a in history] == [(third.alert.id, True), (first.alert.id, False)]
    assert (visible, admin, stranger) == ({autumn.id}, None, set())
    rendered = alerts.render_alert_list(mine, history[1:], {501: "Al"})
    assert "Open safety alerts: 1" in rendered and "participant deleted their data" in rendered
    assert "Al is on it" in rendered


def test_callback_data_fits_telegram() -> None:
    markup = alerts.ack_markup(2**63 - 1)
    assert len(markup["inline_keyboard"][0][0]["callback_data"].encode()) <= 64


# --- what the program promises -------------------------------------------------------------


def test_consent_says_who_reads_and_that_nobody_watches_around_the_clock() -> None:
    consent = yaml.safe_load((CURRICULA / "building-resilience.yaml").read_text())["consent"]
    text = " ".join(consent["text"].split())
    assert "read by your group's facilitator" in text
    assert "Nobody watches this chat around the clock" in text
    assert "not therapy" in text and "not an emergency or crisis service" in text


def test_replies_never_claim_to_be_a_therapist_or_emergency_service(
    checker: SafetyChecker,
) -> None:
    from bot.texts import TEXTS

    for kind in ("self_harm", "harm_to_others", "abuse", "low_scale"):
        reply = checker.reply(kind, language="en", program_id=None, resources=None).lower()
        assert "therapist" not in reply and "i am an emergency" not in reply
        assert "emergency number" in reply
    assert "not a therapist or an emergency service" in TEXTS["en"]["help"]


async def test_participants_are_never_alert_recipients(
    sessions: Any, checker: SafetyChecker
) -> None:
    async with unit_of_work(sessions) as session:
        cohort = await make_cohort(session, facilitators=(501,))
        people = [await enrol(session, cohort, uid, f"P{uid}") for uid in (1001, 1002, 1003)]
        await _check(session, checker, people[0], RISK)
        chats = {r.chat_id for r in await _alert_rows(session)}
        participant_chats = set((await session.exec(select(Participant.chat_id))).all())
    assert chats == {501} and not chats & participant_chats
