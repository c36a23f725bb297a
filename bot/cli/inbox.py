"""`inbox failed` and `inbox retry`: updates whose handling kept failing, set aside."""

from __future__ import annotations

import argparse
from typing import Any

from bot.cli.common import CliError, add_json_flag, print_json, print_table, run_db
from bot.config import Settings


def cmd_failed(settings: Settings, args: argparse.Namespace) -> int:
    from bot.services.inbox_failures import failed_updates

    async def work(session: Any) -> list[dict[str, Any]]:
        return [row.as_dict() for row in await failed_updates(session=session)]

    rows = run_db(settings, work, read_only=True)
    if args.json:
        print_json(rows)
    else:
        print_table(rows, ["update_id", "received_at", "failed_at", "error"])
    return 0


def cmd_retry(settings: Settings, args: argparse.Namespace) -> int:
    from bot.services.inbox_failures import retry_failed

    if args.all == (args.update_id is not None):
        raise CliError("inbox retry: give one update id, or --all")
    wanted = None if args.all else [args.update_id]

    async def work(session: Any) -> list[int]:
        return await retry_failed(session=session, update_ids=wanted)

    ids = run_db(settings, work)
    if args.update_id is not None and not ids:
        raise CliError(f"update {args.update_id} is not among the failed ones (see 'inbox failed')")
    if args.json:
        print_json({"queued": ids})
    else:
        print(
            f"{len(ids)} update(s) queued again; the running bot handles them within seconds "
            "(or at its next start)"
        )
    return 0


def add_inbox(commands: Any) -> None:
    inbox = commands.add_parser(
        "inbox", help="updates set aside after their handling kept failing"
    ).add_subparsers(dest="inbox_command", required=True, metavar="ACTION")
    failed = inbox.add_parser("failed", help="list them (id, time, error; never the text)")
    add_json_flag(failed)
    failed.set_defaults(handler=cmd_failed)
    retry = inbox.add_parser("retry", help="handle them again, exactly once")
    retry.add_argument("update_id", nargs="?", type=int, help="one update id")
    retry.add_argument("--all", action="store_true", help="every failed update")
    add_json_flag(retry)
    retry.set_defaults(handler=cmd_retry)
