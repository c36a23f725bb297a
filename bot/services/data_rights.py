"""A person's data: everything stored about them as a file (/mydata), and erasing it (/delete).

Erasing (shared with the retention purge in bot/services/retention.py) works on participant
rows, one per enrollment:

- answers keep their row (cohort, day, prompt, type, time) so response rates and engagement
  counts stay right, but lose their content: text, previous text, value, file id and message
  ids are set to NULL;
- safety alerts keep their row (so alert counts stay right) but lose the message text;
- the participant row loses the display name and its link to the Telegram account (the user id
  becomes minus the row id, the chat id 0), so what is left is an anonymous tally;
- outbox messages, raw inbox updates and audit entries that quote the person's words or name
  are blanked, and the raw updates they sent are reduced to their update id.

Matching quoted words: every free text the person wrote (its first 40 characters, so truncated
quotes are found too) and every part of their name (as a whole word), case-insensitively, in
plain, HTML-escaped and JSON-escaped form. Texts shorter than 3 characters ("ok") are not
searched for; they identify no one.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import String, Text, cast, literal, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.db.models import (
    AuditLog,
    Cohort,
    CurriculumVersion,
    Delivery,
    DeliveryState,
    InboxUpdate,
    Participant,
    ParticipantStatus,
    Response,
    SafetyAlert,
)
from bot.services.catalog import program_of
from bot.services.outbox import fail_pending_for_chat
from bot.services.participants import ENGAGED

ERASED = "[deleted]"
NEEDLE_LENGTH = 40
MIN_TEXT_LENGTH = 3
MIN_NAME_PART = 2
LIKE_CHUNK = 40
BUTTON_TYPES = ("scale", "choice")
FINISHED = (DeliveryState.SENT, DeliveryState.FAILED)
USER_KEYS = ("message", "edited_message", "callback_query", "my_chat_member", "chat_member")


# --- /mydata -------------------------------------------------------------------------------


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


async def _person_rows(
    *, session: AsyncSession, telegram_user_id: int
) -> list[tuple[Participant, Cohort, CurriculumVersion]]:
    rows = await session.exec(
        select(Participant, Cohort, CurriculumVersion)
        .join(Cohort, col(Participant.cohort_id) == Cohort.id)
        .join(CurriculumVersion, col(Cohort.curriculum_version_id) == CurriculumVersion.id)
        .where(Participant.telegram_user_id == telegram_user_id)
        .order_by(col(Participant.joined_at), col(Participant.id))
    )
    return list(rows.all())


async def has_data(*, session: AsyncSession, telegram_user_id: int) -> bool:
    found = await session.exec(
        select(Participant.id).where(Participant.telegram_user_id == telegram_user_id).limit(1)
    )
    return found.first() is not None


async def export_person(
    *, session: AsyncSession, telegram_user_id: int, now: datetime
) -> dict[str, Any] | None:
    """Everything stored about a person, across all their enrollments; None if nothing is."""
    rows = await _person_rows(session=session, telegram_user_id=telegram_user_id)
    if not rows:
        return None
    enrollments = []
    for participant, cohort, version in rows:
        program = program_of(version)
        prompts = {p.id: p.text for day in program.days() for p in day.prompts}
        answers = (
            await session.exec(
                select(Response)
                .where(Response.participant_id == participant.id)
                .order_by(col(Response.day), col(Response.answered_at), col(Response.id))
            )
        ).all()
        alerts = (
            await session.exec(
                select(SafetyAlert)
                .where(SafetyAlert.participant_id == participant.id)
                .order_by(col(SafetyAlert.created_at))
            )
        ).all()
        consent = None
        if participant.consent_at is not None:
            consent = {
                "version": participant.consent_version,
                "accepted_at": _iso(participant.consent_at),
                "text": program.consent.text
                if participant.consent_version == program.consent.version
                else None,
            }
        enrollments.append(
            {
                "cohort": {
                    "id": cohort.id,
                    "name": cohort.name,
                    "program_id": version.program_id,
                    "program_title": version.title,
                    "start_date": _iso(cohort.start_date),
                },
                "profile": {
                    "display_name": participant.display_name,
                    "language": participant.language,
                    "timezone": participant.timezone,
                    "status": participant.status,
                    "pseudonym": participant.pseudonym,
                    "joined_at": _iso(participant.joined_at),
                    "last_activity_at": _iso(participant.last_activity_at),
                    "paused_at": _iso(participant.paused_at),
                    "blocked_at": _iso(participant.blocked_at),
                    "left_at": _iso(participant.left_at),
                    "next_day": participant.next_day,
                },
                "consent": consent,
                "answers": [
                    {
                        "day": r.day,
                        "prompt_id": r.prompt_id,
                        "prompt": prompts.get(r.prompt_id),
                        "type": r.answer_type,
                        "value": r.value,
                        "text": r.text,
                        "file_id": r.file_id,
                        "answered_at": _iso(r.answered_at),
                        "edited_at": _iso(r.edited_at),
                        "previous_text": r.previous_text,
                    }
                    for r in answers
                ],
                "safety_alerts": [
                    {
                        "created_at": _iso(a.created_at),
                        "category": a.category,
                        "message_text": a.message_text,
                        "acknowledged_at": _iso(a.acknowledged_at),
                    }
                    for a in alerts
                ],
            }
        )
    return {
        "about": (
            "Everything resilience-bot stores about you. Your facilitators can read your "
            "answers. Send /delete to the bot to erase them."
        ),
        "generated_at": _iso(now),
        "telegram_user_id": telegram_user_id,
        "enrollments": enrollments,
    }


def export_document(data: dict[str, Any], filename: str = "my-data.json") -> dict[str, str]:
    """The export as a document for the outbox (`context.reply(..., document=...)`)."""
    content = json.dumps(data, indent=2, ensure_ascii=False).encode("utf-8")
    return {"filename": filename, "content_b64": base64.b64encode(content).decode("ascii")}


# --- finding quoted words ------------------------------------------------------------------


@dataclass
class Needles:
    """What identifies a person in other rows: prefixes of their texts, parts of their name."""

    texts: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)

    def add_text(self, value: str | None) -> None:
        value = (value or "").strip()
        if len(value) >= MIN_TEXT_LENGTH:
            self.texts.add(value[:NEEDLE_LENGTH])

    def add_name(self, value: str | None) -> None:
        value = (value or "").strip()
        if not value:
            return
        if len(value) >= MIN_NAME_PART:
            self.names.add(value)
        for part in value.split():
            if len(part) >= MIN_NAME_PART:
                self.names.add(part)

    def __bool__(self) -> bool:
        return bool(self.texts or self.names)

    def _forms(self, value: str) -> set[str]:
        return {value, html.escape(value, quote=False)}

    def like_patterns(self) -> list[str]:
        """Substrings to pre-select rows in SQL: plain, HTML- and JSON-escaped."""
        found: set[str] = set()
        for value in self.texts | self.names:
            for form in self._forms(value):
                found.add(form)
                found.add(json.dumps(form)[1:-1])
        return sorted(found)

    def _regex(self) -> re.Pattern[str] | None:
        parts = [re.escape(form) for value in self.texts for form in self._forms(value)]
        parts += [
            rf"(?<!\w){re.escape(form)}(?!\w)"
            for value in self.names
            for form in self._forms(value)
        ]
        if not parts:
            return None
        parts.sort(key=len, reverse=True)
        return re.compile("|".join(parts), re.IGNORECASE)

    def __post_init__(self) -> None:
        self._compiled: re.Pattern[str] | None = None
        self._compiled_for: tuple[int, int] = (-1, -1)

    @property
    def regex(self) -> re.Pattern[str] | None:
        key = (len(self.texts), len(self.names))
        if key != self._compiled_for:
            self._compiled, self._compiled_for = self._regex(), key
        return self._compiled

    def found_in(self, value: str | None) -> bool:
        regex = self.regex
        return bool(value and regex and regex.search(value))

    def redact(self, value: str) -> str:
        regex = self.regex
        return regex.sub(ERASED, value) if regex else value

    def found_in_bytes(self, data: bytes) -> bool:
        decoded = data.decode("utf-8", errors="replace")
        if self.found_in(decoded):
            return True
        return any(json.dumps(v)[1:-1] in decoded for v in self.texts | self.names)


def _like(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _any_like(column: Any, patterns: list[str]) -> Any:
    return or_(*(column.ilike(_like(p), escape="\\") for p in patterns))


def _chunks(values: list[str], size: int = LIKE_CHUNK) -> Iterable[list[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _deep_redact(value: Any, needles: Needles) -> tuple[Any, bool]:
    """A JSON value with every string that quotes the person replaced; and whether any was."""
    if isinstance(value, str):
        return (ERASED, True) if needles.found_in(value) else (value, False)
    if isinstance(value, list):
        items = [_deep_redact(item, needles) for item in value]
        return [v for v, _ in items], any(c for _, c in items)
    if isinstance(value, dict):
        pairs = {k: _deep_redact(v, needles) for k, v in value.items()}
        return {k: v for k, (v, _) in pairs.items()}, any(c for _, c in pairs.values())
    return value, False


def update_sender(payload: dict[str, Any]) -> tuple[int | None, int | None]:
    """(user id, private chat id) of whoever caused a raw update."""
    for key in USER_KEYS:
        part = payload.get(key)
        if isinstance(part, dict):
            user = part.get("from") or {}
            chat = part.get("chat") or (part.get("message") or {}).get("chat") or {}
            chat_id = chat.get("id") if chat.get("type") == "private" else None
            return user.get("id"), chat_id
    return None, None


# --- erasing -------------------------------------------------------------------------------


@dataclass
class ErasureSummary:
    participants: int = 0
    answers: int = 0
    alerts: int = 0
    names: int = 0
    deliveries: int = 0
    inbox_updates: int = 0
    audit_entries: int = 0

    def add(self, other: ErasureSummary) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass(frozen=True)
class InboxScope:
    """Raw updates from this Telegram user, received before `before` (None: all of them)."""

    telegram_user_id: int
    before: datetime | None = None


async def erase_participants(
    *,
    session: AsyncSession,
    participants: list[Participant],
    inbox: Collection[InboxScope],
    now: datetime,
    deleted_by_person: bool,
    apply: bool = True,
) -> ErasureSummary:
    """Erase the content these enrollments hold and every quote of it (see the module doc).

    `deleted_by_person` marks the participants `data_deleted_at` (what facilitators see as
    "participant deleted their data"); the retention purge leaves it unset. With `apply` False
    nothing changes: the summary says what would be erased.
    """
    summary = ErasureSummary(participants=len(participants))
    ids = [p.id for p in participants if p.id is not None]
    if not ids:
        return summary
    needles = Needles()
    chats = {p.chat_id for p in participants if p.chat_id}
    cohorts = {p.cohort_id for p in participants}
    for participant in participants:
        needles.add_name(participant.display_name)
        summary.names += participant.display_name is not None

    answers = (
        await session.exec(select(Response).where(col(Response.participant_id).in_(ids)))
    ).all()
    for answer in answers:
        if answer.answer_type not in BUTTON_TYPES:
            needles.add_text(answer.text)
            needles.add_text(answer.previous_text)
        has_content = any(
            v is not None for v in (answer.text, answer.previous_text, answer.value, answer.file_id)
        )
        summary.answers += has_content
    alerts = (
        await session.exec(select(SafetyAlert).where(col(SafetyAlert.participant_id).in_(ids)))
    ).all()
    for alert in alerts:
        needles.add_text(alert.message_text)
        summary.alerts += alert.message_text is not None

    summary.deliveries = await _scrub_deliveries(
        session=session, needles=needles, chats=chats, ids=ids, cohorts=cohorts, apply=apply
    )
    summary.inbox_updates = await _scrub_inbox(
        session=session, needles=needles, scopes=list(inbox), apply=apply
    )
    summary.audit_entries = await _scrub_audit(session=session, needles=needles, apply=apply)
    if not apply:
        return summary

    await session.exec(
        update(Response)  # type: ignore[call-overload]
        .where(col(Response.participant_id).in_(ids))
        .values(
            text=None,
            previous_text=None,
            value=None,
            file_id=None,
            telegram_message_id=None,
            prompt_message_id=None,
            dedupe_key=literal("erased:", String) + cast(Response.id, String),
        )
        .execution_options(synchronize_session=False)
    )
    await session.exec(
        update(SafetyAlert)  # type: ignore[call-overload]
        .where(col(SafetyAlert.participant_id).in_(ids))
        .values(message_text=None)
        .execution_options(synchronize_session=False)
    )
    for answer in answers:  # keep already-loaded objects in step with the database
        session.expunge(answer)
    for alert in alerts:
        session.expunge(alert)
    for participant in participants:
        participant.display_name = None
        participant.telegram_user_id = -(participant.id or 0)
        participant.chat_id = 0
        if deleted_by_person:
            participant.data_deleted_at = now
        session.add(participant)
    await session.flush()
    return summary


async def _scrub_deliveries(
    *,
    session: AsyncSession,
    needles: Needles,
    chats: set[int],
    ids: list[int],
    cohorts: set[int],
    apply: bool,
) -> int:
    theirs = (
        col(Delivery.chat_id).in_(chats or {0})
        | col(Delivery.participant_id).in_(ids)
        | col(Delivery.cohort_id).in_(cohorts)
    )
    # Messages tied to other cohorts are left alone (same first name, other person).
    related = theirs | col(Delivery.cohort_id).is_(None)
    # JSON columns hold the JSON null for "no document": look for a document's key instead.
    conditions = [cast(Delivery.document, Text).like("%content_b64%") & theirs]
    for chunk in _chunks(needles.like_patterns()):
        conditions.append(_any_like(col(Delivery.text), chunk))
        conditions.append(_any_like(cast(Delivery.reply_markup, Text), chunk))
    rows = (await session.exec(select(Delivery).where(related, or_(*conditions)))).all()
    changed = 0
    for row in rows:
        finished = row.state in FINISHED
        new_text = row.text
        if needles.found_in(row.text):
            new_text = ERASED if finished or row.chat_id in chats else needles.redact(row.text)
        new_markup, markup_hit = _deep_redact(row.reply_markup, needles)
        document = row.document
        document_hit = bool(document) and _document_quotes(document, needles)  # type: ignore[arg-type]
        if new_text == row.text and not markup_hit and not document_hit:
            continue
        changed += 1
        if not apply:
            continue
        row.text = new_text
        if markup_hit:
            row.reply_markup = None if finished else new_markup
        if document_hit:
            row.document = None
            row.text = ERASED
            if not finished:
                row.state, row.last_error = DeliveryState.FAILED, "quoted data was deleted"
        session.add(row)
    return changed


def _document_quotes(document: dict[str, Any], needles: Needles) -> bool:
    try:
        content = base64.b64decode(document.get("content_b64") or "", validate=False)
    except (binascii.Error, ValueError):
        return False
    return needles.found_in_bytes(content)


async def _scrub_inbox(
    *, session: AsyncSession, needles: Needles, scopes: list[InboxScope], apply: bool
) -> int:
    payload_text = cast(InboxUpdate.payload, Text)
    conditions = [payload_text.like(f'%"id": {scope.telegram_user_id}%') for scope in scopes]
    for chunk in _chunks(needles.like_patterns()):
        conditions.append(_any_like(payload_text, chunk))
    if not conditions:
        return 0
    by_user = {scope.telegram_user_id: scope for scope in scopes}
    rows = (await session.exec(select(InboxUpdate).where(or_(*conditions)))).all()
    changed = 0
    for row in rows:
        user_id, chat_id = update_sender(row.payload)
        scope = by_user.get(user_id or 0) or by_user.get(chat_id or 0)
        if scope is not None and scope.before is not None and row.received_at >= scope.before:
            continue  # theirs, but from a later enrollment that is still kept
        if scope is not None:
            new_payload: Any = {"update_id": row.update_id, "erased": True}
            hit = row.payload != new_payload
        else:
            new_payload, hit = _deep_redact(row.payload, needles)
        if not hit:
            continue
        changed += 1
        if apply:
            row.payload = new_payload
            session.add(row)
    return changed


async def _scrub_audit(*, session: AsyncSession, needles: Needles, apply: bool) -> int:
    patterns = needles.like_patterns()
    if not patterns:
        return 0
    changed = 0
    for chunk in _chunks(patterns):
        rows = (
            await session.exec(select(AuditLog).where(_any_like(col(AuditLog.detail), chunk)))
        ).all()
        for row in rows:
            if row.detail != ERASED and needles.found_in(row.detail):
                changed += 1
                if apply:
                    row.detail = ERASED
                    session.add(row)
    return changed


async def erase_person(
    *, session: AsyncSession, telegram_user_id: int, now: datetime
) -> ErasureSummary | None:
    """/delete: erase everything about this person in every enrollment, and leave the program.

    None when nothing is stored about them.
    """
    rows = await _person_rows(session=session, telegram_user_id=telegram_user_id)
    if not rows:
        return None
    participants = [participant for participant, _, _ in rows]
    for participant in participants:
        if participant.status in ENGAGED:
            participant.status = ParticipantStatus.WITHDRAWN
            participant.left_at = now
            participant.next_due_at = None
            session.add(participant)
    for chat_id in {p.chat_id for p in participants if p.chat_id}:
        await fail_pending_for_chat(
            session=session, chat_id=chat_id, reason="participant deleted their data"
        )
    return await erase_participants(
        session=session,
        participants=participants,
        inbox=[InboxScope(telegram_user_id)],
        now=now,
        deleted_by_person=True,
    )
