"""The facilitators' daily digest: a short summary of each of their cohorts at a chosen time.

`due_profiles` and `queue_digests` take `now` and never sleep; `digest_job` runs them from the
job queue. Each digest goes through the outbox, unique per facilitator and local date.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db.models import Cohort, CohortStatus, FacilitatorProfile
from bot.db.session import unit_of_work
from bot.services.clock import ProgramClock
from bot.services.cohorts import cohort_day
from bot.services.facilitators import accessible_cohort_ids
from bot.services.outbox import OutgoingMessage, enqueue
from bot.services.reports import (
    Report,
    build_report,
    day_label,
    open_alert_counts,
    percent,
)
from bot.texts import escape, text

DIGEST_JOB = "facilitator-digest"
DIGEST_INTERVAL_SECONDS = 60


def local_date(profile: FacilitatorProfile, now: datetime) -> date:
    return now.astimezone(ZoneInfo(profile.digest_timezone)).date()


def is_due(profile: FacilitatorProfile, now: datetime) -> bool:
    """Due once per local day, at or after the chosen time (late is fine after downtime)."""
    if profile.digest_time is None or profile.chat_id is None:
        return False
    local = now.astimezone(ZoneInfo(profile.digest_timezone))
    if profile.digest_last_sent_on is not None and profile.digest_last_sent_on >= local.date():
        return False
    return local.time().replace(tzinfo=None) >= profile.digest_time


async def due_profiles(*, session: AsyncSession, now: datetime) -> list[FacilitatorProfile]:
    profiles = (
        await session.exec(
            select(FacilitatorProfile)
            .where(col(FacilitatorProfile.digest_time).is_not(None))
            .order_by(col(FacilitatorProfile.telegram_user_id))
        )
    ).all()
    return [p for p in profiles if is_due(p, now)]


def render_digest(
    reports: list[Report], alerts: dict[int, int], language: str | None, limit: int = 3900
) -> str:
    parts = [text("fac_digest_header", language)]
    for index, report in enumerate(reports):
        yesterday = report.yesterday
        summary = (
            f"{yesterday.answered} of {yesterday.delivered} answered · {percent(yesterday.rate)}"
            if yesterday is not None
            else "–"
        )
        lines = [
            text(
                "fac_digest_cohort",
                language,
                name=escape(report.cohort_name),
                day=escape(day_label(report)),
                yesterday=summary,
            )
        ]
        if report.newly_at_risk:
            names = ", ".join(escape(p.name) for p in report.newly_at_risk[:20])
            if len(report.newly_at_risk) > 20:
                names += f" and {len(report.newly_at_risk) - 20} more"
            lines.append(text("fac_digest_new_risk", language, names=names))
        if alerts.get(report.cohort_id):
            lines.append(text("fac_digest_alerts", language, count=alerts[report.cohort_id]))
        section = "\n".join(lines)
        if sum(len(p) + 2 for p in parts) + len(section) > limit:
            parts.append(f"…and {len(reports) - index} more: send /cohorts.")
            break
        parts.append(section)
    return "\n\n".join(parts)


async def queue_digests(
    *,
    session: AsyncSession,
    clock: ProgramClock,
    now: datetime,
    admin_ids: Collection[int],
    at_risk_days: int,
) -> int:
    """Queue the digest for every facilitator whose time has come; returns how many."""
    queued = 0
    for profile in await due_profiles(session=session, now=now):
        ids = await accessible_cohort_ids(
            session=session, telegram_user_id=profile.telegram_user_id, admin_ids=admin_ids
        )
        query = select(Cohort).where(Cohort.status != CohortStatus.CLOSED)
        if ids is not None:
            query = query.where(col(Cohort.id).in_(ids))
        reports = []
        for cohort in (await session.exec(query.order_by(col(Cohort.id)))).all():
            day = cohort_day(cohort=cohort, clock=clock, now=now)  # not capped at the end
            if day < 1:
                continue
            report = await build_report(
                session=session,
                cohort_id=cohort.id,  # type: ignore[arg-type]
                now=now,
                clock=clock,
                at_risk_days=at_risk_days,
            )
            if day <= report.length_days + 1:  # running, or its last day ended since
                reports.append(report)
        today = local_date(profile, now)
        profile.digest_last_sent_on = today
        session.add(profile)
        if not reports:
            continue
        alerts = await open_alert_counts(session=session, cohort_ids=[r.cohort_id for r in reports])
        queued += await enqueue(
            session=session,
            messages=[
                OutgoingMessage(
                    chat_id=profile.chat_id,  # type: ignore[arg-type]
                    kind="digest",
                    scope=f"digest{profile.telegram_user_id}",
                    item=today.isoformat(),
                    text=render_digest(reports, alerts, None),
                    due_at=now,
                )
            ],
        )
    return queued


async def digest_job(context: Any) -> None:
    """Job-queue callback: queue due digests and wake the sender."""
    runtime = context.runtime
    async with unit_of_work(runtime.sessions) as session:
        queued = await queue_digests(
            session=session,
            clock=runtime.program_clock,
            now=runtime.now(),
            admin_ids=runtime.settings.facilitator_ids,
            at_risk_days=runtime.settings.at_risk_days,
        )
    if queued:
        runtime.sender.wake()
