"""The facilitator handlers that are not commands in the menu (used by bot.handlers.registry)."""

from __future__ import annotations

from typing import Any

from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.handlers.facilitator.buttons import button
from bot.handlers.facilitator.display import PREFIX
from bot.handlers.facilitator.groups import linkgroup_group
from bot.handlers.facilitator.invites import start_invite
from bot.handlers.facilitator.newcohort import newcohort_text

PRIVATE = filters.ChatType.PRIVATE

FIRST_HANDLERS: list[BaseHandler[Any, Any, Any]] = [
    # Before the participant /start: facilitator invite links.
    CommandHandler("start", start_invite, filters=PRIVATE & filters.Regex(r"^/start fac-\S+$")),
]
HANDLERS: list[BaseHandler[Any, Any, Any]] = [
    CommandHandler("linkgroup", linkgroup_group, filters=filters.ChatType.GROUPS),
    CallbackQueryHandler(button, pattern=rf"^{PREFIX}:"),
]
PRE_HANDLERS: list[BaseHandler[Any, Any, Any]] = [
    # Group -1: typed /newcohort answers; raises ApplicationHandlerStop when it used the text.
    MessageHandler(
        PRIVATE & filters.TEXT & ~filters.COMMAND & filters.UpdateType.MESSAGE, newcohort_text
    ),
]
