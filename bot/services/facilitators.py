"""Facilitators: who may see which cohort, invites, profiles (digest time) and the audit log.

Administrators are the Telegram ids in `FACILITATOR_IDS` and see every cohort. Facilitators
see only the cohorts they were added to (a `facilitator_access` row).
"""

from __future__ import annotations

import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db.models import (
    AuditLog,
    Cohort,
    CohortStatus,
    Delivery,
    DeliveryState,
    FacilitatorAccess,
    FacilitatorInvite,
    FacilitatorProfile,
    Participant,
    ParticipantStatus,
)

INVITE_PREFIX = "fac-"
INVITE_VALID_FOR = timedelta(days=7)


# --- access -------------------------------------------------------------------------------


def is_admin(*, telegram_user_id: int | None, admin_ids: Collection[int]) -> bool:
    return telegram_user_id is not None and telegram_user_id in admin_ids


async def accessible_cohort_ids(
    *, session: AsyncSession, telegram_user_id: int, admin_ids: Collection[int]
) -> set[int] | None:
    """The cohorts this person may see: None means all (an administrator)."""
    if is_admin(telegram_user_id=telegram_user_id, admin_ids=admin_ids):
        return None
    rows = await session.exec(
        select(FacilitatorAccess.cohort_id).where(
            FacilitatorAccess.telegram_user_id == telegram_user_id
        )
    )
    return set(rows.all())


async def is_facilitator(
    *, session: AsyncSession, telegram_user_id: int | None, admin_ids: Collection[int]
) -> bool:
    """An administrator, or someone with access to at least one cohort."""
    if telegram_user_id is None:
        return False
    if is_admin(telegram_user_id=telegram_user_id, admin_ids=admin_ids):
        return True
    row = (
        await session.exec(
            select(FacilitatorAccess.id)
            .where(FacilitatorAccess.telegram_user_id == telegram_user_id)
            .limit(1)
        )
    ).first()
    return row is not None


async def can_access(
    *,
    session: AsyncSession,
    telegram_user_id: int | None,
    cohort_id: int,
    admin_ids: Collection[int],
) -> bool:
    """True if the cohort exists and this person may see it."""
    if telegram_user_id is None:
        return False
    if is_admin(telegram_user_id=telegram_user_id, admin_ids=admin_ids):
        return await session.get(Cohort, cohort_id) is not None
    row = (
        await session.exec(
            select(FacilitatorAccess.id).where(
                FacilitatorAccess.telegram_user_id == telegram_user_id,
                FacilitatorAccess.cohort_id == cohort_id,
            )
        )
    ).first()
    return row is not None


# --- adding and removing ----------------------------------------------------------------


async def add_facilitator(
    *,
    session: AsyncSession,
    cohort_id: int,
    telegram_user_id: int,
    added_by: int | None,
    now: datetime,
) -> bool:
    """Give someone access to a cohort; False if they already had it."""
    existing = (
        await session.exec(
            select(FacilitatorAccess).where(
                FacilitatorAccess.cohort_id == cohort_id,
                FacilitatorAccess.telegram_user_id == telegram_user_id,
            )
        )
    ).first()
    if existing is not None:
        return False
    session.add(
        FacilitatorAccess(
            cohort_id=cohort_id, telegram_user_id=telegram_user_id, added_by=added_by, added_at=now
        )
    )
    await session.flush()
    return True


async def remove_facilitator(
    *, session: AsyncSession, cohort_id: int, telegram_user_id: int
) -> bool:
    existing = (
        await session.exec(
            select(FacilitatorAccess).where(
                FacilitatorAccess.cohort_id == cohort_id,
                FacilitatorAccess.telegram_user_id == telegram_user_id,
            )
        )
    ).first()
    if existing is None:
        return False
    await session.delete(existing)
    await session.flush()
    return True


@dataclass(frozen=True)
class FacilitatorRow:
    cohort_id: int
    cohort_name: str
    telegram_user_id: int
    display_name: str | None
    added_by: int | None
    added_at: datetime


async def list_facilitators(
    *, session: AsyncSession, cohort_id: int | None = None
) -> list[FacilitatorRow]:
    query = (
        select(FacilitatorAccess, Cohort.name, FacilitatorProfile.display_name)
        .join(Cohort, col(FacilitatorAccess.cohort_id) == Cohort.id)
        .outerjoin(
            FacilitatorProfile,
            col(FacilitatorProfile.telegram_user_id) == FacilitatorAccess.telegram_user_id,
        )
        .order_by(col(FacilitatorAccess.cohort_id), col(FacilitatorAccess.telegram_user_id))
    )
    if cohort_id is not None:
        query = query.where(FacilitatorAccess.cohort_id == cohort_id)
    return [
        FacilitatorRow(
            cohort_id=access.cohort_id,
            cohort_name=name,
            telegram_user_id=access.telegram_user_id,
            display_name=display_name,
            added_by=access.added_by,
            added_at=access.added_at,
        )
        for access, name, display_name in (await session.exec(query)).all()
    ]


# --- invites ------------------------------------------------------------------------------


