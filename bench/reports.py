"""Reports: engagement report and CSV export of a finished cohort, at several cohort sizes.

Each size is a cohort of N participants x D days x P answers a day (the day's questions;
notes fill a day that has fewer), with every lesson and question delivered, in one database
that keeps the smaller cohorts too. Time is the median of a few runs; peak memory is the
Python heap's high-water mark (tracemalloc) during one more run.
"""

from __future__ import annotations

import argparse
import importlib
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from bench.common import (
    DAY_ONE,
    FIRST_USER_ID,
    Result,
    analyze,
    bulk_insert,
    configure_logging,
    enroll,
    median,
    program,
)
from bot.curriculum.schema import ChoicePrompt, ScalePrompt
from bot.db.models import Delivery, DeliveryState, Response
from bot.db.session import create_engine, create_session_factory
from bot.services.clock import ProgramClock

NAME = "reports"
DEFAULT_SIZES = [500, 2_000, 8_000]
TARGET_SIZE = 2_000  # the cohort: 2,000 participants x 28 days x 2 prompts
RUNS = 3
CHUNK = 10_000
ANSWER = (
    "Talking it through with my sister, and a walk before work. Both helped more than I expected."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--participants", type=int, nargs="+", default=DEFAULT_SIZES, help="cohort sizes"
    )
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument("--prompts", type=int, default=2, help="answers per participant a day")


def _modules() -> tuple[Any, Any] | str:
    try:
        reports = importlib.import_module("bot.services.reports")
        export = importlib.import_module("bot.services.export")
    except ImportError as exc:
        return f"bot.services.reports / bot.services.export not available yet ({exc})"
    if not hasattr(reports, "build_report") or not hasattr(export, "write_export"):
        return "build_report / write_export not available yet"
    return reports, export


async def _load_cohort(url: str, participants: int, days: int, per_day: int, first: int) -> Any:
    """Enroll the cohort and store everything that happened in `days` program days."""
    enrolled = await enroll(
        url,
        participants,
        due=lambda n: DAY_ONE + timedelta(days=days),
        next_day=days + 1,
        first_user_id=first,
    )
    loaded = program().program
    engine = create_engine(url)
    deliveries: list[dict[str, Any]] = []
    responses: list[dict[str, Any]] = []

    async def flush(force: bool = False) -> None:
        for table, rows in ((Delivery, deliveries), (Response, responses)):
            if rows and (force or len(rows) >= CHUNK):
                await bulk_insert(engine, table, rows)
                rows.clear()

    try:
        for pid, chat_id in zip(enrolled.participant_ids, enrolled.user_ids, strict=True):
            for day in range(1, days + 1):
                at = DAY_ONE + timedelta(days=day - 1)
                prompts = loaded.day(min(day, loaded.length_days)).prompts
                for item in ["lesson", *(f"prompt:{p.id}" for p in prompts)]:
                    deliveries.append(
                        {
                            "dedupe_key": f"p{pid}:d{day}:{item}",
                            "participant_id": pid,
                            "cohort_id": enrolled.cohort_id,
                            "day": day,
                            "item": item,
                            "kind": item.split(":")[0],
                            "prompt_id": item.split(":")[1] if ":" in item else None,
                            "chat_id": chat_id,
                            "text": "delivered",
                            "state": DeliveryState.SENT.value,
                            "attempts": 1,
                            "due_at": at,
                            "sent_at": at,
                            "created_at": at,
                        }
                    )
                for index in range(per_day):
                    answered = at + timedelta(hours=1, minutes=index)
                    row = {
                        "dedupe_key": f"m:{chat_id}:{day}:{index}",
                        "participant_id": pid,
                        "cohort_id": enrolled.cohort_id,
                        "curriculum_version_id": enrolled.version_id,
                        "day": day,
                        "prompt_id": "unprompted",
                        "answer_type": "note",
                        "value": None,
                        "text": ANSWER,
                        "answered_at": answered,
                    }
                    if index < len(prompts):
                        prompt = prompts[index]
                        row["prompt_id"] = prompt.id
                        row["answer_type"] = prompt.type
                        if isinstance(prompt, ScalePrompt):
                            row["value"] = row["text"] = str(prompt.min + (pid + day) % 3)
                        elif isinstance(prompt, ChoicePrompt):
                            option = prompt.options[(pid + day) % len(prompt.options)]
                            row["value"], row["text"] = option.id, option.label
                    responses.append(row)
                await flush()
        await flush(force=True)
    finally:
        await engine.dispose()
    return enrolled


