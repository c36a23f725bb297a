"""Safety alerts: check what participants write, answer with care, tell the facilitators.

Crisis language (see bot/services/safety.py and curricula/safety.yaml) gets the participant an
immediate caring reply with the crisis resources of their cohort, and the cohort's facilitators
(or, if it has none, the administrators) an alert with an "I'm on it" button. An alert nobody
acknowledges within ALERT_ESCALATION_MINUTES is repeated once to the administrators.

Alert messages go through the outbox under the dedupe key `alerts:alert<id>:<recipient>`
(`alerts:alert<id>:esc:<admin>` for the escalation), so they are sent once and can be found
again to show who took the alert on.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Text, cast, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.curriculum.schema import ScaleAlert, ScalePrompt
from bot.db.models import (
    Cohort,
    Delivery,
    DeliveryState,
    FacilitatorAccess,
    FacilitatorProfile,
    Participant,
    Response,
    SafetyAlert,
)
from bot.services.clock import ProgramClock
from bot.services.outbox import OutgoingMessage, enqueue
from bot.services.participants import Enrollment
from bot.services.safety import (
    SAFETY_FILE_NAME,
    SafetyConfig,
    SafetyConfigError,
    SafetyMatch,
    SafetyMatcher,
    load_program_safety_config,
    load_safety_config,
    low_streak,
)
from bot.texts import escape, text

log = logging.getLogger(__name__)

LOW_SCALE = "low_scale"
ALERT_SCOPE = "alerts"
ACK_CALLBACK = "alert:{id}:ack"
ACK_PATTERN = r"^alert:\d+:ack$"
REPEAT_WINDOW = timedelta(hours=24)
"""The same words from the same person within this window raise no second alert (edits)."""
BUNDLED_SAFETY_FILE = Path(__file__).resolve().parents[2] / "curricula" / SAFETY_FILE_NAME


# --- configuration -------------------------------------------------------------------------


def default_safety_file(*, safety_file: Path | None, curricula_dir: Path) -> Path:
    """SAFETY_FILE if set, else safety.yaml in CURRICULA_DIR, else the one shipped with the bot."""
    if safety_file is not None:
        return safety_file
    beside = curricula_dir / SAFETY_FILE_NAME
    return beside if beside.is_file() else BUNDLED_SAFETY_FILE


class SafetyChecker:
    """The base safety configuration, with each program's override merged in on first use."""

    def __init__(self, base: SafetyConfig, curricula_dir: Path | None = None) -> None:
        self.base = base
        self.curricula_dir = curricula_dir
        self._programs: dict[str | None, tuple[SafetyConfig, SafetyMatcher]] = {
            None: (base, SafetyMatcher(base))
        }

    @classmethod
    def load(cls, *, safety_file: Path | None, curricula_dir: Path) -> SafetyChecker:
        """Raises SafetyConfigError (with the file name) when a file is broken."""
        path = default_safety_file(safety_file=safety_file, curricula_dir=curricula_dir)
        checker = cls(load_safety_config(path), curricula_dir)
        return checker

    def for_program(self, program_id: str | None) -> tuple[SafetyConfig, SafetyMatcher]:
        cached = self._programs.get(program_id)
        if cached is None:
            config = self.base
            if self.curricula_dir is not None and program_id is not None:
                try:
                    config = load_program_safety_config(self.base, self.curricula_dir, program_id)
                except SafetyConfigError as exc:  # never leave a person without an answer
                    log.error("program safety file ignored: %s", exc)
            cached = self._programs[program_id] = (config, SafetyMatcher(config))
        return cached

    def check(self, text_: str, language: str | None, program_id: str | None) -> SafetyMatch | None:
        return self.for_program(program_id)[1].check(text_, language)

    def reply(
        self,
        kind: str,
        *,
        language: str | None,
        program_id: str | None,
        resources: Mapping[str, Any] | None,
    ) -> str:
        """The caring reply (plain text) with the cohort's crisis resources, or the defaults
        when the cohort's are broken."""
        config = self.for_program(program_id)[0]
        try:
            return config.reply(kind, language, resources)  # type: ignore[arg-type]
        except (ValidationError, ValueError, TypeError):
            log.error("cohort crisis_resources are invalid; using the defaults")
            return config.reply(kind, language, None)  # type: ignore[arg-type]


# --- who gets alerts -----------------------------------------------------------------------


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
    if telegram_user_id in admin_ids:
        return None
    rows = await session.exec(
        select(FacilitatorAccess.cohort_id).where(
            FacilitatorAccess.telegram_user_id == telegram_user_id
        )
    )
    return set(rows.all())


