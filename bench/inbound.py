"""Inbound answers: N participants send M typed answers at once, through getUpdates.

Every participant has had six program days and has five text questions open (the other
questions of those days answered with buttons); each sends their answers one after another,
interleaved with everybody else's. Measures answers stored per second, from the moment the
emulator queued them to the moment the last one was stored, and checks none was lost.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from bench.common import (
    DAY_ONE,
    BenchClock,
    EmulatorProcess,
    Result,
    bot_settings,
    bulk_insert,
    configure_logging,
    cpu_seconds,
    enroll,
    fetch_all,
    program,
)
from bot.app import build_application
from bot.curriculum.schema import ChoicePrompt, ScalePrompt, TextPrompt
from bot.db.models import Delivery, DeliveryState, InboxUpdate, Response
from bot.db.session import create_engine
from bot.runner import running

NAME = "inbound"
DEFAULT_PARTICIPANTS = 1_000
DEFAULT_ANSWERS = 5_000
DAYS_DELIVERED = 6
NOW = DAY_ONE + timedelta(days=DAYS_DELIVERED - 1, hours=3)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--participants", type=int, default=DEFAULT_PARTICIPANTS)
    parser.add_argument("--answers", type=int, default=DEFAULT_ANSWERS)


async def _history(url: str, participant_ids: list[int], chat_ids: list[int], version_id: int):  # type: ignore[no-untyped-def]
    """Days 1-6 delivered; button questions answered, text questions open. Returns how many
    text questions each participant has open."""
    loaded = program().program
    deliveries: list[dict[str, Any]] = []
    responses: list[dict[str, Any]] = []
    open_text = 0
    for pid, chat_id in zip(participant_ids, chat_ids, strict=True):
        message_id = 0
        for day in range(1, DAYS_DELIVERED + 1):
            at = DAY_ONE + timedelta(days=day - 1)
            for prompt in loaded.day(day).prompts:
                message_id += 2
                deliveries.append(
                    {
                        "dedupe_key": f"p{pid}:d{day}:prompt:{prompt.id}",
                        "participant_id": pid,
                        "cohort_id": None,
                        "day": day,
                        "item": f"prompt:{prompt.id}",
                        "kind": "prompt",
                        "prompt_id": prompt.id,
                        "chat_id": chat_id,
                        "text": prompt.text,
                        "state": DeliveryState.SENT.value,
                        "attempts": 1,
                        "telegram_message_id": message_id,
                        "due_at": at,
                        "sent_at": at,
                        "created_at": at,
                    }
                )
                if isinstance(prompt, TextPrompt):
                    open_text += pid == participant_ids[0]
                    continue
                value = "3" if isinstance(prompt, ScalePrompt) else None
                if isinstance(prompt, ChoicePrompt):
                    value = prompt.options[0].id
                responses.append(
                    {
                        "dedupe_key": f"b:{pid}:{day}:{prompt.id}",
                        "participant_id": pid,
                        "cohort_id": None,
                        "curriculum_version_id": version_id,
                        "day": day,
                        "prompt_id": prompt.id,
                        "answer_type": "scale" if value == "3" else "choice",
                        "value": value,
                        "text": value,
                        "prompt_message_id": message_id,
                        "answered_at": at + timedelta(minutes=5),
                    }
                )
    return deliveries, responses, open_text


async def _load(url: str, cohort_id: int, deliveries: list[Any], responses: list[Any]) -> None:
    for row in deliveries:
        row["cohort_id"] = cohort_id
    for row in responses:
        row["cohort_id"] = cohort_id
    engine = create_engine(url)
    try:
        for table, rows in ((Delivery, deliveries), (Response, responses)):
            for begin in range(0, len(rows), 5000):
                await bulk_insert(engine, table, rows[begin : begin + 5000])
    finally:
        await engine.dispose()


async def _counts(url: str) -> dict[str, int]:
    count = select(func.count())
    queries = {
        "answers": count.select_from(Response).where(Response.answer_type == "text"),  # type: ignore[arg-type]
        "notes": count.select_from(Response).where(Response.answer_type == "note"),  # type: ignore[arg-type]
        "updates": count.select_from(InboxUpdate),
        "unprocessed": count.select_from(InboxUpdate).where(InboxUpdate.processed.is_(False)),  # type: ignore[attr-defined]
        "failed": count.select_from(InboxUpdate).where(InboxUpdate.error.is_not(None)),  # type: ignore[union-attr]
    }
    return {name: int((await fetch_all(url, q))[0][0]) for name, q in queries.items()}


async def run(kind: str, url: str, args: argparse.Namespace) -> Result:
    participants: int = args.participants
    answers: int = args.answers
    errors = configure_logging()
    result = Result(NAME, kind, f"{participants:,} participants, {answers:,} answers")
    enrolled = await enroll(
        url, participants, due=lambda n: DAY_ONE + timedelta(days=DAYS_DELIVERED), next_day=7
    )
    deliveries, responses, open_text = await _history(
        url, enrolled.participant_ids, enrolled.user_ids, enrolled.version_id
    )
    await _load(url, enrolled.cohort_id, deliveries, responses)
    # Round robin: everybody's first answer, then everybody's second, ...
    messages = [
        {"user_id": enrolled.user_ids[n % participants], "text": f"answer {n // participants + 1}"}
        for n in range(answers)
    ]
    async with EmulatorProcess(rate_limits=False) as emulator:
        await emulator.open_chats(enrolled.user_ids)
        clock = BenchClock(NOW)
        settings = bot_settings(url, emulator.base_url)
        application = build_application(settings, clock=clock, poll_timeout=1)
        async with running(application) as runtime:
            await asyncio.sleep(0.5)
            inbox = runtime.inbox
            before, cpu = inbox.processed_count, cpu_seconds()
            started = time.perf_counter()
            await emulator.client.bulk_text(messages)
            deadline = started + 60 + answers / 20
            while inbox.processed_count - before < answers:
                if time.perf_counter() > deadline:
                    break
                await asyncio.sleep(0.01)
            elapsed = time.perf_counter() - started
            cpu = cpu_seconds() - cpu
            processed = inbox.processed_count - before
    counts = await _counts(url)
    stored = counts["answers"] + counts["notes"]
    rate = stored / elapsed
    expected_answers = min(answers, participants * open_text)
    result.add("answers stored", stored, "", f"= {answers:,}", stored == answers)
    result.add(
        "of which answered a question",
        counts["answers"],
        "",
        f"= {expected_answers:,}",
        counts["answers"] == expected_answers,
    )
    result.add("time", elapsed, "s")
    result.add("rate", rate, "answers/s", ">= 500/s", rate >= 500)
    result.add("bot CPU per answer", 1000 * cpu / max(processed, 1), "ms")
    lost = answers - stored
    result.add(
        "lost / failed updates",
        f"{lost} / {counts['failed']}",
        "",
        "0 / 0",
        lost == 0 == counts["failed"],
    )
    if errors.count:
        result.add("errors logged", errors.count, "", "0", False)
        result.notes.append(f"first error: {errors.first}")
    return result
