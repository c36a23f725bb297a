"""Exports: every stored answer exactly once, spreadsheet-safe UTF-8, constant memory."""

from __future__ import annotations

import csv
import io
import json
import time as clock_time
import tracemalloc
from datetime import timedelta

from sqlalchemy import insert
from sqlmodel import select

from bot.db.models import Participant, Response
from bot.db.session import unit_of_work
from bot.services.export import BOM, COLUMNS, write_export
from bot.services.reports import DELETED_NAME
from tests.test_reports import (
    ANSWERS,
    REAL,
    START,
    Seeded,
    cli,
    known,
    run_cli,
    seed_known_cohort,
)

__all__ = ["known"]  # the fixture, shared with test_reports


async def _export(sessions, cohort_id: int, fmt: str) -> str:
    buffer = io.StringIO(newline="")
    async with sessions() as session:
        await write_export(session=session, cohort_id=cohort_id, fmt=fmt, out=buffer, clock=REAL)
    return buffer.getvalue()


async def _stored(sessions, cohort_id: int) -> list[tuple[str, int, str, str]]:
    async with sessions() as session:
        rows = (
            await session.exec(
                select(
                    Participant.pseudonym, Response.day, Response.prompt_id, Response.answered_at
                )
                .join(Participant, Participant.id == Response.participant_id)
                .where(Response.cohort_id == cohort_id)
            )
        ).all()
    return sorted((p, d, q, a.isoformat()) for p, d, q, a in rows)


async def test_csv_has_every_answer_once_and_survives_a_spreadsheet_round_trip(
    sessions, known: Seeded
) -> None:
    async with unit_of_work(sessions) as session:
        other = await seed_known_cohort(session, user_base=8000, name="Other cohort")
    content = await _export(sessions, known.cohort_id, "csv")
    raw = content.encode("utf-8")
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: spreadsheets read the file as UTF-8
    with io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == COLUMNS
    keys = sorted(
        (r["participant_id"], int(r["day"]), r["prompt_id"], r["answered_at"]) for r in rows
    )
    assert keys == await _stored(sessions, known.cohort_id)
    assert len(keys) == len(set(keys)) == len(ANSWERS)
    assert {r["cohort"] for r in rows} == {"Known cohort"}
    assert other.cohort_id != known.cohort_id

    answers = {(r["participant"], r["prompt_id"]): r for r in rows}
    reflect = answers[("Ana", "d1-reflect")]
    assert reflect["answer"] == 'Ich war geduldig – ünïcödé 😊, "quoted", comma'
    assert reflect["prompt"] == "Which strength did you notice?"
    assert (reflect["day"], reflect["date"], reflect["type"]) == ("1", "2026-12-01", "text")
    assert reflect["edited"] == ""
    assert answers[("Ana", "d3-reflect")]["answer"] == "Line one\nline two"
    assert answers[("Hana", "d3-reflect")]["answer"] == "Kindness, 優しさ"
    assert answers[("Ana", "d2-choice")]["answer"] == "A walk"
    assert answers[("Cara", "d2-choice")]["answer"] == "[voice]"
    # A cell that starts like a formula is defused for spreadsheets.
    assert answers[("Dan", "d1-reflect")]["answer"] == "'=1+1 family"
    deleted = [r for r in rows if r["participant"] == DELETED_NAME]
    assert [(r["answer"], r["participant_id"]) for r in deleted] == [
        (DELETED_NAME, f"ps{known.cohort_id}x08")
    ]


async def test_jsonl_has_one_object_per_answer(sessions, known: Seeded) -> None:
    async with unit_of_work(sessions) as session:
        response = (
            await session.exec(select(Response).where(Response.prompt_id == "d3-reflect"))
        ).first()
        response.previous_text, response.text = response.text, "Edited ✍"
        response.edited_at = START + timedelta(days=3)
        session.add(response)
    content = await _export(sessions, known.cohort_id, "jsonl")
    assert not content.startswith(BOM)
    rows = [json.loads(line) for line in content.splitlines()]
    assert len(rows) == len(ANSWERS)
    assert all(list(r) == COLUMNS for r in rows)
    edited = [r for r in rows if r["edited"]]
    assert [(r["answer"], r["edited"]) for r in edited] == [
        ("Edited ✍", "2026-12-04T08:00:00+00:00")
    ]
    assert any(r["answer"] == "=1+1 family" for r in rows)  # exact values in JSON
    assert isinstance(rows[0]["day"], int)


async def test_cli_export_to_a_file(sessions, known: Seeded, database_url, tmp_path) -> None:
    target = tmp_path / "answers.csv"
    cid = str(known.cohort_id)
    result = cli("export", cid, "--output", str(target), database_url=database_url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"Exported {len(ANSWERS)} answers to {target}"
    assert result.stderr == ""  # no progress bar when stderr is not a terminal
    assert target.read_bytes() == (await _export(sessions, known.cohort_id, "csv")).encode()
    bad = await run_cli(
        "export", "999", "--output", str(tmp_path / "x.csv"), database_url=database_url
    )
    assert bad.returncode != 0 and len(bad.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.csv").exists()


ROWS = 100_000


async def test_export_of_100k_answers_streams_in_bounded_memory(
    sessions, known: Seeded, tmp_path
) -> None:
    async with unit_of_work(sessions) as session:
        participants = (
            await session.exec(select(Participant).where(Participant.cohort_id == known.cohort_id))
        ).all()
        version_id = (await session.exec(select(Response.curriculum_version_id).limit(1))).first()
    people = [p.id for p in participants]
    text = "Ich habe heute gemerkt, dass ich geduldiger bin als gedacht. " * 3
    async with unit_of_work(sessions) as session:
        for start in range(0, ROWS, 10_000):
            await session.exec(
                insert(Response),  # type: ignore[call-overload]
                params=[
                    {
                        "dedupe_key": f"bulk:{n}",
                        "participant_id": people[n % len(people)],
                        "cohort_id": known.cohort_id,
                        "curriculum_version_id": version_id,
                        "day": 1 + n % 3,
                        "prompt_id": "d1-reflect",
                        "answer_type": "text",
                        "text": f"{n}: {text}",
                        "answered_at": START + timedelta(seconds=n),
                    }
                    for n in range(start, min(start + 10_000, ROWS))
                ],
            )
    target = tmp_path / "big.csv"
    began = clock_time.monotonic()
    tracemalloc.start()
    try:
        with target.open("w", encoding="utf-8", newline="") as out:
            async with sessions() as session:
                count = await write_export(
                    session=session, cohort_id=known.cohort_id, fmt="csv", out=out, clock=REAL
                )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    elapsed = clock_time.monotonic() - began
    size = target.stat().st_size
    assert count == ROWS + len(ANSWERS)
    assert size > 20_000_000  # the rows themselves: holding them would take far more than this
    assert peak < 10_000_000, f"peak {peak / 1e6:.1f} MB for a {size / 1e6:.0f} MB export"
    assert elapsed < 60
