"""Updates the inbox set aside after their handler kept failing: listing and retrying them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db.models import InboxUpdate


@dataclass(frozen=True)
class FailedUpdate:
    update_id: int
    received_at: datetime
    failed_at: datetime | None
    error: str  # the exception's class and where in the code: never the message's text

    def as_dict(self) -> dict[str, object]:
        return {
            "update_id": self.update_id,
            "received_at": self.received_at.isoformat(),
            "failed_at": self.failed_at.isoformat() if self.failed_at else None,
            "error": self.error,
        }


async def failed_updates(*, session: AsyncSession) -> list[FailedUpdate]:
    rows = await session.exec(
        select(
            InboxUpdate.update_id,
            InboxUpdate.received_at,
            InboxUpdate.processed_at,
            InboxUpdate.error,
        )
        .where(col(InboxUpdate.error).is_not(None))
        .order_by(col(InboxUpdate.update_id))
    )
    return [FailedUpdate(*row) for row in rows.all()]


async def retry_failed(*, session: AsyncSession, update_ids: list[int] | None) -> list[int]:
    """Put failed updates back in the queue (all of them when `update_ids` is None); the
    running bot handles them, once, as if they had just arrived. Returns the ids queued."""
    query = select(InboxUpdate.update_id).where(col(InboxUpdate.error).is_not(None))
    if update_ids is not None:
        query = query.where(col(InboxUpdate.update_id).in_(update_ids))
    else:  # --all: what was set aside after counted tries, not old rows from before them
        query = query.where(col(InboxUpdate.attempts) > 0)
    ids = list((await session.exec(query.order_by(col(InboxUpdate.update_id)))).all())
    if ids:
        await session.exec(
            update(InboxUpdate)  # type: ignore[call-overload]
            .where(col(InboxUpdate.update_id).in_(ids))
            .values(processed=False, processed_at=None, error=None, attempts=0)
        )
    return ids