async def _timed(action: Callable[[], Awaitable[Any]]) -> tuple[float, float]:
    """(median seconds over RUNS, peak traced MB of one more run)."""
    seconds = []
    for _ in range(RUNS):
        started = time.perf_counter()
        await action()
        seconds.append(time.perf_counter() - started)
    tracemalloc.start()
    try:
        await action()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return median(seconds), peak / 1024 / 1024


async def run(kind: str, url: str, args: argparse.Namespace) -> list[Result]:
    configure_logging()
    modules = _modules()
    if isinstance(modules, str):
        return [Result(NAME, kind, "-", skipped=modules)]
    reports, export = modules
    clock = ProgramClock()
    now = DAY_ONE + timedelta(days=args.days, hours=2)
    engine = create_engine(url)
    sessions = create_session_factory(engine)
    results = []
    first = FIRST_USER_ID
    try:
        for participants in sorted(args.participants):
            answers = participants * args.days * args.prompts
            result = Result(
                NAME, kind, f"{answers:,} answers ({participants:,} x {args.days} x {args.prompts})"
            )
            started = time.perf_counter()
            enrolled = await _load_cohort(url, participants, args.days, args.prompts, first)
            first += participants
            await analyze(url)
            load = time.perf_counter() - started

            async def report(cohort_id: int = enrolled.cohort_id) -> Any:
                async with sessions() as session:
                    return await reports.build_report(
                        session=session, cohort_id=cohort_id, now=now, clock=clock, at_risk_days=3
                    )

            exported: dict[str, int] = {}

            async def csv_export(
                cohort_id: int = enrolled.cohort_id, exported: dict[str, int] = exported
            ) -> None:
                with tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as out:
                    async with sessions() as session:
                        exported["rows"] = await export.write_export(
                            session=session, cohort_id=cohort_id, fmt="csv", out=out, clock=clock
                        )
                    exported["bytes"] = out.tell()

            report_seconds, report_peak = await _timed(report)
            export_seconds, export_peak = await _timed(csv_export)
            built = await report()
            target = participants == TARGET_SIZE and args.days == 28 and args.prompts == 2
            result.add(
                "report", report_seconds * 1000, "ms",
                "< 300 ms" if target else "", report_seconds < 0.3 if target else None,
            )  # fmt: skip
            result.add(
                "CSV export", export_seconds, "s",
                "< 3 s" if target else "", export_seconds < 3 if target else None,
            )  # fmt: skip
            result.add("report peak memory", report_peak, "MB")
            result.add("export peak memory", export_peak, "MB", "flat")
            rows, size = exported["rows"], exported["bytes"]
            result.add("rows exported", rows, "", f"= {answers:,}", rows == answers)
            result.add(
                "report: days / answered day 1",
                f"{len(built.days)} / {built.days[0].answered:,}" if built.days else "0",
            )
            result.notes.append(f"loaded in {load:.0f} s; CSV {size / 1e6:.1f} MB")
            results.append(result)
    finally:
        await engine.dispose()
    _judge_flat(results)
    return results


def _judge_flat(results: list[Result]) -> None:
    """Export memory is flat when the largest cohort's peak is within 1.5x of the smallest's
    (and a few MB): it does not grow with the number of answers."""
    peaks = [r.get("export peak memory") for r in results]
    if len(peaks) < 2:
        return
    flat = max(peaks) <= max(1.5 * min(peaks), min(peaks) + 4)
    for result in results:
        for metric in result.metrics:
            if metric.name == "export peak memory":
                metric.ok = flat
