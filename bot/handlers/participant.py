"""Participant handlers: translate updates into service calls and render the replies."""

from __future__ import annotations

from typing import Any

from telegram import Update

from bot.handlers import safety
from bot.handlers.context import BotContext
from bot.services import answers, participants
from bot.services.answers import ButtonResult, TextResult
from bot.services.cohorts import InvalidTimezone
from bot.services.participants import Enrollment, JoinResult, PauseResult
from bot.services.progress import participant_progress
from bot.texts import escape, text


def _display_name(update: Update) -> str | None:
    user = update.effective_user
    return user.full_name if user else None


def _language(update: Update) -> str | None:
    user = update.effective_user
    return user.language_code if user else None


def _buttons(*rows: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        "inline_keyboard": [
            [{"text": label, "callback_data": data} for label, data in row] for row in rows
        ]
    }


async def _ask_yes_no(
    context: BotContext, chat: int, question: str, *, callback: str, yes: str, no: str
) -> None:
    """A question with two buttons whose callback data end in `:y` and `:n`."""
    await context.reply(
        chat, question, markup=_buttons([(yes, f"{callback}:y")], [(no, f"{callback}:n")])
    )


async def _enrollment(update: Update, context: BotContext) -> Enrollment | None:
    """The sender's engaged enrollment; someone marked blocked who writes again is active again."""
    user = update.effective_user
    if user is None:
        return None
    enrollment = await participants.current_enrollment(
        session=context.session, telegram_user_id=user.id
    )
    if enrollment is None:
        return None
    participant = enrollment.participant
    participant.last_activity_at = context.now
    if participant.status == participants.ParticipantStatus.BLOCKED:
        participants.reactivate(
            clock=context.runtime.program_clock, enrollment=enrollment, now=context.now
        )
        await context.reply(participant.chat_id, text("welcome_back", participant.language))
    context.session.add(participant)
    return enrollment


async def _enrollment_or_explain(update: Update, context: BotContext) -> Enrollment | None:
    """The sender's enrollment, or None after telling them kindly how to join."""
    enrollment = await _enrollment(update, context)
    if enrollment is None and update.effective_chat is not None:
        await context.reply(update.effective_chat.id, text("not_enrolled", _language(update)))
    return enrollment


def _when_text(enrollment: Enrollment, context: BotContext, language: str | None) -> str:
    clock = context.runtime.program_clock
    if clock.day_length_seconds is not None:
        return text("when_preview", language, seconds=f"{clock.day_length_seconds:g}")
    return text("when_daily", language, time=enrollment.cohort.delivery_time.strftime("%H:%M"))


async def start(update: Update, context: BotContext) -> None:
    """/start <invite code>: greet, explain, ask for consent."""
    message = update.effective_message
    user = update.effective_user
    assert message is not None and user is not None
    code = context.args[0] if context.args else None
    outcome = await participants.begin_join(
        session=context.session,
        clock=context.runtime.program_clock,
        telegram_user_id=user.id,
        chat_id=message.chat_id,
        display_name=_display_name(update),
        language=_language(update),
        code=code,
        now=context.now,
    )
    lang = _language(update)
    chat = message.chat_id
    if outcome.result == JoinResult.CONSENT_NEEDED:
        assert outcome.enrollment is not None
        await _send_welcome(context, outcome.enrollment, chat, lang, user.first_name)
        return
    if outcome.result in (JoinResult.ALREADY_HERE, JoinResult.OTHER_COHORT):
        assert outcome.enrollment is not None
        key = (
            "join_already_here"
            if outcome.result == JoinResult.ALREADY_HERE
            else "join_other_cohort"
        )
        await context.reply(chat, text(key, lang, program=escape(outcome.enrollment.program.title)))
        return
    key = {
        JoinResult.NO_CODE: "join_no_code",
        JoinResult.UNKNOWN_CODE: "join_unknown_code",
        JoinResult.CLOSED: "join_closed",
    }[outcome.result]
    await context.reply(chat, text(key, lang))


async def _send_welcome(
    context: BotContext, enrollment: Enrollment, chat: int, lang: str | None, first_name: str
) -> None:
    program = enrollment.program
    pid = enrollment.participant.id
    await context.reply(
        chat,
        text(
            "welcome",
            lang,
            name=f", {escape(first_name)}" if first_name else "",
            program=escape(program.title),
            description=escape(program.description),
            weeks=len(program.weeks),
            when=_when_text(enrollment, context, lang),
        ),
    )
    await _ask_yes_no(
        context,
        chat,
        text("consent", lang, consent=escape(program.consent.text)),
        callback=f"consent:{pid}",
        yes=text("button_accept", lang),
        no=text("button_decline", lang),
    )


