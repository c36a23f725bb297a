"""/mydata and /delete at the service level: everything about a person, and then nothing.

`leftovers` scans every text and JSON column of every table, as the database holds it, for a
person's words and name; the end-to-end test uses it too.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, String, Text, text
from sqlmodel import SQLModel, select

import bot.db.models  # noqa: F401  (every table)
from bot.db.models import (
    AuditLog,
    Delivery,
    DeliveryState,
    InboxUpdate,
    Participant,
    ParticipantStatus,
    Response,
    SafetyAlert,
)
from bot.db.session import unit_of_work
from bot.inbox import store_updates
from bot.services import answers, data_rights
from bot.services.alerts import SafetyChecker, check_text
from bot.services.outbox import OutgoingMessage, enqueue
from tests.conftest import CURRICULA
from tests.test_alerts import REAL, enrol, make_cohort

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
FIRST, LAST = "Zephyrine", "Quolbeck"
WORDS = [
    "my secret garden of tulips",
    "a first draft about lilacs",
    "photo of the quiet lake",
    "I want to end my life, honestly",
]
BEN_WORDS = "mountains make me calm"


async def leftovers(sessions: Any, needles: list[str]) -> list[tuple[str, str, str]]:
    """(table, column, value) of every stored text or JSON value that holds one of `needles`
    (case-insensitive; JSON also as escaped in JSON), and of every document that does."""
    found = []
    forms = {n.lower() for n in needles} | {json.dumps(n)[1:-1].lower() for n in needles}
    async with sessions() as session:
        for table in SQLModel.metadata.sorted_tables:
            columns = [
                c.name for c in table.columns if isinstance(c.type, String | Text | JSON)
            ] + [c.name for c in table.columns if type(c.type).__name__ == "EncryptedText"]
            if not columns:
                continue
            query = f"SELECT {', '.join(columns)} FROM {table.name}"
            for row in (await session.exec(text(query))).all():  # type: ignore[call-overload]
                for column, value in zip(columns, row, strict=True):
                    if value is None:
                        continue
                    raw = value if isinstance(value, str) else json.dumps(value)
                    if column == "document" and "content_b64" in raw:
                        document = json.loads(raw) if isinstance(value, str) else value
                        raw += base64.b64decode(document["content_b64"]).decode("utf-8", "replace")
                    if any(form in raw.lower() for form in forms):
                        found.append((table.name, column, raw[:200]))
    return found


async def build_world(sessions: Any) -> dict[str, Any]:
    """Ana and Ben in Spring (facilitator 501), Cara in Autumn (503); Ana leaves traces
    everywhere: answers, an edit, a caption, an alert, quotes in the outbox, raw updates."""
    checker = SafetyChecker.load(safety_file=None, curricula_dir=CURRICULA)
    async with unit_of_work(sessions) as session:
        spring = await make_cohort(session, facilitators=(501,))
        autumn = await make_cohort(session, name="Autumn", facilitators=(503,))
        ana = await enrol(session, spring, 1001, f"{FIRST} {LAST}")
        ben = await enrol(session, spring, 1002, "Bartholomew")
        cara = await enrol(session, autumn, 1003, "Cassiopeia")
        await answers.record_button_answer(
            session=session,
            clock=REAL,
            enrollment=ana,
            day=1,
            prompt_index=0,
            value_index=2,
            message_id=None,
            now=NOW,
        )
        for enrollment, message_id, words in ((ana, 11, WORDS[1]), (ben, 21, BEN_WORDS)):
            await answers._store_note(  # a message that answers no open question
                session,
                enrollment,
                f"m:{enrollment.participant.chat_id}:{message_id}",
                11,
                words,
                (1, "d1-reflect"),
                NOW,
            )
        await answers.record_edit(
            session=session, chat_id=1001, message_id=11, text=WORDS[0], now=NOW
        )
        await answers.record_media(
            session=session,
            enrollment=ana,
            chat_id=1001,
            message_id=12,
            media_type="photo",
            file_id="AgAD-photo-file-id",
            caption=WORDS[2],
            now=NOW,
        )
        for enrollment, words in ((ana, WORDS[3]), (cara, "Cassiopeia wants to end my life")):
            await check_text(
                session=session,
                checker=checker,
                enrollment=enrollment,
                telegram_user_id=None,
                message=words,
                language="en",
                now=NOW,
                admin_ids=(),
            )
        export = await data_rights.export_person(session=session, telegram_user_id=1001, now=NOW)
        assert export is not None
        await enqueue(
            session=session,
            messages=[
                OutgoingMessage(
                    chat_id=1001,
                    text=f"Hello, {FIRST}! Welcome.",
                    kind="reply",
                    item="r1",
                    scope="u1",
                    due_at=NOW,
                ),
                OutgoingMessage(
                    chat_id=1001,
                    text="Here is your data",
                    kind="mydata",
                    item="r1",
                    scope="u2",
                    due_at=NOW,
                    document=data_rights.export_document(export),
                ),
                OutgoingMessage(
                    chat_id=501,
                    text=f"<b>{FIRST} {LAST}</b>: {WORDS[0]}",
                    kind="reply",
                    item="r1",
                    scope="u3",
                    due_at=NOW,
                    cohort_id=spring.id,
                ),
                OutgoingMessage(
                    chat_id=503,
                    text="Cassiopeia: the report for Autumn",
                    kind="reply",
                    item="r1",
                    scope="u4",
                    due_at=NOW,
                    cohort_id=autumn.id,
                ),
                OutgoingMessage(
                    chat_id=1002,
                    text="Hello, Bartholomew!",
                    kind="reply",
                    item="r1",
                    scope="u5",
                    due_at=NOW,
                ),
            ],
        )
        await session.exec(
            text("UPDATE deliveries SET state = 'sent', telegram_message_id = 5")  # type: ignore[call-overload]
        )
        session.add(AuditLog(actor_telegram_id=501, action="answers", detail=f"read {LAST}"))
        session.add(AuditLog(actor_telegram_id=503, action="answers", detail="read Cassiopeia"))
        user = {"id": 1001, "is_bot": False, "first_name": FIRST, "last_name": LAST}
        fac = {"id": 501, "is_bot": False, "first_name": "Fay"}
        chat = {"id": 1001, "type": "private", "first_name": FIRST}
        await store_updates(
            session=session,
            now=NOW,
            updates=[
                {
                    "update_id": 1,
                    "message": {
                        "message_id": 11,
                        "date": 1,
                        "chat": chat,
                        "from": user,
                        "text": WORDS[1],
                    },
                },
                {
                    "update_id": 2,
                    "edited_message": {
                        "message_id": 11,
                        "date": 1,
                        "chat": chat,
                        "from": user,
                        "text": WORDS[0],
                    },
                },
                {
                    "update_id": 3,
                    "message": {
                        "message_id": 12,
                        "date": 1,
                        "chat": chat,
                        "from": user,
                        "caption": WORDS[2],
                        "photo": [{"file_id": "AgAD-photo-file-id"}],
                    },
                },
                {
                    "update_id": 4,
                    "callback_query": {
                        "id": "q",
                        "from": fac,
                        "data": "alert:1:ack",
                        "chat_instance": "c",
                        "message": {
                            "message_id": 3,
                            "date": 1,
                            "chat": {"id": 501, "type": "private"},
                            "text": f"Safety alert\n{FIRST} {LAST} wrote:\n{WORDS[3]}",
                        },
                    },
                },
                {
                    "update_id": 5,
                    "message": {
                        "message_id": 21,
                        "date": 1,
                        "chat": {"id": 1002, "type": "private"},
                        "from": {"id": 1002, "first_name": "Bartholomew"},
                        "text": BEN_WORDS,
                    },
                },
            ],
        )
    return {"spring": spring, "autumn": autumn, "ana": ana, "ben": ben, "cara": cara}


async def test_mydata_has_profile_consent_answers_and_alerts(sessions: Any) -> None:
    await build_world(sessions)
    async with sessions() as session:
        data = await data_rights.export_person(session=session, telegram_user_id=1001, now=NOW)
        nobody = await data_rights.export_person(session=session, telegram_user_id=4242, now=NOW)
    assert nobody is None
    assert data is not None and data["telegram_user_id"] == 1001
    (enrollment,) = data["enrollments"]
    assert enrollment["cohort"]["name"] == "Spring"
    assert enrollment["profile"]["display_name"] == f"{FIRST} {LAST}"
    assert enrollment["consent"]["version"] == "mini-1"
    assert "facilitator reads your answers" in enrollment["consent"]["text"]
    by_prompt = {(a["prompt_id"], a["type"]): a for a in enrollment["answers"]}
    assert by_prompt[("d1-mood", "scale")]["value"] == "2"
    assert by_prompt[("d1-mood", "scale")]["prompt"] == "How are you today?"
    note = by_prompt[("d1-reflect", "note")]
    assert (note["text"], note["previous_text"]) == (WORDS[0], WORDS[1])
    photo = next(a for a in enrollment["answers"] if a["type"] == "photo")
    assert (photo["text"], photo["file_id"]) == (WORDS[2], "AgAD-photo-file-id")
    assert [a["message_text"] for a in enrollment["safety_alerts"]] == [WORDS[3]]
    document = data_rights.export_document(data)
    assert document["filename"] == "my-data.json"
    assert json.loads(base64.b64decode(document["content_b64"])) == data


async def test_delete_leaves_no_trace_of_words_or_name_but_keeps_tallies(sessions: Any) -> None:
    world = await build_world(sessions)
    assert await leftovers(sessions, [FIRST, LAST, *WORDS])  # the scan does find them
    async with sessions() as session:
        before = (await session.exec(select(Response.participant_id, Response.answer_type))).all()

    async with unit_of_work(sessions) as session:
        summary = await data_rights.erase_person(session=session, telegram_user_id=1001, now=NOW)
    assert summary is not None
    assert (summary.participants, summary.answers, summary.alerts, summary.names) == (1, 3, 1, 1)
    assert summary.deliveries == 4 and summary.inbox_updates == 4 and summary.audit_entries == 1

    assert await leftovers(sessions, [FIRST, LAST, *WORDS, "AgAD-photo-file-id"]) == []
    ana_id = world["ana"].participant.id
    async with sessions() as session:
        after = (await session.exec(select(Response.participant_id, Response.answer_type))).all()
        ana = await session.get(Participant, ana_id)
        rows = (await session.exec(select(Response).where(Response.participant_id == ana_id))).all()
        alert = (
            await session.exec(select(SafetyAlert).where(SafetyAlert.participant_id == ana_id))
        ).one()
        ben_words = (
            await session.exec(select(Response.text).where(Response.participant_id != ana_id))
        ).all()
        names = (await session.exec(select(Participant.display_name))).all()
        cara_alert = (
            await session.exec(select(SafetyAlert.message_text).where(SafetyAlert.id != alert.id))
        ).all()
        kept = (await session.exec(select(Delivery.text).where(Delivery.chat_id != 1001))).all()
        updates = {u.update_id: u.payload for u in (await session.exec(select(InboxUpdate))).all()}
        audit = (await session.exec(select(AuditLog.detail))).all()
    assert sorted(before) == sorted(after)  # anonymous tallies: every row is still there
    assert all(r.text is r.value is r.file_id is r.previous_text is None for r in rows)
    assert {(r.day, r.prompt_id, r.answer_type) for r in rows} == {
        (1, "d1-mood", "scale"),
        (1, "d1-reflect", "note"),
        (0, "unprompted", "photo"),
    }
    assert ana is not None and ana.display_name is None and ana.data_deleted_at == NOW
    assert ana.status == ParticipantStatus.WITHDRAWN and ana.telegram_user_id < 0
    assert alert.message_text is None and alert.category == "self_harm"
    # Everyone else is untouched.
    assert ben_words == [BEN_WORDS] and cara_alert == ["Cassiopeia wants to end my life"]
    assert {"Bartholomew", "Cassiopeia"} <= set(names)
    assert "Hello, Bartholomew!" in kept and "Cassiopeia: the report for Autumn" in kept
    assert updates[5]["message"]["text"] == BEN_WORDS
    assert updates[1] == {"update_id": 1, "erased": True}
    assert updates[4]["callback_query"]["data"] == "alert:1:ack"  # only the quote went
    assert "read Cassiopeia" in audit


async def test_delete_twice_or_for_a_stranger_finds_nothing_and_rejoining_works(
    sessions: Any,
) -> None:
    world = await build_world(sessions)
    async with unit_of_work(sessions) as session:
        assert await data_rights.erase_person(session=session, telegram_user_id=1001, now=NOW)
    async with unit_of_work(sessions) as session:
        assert (
            await data_rights.erase_person(session=session, telegram_user_id=1001, now=NOW) is None
        )
        assert (
            await data_rights.erase_person(session=session, telegram_user_id=4242, now=NOW) is None
        )
        assert not await data_rights.has_data(session=session, telegram_user_id=1001)
        assert (
            await data_rights.export_person(session=session, telegram_user_id=1001, now=NOW) is None
        )
        again = await enrol(session, world["spring"], 1001, "Zed")
        assert again.participant.id != world["ana"].participant.id
        assert again.participant.data_deleted_at is None


async def test_pending_messages_quoting_them_keep_the_rest(sessions: Any) -> None:
    world = await build_world(sessions)
    async with unit_of_work(sessions) as session:
        await enqueue(
            session=session,
            messages=[
                OutgoingMessage(
                    chat_id=501,
                    text=f"Check-in list: {FIRST}, Bartholomew",
                    kind="reply",
                    item="r1",
                    scope="u9",
                    due_at=NOW,
                    cohort_id=world["spring"].id,
                ),
            ],
        )
        await data_rights.erase_person(session=session, telegram_user_id=1001, now=NOW)
    async with sessions() as session:
        row = (await session.exec(select(Delivery).where(Delivery.dedupe_key == "u9:r1"))).one()
    assert (
        row.state == DeliveryState.PENDING and row.text == "Check-in list: [deleted], Bartholomew"
    )


async def test_dry_run_changes_nothing(sessions: Any) -> None:
    world = await build_world(sessions)
    async with unit_of_work(sessions) as session:
        summary = await data_rights.erase_participants(
            session=session,
            participants=[world["ana"].participant],
            inbox=[data_rights.InboxScope(1001)],
            now=NOW,
            deleted_by_person=False,
            apply=False,
        )
    assert summary.answers == 3 and summary.inbox_updates == 4
    assert len(await leftovers(sessions, [FIRST])) > 5


def test_needles_match_names_as_words_and_texts_by_their_start() -> None:
    needles = data_rights.Needles()
    needles.add_name("Ana María")
    needles.add_text("x" * 100)
    needles.add_text("ok")  # too short to identify anyone
    assert needles.found_in("Hi ana!") and needles.found_in("María's answer")
    assert not needles.found_in("Banana bread") and not needles.found_in("ok")
    assert needles.found_in("quoted: " + "x" * 40 + "…")
    assert needles.redact("Ana said hi") == "[deleted] said hi"
    assert needles.found_in_bytes(json.dumps({"n": "Ana María"}).encode())
