"""`report` (a cohort's engagement, as in the chat) and `export` (every answer to a file)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.cli.common import (
    CliError,
    add_json_flag,
    audit,
    existing_cohort,
    now,
    print_json,
    program_clock,
    run_db,
)
from bot.config import Settings


def cmd_report(settings: Settings, args: argparse.Namespace) -> int:
    from bot.services.reports import build_report, render_report_text, report_to_dict

    async def work(session: Any) -> Any:
        await existing_cohort(session, args.cohort)
        at = now()
        report = await build_report(
            session=session,
            cohort_id=args.cohort,
            now=at,
            clock=program_clock(settings),
            at_risk_days=settings.at_risk_days,
        )
        await audit(session, "report", args.cohort, "cli", at=at)
        return report

    report = run_db(settings, work)
    if args.json:
        print_json(report_to_dict(report))
    else:
        print(render_report_text(report))
    return 0


def cmd_export(settings: Settings, args: argparse.Namespace) -> int:
    """Stream every answer to a file (constant memory), with progress on a terminal.

    On SQLite the rows are read outside a write transaction, so a long export never holds up
    the running bot; the file appears under its name only once it is complete.
    """
    import os

    from bot.services.export import count_answers, write_export

    to_stdout = args.output == "-"
    show_progress = sys.stderr.isatty() and not to_stdout
    target = Path(args.output)
    partial = target.with_name(target.name + ".part")

    async def export(session: Any) -> int:
        await existing_cohort(session, args.cohort)
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
                clock=program_clock(settings),
                on_progress=_progress_printer(total) if show_progress else None,
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
            session, "export", args.cohort, f"cli, {args.format}, {count} answers", at=now()
        )

    count = run_db(settings, export, read_only=True)
    run_db(settings, record)
    summary = {
        "cohort_id": args.cohort,
        "format": args.format,
        "output": args.output,
        "answers": count,
    }
    if args.json and not to_stdout:
        print_json(summary)
    else:
        print(
            json.dumps(summary) if args.json else f"Exported {count} answers to {args.output}",
            file=sys.stderr if to_stdout else sys.stdout,
        )
    return 0


def _progress_printer(total: int) -> Callable[[int], None]:
    def progress(done: int) -> None:
        share = done * 100 // total if total else 100
        print(
            f"\rExporting: {done:,} of {total:,} answers ({share}%)",
            end="",
            file=sys.stderr,
            flush=True,
        )

    return progress


def add_report(commands: Any) -> None:
    report = commands.add_parser("report", help="a cohort's engagement report (as in the chat)")
    report.add_argument("cohort", type=int, help="cohort id")
    add_json_flag(report)
    report.set_defaults(handler=cmd_report)


def add_export(commands: Any) -> None:
    export = commands.add_parser("export", help="all answers of a cohort to a CSV or JSONL file")
    export.add_argument("cohort", type=int, help="cohort id")
    export.add_argument("--format", choices=["csv", "jsonl"], default="csv", help="csv or jsonl")
    export.add_argument("--output", required=True, help="file to write ('-' for stdout)")
    add_json_flag(export, help="print the summary as JSON")
    export.set_defaults(handler=cmd_export)
