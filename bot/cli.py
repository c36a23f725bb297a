"""The `resilience-bot` command line."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import date, time
from pathlib import Path
from typing import Any

from bot.config import ConfigError, Settings, load_settings


class CliError(Exception):
    """A problem to print as one line before exiting non-zero."""


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str, ensure_ascii=False))


def _print_table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    if not rows:
        print("(none)")
        return
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in columns}
    print("  ".join(c.upper().ljust(widths[c]) for c in columns))
    for row in rows:
        print("  ".join(str(row[c]).ljust(widths[c]) for c in columns))


def _parse_start(value: str) -> date | None:
    if value == "now":
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError("expected YYYY-MM-DD or 'now'") from None


def _parse_hhmm(value: str) -> time:
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError("expected HH:MM, e.g. 09:00") from None


# --- commands -----------------------------------------------------------------------------


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    settings.require_token()
    from bot.runner import run_forever

    return run_forever(settings)


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    from bot.demo import run_demo

    return asyncio.run(run_demo(participants=args.participants, day_seconds=args.day_seconds))


def cmd_db_upgrade(settings: Settings, args: argparse.Namespace) -> int:
    from bot.db.migrate import upgrade

    upgrade(settings.database_url)
    print(f"database is up to date ({_safe_url(settings.database_url)})")
    return 0


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def cmd_curricula_validate(settings: Settings, args: argparse.Namespace) -> int:
    from bot.curriculum.loader import discover, validate_paths

    paths = [Path(p) for p in args.paths] or [settings.curricula_dir]
    files = discover(paths)
    problems = validate_paths(paths)
    if args.json:
        _print_json({"files": [str(f) for f in files], "problems": [asdict(p) for p in problems]})
    else:
        for problem in problems:
            print(problem)
        if not problems:
            print(f"{len(files)} curriculum file(s) OK")
    return 1 if problems or not files else 0


def cmd_curricula_list(settings: Settings, args: argparse.Namespace) -> int:
    from bot.curriculum.loader import CurriculumError, load_catalog

    try:
        catalog = load_catalog(settings.curricula_dir)
    except CurriculumError as exc:
        raise CliError(f"{exc.problems[0]} (run 'resilience-bot curricula validate')") from None
    rows = [
        {
            "id": pid,
            "title": item.program.title,
            "weeks": len(item.program.weeks),
            "days": item.program.length_days,
            "language": item.program.language,
            "hash": item.program.content_hash()[:12],
            "path": str(item.path),
        }
        for pid, item in sorted(catalog.items())
    ]
    if args.json:
        _print_json(rows)
    else:
        _print_table(rows, ["id", "title", "weeks", "days", "language", "path"])
    return 0


def _run_db(settings: Settings, work: Callable[..., Any]) -> Any:
    """Upgrade the database, then run `work(session)` in one committed unit of work."""
    from bot.db.migrate import upgrade
    from bot.db.session import create_engine, create_session_factory, unit_of_work

    upgrade(settings.database_url)

    async def _main() -> Any:
        engine = create_engine(settings.database_url)
        try:
            async with unit_of_work(create_session_factory(engine)) as session:
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(_main())


def cmd_cohort_create(settings: Settings, args: argparse.Namespace) -> int:
    from bot.curriculum.loader import CurriculumError, load_catalog
    from bot.services.catalog import ensure_version
    from bot.services.clock import SystemClock
    from bot.services.cohorts import InvalidTimezone, check_timezone, create_cohort

    try:
        catalog = load_catalog(settings.curricula_dir)
    except CurriculumError as exc:
        raise CliError(str(exc.problems[0])) from None
    if args.curriculum not in catalog:
        known = ", ".join(sorted(catalog)) or "none"
        raise CliError(f"unknown curriculum {args.curriculum!r} (known: {known})")
    try:
        check_timezone(args.timezone)
    except InvalidTimezone as exc:
        hint = f"; did you mean {', '.join(exc.suggestions)}?" if exc.suggestions else ""
        raise CliError(f"--timezone: unknown time zone {args.timezone!r}{hint}") from None

    async def work(session: Any) -> dict[str, Any]:
        version = await ensure_version(session=session, loaded=catalog[args.curriculum])
        cohort = await create_cohort(
            session=session,
            version=version,
            name=args.name,
            start=args.start,
            timezone=args.timezone,
            delivery_time=args.delivery_time,
            now=SystemClock().now(),
        )
        return {
            "id": cohort.id,
            "name": cohort.name,
            "curriculum": args.curriculum,
            "content_hash": version.content_hash,
            "start_date": cohort.start_date.isoformat(),
            "start_at": cohort.start_at.isoformat(),
            "timezone": cohort.timezone,
            "delivery_time": cohort.delivery_time.strftime("%H:%M"),
            "invite_code": cohort.invite_code,
            "invite_link": _deep_link(settings, cohort.invite_code),
        }

    result = _run_db(settings, work)
    if args.json:
        _print_json(result)
    else:
        print(f"Created cohort {result['id']} ({result['name']}), starting {result['start_date']}")
        print(f"Invite code: {result['invite_code']}")
        if result["invite_link"]:
            print(f"Invite link: {result['invite_link']}")
        else:
            print("Set BOT_USERNAME to print the invite link (https://t.me/<bot>?start=<code>).")
    return 0


def _deep_link(settings: Settings, payload: str) -> str | None:
    if not settings.bot_username:
        return None
    return f"https://t.me/{settings.bot_username.lstrip('@')}?start={payload}"


def cmd_cohort_list(settings: Settings, args: argparse.Namespace) -> int:
    from bot.services.clock import ProgramClock, SystemClock
    from bot.services.cohorts import list_cohorts

    async def work(session: Any) -> list[dict[str, Any]]:
        summaries = await list_cohorts(
            session=session,
            clock=ProgramClock(settings.day_length_seconds),
            now=SystemClock().now(),
        )
        return [asdict(s) for s in summaries]

    rows = _run_db(settings, work)
    if args.json:
        _print_json(rows)
    else:
        for row in rows:
            row["day"] = f"{row['day']}/{row['length_days']}"
            row["people"] = f"{row['active']}/{row['participants']}"
        _print_table(rows, ["id", "name", "program_id", "day", "people", "status", "invite_code"])
    return 0


# --- parser -------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="resilience-bot", description="A Telegram bot that runs group resilience programs."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="upgrade the database and run the bot")
    run.set_defaults(handler=cmd_run)

    demo = commands.add_parser(
        "demo", help="run a whole program offline: emulator, bot and simulated participants"
    )
    demo.add_argument("--participants", type=int, default=8, help="simulated participants")
    demo.add_argument("--day-seconds", type=float, default=2.0, help="length of a program day")
    demo.set_defaults(handler=cmd_demo)

    db = commands.add_parser("db", help="database maintenance").add_subparsers(
        dest="db_command", required=True, metavar="ACTION"
    )
    db.add_parser("upgrade", help="apply all migrations").set_defaults(handler=cmd_db_upgrade)

    curricula = commands.add_parser("curricula", help="curriculum files").add_subparsers(
        dest="curricula_command", required=True, metavar="ACTION"
    )
    validate = curricula.add_parser(
        "validate", help="check curriculum files; print problems as file:line:column: message"
    )
    validate.add_argument("paths", nargs="*", help="files or folders (default: CURRICULA_DIR)")
    validate.add_argument("--json", action="store_true", help="print JSON")
    validate.set_defaults(handler=cmd_curricula_validate)
    listing = curricula.add_parser("list", help="list the programs in CURRICULA_DIR")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=cmd_curricula_list)

    cohort = commands.add_parser("cohort", help="cohorts").add_subparsers(
        dest="cohort_command", required=True, metavar="ACTION"
    )
    create = cohort.add_parser("create", help="create a cohort and print its invite link")
    create.add_argument("--curriculum", required=True, help="program id (see 'curricula list')")
    create.add_argument("--name", required=True, help="a name facilitators recognise")
    create.add_argument(
        "--start", required=True, type=_parse_start, help="first day, YYYY-MM-DD or 'now'"
    )
    create.add_argument("--timezone", default="UTC", help="IANA time zone, e.g. Europe/Berlin")
    create.add_argument(
        "--delivery-time", default=time(9, 0), type=_parse_hhmm, help="local HH:MM (09:00)"
    )
    create.add_argument("--json", action="store_true", help="print JSON")
    create.set_defaults(handler=cmd_cohort_create)
    cohort_list = cohort.add_parser("list", help="list cohorts")
    cohort_list.add_argument("--json", action="store_true", help="print JSON")
    cohort_list.set_defaults(handler=cmd_cohort_list)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        code = args.handler(settings, args)
    except (ConfigError, CliError) as exc:
        print(f"resilience-bot: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        code = 130
    sys.exit(code)
