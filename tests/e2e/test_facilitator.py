"""Facilitator tools through the real Application and the emulator: access, reports, answers,
exports, charts, announcements, check-ins, invites, /newcohort and group chats."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest
from sqlmodel import select

from bot.db.models import AuditLog, Cohort, Delivery, FacilitatorProfile
from bot.db.session import unit_of_work
from bot.sandbox import EmulatedUser, SentMessage
from bot.services.charts import PNG_SIGNATURE
from bot.services.facilitators import add_facilitator
from bot.services.reports import build_report, percent
from bot.texts import text
from tests.e2e.conftest import Harness
from tests.test_reports import ANSWERS, PEOPLE, Seeded, cli, csv_numbers, seed_known_cohort

ADMIN = 9001
FACILITATOR = 9100
UNKNOWN = "I don't know that command. Send /help to see what you can do."


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    # Pacing is proven in test_cohort_run; here it would only add waiting (but see the group).
    return {"facilitator_ids": frozenset({ADMIN}), "send_rate_per_second": 0}


@pytest.fixture
def emulator_rate_limits() -> bool:
    return False


async def ask(harness: Harness, user: EmulatedUser, command: str, payload: str | None = None):
    """Send a command and return the bot's next message to this user."""
    before = len(harness.inbox(user.id))
    user.send_command(command, payload)
    await harness.wait_for(lambda: len(harness.inbox(user.id)) > before)
    return harness.inbox(user.id)[before]


async def press(harness: Harness, user: EmulatedUser, message: SentMessage, data: str) -> str:
    """Press a button with any callback data, as a modified client could."""
    return harness.emulator.world.new_callback_query(user.id, message, data)


async def seed(harness: Harness, **kwargs: Any) -> Seeded:
    async with unit_of_work(harness.runtime.sessions) as session:
        return await seed_known_cohort(session, loaded=harness.runtime.catalog["mini"], **kwargs)


async def audit_rows(harness: Harness) -> list[AuditLog]:
    async with harness.runtime.sessions() as session:
        return list((await session.exec(select(AuditLog).order_by(AuditLog.id))).all())


def body(message: SentMessage) -> str:
    return message.text or message.caption or ""


async def test_a_facilitator_of_one_cohort_sees_nothing_of_another(harness: Harness) -> None:
    alpha = await harness.create_cohort(name="Alpha group")
    bravo = await seed(harness, name="Bravo group")
    async with unit_of_work(harness.runtime.sessions) as session:
        await add_facilitator(
            session=session,
            cohort_id=alpha.id,
            telegram_user_id=FACILITATOR,
            added_by=None,
            now=harness.runtime.now(),
        )
    fay = harness.user(FACILITATOR, "Fay")

    listing = await ask(harness, fay, "cohorts")
    assert "Alpha group" in listing.text and "Bravo group" not in listing.text
    b = str(bravo.cohort_id)
    not_found = f"I can't find cohort {b} among yours. Send /cohorts to see them."
    for command, payload in [
        ("report", b),
        ("chart", b),
        ("answers", b),
        ("answers", f"{b} 1"),
        ("export", b),
        ("export", f"{b} jsonl"),
        ("broadcast", f"{b} Hello everyone"),
        ("nudge", b),
        ("linkgroup", b),
    ]:
        reply = await ask(harness, fay, command, payload)
        assert (reply.text, reply.document) == (not_found, None), (command, payload)
    assert (await ask(harness, fay, "invitefacilitator", b)).text == UNKNOWN  # admins only

    # Buttons with forged data are checked again.
    picker = await ask(harness, fay, "report")
    assert [label for row in picker.buttons for label, _ in row] == [f"{alpha.id} · Alpha group"]
    for data in (f"fac:pick:report:{b}", f"fac:pick:export:{b}", f"fac:ans:{b}:1:0"):
        before = len(harness.inbox(fay.id))
        await press(harness, fay, picker, data)
        await harness.wait_for(lambda n=before: len(harness.inbox(fay.id)) > n)
        assert harness.inbox(fay.id)[before].text == not_found, data
    # A group linked by someone who may not see the cohort: silence, nothing stored.
    group = harness.emulator.group(-700, "Bravo chat")
    group.add_bot(fay)
    group.post(fay, f"/linkgroup {b}")
    group.post(fay, "/cohorts")
    await asyncio.sleep(0.5)
    assert harness.emulator.bot_messages(-700) == []

    secrets = set(PEOPLE) - {"Jo"} | {t for *_, t in ANSWERS if t and len(t) > 3} | {"Bravo"}
    for message in harness.inbox(fay.id):
        assert not any(s in body(message) for s in secrets), body(message)
        assert message.document is None
    async with harness.runtime.sessions() as session:
        cohort = await session.get(Cohort, bravo.cohort_id)
        sent = (await session.exec(select(Delivery).where(Delivery.cohort_id == cohort.id))).all()
    assert cohort.group_chat_id is None
    assert {d.kind for d in sent} == {"lesson"}  # only the seeded lessons: nothing queued
    log = await audit_rows(harness)
    assert not [row for row in log if row.cohort_id == bravo.cohort_id]
    denied = [row.detail for row in log if row.action == "denied"]
    assert len(denied) == 9 + 3 + 1 and all(row.actor_telegram_id == FACILITATOR for row in log)


