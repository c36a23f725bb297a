"""The outbox: every message is first a delivery row, then sent by the sender."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db.models import Delivery, DeliveryState
from bot.db.session import is_postgres


@dataclass
class OutgoingMessage:
    """A message to queue; `item` is unique per participant and day (or per dedupe scope)."""

    chat_id: int
    text: str
    kind: str
    item: str
    due_at: datetime
    participant_id: int | None = None
    cohort_id: int | None = None
    day: int = 0
    prompt_id: str | None = None
    reply_markup: dict[str, Any] | None = None
    document: dict[str, Any] | None = None
    remind_at: datetime | None = None
    scope: str | None = field(default=None)

    def dedupe_key(self) -> str:
        if self.participant_id is not None:
            return f"p{self.participant_id}:d{self.day}:{self.item}"
        return f"{self.scope or 'c' + str(self.chat_id)}:{self.item}"


async def enqueue(*, session: AsyncSession, messages: Sequence[OutgoingMessage]) -> int:
    """Insert the messages that are not queued yet; returns how many were new."""
    if not messages:
        return 0
    rows = [
        {
            "dedupe_key": m.dedupe_key(),
            "participant_id": m.participant_id,
            "cohort_id": m.cohort_id,
            "day": m.day,
            "item": m.item,
            "kind": m.kind,
            "prompt_id": m.prompt_id,
            "chat_id": m.chat_id,
            "text": m.text,
            "reply_markup": m.reply_markup,
            "document": m.document,
            "state": DeliveryState.PENDING.value,
            "attempts": 0,
            "due_at": m.due_at,
            "remind_at": m.remind_at,
            "created_at": m.due_at,
        }
        for m in messages
    ]
    # One cached Core statement run with many parameter sets (batched by SQLAlchemy's
    # insertmanyvalues); RETURNING counts the new rows on every dialect. A multi-VALUES
    # .values(rows) is compiled afresh on every call, and the ORM's bulk path returns rows
    # one by one: both dominated the tick's time.
    dialect = postgresql if is_postgres(session) else sqlite
    table = Delivery.__table__  # type: ignore[attr-defined]
    statement = dialect.insert(table).on_conflict_do_nothing().returning(table.c.id)
    result = await session.exec(statement, params=rows)  # type: ignore[call-overload]
    return len(result.all())


async def fail_pending_for_chat(*, session: AsyncSession, chat_id: int, reason: str) -> None:
    """Give up on everything still queued for a chat (e.g. the person blocked the bot)."""
    await session.exec(
        update(Delivery)  # type: ignore[call-overload]
        .where(col(Delivery.chat_id) == chat_id)
        .where(col(Delivery.state).in_([DeliveryState.PENDING, DeliveryState.UNKNOWN]))
        .values(state=DeliveryState.FAILED, last_error=reason, remind_at=None)
    )
