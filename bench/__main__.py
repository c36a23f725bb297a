"""python -m bench all | broadcast | free-limits | scheduler | inbound | reports | safety [-h]."""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from bench import broadcast, free_limits, inbound, reports, safety, scheduler
from bench.common import (
    ORDER,
    RESULTS_DIR,
    RESULTS_MD,
    ROOT,
    Result,
    database_kinds,
    fresh_database,
    load_json,
    table,
    write_json,
    write_markdown,
)

MODULES: dict[str, ModuleType] = {
    broadcast.NAME: broadcast,
    free_limits.NAME: free_limits,
    scheduler.NAME: scheduler,
    inbound.NAME: inbound,
    reports.NAME: reports,
    safety.NAME: safety,
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    sub = parser.add_subparsers(dest="benchmark", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--db",
        choices=["sqlite", "postgresql"],
        help="only this database (default: SQLite, and PostgreSQL when TEST_DATABASE_URL is set)",
    )
    common.add_argument("--out", type=Path, default=RESULTS_DIR, help="where the JSON goes")
    common.add_argument(
        "--markdown",
        type=Path,
        default=None,
        help="write the combined table of the latest results in --out here ('-' for none; "
        f"default: {RESULTS_MD.name} for 'all', none for a single benchmark)",
    )
    sub.add_parser("all", parents=[common], help="every benchmark at its default size")
    for name in ORDER:
        module = MODULES[name]
        doc = (module.__doc__ or "").strip().splitlines()[0].replace("%", "%%")  # argparse
        module.add_arguments(sub.add_parser(name, parents=[common], help=doc, description=doc))
    return parser.parse_args(argv)


async def run_on(module: ModuleType, args: argparse.Namespace, kind: str, url: str | None) -> Any:
    async with fresh_database(kind, url) as database:
        return await module.run(kind, database, args)


def run_one(module: ModuleType, args: argparse.Namespace) -> list[Result]:
    """The benchmark on each database, each in an event loop of its own."""
    results: list[Result] = []
    for kind, url in database_kinds(args.db):
        found = asyncio.run(run_on(module, args, kind, url))
        results += found if isinstance(found, list) else [found]
    return results


def run_all(args: argparse.Namespace) -> int:
    """Each benchmark in its own process, so none inherits another's memory or event loop."""
    failed = []
    for name in ORDER:
        command = [sys.executable, "-m", "bench", name, "--out", str(args.out), "--markdown", "-"]
        if args.db:
            command += ["--db", args.db]
        print(f"== {name}", flush=True)
        started = time.perf_counter()
        code = subprocess.call(command, cwd=ROOT)
        print(f"== {name}: {time.perf_counter() - started:.0f} s, exit {code}\n", flush=True)
        if code:
            failed.append(name)
    results: list[Result] = []
    for name in ORDER:
        path = args.out / f"{name}.json"
        if path.exists() and name not in failed:
            results += load_json(path)[1]
    print(table(results))
    markdown = args.markdown or RESULTS_MD
    if str(markdown) != "-":
        write_markdown(args.out, markdown)
        print(f"\nwrote {markdown}")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.benchmark == "all":
        return run_all(args)
    module = MODULES[args.benchmark]
    results = run_one(module, args)
    path = write_json(results, module.NAME, args.out)
    print(table(results))
    print(f"\nwrote {path}")
    if args.markdown is not None and str(args.markdown) != "-":  # a partial run: only if asked
        write_markdown(args.out, args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