async def create_invite(
    *, session: AsyncSession, cohort_id: int, created_by: int | None, now: datetime
) -> FacilitatorInvite:
    """A single-use facilitator invite, valid for seven days; the link payload is `fac-<code>`."""
    invite = FacilitatorInvite(
        cohort_id=cohort_id,
        code=secrets.token_urlsafe(12)[:16],
        created_by=created_by,
        created_at=now,
    )
    session.add(invite)
    await session.flush()
    return invite


class RedeemResult(StrEnum):
    ADDED = "added"
    ALREADY = "already"
    INVALID = "invalid"  # unknown, expired, or used by someone else


@dataclass(frozen=True)
class RedeemOutcome:
    result: RedeemResult
    cohort: Cohort | None = None


async def redeem_invite(
    *, session: AsyncSession, code: str, telegram_user_id: int, now: datetime
) -> RedeemOutcome:
    invite = (
        await session.exec(select(FacilitatorInvite).where(FacilitatorInvite.code == code))
    ).first()
    if invite is None:
        return RedeemOutcome(RedeemResult.INVALID)
    cohort = await session.get(Cohort, invite.cohort_id)
    if cohort is None:
        return RedeemOutcome(RedeemResult.INVALID)
    if invite.used_by is not None:
        if invite.used_by == telegram_user_id:
            return RedeemOutcome(RedeemResult.ALREADY, cohort)
        return RedeemOutcome(RedeemResult.INVALID)
    if now - invite.created_at > INVITE_VALID_FOR:
        return RedeemOutcome(RedeemResult.INVALID)
    invite.used_by, invite.used_at = telegram_user_id, now
    session.add(invite)
    added = await add_facilitator(
        session=session,
        cohort_id=cohort.id,  # type: ignore[arg-type]
        telegram_user_id=telegram_user_id,
        added_by=invite.created_by,
        now=now,
    )
    return RedeemOutcome(RedeemResult.ADDED if added else RedeemResult.ALREADY, cohort)


# --- profiles and the digest setting ----------------------------------------------------


async def touch_profile(
    *,
    session: AsyncSession,
    telegram_user_id: int,
    chat_id: int,
    display_name: str | None,
    now: datetime,
) -> FacilitatorProfile:
    """Remember where to reach a facilitator (their private chat) and their name."""
    profile = await session.get(FacilitatorProfile, telegram_user_id)
    if profile is None:
        profile = FacilitatorProfile(telegram_user_id=telegram_user_id, updated_at=now)
    if profile.chat_id != chat_id or profile.display_name != display_name:
        profile.chat_id, profile.display_name, profile.updated_at = chat_id, display_name, now
        session.add(profile)
    await session.flush()
    return profile


async def set_digest(
    *,
    session: AsyncSession,
    profile: FacilitatorProfile,
    digest_time: time | None,
    timezone: str | None,
    now: datetime,
) -> FacilitatorProfile:
    """Turn the daily digest on at `digest_time` (in `timezone`, if given) or off (None)."""
    profile.digest_time = digest_time
    if timezone is not None:
        profile.digest_timezone = timezone
    profile.updated_at = now
    session.add(profile)
    await session.flush()
    return profile


# --- the audit log ------------------------------------------------------------------------


async def audit(
    *,
    session: AsyncSession,
    actor: int | None,
    action: str,
    cohort_id: int | None,
    detail: str | None = None,
    now: datetime,
) -> None:
    """Record who read or did what with which cohort's data (committed with the caller's work)."""
    session.add(
        AuditLog(
            actor_telegram_id=actor,
            action=action,
            cohort_id=cohort_id,
            detail=detail,
            created_at=now,
        )
    )


# --- closing a cohort ---------------------------------------------------------------------


async def close_cohort(*, session: AsyncSession, cohort_id: int, now: datetime) -> Cohort | None:
    """Close a cohort: nobody new can join and nothing more is sent.

    Participants still taking part (active, paused, blocked) become `completed`; people who
    never consented are removed; queued messages for the cohort are cancelled.
    """
    cohort = await session.get(Cohort, cohort_id)
    if cohort is None:
        return None
    if cohort.status == CohortStatus.CLOSED:
        return cohort
    cohort.status = CohortStatus.CLOSED
    cohort.closed_at = now
    session.add(cohort)
    participants = (
        await session.exec(select(Participant).where(Participant.cohort_id == cohort_id))
    ).all()
    for participant in participants:
        if participant.status == ParticipantStatus.PENDING:
            await session.delete(participant)
            continue
        if participant.status in (
            ParticipantStatus.ACTIVE,
            ParticipantStatus.PAUSED,
            ParticipantStatus.BLOCKED,
        ):
            participant.status = ParticipantStatus.COMPLETED
        participant.next_due_at = None
        session.add(participant)
    pending = (
        await session.exec(
            select(Delivery).where(
                Delivery.cohort_id == cohort_id,
                col(Delivery.state).in_([DeliveryState.PENDING, DeliveryState.UNKNOWN]),
            )
        )
    ).all()
    for delivery in pending:
        delivery.state = DeliveryState.FAILED
        delivery.last_error = "cohort closed"
        delivery.remind_at = None
        session.add(delivery)
    await session.flush()
    return cohort
