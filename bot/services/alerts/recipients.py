"""Who gets, and may take on, a cohort's alerts; and what facilitators are called."""

from __future__ import annotations

from collections.abc import Collection

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db.models import FacilitatorAccess, FacilitatorProfile
from bot.services.facilitators import accessible_cohort_ids


async def cohort_facilitators(*, session: AsyncSession, cohort_id: int) -> list[int]:
    rows = await session.exec(
        select(FacilitatorAccess.telegram_user_id)
        .where(FacilitatorAccess.cohort_id == cohort_id)
        .order_by(col(FacilitatorAccess.id))
    )
    return list(dict.fromkeys(rows.all()))


async def alert_recipients(
    *, session: AsyncSession, cohort_id: int, admin_ids: Collection[int]
) -> list[int]:
    """The cohort's facilitators; the administrators when it has none."""
    return await cohort_facilitators(session=session, cohort_id=cohort_id) or sorted(admin_ids)


async def visible_cohort_ids(
    *, session: AsyncSession, telegram_user_id: int, admin_ids: Collection[int]
) -> set[int] | None:
    """The cohorts whose alerts this person sees: None = all (an administrator)."""
    return await accessible_cohort_ids(
        session=session, telegram_user_id=telegram_user_id, admin_ids=admin_ids
    )


async def may_handle(
    *, session: AsyncSession, telegram_user_id: int, cohort_id: int, admin_ids: Collection[int]
) -> bool:
    if telegram_user_id in admin_ids:
        return True
    return telegram_user_id in await cohort_facilitators(session=session, cohort_id=cohort_id)


async def facilitator_name(session: AsyncSession, telegram_user_id: int) -> str | None:
    profile = await session.get(FacilitatorProfile, telegram_user_id)
    return profile.display_name if profile else None


async def holder_name(session: AsyncSession, telegram_user_id: int | None) -> str:
    """The name of whoever took an alert on, else their id."""
    name = await facilitator_name(session, telegram_user_id) if telegram_user_id else None
    return name or f"id {telegram_user_id}"


async def facilitator_names(*, session: AsyncSession, ids: Collection[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await session.exec(
        select(FacilitatorProfile.telegram_user_id, FacilitatorProfile.display_name).where(
            col(FacilitatorProfile.telegram_user_id).in_(list(ids))
        )
    )
    return {uid: name for uid, name in rows.all() if name}
