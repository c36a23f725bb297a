"""Free limits: one program day to N participants under Telegram's free limits.

The emulator enforces ~30 messages/s overall and ~1/s per chat (answering 429 beyond);
the bot runs with its default pace (SEND_RATE_PER_SECOND=30).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import timedelta

from bench.broadcast import messages_per_participant, recorded_states
from bench.common import (
    DAY_ONE,
    BenchClock,
    EmulatorProcess,
    Result,
    bot_settings,
    configure_logging,
    enroll,
)
from bot.app import TICK_JOB, build_application
from bot.runner import running
from bot.sandbox.limits import LimitConfig

NAME = "free-limits"
DEFAULT_PARTICIPANTS = 2_000
LIMIT = LimitConfig().global_per_second


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--participants", type=int, default=DEFAULT_PARTICIPANTS)


async def run(kind: str, url: str, args: argparse.Namespace) -> Result:
    participants: int = args.participants
    errors = configure_logging()
    result = Result(NAME, kind, f"{participants:,} participants")
    expected = participants * messages_per_participant()
    async with EmulatorProcess(rate_limits=True) as emulator:
        enrolled = await enroll(url, participants, due=lambda n: DAY_ONE)
        await emulator.open_chats(enrolled.user_ids)
        clock = BenchClock(DAY_ONE - timedelta(minutes=1))
        settings = bot_settings(url, emulator.base_url)
        application = build_application(settings, clock=clock)
        async with running(application) as runtime:
            assert application.job_queue is not None
            [tick] = application.job_queue.get_jobs_by_name(TICK_JOB)
            await asyncio.sleep(0.5)
            await emulator.client.reset_counters()
            clock.jump(DAY_ONE)
            started = time.perf_counter()
            await tick.run(application)
            timeout = 60 + 2 * expected / LIMIT
            finished, sent = await emulator.wait_for_sent(expected, within=timeout, interval=0.1)
            states = await recorded_states(url)
            sender_429 = runtime.sender.stats.rate_limited
        counters = await emulator.client.counters()
        stats = await emulator.client.bot_message_stats()
    elapsed = finished - started
    rate = sent / elapsed
    requests = int(counters["requests"].get("sendMessage", 0))
    too_many = int(counters["rate_limited"])
    share = too_many / max(requests, 1)
    result.add("messages", sent, "", f"= {expected:,}", sent == expected)
    result.add("tick to last message", elapsed, "s")
    result.add(
        "rate", rate, "msg/s", f">= {0.95 * LIMIT:g} (95% of {LIMIT:g})", rate >= 0.95 * LIMIT
    )
    result.add(
        "429 answers", f"{too_many} of {requests:,} ({share:.3%})", "", "<= 0.1%", share <= 0.001
    )
    once = (
        stats["repeats"] == 0 and stats["messages"] == expected and stats["chats"] == participants
    )
    result.add("delivered once (repeats)", stats["repeats"], "", "0", once)
    unsent = sum(n for state, n in states.items() if state != "sent")
    result.add("rows left unsent", unsent, "", "0", unsent == 0)
    if sender_429 != too_many:
        result.notes.append(f"the sender counted {sender_429} 429 answers")
    if errors.count:
        result.add("errors logged", errors.count, "", "0", False)
        result.notes.append(f"first error: {errors.first}")
    return result
