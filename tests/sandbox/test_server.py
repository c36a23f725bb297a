"""HTTP surface: envelopes, tokens, method names, body encodings, required parameters."""

from __future__ import annotations

import aiohttp
import pytest
from telegram import Bot
from telegram.error import BadRequest, InvalidToken

from bot.sandbox import Emulator
from tests.sandbox.conftest import RawApi


async def test_unknown_method_is_404_not_found(raw: RawApi) -> None:
    status, body = await raw("sendTelepathy", chat_id=1)
    assert status == 404
    assert body == {"ok": False, "error_code": 404, "description": "Not Found"}


async def test_wrong_token_is_401_and_malformed_token_404(raw: RawApi) -> None:
    status, body = await raw("getMe", token="999:WRONG")
    assert (status, body["description"]) == (401, "Unauthorized")
    status, body = await raw("getMe", token="not-a-token")
    assert (status, body["description"]) == (404, "Not Found")


async def test_ptb_sees_invalid_token(emu: Emulator) -> None:
    bot = Bot("999:WRONG", base_url=emu.base_url)
    with pytest.raises(InvalidToken):
        await bot.initialize()


async def test_method_names_are_case_insensitive(raw: RawApi, emu: Emulator) -> None:
    status, body = await raw("GETME")
    assert status == 200
    assert body["result"]["username"] == "resilience_test_bot"
    assert body["result"]["is_bot"] is True
    assert emu.counters.requests["getMe"] == 1


async def test_spec_method_not_emulated_is_501(raw: RawApi) -> None:
    status, body = await raw("sendPoll", chat_id=1, question="q", options="[]")
    assert status == 501
    assert "sendPoll" in body["description"]


async def test_json_form_and_query_string_bodies(raw: RawApi, emu: Emulator) -> None:
    emu.user(7).send_text("hi")
    status, body = await raw("sendMessage", chat_id=7, text="json")
    assert (status, body["result"]["text"]) == (200, "json")
    status, body = await raw("sendMessage", form=True, chat_id="7", text="form")
    assert (status, body["result"]["text"]) == (200, "form")
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{emu.base_url}{emu.token}/sendMessage?chat_id=7&text=query") as resp,
    ):
        assert (await resp.json())["result"]["text"] == "query"
    assert [m.text for m in emu.bot_messages(7)] == ["json", "form", "query"]


async def test_unknown_parameters_are_answered_like_telegram_but_noted(
    raw: RawApi, emu: Emulator
) -> None:
    emu.user(7).send_text("hi")
    status, body = await raw("sendMessage", chat_id=7, text="x", no_such_param=True)
    assert status == 200 and body["ok"] is True
    assert emu.world.violations == [
        "sendMessage does not take the parameter 'no_such_param' (Bot API spec)"
    ]
    emu.world.violations.clear()  # noted: this test sent it on purpose


@pytest.mark.parametrize(
    ("method", "params", "description"),
    [
        ("sendMessage", {"text": "x"}, "Bad Request: chat_id is empty"),
        ("sendMessage", {"chat_id": 7}, "Bad Request: message text is empty"),
        ("sendMessage", {"chat_id": 7, "text": ""}, "Bad Request: message text is empty"),
        ("sendMessage", {"chat_id": 7, "text": "  \n "}, "Bad Request: message text is empty"),
        ("sendDocument", {"chat_id": 7}, "Bad Request: there is no document in the request"),
        ("sendPhoto", {"chat_id": 7}, "Bad Request: there is no photo in the request"),
        ("sendChatAction", {"chat_id": 7}, "Bad Request: action is empty"),
        ("getFile", {}, "Bad Request: file_id is empty"),
    ],
)
async def test_missing_required_parameter(
    raw: RawApi, emu: Emulator, method: str, params: dict, description: str
) -> None:
    emu.user(7).send_text("hi")
    status, body = await raw(method, **params)
    assert (status, body["description"]) == (400, description)


@pytest.mark.parametrize("chat_id", [[1, 2], {"id": 7}, True, 1.5, "seven"])
async def test_chat_id_of_wrong_type_is_400(raw: RawApi, emu: Emulator, chat_id: object) -> None:
    emu.user(7).send_text("hi")
    status, body = await raw("sendMessage", chat_id=chat_id, text="x")
    assert status == 400
    assert body["description"] == "Bad Request: chat not found"


async def test_integer_parameter_of_wrong_type_is_400(raw: RawApi, emu: Emulator) -> None:
    emu.user(7).send_text("hi")
    status, body = await raw("deleteMessage", chat_id=7, message_id="abc")
    assert (status, body["description"]) == (400, "Bad Request: invalid message_id specified")


async def test_ptb_bad_request_message(bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"^Chat not found$"):
        await bot.send_message(424242, "hello")


async def test_chat_id_as_username_string(raw: RawApi, emu: Emulator) -> None:
    status, body = await raw("sendMessage", chat_id="@nobody_here", text="x")
    assert (status, body["description"]) == (400, "Bad Request: chat not found")


async def test_get_webhook_info_and_delete_webhook(bot: Bot, emu: Emulator) -> None:
    emu.user(7).send_text("pending")
    info = await bot.get_webhook_info()
    assert (info.url, info.pending_update_count) == ("", 1)
    assert await bot.delete_webhook(drop_pending_updates=True) is True
    assert emu.pending_updates() == 0
