"""`curricula validate` and `curricula list`: the program files."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bot.cli.common import CliError, add_json_flag, print_json, print_table
from bot.config import Settings


def load_catalog_or_fail(settings: Settings, hint: str = "") -> dict[str, Any]:
    """Every program in CURRICULA_DIR; the first problem (and `hint`) as a CliError."""
    from bot.curriculum.loader import CurriculumError, load_catalog

    try:
        return load_catalog(settings.curricula_dir)
    except CurriculumError as exc:
        raise CliError(f"{exc.problems[0]}{hint}") from None


def cmd_curricula_validate(settings: Settings, args: argparse.Namespace) -> int:
    from bot.curriculum.loader import discover, validate_paths

    paths = [Path(p) for p in args.paths] or [settings.curricula_dir]
    files = discover(paths)
    problems = validate_paths(paths)
    if args.json:
        print_json({"files": [str(f) for f in files], "problems": [asdict(p) for p in problems]})
    else:
        for problem in problems:
            print(problem)
        if not problems:
            print(f"{len(files)} curriculum file(s) OK")
    return 1 if problems or not files else 0


def cmd_curricula_list(settings: Settings, args: argparse.Namespace) -> int:
    catalog = load_catalog_or_fail(settings, " (run 'resilience-bot curricula validate')")
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
        print_json(rows)
    else:
        print_table(rows, ["id", "title", "weeks", "days", "language", "path"])
    return 0


def add_curricula(commands: Any) -> None:
    curricula = commands.add_parser("curricula", help="curriculum files").add_subparsers(
        dest="curricula_command", required=True, metavar="ACTION"
    )
    validate = curricula.add_parser(
        "validate", help="check curriculum files; print problems as file:line:column: message"
    )
    validate.add_argument("paths", nargs="*", help="files or folders (default: CURRICULA_DIR)")
    add_json_flag(validate)
    validate.set_defaults(handler=cmd_curricula_validate)
    listing = curricula.add_parser("list", help="list the programs in CURRICULA_DIR")
    add_json_flag(listing)
    listing.set_defaults(handler=cmd_curricula_list)
