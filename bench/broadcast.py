"""Broadcast: one program day to N participants, emulator limits off, bot rate unlimited.

Measures messages per second from the tick that makes the day due to the last message the
emulator accepted, then a plain python-telegram-bot client sending the same messages to the
same emulator as fast as it can, and reports the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from telegram import Bot, InlineKeyboardMarkup, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.request import HTTPXRequest

from bench.common import (
    DAY_ONE,
    TOKEN,
    BenchClock,
    EmulatorProcess,
    Result,
    bot_settings,
    configure_logging,
    cpu_seconds,
    enroll,
    fetch_all,
    program,
)
from bot.app import TICK_JOB, build_application
from bot.db.models import Delivery
from bot.runner import running
from bot.scheduling.sender import CONCURRENCY
from bot.services.rendering import lesson_messages

NAME = "broadcast"
DEFAULT_PARTICIPANTS = 10_000
# The plain client: one big pool (the bot used one of 128 before bot/request.py), and the
# requests in flight that suit it best, out of these.
PLAIN_POOL = 128
PLAIN_CONCURRENCY = (4, 16, CONCURRENCY)
CALIBRATION_MESSAGES = 2000


def messages_per_participant() -> int:
    loaded = program().program
    return len(lesson_messages(program=loaded, day_number=1, language="en")) + 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--participants", type=int, default=DEFAULT_PARTICIPANTS)


async def run(kind: str, url: str, args: argparse.Namespace) -> Result:
    participants: int = args.participants
    errors = configure_logging()
    result = Result(NAME, kind, f"{participants:,} participants")
    expected = participants * messages_per_participant()
    async with EmulatorProcess(rate_limits=False) as emulator:
        enrolled = await enroll(url, participants, due=lambda n: DAY_ONE)
        await emulator.open_chats(enrolled.user_ids)
        clock = BenchClock(DAY_ONE - timedelta(minutes=1))
        settings = bot_settings(url, emulator.base_url, send_rate_per_second=0)
        application = build_application(settings, clock=clock)
        async with running(application):
            assert application.job_queue is not None
            [tick] = application.job_queue.get_jobs_by_name(TICK_JOB)
            await asyncio.sleep(0.5)  # the first tick (nothing due yet) runs at start
            await emulator.client.reset_counters()
            bot_cpu, emu_cpu = cpu_seconds(), emulator.cpu_seconds()
            clock.jump(DAY_ONE)
            started = time.perf_counter()
            await tick.run(application)
            tick_done = time.perf_counter()
            finished, sent = await emulator.wait_for_sent(expected, within=60 + expected / 50)
            bot_cpu, emu_cpu = cpu_seconds() - bot_cpu, emulator.cpu_seconds() - emu_cpu
            states = await recorded_states(url)
        stats = await emulator.client.bot_message_stats()
        payloads = await _payloads(url)
        elapsed = finished - started
        bot_rate = sent / elapsed
        # "As fast as it can": httpcore's one pool gets slower per request as more requests
        # share it, so pick the plain client's best concurrency on a sample first.
        sample = payloads[: min(len(payloads), CALIBRATION_MESSAGES)]
        tried = {n: (await plain_client(emulator, sample, n))[0] for n in PLAIN_CONCURRENCY}
        best = max(tried, key=tried.__getitem__)
        plain_rate, plain_cpu = await plain_client(emulator, payloads, best)
    ratio = bot_rate / plain_rate
    result.add("messages", sent, "", f"= {expected:,}", sent == expected)
    result.add("bot: tick to last message", elapsed, "s")
    result.add("bot: the tick job queued the day in", tick_done - started, "s")
    result.add(
        "bot: rate", bot_rate, "msg/s", _rate_target(plain_rate), _rate_ok(bot_rate, plain_rate)
    )
    result.add(
        "bot: CPU used (bot / emulator)",
        f"{bot_cpu / elapsed:.2f} / {emu_cpu / elapsed:.2f}",
        "cores",
    )
    result.add(f"plain client ({best} in flight): rate", plain_rate, "msg/s")
    result.add(
        "CPU per message (bot / plain client)",
        f"{1000 * bot_cpu / max(sent, 1):.2f} / {1000 * plain_cpu:.2f}",
        "ms",
    )
    result.add("ratio bot / plain client", ratio, "", ">= 0.8", ratio >= 0.8)
    delivered_once = stats["repeats"] == 0 and stats["chats"] == participants
    result.add(
        "delivered once (repeats, chats)",
        f"{stats['repeats']}, {stats['chats']:,}",
        "",
        "0, all",
        delivered_once,
    )
    result.add(
        "rows left unsent",
        sum(n for s, n in states.items() if s != "sent"),
        "",
        "0",
        set(states) == {"sent"},
    )
    if errors.count:
        result.add("errors logged", errors.count, "", "0", False)
        result.notes.append(f"first error: {errors.first}")
    result.notes.append(
        f"plain client: the same {len(payloads):,} messages; its concurrency chosen on "
        f"{len(sample):,}: "
        + ", ".join(f"{n} in flight {rate:,.0f} msg/s" for n, rate in tried.items())
    )
    return result


def _rate_target(plain_rate: float) -> str:
    return ">= 1,000 msg/s" if plain_rate >= 1000 else f">= 0.8 x plain ({0.8 * plain_rate:,.0f})"


def _rate_ok(bot_rate: float, plain_rate: float) -> bool:
    return bot_rate >= 1000 if plain_rate >= 1000 else bot_rate >= 0.8 * plain_rate


async def delivery_states(url: str) -> dict[str, int]:
    query = select(Delivery.state, func.count()).group_by(Delivery.state)  # type: ignore[arg-type]
    return {state: count for state, count in await fetch_all(url, query)}


async def recorded_states(url: str, within: float = 10.0) -> dict[str, int]:
    """Delivery states once the sender has recorded its last batch."""
    deadline = time.perf_counter() + within
    while True:
        states = await delivery_states(url)
        if set(states) <= {"sent", "failed"} or time.perf_counter() > deadline:
            return states
        await asyncio.sleep(0.1)


async def _payloads(url: str) -> list[tuple[int, str, dict[str, Any] | None]]:
    query = select(Delivery.chat_id, Delivery.text, Delivery.reply_markup).order_by(Delivery.id)  # type: ignore[arg-type]
    return [(chat_id, text, markup) for chat_id, text, markup in await fetch_all(url, query)]


async def plain_client(
    emulator: EmulatorProcess,
    payloads: list[tuple[int, str, dict[str, Any] | None]],
    concurrency: int,
) -> tuple[float, float]:
    """python-telegram-bot alone: the same messages, as fast as it goes.

    Returns messages per second and CPU seconds per message.
    """
    request = HTTPXRequest(connection_pool_size=PLAIN_POOL, read_timeout=30, pool_timeout=30)
    semaphore = asyncio.Semaphore(concurrency)
    no_preview = LinkPreviewOptions(is_disabled=True)

    async def send(chat_id: int, text: str, markup: dict[str, Any] | None) -> None:
        async with semaphore:
            await bot.send_message(
                chat_id=chat_id,
                text=text,
                parse_mode=ParseMode.HTML,
                reply_markup=InlineKeyboardMarkup.de_json(markup, None) if markup else None,
                link_preview_options=no_preview,
            )

    async with Bot(TOKEN, base_url=emulator.base_url, request=request) as bot:
        started, cpu = time.perf_counter(), cpu_seconds()
        await asyncio.gather(*(send(*p) for p in payloads))
        elapsed, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    return len(payloads) / elapsed, cpu / len(payloads)
