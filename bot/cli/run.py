"""`run` (the bot itself) and `demo` (a whole program offline)."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from bot.config import Settings


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    settings.require_token()
    from bot.runner import run_forever

    return run_forever(settings)


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    from bot.demo import run_demo

    return asyncio.run(run_demo(participants=args.participants, day_seconds=args.day_seconds))


def add_run(commands: Any) -> None:
    run = commands.add_parser("run", help="upgrade the database and run the bot")
    run.set_defaults(handler=cmd_run)


def add_demo(commands: Any) -> None:
    demo = commands.add_parser(
        "demo", help="run a whole program offline: emulator, bot and simulated participants"
    )
    demo.add_argument("--participants", type=int, default=8, help="simulated participants")
    demo.add_argument("--day-seconds", type=float, default=2.0, help="length of a program day")
    demo.set_defaults(handler=cmd_demo)
