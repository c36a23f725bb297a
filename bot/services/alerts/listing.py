"""/alerts: the open alerts of a facilitator's cohorts, and those handled lately."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db.models import Cohort, Participant, SafetyAlert
from bot.services.alerts.messages import (
    ACK_CALLBACK,
    LOW_SCALE,
    category_label,
    participant_name,
    shorten,
)
from bot.texts import escape, text


@dataclass(frozen=True)
class AlertView:
    id: int
    cohort_id: int
    cohort_name: str
    participant_id: int
    participant_name: str | None
    """None once the participant deleted their data."""
    category: str
    matched: str | None
    message_text: str | None
    created_at: datetime
    acknowledged_by: int | None
    acknowledged_at: datetime | None
    escalated_at: datetime | None

    @property
    def is_open(self) -> bool:
        return self.acknowledged_at is None


async def list_alerts(
    *,
    session: AsyncSession,
    cohort_ids: Collection[int] | None,
    open_only: bool = False,
    since: datetime | None = None,
    limit: int = 50,
) -> list[AlertView]:
    """Alerts of the given cohorts (None = all), newest first."""
    if cohort_ids is not None and not cohort_ids:
        return []
    query = (
        select(SafetyAlert, Cohort.name, Participant)
        .join(Cohort, col(SafetyAlert.cohort_id) == Cohort.id)
        .join(Participant, col(SafetyAlert.participant_id) == Participant.id)
        .order_by(col(SafetyAlert.created_at).desc(), col(SafetyAlert.id).desc())
        .limit(limit)
    )
    if cohort_ids is not None:
        query = query.where(col(SafetyAlert.cohort_id).in_(list(cohort_ids)))
    if open_only:
        query = query.where(col(SafetyAlert.acknowledged_at).is_(None))
    if since is not None:
        query = query.where(col(SafetyAlert.created_at) >= since)
    return [
        AlertView(
            id=alert.id,  # type: ignore[arg-type]
            cohort_id=alert.cohort_id,
            cohort_name=cohort_name,
            participant_id=alert.participant_id,
            participant_name=None
            if participant.data_deleted_at is not None
            else participant_name(participant),
            category=alert.category,
            matched=alert.matched,
            message_text=alert.message_text,
            created_at=alert.created_at,
            acknowledged_by=alert.acknowledged_by,
            acknowledged_at=alert.acknowledged_at,
            escalated_at=alert.escalated_at,
        )
        for alert, cohort_name, participant in (await session.exec(query)).all()
    ]


async def list_open_alerts(
    *, session: AsyncSession, cohort_ids: Collection[int] | None, limit: int = 50
) -> list[AlertView]:
    """Unacknowledged alerts of the given cohorts (None = all), newest first."""
    return await list_alerts(session=session, cohort_ids=cohort_ids, open_only=True, limit=limit)


def _when(value: datetime) -> str:
    return f"{value.day} {value:%b %H:%M} UTC"


def render_alert_list(
    alerts: list[AlertView], recent: list[AlertView], names: Mapping[int, str]
) -> str:
    """/alerts: open alerts first, then those handled lately (HTML)."""
    lines = [text("alerts_open_header", count=len(alerts))]
    if not alerts:
        lines.append(text("alerts_none_open"))
    for alert in alerts:
        lines.append(_alert_line(alert, names))
    if recent:
        lines += ["", text("alerts_recent_header")]
        lines += [_alert_line(alert, names) for alert in recent]
    return "\n".join(lines)


def _alert_line(alert: AlertView, names: Mapping[int, str]) -> str:
    who = (
        escape(alert.participant_name)
        if alert.participant_name
        else text("alert_deleted_participant")
    )
    if alert.category == LOW_SCALE:
        what = escape(alert.matched or "")
    elif alert.message_text:
        what = f"“{escape(shorten(alert.message_text, 100))}”"
    else:
        what = text("alert_text_deleted")
    line = text(
        "alerts_line",
        id=alert.id,
        cohort=escape(alert.cohort_name),
        name=who,
        category=category_label(alert.category),
        when=_when(alert.created_at),
        what=what,
    )
    if alert.acknowledged_at is not None:
        holder = names.get(alert.acknowledged_by or 0) or f"id {alert.acknowledged_by}"
        line += "\n" + text("alerts_line_taken", name=escape(holder))
    elif alert.escalated_at is not None:
        line += "\n" + text("alerts_line_escalated")
    return line


def list_markup(alerts: list[AlertView], limit: int = 8) -> dict[str, Any] | None:
    """One "I'm on it" button per open alert (the newest few)."""
    rows = [
        [
            {
                "text": text("alerts_button_ack", id=alert.id),
                "callback_data": ACK_CALLBACK.format(id=alert.id),
            }
        ]
        for alert in alerts[:limit]
    ]
    return {"inline_keyboard": rows} if rows else None
