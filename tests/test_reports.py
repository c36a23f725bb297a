"""The report's numbers against a cohort with known answers, and the digest and group posts,
all called directly with `now` (no sleeping)."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
import os
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from bot.curriculum.loader import LoadedProgram, parse_program
from bot.db.models import (
    AuditLog,
    Cohort,
    Delivery,
    FacilitatorProfile,
    Participant,
    Response,
    SafetyAlert,
)
from bot.db.session import unit_of_work
from bot.scheduling.digest import due_profiles, is_due, queue_digests
from bot.services.catalog import ensure_version
from bot.services.charts import PNG_SIGNATURE, render_chart
from bot.services.clock import ProgramClock
from bot.services.cohorts import create_cohort
from bot.services.export import write_export
from bot.services.facilitators import add_facilitator
from bot.services.group_posts import queue_group_posts
from bot.services.reports import (
    build_report,
    day_stats,
    percent,
    render_report_text,
    report_to_dict,
)
from tests.e2e.conftest import MINI_PROGRAM
from tests.processes import child_env

START = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)  # day 1 at 09:00 in Berlin
NOW = START + timedelta(days=2, hours=9)  # day 3, 18:00 in Berlin
REAL = ProgramClock()
ANSWER_TYPES = ("text", "scale", "choice")

# name: status, days whose lesson was sent, other lesson rows {day: state}, deleted their data
PEOPLE: dict[str, tuple[str, list[int], dict[int, str], bool]] = {
    "Ana": ("active", [1, 2, 3], {}, False),
    "Ben": ("active", [1, 2], {3: "failed"}, False),
    "Cara": ("active", [1, 2, 3], {}, False),
    "Dan": ("paused", [1, 2], {}, False),
    "Eve": ("withdrawn", [1], {2: "pending"}, False),
    "Finn": ("blocked", [1, 2, 3], {}, False),
    "Gus": ("active", [2, 3], {}, False),
    "Hana": ("completed", [1, 2, 3], {}, False),
    "Ivy": ("withdrawn", [1], {}, True),
    "Jo": ("pending", [], {}, False),
}
# name, day, prompt id, type, value, text (in the order they were given)
ANSWERS: list[tuple[str, int, str, str, str | None, str | None]] = [
    ("Ana", 1, "d1-mood", "scale", "4", "4"),
    ("Ana", 1, "d1-reflect", "text", None, 'Ich war geduldig – ünïcödé 😊, "quoted", comma'),
    ("Ana", 2, "d2-choice", "choice", "walk", "A walk"),
    ("Ana", 3, "d3-reflect", "text", None, "Line one\nline two"),
    ("Ben", 1, "d1-mood", "scale", "2", "2"),
    ("Cara", 2, "d2-choice", "voice", None, None),  # media: kept, but not an answer
    ("Dan", 1, "d1-mood", "scale", "5", "5 – Great"),
    ("Dan", 1, "d1-reflect", "text", None, "=1+1 family"),
    ("Dan", 1, "d1-mood", "scale", "1", "1"),  # later: replaces Dan's 5 in the average
    ("Gus", 3, "unprompted", "note", None, "just saying hi"),  # a note: not an answer
    ("Hana", 3, "d3-reflect", "text", None, "Kindness, 優しさ"),
    ("Ivy", 1, "d1-mood", "scale", "3", None),  # deleted their data: answered, no value
]


def mini_program() -> LoadedProgram:
    return LoadedProgram(path=Path("mini.yaml"), program=parse_program(MINI_PROGRAM, "mini.yaml"))


@dataclass
class Seeded:
    cohort_id: int
    ids: dict[str, int]  # name -> participant id
    user_ids: dict[str, int]  # name -> Telegram user id


async def seed_known_cohort(
    session: Any,
    *,
    loaded: LoadedProgram | None = None,
    user_base: int = 7000,
    name: str = "Known cohort",
) -> Seeded:
    """A three-day cohort in Berlin with the people and answers above (nobody is due)."""
    version = await ensure_version(session=session, loaded=loaded or mini_program())
    cohort = await create_cohort(
        session=session,
        version=version,
        name=name,
        start=START.date(),
        timezone="Europe/Berlin",
        delivery_time=time(9),
        now=START - timedelta(days=3),
    )
    ids, user_ids = {}, {}
    for index, (person, (status, sent, other, deleted)) in enumerate(PEOPLE.items()):
        user_id = user_base + index
        participant = Participant(
            cohort_id=cohort.id,
            telegram_user_id=user_id,
            chat_id=user_id,
            display_name=None if deleted else person,
            language="en",
            status=status,
            pseudonym=f"ps{cohort.id}x{index:02d}",
            joined_at=START - timedelta(days=1),
            consent_at=None if status == "pending" else START - timedelta(days=1),
            first_day=min(sent) if sent else None,
            last_activity_at=START + timedelta(hours=index),
            data_deleted_at=START + timedelta(days=2) if deleted else None,
        )
        session.add(participant)
        await session.flush()
        ids[person], user_ids[person] = participant.id, user_id
        states = {**{day: "sent" for day in sent}, **other}
        for day, state in states.items():
            session.add(
                Delivery(
                    dedupe_key=f"p{participant.id}:d{day}:lesson",
                    participant_id=participant.id,
                    cohort_id=cohort.id,
                    day=day,
                    item="lesson",
                    kind="lesson",
                    chat_id=user_id,
                    text=f"Day {day}",
                    state=state,
                    due_at=START + timedelta(days=day - 1),
                    sent_at=START + timedelta(days=day - 1) if state == "sent" else None,
                )
            )
    for number, (person, day, prompt_id, kind, value, text) in enumerate(ANSWERS):
        session.add(
            Response(
                dedupe_key=f"seed:{cohort.id}:{number}",
                participant_id=ids[person],
                cohort_id=cohort.id,
                curriculum_version_id=version.id,
                day=day,
                prompt_id=prompt_id,
                answer_type=kind,
                value=value,
                text=text,
                answered_at=START + timedelta(days=day - 1, hours=1, minutes=number),
            )
        )
    await session.flush()
    return Seeded(cohort.id, ids, user_ids)  # type: ignore[arg-type]


@pytest.fixture
async def known(sessions) -> Seeded:
    async with unit_of_work(sessions) as session:
        return await seed_known_cohort(session)


async def _report(sessions, cohort_id: int, now: datetime = NOW):
    async with sessions() as session:
        return await build_report(
            session=session, cohort_id=cohort_id, now=now, clock=REAL, at_risk_days=3
        )


async def test_report_numbers_match_the_known_answers(sessions, known: Seeded) -> None:
    report = await _report(sessions, known.cohort_id)
    assert report.program_day == 3 and report.length_days == 3
    counts = report.counts
    assert (counts.enrolled, counts.active, counts.paused, counts.withdrawn) == (9, 4, 1, 2)
    assert (counts.blocked, counts.completed, counts.pending) == (1, 1, 1)
    assert [(d.day, d.date.isoformat(), d.delivered, d.answered) for d in report.days] == [
        (1, "2026-12-01", 8, 4),
        (2, "2026-12-02", 7, 1),
        (3, "2026-12-03", 5, 2),
    ]
    assert [percent(d.rate) for d in report.days] == ["50%", "14%", "40%"]
    prompts = {p.prompt_id: p for p in report.prompts}
    assert {k: (p.answered, p.delivered) for k, p in prompts.items()} == {
        "d1-mood": (4, 8),
        "d1-reflect": (2, 8),
        "d2-choice": (1, 7),
        "d3-reflect": (2, 5),
    }
    # Ana 4, Ben 2, Dan's latest 1 (not his earlier 5); Ivy deleted her data: left out.
    assert prompts["d1-mood"].average == pytest.approx(7 / 3)
    assert prompts["d1-reflect"].average is None
    # Cara: three delivered days, no answer (a voice note doesn't count). Ben answered day 1;
    # Gus has only two delivered days; Finn is blocked, not active.
    assert [(p.name, p.missed_days) for p in report.at_risk] == [("Cara", 3)]
    assert [p.name for p in report.newly_at_risk] == ["Cara"]
    assert report.yesterday is not None
    assert (report.yesterday.day, report.yesterday.delivered, report.yesterday.answered) == (
        2,
        7,
        1,
    )


async def test_one_day_counted_in_sql_matches_the_report(sessions, known: Seeded) -> None:
    report = await _report(sessions, known.cohort_id)
    async with sessions() as session:
        cohort = await session.get(Cohort, known.cohort_id)
        for expected in report.days:
            assert await day_stats(
                session=session, cohort=cohort, clock=REAL, day=expected.day
            ) == (expected)


async def test_at_risk_after_more_silent_days_is_no_longer_new(sessions, known: Seeded) -> None:
    async with unit_of_work(sessions) as session:
        session.add(
            Delivery(
                dedupe_key="extra",
                participant_id=known.ids["Gus"],
                cohort_id=known.cohort_id,
                day=1,
                item="lesson",
                kind="lesson",
                chat_id=1,
                text="Day 1",
                state="sent",
                due_at=START,
            )
        )
    report = await _report(sessions, known.cohort_id)
    assert sorted((p.name, p.missed_days) for p in report.at_risk) == [("Cara", 3), ("Gus", 3)]
    async with unit_of_work(sessions) as session:
        gus = await session.get(Participant, known.ids["Gus"])
        gus.status = "paused"
        session.add(gus)
    assert [p.name for p in (await _report(sessions, known.cohort_id)).at_risk] == ["Cara"]


async def test_plain_text_report_shows_the_same_numbers(sessions, known: Seeded) -> None:
    text = render_report_text(await _report(sessions, known.cohort_id))
    assert "9 enrolled: 4 active, 1 paused, 2 withdrawn, 1 blocked, 1 completed" in text
    assert "Day 1 (1 Dec): 4 of 8 answered · 50%" in text
    assert "Day 2 (2 Dec): 1 of 7 answered · 14%" in text
    assert "Day 3 (3 Dec): 2 of 5 answered · 40%" in text
    assert "How are you today?: 4 of 8 · 50% · average 2.3 (1–5)" in text
    assert "Cara · 3 days without an answer · last active 1 Dec 11:00" in text
    assert "Ben" not in text.split("At risk")[1]


def csv_numbers(content: str) -> dict[str, Any]:
    """The report's answer numbers, recomputed from an exported CSV alone."""
    assert content.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(content.removeprefix("\ufeff"))))
    answered: dict[int, set[str]] = defaultdict(set)
    by_prompt: dict[str, set[str]] = defaultdict(set)
    latest: dict[tuple[str, str], float] = {}
    for row in sorted(rows, key=lambda r: r["answered_at"]):
        if row["type"] not in ANSWER_TYPES:
            continue
        answered[int(row["day"])].add(row["participant_id"])
        by_prompt[row["prompt_id"]].add(row["participant_id"])
        if row["type"] == "scale" and row["answer"].isdigit():
            latest[(row["prompt_id"], row["participant_id"])] = float(row["answer"])
    averages: dict[str, list[float]] = defaultdict(list)
    for (prompt_id, _), value in latest.items():
        averages[prompt_id].append(value)
    return {
        "rows": len(rows),
        "answered": {day: len(people) for day, people in sorted(answered.items())},
        "prompt_answered": {k: len(v) for k, v in sorted(by_prompt.items())},
        "averages": {k: sum(v) / len(v) for k, v in averages.items()},
    }


