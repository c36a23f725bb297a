"""`cohort create | list | show | close`."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from datetime import date, time
from typing import Any

from bot.cli.common import (
    CliError,
    add_json_flag,
    audit,
    deep_link,
    existing_cohort,
    now,
    print_json,
    print_table,
    program_clock,
    run_db,
)
from bot.cli.curricula import load_catalog_or_fail
from bot.config import Settings


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


def cmd_cohort_create(settings: Settings, args: argparse.Namespace) -> int:
    from bot.services.catalog import ensure_version
    from bot.services.cohorts import InvalidTimezone, check_timezone, create_cohort

    catalog = load_catalog_or_fail(settings)
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
            now=now(),
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
            "invite_link": deep_link(settings, cohort.invite_code),
        }

    result = run_db(settings, work)
    if args.json:
        print_json(result)
    else:
        print(f"Created cohort {result['id']} ({result['name']}), starting {result['start_date']}")
        print(f"Invite code: {result['invite_code']}")
        if result["invite_link"]:
            print(f"Invite link: {result['invite_link']}")
        else:
            print("Set BOT_USERNAME to print the invite link (https://t.me/<bot>?start=<code>).")
    return 0


def cmd_cohort_list(settings: Settings, args: argparse.Namespace) -> int:
    from bot.services.cohorts import list_cohorts

    async def work(session: Any) -> list[dict[str, Any]]:
        summaries = await list_cohorts(session=session, clock=program_clock(settings), now=now())
        return [asdict(s) for s in summaries]

    rows = run_db(settings, work)
    if args.json:
        print_json(rows)
    else:
        for row in rows:
            row["day"] = f"{row['day']}/{row['length_days']}"
            row["people"] = f"{row['active']}/{row['participants']}"
        print_table(rows, ["id", "name", "program_id", "day", "people", "status", "invite_code"])
    return 0


def cmd_cohort_show(settings: Settings, args: argparse.Namespace) -> int:
    from bot.services.cohorts import list_cohorts
    from bot.services.facilitators import list_facilitators

    async def work(session: Any) -> dict[str, Any]:
        cohort = await existing_cohort(session, args.id)
        (summary,) = await list_cohorts(
            session=session, clock=program_clock(settings), now=now(), cohort_ids={args.id}
        )
        people = await list_facilitators(session=session, cohort_id=args.id)
        return {
            **asdict(summary),
            "invite_link": deep_link(settings, cohort.invite_code),
            "group_chat_id": cohort.group_chat_id,
            "closed_at": cohort.closed_at,
            "facilitators": [p.telegram_user_id for p in people],
        }

    result = run_db(settings, work)
    if args.json:
        print_json(result)
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
    from bot.services.facilitators import close_cohort

    async def work(session: Any) -> dict[str, Any]:
        await existing_cohort(session, args.id)
        at = now()
        cohort = await close_cohort(session=session, cohort_id=args.id, now=at)
        await audit(session, "close", args.id, at=at)
        return {
            "id": cohort.id,
            "name": cohort.name,
            "status": cohort.status,
            "closed_at": cohort.closed_at,
        }

    result = run_db(settings, work)
    if args.json:
        print_json(result)
    else:
        print(f"Closed cohort {result['id']} ({result['name']}): nothing more will be sent.")
    return 0


def add_cohort(commands: Any) -> None:
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
    add_json_flag(create)
    create.set_defaults(handler=cmd_cohort_create)
    cohort_list = cohort.add_parser("list", help="list cohorts")
    add_json_flag(cohort_list)
    cohort_list.set_defaults(handler=cmd_cohort_list)
    for name, handler, text in (
        ("show", cmd_cohort_show, "one cohort: day, people, invite, facilitators"),
        ("close", cmd_cohort_close, "close a cohort: no more joining, nothing more sent"),
    ):
        action = cohort.add_parser(name, help=text)
        action.add_argument("id", type=int, help="cohort id")
        add_json_flag(action)
        action.set_defaults(handler=handler)
