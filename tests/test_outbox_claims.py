"""Several senders sharing one PostgreSQL database never claim the same outbox row."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlmodel import select

from bot.db.models import Delivery
from bot.db.session import unit_of_work
from bot.scheduling.sender import Sender
from bot.services.outbox import OutgoingMessage, enqueue
from tests.conftest import requires_postgres

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)


@requires_postgres
async def test_concurrent_claims_are_disjoint(sessions) -> None:
    async with unit_of_work(sessions) as session:
        await enqueue(
            session=session,
            messages=[
                OutgoingMessage(chat_id=n, text=f"m{n}", kind="reply", item="x", due_at=NOW)
                for n in range(1200)
            ],
        )
    senders = [
        Sender(bot=None, sessions=sessions, now=lambda: NOW, limiter=None, unknown_retry_seconds=60)  # type: ignore[arg-type]
        for _ in range(3)
    ]
    claims = await asyncio.gather(*(s._claim(NOW) for s in senders for _ in range(2)))
    ids = [row.id for claim in claims for row in claim]
    assert len(ids) == len(set(ids)) == 1200
    async with sessions() as session:
        states = set((await session.exec(select(Delivery.state))).all())
    assert states == {"sending"}