async def test_report_json_and_csv_agree(sessions, known: Seeded) -> None:
    data = report_to_dict(await _report(sessions, known.cohort_id))
    assert json.loads(json.dumps(data)) == data
    buffer = io.StringIO(newline="")
    async with sessions() as session:
        await write_export(
            session=session, cohort_id=known.cohort_id, fmt="csv", out=buffer, clock=REAL
        )
    from_csv = csv_numbers(buffer.getvalue())
    assert from_csv["rows"] == len(ANSWERS)
    assert from_csv["answered"] == {d["day"]: d["answered"] for d in data["days"]}
    assert from_csv["prompt_answered"] == {p["prompt_id"]: p["answered"] for p in data["prompts"]}
    assert from_csv["averages"] == {
        p["prompt_id"]: pytest.approx(p["average"]) for p in data["prompts"] if p["average"]
    }
    assert [d["response_rate"] for d in data["days"]] == [0.5, 1 / 7, 0.4]
    assert [p["name"] for p in data["at_risk"]] == ["Cara"]


def cli(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    env = child_env(
        drop=("TELEGRAM", "DATABASE"),
        DATABASE_URL=database_url,
        AT_RISK_DAYS="3",
        FACILITATOR_IDS="9001",
    )
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def _run_cli_here(args: tuple[str, ...], env: dict[str, str]) -> tuple[int, str, str]:
    from bot.cli import main

    saved = {k: os.environ.get(k) for k in env}
    out, err = io.StringIO(), io.StringIO()
    os.environ.update(env)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main(list(args))
            except SystemExit as exit_:
                code = int(exit_.code or 0)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return code, out.getvalue(), err.getvalue()


async def run_cli(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    """The command line in this process (in a thread: it runs its own event loop); quicker
    than a subprocess for the many small calls."""
    env = {"DATABASE_URL": database_url, "AT_RISK_DAYS": "3", "FACILITATOR_IDS": "9001"}
    code, out, err = await asyncio.to_thread(_run_cli_here, args, env)
    return subprocess.CompletedProcess(list(args), code, out, err)


async def test_cli_report_json_and_commands(sessions, known: Seeded, database_url) -> None:
    result = cli("report", str(known.cohort_id), "--json", database_url=database_url)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    expected = report_to_dict(await _report(sessions, known.cohort_id))
    for key in ("participants", "days", "prompts", "at_risk"):
        assert data[key] == expected[key], key

    cid = str(known.cohort_id)

    async def run(*args: str) -> subprocess.CompletedProcess[str]:
        return await run_cli(*args, database_url=database_url)

    missing = await run("report", "999")
    assert missing.returncode != 0
    assert missing.stderr.strip().splitlines() == [
        "resilience-bot: cohort 999 not found (see 'resilience-bot cohort list')"
    ]
    added = await run("facilitator", "add", "--cohort", cid, "--telegram-id", "55")
    assert added.returncode == 0 and "55 now facilitates" in added.stdout
    listed = json.loads((await run("facilitator", "list", "--json")).stdout)
    assert listed["administrators"] == [9001]
    assert [f["telegram_user_id"] for f in listed["facilitators"]] == [55]
    invite = await run("facilitator", "invite", "--cohort", cid, "--json")
    assert json.loads(invite.stdout)["payload"].startswith("fac-")
    assert json.loads((await run("cohort", "show", cid, "--json")).stdout)["facilitators"] == [55]
    assert json.loads((await run("cohort", "close", cid, "--json")).stdout)["status"] == "closed"
    removed = await run("facilitator", "remove", "--cohort", cid, "--telegram-id", "55")
    assert removed.returncode == 0
    again = await run("facilitator", "remove", "--cohort", cid, "--telegram-id", "55")
    assert again.returncode != 0 and len(again.stderr.strip().splitlines()) == 1
    async with sessions() as session:
        cohort = await session.get(Cohort, known.cohort_id)
        ana = await session.get(Participant, known.ids["Ana"])
        actions = [a.action for a in (await session.exec(select(AuditLog))).all()]
    assert cohort.status == "closed" and ana.status == "completed" and ana.next_due_at is None
    assert actions == [
        "report",
        "facilitator-added",
        "close",
        "facilitator-removed",
    ]


# --- the daily digest -------------------------------------------------------------------


async def _profile(sessions, known: Seeded, **values: Any) -> None:
    async with unit_of_work(sessions) as session:
        await add_facilitator(
            session=session, cohort_id=known.cohort_id, telegram_user_id=42, added_by=None, now=NOW
        )
        session.add(FacilitatorProfile(telegram_user_id=42, chat_id=42, **values))


async def test_digest_is_due_once_a_day_at_the_chosen_local_time(sessions, known) -> None:
    await _profile(sessions, known, digest_time=time(8, 0), digest_timezone="Europe/Berlin")
    day4 = datetime(2026, 12, 4, tzinfo=UTC)
    async with sessions() as session:
        (profile,) = (await session.exec(select(FacilitatorProfile))).all()
        assert not is_due(profile, day4 + timedelta(hours=6, minutes=59))  # 07:59 in Berlin
        assert is_due(profile, day4 + timedelta(hours=7))
        assert is_due(profile, day4 + timedelta(hours=22, minutes=59))  # late is fine
        assert not is_due(profile, day4 + timedelta(hours=23))  # 00:00 next day: not yet
        profile.digest_last_sent_on = day4.date()
        assert not is_due(profile, day4 + timedelta(hours=12))
        assert is_due(profile, day4 + timedelta(days=1, hours=7))
        profile.digest_time = None
        assert not is_due(profile, day4 + timedelta(days=1, hours=7))
        assert await due_profiles(session=session, now=day4) == []


async def _digests(sessions, now: datetime) -> int:
    async with unit_of_work(sessions) as session:
        return await queue_digests(
            session=session, clock=REAL, now=now, admin_ids=frozenset(), at_risk_days=3
        )


async def test_digest_summarises_each_cohort_once(sessions, known: Seeded) -> None:
    await _profile(sessions, known, digest_time=time(18, 0), digest_timezone="Europe/Berlin")
    async with unit_of_work(sessions) as session:
        for acknowledged in (None, NOW):
            session.add(
                SafetyAlert(
                    cohort_id=known.cohort_id,
                    participant_id=known.ids["Ben"],
                    category="crisis",
                    acknowledged_at=acknowledged,
                )
            )
    assert await _digests(sessions, NOW - timedelta(minutes=1)) == 0
    assert await _digests(sessions, NOW) == 1
    assert await _digests(sessions, NOW + timedelta(hours=1)) == 0
    async with sessions() as session:
        (digest,) = (await session.exec(select(Delivery).where(Delivery.kind == "digest"))).all()
    assert digest.chat_id == 42
    assert "<b>Known cohort</b> · day 3 of 3" in digest.text
    assert "Yesterday: 1 of 7 answered · 14%" in digest.text
    assert "Newly slipping: Cara" in digest.text
    assert "Open safety alerts: 1" in digest.text
    assert "Ich war" not in digest.text  # never anyone's answers


# --- group posts and the chart ------------------------------------------------------------


async def test_group_theme_is_queued_once_per_program_day(sessions, known: Seeded) -> None:
    async with unit_of_work(sessions) as session:
        cohort = await session.get(Cohort, known.cohort_id)
        cohort.group_chat_id = -100
        session.add(cohort)

    async def tick(now: datetime) -> int:
        async with unit_of_work(sessions) as session:
            return await queue_group_posts(session=session, clock=REAL, now=now)

    assert await tick(START - timedelta(minutes=1)) == 0
    assert [await tick(START), await tick(START + timedelta(hours=3))] == [1, 0]
    assert await tick(START + timedelta(days=1)) == 1
    assert await tick(START + timedelta(days=5)) == 0  # the program has ended
    async with sessions() as session:
        posts = (await session.exec(select(Delivery).where(Delivery.kind == "group"))).all()
    assert [(p.chat_id, p.day, p.participant_id) for p in posts] == [
        (-100, 1, None),
        (-100, 2, None),
    ]
    assert posts[0].text.startswith("<b>Day 1 of 3 · Strengths</b>")
    assert posts[1].text.startswith("<b>Day 2 of 3 · Coping</b>")


async def test_chart_is_a_png(sessions, known: Seeded) -> None:
    png = render_chart(await _report(sessions, known.cohort_id))
    assert png.startswith(PNG_SIGNATURE)
    assert len(png) > 10_000  # axes, bars and lines, not an empty canvas