# --- rendering -----------------------------------------------------------------------------


CATEGORY_KEYS = {
    "self_harm": "alert_cat_self_harm",
    "harm_to_others": "alert_cat_harm_to_others",
    "abuse": "alert_cat_abuse",
    LOW_SCALE: "alert_cat_low_scale",
}


def category_label(category: str) -> str:
    key = CATEGORY_KEYS.get(category)
    return text(key) if key else escape(category)


def participant_label(participant: Participant | None, *, link: bool = True) -> str:
    """The participant's name (HTML), linked to their profile when they can still be reached."""
    if participant is None or participant.data_deleted_at is not None:
        return text("alert_deleted_participant")
    name = escape(participant.display_name or f"participant {participant.pseudonym[:6]}")
    if link and participant.telegram_user_id > 0:
        return f'<a href="tg://user?id={participant.telegram_user_id}">{name}</a>'
    return name


def _quote(value: str | None, limit: int = 1500) -> str:
    if not value:
        return text("alert_text_deleted")
    short = value if len(value) <= limit else value[: limit - 1] + "…"
    return f"<blockquote>{escape(short)}</blockquote>"


def render_alert(alert: SafetyAlert, cohort: Cohort, participant: Participant | None) -> str:
    """The alert as facilitators read it (HTML)."""
    head = text(
        "alert_head",
        cohort=escape(cohort.name),
        category=category_label(alert.category),
    )
    who = participant_label(participant)
    if alert.category == LOW_SCALE:
        body = text("alert_body_scale", name=who, detail=escape(alert.matched or ""))
    else:
        body = text("alert_body_text", name=who, message=_quote(alert.message_text))
    return f"{head}\n{body}\n\n{text('alert_footer')}"


def ack_markup(alert_id: int) -> dict[str, Any]:
    data = ACK_CALLBACK.format(id=alert_id)
    assert len(data.encode()) <= 64
    return {"inline_keyboard": [[{"text": text("alert_button_ack"), "callback_data": data}]]}


def _item(alert_id: int, recipient: int, escalation: bool = False) -> str:
    return f"alert{alert_id}:esc:{recipient}" if escalation else f"alert{alert_id}:{recipient}"


def _dedupe_prefix(alert_id: int) -> str:
    return f"{ALERT_SCOPE}:alert{alert_id}:"


# --- raising alerts ------------------------------------------------------------------------


async def _repeat_of(
    *, session: AsyncSession, participant_id: int, message_text: str, now: datetime
) -> bool:
    """Whether this person's same words raised an alert recently (an edit, a double send)."""
    recent = await session.exec(
        select(SafetyAlert.message_text)
        .where(SafetyAlert.participant_id == participant_id)
        .where(col(SafetyAlert.created_at) >= now - REPEAT_WINDOW)
    )
    return any(previous == message_text for previous in recent.all())


async def raise_alert(
    *,
    session: AsyncSession,
    cohort: Cohort,
    participant: Participant,
    category: str,
    matched: str | None,
    message_text: str | None,
    now: datetime,
    admin_ids: Collection[int],
    response_id: int | None = None,
) -> SafetyAlert:
    """Store the alert and queue it to every recipient (facilitators, else administrators)."""
    alert = SafetyAlert(
        cohort_id=cohort.id,  # type: ignore[arg-type]
        participant_id=participant.id,  # type: ignore[arg-type]
        response_id=response_id,
        category=category,
        matched=matched,
        message_text=message_text,
        created_at=now,
    )
    session.add(alert)
    await session.flush()
    recipients = await alert_recipients(
        session=session,
        cohort_id=cohort.id,  # type: ignore[arg-type]
        admin_ids=admin_ids,
    )
    if not recipients:
        log.warning("safety alert %s has nobody to go to: set FACILITATOR_IDS", alert.id)
    body = render_alert(alert, cohort, participant)
    await enqueue(
        session=session,
        messages=[
            OutgoingMessage(
                chat_id=recipient,
                text=body,
                kind="alert",
                item=_item(alert.id, recipient),  # type: ignore[arg-type]
                scope=ALERT_SCOPE,
                cohort_id=cohort.id,
                due_at=now,
                reply_markup=ack_markup(alert.id),  # type: ignore[arg-type]
            )
            for recipient in recipients
        ],
    )
    log.info("safety alert %s (%s) for cohort %s", alert.id, category, cohort.id)
    return alert


