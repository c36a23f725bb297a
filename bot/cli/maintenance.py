"""Keeping the database in shape: `db upgrade` and the retention `purge`."""

from __future__ import annotations

import argparse
from typing import Any

from bot.cli.common import add_json_flag, now, print_json, program_clock, run_db
from bot.config import Settings


def cmd_db_upgrade(settings: Settings, args: argparse.Namespace) -> int:
    from bot.db.migrate import upgrade

    upgrade(settings.database_url)
    print(f"database is up to date ({_safe_url(settings.database_url)})")
    return 0


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def cmd_purge(settings: Settings, args: argparse.Namespace) -> int:
    """Erase the answers of cohorts whose retention period is over (see bot/services/retention)."""
    from bot.services.retention import purge_due

    async def work(session: Any) -> list[dict[str, Any]]:
        items = await purge_due(
            session=session, clock=program_clock(settings), now=now(), dry_run=args.dry_run
        )
        return [item.as_dict() for item in items]

    rows = run_db(settings, work)
    if args.json:
        print_json({"dry_run": args.dry_run, "cohorts": rows})
        return 0
    verb = "would be erased" if args.dry_run else "erased"
    if not rows:
        print("No cohort has reached the end of its retention period.")
    for row in rows:
        print(
            f"Cohort {row['cohort_id']} ({row['name']}), ended {row['ended_at'][:10]}: "
            f"{verb}: {row['answers']} answers, {row['alerts']} alert texts, "
            f"{row['names']} names, {row['inbox_updates']} raw updates, "
            f"{row['deliveries']} sent messages quoting them"
        )
    return 0


def add_db(commands: Any) -> None:
    db = commands.add_parser("db", help="database maintenance").add_subparsers(
        dest="db_command", required=True, metavar="ACTION"
    )
    db.add_parser("upgrade", help="apply all migrations").set_defaults(handler=cmd_db_upgrade)


def add_purge(commands: Any) -> None:
    purge = commands.add_parser(
        "purge", help="erase answers of cohorts past their retention period (Cohort.retention_days)"
    )
    purge.add_argument("--dry-run", action="store_true", help="only show what would be erased")
    add_json_flag(purge)
    purge.set_defaults(handler=cmd_purge)


def cmd_health(settings: Settings, args: argparse.Namespace) -> int:
    """For a container healthcheck: the bot's loops are alive and the database answers."""
    from bot.health import problems

    found = problems(settings.health_file)
    found += _database_problems(settings)
    if found:
        print("unhealthy: " + "; ".join(found))
        return 1
    print("healthy")
    return 0


def _database_problems(settings: Settings) -> list[str]:
    import asyncio

    from sqlalchemy import text

    from bot.db.session import create_engine

    async def ping() -> None:
        engine = create_engine(settings.database_url)
        try:
            async with engine.connect() as connection:
                await asyncio.wait_for(connection.execute(text("SELECT 1")), timeout=5)
        finally:
            await engine.dispose()

    try:
        asyncio.run(ping())
    except Exception as exc:  # any failure is the answer here, in one line
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0] if str(exc) else ""
        return [f"the database does not answer ({type(exc).__name__}: {reason})"]
    return []


def add_health(commands: Any) -> None:
    health = commands.add_parser(
        "health", help="exit 0 when the running bot's loops are alive and the database answers"
    )
    health.set_defaults(handler=cmd_health)


def cmd_doctor(settings: Settings, args: argparse.Namespace) -> int:
    """What needs an operator's attention; exit 1 when anything does."""
    from bot.services.alerts import unreached_alerts

    async def work(session: Any) -> list[dict[str, Any]]:
        return [a.as_dict() for a in await unreached_alerts(session=session)]

    unreached = run_db(settings, work, read_only=True)
    problems = [
        f"safety alert {a['alert_id']} (cohort {a['cohort_id']}, {a['created_at'][:16]}) "
        f"reached nobody: {a['reason']}"
        for a in unreached
    ]
    if not settings.facilitator_ids:
        problems.append(
            "FACILITATOR_IDS is empty: alerts of cohorts without facilitators reach nobody"
        )
    if args.json:
        print_json({"problems": problems, "unreached_alerts": unreached})
    elif problems:
        print("\n".join(problems))
    else:
        print("nothing needs attention")
    return 1 if problems else 0


def add_doctor(commands: Any) -> None:
    doctor = commands.add_parser(
        "doctor", help="what needs attention (safety alerts that reached nobody, settings)"
    )
    add_json_flag(doctor)
    doctor.set_defaults(handler=cmd_doctor)
