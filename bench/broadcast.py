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

from sqlalchemy import func, select, update
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
from bot.db.session import create_engine
from bot.runner import running
from bot.scheduling.sender import CONCURRENCY
from bot.services.rendering import lesson_messages

NAME = "broadcast"
DEFAULT_PARTICIPANTS = 10_000
# The plain client: one big pool (the bot used one of 128 before bot/request.py), and the
# requests in flight that suit it best, out of these.
PLAIN_POOL = 128
CONCURRENCIES = (4, 16, CONCURRENCY)
CALIBRATION_MESSAGES = 2000


def messages_per_participant(day: int = 1) -> int:
    loaded = program().program
    return len(lesson_messages(program=loaded, day_number=day, language="en")) + 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--participants", type=int, default=DEFAULT_PARTICIPANTS)
    parser.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="program days to broadcast; each is followed by the plain client (best counts)",
    )


async def _bot_day(url: str, emulator: EmulatorProcess, day: int, expected: int) -> dict[str, Any]:
    """Start the bot, make program day `day` due, time it until the emulator has every message."""
    due = DAY_ONE + timedelta(days=day - 1)
    clock = BenchClock(due - timedelta(minutes=1))
    # The tick is run by hand below (the job queue's own run at start finds nothing due).
    settings = bot_settings(url, emulator.base_url, send_rate_per_second=0, tick_seconds=3600)
    application = build_application(settings, clock=clock)
    async with running(application):
        assert application.job_queue is not None
        [tick] = application.job_queue.get_jobs_by_name(TICK_JOB)
        await asyncio.sleep(0.5)  # the first tick (nothing due yet) runs at start
        await emulator.client.reset_counters()
        bot_cpu, emu_cpu = cpu_seconds(), emulator.cpu_seconds()
        clock.jump(due)
        started = time.perf_counter()
        await tick.run(application)
        tick_done = time.perf_counter()
        finished, sent = await emulator.wait_for_sent(expected, within=60 + expected / 50)
        bot_cpu, emu_cpu = cpu_seconds() - bot_cpu, emulator.cpu_seconds() - emu_cpu
        states = await recorded_states(url)
    elapsed = finished - started
    return {
        "sent": sent,
        "elapsed": elapsed,
        "rate": sent / elapsed,
        "tick": tick_done - started,
        "cpu": bot_cpu / max(sent, 1),
        "cores": (bot_cpu / elapsed, emu_cpu / elapsed),
        "unsent": sum(n for state, n in states.items() if state != "sent"),
    }


async def run(kind: str, url: str, args: argparse.Namespace) -> Result:
    participants: int = args.participants
    errors = configure_logging()
    result = Result(NAME, kind, f"{participants:,} participants")
    days = range(1, max(1, args.rounds) + 1)
    expected = {day: participants * messages_per_participant(day) for day in days}
    bot: list[dict[str, Any]] = []
    plain: list[tuple[float, float]] = []
    repeats = 0
    async with EmulatorProcess(rate_limits=False) as emulator:
        enrolled = await enroll(url, participants, due=lambda n: DAY_ONE)
        await emulator.open_chats(enrolled.user_ids)
        for day in days:
            before = await emulator.client.bot_message_stats()
            bot.append(await _bot_day(url, emulator, day, expected[day]))
            after = await emulator.client.bot_message_stats()
            repeats += after["repeats"] - before["repeats"]
            payloads = await _payloads(url, day)
            await _answered(url, day)
            if day == 1:
                # "As fast as it can": one httpcore pool gets slower per request as more
                # requests share it, so pick the plain client's best concurrency first.
                sample = payloads[:CALIBRATION_MESSAGES]
                tried = {n: (await plain_client(emulator, sample, n))[0] for n in CONCURRENCIES}
                best = max(tried, key=tried.__getitem__)
            plain.append(await plain_client(emulator, payloads, best))
    top = max(bot, key=lambda r: r["rate"])
    plain_rate, plain_cpu = max(plain)
    sent, total = sum(r["sent"] for r in bot), sum(expected.values())
    ratio = top["rate"] / plain_rate
    rounds = f"best of {len(bot)} days" if len(bot) > 1 else "one day"
    result.add("messages", sent, "", f"= {total:,}", sent == total)
    result.add(f"bot: tick to last message ({rounds})", top["elapsed"], "s")
    result.add("bot: the tick job queued the day in", top["tick"], "s")
    result.add(
        "bot: rate",
        top["rate"],
        "msg/s",
        _rate_target(plain_rate),
        _rate_ok(top["rate"], plain_rate),
    )
    result.add("bot: CPU used (bot / emulator)", "{:.2f} / {:.2f}".format(*top["cores"]), "cores")
    result.add(f"plain client ({best} in flight): rate", plain_rate, "msg/s")
    result.add(
        "CPU per message (bot / plain client)",
        f"{1000 * top['cpu']:.2f} / {1000 * plain_cpu:.2f}",
        "ms",
    )
    result.add("ratio bot / plain client", ratio, "", ">= 0.8", ratio >= 0.8)
    result.add("delivered once (repeats)", repeats, "", "0", repeats == 0)
    unsent = sum(r["unsent"] for r in bot)
    result.add("rows left unsent", unsent, "", "0", unsent == 0)
    if errors.count:
        result.add("errors logged", errors.count, "", "0", False)
        result.notes.append(f"first error: {errors.first}")
    result.notes.append(
        "bot msg/s by day: "
        + ", ".join(f"{r['rate']:,.0f}" for r in bot)
        + "; plain client msg/s after each: "
        + ", ".join(f"{rate:,.0f}" for rate, _ in plain)
        + "; plain client concurrency tried: "
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


async def _answered(url: str, day: int) -> None:
    """Nobody is reminded of day `day` the next morning (as if all had answered): the clock
    jumps a whole day, and the benchmark times a broadcast, not a backlog of reminders."""
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                update(Delivery).where(Delivery.day == day).values(remind_at=None)  # type: ignore[arg-type]
            )
    finally:
        await engine.dispose()


async def _payloads(url: str, day: int) -> list[tuple[int, str, dict[str, Any] | None]]:
    query = (
        select(Delivery.chat_id, Delivery.text, Delivery.reply_markup)
        .where(Delivery.day == day)
        .order_by(Delivery.id)  # type: ignore[arg-type]
    )
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
