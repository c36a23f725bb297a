"""The facilitator menu for someone whose chat did not exist when it was first published:
their first message makes it possible (see bot/scheduling/menus.py)."""

from __future__ import annotations

from telegram import Update

from bot.handlers.context import BotContext


async def offer_menu(update: Update, context: BotContext) -> None:
    """Someone waiting for their facilitator menu wrote to the bot: their chat exists now."""
    user = update.effective_user
    chat = update.effective_chat
    menus = context.runtime.menus
    if user is None or chat is None or chat.type != "private" or user.id not in menus.waiting:
        return
    context.after_commit(None, lambda: menus.publish(user.id))
