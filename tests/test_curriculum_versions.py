"""Curriculum content is identified by its hash, and a cohort keeps the version it started with."""

from __future__ import annotations

from datetime import UTC, datetime, time
from pathlib import Path

from sqlalchemy import text

from bot.curriculum.loader import LoadedProgram, parse_program
from bot.db.session import create_engine, unit_of_work
from bot.services.catalog import ensure_version, program_of
from bot.services.cohorts import create_cohort, get_cohort_view
from tests.e2e.conftest import MINI_PROGRAM

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)


def test_same_content_same_hash_whatever_the_formatting() -> None:
    original = parse_program(MINI_PROGRAM, "a.yaml")
    reformatted = parse_program(
        "# a comment\n" + MINI_PROGRAM.replace("title: Mini", "title:   Mini"), "b.yaml"
    )
    edited = parse_program(MINI_PROGRAM.replace("Be kind to yourself.", "Be gentle."), "c.yaml")
    assert original.content_hash() == reformatted.content_hash()
    assert original.content_hash() != edited.content_hash()


async def test_a_running_cohort_keeps_its_version_when_the_file_changes(sessions) -> None:
    before = LoadedProgram(Path("mini.yaml"), parse_program(MINI_PROGRAM, "mini.yaml"))
    after = LoadedProgram(
        Path("mini.yaml"),
        parse_program(
            MINI_PROGRAM.replace("Be kind to yourself.", "Rewritten day 3."), "mini.yaml"
        ),
    )
    async with unit_of_work(sessions) as session:
        version = await ensure_version(session=session, loaded=before)
        cohort = await create_cohort(
            session=session,
            version=version,
            name="c",
            start=None,
            timezone="UTC",
            delivery_time=time(9),
            now=NOW,
        )
    async with unit_of_work(sessions) as session:
        new_version = await ensure_version(session=session, loaded=after)
        same_again = await ensure_version(session=session, loaded=before)
    assert new_version.id != version.id and same_again.id == version.id
    async with sessions() as session:
        view = await get_cohort_view(session=session, cohort_id=cohort.id)
    assert program_of(view.version).day(3).lesson.text == "Be kind to yourself."


async def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'new' / 'bot.sqlite3'}")
    async with engine.connect() as connection:
        journal = (await connection.execute(text("PRAGMA journal_mode"))).scalar()
        foreign_keys = (await connection.execute(text("PRAGMA foreign_keys"))).scalar()
        busy = (await connection.execute(text("PRAGMA busy_timeout"))).scalar()
    await engine.dispose()
    assert (journal, foreign_keys) == ("wal", 1)
    assert busy >= 5000
    assert (tmp_path / "new" / "bot.sqlite3").exists()  # the folder is created on first use
