"""`facilitator add | remove | list | invite`: who may see which cohort."""

from __future__ import annotations

import argparse
from dataclasses import asdict
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
    run_db,
)
from bot.config import Settings


def cmd_facilitator_add(settings: Settings, args: argparse.Namespace) -> int:
    from bot.services.facilitators import add_facilitator

    async def work(session: Any) -> bool:
        await existing_cohort(session, args.cohort)
        at = now()
        added = await add_facilitator(
            session=session,
            cohort_id=args.cohort,
            telegram_user_id=args.telegram_id,
            added_by=None,
            now=at,
        )
        if added:
            await audit(session, "facilitator-added", args.cohort, _detail(args), at=at)
        return added

    added = run_db(settings, work)
    if args.json:
        print_json({"cohort_id": args.cohort, "telegram_id": args.telegram_id, "added": added})
    elif added:
        print(f"{args.telegram_id} now facilitates cohort {args.cohort}")
    else:
        print(f"{args.telegram_id} already facilitates cohort {args.cohort}")
    return 0


def cmd_facilitator_remove(settings: Settings, args: argparse.Namespace) -> int:
    from bot.services.facilitators import remove_facilitator

    async def work(session: Any) -> bool:
        await existing_cohort(session, args.cohort)
        removed = await remove_facilitator(
            session=session, cohort_id=args.cohort, telegram_user_id=args.telegram_id
        )
        if removed:
            await audit(session, "facilitator-removed", args.cohort, _detail(args), at=now())
        return removed

    removed = run_db(settings, work)
    if args.json:
        print_json({"cohort_id": args.cohort, "telegram_id": args.telegram_id, "removed": removed})
    elif removed:
        print(f"{args.telegram_id} no longer facilitates cohort {args.cohort}")
    else:
        raise CliError(f"{args.telegram_id} is not a facilitator of cohort {args.cohort}")
    return 0


def _detail(args: argparse.Namespace) -> str:
    return f"cli: {args.telegram_id}"


def cmd_facilitator_list(settings: Settings, args: argparse.Namespace) -> int:
    from bot.services.facilitators import list_facilitators

    async def work(session: Any) -> list[dict[str, Any]]:
        if args.cohort is not None:
            await existing_cohort(session, args.cohort)
        rows = await list_facilitators(session=session, cohort_id=args.cohort)
        return [asdict(r) for r in rows]

    rows = run_db(settings, work)
    if args.json:
        print_json({"administrators": sorted(settings.facilitator_ids), "facilitators": rows})
        return 0
    admins = ", ".join(map(str, sorted(settings.facilitator_ids))) or "(none)"
    print(f"Administrators (FACILITATOR_IDS, see every cohort): {admins}")
    for row in rows:
        row["name"] = row["display_name"] or ""
        row["cohort"] = f"{row['cohort_id']} {row['cohort_name']}"
    print_table(rows, ["cohort", "telegram_user_id", "name", "added_at"])
    return 0


def cmd_facilitator_invite(settings: Settings, args: argparse.Namespace) -> int:
    from bot.services.facilitators import INVITE_PREFIX, create_invite

    async def work(session: Any) -> dict[str, Any]:
        cohort = await existing_cohort(session, args.cohort)
        invite = await create_invite(
            session=session, cohort_id=args.cohort, created_by=None, now=now()
        )
        payload = INVITE_PREFIX + invite.code
        return {
            "cohort_id": cohort.id,
            "cohort_name": cohort.name,
            "payload": payload,
            "invite_link": deep_link(settings, payload),
            "valid_days": 7,
        }

    result = run_db(settings, work)
    if args.json:
        print_json(result)
    elif result["invite_link"]:
        print(f"Facilitator invite for {result['cohort_name']} (single use, 7 days):")
        print(result["invite_link"])
    else:
        print(
            f"Facilitator invite: send /start {result['payload']} to the bot (single use, "
            "7 days). Set BOT_USERNAME to print a link."
        )
    return 0


def add_facilitator_commands(commands: Any) -> None:
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
        add_json_flag(action)
        action.set_defaults(handler=handler)
    fac_list = facilitator.add_parser("list", help="administrators and facilitators")
    fac_list.add_argument("--cohort", type=int, help="only this cohort")
    add_json_flag(fac_list)
    fac_list.set_defaults(handler=cmd_facilitator_list)
    invite = facilitator.add_parser("invite", help="a single-use facilitator invite link")
    invite.add_argument("--cohort", type=int, required=True, help="cohort id")
    add_json_flag(invite)
    invite.set_defaults(handler=cmd_facilitator_invite)
