"""Bot profile: commands per scope and descriptions."""

from __future__ import annotations

import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
)
from telegram.error import BadRequest

from bot.sandbox import Emulator
from tests.sandbox.conftest import RawApi


async def test_commands_are_stored_per_scope(bot: Bot, emu: Emulator) -> None:
    emu.group(-100, "Circle").add_bot(emu.user(5, "Gil"))
    await bot.set_my_commands([BotCommand("start", "Begin"), BotCommand("checkin", "Daily")])
    await bot.set_my_commands(
        [BotCommand("report", "Facilitator report")], scope=BotCommandScopeChat(-100)
    )
    await bot.set_my_commands(
        [BotCommand("start", "Empezar")], scope=BotCommandScopeAllPrivateChats(), language_code="es"
    )
    assert emu.commands["default"] == [
        {"command": "start", "description": "Begin"},
        {"command": "checkin", "description": "Daily"},
    ]
    assert emu.commands["chat:-100"][0]["command"] == "report"
    assert emu.commands["all_private_chats/es"][0]["description"] == "Empezar"
    assert [c.command for c in await bot.get_my_commands()] == ["start", "checkin"]
    assert await bot.delete_my_commands() is True
    assert await bot.get_my_commands() == ()


@pytest.mark.parametrize(
    ("command", "description", "error"),
    [
        ("Start", "x", "Bad Request: BOT_COMMAND_INVALID"),
        ("with-dash", "x", "Bad Request: BOT_COMMAND_INVALID"),
        ("a" * 33, "x", "Bad Request: BOT_COMMAND_INVALID"),
        ("", "x", "Bad Request: BOT_COMMAND_INVALID"),
        ("ok", "", "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID"),
        ("ok", "d" * 257, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID"),
    ],
)
async def test_invalid_commands(raw: RawApi, command: str, description: str, error: str) -> None:
    commands = [{"command": command, "description": description}]
    status, body = await raw("setMyCommands", commands=commands)
    assert (status, body["description"]) == (400, error)


async def test_longest_valid_command(bot: Bot) -> None:
    assert await bot.set_my_commands([BotCommand("a_1" + "b" * 29, "d" * 256)]) is True


async def test_descriptions(bot: Bot) -> None:
    await bot.set_my_description("A resilience program")
    await bot.set_my_short_description("Resilience")
    assert (await bot.get_my_description()).description == "A resilience program"
    assert (await bot.get_my_short_description()).short_description == "Resilience"
    with pytest.raises(BadRequest):
        await bot.set_my_short_description("x" * 121)


async def test_a_chat_scope_needs_a_chat_that_talked_to_the_bot(bot: Bot, emu: Emulator) -> None:
    menu = [BotCommand("report", "Facilitator report")]
    for scope in (BotCommandScopeChat(4242), BotCommandScopeChat(-4242)):
        with pytest.raises(BadRequest, match="Chat not found"):
            await bot.set_my_commands(menu, scope=scope)
        with pytest.raises(BadRequest, match="Chat not found"):
            await bot.delete_my_commands(scope=scope)
    emu.user(4242, "Ida").send_text("hello")
    assert await bot.set_my_commands(menu, scope=BotCommandScopeChat(4242)) is True
    assert emu.commands["chat:4242"] == [{"command": "report", "description": "Facilitator report"}]
    assert await bot.delete_my_commands(scope=BotCommandScopeChat(4242)) is True


async def test_a_parameter_the_method_does_not_take_fails_the_test() -> None:
    emulator = Emulator()
    async with emulator:
        user = emulator.user(77, "Uma")
        user.send_text("hi")
        async with Bot(emulator.token, base_url=emulator.base_url) as client:
            keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Yes", callback_data="y")]])
            sent = await client.send_message(77, "hello", reply_markup=keyboard)
            # Telegram answers as if all were well, and so does the emulator...
            assert await client.edit_message_reply_markup(
                77, sent.message_id, reply_markup=None, api_kwargs={"parse_mode": "HTML"}
            )
        with pytest.raises(AssertionError, match="editMessageReplyMarkup does not take"):
            emulator.assert_no_violations()  # ...but the test that sent it fails
        emulator.world.violations.clear()
