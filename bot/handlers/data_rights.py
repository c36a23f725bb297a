"""Your data: /mydata sends everything stored about you as a file; /delete erases it.

`install` schedules the retention purge (bot/services/retention.py).
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler

from bot.db.session import unit_of_work
from bot.handlers.context import BotContext
from bot.runtime import Runtime
from bot.services import data_rights, retention
from bot.texts import text

log = logging.getLogger(__name__)

RETENTION_JOB = "retention-purge"
DELETE_PATTERN = r"^erase:[yn]$"


def install(application: Application[Any, Any, Any, Any, Any, Any], runtime: Runtime) -> None:
    """Run the retention purge hourly (preview clock: every scaled hour, at least 1 s apart)."""
    assert application.job_queue is not None
    interval = max(1.0, min(3600.0, runtime.program_clock.scale(3600.0)))
    application.job_queue.run_repeating(
        runtime.supervisor.job(RETENTION_JOB, retention_job),
        interval=interval,
        first=interval,
        name=RETENTION_JOB,
        job_kwargs={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
    )


async def retention_job(context: BotContext) -> None:
    runtime = context.runtime
    async with unit_of_work(runtime.sessions) as session:
        purged = await retention.purge_due(
            session=session, clock=runtime.program_clock, now=runtime.now()
        )
    for item in purged:
        log.info(
            "retention: cohort %s purged (%d answers, %d alerts, %d raw updates)",
            item.cohort_id,
            item.answers,
            item.alerts,
            item.inbox_updates,
        )


async def mydata(update: Update, context: BotContext) -> None:
    message = update.effective_message
    user = update.effective_user
    assert message is not None and user is not None
    lang = user.language_code
    data = await data_rights.export_person(
        session=context.session, telegram_user_id=user.id, now=context.now
    )
    if data is None:
        await context.reply(message.chat_id, text("mydata_none", lang))
        return
    await context.reply(
        message.chat_id,
        text("mydata_caption", lang),
        kind="mydata",
        document=data_rights.export_document(data),
    )


async def delete(update: Update, context: BotContext) -> None:
    message = update.effective_message
    user = update.effective_user
    assert message is not None and user is not None
    lang = user.language_code
    if not await data_rights.has_data(session=context.session, telegram_user_id=user.id):
        await context.reply(message.chat_id, text("delete_nothing", lang))
        return
    await context.reply(
        message.chat_id,
        text("delete_confirm", lang),
        markup={
            "inline_keyboard": [
                [{"text": text("delete_button_yes", lang), "callback_data": "erase:y"}],
                [{"text": text("delete_button_no", lang), "callback_data": "erase:n"}],
            ]
        },
    )


async def delete_button(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None
    user = query.from_user
    lang = user.language_code
    context.after_commit(None, lambda: query.answer())
    context.after_commit(user.id, lambda: query.edit_message_reply_markup(reply_markup=None))
    if query.data != "erase:y":
        await context.reply(user.id, text("delete_cancelled", lang))
        return
    summary = await data_rights.erase_person(
        session=context.session, telegram_user_id=user.id, now=context.now
    )
    if summary is None:
        await context.reply(user.id, text("delete_nothing", lang))
        return
    log.info(
        "a participant deleted their data (%d enrollments, %d answers)",
        summary.participants,
        summary.answers,
    )
    await context.reply(user.id, text("delete_done", lang))


HANDLERS = [CallbackQueryHandler(delete_button, pattern=DELETE_PATTERN)]
