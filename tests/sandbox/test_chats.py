"""Who the bot may write to: 403 variants, unknown chats, groups and supergroup migration."""

from __future__ import annotations

import pytest
from telegram import Bot
from telegram.error import BadRequest, ChatMigrated, Forbidden

from bot.sandbox import Emulator
from tests.sandbox.conftest import RawApi


async def test_unknown_chat_is_400(bot: Bot, raw: RawApi) -> None:
    with pytest.raises(BadRequest, match=r"^Chat not found$"):
        await bot.send_message(777, "hello")
    status, body = await raw("sendMessage", chat_id=777, text="hello")
    assert (status, body["description"]) == (400, "Bad Request: chat not found")


async def test_user_who_never_started_the_bot(bot: Bot, emu: Emulator) -> None:
    emu.user(8)
    with pytest.raises(Forbidden) as info:
        await bot.send_message(8, "hello")
    assert str(info.value) == "Forbidden: bot can't initiate conversation with a user"


async def test_blocked_then_unblocked(bot: Bot, emu: Emulator) -> None:
    ana = emu.user(9)
    ana.send_text("/start")
    ana.block()
    with pytest.raises(Forbidden) as info:
        await bot.send_message(9, "still there?")
    assert str(info.value) == "Forbidden: bot was blocked by the user"
    with pytest.raises(Forbidden, match="blocked"):
        await bot.send_chat_action(9, "typing")
    ana.unblock()
    assert (await bot.send_message(9, "welcome back")).text == "welcome back"
    updates = await bot.get_updates()
    statuses = [
        (u.my_chat_member.old_chat_member.status, u.my_chat_member.new_chat_member.status)
        for u in updates
        if u.my_chat_member
    ]
    assert statuses == [("member", "kicked"), ("kicked", "member")]
    assert [u.message.text for u in updates if u.message] == ["/start"], "unblock sends nothing"


async def test_deactivated_user(bot: Bot, emu: Emulator) -> None:
    ana = emu.user(10)
    ana.send_text("hi")
    ana.deactivate()
    with pytest.raises(Forbidden) as info:
        await bot.send_message(10, "hello")
    assert str(info.value) == "Forbidden: user is deactivated"
    with pytest.raises(RuntimeError):
        ana.send_text("ghost")


async def test_group_flow_add_post_kick(bot: Bot, emu: Emulator) -> None:
    ana = emu.user(11, first_name="Ana")
    group = emu.group(-500, "Circle")
    with pytest.raises(BadRequest, match=r"^Chat not found$"):
        await bot.send_message(-500, "before being added")
    group.add_bot(ana)
    group.post(ana, "/checkin@resilience_test_bot today")
    sent = await bot.send_message(-500, "Hello circle")
    assert sent.chat.type == "group" and sent.chat.title == "Circle"
    updates = await bot.get_updates()
    assert updates[0].my_chat_member.new_chat_member.status == "member"
    assert updates[1].message.new_chat_members[0].id == emu.bot_id
    command = updates[2].message
    assert command.text.startswith("/checkin@resilience_test_bot")
    assert command.entities[0].type == "bot_command" and command.entities[0].length == 28
    group.kick_bot(ana)
    with pytest.raises(Forbidden) as info:
        await bot.send_message(-500, "still here?")
    assert str(info.value) == "Forbidden: bot was kicked from the group chat"


async def test_supergroup_kick_wording_and_leave(bot: Bot, emu: Emulator) -> None:
    ana = emu.user(12)
    group = emu.group(-1001234, "Super", supergroup=True)
    group.add_bot(ana)
    group.kick_bot(ana)
    with pytest.raises(Forbidden, match=r"^Forbidden: bot was kicked from the supergroup chat$"):
        await bot.send_message(-1001234, "x")
    other = emu.group(-600, "Other")
    other.add_bot(ana)
    assert await bot.leave_chat(-600) is True
    with pytest.raises(Forbidden, match=r"^Forbidden: bot is not a member of the group chat$"):
        await bot.send_message(-600, "x")


async def test_group_upgraded_to_supergroup(bot: Bot, emu: Emulator, raw: RawApi) -> None:
    ana = emu.user(13)
    group = emu.group(-700, "Growing")
    group.add_bot(ana)
    new_id = group.upgrade_to_supergroup(ana)
    assert new_id < -1_000_000_000_000
    with pytest.raises(ChatMigrated) as info:
        await bot.send_message(-700, "hello old group")
    assert info.value.new_chat_id == new_id
    status, body = await raw("sendMessage", chat_id=-700, text="x")
    assert body == {
        "ok": False,
        "error_code": 400,
        "description": "Bad Request: group chat was upgraded to a supergroup chat",
        "parameters": {"migrate_to_chat_id": new_id},
    }
    assert status == 400
    sent = await bot.send_message(new_id, "hello supergroup")
    assert sent.chat.type == "supergroup"
    updates = await bot.get_updates()
    migrate = [u.message for u in updates if u.message and u.message.migrate_to_chat_id]
    migrated_from = [u.message for u in updates if u.message and u.message.migrate_from_chat_id]
    assert migrate[0].chat.id == -700 and migrate[0].migrate_to_chat_id == new_id
    assert migrated_from[0].chat.id == new_id and migrated_from[0].migrate_from_chat_id == -700
    assert emu.group(-700) is group and group.chat_id == new_id


async def test_get_chat(bot: Bot, emu: Emulator) -> None:
    emu.user(14, first_name="Bea", last_name="Lu", username="bea").send_text("hi")
    chat = await bot.get_chat(14)
    assert (chat.type, chat.first_name, chat.last_name, chat.username) == (
        "private", "Bea", "Lu", "bea",
    )  # fmt: skip
    with pytest.raises(BadRequest, match=r"^Chat not found$"):
        await bot.get_chat(15)


async def test_send_chat_action(bot: Bot, emu: Emulator, raw: RawApi) -> None:
    emu.user(16).send_text("hi")
    assert await bot.send_chat_action(16, "typing") is True
    assert emu.chat_actions(16) == ["typing"]
    status, body = await raw("sendChatAction", chat_id=16, action="dancing")
    assert (status, body["description"]) == (400, "Bad Request: wrong parameter action in request")


async def test_copy_message(bot: Bot, emu: Emulator) -> None:
    emu.user(17).send_text("hi")
    emu.user(18).send_text("hi")
    original = await bot.send_message(17, "<b>shared</b>", parse_mode="HTML")
    copied = await bot.copy_message(18, 17, original.message_id)
    assert emu.bot_messages(18)[-1].text == "shared"
    assert emu.bot_messages(18)[-1].message_id == copied.message_id
    with pytest.raises(BadRequest, match=r"^Message to copy not found$"):
        await bot.copy_message(18, 17, 999)
