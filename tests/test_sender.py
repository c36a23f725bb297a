"""The sender against the emulator: what a cut-off batch records, and which tries count."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import select
from telegram import Bot
from telegram.error import TelegramError

from bot.db.models import Delivery
from bot.db.session import unit_of_work
from bot.sandbox import Emulator, FaultConfig
from bot.scheduling.ratelimit import RateLimiter
from bot.scheduling.sender import Sender
from bot.services.outbox import OutgoingMessage, enqueue

ANA, BEN = 6101, 6102


class HoldingBot:
    """The real bot, except that sends to one chat hang, like a request stuck on the wire."""

    def __init__(self, bot: Bot, held_chat: int) -> None:
        self.bot = bot
        self.held_chat = held_chat

    async def send_message(self, *, chat_id: int, **kwargs: Any) -> Any:
        if chat_id == self.held_chat:
            await asyncio.Event().wait()
        return await self.bot.send_message(chat_id=chat_id, **kwargs)


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    async with Emulator(rate_limits=False) as emu:
        for user_id in (ANA, BEN):
            emu.user(user_id).send_command("start")  # opens the private chat
        yield emu


@pytest.fixture
async def bot(emulator: Emulator) -> AsyncIterator[Bot]:
    async with Bot(emulator.token, base_url=emulator.base_url) as real:
        yield real


async def _queue(sessions: Any, *chats_and_texts: tuple[int, str]) -> None:
    now = datetime.now(UTC)
    async with unit_of_work(sessions) as session:
        await enqueue(
            session=session,
            messages=[
                OutgoingMessage(chat_id=chat, text=text, kind="reply", item=text, due_at=now)
                for chat, text in chats_and_texts
            ],
        )


async def _rows(sessions: Any) -> dict[str, Delivery]:
    async with sessions() as session:
        return {row.text: row for row in (await session.exec(select(Delivery))).all()}


def _sender(bot: Any, sessions: Any) -> Sender:
    return Sender(
        bot=bot,
        sessions=sessions,
        now=lambda: datetime.now(UTC),
        limiter=RateLimiter(per_second=0),
        unknown_retry_seconds=60,
    )


async def test_a_batch_cut_off_records_what_was_sent(
    sessions: Any, emulator: Emulator, bot: Bot
) -> None:
    await _queue(sessions, (ANA, "one"), (ANA, "two"), (BEN, "three"))
    sender = _sender(HoldingBot(bot, held_chat=BEN), sessions)
    draining = asyncio.create_task(sender.drain_once())
    await emulator.wait_for(lambda: sender.stats.sent == 2)  # Ana's two got their answers
    draining.cancel()  # the shutdown grace period ran out
    with contextlib.suppress(asyncio.CancelledError):
        await draining

    rows = await _rows(sessions)
    # Ana's messages arrived and are recorded as sent: a restart never sends them again.
    assert [rows[t].state for t in ("one", "two")] == ["sent", "sent"]
    assert all(rows[t].telegram_message_id for t in ("one", "two"))
    # Ben's was on the wire: its fate is unknown, so it stays in flight for the restart.
    assert rows["three"].state == "sending"


async def test_a_429_does_not_use_up_a_try(sessions: Any, emulator: Emulator, bot: Bot) -> None:
    await _queue(sessions, (ANA, "one"), (ANA, "two"))
    emulator.faults = FaultConfig(rate_limit_429=1.0, retry_after=1, methods={"sendMessage"})
    await _sender(bot, sessions).drain_once()
    rows = await _rows(sessions)
    assert [(rows[t].state, rows[t].attempts) for t in ("one", "two")] == [
        ("pending", 0),
        ("pending", 0),
    ]


async def test_a_chat_keeps_its_order_while_an_earlier_message_waits_for_its_retry(
    sessions: Any, emulator: Emulator, bot: Bot
) -> None:
    """Ana's lesson failed a moment ago and waits for its retry; her question, queued after it
    (here in a later batch), must not overtake it. Ben is not held up."""
    await _queue(sessions, (ANA, "lesson"), (ANA, "question"), (BEN, "hello"))
    now = datetime.now(UTC)
    clock = {"now": now}
    async with unit_of_work(sessions) as session:
        lesson = (await session.exec(select(Delivery).where(Delivery.text == "lesson"))).one()
        lesson.due_at, lesson.attempts = now + timedelta(seconds=30), 1  # as after a 502
        session.add(lesson)
    sender = Sender(
        bot=bot,
        sessions=sessions,
        now=lambda: clock["now"],
        limiter=RateLimiter(per_second=0),
        unknown_retry_seconds=60,
    )
    await sender.drain_once()
    assert [m.text for m in emulator.bot_messages(BEN)] == ["hello"]
    assert emulator.bot_messages(ANA) == []
    assert (await _rows(sessions))["question"].attempts == 0

    clock["now"] = now + timedelta(seconds=31)  # the retry is due
    await sender.drain_once()
    assert [m.text for m in emulator.bot_messages(ANA)] == ["lesson", "question"]


async def test_a_row_left_sending_by_a_dead_task_is_resent_after_its_lease(
    sessions: Any, emulator: Emulator, bot: Bot
) -> None:
    await _queue(sessions, (ANA, "orphaned"), (BEN, "still in hand"))
    now = datetime.now(UTC)
    async with unit_of_work(sessions) as session:
        for row in (await session.exec(select(Delivery))).all():
            row.state, row.attempts = "sending", 1  # claimed by a send task that then died
            row.claimed_at = now - timedelta(seconds=10)
            session.add(row)
    sender = Sender(
        bot=bot,
        sessions=sessions,
        now=lambda: datetime.now(UTC),
        limiter=RateLimiter(per_second=0),
        unknown_retry_seconds=0,
        sending_lease_seconds=30,
    )
    assert await sender.drain_once() == 0  # within its lease: nobody touches it
    assert {r.state for r in (await _rows(sessions)).values()} == {"sending"}

    rows = await _rows(sessions)
    sender._held.add(rows["still in hand"].id)  # this sender is still sending that one
    sender.now = lambda: datetime.now(UTC) + timedelta(seconds=25)  # lease (30 s) is over
    assert await sender.drain_once() == 1
    rows = await _rows(sessions)
    assert rows["orphaned"].state == "sent" and rows["orphaned"].attempts == 2
    assert rows["still in hand"].state == "sending"
    assert [m.text for m in emulator.bot_messages(ANA) if m.text == "orphaned"] == ["orphaned"]
    assert emulator.bot_messages(BEN) == []


class OddBot:
    """The real bot, except that sends to one chat fail in a way nobody planned for."""

    def __init__(self, bot: Bot, odd_chat: int) -> None:
        self.bot = bot
        self.odd_chat = odd_chat

    async def send_message(self, *, chat_id: int, **kwargs: Any) -> Any:
        if chat_id == self.odd_chat:
            raise TelegramError("Invalid server response")
        return await self.bot.send_message(chat_id=chat_id, **kwargs)


async def test_an_unexpected_error_costs_one_try_and_never_resends_the_batch(
    sessions: Any, emulator: Emulator, bot: Bot
) -> None:
    await _queue(sessions, (ANA, "to ana"), (BEN, "to ben"))
    sender = _sender(OddBot(bot, BEN), sessions)
    assert await sender.drain_once() == 2
    rows = await _rows(sessions)
    assert rows["to ana"].state == "sent" and rows["to ben"].state == "pending"
    assert rows["to ben"].attempts == 1 and "Invalid server response" in rows["to ben"].last_error
    assert not sender._held
    for _ in range(3):
        await sender.drain_once()
    assert [m.text for m in emulator.bot_messages(ANA)] == ["to ana"]  # once, not per drain
