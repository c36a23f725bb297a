"""Taking an alert on: "I'm on it" records who did, and every copy of the alert says so."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Text, cast, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db.models import Delivery, DeliveryState, FacilitatorProfile, SafetyAlert
from bot.services.alerts.messages import ALERT_SCOPE, dedupe_prefix
from bot.services.alerts.recipients import facilitator_name, holder_name, may_handle
from bot.texts import escape, text


class AckResult(StrEnum):
    ACKNOWLEDGED = "acknowledged"
    ALREADY = "already"
    NOT_FOUND = "not_found"
    NOT_ALLOWED = "not_allowed"


@dataclass(frozen=True)
class MessageEdit:
    """A sent alert message to show as taken on (done by the handler after commit)."""

    chat_id: int
    message_id: int
    text: str


@dataclass(frozen=True)
class AckOutcome:
    result: AckResult
    alert: SafetyAlert | None = None
    by_name: str | None = None
    edits: list[MessageEdit] = field(default_factory=list)


async def _remember_name(
    session: AsyncSession, telegram_user_id: int, name: str | None, now: datetime
) -> None:
    """Keep the name of whoever took an alert on, for /alerts (unless a profile has one)."""
    if not name:
        return
    profile = await session.get(FacilitatorProfile, telegram_user_id)
    if profile is None:
        profile = FacilitatorProfile(
            telegram_user_id=telegram_user_id, chat_id=telegram_user_id, updated_at=now
        )
    if profile.display_name is None:
        profile.display_name = name
        session.add(profile)


async def acknowledge(
    *,
    session: AsyncSession,
    alert_id: int,
    by_user_id: int,
    by_name: str | None,
    admin_ids: Collection[int],
    now: datetime,
) -> AckOutcome:
    """Record who took the alert on; every copy of the alert message then says so.

    Copies still waiting in the outbox are rewritten there; sent ones come back as `edits`.
    Pressing the button of an alert someone else took returns ALREADY, with the same edits,
    so a stale button resolves too.
    """
    alert = await session.get(SafetyAlert, alert_id)
    if alert is None:
        return AckOutcome(AckResult.NOT_FOUND)
    if not await may_handle(
        session=session, telegram_user_id=by_user_id, cohort_id=alert.cohort_id, admin_ids=admin_ids
    ):
        return AckOutcome(AckResult.NOT_ALLOWED, alert)
    result = AckResult.ALREADY
    if alert.acknowledged_at is None:
        alert.acknowledged_by, alert.acknowledged_at = by_user_id, now
        session.add(alert)
        result = AckResult.ACKNOWLEDGED
        name = by_name or await facilitator_name(session, by_user_id) or f"id {by_user_id}"
        await _remember_name(session, by_user_id, by_name, now)
    else:
        holder = alert.acknowledged_by
        name = (by_name if holder == by_user_id else None) or await holder_name(session, holder)
    rows = (
        await session.exec(
            select(Delivery).where(col(Delivery.dedupe_key).startswith(dedupe_prefix(alert_id)))
        )
    ).all()
    edits = await _show_taken(session, list(rows), name)
    return AckOutcome(result, alert, name, edits)


async def _show_taken(session: AsyncSession, rows: list[Delivery], name: str) -> list[MessageEdit]:
    """Make alert messages say who took the alert on, and drop their button.

    Waiting messages are rewritten in the outbox (only while the sender has not claimed them);
    sent ones come back as edits to make; messages in flight are left for
    `stale_alert_messages` to fix once they are recorded as sent.
    """
    edits = []
    taken = "\n\n" + text("alert_taken", name=escape(name))
    for row in rows:
        if not row.reply_markup:  # already says who took it
            continue
        new_text = row.text + taken
        if row.state == DeliveryState.PENDING:
            await session.exec(
                update(Delivery)  # type: ignore[call-overload]
                .where(col(Delivery.id) == row.id, col(Delivery.state) == DeliveryState.PENDING)
                .values(text=new_text, reply_markup=None)
                .execution_options(synchronize_session=False)
            )
        elif row.state == DeliveryState.SENT and row.telegram_message_id is not None:
            row.text, row.reply_markup = new_text, None
            session.add(row)
            edits.append(MessageEdit(row.chat_id, row.telegram_message_id, new_text))
    return edits


async def stale_alert_messages(*, session: AsyncSession) -> list[MessageEdit]:
    """Sent alert messages that still show the button of an alert someone already took on
    (they were in flight at the time): the edits to make. The caller commits, then edits."""
    rows = (
        await session.exec(
            select(Delivery)
            .where(Delivery.kind == "alert", Delivery.state == DeliveryState.SENT)
            .where(col(Delivery.telegram_message_id).is_not(None))
            .where(cast(Delivery.reply_markup, Text).like('%"alert:%'))
        )
    ).all()
    by_alert: dict[int, list[Delivery]] = {}
    for row in rows:
        match = re.match(rf"^{ALERT_SCOPE}:alert(\d+):", row.dedupe_key)
        if match:
            by_alert.setdefault(int(match.group(1)), []).append(row)
    if not by_alert:
        return []
    taken = (
        await session.exec(
            select(SafetyAlert.id, SafetyAlert.acknowledged_by)
            .where(col(SafetyAlert.id).in_(list(by_alert)))
            .where(col(SafetyAlert.acknowledged_at).is_not(None))
        )
    ).all()
    edits = []
    for alert_id, holder in taken:
        edits += await _show_taken(session, by_alert[alert_id], await holder_name(session, holder))
    return edits
