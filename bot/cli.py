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


def _run_db(settings: Settings, work: Callable[..., Any], *, read_only: bool = False) -> Any:
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


# --- facilitator commands: cohorts, reports, exports, facilitators ------------------------


def _now() -> Any:
    from bot.services.clock import SystemClock

    return SystemClock().now()


async def _existing_cohort(session: Any, cohort_id: int) -> Any:
    from bot.db.models import Cohort

    cohort = await session.get(Cohort, cohort_id)
    if cohort is None:
        raise CliError(f"cohort {cohort_id} not found (see 'resilience-bot cohort list')")
    return cohort


def cmd_cohort_show(settings: Settings, args: argparse.Namespace) -> int:
    from bot.services.clock import ProgramClock
    from bot.services.cohorts import list_cohorts
    from bot.services.facilitators import list_facilitators

    async def work(session: Any) -> dict[str, Any]:
        cohort = await _existing_cohort(session, args.id)
        (summary,) = await list_cohorts(
            session=session,
            clock=ProgramClock(settings.day_length_seconds),
            now=_now(),
            cohort_ids={args.id},
        )
        people = await list_facilitators(session=session, cohort_id=args.id)
        return {
            **asdict(summary),
            "invite_link": _deep_link(settings, cohort.invite_code),
            "group_chat_id": cohort.group_chat_id,
            "closed_at": cohort.closed_at,
            "facilitators": [p.telegram_user_id for p in people],
        }

    result = _run_db(settings, work)
    if args.json:
        _print_json(result)
        return 0
    for key in ("id", "name", "program_id", "status", "start_date", "timezone", "delivery_time"):
        print(f"{key:<14} {result[key]}")
    print(f"{'day':<14} {result['day']}/{result['length_days']}")
    print(f"{'active':<14} {result['active']} of {result['participants']}")
    print(f"{'invite':<14} {result['invite_link'] or result['invite_code']}")
    print(f"{'group chat':<14} {result['group_chat_id'] or '(not linked)'}")
    print(f"{'facilitators':<14} {', '.join(map(str, result['facilitators'])) or '(none)'}")
    return 0


def cmd_cohort_close(settings: Settings, args: argparse.Namespace) -> int:
    from bot.services.facilitators import audit, close_cohort

    async def work(session: Any) -> dict[str, Any]:
        await _existing_cohort(session, args.id)
        now = _now()
        cohort = await close_cohort(session=session, cohort_id=args.id, now=now)
        await audit(session=session, actor=None, action="close", cohort_id=args.id, now=now)
        return {
            "id": cohort.id,
            "name": cohort.name,
            "status": cohort.status,
            "closed_at": cohort.closed_at,
        }

    result = _run_db(settings, work)
    if args.json:
        _print_json(result)
    else:
        print(f"Closed cohort {result['id']} ({result['name']}): nothing more will be sent.")
    return 0


def cmd_report(settings: Settings, args: argparse.Namespace) -> int:
    from bot.services.clock import ProgramClock
    from bot.services.facilitators import audit
    from bot.services.reports import build_report, render_report_text, report_to_dict

    async def work(session: Any) -> Any:
        await _existing_cohort(session, args.cohort)
        now = _now()
        report = await build_report(
            session=session,
            cohort_id=args.cohort,
            now=now,
            clock=ProgramClock(settings.day_length_seconds),
            at_risk_days=settings.at_risk_days,
        )
        await audit(
            session=session,
            actor=None,
            action="report",
            cohort_id=args.cohort,
            detail="cli",
            now=now,
        )
        return report

    report = _run_db(settings, work)
    if args.json:
        _print_json(report_to_dict(report))
    else:
        print(render_report_text(report))
    return 0


