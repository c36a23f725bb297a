"""What the commands share: printing, the database unit of work, errors and the clock.

Heavy modules (SQLAlchemy, the services) are imported inside the functions, so that `--help`
and a mistyped command answer at once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Callable
from typing import Any

from bot.config import Settings

Handler = Callable[[Settings, argparse.Namespace], int]
"""A command: it gets the settings and the parsed arguments, and returns the exit status."""


class CliError(Exception):
    """A problem to print as one line before exiting non-zero."""


# --- output -------------------------------------------------------------------------------


def add_json_flag(parser: argparse.ArgumentParser, help: str = "print JSON") -> None:
    parser.add_argument("--json", action="store_true", help=help)


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str, ensure_ascii=False))


def print_table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    if not rows:
        print("(none)")
        return
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in columns}
    print("  ".join(c.upper().ljust(widths[c]) for c in columns))
    for row in rows:
        print("  ".join(str(row[c]).ljust(widths[c]) for c in columns))


def deep_link(settings: Settings, payload: str) -> str | None:
    """`https://t.me/<bot>?start=<payload>`, or None while BOT_USERNAME is not set."""
    if not settings.bot_username:
        return None
    return f"https://t.me/{settings.bot_username.lstrip('@')}?start={payload}"


# --- time ---------------------------------------------------------------------------------


def now() -> Any:
    from bot.services.clock import SystemClock

    return SystemClock().now()


def program_clock(settings: Settings) -> Any:
    from bot.services.clock import ProgramClock

    return ProgramClock(settings.day_length_seconds)


# --- the database -------------------------------------------------------------------------


def run_db(settings: Settings, work: Callable[..., Any], *, read_only: bool = False) -> Any:
    """Upgrade the database, then run `work(session)` in one committed unit of work.

    `read_only` work is rolled back; on SQLite it reads without taking the write lock, so a
    long read (an export) never holds up a running bot.
    """
    from sqlalchemy.ext.asyncio import create_async_engine

    from bot.db.migrate import upgrade
    from bot.db.session import create_engine, create_session_factory, unit_of_work

    upgrade(settings.database_url)
    url = settings.database_url

    async def _main() -> Any:
        if read_only and url.startswith("sqlite"):
            engine = create_async_engine(url)
        else:
            engine = create_engine(url)
        try:
            if read_only:
                async with create_session_factory(engine)() as session:
                    return await work(session)
            async with unit_of_work(create_session_factory(engine)) as session:
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(_main())


async def existing_cohort(session: Any, cohort_id: int) -> Any:
    from bot.db.models import Cohort

    cohort = await session.get(Cohort, cohort_id)
    if cohort is None:
        raise CliError(f"cohort {cohort_id} not found (see 'resilience-bot cohort list')")
    return cohort


async def audit(
    session: Any, action: str, cohort_id: int, detail: str | None = None, *, at: Any
) -> None:
    """Write what the command line did to the audit log (no Telegram user behind it)."""
    from bot.services.facilitators import audit as audit_log

    await audit_log(
        session=session, actor=None, action=action, cohort_id=cohort_id, detail=detail, now=at
    )
