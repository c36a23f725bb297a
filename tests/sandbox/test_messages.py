"""Keyboards, editing, deleting, replies and callback queries."""

from __future__ import annotations

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters
from telegram.error import BadRequest

from bot.sandbox import EmulatedUser, Emulator
from tests.sandbox.conftest import FakeClock, RawApi

NOT_MODIFIED = (
    "Message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "Query is too old and response timeout expired or query id is invalid"


@pytest.fixture
def ana(emu: Emulator) -> EmulatedUser:
    user = emu.user(5, first_name="Ana", username="ana_r")
    user.send_text("hi")
    return user


def keyboard(*rows: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data) for text, data in row] for row in rows]
    )


# -- inline keyboards ------------------------------------------------------------------------
async def test_inline_keyboard_is_stored_and_returned(
    bot: Bot, emu: Emulator, ana: EmulatedUser
) -> None:
    yes = InlineKeyboardButton("Yes", callback_data="y")
    no = InlineKeyboardButton("No", callback_data="n")
    markup = InlineKeyboardMarkup([[yes, no], [InlineKeyboardButton("Site", url="https://x.org")]])
    msg = await bot.send_message(5, "Ready?", reply_markup=markup)
    assert msg.reply_markup == markup
    stored = emu.bot_messages(5)[-1]
    assert stored.buttons == [[("Yes", "y"), ("No", "n")], [("Site", None)]]


async def test_callback_data_64_bytes_ok_65_rejected(
    bot: Bot, raw: RawApi, ana: EmulatedUser
) -> None:
    await bot.send_message(5, "ok", reply_markup=keyboard([("b", "é" * 32)]))
    with pytest.raises(BadRequest, match=r"^Button_data_invalid$"):
        await bot.send_message(5, "no", reply_markup=keyboard([("b", "x" * 65)]))
    markup = {"inline_keyboard": [[{"text": "b", "callback_data": "é" * 32 + "x"}]]}
    status, body = await raw("sendMessage", chat_id=5, text="no", reply_markup=markup)
    assert (status, body["description"]) == (400, "Bad Request: BUTTON_DATA_INVALID")


@pytest.mark.parametrize(
    ("button", "description"),
    [
        ({"text": "plain"}, "Bad Request: can't parse inline keyboard button: "
         "Text buttons are unallowed in the inline keyboard"),
        ({"text": "", "callback_data": "x"}, "Bad Request: BUTTON_TEXT_INVALID"),
        ({"callback_data": "x"}, "Bad Request: can't parse inline keyboard button: "
         'Field "text" must be of type String'),
        ({"text": "u", "url": "not a url"}, "Bad Request: BUTTON_URL_INVALID"),
        ({"text": "e", "callback_data": ""}, "Bad Request: BUTTON_DATA_INVALID"),
    ],
)  # fmt: skip
async def test_invalid_buttons(
    raw: RawApi, ana: EmulatedUser, button: dict, description: str
) -> None:
    markup = {"inline_keyboard": [[button]]}
    status, body = await raw("sendMessage", chat_id=5, text="x", reply_markup=markup)
    assert (status, body["description"]) == (400, description)


async def test_reply_markup_must_be_json_object(raw: RawApi, ana: EmulatedUser) -> None:
    status, body = await raw("sendMessage", form=True, chat_id=5, text="x", reply_markup="{no")
    assert status == 400
    assert body["description"] == "Bad Request: can't parse reply keyboard markup JSON object"


# -- editing ---------------------------------------------------------------------------------
async def test_edit_text_records_history_and_drops_keyboard_when_omitted(
    bot: Bot, emu: Emulator, ana: EmulatedUser
) -> None:
    msg = await bot.send_message(5, "v1", reply_markup=keyboard([("A", "a")]))
    edited = await bot.edit_message_text("<b>v2</b>", 5, msg.message_id, parse_mode="HTML")
    assert edited.text == "v2" and edited.edit_date is not None
    assert edited.reply_markup is None
    stored = emu.bot_messages(5)[-1]
    assert (stored.text, stored.edits, stored.buttons) == ("v2", ["v1"], [])
    assert emu.counters.messages_edited == 1


async def test_edit_with_same_content_is_not_modified(bot: Bot, ana: EmulatedUser) -> None:
    markup = keyboard([("A", "a")])
    msg = await bot.send_message(5, "same", reply_markup=markup)
    with pytest.raises(BadRequest) as info:
        await bot.edit_message_text("same", 5, msg.message_id, reply_markup=markup)
    assert str(info.value) == NOT_MODIFIED
    with pytest.raises(BadRequest, match=r"^Message is not modified"):
        await bot.edit_message_reply_markup(5, msg.message_id, reply_markup=markup)
    changed = await bot.edit_message_text("same", 5, msg.message_id)
    assert changed.reply_markup is None