async def test_participants_and_strangers_get_the_unknown_command_reply(harness: Harness) -> None:
    known = await seed(harness)
    cohort = str(known.cohort_id)
    ana = harness.user(known.user_ids["Ana"], "Ana")
    stranger = harness.user(4242, "Sam")
    commands = [
        ("cohorts", None),
        ("report", cohort),
        ("report", None),
        ("chart", cohort),
        ("answers", f"{cohort} 1"),
        ("export", cohort),
        ("export", f"{cohort} jsonl"),
        ("broadcast", f"{cohort} hi"),
        ("nudge", cohort),
        ("newcohort", None),
        ("digest", "08:00"),
        ("linkgroup", cohort),
        ("invitefacilitator", cohort),
    ]
    for person in (ana, stranger):
        for command, payload in commands:
            reply = await ask(harness, person, command, payload)
            assert (reply.text, reply.reply_markup, reply.document) == (UNKNOWN, None, None), (
                person.id,
                command,
            )
    assert (await ask(harness, stranger, "definitelynotacommand")).text == UNKNOWN
    last = harness.inbox(ana.id)[-1]
    query = await press(harness, ana, last, f"fac:pick:report:{cohort}")
    await harness.wait_for(lambda: harness.emulator.callback_answer(query) is not None)
    assert harness.emulator.callback_answer(query)["text"] is None  # answered, saying nothing
    await asyncio.sleep(0.3)
    assert harness.inbox(ana.id)[-1] is last  # no reply for a forged button either
    reply = await ask(harness, stranger, "start", "fac-notarealcode")
    assert reply.text == text("join_unknown_code")
    assert await audit_rows(harness) == []
    async with harness.runtime.sessions() as session:
        assert (await session.exec(select(FacilitatorProfile))).all() == []


async def _documents(harness: Harness, user_id: int, before: int, count: int) -> list[Any]:
    return await harness.wait_for(
        lambda: (
            (docs := [m for m in harness.inbox(user_id)[before:] if m.document])
            and len(docs) >= count
            and docs
        )
    )