def cmd_export(settings: Settings, args: argparse.Namespace) -> int:
    """Stream every answer to a file (constant memory), with progress on a terminal.

    On SQLite the rows are read outside a write transaction, so a long export never holds up
    the running bot; the file appears under its name only once it is complete.
    """
    import os

    from bot.services.clock import ProgramClock
    from bot.services.export import count_answers, write_export
    from bot.services.facilitators import audit

    to_stdout = args.output == "-"
    show_progress = sys.stderr.isatty() and not to_stdout
    target = Path(args.output)
    partial = target.with_name(target.name + ".part")

    def progress_printer(total: int) -> Callable[[int], None]:
        def progress(done: int) -> None:
            share = done * 100 // total if total else 100
            print(
                f"\rExporting: {done:,} of {total:,} answers ({share}%)",
                end="",
                file=sys.stderr,
                flush=True,
            )

        return progress

    async def export(session: Any) -> int:
        await _existing_cohort(session, args.cohort)
        total = await count_answers(session=session, cohort_id=args.cohort)
        try:
            out = sys.stdout if to_stdout else partial.open("w", encoding="utf-8", newline="")
        except OSError as exc:
            raise CliError(f"--output: cannot write {args.output}: {exc.strerror}") from None
        try:
            count = await write_export(
                session=session,
                cohort_id=args.cohort,
                fmt=args.format,
                out=out,
                clock=ProgramClock(settings.day_length_seconds),
                on_progress=progress_printer(total) if show_progress else None,
            )
        except BaseException:
            if not to_stdout:
                out.close()
                partial.unlink(missing_ok=True)
            raise
        if not to_stdout:
            out.close()
            os.replace(partial, target)
        if show_progress:
            print(file=sys.stderr)
        return count

    async def record(session: Any) -> None:
        await audit(
            session=session,
            actor=None,
            action="export",
            cohort_id=args.cohort,
            detail=f"cli, {args.format}, {count} answers",
            now=_now(),
        )

    count = _run_db(settings, export, read_only=True)
    _run_db(settings, record)
    summary = {
        "cohort_id": args.cohort,
        "format": args.format,
        "output": args.output,
        "answers": count,
    }
    if args.json and not to_stdout:
        _print_json(summary)
    else:
        print(
            json.dumps(summary) if args.json else f"Exported {count} answers to {args.output}",
            file=sys.stderr if to_stdout else sys.stdout,
        )
    return 0


def cmd_facilitator_add(settings: Settings, args: argparse.Namespace) -> int:
    from bot.services.facilitators import add_facilitator, audit

    async def work(session: Any) -> bool:
        await _existing_cohort(session, args.cohort)
        now = _now()
        added = await add_facilitator(
            session=session,
            cohort_id=args.cohort,
            telegram_user_id=args.telegram_id,
            added_by=None,
            now=now,
        )
        if added:
            await audit(
                session=session,
                actor=None,
                action="facilitator-added",
                cohort_id=args.cohort,
                detail=f"cli: {args.telegram_id}",
                now=now,
            )
        return added

    added = _run_db(settings, work)
    if args.json:
        _print_json({"cohort_id": args.cohort, "telegram_id": args.telegram_id, "added": added})
    elif added:
        print(f"{args.telegram_id} now facilitates cohort {args.cohort}")
    else:
        print(f"{args.telegram_id} already facilitates cohort {args.cohort}")
    return 0


def cmd_facilitator_remove(settings: Settings, args: argparse.Namespace) -> int:
    from bot.services.facilitators import audit, remove_facilitator

    async def work(session: Any) -> bool:
        await _existing_cohort(session, args.cohort)
        removed = await remove_facilitator(
            session=session, cohort_id=args.cohort, telegram_user_id=args.telegram_id
        )
        if removed:
            await audit(
                session=session,
                actor=None,
                action="facilitator-removed",
                cohort_id=args.cohort,
                detail=f"cli: {args.telegram_id}",
                now=_now(),
            )
        return removed

    removed = _run_db(settings, work)
    if args.json:
        _print_json({"cohort_id": args.cohort, "telegram_id": args.telegram_id, "removed": removed})
    elif removed:
        print(f"{args.telegram_id} no longer facilitates cohort {args.cohort}")
    else:
        raise CliError(f"{args.telegram_id} is not a facilitator of cohort {args.cohort}")
    return 0


def cmd_facilitator_list(settings: Settings, args: argparse.Namespace) -> int:
    from bot.services.facilitators import list_facilitators

    async def work(session: Any) -> list[dict[str, Any]]:
        if args.cohort is not None:
            await _existing_cohort(session, args.cohort)
        rows = await list_facilitators(session=session, cohort_id=args.cohort)
        return [asdict(r) for r in rows]

    rows = _run_db(settings, work)
    if args.json:
        _print_json({"administrators": sorted(settings.facilitator_ids), "facilitators": rows})
        return 0
    admins = ", ".join(map(str, sorted(settings.facilitator_ids))) or "(none)"
    print(f"Administrators (FACILITATOR_IDS, see every cohort): {admins}")
    for row in rows:
        row["name"] = row["display_name"] or ""
        row["cohort"] = f"{row['cohort_id']} {row['cohort_name']}"
    _print_table(rows, ["cohort", "telegram_user_id", "name", "added_at"])
    return 0


