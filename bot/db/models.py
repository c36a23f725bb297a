"""SQLModel tables for the whole domain. Timestamps are timezone-aware UTC."""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.db.crypto import EncryptedText
from bot.db.types import UTCDateTime, utcnow


def _created() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


def _bigint(*, nullable: bool = False, index: bool = False, default: Any = None) -> Any:
    return Field(default=default, sa_type=BigInteger, nullable=nullable, index=index)


class CohortStatus(StrEnum):
    SCHEDULED = "scheduled"
    RUNNING = "running"
    CLOSED = "closed"


class ParticipantStatus(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"
    WITHDRAWN = "withdrawn"
    BLOCKED = "blocked"


class DeliveryState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    UNKNOWN = "unknown"


class CurriculumVersion(SQLModel, table=True):
    """The exact content a cohort runs, identified by its content hash."""

    __tablename__ = "curriculum_versions"

    id: int | None = Field(default=None, primary_key=True)
    program_id: str = Field(index=True, max_length=100)
    content_hash: str = Field(unique=True, max_length=64)
    title: str = Field(max_length=200)
    language: str = Field(max_length=16)
    source_path: str = Field(max_length=500)
    content: dict[str, Any] = Field(sa_type=JSON, nullable=False)
    created_at: datetime = _created()


class Cohort(SQLModel, table=True):
    __tablename__ = "cohorts"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    curriculum_version_id: int = Field(foreign_key="curriculum_versions.id", index=True)
    start_date: date
    start_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    timezone: str = Field(default="UTC", max_length=64)
    delivery_time: time = Field(default=time(9, 0))
    invite_code: str = Field(unique=True, max_length=32)
    status: str = Field(default=CohortStatus.SCHEDULED, max_length=16, index=True)
    group_chat_id: int | None = _bigint(nullable=True)
    retention_days: int = Field(default=180)
    crisis_resources: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    created_at: datetime = _created()
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    purged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Participant(SQLModel, table=True):
    """One person's enrollment in one cohort."""

    __tablename__ = "participants"
    __table_args__ = (
        UniqueConstraint("cohort_id", "telegram_user_id", name="uq_participant_cohort_user"),
        Index("ix_participants_due", "status", "next_due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    cohort_id: int = Field(foreign_key="cohorts.id", index=True)
    telegram_user_id: int = _bigint(index=True)
    chat_id: int = _bigint()
    display_name: str | None = Field(default=None, sa_type=EncryptedText)
    language: str | None = Field(default=None, max_length=16)
    timezone: str | None = Field(default=None, max_length=64)
    consent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    consent_version: str | None = Field(default=None, max_length=64)
    status: str = Field(default=ParticipantStatus.PENDING, max_length=16)
    pseudonym: str = Field(max_length=32, unique=True)
    joined_at: datetime = _created()
    first_day: int | None = Field(default=None)
    next_day: int | None = Field(default=None)
    next_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_activity_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    paused_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    blocked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    left_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    data_deleted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ConsentRefusal(SQLModel, table=True):
    """A declined consent: nothing about the person is kept, only that it happened."""

    __tablename__ = "consent_refusals"

    id: int | None = Field(default=None, primary_key=True)
    cohort_id: int = Field(foreign_key="cohorts.id", index=True)
    consent_version: str = Field(max_length=64)
    refused_at: datetime = _created()


class FacilitatorAccess(SQLModel, table=True):
    __tablename__ = "facilitator_access"
    __table_args__ = (
        UniqueConstraint("cohort_id", "telegram_user_id", name="uq_facilitator_cohort_user"),
    )

    id: int | None = Field(default=None, primary_key=True)
    cohort_id: int = Field(foreign_key="cohorts.id", index=True)
    telegram_user_id: int = _bigint(index=True)
    added_by: int | None = _bigint(nullable=True)
    added_at: datetime = _created()


class FacilitatorProfile(SQLModel, table=True):
    """Per-facilitator preferences: where to reach them and when to send the daily digest."""

    __tablename__ = "facilitator_profiles"

    telegram_user_id: int = Field(
        sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    chat_id: int | None = _bigint(nullable=True)
    display_name: str | None = Field(default=None, sa_type=Text)
    digest_time: time | None = Field(default=None)
    digest_timezone: str = Field(default="UTC", max_length=64)
    digest_last_sent_on: date | None = Field(default=None)
    updated_at: datetime = _created()


class FacilitatorInvite(SQLModel, table=True):
    __tablename__ = "facilitator_invites"

    id: int | None = Field(default=None, primary_key=True)
    cohort_id: int = Field(foreign_key="cohorts.id", index=True)
    code: str = Field(unique=True, max_length=32)
    created_by: int | None = _bigint(nullable=True)
    created_at: datetime = _created()
    used_by: int | None = _bigint(nullable=True)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Delivery(SQLModel, table=True):
    """The outbox: every message the program sends is first a row here.

    Unique per participant x program day x item; `dedupe_key` extends that to messages
    that belong to no participant (group posts, facilitator alerts).
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("participant_id", "day", "item", name="uq_delivery_participant_day_item"),
        Index("ix_deliveries_state_due", "state", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(unique=True, max_length=200)
    participant_id: int | None = Field(default=None, foreign_key="participants.id", index=True)
    cohort_id: int | None = Field(default=None, foreign_key="cohorts.id", index=True)
    day: int = Field(default=0)
    item: str = Field(max_length=120)
    kind: str = Field(max_length=32)
    prompt_id: str | None = Field(default=None, max_length=100)
    chat_id: int = _bigint()
    text: str = Field(sa_type=Text)
    reply_markup: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    document: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    state: str = Field(default=DeliveryState.PENDING, max_length=16)
    attempts: int = Field(default=0)
    last_error: str | None = Field(default=None, sa_type=Text)
    telegram_message_id: int | None = _bigint(nullable=True)
    due_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    remind_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = _created()


class Response(SQLModel, table=True):
    """One answer a participant gave, against cohort, curriculum version, day and prompt."""

    __tablename__ = "responses"
    __table_args__ = (
        Index("ix_responses_cohort_day", "cohort_id", "day"),
        Index("ix_responses_participant_day_prompt", "participant_id", "day", "prompt_id"),
        # Covers the report's per-prompt counts: no table lookups for a cohort's answers.
        Index(
            "ix_responses_cohort_type_participant",
            "cohort_id",
            "answer_type",
            "participant_id",
            "day",
            "prompt_id",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(unique=True, max_length=120)
    participant_id: int = Field(foreign_key="participants.id")
    cohort_id: int = Field(foreign_key="cohorts.id")
    curriculum_version_id: int = Field(foreign_key="curriculum_versions.id")
    day: int
    prompt_id: str = Field(max_length=100)
    answer_type: str = Field(max_length=16)
    value: str | None = Field(default=None, max_length=200)
    text: str | None = Field(default=None, sa_type=EncryptedText)
    file_id: str | None = Field(default=None, max_length=255)
    telegram_message_id: int | None = _bigint(nullable=True)
    prompt_message_id: int | None = _bigint(nullable=True)
    answered_at: datetime = _created()
    edited_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    previous_text: str | None = Field(default=None, sa_type=EncryptedText)


class InboxUpdate(SQLModel, table=True):
    """A received Telegram update, stored before Telegram is told it arrived."""

    __tablename__ = "inbox_updates"
    __table_args__ = (Index("ix_inbox_processed", "processed", "update_id"),)

    update_id: int = Field(
        sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    payload: dict[str, Any] = Field(sa_type=JSON, nullable=False)
    processed: bool = Field(default=False)
    received_at: datetime = _created()
    processed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    error: str | None = Field(default=None, sa_type=Text)
    attempts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    """Failed tries of this update's handlers; after a few, the update is set aside (error)."""


class SafetyAlert(SQLModel, table=True):
    __tablename__ = "safety_alerts"

    id: int | None = Field(default=None, primary_key=True)
    cohort_id: int = Field(foreign_key="cohorts.id", index=True)
    participant_id: int = Field(foreign_key="participants.id", index=True)
    response_id: int | None = Field(default=None, foreign_key="responses.id")
    category: str = Field(max_length=32)
    matched: str | None = Field(default=None, sa_type=Text)
    message_text: str | None = Field(default=None, sa_type=EncryptedText)
    created_at: datetime = _created()
    acknowledged_by: int | None = _bigint(nullable=True)
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    escalated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AuditLog(SQLModel, table=True):
    """Who read which cohort's data, and when."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    actor_telegram_id: int | None = _bigint(nullable=True, index=True)
    action: str = Field(max_length=64)
    cohort_id: int | None = Field(default=None, foreign_key="cohorts.id", index=True)
    detail: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = _created()


class CommandMenu(SQLModel, table=True):
    """Chats that have the facilitator command menu, so a removed facilitator loses it."""

    __tablename__ = "command_menus"

    telegram_user_id: int = Field(
        sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    published_at: datetime = _created()


class SafetyCheckIn(SQLModel, table=True):
    """A gentle "are you safe?" after a message the detector was unsure about. No text is
    kept here; the message itself is stored with the answers."""

    __tablename__ = "safety_checkins"
    __table_args__ = (Index("ix_safety_checkins_participant_asked", "participant_id", "asked_at"),)

    id: int | None = Field(default=None, primary_key=True)
    cohort_id: int = Field(foreign_key="cohorts.id", index=True)
    participant_id: int = Field(foreign_key="participants.id")
    category: str = Field(max_length=32)
    asked_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    answer: str | None = Field(default=None, max_length=16)  # safe, not_safe, talk
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    alert_id: int | None = Field(default=None, foreign_key="safety_alerts.id")
