"""A real python-telegram-bot Application polling the emulator end to end."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from bot.sandbox import Emulator


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    code = context.args[0] if context.args else "none"
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Join", callback_data=f"join:{code}")]])
    await update.effective_message.reply_html(f"Code <b>{code}</b>", reply_markup=markup)


async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer("Joined")
    await query.edit_message_text(f"Joined with {query.data}")


@pytest.fixture
async def app(emu: Emulator) -> AsyncIterator[Application]:
    application = (
        Application.builder()
        .token(emu.token)
        .base_url(emu.base_url)
        .base_file_url(emu.base_file_url)
        .build()
    )
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CallbackQueryHandler(pressed))
    async with application:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0, timeout=1)
        yield application
        await application.updater.stop()
        await application.stop()


@pytest.mark.e2e
async def test_deep_link_start_and_button_press(app: Application, emu: Emulator) -> None:
    ana = emu.user(21, first_name="Ana")
    ana.send_text("/start GROUP42")
    reply = await emu.wait_for(lambda: emu.bot_messages(21), timeout=5)
    assert reply[0].text == "Code GROUP42"
    assert reply[0].buttons == [[("Join", "join:GROUP42")]]
    query_id = ana.press_button(reply[0], "Join")
    await emu.wait_for(lambda: emu.bot_messages(21)[0].edits, timeout=5)
    assert emu.bot_messages(21)[0].text == "Joined with join:GROUP42"
    assert emu.callback_answer(query_id) == {"text": "Joined", "show_alert": False, "url": None}
    await emu.wait_for(lambda: emu.pending_updates() == 0, timeout=5)


@pytest.mark.e2e
async def test_wait_for_times_out(emu: Emulator) -> None:
    with pytest.raises(TimeoutError):
        await emu.wait_for(lambda: emu.bot_messages(1), timeout=0.2)
