"""Recording answers: every one stored against the right cohort, day and prompt, never lost."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.curriculum.schema import ScalePrompt, TextPrompt
from bot.db.models import Delivery, DeliveryState, Response
from bot.parsing import is_number
from bot.services.clock import ProgramClock
from bot.services.participants import Enrollment
from bot.services.rendering import answer_label, answer_value
from bot.services.schedule import clear_reminder, queue_after_answer

ANSWER_TYPES = ("text", "scale", "choice")
OPEN_STATES = (DeliveryState.SENT, DeliveryState.SENDING, DeliveryState.UNKNOWN)


@dataclass(frozen=True)
class OpenPrompt:
    day: int
    prompt_id: str
    prompt_index: int
    message_id: int | None
    is_text: bool


async def answered_prompts(*, session: AsyncSession, participant_id: int) -> set[tuple[int, str]]:
    rows = await session.exec(
        select(Response.day, Response.prompt_id)
        .where(Response.participant_id == participant_id)
        .where(col(Response.answer_type).in_(ANSWER_TYPES))
        .distinct()
    )
    return {(day, prompt_id) for day, prompt_id in rows.all()}


async def open_prompts(*, session: AsyncSession, enrollment: Enrollment) -> list[OpenPrompt]:
    """Prompts sent to the participant and not answered yet, oldest first."""
    participant = enrollment.participant
    program = enrollment.program
    sent = (
        await session.exec(
            select(Delivery.day, Delivery.prompt_id, Delivery.telegram_message_id)
            .where(Delivery.participant_id == participant.id, Delivery.kind == "prompt")
            .where(col(Delivery.state).in_(OPEN_STATES))
            .order_by(col(Delivery.day), col(Delivery.id))
        )
    ).all()
    answered = await answered_prompts(session=session, participant_id=participant.id)  # type: ignore[arg-type]
    result = []
    for day, prompt_id, message_id in sent:
        if (day, prompt_id) in answered or day > program.length_days:
            continue
        prompts = program.day(day).prompts
        index = next((i for i, p in enumerate(prompts) if p.id == prompt_id), None)
        if index is None:
            continue
        result.append(
            OpenPrompt(day, prompt_id, index, message_id, isinstance(prompts[index], TextPrompt))
        )
    return result


async def _store_and_advance(
    *,
    session: AsyncSession,
    clock: ProgramClock,
    enrollment: Enrollment,
    response: Response,
    prompt_index: int,
    now: datetime,
) -> None:
    participant = enrollment.participant
    session.add(response)
    participant.last_activity_at = now
    session.add(participant)
    await clear_reminder(
        session=session,
        participant_id=participant.id,  # type: ignore[arg-type]
        day=response.day,
        prompt_id=response.prompt_id,
    )
    await session.flush()
    await queue_after_answer(
        session=session,
        clock=clock,
        program=enrollment.program,
        participant=participant,
        day=response.day,
        prompt_index=prompt_index,
        now=now,
    )


def _new_response(
    enrollment: Enrollment,
    *,
    key: str,
    day: int,
    prompt_id: str,
    answer_type: str,
    now: datetime,
    **fields: object,
) -> Response:
    participant = enrollment.participant
    return Response(
        dedupe_key=key,
        participant_id=participant.id,  # type: ignore[arg-type]
        cohort_id=participant.cohort_id,
        curriculum_version_id=enrollment.version.id,  # type: ignore[arg-type]
        day=day,
        prompt_id=prompt_id,
        answer_type=answer_type,
        answered_at=now,
        **fields,  # type: ignore[arg-type]
    )


class ButtonResult(StrEnum):
    RECORDED = "recorded"
    CHANGED = "changed"
    DUPLICATE = "duplicate"
    INVALID = "invalid"


@dataclass(frozen=True)
class ButtonOutcome:
    result: ButtonResult
    label: str = ""


async def record_button_answer(
    *,
    session: AsyncSession,
    clock: ProgramClock,
    enrollment: Enrollment,
    day: int,
    prompt_index: int,
    value_index: int,
    message_id: int | None,
    now: datetime,
) -> ButtonOutcome:
    """A tap on a scale or choice button. A double tap stores one answer; a different tap
    changes it (keeping the previous value); a button from an earlier day still counts for
    its own day."""
    program = enrollment.program
    participant = enrollment.participant
    if not 1 <= day <= program.length_days:
        return ButtonOutcome(ButtonResult.INVALID)
    prompts = program.day(day).prompts
    if not 0 <= prompt_index < len(prompts):
        return ButtonOutcome(ButtonResult.INVALID)
    prompt = prompts[prompt_index]
    value = answer_value(prompt, value_index)
    if value is None:
        return ButtonOutcome(ButtonResult.INVALID)
    label = answer_label(prompt, value_index)
    key = f"b:{participant.id}:{day}:{prompt.id}"
    existing = (await session.exec(select(Response).where(Response.dedupe_key == key))).first()
    if existing is not None:
        if existing.value == value:
            return ButtonOutcome(ButtonResult.DUPLICATE, label)
        existing.previous_text = existing.text
        existing.value, existing.text, existing.edited_at = value, label, now
        session.add(existing)
        return ButtonOutcome(ButtonResult.CHANGED, label)
    response = _new_response(
        enrollment,
        key=key,
        day=day,
        prompt_id=prompt.id,
        answer_type="scale" if isinstance(prompt, ScalePrompt) else "choice",
        now=now,
        value=value,
        text=label,
        prompt_message_id=message_id,
    )
    await _store_and_advance(
        session=session,
        clock=clock,
        enrollment=enrollment,
        response=response,
        prompt_index=prompt_index,
        now=now,
    )
    return ButtonOutcome(ButtonResult.RECORDED, label)


class TextResult(StrEnum):
    RECORDED = "recorded"
    DUPLICATE = "duplicate"
    NOTHING_OPEN = "nothing_open"
    NEEDS_BUTTON = "needs_button"


@dataclass(frozen=True)
class TextOutcome:
    result: TextResult
    response: Response | None = None


def _message_key(chat_id: int, message_id: int) -> str:
    return f"m:{chat_id}:{message_id}"


async def _prompt_replied_to(
    *, session: AsyncSession, enrollment: Enrollment, reply_to_message_id: int | None
) -> tuple[int, str] | None:
    if reply_to_message_id is None:
        return None
    row = (
        await session.exec(
            select(Delivery.day, Delivery.prompt_id).where(
                Delivery.participant_id == enrollment.participant.id,
                Delivery.telegram_message_id == reply_to_message_id,
                col(Delivery.prompt_id).is_not(None),
            )
        )
    ).first()
    return (row[0], row[1]) if row else None  # type: ignore[return-value]


def _scale_value_from_text(prompt: object, text: str) -> str | None:
    if isinstance(prompt, ScalePrompt) and is_number(text.strip(), max_digits=6):
        value = int(text.strip())
        if prompt.min <= value <= prompt.max:
            return str(value)
    return None


async def record_text_answer(
    *,
    session: AsyncSession,
    clock: ProgramClock,
    enrollment: Enrollment,
    chat_id: int,
    message_id: int,
    text: str,
    reply_to_message_id: int | None,
    now: datetime,
) -> TextOutcome:
    """A typed answer goes to the prompt it replies to, or else the oldest open prompt.

    A typed number answers a scale prompt too; other text for a button prompt gets a hint.
    """
    key = _message_key(chat_id, message_id)
    if (await session.exec(select(Response.id).where(Response.dedupe_key == key))).first():
        return TextOutcome(TextResult.DUPLICATE)
    program = enrollment.program
    target = await _prompt_replied_to(
        session=session, enrollment=enrollment, reply_to_message_id=reply_to_message_id
    )
    open_list = await open_prompts(session=session, enrollment=enrollment)
    if target is None:
        candidates = [p for p in open_list if p.is_text] or open_list
        if not candidates:
            await _store_note(session, enrollment, key, message_id, text, None, now)
            return TextOutcome(TextResult.NOTHING_OPEN)
        target = (candidates[0].day, candidates[0].prompt_id)
    day, prompt_id = target
    prompts = program.day(day).prompts
    prompt_index = next(i for i, p in enumerate(prompts) if p.id == prompt_id)
    prompt = prompts[prompt_index]
    answer_type, value = "text", None
    if not isinstance(prompt, TextPrompt):
        value = _scale_value_from_text(prompt, text)
        if value is None:
            await _store_note(session, enrollment, key, message_id, text, target, now)
            return TextOutcome(TextResult.NEEDS_BUTTON)
        answer_type = "scale"
    response = _new_response(
        enrollment,
        key=key,
        day=day,
        prompt_id=prompt_id,
        answer_type=answer_type,
        now=now,
        value=value,
        text=text,
        telegram_message_id=message_id,
    )
    already = (day, prompt_id) not in {(p.day, p.prompt_id) for p in open_list}
    if already:
        session.add(response)
        enrollment.participant.last_activity_at = now
        session.add(enrollment.participant)
    else:
        await _store_and_advance(
            session=session,
            clock=clock,
            enrollment=enrollment,
            response=response,
            prompt_index=prompt_index,
            now=now,
        )
    return TextOutcome(TextResult.RECORDED, response)


async def _store_note(
    session: AsyncSession,
    enrollment: Enrollment,
    key: str,
    message_id: int,
    text: str,
    target: tuple[int, str] | None,
    now: datetime,
) -> None:
    """Keep a message that answers no question (type "note"): nothing a person writes is lost."""
    participant = enrollment.participant
    day, prompt_id = target or (max((participant.next_day or 1) - 1, 0), "unprompted")
    session.add(
        _new_response(
            enrollment,
            key=key,
            day=day,
            prompt_id=prompt_id,
            answer_type="note",
            now=now,
            text=text,
            telegram_message_id=message_id,
        )
    )
    participant.last_activity_at = now
    session.add(participant)


async def record_edit(
    *, session: AsyncSession, chat_id: int, message_id: int, text: str, now: datetime
) -> Response | None:
    """An edited message updates its stored answer and keeps the previous text."""
    response = (
        await session.exec(
            select(Response).where(Response.dedupe_key == _message_key(chat_id, message_id))
        )
    ).first()
    if response is None or response.text == text:
        return response
    response.previous_text = response.text
    response.text = text
    response.edited_at = now
    session.add(response)
    return response


async def record_media(
    *,
    session: AsyncSession,
    enrollment: Enrollment,
    chat_id: int,
    message_id: int,
    media_type: str,
    file_id: str | None,
    caption: str | None,
    now: datetime,
) -> Response | None:
    """Keep a voice note, photo, sticker or file against the open prompt (it stays open)."""
    key = _message_key(chat_id, message_id)
    if (await session.exec(select(Response.id).where(Response.dedupe_key == key))).first():
        return None
    open_list = await open_prompts(session=session, enrollment=enrollment)
    day, prompt_id = (open_list[0].day, open_list[0].prompt_id) if open_list else (0, "")
    if not open_list:
        day = max((enrollment.participant.next_day or 1) - 1, 0)
        prompt_id = "unprompted"
    response = _new_response(
        enrollment,
        key=key,
        day=day,
        prompt_id=prompt_id,
        answer_type=media_type,
        now=now,
        text=caption,
        file_id=file_id,
        telegram_message_id=message_id,
    )
    session.add(response)
    enrollment.participant.last_activity_at = now
    session.add(enrollment.participant)
    return response
