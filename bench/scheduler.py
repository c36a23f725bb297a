"""Scheduler cost at scale: N enrolled participants, nobody due, then 1% due.

The tick runs in a separate, freshly started bot process (the real Application against the
emulator), so its resident memory is the bot's own and not the benchmark's bulk loading.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from datetime import datetime, timedelta
from typing import Any

from bench.common import (
    DAY_ONE,
    ROOT,
    BenchClock,
    EmulatorProcess,
    Result,
    analyze,
    bot_settings,
    bulk_insert,
    configure_logging,
    enroll,
    median,
    percentile,
    rss_mb,
)
from bot.db.models import Delivery, DeliveryState
from bot.db.session import create_engine

NAME = "scheduler"
DEFAULT_PARTICIPANTS = 100_000
TICKS = 40
# Day 2 is due at NOW for the due share; everybody else's day 2 comes later in the day.
NOW = DAY_ONE + timedelta(days=1)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--participants", type=int, default=DEFAULT_PARTICIPANTS)
    parser.add_argument("--due-percent", type=float, default=1.0)


def _due(count: int, percent: float):  # type: ignore[no-untyped-def]
    due = round(count * percent / 100)

    def next_due_at(n: int) -> datetime:
        if n < due:
            return NOW
        return NOW + timedelta(minutes=1 + n % (23 * 60))  # spread over the rest of the day

    return due, next_due_at


async def _yesterday(url: str, participant_ids: list[int], chunk: int = 5000) -> int:
    """Day 1 as it stands the next morning: lesson and first prompt sent to everyone."""
    engine = create_engine(url)
    sent_at = DAY_ONE + timedelta(seconds=30)
    count = 0
    try:
        for begin in range(0, len(participant_ids), chunk):
            rows = [
                {
                    "dedupe_key": f"p{pid}:d1:{item}",
                    "participant_id": pid,
                    "cohort_id": None,
                    "day": 1,
                    "item": item,
                    "kind": item.split(":")[0],
                    "prompt_id": "w1d1-mood" if item != "lesson" else None,
                    "chat_id": 0,
                    "text": "day one",
                    "state": DeliveryState.SENT.value,
                    "attempts": 1,
                    "telegram_message_id": index + 1,
                    "due_at": DAY_ONE,
                    "claimed_at": DAY_ONE,
                    "sent_at": sent_at,
                    "created_at": DAY_ONE,
                }
                for pid in participant_ids[begin : begin + chunk]
                for index, item in enumerate(("lesson", "prompt:w1d1-mood"))
            ]
            await bulk_insert(engine, Delivery, rows)
            count += len(rows)
    finally:
        await engine.dispose()
    return count


async def run(kind: str, url: str, args: argparse.Namespace) -> Result:
    participants: int = args.participants
    configure_logging()
    result = Result(NAME, kind, f"{participants:,} participants")
    due_count, next_due_at = _due(participants, args.due_percent)
    started = time.perf_counter()
    enrolled = await enroll(url, participants, due=next_due_at, next_day=2)
    history = await _yesterday(url, enrolled.participant_ids)
    await analyze(url)
    load_seconds = time.perf_counter() - started
    async with EmulatorProcess(rate_limits=False) as emulator:
        await emulator.open_chats(enrolled.user_ids)
        child = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "bench.scheduler", url, emulator.base_url, str(TICKS)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
        )
    if child.returncode != 0:
        raise RuntimeError(f"bot process failed:\n{child.stderr[-3000:]}")
    measured = json.loads(child.stdout.strip().splitlines()[-1])
    idle = measured["idle_ms"]
    idle_median = median(idle)
    result.add("tick, nobody due (median)", idle_median, "ms", "< 20 ms", idle_median < 20)
    result.add("tick, nobody due (p95)", percentile(idle, 0.95), "ms")
    rss = measured["rss_mb"]
    result.add("bot process resident memory", rss, "MB", "< 250 MB", rss < 250)
    result.add(f"tick, {args.due_percent:g}% due ({due_count:,} days)", measured["due_ms"], "ms")
    queued = measured["days_queued"]
    result.add("days queued by that tick", queued, "", f"= {due_count:,}", queued == due_count)
    result.add("tick, nobody due again (median)", median(measured["after_ms"]), "ms")
    result.notes.append(
        f"{participants:,} participants and {history:,} delivered messages loaded in "
        f"{load_seconds:.0f} s; bot peak RSS {measured['peak_mb']:.0f} MB"
    )
    return result


# -- the bot process ---------------------------------------------------------------------------


async def _bot(url: str, base_url: str, ticks: int) -> dict[str, Any]:
    from bot.app import TICK_JOB, build_application
    from bot.runner import running

    configure_logging()
    clock = BenchClock(NOW - timedelta(minutes=10))
    # The tick is run by hand below; the job queue's own run (at start) sees nothing due.
    settings = bot_settings(url, base_url, tick_seconds=3600, send_rate_per_second=0)
    application = build_application(settings, clock=clock)
    async with running(application) as runtime:
        assert application.job_queue is not None
        [tick] = application.job_queue.get_jobs_by_name(TICK_JOB)
        await asyncio.sleep(1.0)

        async def timed() -> float:
            started = time.perf_counter()
            await tick.run(application)
            return (time.perf_counter() - started) * 1000

        idle = [await timed() for _ in range(ticks)]
        current, _ = rss_mb()
        clock.jump(NOW + timedelta(seconds=1))
        sent_before = runtime.sender.stats.sent
        due_ms = await timed()
        days_queued = await _days_queued(runtime)
        # Let the sender finish the day before timing idle ticks again.
        for _ in range(600):
            if runtime.sender.stats.sent - sent_before >= 2 * days_queued:
                break
            await asyncio.sleep(0.1)
        after = [await timed() for _ in range(ticks // 2)]
        _, peak = rss_mb()
    return {
        "idle_ms": idle,
        "rss_mb": current,
        "peak_mb": peak,
        "due_ms": due_ms,
        "days_queued": days_queued,
        "after_ms": after,
    }


async def _days_queued(runtime: Any) -> int:
    from sqlalchemy import func, select

    async with runtime.engine.connect() as connection:
        rows = await connection.execute(
            select(func.count()).select_from(Delivery).where(Delivery.day == 2)  # type: ignore[arg-type]
        )
        return int(rows.scalar_one()) // 2


if __name__ == "__main__":
    url, base_url, ticks = sys.argv[1], sys.argv[2], int(sys.argv[3])
    print(json.dumps(asyncio.run(_bot(url, base_url, ticks))))