@dataclass(frozen=True)
class SafetyOutcome:
    """What to tell the participant (plain text), and the alert raised, if any."""

    reply: str
    category: str
    alert: SafetyAlert | None = None


async def _latest_enrollment(*, session: AsyncSession, telegram_user_id: int) -> Enrollment | None:
    from bot.services.participants import current_enrollment

    found = await current_enrollment(
        session=session, telegram_user_id=telegram_user_id, include_ended=True
    )
    if found is None or found.participant.data_deleted_at is not None:
        return None
    return found


async def check_text(
    *,
    session: AsyncSession,
    checker: SafetyChecker,
    enrollment: Enrollment | None,
    telegram_user_id: int | None,
    message: str,
    language: str | None,
    now: datetime,
    admin_ids: Collection[int],
) -> SafetyOutcome | None:
    """Check one message a person wrote. On a match: the caring reply, and an alert to the
    facilitators of their cohort (their latest one if they already finished or left)."""
    if not message or not message.strip():
        return None
    if enrollment is None and telegram_user_id is not None:
        enrollment = await _latest_enrollment(session=session, telegram_user_id=telegram_user_id)
    program_id = enrollment.version.program_id if enrollment else None
    if enrollment is not None:
        language = enrollment.participant.language or language or enrollment.program.language
    match = checker.check(message, language, program_id)
    if match is None:
        return None
    resources = enrollment.cohort.crisis_resources if enrollment else None
    reply = checker.reply(
        match.category.value, language=language, program_id=program_id, resources=resources
    )
    alert = None
    if enrollment is not None:
        participant = enrollment.participant
        repeat = await _repeat_of(
            session=session,
            participant_id=participant.id,  # type: ignore[arg-type]
            message_text=message,
            now=now,
        )
        if not repeat:
            alert = await raise_alert(
                session=session,
                cohort=enrollment.cohort,
                participant=participant,
                category=match.category.value,
                matched=match.matched,
                message_text=message,
                now=now,
                admin_ids=admin_ids,
            )
    return SafetyOutcome(reply=reply, category=match.category.value, alert=alert)


def _alert_rules(enrollment: Enrollment) -> dict[str, tuple[ScaleAlert, int, ScalePrompt]]:
    """Prompt id -> (its alert rule, its position in the program, the prompt)."""
    rules: dict[str, tuple[ScaleAlert, int, ScalePrompt]] = {}
    position = 0
    for day in enrollment.program.days():
        for prompt in day.prompts:
            position += 1
            if isinstance(prompt, ScalePrompt) and prompt.alert is not None:
                rules[prompt.id] = (prompt.alert, position, prompt)
    return rules


async def check_scale(
    *,
    session: AsyncSession,
    checker: SafetyChecker,
    enrollment: Enrollment,
    now: datetime,
    admin_ids: Collection[int],
) -> SafetyOutcome | None:
    """After a scale answer: alert when the participant's answers to prompts carrying the same
    alert rule are low for `consecutive_days` answers in a row (day order, newest last).

    Alerts once per streak: a streak whose answers already raised an alert raises no other.
    """
    rules = _alert_rules(enrollment)
    if not rules:
        return None
    participant = enrollment.participant
    rows = (
        await session.exec(
            select(Response)
            .where(Response.participant_id == participant.id, Response.answer_type == "scale")
            .where(col(Response.prompt_id).in_(rules), col(Response.value).is_not(None))
        )
    ).all()
    groups: dict[ScaleAlert, list[Response]] = {}
    for row in sorted(rows, key=lambda r: (r.day, rules[r.prompt_id][1], r.id or 0)):
        groups.setdefault(rules[row.prompt_id][0], []).append(row)
    for rule, answers in groups.items():
        values = [int(r.value) for r in answers]  # type: ignore[arg-type]
        streak = low_streak(values, rule.at_or_below)
        if streak < rule.consecutive_days:
            continue
        streak_rows = answers[-streak:]
        already = (
            await session.exec(
                select(SafetyAlert.id)
                .where(SafetyAlert.participant_id == participant.id)
                .where(SafetyAlert.category == LOW_SCALE)
                .where(col(SafetyAlert.response_id).in_([r.id for r in streak_rows]))
                .limit(1)
            )
        ).first()
        if already is not None:
            continue
        prompt = rules[streak_rows[-1].prompt_id][2]
        detail = text(
            "alert_scale_detail",
            prompt=prompt.text,
            values=", ".join(str(v) for v in values[-streak:]),
            count=streak,
        )
        alert = await raise_alert(
            session=session,
            cohort=enrollment.cohort,
            participant=participant,
            category=LOW_SCALE,
            matched=detail,
            message_text=None,
            now=now,
            admin_ids=admin_ids,
            response_id=streak_rows[-1].id,
        )
        language = participant.language or enrollment.program.language
        reply = checker.reply(
            LOW_SCALE,
            language=language,
            program_id=enrollment.version.program_id,
            resources=enrollment.cohort.crisis_resources,
        )
        return SafetyOutcome(reply=reply, category=LOW_SCALE, alert=alert)
    return None