async def consent_button(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None
    _, pid, choice = query.data.split(":")
    enrollment = await participants.enrollment_by_id(
        session=context.session, participant_id=int(pid)
    )
    chat = query.from_user.id
    lang = query.from_user.language_code
    context.after_commit(None, lambda: query.answer())
    if enrollment is None or enrollment.participant.telegram_user_id != query.from_user.id:
        await context.reply(chat, text("consent_already", lang))
        return
    outcome = await participants.answer_consent(
        session=context.session,
        clock=context.runtime.program_clock,
        enrollment=enrollment,
        accept=choice == "y",
        now=context.now,
    )
    context.after_commit(
        query.from_user.id, lambda: query.edit_message_reply_markup(reply_markup=None)
    )
    if outcome.already_answered:
        await context.reply(chat, text("consent_already", lang))
    elif not outcome.accepted:
        await context.reply(chat, text("consent_declined", lang))
    elif outcome.starts_now:
        await context.reply(chat, text("consent_accepted", lang, next=text("next_now", lang)))
    else:
        await context.reply(
            chat, text("consent_accepted", lang, next=_first_day_text(enrollment, outcome, lang))
        )
    context.runtime.sender.wake()


def _first_day_text(enrollment: Enrollment, outcome: Any, lang: str | None) -> str:
    from zoneinfo import ZoneInfo

    tz = enrollment.participant.timezone or enrollment.cohort.timezone
    local = outcome.first_due_at.astimezone(ZoneInfo(tz))
    return text("next_later", lang, date=local.strftime("%A %d %B"), time=local.strftime("%H:%M"))


async def answer_button(update: Update, context: BotContext) -> None:
    """A scale or choice button: record the answer, then the next prompt follows."""
    query = update.callback_query
    assert query is not None and query.data is not None
    _, pid, day, prompt_index, value_index = query.data.split(":")
    lang = query.from_user.language_code
    enrollment = await participants.enrollment_by_id(
        session=context.session, participant_id=int(pid)
    )
    if enrollment is None or enrollment.participant.telegram_user_id != query.from_user.id:
        context.after_commit(None, lambda: query.answer(text("button_expired", lang)))
        return
    if enrollment.participant.status == participants.ParticipantStatus.BLOCKED:
        participants.reactivate(
            clock=context.runtime.program_clock, enrollment=enrollment, now=context.now
        )
    outcome = await answers.record_button_answer(
        session=context.session,
        clock=context.runtime.program_clock,
        enrollment=enrollment,
        day=int(day),
        prompt_index=int(prompt_index),
        value_index=int(value_index),
        message_id=query.message.message_id if query.message else None,
        now=context.now,
    )
    await _safety_check_scale(update, context, enrollment, outcome)
    if outcome.result == ButtonResult.INVALID:
        context.after_commit(None, lambda: query.answer(text("button_expired", lang)))
        return
    key = "answer_changed" if outcome.result == ButtonResult.CHANGED else "answer_noted"
    note = text(key, lang, answer=outcome.label)
    context.after_commit(None, lambda: query.answer(note))
    if outcome.result == ButtonResult.RECORDED and query.message is not None:
        original = query.message.text_html if hasattr(query.message, "text_html") else None
        if original:
            context.after_commit(
                query.from_user.id,
                lambda: query.edit_message_text(
                    f"{original}\n\n✓ {escape(outcome.label)}", parse_mode="HTML"
                ),
            )
    context.runtime.sender.wake()


async def _safety_check_scale(
    update: Update, context: BotContext, enrollment: Enrollment, outcome: Any
) -> None:
    if outcome.result in (ButtonResult.RECORDED, ButtonResult.CHANGED):
        await _run_scale_hook(context, enrollment)


async def _run_scale_hook(context: BotContext, enrollment: Enrollment) -> None:
    await safety.on_scale(context=context, enrollment=enrollment)


async def text_message(update: Update, context: BotContext) -> None:
    """A typed message: a STOP, an answer to an open prompt, or a friendly note."""
    message = update.effective_message
    assert message is not None and message.text is not None
    lang = _language(update)
    enrollment = await _enrollment(update, context)
    if message.text.strip().upper() == "STOP" and enrollment is not None:
        await _confirm_stop(context, enrollment, message.chat_id, lang)
        return
    await safety.on_text(
        context=context, enrollment=enrollment, text=message.text, chat_id=message.chat_id
    )
    if enrollment is None:
        await context.reply(message.chat_id, text("not_enrolled", lang))
        return
    if enrollment.participant.status == participants.ParticipantStatus.PENDING:
        await context.reply(message.chat_id, text("consent_pending", lang))
        return
    outcome = await answers.record_text_answer(
        session=context.session,
        clock=context.runtime.program_clock,
        enrollment=enrollment,
        chat_id=message.chat_id,
        message_id=message.message_id,
        text=message.text,
        reply_to_message_id=message.reply_to_message.message_id
        if message.reply_to_message
        else None,
        now=context.now,
    )
    if outcome.result == TextResult.NOTHING_OPEN:
        await context.reply(message.chat_id, text("nothing_open", lang))
    elif outcome.result == TextResult.NEEDS_BUTTON:
        await context.reply(message.chat_id, text("tap_buttons", lang))
    elif outcome.response is not None and outcome.response.answer_type == "scale":
        await _run_scale_hook(context, enrollment)  # a typed "1" counts like a tap on 1
    context.runtime.sender.wake()


async def edited_message(update: Update, context: BotContext) -> None:
    message = update.edited_message
    if message is None or message.text is None:
        return
    await answers.record_edit(
        session=context.session,
        chat_id=message.chat_id,
        message_id=message.message_id,
        text=message.text,
        now=context.now,
    )
    enrollment = await _enrollment(update, context)
    await safety.on_text(
        context=context, enrollment=enrollment, text=message.text, chat_id=message.chat_id
    )


def _media(message: Any) -> tuple[str, str | None]:
    for kind in ("voice", "audio", "video_note", "video", "sticker", "document", "animation"):
        media = getattr(message, kind, None)
        if media is not None:
            return kind, media.file_id
    if message.photo:
        return "photo", message.photo[-1].file_id
    return "other", None


async def media_message(update: Update, context: BotContext) -> None:
    """Voice notes, photos, stickers, files: kept with the answers, with a note that text helps."""
    message = update.effective_message
    assert message is not None
    lang = _language(update)
    enrollment = await _enrollment_or_explain(update, context)
    if enrollment is None:
        return
    media_type, file_id = _media(message)
    await answers.record_media(
        session=context.session,
        enrollment=enrollment,
        chat_id=message.chat_id,
        message_id=message.message_id,
        media_type=media_type,
        file_id=file_id,
        caption=message.caption,
        now=context.now,
    )
    if message.caption:
        await safety.on_text(
            context=context, enrollment=enrollment, text=message.caption, chat_id=message.chat_id
        )
    await context.reply(message.chat_id, text("media_note", lang))


async def help_command(update: Update, context: BotContext) -> None:
    message = update.effective_message
    assert message is not None
    await context.reply(message.chat_id, text("help", _language(update)))


async def today(update: Update, context: BotContext) -> None:
    """Resend today's lesson and whatever prompts are still open."""
    message = update.effective_message
    assert message is not None
    lang = _language(update)
    enrollment = await _enrollment_or_explain(update, context)
    if enrollment is None:
        return
    from bot.services.rendering import lesson_messages, prompt_keyboard, prompt_message

    program = enrollment.program
    participant = enrollment.participant
    day = min((participant.next_day or 1) - 1, program.length_days)
    if day < 1:
        await context.reply(
            message.chat_id, text("today_nothing", lang, when=_when_text(enrollment, context, lang))
        )
        return
    for part in lesson_messages(program=program, day_number=day, language=lang):
        await context.reply(message.chat_id, part, kind="lesson")
    open_now = await answers.open_prompts(session=context.session, enrollment=enrollment)
    for item in [p for p in open_now if p.day == day][:1]:
        prompt = program.day(day).prompts[item.prompt_index]
        await context.reply(
            message.chat_id,
            prompt_message(prompt=prompt, language=lang),
            markup=prompt_keyboard(
                prompt=prompt,
                participant_id=participant.id,  # type: ignore[arg-type]
                day=day,
                prompt_index=item.prompt_index,
            ),
            kind="prompt-resend",
        )


async def progress(update: Update, context: BotContext) -> None:
    message = update.effective_message
    assert message is not None
    lang = _language(update)
    enrollment = await participants.current_enrollment(
        session=context.session, telegram_user_id=message.chat_id, include_ended=True
    )
    if enrollment is None:
        await context.reply(message.chat_id, text("not_enrolled", lang))
        return
    stats = await participant_progress(session=context.session, enrollment=enrollment)
    await context.reply(
        message.chat_id,
        text(
            "progress",
            lang,
            done=stats.days_done,
            days=stats.days_total,
            answers=stats.answers,
            streak=stats.streak,
            streak_s="" if stats.streak == 1 else "s",
        ),
    )


async def pause(update: Update, context: BotContext) -> None:
    message = update.effective_message
    assert message is not None
    lang = _language(update)
    enrollment = await _enrollment_or_explain(update, context)
    if enrollment is None:
        return
    result = await participants.pause(
        session=context.session, enrollment=enrollment, now=context.now
    )
    key = "paused" if result == PauseResult.PAUSED else "already_paused"
    await context.reply(message.chat_id, text(key, lang))


async def resume(update: Update, context: BotContext) -> None:
    message = update.effective_message
    assert message is not None
    lang = _language(update)
    enrollment = await _enrollment_or_explain(update, context)
    if enrollment is None:
        return
    result = await participants.resume(
        session=context.session,
        clock=context.runtime.program_clock,
        enrollment=enrollment,
        now=context.now,
    )
    if result == PauseResult.RESUMED_NOW:
        reply = text("resumed", lang, day=enrollment.participant.next_day)
    elif result == PauseResult.RESUMED_LATER:
        reply = text("resumed_later", lang)
    else:
        reply = text("not_paused", lang)
    await context.reply(message.chat_id, reply)


async def stop(update: Update, context: BotContext) -> None:
    message = update.effective_message
    assert message is not None
    lang = _language(update)
    enrollment = await _enrollment_or_explain(update, context)
    if enrollment is None:
        return
    await _confirm_stop(context, enrollment, message.chat_id, lang)


async def _confirm_stop(
    context: BotContext, enrollment: Enrollment, chat: int, lang: str | None
) -> None:
    await _ask_yes_no(
        context,
        chat,
        text("stop_confirm", lang, program=escape(enrollment.program.title)),
        callback=f"stop:{enrollment.participant.id}",
        yes=text("button_stop_yes", lang),
        no=text("button_stop_no", lang),
    )


async def stop_button(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None
    _, pid, choice = query.data.split(":")
    lang = query.from_user.language_code
    context.after_commit(None, lambda: query.answer())
    context.after_commit(
        query.from_user.id, lambda: query.edit_message_reply_markup(reply_markup=None)
    )
    enrollment = await participants.enrollment_by_id(
        session=context.session, participant_id=int(pid)
    )
    if (
        enrollment is None
        or enrollment.participant.telegram_user_id != query.from_user.id
        or enrollment.participant.status not in participants.ENGAGED
    ):
        return
    if choice != "y":
        await context.reply(query.from_user.id, text("stop_cancelled", lang))
        return
    await participants.withdraw(session=context.session, enrollment=enrollment, now=context.now)
    await context.reply(query.from_user.id, text("stopped", lang))


async def timezone(update: Update, context: BotContext) -> None:
    message = update.effective_message
    assert message is not None
    lang = _language(update)
    enrollment = await _enrollment_or_explain(update, context)
    if enrollment is None:
        return
    name = " ".join(context.args or []).strip()
    if not name:
        tz = enrollment.participant.timezone or enrollment.cohort.timezone
        await context.reply(
            message.chat_id,
            text(
                "timezone_current",
                lang,
                tz=escape(tz),
                time=enrollment.cohort.delivery_time.strftime("%H:%M"),
            ),
        )
        return
    try:
        tz = await participants.set_timezone(
            session=context.session,
            clock=context.runtime.program_clock,
            enrollment=enrollment,
            name=name,
            now=context.now,
        )
    except InvalidTimezone as exc:
        suggestions = (
            text("timezone_suggestions", lang)
            + "\n"
            + "\n".join(f"<code>/timezone {escape(s)}</code>" for s in exc.suggestions)
            if exc.suggestions
            else text("timezone_none", lang)
        )
        await context.reply(
            message.chat_id,
            text("timezone_unknown", lang, tz=escape(name), suggestions=suggestions),
        )
        return
    await context.reply(message.chat_id, text("timezone_set", lang, tz=escape(tz)))


async def unknown_command(update: Update, context: BotContext) -> None:
    message = update.effective_message
    assert message is not None
    await context.reply(message.chat_id, text("unknown_command", _language(update)))


async def chat_member(update: Update, context: BotContext) -> None:
    """The person blocked the bot in their private chat: stop sending to them."""
    member = update.my_chat_member
    if member is None or member.chat.type != "private":
        return
    if member.new_chat_member.status in ("kicked", "left"):
        await participants.mark_blocked(
            session=context.session, chat_id=member.chat.id, now=context.now
        )
