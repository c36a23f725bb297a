"""Who should have the facilitator command menu, and who has it."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db.models import CommandMenu, FacilitatorAccess


async def menu_holders(*, session: AsyncSession, admin_ids: Collection[int]) -> set[int]:
    """Administrators and everyone who facilitates at least one cohort."""
    rows = await session.exec(select(FacilitatorAccess.telegram_user_id).distinct())
    return {*admin_ids, *rows.all()}


async def published_menus(*, session: AsyncSession) -> set[int]:
    return set((await session.exec(select(CommandMenu.telegram_user_id))).all())


async def record_published(*, session: AsyncSession, telegram_user_id: int, now: datetime) -> None:
    if await session.get(CommandMenu, telegram_user_id) is None:
        session.add(CommandMenu(telegram_user_id=telegram_user_id, published_at=now))


async def record_withdrawn(*, session: AsyncSession, telegram_user_id: int) -> None:
    await session.exec(
        delete(CommandMenu).where(col(CommandMenu.telegram_user_id) == telegram_user_id)  # type: ignore[call-overload]
    )
