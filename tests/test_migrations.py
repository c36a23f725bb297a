"""Migrations create the schema, and models and migrations agree (autogenerate finds nothing)."""

import asyncio

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

import bot.db.models  # noqa: F401
from bot.db.session import create_engine


def _diff(database_url: str) -> list:
    async def run() -> list:
        engine = create_engine(database_url)
        async with engine.connect() as connection:

            def compare(sync_connection):  # type: ignore[no-untyped-def]
                context = MigrationContext.configure(sync_connection, opts={"compare_type": True})
                return compare_metadata(context, SQLModel.metadata)

            diff = await connection.run_sync(compare)
        await engine.dispose()
        return diff

    return asyncio.run(run())


def _tables(database_url: str) -> set[str]:
    async def run() -> set[str]:
        engine = create_engine(database_url)
        async with engine.connect() as connection:
            names = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
        await engine.dispose()
        return names

    return asyncio.run(run())


def test_upgrade_creates_every_table(database_url: str) -> None:
    tables = _tables(database_url)
    assert set(SQLModel.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_models_and_migrations_agree(database_url: str) -> None:
    assert _diff(database_url) == []


def test_upgrade_is_idempotent(database_url: str) -> None:
    from bot.db.migrate import upgrade

    upgrade(database_url)
    assert _diff(database_url) == []