# --- acknowledging -------------------------------------------------------------------------


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


async def may_handle(
    *, session: AsyncSession, telegram_user_id: int, cohort_id: int, admin_ids: Collection[int]
) -> bool:
    if telegram_user_id in admin_ids:
        return True
    return telegram_user_id in await cohort_facilitators(session=session, cohort_id=cohort_id)


async def _facilitator_name(session: AsyncSession, telegram_user_id: int) -> str | None:
    profile = await session.get(FacilitatorProfile, telegram_user_id)
    return profile.display_name if profile else None


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
        name = by_name or await _facilitator_name(session, by_user_id) or f"id {by_user_id}"
        await _remember_name(session, by_user_id, by_name, now)
    else:
        holder = alert.acknowledged_by
        name = (
            (by_name if holder == by_user_id else None)
            or (await _facilitator_name(session, holder) if holder else None)
            or f"id {holder}"
        )
    rows = (
        await session.exec(
            select(Delivery).where(col(Delivery.dedupe_key).startswith(_dedupe_prefix(alert_id)))
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
        name = (await _facilitator_name(session, holder) if holder else None) or f"id {holder}"
        edits += await _show_taken(session, by_alert[alert_id], name)
    return edits


# --- escalating ----------------------------------------------------------------------------


async def escalate_due(
    *,
    session: AsyncSession,
    clock: ProgramClock,
    now: datetime,
    escalation_minutes: float,
    admin_ids: Collection[int],
) -> list[int]:
    """Repeat every alert still unacknowledged after `escalation_minutes` (scaled by the
    preview clock) once to the administrators; returns the alert ids escalated."""
    cutoff = now - timedelta(seconds=clock.scale(escalation_minutes * 60))
    due = (
        await session.exec(
            select(SafetyAlert, Cohort, Participant)
            .join(Cohort, col(SafetyAlert.cohort_id) == Cohort.id)
            .join(Participant, col(SafetyAlert.participant_id) == Participant.id)
            .where(col(SafetyAlert.acknowledged_at).is_(None))
            .where(col(SafetyAlert.escalated_at).is_(None))
            .where(col(SafetyAlert.created_at) <= cutoff)
            .order_by(col(SafetyAlert.id))
        )
    ).all()
    admins = sorted(admin_ids)
    if due and not admins:
        log.warning("%d safety alert(s) unacknowledged and no FACILITATOR_IDS set", len(due))
    messages = []
    for alert, cohort, participant in due:
        alert.escalated_at = now
        session.add(alert)
        body = text("alert_escalated", minutes=f"{escalation_minutes:g}") + "\n\n"
        body += render_alert(alert, cohort, participant)
        messages += [
            OutgoingMessage(
                chat_id=admin,
                text=body,
                kind="alert",
                item=_item(alert.id, admin, escalation=True),  # type: ignore[arg-type]
                scope=ALERT_SCOPE,
                cohort_id=cohort.id,
                due_at=now,
                reply_markup=ack_markup(alert.id),  # type: ignore[arg-type]
            )
            for admin in admins
        ]
    await enqueue(session=session, messages=messages)
    if due:
        log.info("escalated %d safety alert(s) to %d administrator(s)", len(due), len(admins))
    return [alert.id for alert, _, _ in due]  # type: ignore[misc]


# --- listing -------------------------------------------------------------------------------


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
            else (participant.display_name or f"participant {participant.pseudonym[:6]}"),
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
        short = alert.message_text
        if len(short) > 100:
            short = short[:99] + "…"
        what = f"“{escape(short)}”"
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


async def facilitator_names(*, session: AsyncSession, ids: Collection[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await session.exec(
        select(FacilitatorProfile.telegram_user_id, FacilitatorProfile.display_name).where(
            col(FacilitatorProfile.telegram_user_id).in_(list(ids))
        )
    )
    return {uid: name for uid, name in rows.all() if name}


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
