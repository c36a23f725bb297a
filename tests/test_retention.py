"""Retention: `retention_days` after a cohort ends its answers are erased, and nothing else."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import select

from bot.curriculum.loader import LoadedProgram, parse_program
from bot.db.models import Cohort, InboxUpdate, Participant, Response, SafetyAlert
from bot.db.session import unit_of_work
from bot.inbox import store_updates
from bot.services import answers, participants, retention
from bot.services.alerts import SafetyChecker, check_text
from bot.services.catalog import ensure_version
from bot.services.clock import ProgramClock
from bot.services.cohorts import create_cohort
from bot.services.outbox import OutgoingMessage, enqueue
from tests.conftest import CURRICULA
from tests.e2e.conftest import MINI_PROGRAM
from tests.test_cli import cli
from tests.test_data_rights import leftovers

REAL = ProgramClock()
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
MINI = LoadedProgram(path=Path("mini.yaml"), program=parse_program(MINI_PROGRAM, "mini.yaml"))

# name, start date, closed on, retention days, person (user id, name), their words
COHORTS = {
    "old": (date(2026, 1, 5), None, 180, (2001, "Oona"), "old cohort words alpha"),
    "closed": (date(2026, 11, 1), date(2026, 2, 1), 180, (2002, "Cleo"), "closed words gamma"),
    "short": (date(2026, 11, 1), None, 10, (2003, "Sven"), "short retention delta"),
    "recent": (date(2026, 11, 1), None, 180, (2004, "Rhea"), "recent cohort words beta"),
    "edge": (date(2026, 6, 1), None, 180, (2005, "Edda"), "edge of retention epsilon"),
}
DUE = ["old", "closed", "short"]  # on 2026-11-30 08:00
DUE_AT_NOW = ["old", "closed", "short", "edge"]  # "edge" is due on 2026-11-30 09:00


def _at(day: date, hour: int = 9) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


async def build(sessions: Any, shift: timedelta = timedelta()) -> dict[str, Any]:
    """Five cohorts; each participant wrote something, raised an alert, left raw updates and
    was quoted to the facilitator. Pia was in "old", then joined "recent". Every date is moved
    by `shift` (whole days), for a command that reads the real clock."""
    checker = SafetyChecker.load(safety_file=None, curricula_dir=CURRICULA)
    made: dict[str, Any] = {}
    async with unit_of_work(sessions) as session:
        version = await ensure_version(session=session, loaded=MINI)
        for key, (start, closed, days, (uid, name), words) in COHORTS.items():
            start, closed = start + shift, closed + shift if closed else None
            joined = _at(start, 8)
            cohort = await create_cohort(
                session=session,
                version=version,
                name=key,
                start=start,
                timezone="UTC",
                delivery_time=time(9),
                now=joined,
            )
            cohort.retention_days = days
            cohort.closed_at = _at(closed) if closed else None
            session.add(cohort)
            people = [(uid, name, words)]
            if key in ("old", "recent"):
                people.append((2100, "Pia", f"Pia in {key} zeta"))
            for person_id, person, text in people:
                joined_at = joined if key == "old" or person_id != 2100 else _at(start, 7)
                outcome = await participants.begin_join(
                    session=session,
                    clock=REAL,
                    telegram_user_id=person_id,
                    chat_id=person_id,
                    display_name=person,
                    language="en",
                    code=cohort.invite_code,
                    now=joined_at,
                )
                enrollment = outcome.enrollment
                assert enrollment is not None, (key, person, outcome.result)
                await participants.answer_consent(
                    session=session, clock=REAL, enrollment=enrollment, accept=True, now=joined_at
                )
                await session.flush()
                await answers._store_note(
                    session,
                    enrollment,
                    f"m:{person_id}:{key}",
                    1,
                    text,
                    (1, "d1-reflect"),
                    joined_at,
                )
                await check_text(
                    session=session,
                    checker=checker,
                    enrollment=enrollment,
                    telegram_user_id=person_id,
                    message=f"{text}: I want to end my life",
                    language="en",
                    now=joined_at,
                    admin_ids={900},
                )
                await store_updates(
                    session=session,
                    now=joined_at + timedelta(hours=1),
                    updates=[
                        {
                            "update_id": person_id * 10 + len(made),
                            "message": {
                                "message_id": 1,
                                "date": 1,
                                "chat": {"id": person_id, "type": "private"},
                                "from": {"id": person_id, "first_name": person},
                                "text": text,
                            },
                        }
                    ],
                )
                await enqueue(
                    session=session,
                    messages=[
                        OutgoingMessage(
                            chat_id=900,
                            text=f"{person}: {text}",
                            kind="reply",
                            item="r1",
                            scope=f"q{person_id}{key}",
                            due_at=joined_at,
                            cohort_id=cohort.id,
                        )
                    ],
                )
                if person_id == 2100 and key == "old":
                    # Pia finishes "old" and leaves so she can join "recent" later.
                    enrollment.participant.status = "completed"
                    session.add(enrollment.participant)
                    await session.flush()
            made[key] = cohort
    return made


def _purge_at(key: str, shift: timedelta = timedelta()) -> datetime:
    start, closed, days, _, _ = COHORTS[key]
    ended = _at(closed) if closed else _at(start + timedelta(days=2))
    return ended + timedelta(days=days) + shift


def _words(keys: list[str]) -> list[str]:
    return [COHORTS[k][4] for k in keys] + [COHORTS[k][3][1] for k in keys]


async def test_purge_at_is_end_plus_retention(sessions: Any) -> None:
    made = await build(sessions)
    async with sessions() as session:
        rows = {c.name: c for c in (await session.exec(select(Cohort))).all()}
        versions = await retention.due_cohorts(session=session, clock=REAL, now=NOW)
    version = versions[0][1]
    old = rows["old"]
    assert retention.cohort_ends_at(cohort=old, version=version, clock=REAL) == _at(
        date(2026, 1, 7)
    )  # day 3 of 3
    assert retention.purge_at(cohort=old, version=version, clock=REAL) == _at(
        date(2026, 1, 7)
    ) + timedelta(days=180)
    closed = rows["closed"]
    assert retention.cohort_ends_at(cohort=closed, version=version, clock=REAL) == _at(
        date(2026, 2, 1)
    )
    preview = ProgramClock(day_length_seconds=60)
    assert retention.purge_at(cohort=old, version=version, clock=preview) == old.start_at + (
        timedelta(seconds=2 * 60 + 180 * 60)
    )
    assert set(made) == set(COHORTS)


async def test_purge_erases_exactly_the_cohorts_past_retention(sessions: Any) -> None:
    await build(sessions)
    before = await _snapshot(sessions)
    # "edge" ends 2026-06-03 09:00 and is due 180 days later, 2026-11-30 09:00.
    async with unit_of_work(sessions) as session:
        dry = await retention.purge_due(
            session=session, clock=REAL, now=_at(date(2026, 11, 30), 8), dry_run=True
        )
    assert [item.name for item in dry] == DUE
    assert (dry[0].participants, dry[0].answers, dry[0].alerts, dry[0].names) == (2, 2, 2, 2)
    assert await _snapshot(sessions) == before  # a dry run changes nothing

    async with unit_of_work(sessions) as session:
        done = await retention.purge_due(session=session, clock=REAL, now=NOW)
    assert [item.name for item in done] == DUE_AT_NOW
    assert done[0].inbox_updates == 2
    assert done[0].deliveries == 4  # two alerts to the administrator, two quotes

    assert await leftovers(sessions, [*_words(DUE_AT_NOW), "Pia in old zeta"]) == []
    kept = await leftovers(sessions, [*_words(["recent"]), "Pia in recent zeta"])
    assert {table for table, _, _ in kept} == {
        "participants",
        "responses",
        "safety_alerts",
        "inbox_updates",
        "deliveries",
    }
    after = await _snapshot(sessions)
    assert after["recent"] == before["recent"]
    for key in DUE_AT_NOW:
        assert after[key]["answers"] == [None] * len(before[key]["answers"])
        assert after[key]["purged"] is not None
    # Pia is still in "recent": her name and her raw messages from then are kept.
    assert "Pia" in after["recent"]["names"]
    async with sessions() as session:
        payloads = [u.payload for u in (await session.exec(select(InboxUpdate))).all()]
    assert any((p.get("message") or {}).get("text") == "Pia in recent zeta" for p in payloads)

    async with unit_of_work(sessions) as session:
        assert await retention.purge_due(session=session, clock=REAL, now=NOW) == []


async def _snapshot(sessions: Any) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = {}
    async with sessions() as session:
        for cohort in (await session.exec(select(Cohort))).all():
            people = (
                await session.exec(select(Participant).where(Participant.cohort_id == cohort.id))
            ).all()
            texts = (
                await session.exec(
                    select(Response.text)
                    .where(Response.cohort_id == cohort.id)
                    .order_by(Response.id)
                )
            ).all()
            alerts = (
                await session.exec(
                    select(SafetyAlert.message_text).where(SafetyAlert.cohort_id == cohort.id)
                )
            ).all()
            result[cohort.name] = {
                "answers": list(texts),
                "alerts": list(alerts),
                "names": sorted(p.display_name or "" for p in people),
                "purged": cohort.purged_at,
            }
    return result


def test_cli_purge_dry_run_then_purge(database_url: str, tmp_path: Path) -> None:
    import asyncio

    from bot.db.session import create_engine, create_session_factory

    # The command reads the real clock: the cohorts are moved so that today is NOW's date.
    shift = timedelta(days=(datetime.now(UTC).date() - NOW.date()).days)

    async def setup() -> None:
        engine = create_engine(database_url)
        await build(create_session_factory(engine), shift)
        await engine.dispose()

    asyncio.run(setup())
    env = {"DATABASE_URL": database_url}
    dry = cli("purge", "--dry-run", env=env, cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    assert "Cohort 1 (old)" in dry.stdout and "would be erased: 2 answers" in dry.stdout
    assert "recent" not in dry.stdout
    done = cli("purge", "--json", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["dry_run"] is False
    now = datetime.now(UTC)  # the command uses the real clock
    expected = [k for k in COHORTS if _purge_at(k, shift) <= now]
    assert [c["name"] for c in data["cohorts"]] == expected and "old" in expected
    again = cli("purge", "--dry-run", "--json", env=env, cwd=tmp_path)
    assert json.loads(again.stdout) == {"dry_run": True, "cohorts": []}