async def test_edit_unknown_or_foreign_message(bot: Bot, raw: RawApi, ana: EmulatedUser) -> None:
    with pytest.raises(BadRequest, match=r"^Message to edit not found$"):
        await bot.edit_message_text("x", 5, 999)
    status, body = await raw("editMessageText", chat_id=5, message_id=1, text="mine?")
    assert (status, body["description"]) == (400, "Bad Request: message can't be edited")


async def test_edit_reply_markup(bot: Bot, emu: Emulator, ana: EmulatedUser) -> None:
    msg = await bot.send_message(5, "pick", reply_markup=keyboard([("A", "a")]))
    result = await bot.edit_message_reply_markup(5, msg.message_id, reply_markup=None)
    assert result.reply_markup is None
    assert emu.bot_messages(5)[-1].buttons == []


async def test_delete_message(bot: Bot, emu: Emulator, ana: EmulatedUser) -> None:
    msg = await bot.send_message(5, "bye")
    assert await bot.delete_message(5, msg.message_id) is True
    assert emu.bot_messages(5)[-1].deleted is True
    with pytest.raises(BadRequest, match=r"^Message to delete not found$"):
        await bot.delete_message(5, msg.message_id)
    with pytest.raises(BadRequest, match=r"^Message to edit not found$"):
        await bot.edit_message_text("again", 5, msg.message_id)


# -- replies ---------------------------------------------------------------------------------
async def test_reply_to_user_message_and_missing_target(
    bot: Bot, emu: Emulator, ana: EmulatedUser
) -> None:
    question = ana.send_text("a question")
    reply = await bot.send_message(5, "answer", reply_to_message_id=question["message_id"])
    assert reply.reply_to_message is not None
    assert reply.reply_to_message.text == "a question"
    with pytest.raises(BadRequest, match=r"^Message to be replied not found$"):
        await bot.send_message(5, "x", reply_to_message_id=999)
    loose = await bot.send_message(
        5, "x", reply_parameters=ReplyParameters(999, allow_sending_without_reply=True)
    )
    assert loose.reply_to_message is None


# -- callback queries ------------------------------------------------------------------------
async def test_press_creates_callback_query_update(
    bot: Bot, emu: Emulator, ana: EmulatedUser
) -> None:
    msg = await bot.send_message(5, "mood?", reply_markup=keyboard([("Good", "mood:good")]))
    await bot.get_updates(offset=-1)
    query_id = ana.press_button(emu.bot_messages(5)[-1], "Good")
    updates = await bot.get_updates(offset=emu.updates()[-1]["update_id"])
    query = updates[-1].callback_query
    assert query is not None
    assert (query.id, query.data, query.from_user.id) == (query_id, "mood:good", 5)
    assert query.message.message_id == msg.message_id
    assert await bot.answer_callback_query(query_id, text="Thanks!") is True
    assert emu.callback_answer(query_id) == {"text": "Thanks!", "show_alert": False, "url": None}


async def test_press_requires_existing_button(bot: Bot, ana: EmulatedUser) -> None:
    msg = await bot.send_message(5, "mood?", reply_markup=keyboard([("Good", "g")]))
    with pytest.raises(ValueError, match="no button"):
        ana.press(msg.message_id, "other")
    with pytest.raises(ValueError, match="no bot message"):
        ana.press(1, "g")


async def test_answer_twice_unknown_or_too_old(
    bot: Bot, clock: FakeClock, ana: EmulatedUser
) -> None:
    msg = await bot.send_message(5, "?", reply_markup=keyboard([("A", "a")]))
    first = ana.press(msg.message_id, "a")
    await bot.answer_callback_query(first)
    with pytest.raises(BadRequest) as info:
        await bot.answer_callback_query(first)
    assert str(info.value) == QUERY_TOO_OLD
    with pytest.raises(BadRequest, match=r"^Query is too old"):
        await bot.answer_callback_query("123456789")
    late = ana.press(msg.message_id, "a")
    clock.advance(15.5)
    with pytest.raises(BadRequest, match=r"^Query is too old"):
        await bot.answer_callback_query(late)
    in_time = ana.press(msg.message_id, "a")
    clock.advance(14.5)
    assert await bot.answer_callback_query(in_time) is True


# -- what users do -------------------------------------------------------------------------
async def test_user_edit_sticker_photo_voice_document(
    bot: Bot, emu: Emulator, ana: EmulatedUser
) -> None:
    sent = ana.send_text("typo")
    ana.edit(sent["message_id"], "fixed")
    ana.send_sticker()
    ana.send_photo(caption="look")
    ana.send_voice()
    ana.send_document("notes.txt", b"my notes")
    updates = await bot.get_updates()
    edited = [u.edited_message for u in updates if u.edited_message]
    assert edited[0].text == "fixed"
    messages = [u.message for u in updates if u.message]
    assert messages[-4].sticker is not None and messages[-4].sticker.emoji == "👍"
    assert messages[-3].photo and messages[-3].caption == "look"
    assert messages[-2].voice is not None
    document = messages[-1].document
    assert document is not None and document.file_name == "notes.txt"
    file = await bot.get_file(document.file_id)
    assert bytes(await file.download_as_bytearray()) == b"my notes"