async def test_report_chart_and_export_show_the_same_numbers(harness: Harness) -> None:
    known = await seed(harness)
    cid = str(known.cohort_id)
    admin = harness.user(ADMIN, "Alex")
    report_message = await ask(harness, admin, "report", cid)
    chat = report_message.text
    async with harness.runtime.sessions() as session:
        expected = await build_report(
            session=session,
            cohort_id=known.cohort_id,
            now=harness.runtime.now(),
            clock=harness.runtime.program_clock,
            at_risk_days=harness.settings.at_risk_days,
        )
    days = re.findall(r"Day (\d+) \([^)]*\): (\d+) of (\d+) answered · (\S+)", chat)
    assert days[-3:] == [
        (str(d.day), str(d.answered), str(d.delivered), percent(d.rate)) for d in expected.days
    ]
    assert [(a, b, r) for _, a, b, r in days[-3:]] == [
        ("4", "8", "50%"),
        ("1", "7", "14%"),
        ("2", "5", "40%"),
    ]
    assert "9 enrolled: 4 active, 1 paused, 2 withdrawn, 1 blocked, 1 completed" in chat
    assert "How are you today?: 4 of 8 · 50% · average 2.3" in chat
    slipping = chat.split("Slipping")[1]
    assert "Cara · 3 days without an answer" in slipping and "Ben" not in slipping

    result = await asyncio.to_thread(
        cli, "report", cid, "--json", database_url=harness.settings.database_url
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert [(d["answered"], d["delivered"]) for d in data["days"]] == [(4, 8), (1, 7), (2, 5)]
    assert [percent(d["response_rate"]) for d in data["days"]] == ["50%", "14%", "40%"]
    assert [p["name"] for p in data["at_risk"]] == ["Cara"]

    before = len(harness.inbox(admin.id))
    admin.send_command("export", cid)
    admin.send_command("chart", cid)
    (export,) = await _documents(harness, admin.id, before, 1)
    chart = await harness.wait_for(
        lambda: next((m for m in harness.inbox(admin.id)[before:] if m.photo), None)
    )
    assert export.document.name == f"cohort{cid}-answers.csv"
    from_csv = csv_numbers(export.document.data.decode("utf-8"))
    assert from_csv["rows"] == len(ANSWERS)
    assert from_csv["answered"] == {d["day"]: d["answered"] for d in data["days"]}
    assert from_csv["prompt_answered"] == {p["prompt_id"]: p["answered"] for p in data["prompts"]}
    assert from_csv["averages"] == {
        p["prompt_id"]: pytest.approx(p["average"]) for p in data["prompts"] if p["average"]
    }
    assert "8 of" not in export.caption and "12 answers" in export.caption
    png = chart.photo  # shown in the chat as a picture, not a file to open
    assert png.startswith(PNG_SIGNATURE) and len(png) > 10_000
    assert chart.caption and chart.caption.startswith("Known cohort:")

    admin.send_command("export", f"{cid} jsonl")
    (jsonl,) = (await _documents(harness, admin.id, before, 2))[1:]
    assert len(jsonl.document.data.decode().splitlines()) == len(ANSWERS)

    actions = [(r.action, r.cohort_id, r.actor_telegram_id) for r in await audit_rows(harness)]
    assert actions == [
        ("report", known.cohort_id, ADMIN),
        ("report", known.cohort_id, None),  # the command line
        ("export", known.cohort_id, ADMIN),
        ("chart", known.cohort_id, ADMIN),
        ("export", known.cohort_id, ADMIN),
    ]


async def test_answers_are_paged_by_question_and_long_days_come_as_a_file(
    harness: Harness,
) -> None:
    known = await seed(harness)
    cid = known.cohort_id
    async with unit_of_work(harness.runtime.sessions) as session:
        from bot.db.models import Response

        extra = [(2, n) for n in range(14)] + [(3, n) for n in range(55)]
        for day, n in extra:
            session.add(
                Response(
                    dedupe_key=f"extra:{day}:{n}",
                    participant_id=known.ids["Ana"],
                    cohort_id=cid,
                    curriculum_version_id=1,
                    day=day,
                    prompt_id="d2-choice" if day == 2 else "d3-reflect",
                    answer_type="text",
                    text=f"extra answer {day}.{n} <b>not bold</b>",
                )
            )
    admin = harness.user(ADMIN, "Alex")
    day1 = await ask(harness, admin, "answers", f"{cid} 1")
    assert "day 1" in day1.text and "7 answers" in day1.text and "page" not in day1.text
    lines = day1.text.splitlines()
    mood, reflect = lines.index("How are you today?"), lines.index("Which strength did you notice?")
    assert mood < reflect
    assert '• Ana: Ich war geduldig – ünïcödé 😊, "quoted", comma' in lines[reflect:]
    assert "• Dan: 5" in lines[mood:reflect] and "• Dan: 1" in lines[mood:reflect]
    assert "• participant deleted their data: participant deleted their data" in lines
    assert [label for row in day1.buttons for label, _ in row] == ["Day 2 ›"]

    admin.press_button(day1, "Day 2 ›")
    page1 = await harness.wait_for(lambda: "page 1 of 2" in (day1.text or "") and day1)
    assert "16 answers" in page1.text and "<b>not bold</b>" in page1.text
    admin.press_button(day1, "More ›")
    await harness.wait_for(lambda: "page 2 of 2" in (day1.text or ""))
    assert [label for row in day1.buttons for label, _ in row] == ["‹ Back", "‹ Day 1", "Day 3 ›"]

    before = len(harness.inbox(admin.id))
    admin.press_button(day1, "Day 3 ›")
    (file,) = await _documents(harness, admin.id, before, 1)
    assert "58 answers" in file.caption
    assert file.document.data.decode("utf-8").count("extra answer 3.") == 55
    details = [r.detail for r in await audit_rows(harness) if r.action == "answers"]
    assert details == ["day 1 page 1", "day 2 page 1", "day 2 page 2", "day 3 file (58 answers)"]


async def test_broadcast_and_nudge_go_through_the_outbox_after_a_confirmation(
    harness: Harness,
) -> None:
    known = await seed(harness)
    cid = str(known.cohort_id)
    for person in PEOPLE:  # they have started the bot before
        harness.emulator.world.private_chat(harness.user(known.user_ids[person], person).id)
    admin = harness.user(ADMIN, "Alex")
    preview = await ask(harness, admin, "broadcast", f"{cid} No session on Friday <3\nTake care")
    assert "4 active participants" in preview.text
    assert "No session on Friday <3\nTake care" in preview.text
    assert harness.inbox(known.user_ids["Ana"]) == []
    send = preview.buttons[0][0][1]
    admin.press_button(preview, "Send")
    await harness.wait_for_text(admin.id, "Sent to 4 participants")
    for person in ("Ana", "Ben", "Cara", "Gus"):
        message = await harness.wait_for_text(known.user_ids[person], "No session on Friday")
        assert message.text.startswith("A message from your facilitator")
    for person in ("Dan", "Eve", "Finn", "Hana", "Ivy", "Jo"):
        assert harness.inbox(known.user_ids[person]) == []
    await press(harness, admin, preview, send)  # a second tap sends nothing more
    await harness.wait_for_text(admin.id, "This has expired")

    check = await ask(harness, admin, "nudge", cid)
    assert "goes to 1 person" in check.text and "Cara" in check.text and "Ben" not in check.text
    admin.press_button(check, "Send")
    await harness.wait_for_text(admin.id, "Check-in sent to 1.")
    await harness.wait_for_text(known.user_ids["Cara"], "Hi Cara, just checking in")
    again = await ask(harness, admin, "nudge", cid)
    admin.press_button(again, "Send")
    await harness.wait_for_text(admin.id, "Check-in sent to 0; 1 already got one today.")
    cancelled = await ask(harness, admin, "nudge", cid)
    admin.press_button(cancelled, "Cancel")
    await harness.wait_for_text(admin.id, "Cancelled. Nothing was sent.")
    async with harness.runtime.sessions() as session:
        kinds = [d.kind for d in (await session.exec(select(Delivery))).all()]
    assert (kinds.count("broadcast"), kinds.count("nudge")) == (4, 1)
    actions = [r.action for r in await audit_rows(harness)]
    assert actions.count("broadcast") == 1 and actions.count("nudge") == 2


async def test_newcohort_invites_and_digest(harness: Harness) -> None:
    admin = harness.user(ADMIN, "Alex")
    start = await ask(harness, admin, "newcohort")
    admin.press_button(start, "Mini Resilience")
    await harness.wait_for_text(admin.id, "What should the cohort be called?")
    admin.send_text("Tuesday circle")
    when = await harness.wait_for_text(admin.id, "When does day 1 start?")
    admin.send_text("not a date")
    await harness.wait_for_text(admin.id, "Please type a date like")
    admin.send_text("2030-01-07")
    await harness.wait_for_text(admin.id, "Which time zone")
    admin.send_text("Berlin")
    await harness.wait_for_text(admin.id, "I don't know “Berlin”")
    zones = await harness.wait_for(
        lambda: next(
            (m for m in harness.inbox(admin.id) if "Europe/Berlin" in str(m.reply_markup)), None
        )
    )
    admin.press_button(zones, "Europe/Berlin")
    times = await harness.wait_for_text(admin.id, "At what time should lessons arrive")
    assert [label for row in times.buttons for label, _ in row][:6] == [
        "07:00",
        "08:00",
        "09:00",
        "12:00",
        "18:00",
        "20:00",
    ]
    admin.press_button(times, "18:00")
    done = await harness.wait_for_text(admin.id, "Share this invite link")
    assert when.buttons and "Tuesday circle" in done.text
    async with harness.runtime.sessions() as session:
        (cohort,) = (await session.exec(select(Cohort))).all()
    assert (cohort.name, cohort.timezone, str(cohort.start_date), str(cohort.delivery_time)) == (
        "Tuesday circle",
        "Europe/Berlin",
        "2030-01-07",
        "18:00:00",
    )
    assert f"https://t.me/resilience_test_bot?start={cohort.invite_code}" in done.text
    admin.send_text("just a message afterwards")  # the conversation is over: not a cohort name
    await harness.wait_for_text(admin.id, "You're not in a program right now")

    invite = await ask(harness, admin, "invitefacilitator", str(cohort.id))
    code = re.search(r"start=(fac-\S+)", invite.text).group(1)
    kim = harness.user(9200, "Kim")
    assert "You now facilitate Tuesday circle" in (await ask(harness, kim, "start", code)).text
    assert "Tuesday circle" in (await ask(harness, kim, "cohorts")).text
    await harness.wait_for(lambda: "chat:9200" in harness.emulator.commands)
    menu = [c["command"] for c in harness.emulator.commands["chat:9200"]]
    assert "report" in menu and "today" in menu
    lee = harness.user(9300, "Lee")
    assert (await ask(harness, lee, "start", code)).text == text("join_unknown_code")
    assert (await ask(harness, lee, "cohorts")).text == UNKNOWN

    on = await ask(harness, kim, "digest", "7:30")
    assert "07:30 (Europe/Berlin)" in on.text  # her cohort's time zone
    assert "off" in (await ask(harness, kim, "digest", "off")).text
    async with harness.runtime.sessions() as session:
        profile = await session.get(FacilitatorProfile, 9200)
    assert (profile.digest_time, profile.digest_timezone, profile.chat_id) == (
        None,
        "Europe/Berlin",
        9200,
    )
    actions = [(r.action, r.actor_telegram_id) for r in await audit_rows(harness)]
    assert actions == [
        ("cohort-created", ADMIN),
        ("facilitator-invite", ADMIN),
        ("facilitator-added", 9200),
    ]


@pytest.mark.parametrize("emulator_rate_limits", [True])
@pytest.mark.parametrize(
    "settings_overrides",
    [{"facilitator_ids": frozenset({ADMIN}), "send_rate_per_second": 30, "day_length_seconds": 60}],
)
async def test_group_gets_each_days_theme_once_also_after_becoming_a_supergroup(
    harness: Harness,
) -> None:
    cohort = await harness.create_cohort(name="Circle cohort")  # day 1 now
    admin = harness.user(ADMIN, "Alex")
    group = harness.emulator.group(-500, "Circle")
    group.add_bot(admin)
    group.post(admin, f"/linkgroup@resilience_test_bot {cohort.id}")
    await harness.wait_for(
        lambda: any("now linked" in (m.text or "") for m in harness.emulator.bot_messages(-500))
    )
    await harness.wait_for(
        lambda: any("Day 1 of 3" in (m.text or "") for m in harness.emulator.bot_messages(-500))
    )
    new_id = group.upgrade_to_supergroup(admin)
    harness.advance(60)  # day 2: its post follows the group to its new id
    await harness.wait_for(
        lambda: any("Day 2 of 3" in (m.text or "") for m in harness.emulator.bot_messages(new_id)),
        timeout=10,
    )

    async def linked_chat() -> int | None:
        async with harness.runtime.sessions() as session:
            return (await session.get(Cohort, cohort.id)).group_chat_id

    # The sender followed the migration and moved the cohort's link to the supergroup.
    await harness.wait_for(lambda: _is(linked_chat(), new_id))
    posts = [
        m.text.splitlines()[0]
        for chat in (-500, new_id)
        for m in harness.emulator.bot_messages(chat)
        if m.text and m.text.startswith("Day ")
    ]
    assert posts == ["Day 1 of 3 · Strengths", "Day 2 of 3 · Coping"]
    assert [r.action for r in await audit_rows(harness)] == ["linkgroup"]


async def _is(value: Any, expected: Any) -> bool:
    return await value == expected
