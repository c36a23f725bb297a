"""The `resilience-bot` command line.

One module per command group; each adds its sub-commands to the parser and holds their
handlers. Heavy imports happen inside the handlers, so `--help` stays quick.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from bot.cli import (
    cohorts,
    curricula,
    facilitators,
    inbox,
    maintenance,
    reports,
    run,
    safety,
)
from bot.cli.common import CliError
from bot.config import ConfigError, load_settings

__all__ = ["CliError", "build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="resilience-bot", description="A Telegram bot that runs group resilience programs."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    # In the order `--help` lists them.
    run.add_run(commands)
    run.add_demo(commands)
    maintenance.add_db(commands)
    curricula.add_curricula(commands)
    cohorts.add_cohort(commands)
    reports.add_report(commands)
    reports.add_export(commands)
    facilitators.add_facilitator_commands(commands)
    maintenance.add_purge(commands)
    inbox.add_inbox(commands)
    maintenance.add_health(commands)
    maintenance.add_doctor(commands)
    safety.add_safety(commands)
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