def cmd_facilitator_invite(settings: Settings, args: argparse.Namespace) -> int:
    from bot.services.facilitators import INVITE_PREFIX, create_invite

    async def work(session: Any) -> dict[str, Any]:
        cohort = await _existing_cohort(session, args.cohort)
        invite = await create_invite(
            session=session, cohort_id=args.cohort, created_by=None, now=_now()
        )
        payload = INVITE_PREFIX + invite.code
        return {
            "cohort_id": cohort.id,
            "cohort_name": cohort.name,
            "payload": payload,
            "invite_link": _deep_link(settings, payload),
            "valid_days": 7,
        }

    result = _run_db(settings, work)
    if args.json:
        _print_json(result)
    elif result["invite_link"]:
        print(f"Facilitator invite for {result['cohort_name']} (single use, 7 days):")
        print(result["invite_link"])
    else:
        print(
            f"Facilitator invite: send /start {result['payload']} to the bot (single use, "
            "7 days). Set BOT_USERNAME to print a link."
        )
    return 0


def cmd_purge(settings: Settings, args: argparse.Namespace) -> int:
    """Erase the answers of cohorts whose retention period is over (see bot/services/retention)."""
    from bot.services.clock import ProgramClock, SystemClock
    from bot.services.retention import purge_due

    async def work(session: Any) -> list[dict[str, Any]]:
        items = await purge_due(
            session=session,
            clock=ProgramClock(settings.day_length_seconds),
            now=SystemClock().now(),
            dry_run=args.dry_run,
        )
        return [item.as_dict() for item in items]

    rows = _run_db(settings, work)
    if args.json:
        _print_json({"dry_run": args.dry_run, "cohorts": rows})
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
    show = cohort.add_parser("show", help="one cohort: day, people, invite, facilitators")
    show.add_argument("id", type=int, help="cohort id")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(handler=cmd_cohort_show)
    close = cohort.add_parser("close", help="close a cohort: no more joining, nothing more sent")
    close.add_argument("id", type=int, help="cohort id")
    close.add_argument("--json", action="store_true", help="print JSON")
    close.set_defaults(handler=cmd_cohort_close)

    report = commands.add_parser("report", help="a cohort's engagement report (as in the chat)")
    report.add_argument("cohort", type=int, help="cohort id")
    report.add_argument("--json", action="store_true", help="print JSON")
    report.set_defaults(handler=cmd_report)

    export = commands.add_parser("export", help="all answers of a cohort to a CSV or JSONL file")
    export.add_argument("cohort", type=int, help="cohort id")
    export.add_argument("--format", choices=["csv", "jsonl"], default="csv", help="csv or jsonl")
    export.add_argument("--output", required=True, help="file to write ('-' for stdout)")
    export.add_argument("--json", action="store_true", help="print the summary as JSON")
    export.set_defaults(handler=cmd_export)

    facilitator = commands.add_parser(
        "facilitator", help="who may see which cohort"
    ).add_subparsers(dest="facilitator_command", required=True, metavar="ACTION")
    for name, handler, text in (
        ("add", cmd_facilitator_add, "give a Telegram user access to a cohort"),
        ("remove", cmd_facilitator_remove, "take a Telegram user's access away"),
    ):
        action = facilitator.add_parser(name, help=text)
        action.add_argument("--cohort", type=int, required=True, help="cohort id")
        action.add_argument("--telegram-id", type=int, required=True, help="Telegram user id")
        action.add_argument("--json", action="store_true", help="print JSON")
        action.set_defaults(handler=handler)
    fac_list = facilitator.add_parser("list", help="administrators and facilitators")
    fac_list.add_argument("--cohort", type=int, help="only this cohort")
    fac_list.add_argument("--json", action="store_true", help="print JSON")
    fac_list.set_defaults(handler=cmd_facilitator_list)
    invite = facilitator.add_parser("invite", help="a single-use facilitator invite link")
    invite.add_argument("--cohort", type=int, required=True, help="cohort id")
    invite.add_argument("--json", action="store_true", help="print JSON")
    invite.set_defaults(handler=cmd_facilitator_invite)
    purge = commands.add_parser(
        "purge", help="erase answers of cohorts past their retention period (Cohort.retention_days)"
    )
    purge.add_argument("--dry-run", action="store_true", help="only show what would be erased")
    purge.add_argument("--json", action="store_true", help="print JSON")
    purge.set_defaults(handler=cmd_purge)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        from bot.db import crypto  # answers and names, if ANSWER_ENCRYPTION_KEY is set

        crypto.configure(settings.answer_encryption_key)
        code = args.handler(settings, args)
    except (ConfigError, CliError) as exc:
        print(f"resilience-bot: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        code = 130
    sys.exit(code)
