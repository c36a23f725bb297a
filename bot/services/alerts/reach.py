"""Alerts that reached nobody: no facilitator or administrator to send them to, or every
recipient's copy failed (they blocked the bot). These must never pass in silence."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db.models import Delivery, DeliveryState, SafetyAlert

_ALERT_ITEM = re.compile(r"^alert(\d+):")


@dataclass(frozen=True)
class UnreachedAlert:
    alert_id: int
    cohort_id: int
    created_at: datetime
    reason: str  # "nobody to send it to" or "every copy failed: <error>"

    def as_dict(self) -> dict[str, object]:
        return {
            "alert_id": self.alert_id,
            "cohort_id": self.cohort_id,
            "created_at": self.created_at.isoformat(),
            "reason": self.reason,
        }


async def unreached_alerts(*, session: AsyncSession) -> list[UnreachedAlert]:
    """Open (unacknowledged) alerts that no facilitator or administrator has received, however
    old: one that reached nobody last month still needs someone."""
    alerts = (
        await session.exec(
            select(SafetyAlert)
            .where(col(SafetyAlert.acknowledged_at).is_(None))
            .order_by(col(SafetyAlert.id))
        )
    ).all()
    if not alerts:
        return []
    copies: dict[int, list[tuple[str, str | None]]] = defaultdict(list)
    rows = await session.exec(
        select(Delivery.item, Delivery.state, Delivery.last_error)
        .where(col(Delivery.kind) == "alert")
        .where(col(Delivery.cohort_id).in_({a.cohort_id for a in alerts}))
        .where(col(Delivery.created_at) >= min(a.created_at for a in alerts))
    )
    for item, state, error in rows.all():
        found = _ALERT_ITEM.match(item)
        if found:
            copies[int(found.group(1))].append((state, error))
    unreached = []
    for alert in alerts:
        states = copies.get(alert.id, [])  # type: ignore[arg-type]
        if not states:
            reason = "nobody to send it to: no facilitator and no FACILITATOR_IDS"
        elif all(state == DeliveryState.FAILED for state, _ in states):
            reason = f"every copy failed: {states[-1][1] or 'unknown error'}"
        else:
            continue
        unreached.append(
            UnreachedAlert(alert.id, alert.cohort_id, alert.created_at, reason)  # type: ignore[arg-type]
        )
    return unreached
